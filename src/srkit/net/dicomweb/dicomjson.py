"""DICOM JSON (PS3.18 Annex F) for QIDO-RS results and WADO-RS metadata, and the
query-parameter rules of QIDO-RS (PS3.18 Section 8.3.4).

Attribute paths one sequence deep (PS3.18 Section 8.3.4.1:
``00400A43.00080100=126000`` or ``ConceptNameCodeSequence.CodeValue=126000``) become
sequence filters, the query item as item keyword -> match string (all paths into the
same sequence share one item), as :meth:`srkit.db.Database.query` takes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from srkit.db.query import MAX_SQL_INTEGER
from srkit.errors import SrkitError
from srkit.net.findrsp import needs_utf8

__all__ = [
    "INTEGER_VR_RANGES",
    "MAX_SQL_INTEGER",
    "QIDO_DEFAULTS",
    "Query",
    "QueryParameterError",
    "attr",
    "attribute_path",
    "bulk_value",
    "dataset_json",
    "frame_numbers",
    "frame_parts",
    "keyword_of",
    "parse_query",
    "qido_fields",
    "row_json",
    "split_filters",
]

QIDO_DEFAULTS: dict[str, tuple[str, ...]] = {
    "STUDY": (
        "StudyDate",
        "StudyTime",
        "AccessionNumber",
        "ModalitiesInStudy",
        "ReferringPhysicianName",
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "StudyInstanceUID",
        "StudyID",
        "StudyDescription",
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
    ),
    "SERIES": (
        "StudyInstanceUID",
        "Modality",
        "SeriesDescription",
        "SeriesNumber",
        "SeriesInstanceUID",
        "NumberOfSeriesRelatedInstances",
    ),
    "IMAGE": (
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPClassUID",
        "SOPInstanceUID",
        "InstanceNumber",
        "Rows",
        "Columns",
        "NumberOfFrames",
    ),
}
"""Attributes every QIDO-RS answer carries, by level (PS3.18 Tables 10.6.3-3 to -5)."""

ALL_FIELDS: dict[str, tuple[str, ...]] = {
    "STUDY": QIDO_DEFAULTS["STUDY"] + ("InstitutionName",),
    "SERIES": QIDO_DEFAULTS["SERIES"]
    + (
        "SeriesDate",
        "SeriesTime",
        "BodyPartExamined",
        "Manufacturer",
        "ManufacturerModelName",
        "StationName",
    ),
    "IMAGE": QIDO_DEFAULTS["IMAGE"]
    + (
        "ContentDate",
        "ContentTime",
        "TransferSyntaxUID",
        "ConceptNameCodeSequence",
        "ContentTemplateSequence",
        "CompletionFlag",
        "VerificationFlag",
    ),
}
"""What ``includefield=all`` adds."""

NUMERIC_TEXT = {"IS", "DS"}
BINARY_INT = {"US", "UL", "SS", "SL", "UV", "SV"}
SINGLE_TEXT = {"LT", "ST", "UT", "UR"}


@dataclass(slots=True)
class Query:
    """Parsed QIDO-RS query parameters."""

    filters: dict[str, Any] = field(default_factory=dict)
    """Keyword -> match string; sequence keyword -> item keyword -> match string."""
    include: list[str] = field(default_factory=list)
    include_all: bool = False
    limit: int | None = None
    offset: int = 0
    fuzzy: bool = False


def keyword_of(key: str) -> str:
    """The keyword for a QIDO attribute given as keyword or tag (``00100010``).

    Raises :class:`SrkitError` for an unknown attribute or an attribute path
    (:func:`attribute_path` reads those).
    """
    from pydicom.datadict import keyword_for_tag, tag_for_keyword

    key = key.strip()
    if "." in key:
        raise SrkitError(f"not a single attribute: {key!r}")
    hexkey = key.replace(",", "")
    if len(hexkey) == 8 and all(c in "0123456789abcdefABCDEF" for c in hexkey):
        keyword = keyword_for_tag(int(hexkey, 16))
        if keyword:
            return str(keyword)
    elif tag_for_keyword(key) is not None:
        return key
    raise SrkitError(f"unknown attribute {key!r}")


def attribute_path(key: str) -> tuple[str, str | None]:
    """``(keyword, item keyword)`` of a QIDO attribute or a path one sequence deep
    (``0040A043.00080100``, ``ConceptNameCodeSequence.CodeValue``; PS3.18 Section
    8.3.4.1); the item keyword is None for a plain attribute.

    Raises :class:`SrkitError` for unknown attributes, a path through an attribute
    that is not a sequence, or a path deeper than one item level (not supported).
    """
    from pydicom.datadict import dictionary_VR

    parts = key.strip().split(".")
    if len(parts) > 2:
        raise SrkitError(f"nested sequence matching is not supported: {key!r}")
    keyword = keyword_of(parts[0])
    if len(parts) == 1:
        return keyword, None
    if dictionary_VR(keyword) != "SQ":
        raise SrkitError(f"{keyword} is not a sequence: {key!r}")
    item = keyword_of(parts[1])
    if dictionary_VR(item) == "SQ":
        raise SrkitError(f"nested sequence matching is not supported: {key!r}")
    return keyword, item


INTEGER_VR_RANGES: dict[str, tuple[int, int]] = {
    "IS": (-(2**31), 2**31 - 1),
    "SL": (-(2**31), 2**31 - 1),
    "SS": (-(2**15), 2**15 - 1),
    "UL": (0, 2**32 - 1),
    "US": (0, 2**16 - 1),
    "SV": (-(2**63), 2**63 - 1),
    "UV": (0, 2**63 - 1),
}
"""Values an integer attribute can hold, by VR (PS3.5 Table 6.2-1; UV is cut to what
SQL stores): a matching value outside its range is a bad request, never an SQL error."""


class QueryParameterError(SrkitError):
    """A query parameter with a value outside what it accepts (HTTP 400).

    Parameters
    ----------
    parameter : str
        The parameter's name as the client gave it.
    value : str
        The value given.
    accepted : str
        What the parameter accepts, for a person (``"an integer from 0 to ..."``).
    """

    def __init__(self, parameter: str, value: str, accepted: str) -> None:
        shown = value if len(value) <= 40 else value[:37] + "..."
        super().__init__(f"{parameter} must be {accepted}, not {shown!r}")
        self.parameter = parameter
        self.value = value
        self.accepted = accepted


def _decimal(text: str) -> int | None:
    """An optionally signed ASCII decimal integer of at most 20 digits, or None
    (no Unicode digits, underscores, spaces or exponents, which ``int()`` accepts)."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not (0 < len(digits) <= 20 and digits.isascii() and digits.isdigit()):
        return None
    return int(text)


def _int_param(name: str, value: str, low: int = 0, high: int = MAX_SQL_INTEGER) -> int:
    number = _decimal(value)
    if number is None or not low <= number <= high:
        raise QueryParameterError(name, value, f"an integer from {low} to {high}")
    return number


def _check_integer_match(name: str, keyword: str, value: str) -> None:
    """A match value of an integer attribute: single values or a value list
    (PS3.4 Section C.2.2.2.8), each within the VR's range."""
    from pydicom.datadict import dictionary_VR

    vr = dictionary_VR(keyword)
    if vr not in INTEGER_VR_RANGES or value.strip() in ("", "*"):
        return
    low, high = INTEGER_VR_RANGES[vr]
    for part in value.split("\\"):
        if part.strip():
            number = _decimal(part.strip())
            if number is None or not low <= number <= high:
                raise QueryParameterError(
                    name, value, f"an integer from {low} to {high} (VR {vr}), or a list of them"
                )


def _add_filter(query: Query, key: str, value: str) -> None:
    """One matching parameter: a plain key, or an item key of a sequence's query item."""
    from pydicom.datadict import dictionary_VR

    try:
        keyword, item = attribute_path(key)
    except SrkitError as exc:
        raise QueryParameterError(key, value, f"a matching key ({exc.message})") from None
    if item is not None:
        _check_integer_match(key, item, value)
        current = query.filters.get(keyword)
        if not isinstance(current, dict):
            current = query.filters[keyword] = {}
        current[item] = value
    elif dictionary_VR(keyword) == "SQ":
        if value.strip():
            raise QueryParameterError(
                key, value, f"empty: {keyword} is a sequence, match its item attributes ({key}.tag)"
            )
        query.filters.setdefault(keyword, {})
    else:
        _check_integer_match(key, keyword, value)
        query.filters[keyword] = value


def _include(query: Query, value: str) -> None:
    for item in value.split(","):
        if item.strip().lower() == "all":
            query.include_all = True
        elif item.strip():  # a path includes its whole top-level sequence
            try:
                query.include.append(attribute_path(item)[0])
            except SrkitError as exc:
                raise QueryParameterError(
                    "includefield", value, f"'all' or attribute keywords or tags ({exc.message})"
                ) from None


def parse_query(items: Iterable[tuple[str, str]]) -> Query:
    """Parse QIDO-RS parameters: attribute matches, ``includefield``, ``limit``,
    ``offset``, ``fuzzymatching`` (PS3.18 Section 8.3.4).

    Raises :class:`QueryParameterError` naming the parameter and what it accepts:
    ``limit`` and ``offset`` are integers from 0 to :data:`MAX_SQL_INTEGER`,
    ``fuzzymatching`` is ``true`` or ``false``, integer attributes match integers of
    their VR's range (:data:`INTEGER_VR_RANGES`).
    """
    query = Query()
    for name, value in items:
        lname = name.lower()
        if lname == "limit":
            query.limit = _int_param(name, value)
        elif lname == "offset":
            query.offset = _int_param(name, value)
        elif lname == "fuzzymatching":
            if value.lower() not in ("true", "false"):
                raise QueryParameterError(name, value, "true or false")
            query.fuzzy = value.lower() == "true"
        elif lname == "includefield":
            _include(query, value)
        else:
            _add_filter(query, name, value)
    return query


def qido_fields(
    level: str, include: Sequence[str] | Query, filters: Mapping[str, Any]
) -> list[str]:
    """Return keys of a QIDO answer: defaults, included fields, matching keys."""
    if isinstance(include, Query):
        extra = list(ALL_FIELDS[level]) if include.include_all else []
        include = extra + include.include
    fields = list(QIDO_DEFAULTS[level])
    for keyword in [*include, *filters]:
        if keyword not in fields:
            fields.append(keyword)
    return fields


LIST_KEYS = ("ModalitiesInStudy", "SOPClassesInStudy")


def split_filters(filters: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Matching keys the index supports, and the others (matched universally, as
    PS3.4 Section C.2.2.1 lets an SCP treat optional keys it cannot match).

    The SR instance keys (PS3.4 Table C.6-5: ``ConceptNameCodeSequence``,
    ``ContentTemplateSequence``, ``CompletionFlag``, ``VerificationFlag``) are
    supported; any other sequence is not (it is returned empty).
    """
    from srkit.db.query import ATTRIBUTES, SR_KEYS

    kept = {k: v for k, v in filters.items() if k in ATTRIBUTES or k in LIST_KEYS or k in SR_KEYS}
    return kept, [k for k in filters if k not in kept]


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


RETRIEVE = {
    "STUDY": "/studies/{StudyInstanceUID}",
    "SERIES": "/studies/{StudyInstanceUID}/series/{SeriesInstanceUID}",
    "IMAGE": "/studies/{StudyInstanceUID}/series/{SeriesInstanceUID}/instances/{SOPInstanceUID}",
}


def row_json(
    row: Mapping[str, Any], fields: Sequence[str], level: str, base: str
) -> dict[str, Any]:
    """A QIDO-RS result (DICOM JSON) from a database row; with its Retrieve URL."""
    out: dict[str, Any] = {}
    for keyword in fields:
        out[_tag(keyword)] = attr(keyword, row.get(keyword))
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


FRAME_MEDIA = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.5": "image/x-dicom-rle",
}
"""Media types of compressed frames by transfer syntax (PS3.18 Table 8.7.3-2)."""


MAX_FRAME_NUMBER = 2**31 - 1
"""The largest frame number (Number of Frames is IS, PS3.3 Section C.7.6.6)."""


def frame_numbers(text: str) -> list[int]:
    """The frame numbers of a WADO-RS frame list (``1,3,5``; PS3.18 Section 8.3.3.1.1),
    each once. Raises :class:`QueryParameterError` (parameter ``frames``)."""
    numbers = [_decimal(n) for n in text.split(",")]
    accepted = f"comma-separated distinct frame numbers from 1 to {MAX_FRAME_NUMBER}"
    if any(n is None or not 1 <= n <= MAX_FRAME_NUMBER for n in numbers):
        raise QueryParameterError("frames", text, accepted)
    if len(set(numbers)) != len(numbers):
        raise QueryParameterError("frames", text, accepted)
    return [n for n in numbers if n is not None]


def frame_parts(ds: Any, numbers: Sequence[int]) -> tuple[str, list[bytes]]:
    """Media type and bytes of the frames ``numbers`` (1-based) of an image
    (PS3.18 Section 10.4.1.1.4). Raises :class:`QueryParameterError` for a frame the
    image does not have, :class:`SrkitError` when it has no (usable) pixel data."""
    from pydicom.encaps import generate_frames

    if "PixelData" not in ds:
        raise SrkitError("the instance has no pixel data")
    count = int(ds.get("NumberOfFrames") or 1)
    if not numbers or any(n < 1 or n > count for n in numbers):
        shown = ",".join(map(str, numbers))
        raise QueryParameterError("frames", shown, f"frame numbers from 1 to {count}")
    ts = str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        frames = list(generate_frames(ds.PixelData, number_of_frames=count))
        return FRAME_MEDIA.get(ts, "application/octet-stream"), [frames[n - 1] for n in numbers]
    samples = int(ds.get("SamplesPerPixel") or 1)
    bits = int(ds.BitsAllocated)
    if bits == 1:
        raise SrkitError("frames of 1-bit images are not supported")
    size = int(ds.Rows) * int(ds.Columns) * samples * bits // 8
    data = ds.PixelData
    return "application/octet-stream", [data[(n - 1) * size : n * size] for n in numbers]
