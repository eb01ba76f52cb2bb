"""SQL on either kind of connection the write path holds: an SQLite DBAPI cursor (the
store fast path, :mod:`srkit.db.store`) or an SQLAlchemy connection (PostgreSQL, import
batches); and the slicing of long ``IN (...)`` lists."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["ConnectionSql", "CursorSql", "Sql", "chunks", "lock_parents", "lookup"]

_CHUNK = 500


def chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    """``values`` in slices small enough for one ``IN (...)`` clause."""
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


class CursorSql:
    """Statements on an SQLite DBAPI cursor (named parameters, ``lastrowid``)."""

    _inserts: dict[tuple[str, tuple[str, ...]], str] = {}

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return list(self.cursor.execute(sql, params).fetchall())

    def _insert_sql(self, table: str, names: tuple[str, ...]) -> str:
        """``INSERT INTO table (names) VALUES (:names)``, made once per column set."""
        key = (table, names)
        sql = self._inserts.get(key)
        if sql is None:
            cols = ", ".join(f'"{k}"' for k in names)
            marks = ", ".join(f":{k}" for k in names)
            sql = self._inserts[key] = f'INSERT INTO "{table}" ({cols}) VALUES ({marks})'
        return sql

    def insert(self, table: str, row: dict[str, Any]) -> int:
        self.cursor.execute(self._insert_sql(table, tuple(row)), row)
        return int(self.cursor.lastrowid)

    def insert_many(self, table: str, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``rows`` (runs of rows with the same columns, one statement each)."""
        start = 0
        while start < len(rows):
            names = tuple(rows[start])
            stop = start + 1
            while stop < len(rows) and tuple(rows[stop]) == names:
                stop += 1
            self.cursor.executemany(self._insert_sql(table, names), rows[start:stop])
            start = stop

    def execute(self, sql: str, params: dict[str, Any]) -> None:
        self.cursor.execute(sql, params)


class ConnectionSql:
    """Statements on an SQLAlchemy connection (text and Core statements cached)."""

    _texts: dict[str, Any] = {}
    _inserts: dict[str, Any] = {}

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def _text(self, sql: str) -> Any:
        stmt = self._texts.get(sql)
        if stmt is None:
            from sqlalchemy import text

            stmt = self._texts[sql] = text(sql)
        return stmt

    def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.conn.execute(self._text(sql), params)]

    def insert(self, table: str, row: dict[str, Any]) -> int:
        stmt = self._inserts.get(table)
        if stmt is None:
            from sqlalchemy import insert

            from srkit.db import schema as S

            stmt = self._inserts[table] = insert(S.metadata.tables[table])
        key: Any = self.conn.execute(stmt, row).inserted_primary_key
        return int(key[0])

    def execute(self, sql: str, params: dict[str, Any]) -> None:
        self.conn.execute(self._text(sql), params)


Sql = CursorSql | ConnectionSql


def lookup(conn: Any, column: Any, key: Any, values: Iterable[Any]) -> dict[Any, Any]:
    """``{value: key}`` for rows whose ``column`` is one of ``values`` (SQLAlchemy
    columns, queried in :func:`chunks`)."""
    from sqlalchemy import select as _select

    out: dict[Any, Any] = {}
    unique = sorted(set(values))
    for chunk in chunks(unique):
        for row in conn.execute(_select(column, key).where(column.in_(chunk))):
            out[row[0]] = row[1]
    return out


def lock_parents(conn: Any, records: Sequence[dict[str, Any]]) -> None:
    """On PostgreSQL, transaction-level advisory locks on the Study and Series Instance
    UIDs of ``records``: studies first, then series, each in sorted order (the one
    order of every writer, so no two wait on each other). Two writers filing into one
    study then run one after the other and each sees the other's rows: a clash is
    always found (:mod:`srkit.db.hierarchy`), a parent row is never inserted twice.
    SQLite needs none: its writers are serialised by ``BEGIN IMMEDIATE``."""
    if conn.dialect.name != "postgresql":
        return
    from sqlalchemy import text

    keys = sorted({"study:" + str(r["study"]["study_instance_uid"]) for r in records})
    keys += sorted({"series:" + str(r["series"]["series_instance_uid"]) for r in records})
    stmt = text("SELECT pg_advisory_xact_lock(hashtext(:k))")
    for key in keys:
        conn.execute(stmt, {"k": key})
