"""QIDO-RS query parameters (PS3.18 Section 8.3.4): matching keys as database filters,
``includefield``, ``limit``, ``offset`` and ``fuzzymatching``, and the return keys of
each level (PS3.18 Tables 10.6.3-3 to -5).

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
from srkit.model.levels import Level

__all__ = [
    "ALL_FIELDS",
    "INTEGER_VR_RANGES",
    "MAX_SQL_INTEGER",
    "QIDO_DEFAULTS",
    "QIDO_REQUIRED",
    "Query",
    "QueryParameterError",
    "attribute_path",
    "decimal",
    "keyword_of",
    "parse_query",
    "qido_fields",
]

QIDO_DEFAULTS: dict[str, tuple[str, ...]] = {
    Level.STUDY: (
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
    Level.SERIES: (
        "StudyInstanceUID",
        "Modality",
        "SeriesDescription",
        "SeriesNumber",
        "SeriesInstanceUID",
        "NumberOfSeriesRelatedInstances",
    ),
    Level.IMAGE: (
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
"""Attributes a QIDO-RS answer returns by default, by level (PS3.18 Tables 10.6.3-3
to -5), each present only when it has a value unless in :data:`QIDO_REQUIRED`."""

QIDO_REQUIRED: dict[str, frozenset[str]] = {
    "STUDY": frozenset(
        {
            "StudyDate",
            "StudyTime",
            "AccessionNumber",
            "ReferringPhysicianName",
            "PatientName",
            "PatientID",
            "PatientBirthDate",
            "PatientSex",
            "StudyInstanceUID",
            "StudyID",
            "NumberOfStudyRelatedSeries",
            "NumberOfStudyRelatedInstances",
        }
    ),
    "SERIES": frozenset(
        {"Modality", "SeriesInstanceUID", "SeriesNumber", "NumberOfSeriesRelatedInstances"}
    ),
    "IMAGE": frozenset(
        {"StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID", "SOPInstanceUID", "InstanceNumber"}
    ),
}
"""The attributes of a level present in every QIDO-RS result, as an attribute without
``Value`` when empty (the Type 2 return keys Orthanc's DICOMweb plugin always answers).
Every other attribute is left out when it has no value at that level (a series
attribute such as Modality asked of a study, an empty description): viewers read
``Value`` of what is there (OHIF's study list does ``Modality.Value.indexOf``).
ModalitiesInStudy is computed from the study's series."""

ALL_FIELDS: dict[str, tuple[str, ...]] = {
    Level.STUDY: QIDO_DEFAULTS[Level.STUDY] + ("InstitutionName",),
    Level.SERIES: QIDO_DEFAULTS[Level.SERIES]
    + (
        "SeriesDate",
        "SeriesTime",
        "BodyPartExamined",
        "Manufacturer",
        "ManufacturerModelName",
        "StationName",
    ),
    Level.IMAGE: QIDO_DEFAULTS[Level.IMAGE]
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


def decimal(text: str) -> int | None:
    """An optionally signed ASCII decimal integer of at most 20 digits, or None
    (no Unicode digits, underscores, spaces or exponents, which ``int()`` accepts)."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    if not (0 < len(digits) <= 20 and digits.isascii() and digits.isdigit()):
        return None
    return int(text)


def _int_param(name: str, value: str, low: int = 0, high: int = MAX_SQL_INTEGER) -> int:
    number = decimal(value)
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
            number = decimal(part.strip())
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
