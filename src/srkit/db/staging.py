"""Staged files: received bytes on their way into the storage layout.

A transfer (C-STORE data set, PS3.7 Section 9.1.1; STOW-RS part, PS3.18 Section
10.5; a copy made by ``srkit import --copy``) is written to a staged file under
``<storage>/.staging/``, on the file system of the storage layout, so that the final
:func:`os.replace` into ``<study>/<series>/<sop>.dcm`` (PS3.10 Section 7 file) is
atomic. A staged file is named ``<pid>-<random>.part`` and its process holds an
exclusive :func:`fcntl.flock` on it from creation until it is renamed into place or
discarded; the SHA-256 and size are computed while writing, so nobody reads the bytes
again to hash them.

Cleaning (:func:`clean_stale`) removes only staged files that no live process holds
(the lock can be taken without waiting) and that are older than a minimum age, so
that ``srkit import`` or a second listener never deletes a transfer in progress.

:class:`InFlight` counts the bytes of transfers being received in a process; a
transfer that would exceed its limit is refused early (C-STORE 0xA700, PS3.4 Table
B.2-1; STOW-RS 503) instead of exhausting the machine.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from srkit.errors import SrkitError

try:
    import fcntl

    _HAS_FLOCK = True
except ImportError:  # pragma: no cover - not on POSIX
    _HAS_FLOCK = False

__all__ = [
    "DEFAULT_MAX_IN_FLIGHT",
    "IN_FLIGHT",
    "InFlight",
    "STAGING_DIR",
    "STALE_AGE",
    "StagedFile",
    "clean_stale",
    "file_sha256",
    "is_held",
    "staged_leftovers",
    "staging_dir",
    "write_parts",
]

STAGING_DIR = ".staging"
"""The folder of staged files inside the storage folder."""
PART_SUFFIX = ".part"
STALE_AGE = 60.0
"""Seconds an unlocked staged file must have been left untouched before start-up
cleaning removes it (a file is locked from the moment it is created; the age covers
the instant between its creation and its lock)."""
DEFAULT_MAX_IN_FLIGHT = 2 << 30
"""Default cap on the bytes of transfers being received at once by one process: 2 GiB
(staged on disk; memory per transfer is a small constant)."""
_BUFFER = 1 << 16
_IOV_MAX = 1024
"""Buffers one :func:`os.writev` call takes at most (Linux ``IOV_MAX``)."""
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL


def write_parts(fd: int, parts: Sequence[bytes | bytearray | memoryview]) -> int:
    """Write ``parts`` at ``fd``, in order, with as few :func:`os.writev` calls as the
    kernel takes (at most ``IOV_MAX`` buffers each; a short write goes on where it
    stopped); no buffer, no copy. Returns the bytes written."""
    views = [memoryview(part).cast("B") for part in parts if len(part)]
    size = sum(len(view) for view in views)
    first, count = 0, len(views)
    while first < count:
        done = os.writev(fd, views[first : first + _IOV_MAX])
        while first < count and done >= len(views[first]):
            done -= len(views[first])
            first += 1
        if done:
            views[first] = views[first][done:]
    return size


def staging_dir(storage: Path) -> Path:
    """``<storage>/.staging`` (not created)."""
    return Path(storage) / STAGING_DIR


@functools.lru_cache(maxsize=16)
def _staging_prefix(storage: str | os.PathLike[str]) -> str:
    """``<storage>/.staging/`` as text: staged files are named from it (one per
    transfer, so without a path object's parsing each time)."""
    return os.path.join(os.fspath(storage), STAGING_DIR, "")


class StagedFile:
    """A file being received, owned (``flock``) by this process until it is renamed
    into place or discarded.

    Parameters
    ----------
    storage : Path
        The storage folder; the file is created in its ``.staging`` folder.
    hashed : bool
        Hash the bytes while they are written (default). Without, :attr:`sha256`
        reads the file when first asked (the deferred index of ``srkit listen``
        hashes in its indexer, not while a peer waits).

    Raises
    ------
    SrkitError
        The file cannot be created.

    Examples
    --------
    >>> with StagedFile(storage) as staged:          # doctest: +SKIP
    ...     staged.write(b"...")
    ...     db.store_staged(staged)
    """

    def __init__(self, storage: Path, *, hashed: bool = True) -> None:
        prefix = _staging_prefix(storage)
        self.path = Path(f"{prefix}{os.getpid()}-{secrets.token_hex(8)}{PART_SUFFIX}")
        folder = self.path.parent
        self.size = 0
        self._hash: Any = hashlib.sha256() if hashed else None
        self._known: str | None = None  # the digest given by from_bytes
        self._file: IO[bytes] | None = None  # the write buffer, made at the first write
        self._fd = -1
        self._writable = False
        try:
            try:
                fd = os.open(self.path, _CREATE, 0o644)
            except FileNotFoundError:  # the first transfer: no staging folder yet
                folder.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, _CREATE, 0o644)
        except OSError as exc:
            raise SrkitError(f"cannot stage: {exc.strerror}", source=str(folder)) from None
        if _HAS_FLOCK:
            fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd
        self._writable = True

    @classmethod
    def from_bytes(
        cls, storage: Path, data: bytes, *, sha256: str | None = None, hashed: bool = True
    ) -> StagedFile:
        """A staged file holding ``data`` (written and flushed); ``sha256``, when the
        caller hashed the bytes already, spares hashing them again (as does
        ``hashed=False``: the hash is then computed from the file when asked)."""
        staged = cls(storage, hashed=hashed)
        try:
            if sha256 is not None:
                staged._hash, staged._known = None, sha256
            staged.write(data)
            staged.finish()
        except BaseException:
            staged.discard()
            raise
        return staged

    # -- writing ----------------------------------------------------------------------

    def write(self, chunk: bytes | bytearray | memoryview) -> None:
        """Append ``chunk`` (hash and size follow), through a write buffer."""
        if not self._writable:
            raise SrkitError("staged file closed", source=str(self.path))
        file = self._file
        if file is None:
            file = self._file = os.fdopen(self._fd, "wb", buffering=_BUFFER, closefd=False)
        try:
            file.write(chunk)
        except OSError as exc:
            raise SrkitError(f"cannot stage: {exc.strerror}", source=str(self.path)) from None
        if self._hash is not None:
            self._hash.update(chunk)
        self.size += len(chunk)

    def write_all(self, parts: Sequence[bytes | bytearray | memoryview]) -> None:
        """Append ``parts`` (hash and size follow) in as few system calls as the kernel
        takes them (:func:`os.writev`, no buffer, no copy): a data set received whole
        in memory is written this way."""
        if not self._writable:
            raise SrkitError("staged file closed", source=str(self.path))
        if self._file is not None:
            self._flush()
        try:
            write_parts(self._fd, parts)
        except OSError as exc:
            raise SrkitError(f"cannot stage: {exc.strerror}", source=str(self.path)) from None
        for part in parts:
            if self._hash is not None:
                self._hash.update(part)
            self.size += len(part)

    def _flush(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError as exc:
                raise SrkitError(f"cannot stage: {exc.strerror}", source=str(self.path)) from None
            self._file = None

    def finish(self) -> None:
        """Flush what was written (the lock stays), before the file is read or renamed."""
        self._writable = False
        self._flush()

    @property
    def sha256(self) -> str:
        """The SHA-256 of the bytes written (hex)."""
        if self._known is not None:
            return self._known
        if self._hash is None:  # not hashed while written: read back once, when finished
            self.finish()
            self._known = file_sha256(self.path)
            return self._known
        return str(self._hash.hexdigest())

    @property
    def closed(self) -> bool:
        """Whether the lock is released (after :meth:`close` or :meth:`discard`)."""
        return self._fd < 0

    # -- ending -----------------------------------------------------------------------

    def close(self) -> None:
        """Release the file and its lock (once it is renamed into place, or to keep it)."""
        self._writable = False
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        if self._fd >= 0:
            os.close(self._fd)  # releases the flock
            self._fd = -1

    def discard(self) -> None:
        """Remove the staged file (if still under its staged name) and release it."""
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        self.close()

    @classmethod
    def adopt(cls, path: Path, fd: int) -> StagedFile:
        """A staged file over a finished file at ``path`` whose descriptor ``fd``
        (read-only) the caller has opened and holds an exclusive ``flock`` on; the
        object owns ``fd`` from now on. Its size is the file's, its hash is computed
        when asked. The inbox of the deferred index hands its files to
        :meth:`Database.store_outcome` this way."""
        staged = cls.__new__(cls)
        staged.path = path if isinstance(path, Path) else Path(path)
        staged.size = os.fstat(fd).st_size
        staged._hash, staged._known, staged._file, staged._fd = None, None, None, fd
        staged._writable = False
        return staged

    def __enter__(self) -> StagedFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is not None or os.path.lexists(self.path):
            self.discard()  # an error, or never renamed into place
        else:
            self.close()

    def __del__(self) -> None:
        # a staged file dropped without an ending (a request never served): its
        # process would hold it, and cleaning skip it, for as long as it runs
        if getattr(self, "_fd", -1) >= 0:
            self.discard()

    def __repr__(self) -> str:
        return f"StagedFile({str(self.path)!r}, size={self.size})"


# -- hashing ------------------------------------------------------------------------


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# -- ownership and cleaning -----------------------------------------------------------


def is_held(path: str | os.PathLike[str]) -> bool:
    """Whether a live process holds the staged file's lock (False if it has gone)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        if not _HAS_FLOCK:  # pragma: no cover
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False
    finally:
        os.close(fd)


def _remove_if_stale(path: str, min_age: float, now: float) -> bool:
    """Remove ``path`` while holding its lock, when nobody else holds it and it is
    older than ``min_age`` seconds."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        if _HAS_FLOCK:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # a transfer in progress
        st = os.fstat(fd)
        if now - st.st_mtime < min_age:
            return False
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            return True
        return False
    finally:
        os.close(fd)


def _legacy_parts(storage: Path) -> Iterator[str]:
    """``.<name>.part`` files beside targets in the layout (written by older srkit)."""
    for dirpath, dirs, files in os.walk(storage):
        if dirpath == str(storage):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith(".") and name.endswith(PART_SUFFIX):
                yield os.path.join(dirpath, name)


def staged_leftovers(storage: Path, *, legacy: bool = True) -> list[Path]:
    """Staged files no live process holds: under ``.staging`` and, with ``legacy``,
    ``.<name>.part`` files beside targets."""
    storage = Path(storage)
    if not storage.is_dir():
        return []
    found: list[str] = []
    folder = staging_dir(storage)
    if folder.is_dir():
        found += [str(p) for p in folder.iterdir() if p.name.endswith(PART_SUFFIX)]
    if legacy:
        found += list(_legacy_parts(storage))
    return [Path(p) for p in sorted(found) if not is_held(p)]


def clean_stale(storage: Path, *, min_age: float = STALE_AGE, legacy: bool = False) -> list[Path]:
    """Remove staged files that no live process holds and that are older than
    ``min_age`` seconds; returns the files removed.

    Called at start-up of ``srkit listen`` and ``srkit import --copy``: a transfer in
    progress in another process keeps its lock and is never touched. ``legacy`` also
    walks the layout for ``.part`` files of older srkit versions (a full walk).
    """
    storage = Path(storage)
    removed: list[Path] = []
    now = time.time()
    candidates: list[str] = []
    folder = staging_dir(storage)
    if folder.is_dir():
        candidates += [str(p) for p in folder.iterdir() if p.name.endswith(PART_SUFFIX)]
    if legacy and storage.is_dir():
        candidates += list(_legacy_parts(storage))
    for path in candidates:
        if _remove_if_stale(path, min_age, now):
            removed.append(Path(path))
    return removed


# -- bytes in flight ------------------------------------------------------------------


class InFlight:
    """The bytes of transfers being received by this process, against a limit.

    Parameters
    ----------
    limit : int
        Most bytes in flight at once (0 or less: no limit).
    """

    def __init__(self, limit: int = DEFAULT_MAX_IN_FLIGHT) -> None:
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()

    def reserve(self, size: int) -> bool:
        """Count ``size`` more bytes; False (nothing counted) if that exceeds the limit."""
        with self._lock:
            if self.limit > 0 and self.used + size > self.limit:
                return False
            self.used += size
            return True

    def release(self, size: int) -> None:
        """Forget ``size`` bytes reserved earlier."""
        with self._lock:
            self.used = max(0, self.used - size)

    def __repr__(self) -> str:
        return f"InFlight(used={self.used}, limit={self.limit})"


IN_FLIGHT = InFlight()
"""The process's counter, shared by the DIMSE listener and STOW-RS unless they are given
their own (``srkit listen --max-in-flight``, ``srkit serve --max-in-flight`` set its
limit)."""
