"""The one routine that files an index record inside a write transaction, for every
write path (``srkit import`` batches, C-STORE and STOW-RS through :mod:`srkit.db.store`).

A record (see :mod:`srkit.db.ingest`) is placed under its patient, study and series
by :class:`srkit.db.hierarchy.Placer`, its ``instance`` row inserted, and every
conflict found is written as a ``conflict`` row in the same transaction, so what is
reported is exactly what was filed. A second instance with a known SOP Instance UID
and other bytes is decided by the conflict policy (:data:`srkit.db.hierarchy.POLICIES`).
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from srkit.db.hierarchy import POLICIES, Conflict, Placer, conflict_row
from srkit.db.sql import CursorSql, Sql, lookup
from srkit.errors import SrkitError

__all__ = [
    "StoreOutcome",
    "check_policy",
    "conflict_copy_path",
    "drop_instance",
    "file_instance",
    "instance_row",
    "now",
    "record_conflicts",
    "same_data_set",
    "sop_conflict",
    "write_sr_rows",
    "write_sr_rows_cursor",
]


def now() -> str:
    """The current time as the index stores it (UTC, ISO 8601, to the microsecond)."""
    seconds, micro = divmod(time.time_ns() // 1000, 1_000_000)
    return f"{_second(seconds)}.{micro:06d}Z"


@functools.lru_cache(maxsize=4)
def _second(seconds: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of a POSIX second (once per second, not per store)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def check_policy(policy: str) -> str:
    """``policy`` itself when it is one of :data:`POLICIES`; :class:`SrkitError` else."""
    if policy not in POLICIES:
        raise SrkitError(f"conflict policy must be one of {', '.join(POLICIES)}, not {policy!r}")
    return policy


@dataclass(frozen=True, slots=True)
class StoreOutcome:
    """What storing one instance did.

    Attributes
    ----------
    sop_instance_uid : str
    status : str
        ``stored`` (new), ``duplicate`` (stored already with the same bytes),
        ``refused`` (other bytes, policy keep-first: nothing written),
        ``replaced`` (other bytes, policy keep-last), ``kept-as-conflict`` (other
        bytes, policy keep-both-as-conflict: the bytes are kept beside the index).
    conflicts : tuple of Conflict
        Conflicts found (and recorded), hierarchy ones included.
    path : str or None
        Where the bytes are now (None when refused).
    """

    sop_instance_uid: str
    status: str
    conflicts: tuple[Conflict, ...] = ()
    path: str | None = None
    remove_after: tuple[str, ...] = field(default=(), repr=False)

    @property
    def warning(self) -> str | None:
        """One line on the conflicts of a stored instance, or None without any."""
        if not self.conflicts:
            return None
        return "; ".join(f"{c.kind}: {c.message}" for c in self.conflicts)


def instance_row(
    rec: dict[str, Any], series_pk: int, calling_ae: str | None, when: str | None = None
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
        "imported_at": when or now(),
    }


def record_conflicts(
    sql: Sql,
    rec: dict[str, Any],
    conflicts: list[Conflict] | tuple[Conflict, ...],
    *,
    path: str | None,
    source: str,
    calling_ae: str | None,
    when: str | None = None,
) -> None:
    """Insert the ``conflict`` rows of ``conflicts`` found for ``rec``."""
    stamp = when or now()
    for c in conflicts:
        sql.insert(
            "conflict",
            conflict_row(c, rec, path=path, source=source, calling_ae=calling_ae, now=stamp),
        )


def file_instance(
    sql: Sql,
    placer: Placer,
    rec: dict[str, Any],
    *,
    calling_ae: str | None,
    source: str,
    when: str | None = None,
) -> tuple[int, list[Conflict]]:
    """Place ``rec`` under its patient, study and series, insert its ``instance`` row
    and the conflicts found; returns the instance's pk and the conflicts.

    The caller has checked, in the same transaction, that the SOP Instance UID is not
    indexed; the SR rows are the caller's (they need an SQLAlchemy connection).
    """
    conflicts: list[Conflict] = []
    series_pk = placer.place(rec, conflicts)
    stamp = when or now()
    pk = sql.insert("instance", instance_row(rec, series_pk, calling_ae, stamp))
    record_conflicts(
        sql, rec, conflicts, path=rec["path"], source=source, calling_ae=calling_ae, when=stamp
    )
    return pk, conflicts


_DROP = (
    "DELETE FROM dose_event WHERE dose_report_pk IN "
    "(SELECT pk FROM dose_report WHERE instance_pk = :pk)",
    "DELETE FROM dose_report WHERE instance_pk = :pk",
    "DELETE FROM qualitative WHERE instance_pk = :pk",
    "DELETE FROM measurement WHERE instance_pk = :pk",
    "DELETE FROM sr_document WHERE instance_pk = :pk",
    "DELETE FROM instance WHERE pk = :pk",
)
_PRUNE = (
    "DELETE FROM series WHERE pk = :series AND NOT EXISTS "
    "(SELECT 1 FROM instance WHERE series_pk = :series)",
    "DELETE FROM study WHERE pk = :study AND NOT EXISTS "
    "(SELECT 1 FROM series WHERE study_pk = :study)",
    "DELETE FROM patient WHERE pk = :patient AND NOT EXISTS "
    "(SELECT 1 FROM study WHERE patient_pk = :patient)",
)
_PARENTS = (
    "SELECT se.pk, st.pk, st.patient_pk FROM instance i JOIN series se ON i.series_pk = se.pk "
    "JOIN study st ON se.study_pk = st.pk WHERE i.pk = :pk"
)


def drop_instance(sql: Sql, pk: int) -> None:
    """Delete an instance's rows (SR content included) and the parents it leaves empty."""
    parents = sql.rows(_PARENTS, {"pk": pk})
    for stmt in _DROP:
        sql.execute(stmt, {"pk": pk})
    if parents:
        series, study, patient = parents[0]
        for stmt in _PRUNE:
            sql.execute(stmt, {"series": series, "study": study, "patient": patient})


def conflict_copy_path(storage: Path, rec: dict[str, Any]) -> Path:
    """Where a conflicting copy of received bytes is kept:
    ``<storage>/conflicts/<SOP Instance UID>/<SHA-256 prefix>.dcm``."""
    from srkit.db.storage import check_uid

    uid = check_uid(str(rec["instance"]["sop_instance_uid"] or ""), "SOP Instance UID")
    return storage / "conflicts" / uid / f"{str(rec['content_hash'])[:16]}.dcm"


def _data_set_start(path: Path) -> int | None:
    """Where the data set of a Part 10 file starts (after its File Meta Information)."""
    from srkit.codec.fastparse import FastParseError, split_file_meta

    try:
        with open(path, "rb") as stream:
            head = stream.read(1 << 16)
        return split_file_meta(head)[1]
    except (OSError, FastParseError, ValueError, IndexError):
        return None


SEMANTIC_COMPARE_LIMIT = 64 << 20
"""Files up to this size whose data set bytes differ are compared element by element."""


def _same_bytes(a: Path, b: Path) -> bool:
    starts = (_data_set_start(a), _data_set_start(b))
    if starts[0] is None or starts[1] is None:
        return False
    if os.path.getsize(a) - starts[0] != os.path.getsize(b) - starts[1]:
        return False
    with open(a, "rb") as x, open(b, "rb") as y:
        x.seek(starts[0])
        y.seek(starts[1])
        while True:
            chunk = x.read(1 << 20)
            if chunk != y.read(1 << 20):
                return False
            if not chunk:
                return True


def _same_elements(a: Path, b: Path) -> bool:
    import warnings

    from pydicom import dcmread

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x, y = dcmread(a), dcmread(b)
    return bool(x == y)  # element by element, File Meta Information aside


def same_data_set(a: str | Path, b: str | Path) -> bool:
    """Whether two files hold the same data set, whatever their File Meta
    Information says (its Source Application Entity Title differs with the sender,
    PS3.10 7.1) or how it is encoded (a C-MOVE re-encodes in the negotiated transfer
    syntax): the data set bytes are compared in chunks; when they differ, files up to
    :data:`SEMANTIC_COMPARE_LIMIT` are compared element by element (pydicom). Larger
    files with other bytes count as other content."""
    x, y = Path(a), Path(b)
    try:
        if _same_bytes(x, y):
            return True
        if max(os.path.getsize(x), os.path.getsize(y)) > SEMANTIC_COMPARE_LIMIT:
            return False
        return _same_elements(x, y)
    except Exception:  # unreadable either side: not known to be the same
        return False


def sop_conflict(uid: str, old_path: str | None, policy: str) -> Conflict:
    """The ``instance-content`` conflict of a second instance ``uid`` with other bytes."""
    resolution = {
        "keep-first": "refused",
        "keep-last": "replaced",
        "keep-both-as-conflict": "kept-as-conflict",
    }[policy]
    what = {
        "refused": "the stored copy is kept, this one refused",
        "replaced": "this copy replaces the stored one",
        "kept-as-conflict": "both are kept, the stored one stays indexed",
    }[resolution]
    return Conflict(
        "instance-content",
        f"SOP Instance UID {uid} is stored already with different content ({what})",
        {"stored_path": old_path, "policy": policy},
        resolution,
    )


_SrRows = tuple[
    list[dict[str, Any]],
    list[dict[str, Any]],
    list[dict[str, Any]],
    list[dict[str, Any]],
    dict[int, list[dict[str, Any]]],
]


def _sr_row_sets(items: list[tuple[int, dict[str, Any]]]) -> _SrRows:
    """The rows of ``sr_document``, ``measurement``, ``qualitative`` and ``dose_report``
    of ``items`` (instance pk, SR rows), and the dose events by instance pk."""
    import json

    docs: list[dict[str, Any]] = []
    meas: list[dict[str, Any]] = []
    qual: list[dict[str, Any]] = []
    dose_rows: list[dict[str, Any]] = []
    dose_events: dict[int, list[dict[str, Any]]] = {}
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
    return docs, meas, qual, dose_rows, dose_events


def write_sr_rows(conn: Any, items: list[tuple[int, dict[str, Any]]]) -> None:
    """The SR rows of newly inserted instances (``sr_document``, TID 1500
    measurements, dose reports and events), on an SQLAlchemy connection."""
    from sqlalchemy import insert

    from srkit.db import schema as S

    if not items:
        return
    docs, meas, qual, dose_rows, dose_events = _sr_row_sets(items)
    conn.execute(insert(S.sr_document), docs)
    if meas:
        conn.execute(insert(S.measurement), meas)
    if qual:
        conn.execute(insert(S.qualitative), qual)
    if dose_rows:
        conn.execute(insert(S.dose_report), dose_rows)
        report_pks = lookup(conn, S.dose_report.c.instance_pk, S.dose_report.c.pk, dose_events)
        events = [
            {**ev, "dose_report_pk": report_pks[pk]}
            for pk, evs in dose_events.items()
            for ev in evs
        ]
        if events:
            conn.execute(insert(S.dose_event), events)


def write_sr_rows_cursor(sql: CursorSql, pk: int, sr: dict[str, Any]) -> None:
    """:func:`write_sr_rows` of one instance on an SQLite DBAPI cursor (the store's
    fast path: SQLAlchemy's statement handling cost a dose report more than its
    inserts)."""
    docs, meas, qual, dose_rows, dose_events = _sr_row_sets([(pk, sr)])
    sql.insert_many("sr_document", docs)
    if meas:
        sql.insert_many("measurement", meas)
    if qual:
        sql.insert_many("qualitative", qual)
    for row in dose_rows:
        report_pk = sql.insert("dose_report", row)
        events = [{**ev, "dose_report_pk": report_pk} for ev in dose_events[pk]]
        if events:
            sql.insert_many("dose_event", events)
