"""The checks of :meth:`srkit.db.database.Database.check_integrity` beyond the
database engine's own: the hierarchy (:func:`hierarchy_problems`) and the storage
folder against the index (:func:`storage_problems`).

The hierarchy: parents without children (no write path may leave one), a Study or
Series Instance UID filed under several parents, and the conflicts recorded
(:mod:`srkit.db.hierarchy`), counted by kind.

The storage folder, three kinds of problem, each one line naming the file (and what a
repair did):

- a staged file (:mod:`srkit.db.staging`) that no live process holds: a transfer
  whose process died (SIGKILL, power loss). Repair removes it (once it has been left
  untouched for :data:`REPAIR_MIN_AGE` seconds).
- an orphan: a file in the storage layout (``<study>/<series>/<sop>.dcm``, PS3.10
  Section 7 file) that no instance row references, e.g. an instance acknowledged
  before its index row was lost, or a copy of a killed ``import --copy``. Repair
  indexes it when it parses, sits under the name its UIDs give and its SOP Instance
  UID is not indexed; otherwise it is moved aside to ``<storage>/.lost/``, never
  deleted.
- an instance row whose copy in the storage folder is missing. Repair removes the
  row (the index no longer promises what cannot be retrieved).

And the deferred index's leftovers (:mod:`srkit.db.inbox`): files acknowledged but not
indexed (repair indexes them) and files its indexer set aside (reported, kept).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srkit.db.staging import PART_SUFFIX, _remove_if_stale, staged_leftovers

if TYPE_CHECKING:
    from srkit.db.database import Database

__all__ = ["LOST_DIR", "REPAIR_MIN_AGE", "hierarchy_problems", "storage_problems"]

CONFLICTS_DIR = "conflicts"
"""Where conflicting copies are kept (:func:`srkit.db.writer.conflict_copy_path`)."""
ORPHAN_MIN_AGE = 60.0
"""Seconds a file in the layout must be untouched before it may be judged an orphan:
a store renames its file into place inside its transaction, before the commit."""
LOST_DIR = ".lost"
"""Where a repair moves files it cannot index, inside the storage folder."""
REPAIR_MIN_AGE = 2.0
"""Seconds an unheld staged file must have been untouched before a repair removes it
(covers the instant between a staged file's creation and its lock)."""


def storage_problems(db: Database, *, repair: bool = False) -> list[str]:
    """The storage folder's problems (module docstring), one line each; with
    ``repair``, each line also says what was done about it."""
    root = Path(db.storage)
    if not root.is_dir():
        return []
    problems: list[str] = []
    now = time.time()
    for leftover in staged_leftovers(root):
        line = f"{leftover}: staged file left by a process that has gone"
        if repair:
            done = _remove_if_stale(str(leftover), REPAIR_MIN_AGE, now)
            line += " (removed)" if done else " (kept: too recent)"
        problems.append(line)
    problems += _inbox_problems(db, root, now, repair=repair)
    indexed = _indexed_copies(db)
    on_disk: set[str] = set()
    for path in _layout_files(root):
        on_disk.add(path)
        if path in indexed or _young(path, now) or _indexed_now(db, path):
            # a file younger than ORPHAN_MIN_AGE may be a store between its rename
            # into place and its commit (srkit.db.store): never judged while the
            # archive is live; one indexed since the list was read is no orphan
            continue
        line = f"{path}: file in the storage folder that no instance references"
        problems.append(line + (f" ({_adopt(db, root, path)})" if repair else ""))
    for path, uid in sorted(indexed.items()):
        if path not in on_disk and _inside(path, root) and not os.path.exists(path):
            line = f"{path}: stored file of instance {uid} is missing"
            if repair:
                db.remove("IMAGE", uid)
                line += " (removed from the index)"
            problems.append(line)
    return problems


def _inbox_problems(db: Database, root: Path, now: float, *, repair: bool) -> list[str]:
    """The deferred index's leftovers (:mod:`srkit.db.inbox`): acknowledged files not
    indexed yet (older than :data:`ORPHAN_MIN_AGE`: no indexer is running; repair
    indexes them), and the files its indexer set aside (kept, with their reason)."""
    from srkit.db.inbox import Inbox

    inbox = Inbox(root)
    problems = []
    for path in inbox.pending():
        if _young(str(path), now):
            continue
        line = f"{path}: acknowledged by a deferred listener, not indexed yet"
        if repair:
            result = inbox.index_file(db, path)
            line += f" ({result.status if result is not None else 'held: left'})"
        problems.append(line)
    for path in inbox.rejected_files():
        try:
            reason = path.with_suffix(".txt").read_text(encoding="utf-8").strip()
        except OSError:
            reason = "reason not recorded"
        problems.append(f"{path}: set aside by the deferred index: {reason} (kept)")
    return problems


def _young(path: str, now: float) -> bool:
    try:
        return now - os.stat(path).st_mtime < ORPHAN_MIN_AGE
    except OSError:
        return True  # gone meanwhile: nothing to judge


def _indexed_now(db: Database, path: str) -> bool:
    """Whether an instance row names ``path`` now (a store committed meanwhile)."""
    from sqlalchemy import select

    from srkit.db import schema as S

    stmt = select(S.instance.c.pk).where(S.instance.c.path == path).limit(1)
    with db._reader.connect() as conn:
        return conn.execute(stmt).first() is not None


def _inside(path: str, root: Path) -> bool:
    return path.startswith(os.path.abspath(root) + os.sep)


def _indexed_copies(db: Database) -> dict[str, str]:
    """Absolute path -> SOP Instance UID of the instances copied into storage."""
    from sqlalchemy import select

    from srkit.db import schema as S

    i = S.instance
    stmt = select(i.c.path, i.c.sop_instance_uid).where(i.c.copied.is_(True))
    with db._reader.connect() as conn:
        return {os.path.abspath(p): str(uid) for p, uid in conn.execute(stmt)}


def _layout_files(root: Path) -> list[str]:
    """The files of the storage layout (``.staging``, ``.lost``, the conflicting
    copies kept in ``conflicts/`` (referenced by conflict rows, not instances) and
    staged ``.part`` files left out)."""
    found: list[str] = []
    top = os.path.abspath(root)
    for dirpath, dirs, files in os.walk(top):
        if dirpath == top:
            dirs[:] = [d for d in dirs if not d.startswith(".") and d != CONFLICTS_DIR]
        for name in files:
            if name.startswith(".") and name.endswith(PART_SUFFIX):
                continue
            found.append(os.path.join(dirpath, name))
    return sorted(found)


def _adopt(db: Database, root: Path, path: str) -> str:
    """Index an orphan file in place, else move it aside; says which."""
    from srkit.db.batch import ImportReport
    from srkit.db.ingest import parse_staged
    from srkit.db.storage import storage_path
    from srkit.errors import SrkitError

    reason = "not DICOM"
    try:
        _ds, rec = parse_staged(path, name=path)
        expected = storage_path(
            root,
            str(rec["study"]["study_instance_uid"]),
            str(rec["series"]["series_instance_uid"]),
            str(rec["instance"]["sop_instance_uid"]),
        )
        if os.path.abspath(expected) != path:
            reason = "not under the name its UIDs give"
        elif db.instance_path(str(rec["instance"]["sop_instance_uid"])) is not None:
            reason = "its SOP Instance UID is indexed with another file"
        else:
            rec.update(path=path, source_path=None, copied=True, mtime_ns=None)
            report = ImportReport()
            db._write_records([rec], report)
            if report.imported == 1:
                return "indexed"
            reason = "the index refused it"
    except SrkitError as exc:
        reason = exc.message
    except OSError as exc:
        reason = exc.strerror or str(exc)
    return _move_aside(root, path, reason)


def _move_aside(root: Path, path: str, reason: str) -> str:
    lost = Path(root) / LOST_DIR / os.path.relpath(path, os.path.abspath(root))
    try:
        lost.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, lost)
    except OSError as exc:
        return f"{reason}; cannot move it aside: {exc.strerror}"
    return f"{reason}: moved to {lost}"


def hierarchy_problems(conn: Any) -> list[str]:
    """Empty parents (a write path must never leave them), one UID filed under
    several parents, and the conflicts recorded (by kind)."""
    from sqlalchemy import text

    problems: list[str] = []
    for table, child, fk in (
        ("patient", "study", "patient_pk"),
        ("study", "series", "study_pk"),
        ("series", "instance", "series_pk"),
    ):
        n = conn.execute(
            text(
                f"SELECT count(*) FROM {table} t WHERE NOT EXISTS "
                f"(SELECT 1 FROM {child} c WHERE c.{fk} = t.pk)"
            )
        ).scalar_one()
        if n:
            problems.append(f"{n} {table} rows without any {child}")
    for table, column, parent in (
        ("study", "study_instance_uid", "patient"),
        ("series", "series_instance_uid", "study"),
    ):
        n = conn.execute(
            text(
                f"SELECT count(*) FROM (SELECT {column} FROM {table} GROUP BY {column} "
                "HAVING count(*) > 1) d"
            )
        ).scalar_one()
        if n:
            problems.append(
                f"{n} {column.replace('_', ' ')}s filed under more than one {parent} "
                "(conflicts: srkit ls conflicts)"
            )
    for kind, n in conn.execute(
        text("SELECT kind, count(*) FROM conflict GROUP BY kind ORDER BY kind")
    ):
        problems.append(f"{n} conflicts of kind {kind} recorded (srkit ls conflicts)")
    return problems
