"""``srkit export parquet``: the database's rows as the datasets ``srkit measurements
-o DIR``, ``srkit dose -o DIR`` and ``srkit instances -o DIR`` write from files (the
same tables, schemas and rows; :mod:`srkit.extract.dataset`), so that an archive and
an extraction are queried alike. The manifest lists every instance exported with its
file, size and modification time; the errors table is empty (the database holds
only what was read)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from srkit.errors import SrkitError

__all__ = ["export_dataset"]

PAGE = 20_000
"""Rows read from the database per batch."""


def _instances(db: Any) -> dict[str, dict[str, Any]]:
    """sop_instance_uid -> path, size, mtime of every instance."""
    from sqlalchemy import select

    from srkit.db import schema as S

    i = S.instance
    out = {}
    with db._reader.connect() as conn:
        for uid, path, size, mtime_ns in conn.execute(
            select(i.c.sop_instance_uid, i.c.path, i.c.size, i.c.mtime_ns)
        ):
            out[uid] = {
                "path": path,
                "size": size,
                "mtime": None if mtime_ns is None else mtime_ns / 1e9,
            }
    return out


def _pages(fetch: Any) -> Iterator[list[dict[str, Any]]]:
    offset = 0
    while True:
        rows = fetch(PAGE, offset)
        if not rows:
            return
        yield rows
        offset += len(rows)


def _tables(db: Any, kind: str) -> Iterator[dict[str, list[Any]]]:
    """Rows by table, a page at a time."""
    if kind in ("quantitative", "qualitative"):
        name = "measurements" if kind == "quantitative" else "qualitative"
        columns = _measurement_columns(kind)
        for rows in _pages(lambda n, o: db.query_measurements(kind=kind, limit=n, offset=o)):
            yield {name: [{c: r.get(c) for c in columns} for r in rows]}
    elif kind == "dose":
        from srkit.extract.dose_rows import dose_tables

        for rows in _pages(lambda n, o: _dose_records(db, n, o)):
            reports: list[dict[str, Any]] = []
            events: list[dict[str, Any]] = []
            for record in rows:
                found = dose_tables(json.loads(record["report"]))
                reports.extend(found["dose_reports"])
                events.extend(found["dose_events"])
            yield {"dose_reports": reports, "dose_events": events}
    elif kind == "instances":
        from srkit.extract.instances import INSTANCE_ATTRIBUTES

        for rows in _pages(lambda n, o: db.query("IMAGE", {}, limit=n, offset=o)):
            yield {
                "instances": [{col: r.get(kw) for kw, col, _ in INSTANCE_ATTRIBUTES} for r in rows]
            }
    else:
        raise SrkitError(f"kind must be quantitative, qualitative, dose or instances, not {kind!r}")


def _measurement_columns(kind: str) -> tuple[str, ...]:
    from srkit.tables.schemas import MEASUREMENTS, QUALITATIVE

    return tuple((MEASUREMENTS if kind == "quantitative" else QUALITATIVE).columns)


def _dose_records(db: Any, limit: int, offset: int) -> list[dict[str, Any]]:
    from srkit.db.srquery import dose_exam_query

    stmt = dose_exam_query().limit(limit).offset(offset)
    with db._reader.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]


def export_dataset(
    db: Any, out: str | os.PathLike[str], *, kind: str, overwrite: bool = False
) -> dict[str, int]:
    """Write the ``kind`` dataset of ``db`` into the folder ``out``; rows by table."""
    from srkit.extract.dataset import Batch, Dataset, FileOutcome, Item, new_batch_id, run_token
    from srkit.extract.kinds import Job, _specs, tables_of, to_table

    job = Job(kind=kind)
    specs = _specs(job)
    dataset = Dataset(out, kind=kind, columns="srkit", tables=tables_of(job), overwrite=overwrite)
    files = _instances(db)
    counts = dict.fromkeys(specs, 0)
    per_uid: dict[str, int] = {}
    run = run_token()
    n = 0
    for n, page in enumerate(_tables(db, kind)):
        tables = {name: to_table(spec, page.get(name, [])) for name, spec in specs.items()}
        for name, rows in page.items():
            counts[name] += len(rows)
            for row in rows:
                uid = row.get("sop_instance_uid")
                if uid is not None:
                    per_uid[uid] = per_uid.get(uid, 0) + 1
        dataset.commit(Batch(batch_id=new_batch_id(n, run), tables=tables, outcomes=()))
    outcomes = tuple(
        FileOutcome(Item(f["path"], f["size"], f["mtime"]), "ok", per_uid.get(uid, 0))
        for uid, f in sorted(files.items())
        if uid in per_uid or kind == "instances"
    )
    empty = {name: to_table(spec, []) for name, spec in specs.items()}
    dataset.commit(Batch(batch_id=new_batch_id(n + 1, run), tables=empty, outcomes=outcomes))
    dataset.finish()
    return counts
