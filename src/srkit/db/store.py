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
fsynced, as with Orthanc's defaults.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from srkit.db import engine as E
from srkit.db.index import _write_sr, find_instance, insert_one, instance_row
from srkit.db.staging import StagedFile
from srkit.errors import SrkitError

__all__ = ["DuplicateInstanceError", "Store"]


class DuplicateInstanceError(SrkitError):
    """A SOP Instance UID is stored already with different content."""


class _Retry(Exception):
    """A store lost a race for a parent row; run its transaction again."""


_LOOKUP = {
    "instance": "SELECT pk, content_hash FROM instance WHERE sop_instance_uid = ?",
    "series": "SELECT pk FROM series WHERE series_instance_uid = ?",
    "study": "SELECT pk FROM study WHERE study_instance_uid = ?",
    "patient": "SELECT pk FROM patient WHERE patient_key = ?",
}
_INSERTS: dict[tuple[str, tuple[str, ...]], str] = {}


def _insert_sql(table: str, keys: tuple[str, ...]) -> str:
    sql = _INSERTS.get((table, keys))
    if sql is None:
        names = ", ".join(f'"{k}"' for k in keys)
        marks = ", ".join(f":{k}" for k in keys)
        sql = _INSERTS[(table, keys)] = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'
    return sql


def _insert(cur: Any, table: str, row: dict[str, Any]) -> int:
    cur.execute(_insert_sql(table, tuple(row)), row)
    return int(cur.lastrowid)


def _parent(cur: Any, table: str, key: str, row: dict[str, Any]) -> int:
    found = cur.execute(_LOOKUP[table], (row[key],)).fetchone()
    return int(found[0]) if found is not None else _insert(cur, table, row)


def insert_sqlite(cur: Any, rec: dict[str, Any], calling_ae: str | None) -> int:
    """:func:`srkit.db.index.insert_one` on an SQLite DBAPI cursor (same rows)."""
    found = cur.execute(_LOOKUP["series"], (rec["series"]["series_instance_uid"],)).fetchone()
    if found is not None:
        series_pk = int(found[0])
    else:
        patient_pk = _parent(cur, "patient", "patient_key", rec["patient"])
        study_pk = _parent(
            cur, "study", "study_instance_uid", {**rec["study"], "patient_pk": patient_pk}
        )
        series_pk = _parent(
            cur, "series", "series_instance_uid", {**rec["series"], "study_pk": study_pk}
        )
    return _insert(cur, "instance", instance_row(rec, series_pk, calling_ae))


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
    ) -> None:
        """Move ``data`` (a staged file, or bytes staged first) to ``target`` and index
        ``rec`` (see the module docstring).

        The bytes are in a staged file (:mod:`srkit.db.staging`) before the
        transaction (other stores go on meanwhile); inside it the file is renamed into
        place only if the UID is new, so the write lock is held for the lookup, the
        rename and the inserts. A staged file passed in is closed (renamed) or
        discarded when the call returns.

        Raises
        ------
        DuplicateInstanceError
            The UID is stored with another content hash.
        SrkitError
            Writing or indexing failed (nothing stays behind).
        """
        uid = str(rec["instance"]["sop_instance_uid"])
        staged = (
            data if isinstance(data, StagedFile) else StagedFile.from_bytes(self._storage, data)
        )
        made: list[Path] = []
        try:
            staged.finish()
            with self._lock, self._writer_lock():
                made = _make_folders(target.parent, self._storage)
                try:
                    self._store_staged(rec, target, staged.path, calling_ae, uid)
                finally:
                    if os.path.lexists(staged.path):  # not renamed: a duplicate, or a failure
                        _remove_folders(made)
        finally:
            if os.path.lexists(staged.path):
                staged.discard()
            else:
                staged.close()

    def _store_staged(
        self, rec: dict[str, Any], target: Path, staged: Path, calling_ae: str | None, uid: str
    ) -> None:
        for attempt in (1, 2):
            written: list[Path] = []
            try:
                if not self._sqlite:
                    self._core_once(rec, target, staged, calling_ae, written)
                elif rec.get("sr"):
                    self._sqlite_once(rec, target, staged, calling_ae, written)
                else:
                    self._sqlite_plain(rec, target, staged, calling_ae, written)
                return
            except BaseException as exc:
                for path in written:  # back to the staged name, for a retry
                    with contextlib.suppress(OSError):
                        os.replace(path, staged)
                if self._sqlite and not isinstance(exc, SrkitError):
                    self._drop_connection()
                if _is_integrity(exc) and attempt == 1:
                    continue  # a concurrent writer inserted a parent row first
                if isinstance(exc, SrkitError):
                    raise
                if isinstance(exc, Exception):
                    raise SrkitError(f"cannot index {uid}: {E._short(exc)}") from None
                raise

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

    def _sqlite_plain(
        self,
        rec: dict[str, Any],
        target: Path,
        staged: Path,
        calling_ae: str | None,
        written: list[Path],
    ) -> None:
        """An instance without SR rows, in a transaction run on the DBAPI connection
        (SQLAlchemy's transaction bookkeeping cost as much as the inserts)."""
        dbapi = self._connection().connection.dbapi_connection
        cur = dbapi.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                _insert_new(cur, rec, target, staged, calling_ae, written)
                cur.execute("COMMIT")
            except BaseException:
                if dbapi.in_transaction:
                    cur.execute("ROLLBACK")
                raise
        finally:
            cur.close()

    def _sqlite_once(
        self,
        rec: dict[str, Any],
        target: Path,
        staged: Path,
        calling_ae: str | None,
        written: list[Path],
    ) -> None:
        conn = self._connection()
        with conn.begin():
            cur = conn.connection.dbapi_connection.cursor()
            try:
                pk = _insert_new(cur, rec, target, staged, calling_ae, written)
            finally:
                cur.close()
            if pk is not None and rec.get("sr"):
                _write_sr(conn, [(pk, rec["sr"])])

    def _core_once(
        self,
        rec: dict[str, Any],
        target: Path,
        staged: Path,
        calling_ae: str | None,
        written: list[Path],
    ) -> None:
        from sqlalchemy import text

        uid = str(rec["instance"]["sop_instance_uid"])
        with self._writer.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:u))"), {"u": uid})
            old = find_instance(conn, uid)
            if old is not None:
                _check_same(uid, old[1], rec)
                return
            os.replace(staged, target)
            written.append(target)
            insert_one(conn, rec, calling_ae=calling_ae)


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


def _make_folders(folder: Path, root: Path) -> list[Path]:
    """Create ``folder`` (the series folder of a target) and its parents inside
    ``root``; returns those created, deepest first."""
    made: list[Path] = []
    current = folder
    while current != root and not current.is_dir() and current.parent != current:
        made.append(current)
        current = current.parent
    folder.mkdir(parents=True, exist_ok=True)
    return made


def _remove_folders(made: list[Path]) -> None:
    """Remove the folders a failed store created, when they are still empty."""
    for folder in made:
        try:
            folder.rmdir()
        except OSError:
            break


def _insert_new(
    cur: Any,
    rec: dict[str, Any],
    target: Path,
    staged: Path,
    calling_ae: str | None,
    written: list[Path],
) -> int | None:
    """Inside an SQLite write transaction: the new instance's primary key after moving
    its staged file into place and inserting its rows; None when the UID is stored
    already with the same content (:class:`DuplicateInstanceError` otherwise)."""
    uid = rec["instance"]["sop_instance_uid"]
    old = cur.execute(_LOOKUP["instance"], (uid,)).fetchone()
    if old is not None:
        _check_same(uid, old[1], rec)
        return None
    os.replace(staged, target)
    written.append(target)
    return insert_sqlite(cur, rec, calling_ae)


def _check_same(uid: str, old_hash: str, rec: dict[str, Any]) -> None:
    if old_hash != rec["content_hash"]:
        raise DuplicateInstanceError(
            f"SOP Instance UID {uid} is stored already with different content"
        )


def _is_integrity(exc: BaseException) -> bool:
    from sqlalchemy.exc import IntegrityError

    return isinstance(exc, IntegrityError) or type(exc).__name__ == "IntegrityError"


__all__ += ["insert_sqlite"]
