"""Import batches: parsed records written into the index in one transaction per
batch, idempotent by
SOP Instance UID (PS3.4 C.6.1.1: the unique key of the instance level).

A record whose SOP Instance UID is indexed already is *skipped* when its bytes hash
the same, and a *conflict* otherwise, decided by the conflict policy
(:data:`srkit.db.hierarchy.POLICIES`; ``keep-first`` by default). Each new record is
filed by :func:`srkit.db.writer.file_instance`, the routine every write path uses:
parents are found or created by :class:`srkit.db.hierarchy.Placer` and conflicts are
recorded in the same transaction.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from srkit.db import schema as S
from srkit.db.hierarchy import Placer
from srkit.db.sql import ConnectionSql, chunks, lock_parents
from srkit.db.writer import (
    conflict_copy_path,
    drop_instance,
    file_instance,
    now,
    record_conflicts,
    same_data_set,
    sop_conflict,
    write_sr_rows,
)
from srkit.errors import SrkitError

__all__ = [
    "ImportReport",
    "chunks",
    "known_files",
    "write_batch",
]


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
        Files not indexed because their SOP Instance UID is indexed with different
        content (policy ``keep-first``).
    warnings : list of (path, reason)
        Files indexed (or kept) with a conflict recorded: patient attributes that
        differ, UIDs filed under another patient or study, a replaced or kept copy.
    uids : list of str
        SOP Instance UIDs imported.
    """

    imported: int = 0
    skipped: int = 0
    updated: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    conflicts: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    uids: list[str] = field(default_factory=list)
    after_commit: list[str] = field(default_factory=list, repr=False)
    """Files to delete once the batch's transaction committed (replaced copies)."""
    after_commit_moves: list[tuple[str, str]] = field(default_factory=list, repr=False)
    """(temporary, target) renames once the batch committed (keep-last copies)."""

    @property
    def failed(self) -> int:
        """Files that were not indexed (rejected or in conflict)."""
        return len(self.rejected) + len(self.conflicts)

    def summary(self) -> str:
        """One line for people."""
        text = (
            f"{self.imported} imported, {self.skipped} skipped, {self.updated} updated, "
            f"{len(self.rejected)} rejected, {len(self.conflicts)} conflicts"
        )
        if self.warnings:
            text += f", {len(self.warnings)} filed with a conflict (srkit ls conflicts)"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping for JSON output."""
        return {
            "imported": self.imported,
            "skipped": self.skipped,
            "updated": self.updated,
            "rejected": [list(r) for r in self.rejected],
            "conflicts": [list(c) for c in self.conflicts],
            "warnings": [list(w) for w in self.warnings],
        }


def known_files(conn: Connection, paths: Sequence[str]) -> dict[str, tuple[int, int | None]]:
    """``{source_path: (size, mtime_ns)}`` of indexed files among ``paths``."""
    t = S.instance
    out: dict[str, tuple[int, int | None]] = {}
    for chunk in chunks(paths):
        stmt = select(t.c.source_path, t.c.size, t.c.mtime_ns).where(t.c.source_path.in_(chunk))
        for row in conn.execute(stmt):
            out[row[0]] = (row[1], row[2])
    return out


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


def _where(rec: dict[str, Any]) -> str:
    return str(rec.get("source_path") or rec["path"])


def _classify(
    conn: Connection,
    records: Sequence[dict[str, Any]],
    report: ImportReport,
    policy: str,
    calling_ae: str | None,
) -> list[dict[str, Any]]:
    """The records to insert; skipped, updated and conflicting ones counted in
    ``report`` (conflicts recorded as the policy says)."""
    sql = ConnectionSql(conn)
    existing = _existing(conn, [r["instance"]["sop_instance_uid"] for r in records])
    fresh: dict[str, dict[str, Any]] = {}
    for rec in records:
        uid = rec["instance"]["sop_instance_uid"]
        old = existing.get(uid) or fresh.get(uid)
        if old is None:
            fresh[uid] = rec
            continue
        old_hash = old.get("content_hash")
        if old_hash != rec["content_hash"] and not same_data_set(old["path"], _where(rec)):
            _conflicting(sql, rec, old, fresh, report, policy, calling_ae)
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


def _conflicting(
    sql: ConnectionSql,
    rec: dict[str, Any],
    old: dict[str, Any],
    fresh: dict[str, dict[str, Any]],
    report: ImportReport,
    policy: str,
    calling_ae: str | None,
) -> None:
    """A record whose SOP Instance UID is indexed (or earlier in the batch) with other
    bytes: refused, kept beside the index, or replacing the indexed one."""
    uid = rec["instance"]["sop_instance_uid"]
    where = old.get("path")
    conflict = sop_conflict(uid, where, policy)
    created = rec.get("copy_state") == "created"  # a copy this import made for it
    if policy == "keep-first":
        report.conflicts.append(
            (_where(rec), f"SOP Instance UID {uid} is indexed with different content ({where})")
        )
        record_conflicts(sql, rec, [conflict], path=None, source="import", calling_ae=calling_ae)
        if created:
            report.after_commit.append(str(rec["path"]))
        return
    if policy == "keep-both-as-conflict":
        # the user's file stays where it is; a copy this import made moves beside the index
        keep = _where(rec)
        if created:
            target = conflict_copy_path(Path(rec["path"]).parents[2], rec)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(rec["path"], target)
            keep = str(target)
        record_conflicts(sql, rec, [conflict], path=keep, source="import", calling_ae=calling_ae)
        report.warnings.append((_where(rec), conflict.message))
        return
    # keep-last: the indexed instance goes (a copy of srkit's own is deleted after the
    # commit, unless the new record's copy is that very file: then it gets the new bytes)
    if "pk" in old:
        drop_instance(sql, int(old["pk"]))
        if old.get("copied") and old.get("path") != rec["path"]:
            report.after_commit.append(str(old["path"]))
    if rec.get("copied") and rec.get("copy_state") == "exists" and rec.get("source_path"):
        # the stored copy gets the new bytes once the batch has committed (a rolled
        # back batch leaves the stored file as the index has it)
        report.after_commit_moves.append(_stage_beside(Path(rec["path"]), Path(rec["source_path"])))
    rec["pending_conflicts"] = [conflict]  # (a retried batch classifies it again)
    fresh[uid] = rec
    report.warnings.append((_where(rec), conflict.message))


def _stage_beside(target: Path, source: Path) -> tuple[str, str]:
    """A copy of ``source`` beside ``target`` under a temporary name: (temporary, target)."""
    import shutil

    tmp = target.with_name(f".{target.name}.{os.getpid()}.replacing")
    try:
        shutil.copyfile(source, tmp)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise SrkitError(
            f"cannot replace the stored copy: {exc.strerror}", source=str(source)
        ) from None
    return str(tmp), str(target)


def write_batch(
    conn: Connection,
    records: Sequence[dict[str, Any]],
    report: ImportReport,
    *,
    calling_ae: str | None = None,
    policy: str = "keep-first",
) -> list[dict[str, Any]]:
    """Index a batch of parsed records inside the caller's transaction.

    Returns the records inserted (new SOP Instance UIDs).
    """
    lock_parents(conn, records)  # PostgreSQL: serialise writers of the same studies
    new = _classify(conn, records, report, policy, calling_ae)
    if not new:
        return []
    sql = ConnectionSql(conn)
    placer = Placer(sql)
    placer.prefetch(new)
    stamp = now()
    inserted: list[tuple[int, dict[str, Any]]] = []
    for rec in new:
        pk, conflicts = file_instance(
            sql, placer, rec, calling_ae=calling_ae, source="import", when=stamp
        )
        pending = rec.pop("pending_conflicts", None)
        if pending:
            record_conflicts(
                sql, rec, pending, path=rec["path"], source="import", calling_ae=calling_ae
            )
        for c in conflicts:
            report.warnings.append((_where(rec), f"{c.kind}: {c.message}"))
        inserted.append((pk, rec))
    write_sr_rows(conn, [(pk, r["sr"]) for pk, r in inserted if r.get("sr")])
    report.imported += len(new)
    report.uids.extend(r["instance"]["sop_instance_uid"] for r in new)
    return list(new)
