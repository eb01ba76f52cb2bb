"""Storing one received instance (C-STORE, STOW-RS): its file in the storage layout
and its index rows, in one write transaction, acknowledged only after the commit.

The SOP Instance UID is looked up, the file written atomically and the rows inserted
inside one transaction, so two stores of one UID (threads or processes) cannot both
write: SQLite's ``BEGIN IMMEDIATE`` serialises writers, PostgreSQL takes a
transaction-level advisory lock on the UID. A failure removes the file it wrote.

SQLite keeps one connection open for stores and runs the hot statements (the UID
lookup, the series lookup, the instance insert) on the DBAPI cursor: SQLAlchemy's
per-statement overhead was most of the cost of indexing an image. SQLite runs in WAL
mode with ``synchronous = NORMAL`` (see :mod:`srkit.db.engine`): a commit is durable
against a crash of srkit but may be lost on power failure, and files are not
fsynced, as with Orthanc's defaults and DCMTK ``storescp`` (which writes each file
and answers, without ``fsync``). A file reaches the layout only by a rename of its
complete staged file, so a killed server leaves no partial file there.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srkit.db import engine as E
from srkit.db.hierarchy import Conflict, Placer
from srkit.db.sql import ConnectionSql, CursorSql, Sql, lock_parents
from srkit.db.staging import StagedFile
from srkit.db.storage import remove_file
from srkit.db.writer import (
    StoreOutcome,
    conflict_copy_path,
    drop_instance,
    file_instance,
    record_conflicts,
    same_data_set,
    sop_conflict,
    write_sr_rows,
    write_sr_rows_cursor,
)
from srkit.errors import SrkitError

__all__ = ["DuplicateInstanceError", "Pending", "Store"]


class DuplicateInstanceError(SrkitError):
    """A SOP Instance UID is stored already with different content (policy keep-first:
    the new bytes were refused; the conflict is recorded).

    Attributes
    ----------
    outcome : StoreOutcome or None
        What the store did (status ``refused``).
    """

    def __init__(self, message: str, *, outcome: StoreOutcome | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome


class _Retry(Exception):
    """A store lost a race for a parent row; run its transaction again."""


_LOOKUP = {
    "instance": "SELECT pk, content_hash, path, copied FROM instance WHERE sop_instance_uid = ?",
}


class Store:
    """The write side of :meth:`Database.store_record` (one per database object).

    Parameters
    ----------
    writer : Engine
        The writer engine (``BEGIN IMMEDIATE`` on SQLite).
    storage : Path
        The storage folder.
    """

    def __init__(self, writer: Any, storage: Path) -> None:
        self._writer = writer
        self._storage = storage
        self._sqlite = writer.dialect.name == "sqlite"
        self.batches = self._sqlite
        """Whether :meth:`store_many` can store several files in one transaction."""
        self._lock = threading.Lock()
        self._conn: Any = None
        self._lock_file: int | None = None

    def _writer_lock(self) -> contextlib.AbstractContextManager[None]:
        """Between processes storing into one SQLite file (``srkit listen --workers``):
        an ``flock`` on ``<database>.store-lock``, taken before ``BEGIN IMMEDIATE``.

        SQLite serialises writers itself, but a writer that finds the database locked
        sleeps in its busy handler (1 ms, then 2, 5, 10 ms...) even when the lock is
        released a few microseconds later; waiting on the kernel's lock wakes it at
        once. Other writers (``srkit import``) do not take this lock and still rely on
        SQLite's. A database without a file (``:memory:``) needs none.
        """
        if not self._sqlite or not _HAS_FLOCK:
            return contextlib.nullcontext()
        if self._lock_file is None:
            database = self._writer.url.database
            if not database or database == ":memory:":
                return contextlib.nullcontext()
            self._lock_file = os.open(f"{database}.store-lock", os.O_RDWR | os.O_CREAT, 0o600)
        return _flocked(self._lock_file)

    def close(self) -> None:
        """Return the store connection to the pool."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._lock_file is not None:
                os.close(self._lock_file)
                self._lock_file = None

    def store(
        self,
        rec: dict[str, Any],
        target: Path,
        data: bytes | StagedFile,
        calling_ae: str | None,
        *,
        policy: str = "keep-first",
        source: str = "store",
        link: bool = False,
    ) -> StoreOutcome:
        """Move ``data`` (a staged file, or bytes staged first) to ``target`` and index
        ``rec`` (see the module docstring). With ``link``, a staged file keeps its name
        until the commit: it is linked into place inside the transaction and its own
        name removed after it (the deferred index's inbox name, which must not go
        before the instance's rows are there, :mod:`srkit.db.inbox`).

        The bytes are in a staged file (:mod:`srkit.db.staging`) before the
        transaction (other stores go on meanwhile); inside it the file is renamed into
        place only if the UID is new (or the conflict policy says so), so the write
        lock is held for the lookup, the rename and the inserts. A staged file passed
        in is closed (renamed) or discarded when the call returns.

        Raises
        ------
        SrkitError
            Writing or indexing failed (nothing stays behind).
        """
        uid = str(rec["instance"]["sop_instance_uid"])
        staged = (
            data
            if isinstance(data, StagedFile)
            else StagedFile.from_bytes(self._storage, data, sha256=rec.get("content_hash"))
        )
        made: list[Path] = []
        placed = False
        try:
            staged.finish()
            with self._lock, self._writer_lock():
                made = _make_folders(os.path.dirname(target), self._storage)
                try:
                    outcome = self._store_staged(
                        rec, target, staged.path, calling_ae, uid, policy, source, link
                    )
                    placed = link and outcome.status in _PLACED
                finally:
                    if made and not os.path.lexists(target):  # refused, kept aside
                        _remove_folders(made)
        finally:
            _release(staged, placed)
        self._remove_replaced(outcome)
        return outcome

    def store_many(self, items: Sequence[Pending]) -> list[StoreOutcome] | None:
        """Store several staged files in one SQLite transaction, in their order: the
        deferred index's files pending together (one commit instead of one per file,
        about a fifth of the indexer's CPU for a CT image). Each is linked into place
        inside the transaction and keeps its own name until the commit (``link`` of
        :meth:`store`); the staged files are closed (or discarded, when not filed) on
        return.

        None when the database is not SQLite or the transaction failed (a race with
        another writer, a record the database refuses, a file system error): then
        nothing is changed (rows rolled back, links and folders removed, the staged
        files untouched and still held) and the caller stores each file alone, with
        :meth:`store`'s retries and errors."""
        if not self.batches or not items:
            return None
        made: list[list[Path]] = []
        try:
            with self._lock, self._writer_lock():
                outcomes = self._store_jobs(items, made)
        finally:
            for item, folders in zip(reversed(items[: len(made)]), reversed(made), strict=True):
                if folders and not os.path.lexists(item.target):  # refused, or undone
                    _remove_folders(folders)
        if outcomes is None:
            return None
        for item, outcome in zip(items, outcomes, strict=True):
            _release(item.staged, outcome.status in _PLACED)
            self._remove_replaced(outcome)
        return outcomes

    def _store_jobs(
        self, items: Sequence[Pending], made: list[list[Path]]
    ) -> list[StoreOutcome] | None:
        """:meth:`store_many` under the writer's locks (``made`` gets the folders each
        item's target needed); None when it failed and was undone."""
        jobs: list[_Job] = []
        try:
            for item in items:
                item.staged.finish()
                made.append(_make_folders(os.path.dirname(item.target), self._storage))
                jobs.append(
                    _Job(
                        item.rec,
                        item.target,
                        item.staged.path,
                        item.calling_ae,
                        item.policy,
                        item.source,
                        self._storage,
                        _Moves(),
                        link=True,
                    )
                )
            return self._sqlite_many(jobs)
        except Exception:
            for job in reversed(jobs):
                job.moves.undo()
            self._drop_connection()
            return None

    def _remove_replaced(self, outcome: StoreOutcome) -> None:
        for path in outcome.remove_after:  # a replaced copy, once the commit is done
            remove_file(Path(path), self._storage)

    def _store_staged(
        self,
        rec: dict[str, Any],
        target: Path,
        staged: Path,
        calling_ae: str | None,
        uid: str,
        policy: str,
        source: str,
        link: bool,
    ) -> StoreOutcome:
        for attempt in range(1, ATTEMPTS + 1):
            moves = _Moves()
            job = _Job(
                rec, target, staged, calling_ae, policy, source, self._storage, moves, link=link
            )
            try:
                if not self._sqlite:
                    return self._core_once(job)
                return self._sqlite_once(job)
            except BaseException as exc:
                moves.undo()  # files back where they were, for a retry
                if self._sqlite and not isinstance(exc, SrkitError):
                    self._drop_connection()
                if _is_retryable(exc) and attempt < ATTEMPTS:
                    continue  # a concurrent writer inserted a parent row first
                if isinstance(exc, SrkitError):
                    raise
                if isinstance(exc, Exception):
                    raise SrkitError(f"cannot index {uid}: {E._short(exc)}") from None
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    def is_stored(self, uid: str) -> bool:
        """Whether an instance of SOP Instance UID ``uid`` is indexed (committed)."""
        if not self._sqlite:
            from sqlalchemy import text

            with self._writer.connect() as conn:
                found = conn.execute(
                    text("SELECT 1 FROM instance WHERE sop_instance_uid = :u"), {"u": uid}
                )
                return found.first() is not None
        with self._lock:
            dbapi = self._connection().connection.dbapi_connection
            cur = dbapi.cursor()
            try:
                return cur.execute(_LOOKUP["instance"], (uid,)).fetchone() is not None
            finally:
                cur.close()

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = self._writer.connect()
        return self._conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
                conn.close()
            except Exception:  # pragma: no cover - closing a broken connection
                pass

    def _sqlite_once(self, job: _Job) -> StoreOutcome:
        """One instance (and its SR rows) in a transaction run on the DBAPI connection
        (SQLAlchemy's transaction and statement bookkeeping cost as much as the
        inserts)."""
        return self._sqlite_many([job])[0]

    def _sqlite_many(self, jobs: Sequence[_Job]) -> list[StoreOutcome]:
        """Instances (and their SR rows) in one transaction, in order."""
        dbapi = self._connection().connection.dbapi_connection
        cur = dbapi.cursor()
        outcomes: list[StoreOutcome] = []
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                sql = CursorSql(cur)
                for job in jobs:
                    outcome, pk = _file_new(sql, job, _sqlite_lookup(cur, job))
                    if pk is not None and job.rec.get("sr"):
                        write_sr_rows_cursor(sql, pk, job.rec["sr"])
                    outcomes.append(outcome)
                cur.execute("COMMIT")
            except BaseException:
                if dbapi.in_transaction:
                    cur.execute("ROLLBACK")
                raise
        finally:
            cur.close()
        return outcomes

    def _core_once(self, job: _Job) -> StoreOutcome:
        from sqlalchemy import text

        uid = str(job.rec["instance"]["sop_instance_uid"])
        with self._writer.begin() as conn:
            # study, series, then instance: every writer takes them in this order
            # (batch.lock_parents too), so that two writers of one study are serialised
            # (PostgreSQL has no table lock like SQLite's BEGIN IMMEDIATE) and a clash
            # found by one is seen by the other
            lock_parents(conn, [job.rec])
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:u))"), {"u": uid})
            sql = ConnectionSql(conn)
            found = sql.rows(
                "SELECT pk, content_hash, path, copied FROM instance WHERE sop_instance_uid = :uid",
                {"uid": uid},
            )
            outcome, pk = _file_new(sql, job, found[0] if found else None)
            if pk is not None and job.rec.get("sr"):
                write_sr_rows(conn, [(pk, job.rec["sr"])])
        return outcome


class _Moves:
    """File renames (and links) done inside a transaction, undone (in reverse) if it
    fails."""

    def __init__(self) -> None:
        self.done: list[tuple[Path, Path, bool]] = []

    def move(self, src: Path, dst: Path, *, link: bool = False) -> None:
        """Rename ``src`` to ``dst`` (replacing it), or with ``link`` give the file at
        ``src`` the name ``dst`` too."""
        place = _link_over if link else os.replace
        try:
            place(src, dst)
        except FileNotFoundError:  # the target's folder first (the source is checked again)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            place(src, dst)
        self.done.append((src, dst, link))

    def undo(self) -> None:
        for src, dst, link in reversed(self.done):
            with contextlib.suppress(OSError):
                if link:
                    os.unlink(dst)
                else:
                    os.replace(dst, src)
        self.done.clear()


def _link_over(src: Path, dst: Path) -> None:
    """Give the file at ``src`` the name ``dst`` too, replacing a file there (as a
    rename would: a file left at a new instance's place by a crash)."""
    try:
        os.link(src, dst)
    except FileExistsError:
        spare = dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.link")
        os.link(src, spare)
        os.replace(spare, dst)


_PLACED = frozenset({"stored", "replaced", "kept-as-conflict"})
"""The outcomes that filed the staged file (moved or linked it into the storage)."""


def _release(staged: StagedFile, placed: bool) -> None:
    """Release a staged file after its store: ``placed`` (linked into the storage)
    drops its own name, one not filed is discarded, one renamed is closed."""
    if placed:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged.path)
        staged.close()
    elif os.path.lexists(staged.path):
        staged.discard()
    else:
        staged.close()


@dataclass(frozen=True, slots=True)
class Pending:
    """One staged file for :meth:`Store.store_many`: its index record (with the
    storage columns set), its place in the layout, who sent it, the conflict policy
    and the source kept with conflicts."""

    rec: dict[str, Any]
    target: Path
    staged: StagedFile
    calling_ae: str | None
    policy: str
    source: str


class _Job:
    """One store's inputs inside its transaction."""

    __slots__ = (
        "calling_ae",
        "link",
        "moves",
        "policy",
        "rec",
        "source",
        "staged",
        "storage",
        "target",
    )

    def __init__(
        self,
        rec: dict[str, Any],
        target: Path,
        staged: Path,
        calling_ae: str | None,
        policy: str,
        source: str,
        storage: Path,
        moves: _Moves,
        *,
        link: bool = False,
    ) -> None:
        self.rec, self.target, self.staged = rec, target, staged
        self.calling_ae, self.policy, self.source = calling_ae, policy, source
        self.storage, self.moves, self.link = storage, moves, link


try:
    import fcntl

    _HAS_FLOCK = True
except ImportError:  # pragma: no cover - not on POSIX
    _HAS_FLOCK = False


@contextlib.contextmanager
def _flocked(fd: int) -> Iterator[None]:
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _make_folders(folder: str | Path, root: Path) -> list[Path]:
    """Create ``folder`` (the series folder of a target) and its parents inside
    ``root``; returns those created, deepest first."""
    if os.path.isdir(folder):  # the series has instances already
        return []
    made: list[Path] = []
    current = Path(folder)
    while current != root and not current.is_dir() and current.parent != current:
        made.append(current)
        current = current.parent
    os.makedirs(folder, exist_ok=True)
    return made


def _remove_folders(made: list[Path]) -> None:
    """Remove the folders a failed store created, when they are still empty."""
    for folder in made:
        try:
            folder.rmdir()
        except OSError:
            break


def _sqlite_lookup(cur: Any, job: _Job) -> tuple[Any, ...] | None:
    """The stored instance of the job's SOP Instance UID (pk, hash, path, copied)."""
    found = cur.execute(_LOOKUP["instance"], (job.rec["instance"]["sop_instance_uid"],))
    row = found.fetchone()
    return None if row is None else tuple(row)


def _file_new(sql: Sql, job: _Job, old: tuple[Any, ...] | None) -> tuple[StoreOutcome, int | None]:
    """Inside the write transaction: file the staged instance unless its SOP Instance
    UID is stored (``old``: pk, content hash, path, copied); a stored one with the
    same bytes is a duplicate, with other bytes the policy decides. Returns the outcome
    and the new instance's pk (None when no instance row was written)."""
    rec = job.rec
    uid = str(rec["instance"]["sop_instance_uid"])
    path = str(job.target)
    remove_after: tuple[str, ...] = ()
    conflicts: list[Conflict] = []
    if old is not None:
        old_pk, old_hash, old_path, old_copied = old[0], old[1], old[2], bool(old[3])
        if old_hash == rec["content_hash"] or same_data_set(old_path, job.staged):
            return StoreOutcome(uid, "duplicate", path=str(old_path)), None
        conflict = sop_conflict(uid, str(old_path), job.policy)
        if job.policy == "keep-first":
            record_conflicts(
                sql, rec, [conflict], path=None, source=job.source, calling_ae=job.calling_ae
            )
            return StoreOutcome(uid, "refused", (conflict,)), None
        if job.policy == "keep-both-as-conflict":
            keep = conflict_copy_path(job.storage, rec)
            job.moves.move(job.staged, keep, link=job.link)
            record_conflicts(
                sql, rec, [conflict], path=str(keep), source=job.source, calling_ae=job.calling_ae
            )
            return StoreOutcome(uid, "kept-as-conflict", (conflict,), str(keep)), None
        # keep-last: the stored instance goes; a copy of srkit's own is deleted after
        # the commit (set aside first when the new file takes its name)
        drop_instance(sql, int(old_pk))
        if old_copied and str(old_path) == path and os.path.exists(old_path):
            aside = job.target.with_name(f".{job.target.name}.{secrets.token_hex(4)}.replaced")
            job.moves.move(job.target, aside)
            remove_after = (str(aside),)
        elif old_copied:
            remove_after = (str(old_path),)
        conflicts.append(conflict)
    job.moves.move(job.staged, job.target, link=job.link)
    pk, found = file_instance(sql, Placer(sql), rec, calling_ae=job.calling_ae, source=job.source)
    if conflicts:
        record_conflicts(
            sql, rec, conflicts, path=path, source=job.source, calling_ae=job.calling_ae
        )
    status = "replaced" if conflicts else "stored"
    return StoreOutcome(uid, status, (*conflicts, *found), path, remove_after), pk


ATTEMPTS = 4
"""Tries of a store's transaction (a lost race for a parent row, or a deadlock, is
retried)."""


def _is_retryable(exc: BaseException) -> bool:
    """A unique constraint lost to a concurrent writer, or a deadlock the database
    broke (PostgreSQL's 40P01)."""
    if _is_integrity(exc):
        return True
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return code in ("40P01", "40001")


def _is_integrity(exc: BaseException) -> bool:
    from sqlalchemy.exc import IntegrityError

    return isinstance(exc, IntegrityError) or type(exc).__name__ == "IntegrityError"
