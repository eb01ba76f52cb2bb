"""DICOM attribute matching (PS3.4 C.2.2.2) over the index, shared by ``srkit ls``,
C-FIND (PS3.4 C.4.1) and QIDO-RS (PS3.18 10.6).

``filters`` map DICOM keywords to match values: single value, wildcards ``*`` ``?``,
ranges ``a-b`` ``-b`` ``a-`` for DA/TM/DT, UID lists ``a\\b``, empty = universal.
Keys of the query level and of the levels above match the row; keys of lower levels
(``Modality`` in a STUDY query, ``ModalitiesInStudy``) match when any descendant does.

SR instance keys (PS3.4 Section C.6.1.1.5, Table C.6-5), IMAGE level only, matched
against the ``sr_document`` row of the instance:

- ``CompletionFlag`` (0040,A491) and ``VerificationFlag`` (0040,A493): plain keys.
- ``ConceptNameCodeSequence`` (0040,A043) and ``ContentTemplateSequence`` (0040,A504):
  sequence keys (PS3.4 Section C.2.2.2.6). Their filter value is the query item as a
  mapping of item keyword -> match string, e.g. ``{"CodeValue": "126000",
  "CodingSchemeDesignator": "DCM", "CodeMeaning": ""}`` (a list holding at most one
  such mapping is accepted too). Each non-empty item value is matched with the usual
  rules; empty values (and an empty mapping, None, ``""`` or ``[]``) match
  universally. The mapping's keys are also the item keys returned: rows carry the
  sequence as a list of at most one dict (``[{"CodeValue": "126000", ...}]``; ``[]``
  for an instance without the value, e.g. any non-SR instance). When the sequence is
  asked for in ``fields`` only, or with an empty mapping, every indexed item key is
  returned. Item keys the index does not hold (``CodingSchemeVersion``,
  ``MappingResource``) match universally and are returned as None.

Any other sequence attribute is refused here (``cannot match on``); the network
front ends treat such keys as universal matches returned empty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Any

from sqlalchemy import Select, and_, func, literal, null, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.sqltypes import NullType
from sqlalchemy.sql.visitors import InternalTraversal

from srkit.db import schema as S
from srkit.db.attributes import ATTRIBUTES, Attribute
from srkit.errors import SrkitError
from srkit.model.levels import LEVELS, normalise_level

__all__ = [
    "LEVELS",
    "ATTRIBUTES",
    "SEQUENCES",
    "SR_FLAGS",
    "Attribute",
    "SequenceKey",
    "column_of",
    "finish_rows",
    "sequence_item",
    "match",
    "level_query",
    "normalise_level",
    "MAX_SQL_INTEGER",
    "sql_integer",
]

MAX_SQL_INTEGER = 2**63 - 1
"""The largest integer SQLite (INTEGER) and PostgreSQL (``bigint``, the type of LIMIT and
OFFSET) hold: a number beyond it in a query is a user error, never a driver's overflow."""


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


@dataclass(frozen=True, slots=True)
class SequenceKey:
    """A sequence key of SR instances (PS3.4 Table C.6-5) and its item keys.

    ``items`` maps each indexed item keyword to its ``sr_document`` column and VR;
    ``present`` is the column whose value means the instance has the item.
    """

    keyword: str
    items: Mapping[str, tuple[str, str]]
    present: str


SEQUENCES: dict[str, SequenceKey] = {
    "ConceptNameCodeSequence": SequenceKey(
        "ConceptNameCodeSequence",
        {
            "CodeValue": ("title_value", "SH"),
            "CodingSchemeDesignator": ("title_scheme", "SH"),
            "CodeMeaning": ("title_meaning", "LO"),
        },
        "title_value",
    ),
    "ContentTemplateSequence": SequenceKey(
        "ContentTemplateSequence", {"TemplateIdentifier": ("template", "CS")}, "template"
    ),
}
"""Sequence keys matched against ``sr_document`` (the document title, PS3.3 C.17.2,
and its template): IMAGE level only."""

SR_FLAGS: dict[str, tuple[str, str]] = {
    "CompletionFlag": ("completion_flag", "CS"),
    "VerificationFlag": ("verification_flag", "CS"),
}
"""Plain SR instance keys (PS3.3 Section C.17.2): keyword -> (sr_document column, VR)."""

SR_KEYS = frozenset([*SEQUENCES, *SR_FLAGS])


def column_of(level: str, attr: Attribute) -> Any:
    """The column that answers ``attr`` in a query at ``level``.

    Patient attributes at STUDY level and below come from the study row: what that
    study's own files say (a patient's first study may have spelt the name
    otherwise, :mod:`srkit.db.hierarchy`).
    """
    if attr.level == "PATIENT" and level != "PATIENT":
        return S.study.c[attr.column]
    return TABLES[attr.level].c[attr.column]


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
            number = int(value)
        except ValueError:
            raise SrkitError(f"invalid number {value!r}") from None
        if not -MAX_SQL_INTEGER - 1 <= number <= MAX_SQL_INTEGER:
            raise SrkitError(f"number out of range: {value[:40]!r}")
        return column == number  # type: ignore[no-any-return]
    if vr == "PN":
        return _person_name(column, value, fuzzy)
    if fuzzy:
        return column.ilike(f"%{_like_pattern(value)}%", escape="\\")  # type: ignore[no-any-return]
    if "*" in value or "?" in value:
        return column.like(_like_pattern(value), escape="\\")  # type: ignore[no-any-return]
    return column == value  # type: ignore[no-any-return]


def _person_name(column: Any, value: str, fuzzy: bool) -> ColumnElement[bool]:
    """PN matching: case-insensitive; fuzzy matches the start of any name component.

    Compares ``lower(column)`` (an indexed expression, migration 0003) rather than
    ``ILIKE``, which no index serves; a wildcard with a literal ASCII prefix also
    bounds ``lower(column)`` to that prefix's range, so SQLite's expression index
    answers ``Smith*`` without a scan (PostgreSQL's ``text_pattern_ops`` index
    serves the anchored ``LIKE`` itself).
    """
    pattern = _like_pattern(value)
    lowered = func.lower(column)
    if fuzzy:
        return or_(
            column.ilike(f"{pattern}%", escape="\\"),
            column.ilike(f"%^{pattern}%", escape="\\"),
            column.ilike(f"% {pattern}%", escape="\\"),
        )
    if "*" in value or "?" in value:
        lowered_pattern = pattern.lower() if pattern.isascii() else func.lower(pattern)
        like = lowered.like(lowered_pattern, escape="\\")
        prefix = _literal_prefix(value).lower()
        if not prefix or not prefix.isascii():
            return like
        high = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return and_(PrefixRange(lowered, prefix, high), like)
    return lowered == value.lower()


def _literal_prefix(value: str) -> str:
    """The characters of a match value before its first wildcard."""
    for n, char in enumerate(value):
        if char in "*?":
            return value[:n]
    return value


class PrefixRange(ColumnElement[bool]):
    """``low <= expr < high``: the range of strings starting with a prefix, compiled
    for SQLite (whose ``LIKE`` uses no expression index) and as ``true`` elsewhere
    (PostgreSQL's anchored ``LIKE`` uses a ``text_pattern_ops`` index; a plain range
    would compare in the database's collation, not byte order)."""

    inherit_cache = True
    # not Boolean: SQLite would compare a Boolean expression in WHERE with 1, which
    # hides the range from the planner
    type = NullType()  # type: ignore[assignment]
    _traverse_internals = [
        ("expr", InternalTraversal.dp_clauseelement),
        ("low", InternalTraversal.dp_clauseelement),
        ("high", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, expr: Any, low: str, high: str) -> None:
        self.expr = expr
        self.low = literal(low)
        self.high = literal(high)


@compiles(PrefixRange)
def _prefix_range_default(element: PrefixRange, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(true(), **kw))


@compiles(PrefixRange, "sqlite")
def _prefix_range_sqlite(element: PrefixRange, compiler: Any, **kw: Any) -> str:
    cond = and_(element.expr >= element.low, element.expr < element.high)
    return str(compiler.process(cond.self_group(), **kw))


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
    """The current ``level`` row has a descendant at ``attr_level`` meeting ``condition``.

    Written ``pk IN (SELECT parent key FROM descendants WHERE ...)`` rather than a
    correlated EXISTS: the condition's own index finds the descendants, where EXISTS
    would read the descendants of every row of the level (a scan of the archive).
    """
    chain = LEVELS[LEVELS.index(level) + 1 : LEVELS.index(attr_level) + 1]
    first = TABLES[chain[0]]
    joined: Any = first
    for upper, lower in pairwise(chain):
        fk, _ = _PARENT[lower]
        joined = joined.join(TABLES[lower], TABLES[lower].c[fk] == TABLES[upper].c.pk)
    sub = select(first.c[_PARENT[chain[0]][0]]).select_from(joined).where(condition)
    return TABLES[level].c.pk.in_(sub)


def sequence_item(keyword: str, raw: Any) -> dict[str, str]:
    """The query item of a sequence filter as item keyword -> match string.

    None, ``""``, ``[]`` and ``[{}]`` give ``{}`` (universal matching). Raises
    :class:`SrkitError` for more than one item (PS3.4 Section C.2.2.2.6: a sequence
    key holds a single item), a value that is not an item, or an unknown keyword.
    """
    from pydicom.datadict import tag_for_keyword

    if raw is None or raw == "":
        return {}
    if isinstance(raw, list | tuple):
        if len(raw) > 1:
            raise SrkitError(f"{keyword}: a sequence key holds one item, not {len(raw)}")
        return sequence_item(keyword, raw[0]) if raw else {}
    if not isinstance(raw, Mapping):
        raise SrkitError(f"{keyword} is a sequence: match it with an item, not {raw!r}")
    item: dict[str, str] = {}
    for key, value in raw.items():
        if tag_for_keyword(str(key)) is None:
            raise SrkitError(f"{keyword}: unknown item attribute {key!r}")
        if isinstance(value, list | tuple):
            value = "\\".join(map(str, value))
        item[str(key)] = "" if value is None else str(value).strip()
    return item


@cache
def _snomed_pairs() -> dict[str, dict[str, list[str]]]:
    """SRT value -> [SCT value] and SCT value -> [SRT values] (pydicom's table)."""
    from pydicom.sr._snomed_dict import mapping

    pairs: dict[str, dict[str, list[str]]] = {"SRT": {}, "SCT": {}}
    for srt, sct in mapping["SRT"].items():
        pairs["SRT"].setdefault(srt, []).append(sct)
        pairs["SCT"].setdefault(sct, []).append(srt)
    return pairs


def _plain_value(value: str) -> bool:
    return bool(value) and value != "*" and not any(c in value for c in "*?\\")


def _code_condition(item: Mapping[str, str]) -> ColumnElement[bool] | None:
    """Code Value and Coding Scheme Designator of the title; SNOMED RT codes match
    their SNOMED CT counterparts and the reverse (as :class:`srkit.model.Code`)."""
    doc = S.sr_document.c
    value = item.get("CodeValue", "")
    scheme = item.get("CodingSchemeDesignator", "")
    if scheme not in ("SRT", "SCT"):
        parts = [match(doc.title_value, value, "SH"), match(doc.title_scheme, scheme, "SH")]
        found = [p for p in parts if p is not None]
        return and_(*found) if found else None
    other = "SCT" if scheme == "SRT" else "SRT"
    if not value.strip() or value.strip() == "*":
        return doc.title_scheme.in_([scheme, other])
    same = match(doc.title_value, value, "SH")
    alike = _snomed_pairs()[scheme].get(value.strip(), []) if _plain_value(value) else []
    if not alike:
        return and_(same, doc.title_scheme == scheme)  # type: ignore[arg-type]
    return or_(
        and_(same, doc.title_scheme == scheme),  # type: ignore[arg-type]
        and_(doc.title_value.in_(alike), doc.title_scheme == other),
    )


def _sr_conditions(level: str, keyword: str, raw: Any) -> list[ColumnElement[bool]]:
    """Conditions of an SR instance key (IMAGE level, PS3.4 Table C.6-5)."""
    doc = S.sr_document.c
    if keyword in SR_FLAGS:
        column, vr = SR_FLAGS[keyword]
        text = "\\".join(map(str, raw)) if isinstance(raw, list | tuple) else str(raw)
        pairs = [(column, vr, text)]
    else:
        seq = SEQUENCES[keyword]
        item = sequence_item(keyword, raw)
        pairs = [(*seq.items[k], v) for k, v in item.items() if k in seq.items]
    active = [(c, vr, v) for c, vr, v in pairs if v.strip() not in ("", "*")]
    if not active:
        return []
    if level != "IMAGE":
        raise SrkitError(f"{keyword} is an IMAGE level key (PS3.4 Table C.6-5), not {level}")
    if keyword == "ConceptNameCodeSequence":
        item = sequence_item(keyword, raw)
        conds = [_code_condition(item), match(doc.title_meaning, item.get("CodeMeaning", ""), "LO")]
    else:
        conds = [match(doc[c], v, vr) for c, vr, v in active]
    return [c for c in conds if c is not None]


def _conditions(level: str, filters: Mapping[str, Any], fuzzy: bool) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    depth = LEVELS.index(level)
    for keyword, raw in filters.items():
        if raw is None:
            continue
        if keyword in SR_KEYS:
            conds.extend(_sr_conditions(level, keyword, raw))
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
        cond = match(column_of(level, attr), value, attr.vr, fuzzy=fuzzy)
        if cond is None:
            continue
        if LEVELS.index(attr.level) > depth:
            cond = _below(level, attr.level, cond)
        elif level == "PATIENT" and attr.column != "patient_id":
            # a patient is found by the attributes of any of its studies too
            study_cond = match(S.study.c[attr.column], value, attr.vr, fuzzy=fuzzy)
            assert study_cond is not None
            cond = or_(cond, _below("PATIENT", "STUDY", study_cond))
        conds.append(cond)
    return conds


_ORDER = {
    "PATIENT": (("PATIENT", "patient_name"), ("PATIENT", "patient_id")),
    "STUDY": (("STUDY", "study_date"), ("STUDY", "study_time"), ("STUDY", "study_instance_uid")),
    "SERIES": (
        ("STUDY", "study_date"),
        ("STUDY", "study_time"),
        ("STUDY", "study_instance_uid"),
        ("SERIES", "series_number"),
        ("SERIES", "series_instance_uid"),
    ),
    "IMAGE": (
        ("STUDY", "study_date"),
        ("STUDY", "study_time"),
        ("STUDY", "study_instance_uid"),
        ("SERIES", "series_number"),
        ("SERIES", "series_instance_uid"),
        ("IMAGE", "instance_number"),
        ("IMAGE", "sop_instance_uid"),
    ),
}
"""The order of a level's rows as a person reads a worklist: studies by date and time,
the series of a study by Series Number, the instances of a series by Instance Number
(numbers compared as integers); a UID only breaks ties (the tables above a level are
joined to it: :func:`_joined`)."""


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


def sql_integer(name: str, value: Any, *, low: int = -MAX_SQL_INTEGER - 1) -> int:
    """``value`` as an integer from ``low`` to :data:`MAX_SQL_INTEGER`; raises
    :class:`SrkitError` naming ``name`` otherwise (not the driver's OverflowError)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SrkitError(f"{name} must be an integer, not {str(value)[:40]!r}") from None
    if not low <= number <= MAX_SQL_INTEGER:
        raise SrkitError(f"{name} must be from {low} to {MAX_SQL_INTEGER}, not {number}")
    return number


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
    SR keys (IMAGE level) asked for in ``fields`` (or, when ``fields`` is None, in
    ``filters``) come last; a sequence's columns are keyed ``"Sequence."`` (whether
    the instance has the item) and ``"Sequence.ItemKeyword"``: :func:`finish_rows`
    turns them into the sequence values.
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
        columns.append(column_of(level, attr).label(attr.keyword))
        keys.append(attr.keyword)
    for name in COUNTS[level]:
        if name in _COUNT_TARGET and (fields is None or name in fields):
            columns.append(_count(level, _COUNT_TARGET[name]).label(name))
            keys.append(name)
    joined = _joined(level)
    sr_columns = _sr_columns(level, filters, fields)
    for key, column in sr_columns:
        columns.append(column.label(f"_sr{len(keys)}"))
        keys.append(key)
    if level == "IMAGE" and (sr_columns or any(k in SR_KEYS for k in filters)):
        joined = joined.outerjoin(S.sr_document, S.sr_document.c.instance_pk == table.c.pk)
    stmt = select(*columns).select_from(joined)
    for cond in _conditions(level, filters, fuzzy):
        stmt = stmt.where(cond)
    order = [TABLES[lv].c[c].asc().nulls_last() for lv, c in _ORDER[level]]
    stmt = stmt.order_by(*order, table.c.pk)
    if limit is not None:
        stmt = stmt.limit(sql_integer("limit", limit, low=0))
    if offset:
        stmt = stmt.offset(sql_integer("offset", offset, low=0))
    return stmt, keys


def _item_order(keywords: Sequence[str]) -> list[str]:
    """Item keywords in ascending tag order (as encoded, PS3.5 Section 7.1)."""
    from pydicom.datadict import tag_for_keyword

    return sorted(dict.fromkeys(keywords), key=lambda k: tag_for_keyword(k) or 0)


def _sr_columns(
    level: str, filters: Mapping[str, Any], fields: Sequence[str] | None
) -> list[tuple[str, Any]]:
    """(key, column) of the SR instance keys returned at IMAGE level."""
    if level != "IMAGE":
        return []
    doc = S.sr_document.c
    out: list[tuple[str, Any]] = []
    for keyword in dict.fromkeys(fields if fields is not None else filters):
        if keyword in SR_FLAGS:
            out.append((keyword, doc[SR_FLAGS[keyword][0]]))
        elif keyword in SEQUENCES:
            seq = SEQUENCES[keyword]
            names = list(sequence_item(keyword, filters.get(keyword))) or list(seq.items)
            out.append((f"{keyword}.", doc[seq.present]))
            for name in _item_order(names):
                column = doc[seq.items[name][0]] if name in seq.items else null()
                out.append((f"{keyword}.{name}", column))
    return out


def finish_rows(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """Turn the sequence columns of :func:`level_query` rows (``keys``) into sequence
    values in place: ``row["ConceptNameCodeSequence"] = [{"CodeValue": ...}]``, or
    ``[]`` when the instance has no such item (not an SR, no template)."""
    groups: dict[str, list[str]] = {}
    for key in keys:
        seq, dot, name = key.partition(".")
        if dot:
            names = groups.setdefault(seq, [])
            if name:
                names.append(name)
    if not groups:
        return
    for row in rows:
        for seq, names in groups.items():
            present = row.pop(f"{seq}.")
            item = {name: row.pop(f"{seq}.{name}") for name in names}
            row[seq] = [item] if present is not None else []
