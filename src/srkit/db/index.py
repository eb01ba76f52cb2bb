"""Write parsed records into the index: one transaction per batch, idempotent by
SOP Instance UID (PS3.4 C.6.1.1: the unique key of the instance level).

A record whose SOP Instance UID is indexed already is *skipped* when its bytes hash
the same, and a *conflict* otherwise (the index keeps the first). Parent rows
(patient, study, series) are created when missing; the first instance's attributes
describe them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from srkit.db import schema as S

__all__ = [
    "ImportReport",
    "chunks",
    "find_instance",
    "insert_one",
    "instance_row",
    "known_files",
    "write_batch",
]

_CHUNK = 500


@dataclass
class ImportReport:
    """What an import did.

    Attributes
    ----------
    imported : int
        Instances newly indexed.
    skipped : int
        Files already indexed with the same content (or unchanged since last import).
    updated : int
        Instances whose file moved: the index now points at the new path.
    rejected : list of (path, reason)
        Files that are not DICOM, broken, or lack the UIDs the index needs.
    conflicts : list of (path, reason)
        Files whose SOP Instance UID is indexed with different content.
    uids : list of str
        SOP Instance UIDs imported.
    """

    imported: int = 0
    skipped: int = 0
    updated: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    conflicts: list[tuple[str, str]] = field(default_factory=list)
    uids: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """Files that were not indexed (rejected or in conflict)."""
        return len(self.rejected) + len(self.conflicts)

    def summary(self) -> str:
        """One line for people."""
        return (
            f"{self.imported} imported, {self.skipped} skipped, {self.updated} updated, "
            f"{len(self.rejected)} rejected, {len(self.conflicts)} conflicts"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping for JSON output."""
        return {
            "imported": self.imported,
            "skipped": self.skipped,
            "updated": self.updated,
            "rejected": [list(r) for r in self.rejected],
            "conflicts": [list(c) for c in self.conflicts],
        }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def instance_row(
    rec: dict[str, Any], series_pk: int, calling_ae: str | None, now: str | None = None
) -> dict[str, Any]:
    """The ``instance`` row of an index record (file facts included)."""
    return {
        **rec["instance"],
        "series_pk": series_pk,
        "path": rec["path"],
        "source_path": rec.get("source_path"),
        "copied": bool(rec.get("copied")),
        "size": rec["size"],
        "mtime_ns": rec.get("mtime_ns"),
        "content_hash": rec["content_hash"],
        "calling_ae": calling_ae,
        "imported_at": now or _now(),
    }


def chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    """``values`` in slices small enough for one ``IN (...)`` clause."""
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _lookup(conn: Connection, column: Any, key: Any, values: Iterable[Any]) -> dict[Any, Any]:
    """``{value: key}`` for rows whose ``column`` is one of ``values``."""
    out: dict[Any, Any] = {}
    unique = sorted(set(values))
    for chunk in chunks(unique):
        for row in conn.execute(select(column, key).where(column.in_(chunk))):
            out[row[0]] = row[1]
    return out


def known_files(conn: Connection, paths: Sequence[str]) -> dict[str, tuple[int, int | None]]:
    """``{source_path: (size, mtime_ns)}`` of indexed files among ``paths``."""
    t = S.instance
    out: dict[str, tuple[int, int | None]] = {}
    for chunk in chunks(paths):
        stmt = select(t.c.source_path, t.c.size, t.c.mtime_ns).where(t.c.source_path.in_(chunk))
        for row in conn.execute(stmt):
            out[row[0]] = (row[1], row[2])
    return out


def _ensure(
    conn: Connection, table: Any, key: str, rows: dict[str, dict[str, Any]]
) -> dict[str, int]:
    """Pks of rows by ``key``; the missing ones are inserted first."""
    pks = _lookup(conn, table.c[key], table.c.pk, rows)
    missing = [row for k, row in rows.items() if k not in pks]
    if missing:
        conn.execute(insert(table), missing)
        pks.update(_lookup(conn, table.c[key], table.c.pk, [r[key] for r in missing]))
    return pks


def _existing(conn: Connection, uids: Iterable[str]) -> dict[str, dict[str, Any]]:
    t = S.instance
    out: dict[str, dict[str, Any]] = {}
    unique = sorted(set(uids))
    for chunk in chunks(unique):
        stmt = select(t.c.sop_instance_uid, t.c.pk, t.c.content_hash, t.c.path, t.c.copied).where(
            t.c.sop_instance_uid.in_(chunk)
        )
        for row in conn.execute(stmt):
            out[row[0]] = dict(row._mapping)
    return out


def _classify(
    conn: Connection, records: Sequence[dict[str, Any]], report: ImportReport
) -> list[dict[str, Any]]:
    """The records to insert; skipped, updated and conflicting ones counted in ``report``."""
    existing = _existing(conn, [r["instance"]["sop_instance_uid"] for r in records])
    fresh: dict[str, dict[str, Any]] = {}
    for rec in records:
        uid = rec["instance"]["sop_instance_uid"]
        old = existing.get(uid) or fresh.get(uid)
        if old is None:
            fresh[uid] = rec
            continue
        old_hash = old.get("content_hash")
        if old_hash != rec["content_hash"]:
            where = old.get("path")
            report.conflicts.append(
                (
                    rec.get("source_path") or rec["path"],
                    f"SOP Instance UID {uid} is indexed with different content ({where})",
                )
            )
        elif (
            "pk" in old
            and not old["copied"]
            and not rec["copied"]
            and old["path"] != rec["path"]
            and not os.path.exists(old["path"])
        ):
            conn.execute(
                update(S.instance)
                .where(S.instance.c.pk == old["pk"])
                .values(path=rec["path"], source_path=rec["path"], mtime_ns=rec.get("mtime_ns"))
            )
            report.updated += 1
        else:
            report.skipped += 1
    return list(fresh.values())


def write_batch(
    conn: Connection,
    records: Sequence[dict[str, Any]],
    report: ImportReport,
    *,
    calling_ae: str | None = None,
) -> list[dict[str, Any]]:
    """Index a batch of parsed records inside the caller's transaction.

    Returns the records inserted (new SOP Instance UIDs).
    """
    new = _classify(conn, records, report)
    if not new:
        return []
    patients = {r["patient"]["patient_key"]: r["patient"] for r in new}
    patient_pks = _ensure(conn, S.patient, "patient_key", patients)
    studies: dict[str, dict[str, Any]] = {}
    for r in new:
        uid = r["study"]["study_instance_uid"]
        studies.setdefault(
            uid, {**r["study"], "patient_pk": patient_pks[r["patient"]["patient_key"]]}
        )
    study_pks = _ensure(conn, S.study, "study_instance_uid", studies)
    series: dict[str, dict[str, Any]] = {}
    for r in new:
        uid = r["series"]["series_instance_uid"]
        series.setdefault(
            uid, {**r["series"], "study_pk": study_pks[r["study"]["study_instance_uid"]]}
        )
    series_pks = _ensure(conn, S.series, "series_instance_uid", series)
    now = _now()
    rows = [
        instance_row(r, series_pks[r["series"]["series_instance_uid"]], calling_ae, now)
        for r in new
    ]
    conn.execute(insert(S.instance), rows)
    pks = _lookup(
        conn, S.instance.c.sop_instance_uid, S.instance.c.pk, [r["sop_instance_uid"] for r in rows]
    )
    _write_sr(conn, [(pks[r["instance"]["sop_instance_uid"]], r["sr"]) for r in new if r.get("sr")])
    report.imported += len(new)
    report.uids.extend(r["instance"]["sop_instance_uid"] for r in new)
    return list(new)


def _write_sr(conn: Connection, items: list[tuple[int, dict[str, Any]]]) -> None:
    """The SR rows of newly inserted instances."""
    if not items:
        return
    docs, meas, qual, dose_rows, dose_events = [], [], [], [], {}
    for pk, sr in items:
        doc = dict(sr["document"])
        if sr.get("notes"):
            diags = json.loads(doc["diagnostics"])
            diags += [
                {"path": "", "severity": "INFO", "message": n, "fixup": None} for n in sr["notes"]
            ]
            doc["diagnostics"] = json.dumps(diags, ensure_ascii=False)
        docs.append({**doc, "instance_pk": pk})
        meas += [{**m, "instance_pk": pk} for m in sr.get("measurements") or []]
        qual += [{**q, "instance_pk": pk} for q in sr.get("qualitative") or []]
        if sr.get("dose"):
            report_row, events = sr["dose"]
            dose_rows.append({**report_row, "instance_pk": pk})
            dose_events[pk] = events
    conn.execute(insert(S.sr_document), docs)
    if meas:
        conn.execute(insert(S.measurement), meas)
    if qual:
        conn.execute(insert(S.qualitative), qual)
    if dose_rows:
        conn.execute(insert(S.dose_report), dose_rows)
        report_pks = _lookup(conn, S.dose_report.c.instance_pk, S.dose_report.c.pk, dose_events)
        events = [
            {**ev, "dose_report_pk": report_pks[pk]}
            for pk, evs in dose_events.items()
            for ev in evs
        ]
        if events:
            conn.execute(insert(S.dose_event), events)


def _one_statements() -> dict[str, Any]:
    """The statements of :func:`find_instance` and :func:`insert_one`, built once (so
    SQLAlchemy's compiled cache serves every store)."""
    from sqlalchemy import bindparam

    i = S.instance
    return {
        "instance": select(i.c.pk, i.c.content_hash, i.c.path).where(
            i.c.sop_instance_uid == bindparam("key")
        ),
        "series": select(S.series.c.pk).where(S.series.c.series_instance_uid == bindparam("key")),
        "study": select(S.study.c.pk).where(S.study.c.study_instance_uid == bindparam("key")),
        "patient": select(S.patient.c.pk).where(S.patient.c.patient_key == bindparam("key")),
    }


_ONE: dict[str, Any] = {}


def _pk(conn: Connection, name: str, key: Any) -> int | None:
    if not _ONE:
        _ONE.update(_one_statements())
    value = conn.execute(_ONE[name], {"key": key}).scalar()
    return None if value is None else int(value)


def find_instance(conn: Connection, uid: str) -> tuple[int, str, str] | None:
    """``(pk, content_hash, path)`` of an indexed SOP Instance UID, or None."""
    if not _ONE:
        _ONE.update(_one_statements())
    row = conn.execute(_ONE["instance"], {"key": uid}).first()
    return None if row is None else (int(row[0]), str(row[1]), str(row[2]))


def _parent(
    conn: Connection, table: Any, name: str, key: str, values: dict[str, Any]
) -> tuple[int, bool]:
    """The pk of the row whose ``key`` column is ``values[key]``, inserted if missing;
    and whether it existed."""
    found = _pk(conn, name, values[key])
    if found is not None:
        return found, True
    key_row: Any = conn.execute(_insert(table), values).inserted_primary_key
    return int(key_row[0]), False


_INSERTS: dict[str, Any] = {}


def _insert(table: Any) -> Any:
    """A cached ``INSERT`` of ``table`` (values given at execution)."""
    stmt = _INSERTS.get(table.name)
    if stmt is None:
        stmt = _INSERTS[table.name] = insert(table)
    return stmt


def insert_one(conn: Connection, rec: dict[str, Any], *, calling_ae: str | None = None) -> int:
    """Insert one new instance (its SOP Instance UID checked absent by the caller with
    :func:`find_instance` in the same transaction) with its parents and SR rows.

    Three statements when the series is indexed already: the series lookup (which
    implies its study and patient), the instance and, for an SR, its rows. Returns
    the instance's pk.
    """
    series_pk = _pk(conn, "series", rec["series"]["series_instance_uid"])
    if series_pk is None:
        patient_pk, _ = _parent(conn, S.patient, "patient", "patient_key", rec["patient"])
        study_pk, _ = _parent(
            conn,
            S.study,
            "study",
            "study_instance_uid",
            {**rec["study"], "patient_pk": patient_pk},
        )
        series_pk, _ = _parent(
            conn,
            S.series,
            "series",
            "series_instance_uid",
            {**rec["series"], "study_pk": study_pk},
        )
    row = instance_row(rec, series_pk, calling_ae)
    key_row: Any = conn.execute(_insert(S.instance), row).inserted_primary_key
    pk = int(key_row[0])
    if rec.get("sr"):
        _write_sr(conn, [(pk, rec["sr"])])
    return pk
