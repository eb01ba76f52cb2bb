"""The FastAPI application of ``srkit serve``.

DICOMweb (:mod:`srkit.net.dicomweb.routes`) is mounted under ``/dicomweb``; the pages:

- ``/`` and ``/studies``: the worklist of studies (patient, ID, birth date, study date,
  accession, description, modalities, series and instances), searched by name and ID
  (wildcards ``*`` ``?``), study date range, modality, accession and description,
  sorted by any column, paged (:func:`srkit.db.browse.browse`); ``/patients`` likewise;
- ``/studies/<uid>``, ``/series/<uid>``, ``/instances/<uid>``: a study's series and
  reports, a series' preview and instances, an instance: its report (``render.html``)
  with links to the images it references, or an image's header and preview;
- ``/measurements`` (TID 1500, filtered, with a histogram and per-lesion lines),
  ``/dose`` (:mod:`srkit.web.dose_pages`), ``/conflicts``;
- ``/login`` and ``/logout`` (:mod:`srkit.web.login`) when a token is set.

Image previews are drawn by :mod:`srkit.web.image_pages` (``/preview/<uid>.png``,
``/series/<uid>/preview.png``, ``/series/<uid>/loadables``); the pages only link to them.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from srkit.errors import SrkitError
from srkit.net.dicomweb.auth import SESSION_COOKIE, Sessions, check_path_uids
from srkit.net.dicomweb.routes import DEFAULT_MAX_UPLOAD, make_router, make_wado_uri_router
from srkit.web.formatting import (
    date_text,
    datetime_text,
    label,
    multi_text,
    person_name,
    time_text,
)

__all__ = ["create_app"]

PAGE_SIZES = (25, 50, 100, 200, 500)
DEFAULT_PAGE_SIZE = 50
NOT_IMAGES = frozenset(
    ["SR", "KO", "PR", "DOC", "RTSTRUCT", "RTPLAN", "RTRECORD", "REG", "FID", "AU", "ECG"]
)
"""Modalities of series without pixels to preview."""
SR_CLASS_ROOT = "1.2.840.10008.5.1.4.1.1.88."
MAX_REFERENCES = 200
"""Referenced images shown on a report's page."""
"""The SOP classes of structured reports and key object selections (PS3.4 B.5)."""

STUDY_COLUMNS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "StudyDate",
    "AccessionNumber",
    "StudyDescription",
    "ModalitiesInStudy",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
)
PATIENT_COLUMNS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "NumberOfPatientRelatedStudies",
)
SERIES_COLUMNS = (
    "SeriesNumber",
    "Modality",
    "SeriesDescription",
    "BodyPartExamined",
    "Manufacturer",
    "NumberOfSeriesRelatedInstances",
)
INSTANCE_COLUMNS = ("InstanceNumber", "SOPClassUID", "ContentDate")
_PN = ("PatientName", "ReferringPhysicianName")
_DA = ("PatientBirthDate", "StudyDate", "SeriesDate", "ContentDate")
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


class BadFilter(SrkitError):
    """A search field whose value has the wrong form."""


def _templates() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("srkit.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        person_name=person_name,
        date_text=date_text,
        datetime_text=datetime_text,
        multi_text=multi_text,
        label=label,
        q=_q,
    )
    return env


def _q(value: Any) -> str:
    from urllib.parse import quote

    return quote(str(value or ""), safe="")


def _sop_class(uid: Any) -> str:
    from pydicom.uid import UID

    if not uid:
        return ""
    name = UID(str(uid)).name
    return str(name) if name and name != str(uid) else str(uid)


def cell_text(keyword: str, value: Any) -> str:
    """A database value as the pages show it."""
    if value is None:
        return ""
    if keyword in _PN:
        return person_name(value)
    if keyword in _DA:
        return date_text(value)
    if keyword == "StudyTime":
        return time_text(value)
    if keyword == "SOPClassUID":
        return _sop_class(value)
    if keyword in ("ModalitiesInStudy",):
        return multi_text(value)
    return str(value)


def _dicom_date(text: str, field: str) -> str:
    """``YYYY-MM-DD`` (a date input) or ``YYYYMMDD`` as ``YYYYMMDD``."""
    import datetime as dt

    value = text.strip().replace("-", "")
    if not value:
        return ""
    try:
        dt.datetime.strptime(value, "%Y%m%d")
    except ValueError:
        raise BadFilter(f"{field}: expected a date as YYYY-MM-DD, not {text[:40]!r}") from None
    return value


def _name_pattern(text: str) -> str:
    """A name as typed (``Lovelace, Ada``, ``love*``, ``Lovelace0?``) as a PN match
    value: it matches the names that start with it (wildcards ``*`` ``?`` inside)."""
    value = text.strip()
    if not value:
        return ""
    if "," in value:
        family, _, given = value.partition(",")
        value = f"{family.strip()}^{given.strip()}"
    value = value.replace("^ ", "^")
    return value if value.endswith("*") else value + "*"


def _text_pattern(text: str) -> str:
    """A description as typed: without wildcards it matches where it occurs."""
    value = text.strip()
    if value and "*" not in value and "?" not in value:
        value = f"*{value}*"
    return value


class Pages:
    """The HTML pages over one database."""

    def __init__(self, db: Any, token: str | None = None) -> None:
        self.db = db
        self.token = token
        self.sessions = Sessions(token) if token is not None else None
        self.env = _templates()

    def render(self, name: str, **context: Any) -> str:
        return str(self.env.get_template(name).render(**context))

    def page(
        self, request: Request | None, name: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        cookie = request.cookies.get(SESSION_COOKIE) if request is not None else None
        logged_in = self.sessions is not None and self.sessions.valid(cookie)
        csrf = self.sessions.csrf(cookie) if self.sessions is not None else ""
        return HTMLResponse(
            self.render(name, logged_in=logged_in, csrf=csrf, **context), status_code=status
        )

    # -- worklists ----------------------------------------------------------------

    def worklist(
        self,
        request: Request,
        level: str,
        title: str,
        columns: Sequence[str],
        search: Mapping[str, str],
        filters: dict[str, str],
        default_sort: tuple[str, bool],
        links: Mapping[str, str],
        crumbs: Sequence[tuple[str, str]] = (),
        error: str = "",
    ) -> HTMLResponse:
        from srkit.db.browse import browse, modalities, sortable

        params = request.query_params
        sort = params.get("sort") or default_sort[0]
        descending = (params.get("order") or ("desc" if default_sort[1] else "asc")) == "desc"
        size = _int(params.get("size"), DEFAULT_PAGE_SIZE)
        if size not in PAGE_SIZES:
            size = DEFAULT_PAGE_SIZE
        number = max(1, _int(params.get("page"), 1))
        status = 200
        if not sortable(level, sort) or sort not in columns:
            error = error or f"cannot sort by {sort!r}"
            sort, descending = default_sort
        result = None
        if not error:
            try:
                result = browse(
                    self.db,
                    level,
                    filters,
                    fields=list(columns),
                    sort=sort,
                    descending=descending,
                    limit=size,
                    offset=(number - 1) * size,
                )
                if not result.rows and result.total and number > 1:  # past the end
                    number = -(-result.total // size)
                    result = browse(
                        self.db,
                        level,
                        filters,
                        fields=list(columns),
                        sort=sort,
                        descending=descending,
                        limit=size,
                        offset=(number - 1) * size,
                    )
            except SrkitError as exc:
                error = str(exc)
        if error:
            status = 400
        rows = result.rows if result else []
        total = result.total if result else 0
        kept = {k: v for k, v in params.items() if k not in ("page",) and v}

        def url(**changes: Any) -> str:
            merged = {**kept, **{k: str(v) for k, v in changes.items()}}
            return "?" + urlencode({k: v for k, v in merged.items() if v})

        heads = []
        for keyword in columns:
            can = sortable(level, keyword)
            order = "asc" if keyword != sort or descending else "desc"
            heads.append(
                {
                    "label": label(keyword),
                    "key": keyword,
                    "href": url(sort=keyword, order=order, page=1) if can else None,
                    "sorted": ("desc" if descending else "asc") if keyword == sort else "",
                }
            )
        table = []
        for row in rows:
            cells = []
            for keyword in columns:
                link = links.get(keyword)
                href = link.format_map(_Quoted(row)) if link else None
                cells.append({"text": cell_text(keyword, row.get(keyword)), "href": href})
            table.append(cells)
        pages = max(1, -(-total // size))
        first = (number - 1) * size + 1 if rows else 0
        pager = {
            "total": total,
            "first": first,
            "last": first + len(rows) - 1 if rows else 0,
            "page": number,
            "pages": pages,
            "previous": url(page=number - 1) if number > 1 else None,
            "next": url(page=number + 1) if number < pages else None,
            "start": url(page=1) if number > 1 else None,
            "end": url(page=pages) if number < pages else None,
            "size": size,
            "sizes": PAGE_SIZES,
        }
        return self.page(
            request,
            "worklist.html",
            status=status,
            title=title,
            heads=heads,
            rows=table,
            pager=pager,
            search=search,
            sort=sort,
            order="desc" if descending else "asc",
            modalities=modalities(self.db) if "modality" in search else [],
            error=error,
            crumbs=crumbs,
            noun="studies" if level == "STUDY" else "patients",
        )

    def studies(self, request: Request, title: str = "Studies") -> HTMLResponse:
        params = request.query_params
        fields = ("name", "patient_id", "date_from", "date_to", "modality", "accession")
        search = {k: params.get(k, "") for k in (*fields, "description")}
        # the worklist's links by Patient ID (the older form of this page's URL)
        if not search["patient_id"] and params.get("PatientID"):
            search["patient_id"] = params["PatientID"]
        filters: dict[str, str] = {}
        error = ""
        try:
            filters["PatientName"] = _name_pattern(search["name"])
            filters["PatientID"] = search["patient_id"].strip()
            low = _dicom_date(search["date_from"], "Study date from")
            high = _dicom_date(search["date_to"], "Study date to")
            if low and high and low > high:
                raise BadFilter("Study date from is after Study date to")
            filters["StudyDate"] = f"{low}-{high}" if low or high else ""
            filters["ModalitiesInStudy"] = search["modality"].strip()
            filters["AccessionNumber"] = search["accession"].strip()
            filters["StudyDescription"] = _text_pattern(search["description"])
        except BadFilter as exc:
            error = str(exc)
        patient_id = search["patient_id"].strip()
        if patient_id and not any(c in patient_id for c in "*?\\"):
            found = self.db.query("PATIENT", {"PatientID": patient_id}, limit=1)
            if found:
                who = person_name(found[0].get("PatientName"))
                title = f"Studies of {who} ({patient_id})" if who else f"Studies of {patient_id}"
        return self.worklist(
            request,
            "STUDY",
            title,
            STUDY_COLUMNS,
            search,
            {k: v for k, v in filters.items() if v},
            ("StudyDate", True),
            {
                "PatientName": "/studies/{StudyInstanceUID}",
                "PatientID": "/studies?patient_id={PatientID}",
                "StudyDate": "/studies/{StudyInstanceUID}",
                "StudyDescription": "/studies/{StudyInstanceUID}",
            },
            error=error,
        )

    def patients(self, request: Request) -> HTMLResponse:
        params = request.query_params
        search = {k: params.get(k, "") for k in ("name", "patient_id")}
        filters = {
            "PatientName": _name_pattern(search["name"]),
            "PatientID": search["patient_id"].strip(),
        }
        return self.worklist(
            request,
            "PATIENT",
            "Patients",
            PATIENT_COLUMNS,
            search,
            {k: v for k, v in filters.items() if v},
            ("PatientName", False),
            {
                "PatientName": "/studies?patient_id={PatientID}",
                "PatientID": "/studies?patient_id={PatientID}",
            },
        )

    # -- a study, a series ----------------------------------------------------------

    def _one(self, level: str, key: str, uid: str) -> dict[str, Any]:
        check_path_uids(uid)
        rows = self.db.query(level, {key: uid}, limit=1)
        if not rows:
            raise HTTPException(404, f"no such {level.lower()}")
        return dict(rows[0])

    def study(self, request: Request, uid: str) -> HTMLResponse:
        from srkit.db.browse import browse

        study = self._one("STUDY", "StudyInstanceUID", uid)
        series = browse(
            self.db,
            "SERIES",
            {"StudyInstanceUID": uid},
            fields=list(SERIES_COLUMNS),
            sort="SeriesNumber",
            limit=500,
        ).rows
        reports = [
            {
                "uid": d["sop_instance_uid"],
                "title": d.get("title_meaning") or _sop_class(d.get("sop_class_uid")),
                "template": d.get("template") or "",
                "kind": str(d.get("kind") or "").replace("_", " "),
            }
            for d in self.db.sr_documents(study_instance_uid=uid)
        ]
        for row in series:
            row["image"] = str(row.get("Modality") or "") not in NOT_IMAGES
        return self.page(
            request,
            "study.html",
            title=_study_title(study),
            study=study,
            facts=_study_facts(study),
            series=series,
            reports=reports,
            crumbs=[
                ("Studies", "/studies"),
                (person_name(study.get("PatientName")) or "Patient", _patient_href(study)),
            ],
        )

    def series(self, request: Request, uid: str) -> HTMLResponse:
        from srkit.db.browse import browse

        series = self._one("SERIES", "SeriesInstanceUID", uid)
        params = request.query_params
        number = max(1, _int(params.get("page"), 1))
        size = 100
        page = browse(
            self.db,
            "IMAGE",
            {"SeriesInstanceUID": uid},
            fields=list(INSTANCE_COLUMNS),
            sort="InstanceNumber",
            limit=size,
            offset=(number - 1) * size,
        )
        image = str(series.get("Modality") or "") not in NOT_IMAGES
        count = int(series.get("NumberOfSeriesRelatedInstances") or page.total)
        slice_number = min(max(0, _int(params.get("slice"), count // 2)), max(count - 1, 0))
        rows = [
            {
                "uid": r["SOPInstanceUID"],
                "number": r.get("InstanceNumber"),
                "kind": _sop_class(r.get("SOPClassUID")),
                "date": date_text(r.get("ContentDate")),
            }
            for r in page.rows
        ]
        pages = max(1, -(-page.total // size))
        return self.page(
            request,
            "series.html",
            title=_series_title(series, who=True),
            series=series,
            rows=rows,
            image=image,
            count=count,
            slice_number=slice_number,
            page=number,
            pages=pages,
            total=page.total,
            first=(number - 1) * size + 1,
            crumbs=[
                ("Studies", "/studies"),
                (person_name(series.get("PatientName")) or "Patient", _patient_href(series)),
                (_study_title(series), f"/studies/{_q(series['StudyInstanceUID'])}"),
            ],
        )

    # -- an instance ------------------------------------------------------------------

    def instance(self, request: Request, uid: str) -> HTMLResponse:
        check_path_uids(uid)
        rows = self.db.query("IMAGE", {"SOPInstanceUID": uid}, limit=1)
        if not rows:
            raise HTTPException(404, "no such instance")
        row = rows[0]
        path = self.db.instance_path(uid)
        if path is None or not path.is_file():
            raise HTTPException(404, "the instance's file is missing")
        crumbs = [
            ("Studies", "/studies"),
            (person_name(row.get("PatientName")) or "Patient", _patient_href(row)),
            (_study_title(row), f"/studies/{_q(row['StudyInstanceUID'])}"),
            (_series_title(row), f"/series/{_q(row['SeriesInstanceUID'])}"),
        ]
        sop_class = str(row.get("SOPClassUID") or "")
        view = _report(path) if sop_class.startswith(SR_CLASS_ROOT) else ReportView()
        params = request.query_params
        context: dict[str, Any] = {
            "uid": uid,
            "row": row,
            "crumbs": crumbs,
            "kind": _sop_class(row.get("SOPClassUID")),
        }
        if view.html is not None or view.dump is not None:
            for ref in view.references[:MAX_REFERENCES]:
                self._resolve(ref)
            title = f"{view.title or context['kind']} - {person_name(row.get('PatientName'))} "
            title += date_text(row.get("StudyDate"))
            return self.page(
                request,
                "instance.html",
                title=title.strip(" -"),
                report_html=view.html,
                dump=view.dump,
                references=view.references[:MAX_REFERENCES],
                more_references=max(0, len(view.references) - MAX_REFERENCES),
                **context,
            )
        facts, frames, segments, sources = _image_header(path)
        frame = min(max(1, _int(params.get("frame"), 1)), max(frames, 1))
        preview = {"size": "512", "frame": str(frame)}
        for key in ("sr", "seg", "segment"):
            if params.get(key):
                value = params[key]
                if key != "segment":
                    check_path_uids(value)
                elif not value.isdigit():
                    raise HTTPException(400, "segment must be a number")
                preview[key] = value
        title = f"{context['kind']} {row.get('InstanceNumber') or ''}".strip()
        title += f" - {person_name(row.get('PatientName'))} {date_text(row.get('StudyDate'))}"
        return self.page(
            request,
            "image.html",
            title=title.strip(" -"),
            facts=facts,
            frames=frames,
            frame=frame,
            preview=urlencode(preview),
            segments=segments,
            sources=sources,
            error=view.error if view.error != "not a structured report" else "",
            **context,
        )

    def _resolve(self, ref: dict[str, Any]) -> None:
        """Where an IMAGE reference of a report leads: the image in this archive (its
        number and series), for a SEG segment the image it was made from with the
        segment drawn over it; ``known`` is False for an image not here."""
        rows = self.db.query(
            "IMAGE",
            {"SOPInstanceUID": ref["uid"]},
            fields=["InstanceNumber", "SeriesNumber", "Modality"],
            limit=1,
        )
        ref["known"] = bool(rows)
        ref["target"] = ref["uid"]
        if rows:
            found = rows[0]
            ref["where"] = (
                f"{found.get('Modality') or ''} series {found.get('SeriesNumber') or '?'}, "
                f"image {found.get('InstanceNumber') or '?'}"
            ).strip()
        if ref["segments"] and rows:
            path = self.db.instance_path(ref["uid"])
            source = _segment_source(path, int(ref["segments"].split(",")[0]))
            if source is not None and self.db.query(
                "IMAGE", {"SOPInstanceUID": source}, fields=["InstanceNumber"], limit=1
            ):
                ref["target"] = source


class _Quoted(dict[str, Any]):
    """Row values URL-quoted for ``str.format_map``."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        super().__init__({k: _q(v) for k, v in row.items()})

    def __missing__(self, key: str) -> str:
        return ""


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return default


def _patient_href(row: Mapping[str, Any]) -> str:
    return f"/studies?patient_id={_q(row.get('PatientID'))}"


def _study_title(row: Mapping[str, Any]) -> str:
    """``Lovelace, Ada - 2025-01-06 - CT sample study``."""
    parts = [
        person_name(row.get("PatientName")) or str(row.get("PatientID") or ""),
        date_text(row.get("StudyDate")),
        str(row.get("StudyDescription") or ""),
    ]
    return " - ".join(p for p in parts if p) or "Study"


def _series_title(row: Mapping[str, Any], *, who: bool = False) -> str:
    """``CT series 2: Axial 5 mm``, with ``who``: ``... - Lovelace, Ada 2025-01-06``."""
    head = f"{row.get('Modality') or ''} series {row.get('SeriesNumber') or ''}".strip()
    description = str(row.get("SeriesDescription") or "")
    text = f"{head}: {description}" if description else head
    if who:
        person = person_name(row.get("PatientName")) or str(row.get("PatientID") or "")
        text += f" - {person} {date_text(row.get('StudyDate'))}".rstrip()
    return text


def _study_facts(study: Mapping[str, Any]) -> list[tuple[str, str]]:
    facts = [
        ("Patient", person_name(study.get("PatientName"))),
        ("Patient ID", str(study.get("PatientID") or "")),
        ("Birth date", date_text(study.get("PatientBirthDate"))),
        ("Sex", str(study.get("PatientSex") or "")),
        (
            "Study date",
            f"{date_text(study.get('StudyDate'))} {time_text(study.get('StudyTime'))}".strip(),
        ),
        ("Description", str(study.get("StudyDescription") or "")),
        ("Accession", str(study.get("AccessionNumber") or "")),
        ("Referring physician", person_name(study.get("ReferringPhysicianName"))),
        ("Modalities", multi_text(study.get("ModalitiesInStudy"))),
        ("Series / instances", "{} / {}".format(
            study.get("NumberOfStudyRelatedSeries") or 0,
            study.get("NumberOfStudyRelatedInstances") or 0,
        )),
        ("Study UID", str(study.get("StudyInstanceUID") or "")),
    ]  # fmt: skip
    return [(k, v) for k, v in facts if v]


def _value_text(value: Any) -> str:
    from pydicom.multival import MultiValue

    if isinstance(value, (list, tuple, MultiValue)):
        return " \\ ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _image_header(path: Any) -> tuple[list[tuple[str, str]], int, list[dict[str, Any]], list[str]]:
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
            text = _sop_class(value)
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
            "kind": _sop_class(item.referenced.sop_class_uid),
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


def _report(path: Any) -> ReportView:
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


def _segment_source(path: Any, segment: int) -> str | None:
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
    """:func:`_segment_source` of a read SEG data set."""
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


def _rows(result: Any) -> list[dict[str, Any]]:
    """Rows from whatever the database returns (list of dicts or an Arrow table)."""
    if hasattr(result, "to_pylist"):
        return list(result.to_pylist())
    return [dict(r) for r in result]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and "value" in value:  # a code object
        return str(value.get("meaning") or value["value"])
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_FORMAT = {
    "patient_name": person_name,
    "study_date": date_text,
    "detected_at": datetime_text,
    "start_of_xray_irradiation": datetime_text,
}


def _table_page(
    pages: Pages,
    request: Request,
    title: str,
    rows: list[dict[str, Any]],
    chart: str = "",
    columns: Sequence[tuple[str, str]] = (),
    link: str | None = None,
    size: int = 100,
) -> HTMLResponse:
    """A page of a table of ``rows`` (``?page=N``, ``size`` rows a page): the chosen
    ``(heading, key)`` columns, the first cell linking to ``/instances/<row[link]>``
    when ``link`` is given."""
    pages_count = max(1, -(-len(rows) // size))
    number = min(max(1, _int(request.query_params.get("page"), 1)), pages_count)
    shown = rows[(number - 1) * size : number * size]
    table = [
        {
            "cells": [_FORMAT.get(key, _cell)(r.get(key)) for _, key in columns],
            "href": f"/instances/{_q(r[link])}" if link and r.get(link) else None,
        }
        for r in shown
    ]
    kept = {k: v for k, v in request.query_params.items() if k != "page"}

    def url(n: int) -> str:
        return "?" + urlencode({**kept, "page": n})

    first = (number - 1) * size + 1
    return pages.page(
        request,
        "list.html",
        title=title,
        columns=[heading for heading, _ in columns],
        rows=table,
        crumbs=[("Studies", "/studies")],
        chart=chart,
        total=len(rows),
        first=first,
        last=first + len(shown) - 1,
        previous=url(number - 1) if number > 1 else None,
        next=url(number + 1) if number < pages_count else None,
    )


CONFLICT_COLUMNS = [
    ("Detected", "detected_at"),
    ("Kind", "kind"),
    ("What srkit did", "resolution"),
    ("From", "source"),
    ("Caller", "calling_ae"),
    ("Patient ID", "patient_id"),
    ("Study", "study_instance_uid"),
    ("Instance", "sop_instance_uid"),
    ("Finding", "message"),
]

DOSE_COLUMNS = [
    ("Patient", "patient_name"),
    ("Patient ID", "patient_id"),
    ("Study date", "study_date"),
    ("Modality", "modality"),
    ("Manufacturer", "manufacturer"),
    ("Model", "model"),
    ("Events", "number_of_events"),
    ("DLP total (mGy.cm)", "dlp_total"),
    ("Max CTDIvol (mGy)", "max_ctdivol"),
    ("DAP total (Gy.m2)", "dap_total"),
    ("Dose at RP total (Gy)", "dose_rp_total"),
]


def _label(row: dict[str, Any]) -> str:
    date = date_text(row.get("study_date")) or datetime_text(row.get("start_of_xray_irradiation"))
    who = person_name(row.get("patient_name")) or str(row.get("patient_id") or "?")
    return f"{date[:10]} {who}".strip()


def _dose_chart(rows: list[dict[str, Any]]) -> str:
    """DLP total per CT report and DAP total per X-ray report, in date order."""
    from srkit.web.charts import bars

    charts = []
    for key, unit, title in (
        ("dlp_total", "mGy.cm", "CT dose length product per report"),
        ("dap_total", "Gy.m2", "Dose area product per report"),
    ):
        items = sorted(
            (_label(r), float(r[key])) for r in rows if isinstance(r.get(key), (int, float))
        )
        if items:
            charts.append(f"<h3>{title}</h3>{bars(items[-60:], unit)}")
    return "".join(charts)


DOSE_CRUMBS = [("Studies", "/studies"), ("Dose", "/dose")]


def _ui_routes(app: FastAPI, pages: Pages, auth: Any) -> None:
    deps = [Depends(auth)]

    @app.get("/", response_class=HTMLResponse, dependencies=deps)
    def home(request: Request) -> HTMLResponse:
        return pages.studies(request)

    @app.get("/studies", response_class=HTMLResponse, dependencies=deps)
    def studies(request: Request) -> HTMLResponse:
        return pages.studies(request)

    @app.get("/patients", response_class=HTMLResponse, dependencies=deps)
    def patients(request: Request) -> HTMLResponse:
        return pages.patients(request)

    @app.get("/studies/{uid}", response_class=HTMLResponse, dependencies=deps)
    def study(request: Request, uid: str) -> HTMLResponse:
        return pages.study(request, uid)

    @app.get("/series/{uid}", response_class=HTMLResponse, dependencies=deps)
    def series(request: Request, uid: str) -> HTMLResponse:
        return pages.series(request, uid)

    @app.get("/instances/{uid}", response_class=HTMLResponse, dependencies=deps)
    async def instance(request: Request, uid: str) -> HTMLResponse:
        return await run_in_threadpool(pages.instance, request, uid)

    @app.get("/measurements", response_class=HTMLResponse, dependencies=deps)
    def measurements(request: Request) -> HTMLResponse:
        from srkit.web.measurement_pages import measurement_page

        return measurement_page(pages, request)

    @app.get("/conflicts", response_class=HTMLResponse, dependencies=deps)
    def conflicts(request: Request) -> HTMLResponse:
        """Conflicts recorded while filing instances (srkit.db.hierarchy), newest first;
        each row links to the instance (kept instances are indexed under their own
        patient, study and series)."""
        rows = pages.db.conflicts()
        return _table_page(
            pages,
            request,
            f"Conflicts ({len(rows)})",
            rows,
            columns=CONFLICT_COLUMNS,
            link="sop_instance_uid",
        )

    @app.get("/dose", response_class=HTMLResponse, dependencies=deps)
    def dose(request: Request) -> HTMLResponse:
        rows = _rows(pages.db.query_dose())
        links = (
            '<p><a href="/dose/drl">DRLs</a> | <a href="/dose/exams">Exams vs DRL</a> | '
            '<a href="/dose/alerts">Alerts</a> | <a href="/dose/charts">Charts</a> | '
            '<a href="/dose/export.xlsx">Export (XLSX)</a></p>'
        )
        return _table_page(
            pages,
            request,
            "Radiation dose",
            rows,
            links + _dose_chart(rows),
            DOSE_COLUMNS,
            link="sop_instance_uid",
        )


def create_app(
    db: Any = None,
    *,
    db_url: str | None = None,
    token: str | None = None,
    max_upload: int = DEFAULT_MAX_UPLOAD,
    public_url: str | None = None,
    cors_origins: Sequence[str] = (),
    viewer_dir: Any = None,
) -> FastAPI:
    """The application: DICOMweb under ``/dicomweb``, pages at ``/``.

    Parameters
    ----------
    db : Database, optional
        The archive; opened from ``db_url`` (or the default database) when None.
    token : str, optional
        Required on every route: ``Authorization: Bearer <token>`` (RFC 6750), or the
        session cookie of a browser that logged in with it at ``/login``
        (:mod:`srkit.web.login`; DICOMweb accepts the cookie for GET and HEAD only).
    max_upload : int
        Largest STOW-RS body in bytes.
    public_url : str, optional
        The server's URL as clients see it (``http://host:port``), for Retrieve URLs
        and BulkDataURIs; taken from each request's Host header when None.
    cors_origins : sequence of str
        Origins (``http://host:port``, or ``*``) whose pages may call the server
        (CORS, :mod:`srkit.web.cors`); none by default, and then no CORS headers.
    viewer_dir : Path, optional
        The OHIF viewer's ``dist`` folder, served under ``/viewer``
        (:mod:`srkit.web.viewer`).
    """
    from srkit.web.login import login_routes, page_auth

    if db is None:
        from srkit.db import Database

        db = Database(db_url)
    app = FastAPI(title="srkit", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(make_router(db, prefix="/dicomweb", token=token, max_upload=max_upload))
    app.include_router(make_wado_uri_router(db, token=token))
    pages = Pages(db, token)
    login_routes(app, token, pages.render)
    auth = page_auth(token)
    _ui_routes(app, pages, auth)
    from srkit.web.dose_pages import dose_routes

    def dose_page(request: Request, title: str, body: str) -> HTMLResponse:
        return pages.page(request, "dose.html", title=title, body=body, crumbs=DOSE_CRUMBS)

    dose_routes(app, db, [Depends(auth)], page=dose_page)
    from srkit.web.image_pages import image_routes

    image_routes(app, db, [Depends(auth)])
    if viewer_dir is not None:
        from srkit.web.viewer import viewer_routes

        viewer_routes(app, viewer_dir, [Depends(auth)])
    if cors_origins:
        from srkit.web.cors import add_cors

        add_cors(app, cors_origins)
    app.state.db = db
    app.state.public_url = public_url
    return app
