"""What an instance's page shows: for a structured report the rendered report (or its
dump) and the images it references, with their frames and segments; for an image the
facts of its header, its frames and, for a SEG, its segments and the images they were
made from.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from srkit.errors import SrkitError
from srkit.web.formatting import date_text, sop_class_name

__all__ = [
    "HEADER_FACTS",
    "MAX_REFERENCES",
    "SR_CLASS_ROOT",
    "ReportView",
    "image_header",
    "report_view",
    "segment_source",
]

SR_CLASS_ROOT = "1.2.840.10008.5.1.4.1.1.88."
"""The SOP classes of structured reports and key object selections (PS3.4 B.5)."""
MAX_REFERENCES = 200
"""Referenced images shown on a report's page."""
HEADER_FACTS = (
    ("Modality", "Modality"),
    ("Kind", "SOPClassUID"),
    ("Manufacturer", "Manufacturer"),
    ("Model", "ManufacturerModelName"),
    ("Body part", "BodyPartExamined"),
    ("Series", "SeriesDescription"),
    ("Instance number", "InstanceNumber"),
    ("Image type", "ImageType"),
    ("Content date", "ContentDate"),
    ("Acquisition date", "AcquisitionDate"),
    ("Rows x columns", None),
    ("Frames", "NumberOfFrames"),
    ("Pixel spacing (mm)", "PixelSpacing"),
    ("Slice thickness (mm)", "SliceThickness"),
    ("Slice location (mm)", "SliceLocation"),
    ("Image position (mm)", "ImagePositionPatient"),
    ("kVp", "KVP"),
    ("Tube current (mA)", "XRayTubeCurrent"),
    ("Convolution kernel", "ConvolutionKernel"),
    ("Window center / width", None),
    ("Photometric interpretation", "PhotometricInterpretation"),
    ("Bits stored", "BitsStored"),
    ("Transfer syntax", None),
)
"""What an image's page shows from its header: (label, keyword)."""


def _value_text(value: Any) -> str:
    from pydicom.multival import MultiValue

    if isinstance(value, (list, tuple, MultiValue)):
        return " \\ ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def image_header(path: Any) -> tuple[list[tuple[str, str]], int, list[dict[str, Any]], list[str]]:
    """The header facts of an image (:data:`HEADER_FACTS`), its number of frames, its
    segments (SEG: number and label) and the images a SEG was made from."""
    import pydicom

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    facts = []
    for name, keyword in HEADER_FACTS:
        if keyword is None:
            if name == "Rows x columns" and "Rows" in ds:
                facts.append((name, f"{ds.Rows} x {ds.Columns}"))
            elif name.startswith("Window") and "WindowCenter" in ds:
                center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
                facts.append((name, f"{_value_text(center)} / {_value_text(width)}"))
            elif name == "Transfer syntax" and "TransferSyntaxUID" in ds.file_meta:
                facts.append((name, str(ds.file_meta.TransferSyntaxUID.name)))
            continue
        value = ds.get(keyword)
        if value is None or value == "":
            continue
        if keyword == "SOPClassUID":
            text = sop_class_name(value)
        elif keyword.endswith("Date"):
            text = date_text(value)
        else:
            text = _value_text(value)
        facts.append((name, text))
    frames = int(ds.get("NumberOfFrames") or 1)
    segments = [
        {
            "number": int(s.SegmentNumber),
            "label": str(s.get("SegmentLabel") or ""),
            "source": _source_of(ds, int(s.SegmentNumber)),
            "category": str(s.SegmentedPropertyTypeCodeSequence[0].CodeMeaning)
            if s.get("SegmentedPropertyTypeCodeSequence")
            else "",
        }
        for s in ds.get("SegmentSequence") or []
        if "SegmentNumber" in s
    ]
    sources = [
        str(i.ReferencedSOPInstanceUID)
        for s in ds.get("ReferencedSeriesSequence") or []
        for i in s.get("ReferencedInstanceSequence") or []
        if "ReferencedSOPInstanceUID" in i
    ]
    return facts, frames, segments, sources


def _references(doc: Any) -> list[dict[str, Any]]:
    """The IMAGE items of a report: where, what and which frames or segments."""
    from srkit.model.items import ImageContentItem, ScoordContentItem

    out = []
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for position in doc.walk():
        item = position.item
        if not isinstance(item, ImageContentItem) or item.referenced is None:
            continue
        parent = position.parent
        context = ""
        if parent is not None and parent.concept is not None:
            context = parent.concept.meaning or ""
        frames = list(item.frames or ())
        segments = list(item.segments or ())
        uid = item.referenced.sop_instance_uid
        query: dict[str, str] = {"sr": doc.sop_instance_uid}
        if frames:
            query["frame"] = str(frames[0])
        if segments:
            query.update(seg=uid, segment=str(segments[0]))
        key = (uid, query.get("frame", ""), query.get("segment", ""))
        region = isinstance(parent, ScoordContentItem)
        if key in seen:
            if region and not seen[key]["region"]:  # the region's item tells more
                seen[key].update(id=position.id, context=context, region=True)
            continue
        seen[key] = {
            "id": position.id,
            "region": region,
            "uid": uid,
            "concept": item.concept.meaning if item.concept is not None else "",
            "context": context,
            "kind": sop_class_name(item.referenced.sop_class_uid),
            "frames": ", ".join(map(str, frames)),
            "segments": ", ".join(map(str, segments)),
            "query": urlencode(query),
            "thumb": urlencode({**query, "size": "160"}),
        }
        out.append(seen[key])
    out.sort(key=lambda ref: not ref["region"])  # the images with a region first
    return out


@dataclass(frozen=True, slots=True)
class ReportView:
    """What an SR instance's page shows: the rendered report (or the dump lines), its
    title, its IMAGE references; or only why it could not be read."""

    html: str | None = None
    dump: list[str] | None = None
    error: str | None = None
    references: list[dict[str, Any]] = field(default_factory=list)
    title: str = ""


def report_view(path: Any) -> ReportView:
    """The report as HTML (``srkit.render.html`` when present) or dump lines, and its
    IMAGE references; for a file that is not an SR, the reason only."""
    from srkit.codec import read
    from srkit.errors import NotStructuredReportError

    try:
        doc = read(path)
    except NotStructuredReportError:
        return ReportView(error="not a structured report")
    except SrkitError as exc:
        return ReportView(error=str(exc))
    references = _references(doc)
    title = doc.title.meaning if doc.title is not None and doc.title.meaning else ""
    try:
        html = importlib.import_module("srkit.render.html")
        return ReportView(html=str(html.render_html(doc)), references=references, title=title)
    except Exception:  # renderer missing or failing: the plain tree still helps
        from srkit.render.text import dump_lines

        return ReportView(dump=list(dump_lines(doc)), references=references, title=title)


def segment_source(path: Any, segment: int) -> str | None:
    """The image the first frame of ``segment`` of a SEG was derived from (PS3.3
    C.8.20.3: Derivation Image and Source Image of the per-frame groups), or its first
    referenced image; None when the SEG names none."""
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:  # not readable: the link goes to the SEG itself
        return None
    return _source_of(ds, segment)


def _source_of(ds: Any, segment: int) -> str | None:
    """:func:`segment_source` of a read SEG data set."""
    for group in ds.get("PerFrameFunctionalGroupsSequence") or []:
        ident = group.get("SegmentIdentificationSequence") or []
        if not ident or int(ident[0].get("ReferencedSegmentNumber") or 0) != segment:
            continue
        for derivation in group.get("DerivationImageSequence") or []:
            for source in derivation.get("SourceImageSequence") or []:
                if "ReferencedSOPInstanceUID" in source:
                    return str(source.ReferencedSOPInstanceUID)
    for series in ds.get("ReferencedSeriesSequence") or []:
        for instance in series.get("ReferencedInstanceSequence") or []:
            if "ReferencedSOPInstanceUID" in instance:
                return str(instance.ReferencedSOPInstanceUID)
    return None
