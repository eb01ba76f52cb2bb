"""One page of a level query for a browser: the matches of :func:`srkit.db.query.level_query`
(DICOM matching, PS3.4 C.2.2.2, parameterised SQL) sorted by a chosen attribute, with
``limit``/``offset`` and the total number of matches.

``srkit serve``'s worklist pages (:mod:`srkit.web.app`) call :func:`browse`; C-FIND and
QIDO-RS keep their own fixed order (:data:`srkit.db.query._ORDER`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from srkit.db.attributes import ATTRIBUTES
from srkit.db.query import column_of, finish_rows, level_query, normalise_level
from srkit.errors import SrkitError

__all__ = ["BrowsePage", "browse", "modalities", "sortable"]

_TEXT_VRS = ("PN", "LO", "SH", "CS", "LT", "ST", "UT")
_COUNTS = (
    "NumberOfPatientRelatedStudies",
    "NumberOfPatientRelatedSeries",
    "NumberOfPatientRelatedInstances",
    "NumberOfStudyRelatedSeries",
    "NumberOfStudyRelatedInstances",
    "NumberOfSeriesRelatedInstances",
)
_THEN = {"StudyDate": "StudyTime", "SeriesDate": "SeriesTime", "ContentDate": "ContentTime"}


@dataclass(frozen=True, slots=True)
class BrowsePage:
    """``rows`` (as :meth:`srkit.db.Database.query` returns them) of ``total`` matches."""

    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


def sortable(level: str, keyword: str) -> bool:
    """Whether a page at ``level`` can be sorted by ``keyword`` (an indexed attribute
    of the level or a level above, or one of the level's counts)."""
    level = normalise_level(level)
    from srkit.db.query import COUNTS, LEVELS

    if keyword in _COUNTS:
        return keyword in COUNTS[level]
    attr = ATTRIBUTES.get(keyword)
    return attr is not None and LEVELS.index(attr.level) <= LEVELS.index(level)


def browse(
    db: Any,
    level: str,
    filters: Mapping[str, Any],
    *,
    fields: Sequence[str],
    sort: str | None = None,
    descending: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> BrowsePage:
    """The page of ``level`` matches of ``filters`` from ``offset``, sorted by ``sort``
    (a DICOM keyword, :func:`sortable`; text case-insensitively, empty values last,
    then the level's usual order), with the number of all matches.

    Raises :class:`SrkitError` for a bad filter value or a key that cannot sort.
    """
    level = normalise_level(level)
    if sort is not None and not sortable(level, sort):
        raise SrkitError(f"cannot sort {level.lower()} rows by {sort!r}")
    wanted = list(dict.fromkeys([*fields, *([sort] if sort else [])]))
    stmt, keys = level_query(level, filters, fields=wanted)
    count_stmt, _ = level_query(level, filters, fields=[])
    counted = select(func.count()).select_from(count_stmt.order_by(None).subquery())
    if sort is not None:
        order: list[Any] = []
        for keyword in (sort, _THEN.get(sort)):
            if keyword is None:
                continue
            if keyword in _COUNTS:
                expr = stmt.selected_columns[keyword]
            else:
                attr = ATTRIBUTES[keyword]
                expr = column_of(level, attr)
                if attr.vr in _TEXT_VRS:
                    expr = func.lower(expr)
            order.append((expr.desc() if descending else expr.asc()).nulls_last())
        previous = list(stmt._order_by_clauses)  # the level's usual order breaks ties
        stmt = stmt.order_by(None).order_by(*order, *previous)
    stmt = stmt.limit(_whole("limit", limit, 1)).offset(_whole("offset", offset, 0))
    with db._reader.connect() as conn:
        total = int(conn.execute(counted).scalar_one())
        rows = [dict(zip(keys, row)) for row in conn.execute(stmt)]
        if level == "STUDY" and rows:
            db._study_lists(conn, rows, wanted)
    for row in rows:
        del row["_pk"]
    finish_rows(rows, keys)
    return BrowsePage(rows=rows, total=total, offset=offset, limit=limit)


def _whole(name: str, value: int, low: int) -> int:
    from srkit.db.query import sql_integer

    return sql_integer(name, value, low=low)


def modalities(db: Any) -> list[str]:
    """The modalities of the series in the database, sorted (for a filter's choices)."""
    from srkit.db import schema as S

    stmt = select(S.series.c.modality).where(S.series.c.modality.is_not(None)).distinct()
    with db._reader.connect() as conn:
        return sorted(str(m) for (m,) in conn.execute(stmt) if m)
