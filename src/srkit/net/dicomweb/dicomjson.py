"""DICOM JSON (PS3.18 Annex F) for QIDO-RS results, WADO-RS metadata and STOW-RS
responses, and the bulk data a metadata answer points to (PS3.18 Section 8.6.1).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from srkit.model.levels import Level
from srkit.net.charset import needs_utf8

__all__ = ["BINARY_INT", "SINGLE_TEXT", "attr", "bulk_value", "dataset_json", "row_json"]

NUMERIC_TEXT = {"IS", "DS"}
BINARY_INT = {"US", "UL", "SS", "SL", "UV", "SV"}
SINGLE_TEXT = {"LT", "ST", "UT", "UR"}


def _values(value: Any, vr: str) -> list[Any]:
    if isinstance(value, str):
        items: list[Any] = [value] if vr in SINGLE_TEXT else value.split("\\")
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = [value]
    out: list[Any] = []
    for item in items:
        if vr == "PN":
            out.append({"Alphabetic": str(item)} if str(item) else None)
        elif vr in BINARY_INT or vr == "IS":
            out.append(int(item) if str(item).strip() else None)
        elif vr in ("DS", "FL", "FD"):
            out.append(float(item) if str(item).strip() else None)
        else:
            out.append(str(item))
    return out


def attr(keyword: str, value: Any) -> dict[str, Any]:
    """One DICOM JSON attribute object (PS3.18 Section F.2.2) for a keyword and value
    (None or '' gives an attribute without ``Value``). A sequence value is a list of
    item dicts (keyword -> value), each item an object of attributes (F.2.5)."""
    from pydicom.datadict import dictionary_VR

    vr = str(dictionary_VR(keyword))
    if vr == "US or SS":
        vr = "US"
    if value is None or value == "" or value == []:
        return {"vr": vr}
    if vr == "SQ":
        if not isinstance(value, (list, tuple)):
            return {"vr": vr}
        items = [
            dict(sorted((_tag(k), attr(k, v)) for k, v in item.items()))
            for item in value
            if isinstance(item, Mapping)
        ]
        return {"vr": vr, "Value": items}
    try:
        values = _values(value, vr)
    except (TypeError, ValueError):
        return {"vr": vr}
    return {"vr": vr, "Value": values}


def _tag(keyword: str) -> str:
    from pydicom.datadict import tag_for_keyword

    tag = tag_for_keyword(keyword)
    return f"{tag:08X}"


RETRIEVE: dict[str, str] = {
    Level.STUDY: "/studies/{StudyInstanceUID}",
    Level.SERIES: "/studies/{StudyInstanceUID}/series/{SeriesInstanceUID}",
    Level.IMAGE: "/studies/{StudyInstanceUID}/series/{SeriesInstanceUID}/instances/{SOPInstanceUID}",
}


def row_json(
    row: Mapping[str, Any],
    fields: Sequence[str],
    level: str,
    base: str,
    required: Collection[str] | None = None,
) -> dict[str, Any]:
    """A QIDO-RS result (DICOM JSON) from a database row; with its Retrieve URL.

    An attribute of ``fields`` without a value is left out unless it is in
    ``required`` (all of ``fields`` when None), where it is an attribute without
    ``Value`` (PS3.18 Section F.2.2)."""
    out: dict[str, Any] = {}
    for keyword in fields:
        item = attr(keyword, row.get(keyword))
        if "Value" in item or required is None or keyword in required:
            out[_tag(keyword)] = item
    template = RETRIEVE.get(level)
    if template:
        try:
            out["00081190"] = attr("RetrieveURL", base + template.format(**row))
        except KeyError:
            pass
    if any(needs_utf8(v) for v in row.values()):
        out["00080005"] = {"vr": "CS", "Value": ["ISO_IR 192"]}
    return dict(sorted(out.items()))


PIXEL_TAGS = ("7FE00010", "7FE00008", "7FE00009")


def dataset_json(ds: Any, bulk_base: str, threshold: int = 1024) -> dict[str, Any]:
    """WADO-RS metadata of a dataset: DICOM JSON with binary values larger than
    ``threshold`` bytes replaced by a BulkDataURI ``{bulk_base}/{tag}`` (PS3.18 F.2.6).

    Bulk data inside sequences gets the URI of its top-level sequence's tag.
    """
    from pydicom.dataelem import DataElement

    def handler(elem: DataElement) -> str:
        return f"{bulk_base}/{elem.tag:08X}"

    result: dict[str, Any] = ds.to_json_dict(
        bulk_data_threshold=threshold, bulk_data_element_handler=handler
    )
    for tag in PIXEL_TAGS:  # pixel data is always bulk data, whatever its size
        if "InlineBinary" in result.get(tag, {}):
            result[tag] = {"vr": result[tag]["vr"], "BulkDataURI": f"{bulk_base}/{tag}"}
    return result


def bulk_value(ds: Any, tag: str) -> bytes:
    """The raw bytes of a top-level binary attribute, by tag (``7FE00010``); KeyError."""
    try:
        number = int(tag, 16)
    except ValueError:
        raise KeyError(tag) from None
    if number not in ds:
        raise KeyError(tag)
    value = ds[number].value
    if isinstance(value, bytes):
        return value
    raise KeyError(tag)
