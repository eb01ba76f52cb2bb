"""DICOM attribute matching (PS3.4 C.2.2.2) over the index, shared by ``srkit ls``,
C-FIND (PS3.4 C.4.1) and QIDO-RS (PS3.18 10.6).

``filters`` map DICOM keywords to match values: single value, wildcards ``*`` ``?``,
ranges ``a-b`` ``-b`` ``a-`` for DA/TM/DT, UID lists ``a\\b``, empty = universal.
Keys of the query level and of the levels above match the row; keys of lower levels
(``Modality`` in a STUDY query, ``ModalitiesInStudy``) match when any descendant does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from srkit.db import schema as S
from srkit.errors import SrkitError

__all__ = ["LEVELS", "ATTRIBUTES", "Attribute", "match", "level_query", "normalise_level"]

LEVELS = ("PATIENT", "STUDY", "SERIES", "IMAGE")
_LEVEL_ALIASES = {
    "INSTANCE": "IMAGE",
    "PATIENTS": "PATIENT",
    "STUDIES": "STUDY",
    "INSTANCES": "IMAGE",
    "IMAGES": "IMAGE",
}


@dataclass(frozen=True, slots=True)
class Attribute:
    """A queryable DICOM attribute: its level, column and VR."""

    keyword: str
    level: str
    column: str
    vr: str


def _attrs(level: str, table: Any, items: Sequence[tuple[str, str, str]]) -> list[Attribute]:
    return [Attribute(kw, level, col, vr) for kw, col, vr in items]


ATTRIBUTES: dict[str, Attribute] = {
    a.keyword: a
    for a in [
        *_attrs(
            "PATIENT",
            S.patient,
            [
                ("PatientID", "patient_id", "LO"),
                ("PatientName", "patient_name", "PN"),
                ("PatientBirthDate", "patient_birth_date", "DA"),
                ("PatientSex", "patient_sex", "CS"),
            ],
        ),
        *_attrs(
            "STUDY",
            S.study,
            [
                ("StudyInstanceUID", "study_instance_uid", "UI"),
                ("StudyDate", "study_date", "DA"),
                ("StudyTime", "study_time", "TM"),
                ("AccessionNumber", "accession_number", "SH"),
                ("StudyID", "study_id", "SH"),
                ("StudyDescription", "study_description", "LO"),
                ("ReferringPhysicianName", "referring_physician_name", "PN"),
                ("InstitutionName", "institution_name", "LO"),
            ],
        ),
        *_attrs(
            "SERIES",
            S.series,
            [
                ("SeriesInstanceUID", "series_instance_uid", "UI"),
                ("Modality", "modality", "CS"),
                ("SeriesNumber", "series_number", "IS"),
                ("SeriesDescription", "series_description", "LO"),
                ("SeriesDate", "series_date", "DA"),
                ("SeriesTime", "series_time", "TM"),
                ("BodyPartExamined", "body_part_examined", "CS"),
                ("Manufacturer", "manufacturer", "LO"),
                ("ManufacturerModelName", "manufacturer_model_name", "LO"),
                ("StationName", "station_name", "SH"),
            ],
        ),
        *_attrs(
            "IMAGE",
            S.instance,
            [
                ("SOPInstanceUID", "sop_instance_uid", "UI"),
                ("SOPClassUID", "sop_class_uid", "UI"),
                ("InstanceNumber", "instance_number", "IS"),
                ("ContentDate", "content_date", "DA"),
                ("ContentTime", "content_time", "TM"),
                ("Rows", "rows", "US"),
                ("Columns", "columns", "US"),
                ("NumberOfFrames", "number_of_frames", "IS"),
                ("TransferSyntaxUID", "transfer_syntax_uid", "UI"),
            ],
        ),
    ]
}
"""Every attribute the index can match and return, by keyword."""

TABLES = {"PATIENT": S.patient, "STUDY": S.study, "SERIES": S.series, "IMAGE": S.instance}
COUNTS = {
    "PATIENT": (
        "NumberOfPatientRelatedStudies",
        "NumberOfPatientRelatedSeries",
        "NumberOfPatientRelatedInstances",
    ),
    "STUDY": (
        "NumberOfStudyRelatedSeries",
        "NumberOfStudyRelatedInstances",
        "ModalitiesInStudy",
        "SOPClassesInStudy",
    ),
    "SERIES": ("NumberOfSeriesRelatedInstances",),
    "IMAGE": (),
}
"""Return keys computed from the levels below."""


def normalise_level(level: str) -> str:
    """``"study"``, ``"STUDIES"`` -> ``"STUDY"``; ``INSTANCE`` -> ``IMAGE``."""
    name = (level or "").strip().upper()
    name = _LEVEL_ALIASES.get(name, name)
    if name not in LEVELS:
        raise SrkitError(f"unknown query level {level!r} (PATIENT, STUDY, SERIES or IMAGE)")
    return name


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_pattern(value: str) -> str:
    return _escape(value).replace("*", "%").replace("?", "_")


def _range(column: Any, value: str, vr: str) -> ColumnElement[bool]:
    low, _, high = value.partition("-")
    low, high = low.strip(), high.strip()
    if vr == "DA" and (len(low) not in (0, 8) or len(high) not in (0, 8)):
        raise SrkitError(f"invalid date range {value!r} (YYYYMMDD-YYYYMMDD)")
    clauses = []
    if low:
        clauses.append(column >= low)
    if high:
        # an upper bound covers all of its last unit: "0800" includes 08:00:59
        clauses.append(column <= (high if vr == "DA" else high + "\uffff"))
    if not clauses:
        raise SrkitError(f"invalid range {value!r}")
    return and_(column.is_not(None), *clauses)


def match(column: Any, value: str, vr: str, *, fuzzy: bool = False) -> ColumnElement[bool] | None:
    """The SQL condition matching ``column`` against a DICOM match ``value``.

    Returns None for universal matching (empty value or ``*``).
    """
    value = (value or "").strip()
    if value in ("", "*"):
        return None
    if vr == "UI" and "\\" in value:
        return column.in_([v.strip() for v in value.split("\\") if v.strip()])  # type: ignore[no-any-return]
    if vr in ("DA", "TM", "DT") and "-" in value:
        return _range(column, value, vr)
    if "\\" in value and vr not in ("PN",):  # value list (PS3.4 C.2.2.2.8 for CS, LO, ...)
        parts = [match(column, v, vr) for v in value.split("\\") if v.strip()]
        return or_(*[p for p in parts if p is not None])
    if vr in ("IS", "US", "SS", "UL", "SL"):
        try:
            return column == int(value)  # type: ignore[no-any-return]
        except ValueError:
            raise SrkitError(f"invalid number {value!r}") from None
    if vr == "PN":
        return _person_name(column, value, fuzzy)
    if fuzzy:
        return column.ilike(f"%{_like_pattern(value)}%", escape="\\")  # type: ignore[no-any-return]
    if "*" in value or "?" in value:
        return column.like(_like_pattern(value), escape="\\")  # type: ignore[no-any-return]
    return column == value  # type: ignore[no-any-return]


def _person_name(column: Any, value: str, fuzzy: bool) -> ColumnElement[bool]:
    """PN matching: case-insensitive; fuzzy matches the start of any name component."""
    pattern = _like_pattern(value)
    if fuzzy:
        return or_(
            column.ilike(f"{pattern}%", escape="\\"),
            column.ilike(f"%^{pattern}%", escape="\\"),
            column.ilike(f"% {pattern}%", escape="\\"),
        )
    if "*" in value or "?" in value:
        return column.ilike(pattern, escape="\\")  # type: ignore[no-any-return]
    return func.lower(column) == value.lower()


_PARENT = {
    "STUDY": ("patient_pk", "PATIENT"),
    "SERIES": ("study_pk", "STUDY"),
    "IMAGE": ("series_pk", "SERIES"),
}


def _joined(level: str) -> Any:
    """The level's table joined with every table above it."""
    joined: Any = TABLES[level]
    current = level
    while current in _PARENT:
        fk, parent = _PARENT[current]
        joined = joined.join(TABLES[parent], TABLES[current].c[fk] == TABLES[parent].c.pk)
        current = parent
    return joined


def _below(level: str, attr_level: str, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """EXISTS a descendant at ``attr_level`` of the current ``level`` row meeting it."""
    order = LEVELS.index(attr_level)
    chain = [TABLES[lv] for lv in LEVELS[LEVELS.index(level) + 1 : order + 1]]
    sub = select(chain[-1].c.pk)
    prev = TABLES[level]
    clauses = []
    for lv, table in zip(LEVELS[LEVELS.index(level) + 1 :], chain):
        fk, _ = _PARENT[lv]
        clauses.append(table.c[fk] == prev.c.pk)
        prev = table
    return exists(sub.where(and_(*clauses, condition)))


def _conditions(level: str, filters: Mapping[str, Any], fuzzy: bool) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    depth = LEVELS.index(level)
    for keyword, raw in filters.items():
        if raw is None:
            continue
        value = "\\".join(map(str, raw)) if isinstance(raw, list | tuple) else str(raw)
        if keyword in ("ModalitiesInStudy", "SOPClassesInStudy"):
            attr = ATTRIBUTES["Modality" if keyword == "ModalitiesInStudy" else "SOPClassUID"]
            values = [v for v in value.split("\\") if v.strip()]
            matched = [match(TABLES[attr.level].c[attr.column], v, attr.vr) for v in values]
            parts = [p for p in matched if p is not None]
            if parts and depth < LEVELS.index(attr.level):
                conds.append(_below(level, attr.level, or_(*parts)))
            elif parts:
                conds.append(or_(*parts))
            continue
        if keyword in (
            "QueryRetrieveLevel",
            "SpecificCharacterSet",
            "RetrieveAETitle",
            "InstanceAvailability",
            "TimezoneOffsetFromUTC",
        ) or keyword.startswith("NumberOf"):
            continue
        found = ATTRIBUTES.get(keyword)
        if found is None:
            raise SrkitError(f"cannot match on {keyword!r} (not indexed)")
        attr = found
        cond = match(TABLES[attr.level].c[attr.column], value, attr.vr, fuzzy=fuzzy)
        if cond is None:
            continue
        if LEVELS.index(attr.level) > depth:
            cond = _below(level, attr.level, cond)
        conds.append(cond)
    return conds


_ORDER = {
    "PATIENT": ("patient_name", "patient_id"),
    "STUDY": ("study_date", "study_time", "study_instance_uid"),
    "SERIES": ("series_number", "series_instance_uid"),
    "IMAGE": ("instance_number", "sop_instance_uid"),
}


def _count(level: str, target: str) -> Any:
    """A correlated count of the ``target`` level rows under the current ``level`` row."""
    chain = LEVELS[LEVELS.index(level) + 1 : LEVELS.index(target) + 1]
    prev = TABLES[level]
    clauses = []
    for lv in chain:
        clauses.append(TABLES[lv].c[_PARENT[lv][0]] == prev.c.pk)
        prev = TABLES[lv]
    return select(func.count()).select_from(TABLES[target]).where(*clauses).scalar_subquery()


_COUNT_TARGET = {
    "NumberOfPatientRelatedStudies": "STUDY",
    "NumberOfPatientRelatedSeries": "SERIES",
    "NumberOfPatientRelatedInstances": "IMAGE",
    "NumberOfStudyRelatedSeries": "SERIES",
    "NumberOfStudyRelatedInstances": "IMAGE",
    "NumberOfSeriesRelatedInstances": "IMAGE",
}


def level_query(
    level: str,
    filters: Mapping[str, Any],
    *,
    fields: Sequence[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    fuzzy: bool = False,
) -> tuple[Select[Any], list[str]]:
    """The SELECT for a query and the keywords of its columns (in order).

    The ``pk`` of the level's row comes first (label ``_pk``), for follow-up queries.
    """
    level = normalise_level(level)
    depth = LEVELS.index(level)
    wanted = [
        a
        for a in ATTRIBUTES.values()
        if LEVELS.index(a.level) <= depth
        and (
            fields is None
            or a.keyword in fields
            or a.column.endswith("instance_uid")
            or a.keyword == "PatientID"
        )
    ]
    table = TABLES[level]
    columns: list[Any] = [table.c.pk.label("_pk")]
    keys = ["_pk"]
    for attr in wanted:
        columns.append(TABLES[attr.level].c[attr.column].label(attr.keyword))
        keys.append(attr.keyword)
    for name in COUNTS[level]:
        if name in _COUNT_TARGET and (fields is None or name in fields):
            columns.append(_count(level, _COUNT_TARGET[name]).label(name))
            keys.append(name)
    stmt = select(*columns).select_from(_joined(level))
    for cond in _conditions(level, filters, fuzzy):
        stmt = stmt.where(cond)
    order = [table.c[c].asc().nulls_last() for c in _ORDER[level]]
    stmt = stmt.order_by(*order, table.c.pk)
    if limit is not None:
        stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    return stmt, keys
