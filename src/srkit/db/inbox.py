"""The deferred index's inbox: instances acknowledged before they are indexed.

``srkit listen --index deferred`` answers a C-STORE of a new SOP Instance UID once its
bytes are a file in the inbox, ``<storage>/.inbox/<key>.dcm`` (``key``: the SHA-256
of the UID, in hex), and an indexer process files and indexes them on another core
(:meth:`Inbox.run`). Parsing and the index transaction (about 0.4 ms of CPU for a CT
image) then no longer hold up the sender; the file is on the storage file system
before the answer, as with the immediate index.

The rules that keep the answers right:

- **One name per UID.** A receiver links its staged file (:mod:`srkit.db.staging`,
  still under its ``flock``) to the UID's inbox name with :func:`os.link`, which fails
  when the name exists: an instance of that UID is pending already, and the receiver
  waits for it to be indexed, then stores the new one the immediate way (so a second
  copy with other bytes gets 0x0111 as it would without the inbox). A data set
  received in memory is written straight into the inbox folder as a file without a
  name (Linux ``O_TMPFILE``), locked, and linked to its inbox name once complete
  (:meth:`Inbox.deposit_parts`): no staged name to create and remove while the peer
  waits, and nothing left behind by a crash. A thread of a process serving one
  association makes the next such files ahead, filled with zeros, while the peer
  makes its next request (:meth:`Inbox.prepare`). Where the file system cannot do that
  (:attr:`Inbox.direct` false), it is staged first.
- **Known UIDs take the immediate way.** After linking, the receiver asks the
  database whether the UID is indexed; if it is, the file goes back to its staged
  name (:meth:`Inbox.withdraw`) and is stored the immediate way (0x0000 for the same
  bytes, 0x0111 or 0xB000 as the policy says). The indexer commits an instance's
  rows before its inbox name disappears, so a UID is always either indexed or
  pending when a receiver looks.
- **Locked until answered.** The indexer takes only files it can ``flock``: a file a
  receiver still holds (not answered yet) waits.
- **In the order received.** A file's modification time is set to the nanosecond
  when it gets its inbox name (the file system's own clock ticks every few
  milliseconds), and the indexers take files oldest first: instances that arrive
  one after the other are indexed in that order, as the immediate way stores them
  (which of two copies disagreeing on a series' attributes came first decides
  which attributes the series keeps).
- **Nothing lost.** What the indexer cannot file (a data set that cannot be decoded
  beyond the receiver's checks, a UID refused meanwhile by another writer's copy)
  moves to ``<storage>/.rejected/`` with a ``.txt`` file giving the reason, and is
  logged; ``srkit check`` counts those files. Conflicts found while indexing are
  recorded as always (``srkit ls conflicts``); the sender had 0x0000, not 0xB000.
- **Crash-safe.** The inbox is a folder of complete files: an indexer started later
  (``srkit listen`` starts one with its workers) indexes what it finds.
- **One lead, the others for a backlog.** Several indexers may share an inbox. The one
  holding the ``flock`` of ``<storage>/.inbox/.lead`` takes every file; the others take
  only files that have waited :data:`BACKLOG_AGE` (a backlog the lead is not keeping
  up with), and one of them becomes the lead when the lead's process ends. A steady
  stream is indexed by one process, without the others racing it for each file; a
  backlog is indexed on every core.
- **The lead yields to the receivers.** When several indexers share the inbox
  (``srkit listen --indexers`` above 1), the lead runs at idle priority
  (:func:`yield_cpu`): the receivers and their peers, whose work is on the way of
  the answers, get the cores first, and the lead indexes in the time they leave.
  A sender woken by its answer was often placed on the receiver's core while the
  lead held the other, and the receiver then waited for a core (0.16 ms of its
  0.19 ms answer, on two cores); a thread of idle priority leaves its core to the
  woken sender at once. With the batches below and a spare made by the receiver
  itself, one association sending CT images ran at 0.92-1.24x
  the rate of the code before (median 1.10x over five runs of
  ``benchmarks/bench_net.py`` on two cores; four associations 1.04-1.24x). The
  other indexers keep the normal priority, so files the lead leaves waiting (a
  machine busy with other work) are taken after :data:`BACKLOG_AGE` all the same;
  only the batch the lead holds waits for it.
- **One transaction for the files pending together.** The indexer takes the ready
  files in their order, up to :data:`BATCH_FILES` (:data:`BATCH_BYTES`), and stores
  them in one transaction (:meth:`Database.store_outcomes`): a commit costs about
  a fifth of indexing a CT image. Each file is linked into the storage inside the
  transaction and loses its inbox name after the commit. Where the transaction
  fails as a whole, each file is stored alone, as before, with its own retry or
  rejection.
- **Queries see what was acknowledged.** The listener's C-FIND, C-MOVE and C-GET
  first wait (:meth:`Inbox.settle`) until the files received before the query are
  indexed.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from srkit.db.spares import SpareFiles
from srkit.db.staging import StagedFile, write_parts
from srkit.errors import SrkitError


class Stop(Protocol):
    """What :meth:`Inbox.run` waits on (``threading.Event``, or the signal-safe
    :class:`srkit.net.dimse.stop_signal.StopSignal` of the indexer process)."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


try:
    import fcntl

    _HAS_FLOCK = True
except ImportError:  # pragma: no cover - not on POSIX
    _HAS_FLOCK = False

__all__ = ["INBOX_DIR", "REJECTED_DIR", "Deposit", "Inbox", "IndexResult", "inbox_key", "yield_cpu"]

INBOX_DIR = ".inbox"
"""The folder of acknowledged, not yet indexed instances inside the storage folder."""
REJECTED_DIR = ".rejected"
"""The folder of acknowledged instances the indexer could not file, with reasons."""
SUFFIX = ".dcm"
POLL = 0.005
"""Seconds the lead indexer sleeps when its inbox is empty."""
SETTLE_WAIT = 30.0
"""Seconds a query waits at most for the files acknowledged before it to be indexed."""
BACKLOG_AGE = 0.05
"""Seconds an inbox file waits before an indexer that is not the lead takes it."""
LEAD_FILE = ".lead"
"""The lock file of the lead indexer, in the inbox folder."""
BACKLOG_POLL = BACKLOG_AGE / 2
"""Seconds an indexer that is not the lead sleeps when it found no backlog (each
wake-up costs CPU, about 0.1 ms on a virtual machine, that the lead and the
receivers could use)."""
IDLE_AFTER = 1.0
"""Seconds of an empty inbox after which an indexer stops polling and sleeps until
the inbox changes (see :meth:`Inbox.run`)."""
IDLE_WAIT = 0.25
"""Seconds an idle indexer sleeps at most (it then looks at its retries and its stop)."""
SPARES = 4
"""Unnamed inbox files a receiving process keeps ready (:meth:`Inbox.prepare`), one
per association it serves at once, up to this many."""
PREFILL_MAX = 1 << 20
"""Bytes of zeros a spare is filled with at most (:meth:`Inbox.prepare`): a larger
data set writes the rest as it would without."""
BATCH_FILES = 64
"""Inbox files the indexer stores in one transaction at most (:meth:`Inbox.index_files`)."""
BATCH_BYTES = 32 << 20
"""Bytes of inbox files the indexer holds parsed for one transaction at most."""
LEAD_RETRY = 1.0
"""Seconds between an indexer's tries to become the lead."""
RETRY = 1.0
"""Seconds before the indexer tries again a file whose store failed for a passing
reason (disk full, database locked)."""

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())


def yield_cpu() -> bool:
    """Run the calling thread at idle priority (Linux ``SCHED_IDLE``): it gets a
    core only when no other thread wants it, and a thread woken on its core (a sender
    the receiver has answered) takes it at once. False where that cannot be done (not
    Linux, or refused). An unprivileged thread cannot leave ``SCHED_IDLE`` again
    (``sched(7)``), so only the lead indexer, which keeps its role until its process
    ends, is set so."""
    policy = getattr(os, "SCHED_IDLE", None)
    if policy is None:  # pragma: no cover - not Linux
        return False
    try:
        os.sched_setscheduler(0, policy, os.sched_param(0))
    except OSError:  # pragma: no cover - a seccomp or container policy refusing it
        return False
    return True


def inbox_key(uid: str) -> str:
    """The inbox name of a SOP Instance UID (hex SHA-256: safe whatever the UID holds)."""
    return hashlib.sha256(uid.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True, slots=True)
class IndexResult:
    """What indexing one inbox file did: ``status`` is the store's (``stored``,
    ``duplicate``, ...), ``rejected`` when it was set aside, ``retry`` when it stays
    for later; ``reason`` says why for the last two; ``record`` is the index record
    of a new instance (``stored`` or ``replaced``)."""

    path: str
    status: str
    reason: str = ""
    record: dict[str, Any] | None = None


class Inbox:
    """The inbox of a storage folder (see the module docstring)."""

    def __init__(self, storage: Path) -> None:
        self.storage = Path(storage)
        self.folder = self.storage / INBOX_DIR
        self.rejected = self.storage / REJECTED_DIR
        self._retry_after: dict[str, float] = {}
        self._prefix = os.path.join(self.folder, "")
        self.spares = SpareFiles(self._make_spare, SPARES, name="inbox spare files")
        """Unnamed inbox files made ahead by a thread (:meth:`prepare`)."""
        self._fill = 0
        """Bytes of zeros a spare is filled with (see :meth:`prepare`)."""
        self._sizes = (0, 0)
        """Bytes of the deposit before the last and of the last, of this inbox object."""
        self._listed = 0
        """Inbox files the last :meth:`pending` found (of any age)."""
        self.idle_waits = 0
        """Times :meth:`run` slept until the inbox changed (for tests and logs)."""
        self.direct: bool | None = None
        """Whether :meth:`deposit_parts` can write into the inbox folder without a
        name (``O_TMPFILE``, named through ``/proc/self/fd``); None until the first
        deposit finds out."""

    def path_of(self, uid: str) -> Path:
        """The inbox file of ``uid``."""
        return Path(f"{self._prefix}{inbox_key(uid)}{SUFFIX}")

    # -- the receiver's side ----------------------------------------------------------

    def deposit(self, staged: StagedFile, uid: str) -> bool:
        """Give the (finished, still locked) staged file of ``uid`` its inbox name;
        False when an instance of that UID is pending already. The caller keeps the
        lock until it has answered (:meth:`StagedFile.close`), or takes the file back
        with :meth:`withdraw`."""
        staged.finish()
        target = self.path_of(uid)
        _stamp(staged.path)
        try:
            os.link(staged.path, target)
        except FileExistsError:
            return False
        except FileNotFoundError:  # the first deposit: no inbox folder yet
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                os.link(staged.path, target)
            except FileExistsError:
                return False
        os.unlink(staged.path)  # the inode keeps the lock: it is only the inbox's now
        return True

    def deposit_parts(
        self, parts: Sequence[bytes | bytearray | memoryview], uid: str
    ) -> Deposit | None:
        """Write ``parts`` (a whole Part 10 file) as the inbox file of ``uid``: first
        without a name, locked, then linked to its inbox name; the caller keeps the
        lock until it has answered (:meth:`Deposit.close`) or takes the file back
        (:meth:`Deposit.withdraw`). None when an instance of that UID is pending
        already (nothing is left). Raises :class:`OSError` when it cannot (the caller
        stages the bytes instead); :meth:`writes_directly` says beforehand whether
        it can."""
        if not self.writes_directly():
            raise OSError(errno.EOPNOTSUPP, "no unnamed files in the inbox folder")
        fd = self.spares.take()  # a spare made ahead, or -1
        filled = 0
        if fd < 0:
            fd = self._unnamed()
        else:
            filled = os.fstat(fd).st_size
        try:
            size = write_parts(fd, parts)  # from offset 0: over the spare's zeros
            if size < filled:
                os.ftruncate(fd, size)
            self._sizes = (self._sizes[1], size)
            target = self.path_of(uid)
            _stamp(fd)
            try:
                _name_unnamed(fd, target)
            except FileExistsError:
                os.close(fd)  # the unnamed file goes with its descriptor
                return None
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        return Deposit(target, fd)

    def prepare(self, *, single: bool = True) -> None:
        """Have the next unnamed, locked files for :meth:`deposit_parts` of this
        process made ahead (up to :data:`SPARES`, one per association served at once),
        by a thread of the process (:class:`srkit.db.spares.SpareFiles`): the receiver
        calls it after an answer and returns at once; the file is made while the peer
        makes its next request, on whichever core is free. Making a file is
        not always cheap: on ext4 without a journal it took 0.43 ms of the receiver's
        1.09 ms per CT image when it was made on the receiver's thread (see
        :mod:`srkit.db.spares`). A spare never used goes with the process: an unnamed
        file leaves nothing behind.

        The thread fills each spare with zeros, as many bytes as the smaller of the
        last two data sets had (up to :data:`PREFILL_MAX`): the next data set then
        overwrites page cache pages that exist already, and one of the same size (a
        series' images) needs no cut. Allocating them is most of the cost of
        writing a new file on a virtual machine (0.4 of 0.5 ms for 158 KiB where the
        memory was not touched before, against 0.05 ms to overwrite them). Done on
        the receiver's thread, after its answer, the zeros were dropped again (the
        receiver was then late for the next request); on the spares' thread they
        cost the receiver nothing.

        The thread and the zeros cost CPU all the same (handing the GIL over,
        writing the zeros, then the data set over them). That pays while the process
        serves one association (``single``), whose peer leaves a core free, and the
        data sets come in like sizes (the last two within an eighth of each other):
        the zeros are then the next data set's pages. A process serving several
        associations at once keeps its cores busy anyway, and data sets of unlike
        sizes (a mixed stream) would have zeros written only to be cut; there the
        receiver makes one empty file itself, as before the thread (four
        associations sending CT images ran at 0.92x with the zeros, 0.88x with the
        thread alone)."""
        if not self.direct:  # not known yet (the first deposit finds out), or no
            return
        before, last = self._sizes
        if single and min(before, last) > 0 and 8 * abs(last - before) <= max(before, last):
            self._fill = min(PREFILL_MAX, before, last)
            self.spares.refill()
        else:
            self._fill = 0
            self.spares.make_here()

    def close(self) -> None:
        """Close the spares made ahead and stop their thread (the inbox itself needs
        no closing: a receiver process that ends without it leaves nothing behind)."""
        self.spares.close()

    def _make_spare(self) -> int:
        """An unnamed, locked inbox file holding :attr:`_fill` bytes of zeros (what
        the spares make)."""
        fd = self._unnamed()
        try:
            _prefill(fd, self._fill)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _unnamed(self) -> int:
        """A new unnamed file in the inbox folder, open for writing and locked."""
        fd = os.open(self.folder, _UNNAMED, 0o644)
        if _HAS_FLOCK:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
        return fd

    def writes_directly(self) -> bool:
        """:attr:`direct`, found out at the first call."""
        if self.direct is None:
            self.direct = self._probe_direct()
        return self.direct

    def _probe_direct(self) -> bool:
        """Whether an unnamed file made in the inbox folder can be given a name there."""
        if not hasattr(os, "O_TMPFILE"):  # pragma: no cover - not Linux
            return False
        self.folder.mkdir(parents=True, exist_ok=True)
        probe = f"{self._prefix}.probe-{os.getpid()}-{time.monotonic_ns()}"
        try:
            fd = self._unnamed()
        except OSError:  # EOPNOTSUPP, EISDIR (an old kernel), EINVAL...
            return False
        try:
            _name_unnamed(fd, probe)  # no /proc: FileNotFoundError
            os.unlink(probe)
        except (OSError, NotImplementedError):
            return False
        finally:
            os.close(fd)
        return True

    def withdraw(self, staged: StagedFile, uid: str) -> None:
        """Move a deposited file back to its staged name (the caller still holds it)."""
        os.replace(self.path_of(uid), staged.path)

    def wait_gone(self, uid: str, timeout: float) -> bool:
        """Wait until ``uid`` is no longer pending; False after ``timeout`` seconds."""
        path = self.path_of(uid)
        deadline = time.monotonic() + timeout
        while os.path.lexists(path):
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)
        return True

    # -- the queries' side ------------------------------------------------------------

    def _written(self) -> Iterator[tuple[int, str, int]]:
        """(modification time in ns, path, size) of each inbox file; one that goes
        while the folder is read (indexed meanwhile) is left out."""
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.name.endswith(SUFFIX):
                try:
                    found = entry.stat()
                except FileNotFoundError:
                    continue
                yield found.st_mtime_ns, entry.path, found.st_size

    def pending(self, min_age: float = 0.0) -> list[Path]:
        """The inbox files (written at least ``min_age`` seconds ago), oldest first."""
        return [path for path, _size in self._pending(min_age)]

    def _pending(self, min_age: float) -> list[tuple[Path, int]]:
        """:meth:`pending` with each file's size."""
        limit = time.time_ns() - int(min_age * 1e9) if min_age > 0 else None
        written = sorted(self._written())
        self._listed = len(written)
        return [
            (Path(path), size) for when, path, size in written if limit is None or when <= limit
        ]

    def settle(self, timeout: float = SETTLE_WAIT, *, since: float | None = None) -> bool:
        """Wait until no inbox file written before ``since`` (a :func:`time.time`,
        default now) remains: what was acknowledged before a query is indexed when it
        runs. False after ``timeout`` seconds (the query then runs on what is there)."""
        limit = int((time.time() if since is None else since) * 1e9)
        deadline = time.monotonic() + timeout
        while True:
            if not any(when <= limit for when, _path, _size in self._written()):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL)

    def rejected_files(self) -> list[Path]:
        """The instances set aside by the indexer (each with a ``.txt`` reason)."""
        try:
            return sorted(p for p in self.rejected.iterdir() if p.suffix == SUFFIX)
        except FileNotFoundError:
            return []

    # -- the indexer's side -----------------------------------------------------------

    def index_file(self, db: Any, path: Path) -> IndexResult | None:
        """File and index one inbox file; None when it is not ready (a receiver holds
        it, another indexer took it, or it is to be retried later).

        The cyclic garbage collector is paused until the parsed data set is gone
        (:mod:`srkit.codec.gcpause`): resumed while an SR's tree is still alive, it
        would at once walk its many young objects, only for them to be freed when the
        file is indexed (6% of the indexer's CPU on the mixed benchmark corpus)."""
        return self.index_files(db, [path])[0]

    def index_files(self, db: Any, paths: Sequence[Path]) -> list[IndexResult | None]:
        """File and index inbox files, in their order (as :meth:`index_file` does
        each): the ones ready are stored in one transaction
        (:meth:`Database.store_outcomes`; one commit instead of one per file), or
        each alone where that cannot be done. An instance's inbox name goes only once
        its rows are committed."""
        from srkit.codec.gcpause import paused

        with paused():
            taken = [self._open(path) for path in paths]
            stored = iter(self._store_taken(db, [one for one in taken if isinstance(one, _Taken)]))
            return [next(stored) if isinstance(one, _Taken) else one for one in taken]

    def _store_taken(self, db: Any, ready: list[_Taken]) -> list[IndexResult]:
        """Store the taken files in one transaction, or each alone when that cannot
        be done."""
        outcomes: list[Any] | None = None
        if len(ready) > 1:
            try:
                outcomes = db.store_outcomes(
                    [(one.rec, one.staged, one.calling_ae) for one in ready], source="c-store"
                )
            except Exception:  # a record the storage refuses, say: each alone says why
                outcomes = None
        if outcomes is None:
            return [self._store(db, one) for one in ready]
        return [self._done(one, outcome) for one, outcome in zip(ready, outcomes, strict=True)]

    def _open(self, path: Path) -> IndexResult | _Taken | None:
        """Take and parse one inbox file: None when it is not ready, the result of
        setting it aside when it cannot be decoded."""
        from srkit.db.ingest import parse_staged

        key = str(path)
        if self._retry_after.get(key, 0.0) > time.monotonic():
            return None
        held = _take(path)
        if held is None:
            return None
        staged = _Kept.adopt(path, held)
        try:
            ds, rec = parse_staged(path, size=staged.size, name=path.name)
        except Exception as exc:  # SrkitError, or anything a parser raises on garbage
            reason = exc.message if isinstance(exc, SrkitError) else f"cannot decode: {exc}"
            return self._set_aside(staged, path, reason)
        staged._known = rec.get("content_hash")  # hashed by the parse: not read again
        return _Taken(path, staged, rec, _source_ae(ds))

    def _store(self, db: Any, one: _Taken) -> IndexResult:
        """Store one taken file alone."""
        try:
            outcome = db.store_outcome(
                one.rec, one.staged, calling_ae=one.calling_ae, source="c-store", link=True
            )
        except SrkitError as exc:  # refused by the database (a bad UID): kept aside
            return self._set_aside(one.staged, one.path, exc.message)
        except Exception as exc:  # a passing trouble (disk, database): retried, never lost
            self._retry_after[str(one.path)] = time.monotonic() + RETRY
            self._put_back(one.staged, one.path)
            return IndexResult(str(one.path), "retry", f"cannot store: {type(exc).__name__}: {exc}")
        return self._done(one, outcome)

    def _done(self, one: _Taken, outcome: Any) -> IndexResult:
        """What a taken file's store did, from its outcome."""
        path = one.path
        self._retry_after.pop(str(path), None)
        if outcome.conflicts:
            LOGGER.warning("indexed %s: %s", outcome.sop_instance_uid, outcome.warning)
        if outcome.status == "refused":  # another writer's copy came first: keep ours
            return self._set_aside(one.staged, path, "stored meanwhile with other content")
        new = outcome.status in ("stored", "replaced")  # the dose alerts are a new one's
        if not new:  # filed elsewhere, or a duplicate with the same bytes: nothing to keep
            with contextlib.suppress(FileNotFoundError):
                _kept_path(path).unlink()
        return IndexResult(str(path), outcome.status, record=one.rec if new else None)

    def index_pending(
        self,
        db: Any,
        on_stored: Callable[[IndexResult], None] | None = None,
        *,
        min_age: float = 0.0,
    ) -> int:
        """Index every ready inbox file (written at least ``min_age`` seconds ago)
        once, up to :data:`BATCH_FILES` (or :data:`BATCH_BYTES`) at a time in one
        transaction; returns how many were handled."""
        done = 0
        for batch in _batches(self._pending(min_age)):
            for result in self.index_files(db, batch):
                if result is None or result.status == "retry":
                    continue
                done += 1
                if on_stored is not None and result.record is not None:  # never raises
                    on_stored(result)
        return done

    def run(
        self,
        db: Any,
        stop: Stop,
        *,
        on_stored: Callable[[IndexResult], None] | None = None,
        idle_lead: bool = False,
    ) -> None:
        """Index inbox files as they come until ``stop`` is set (and then what is
        ready): the loop of the indexer process. The lead indexer takes every file,
        another only a backlog's (see the module docstring). With ``idle_lead`` (other
        indexers share the inbox), the thread that becomes the lead runs at idle
        priority from then on (:func:`yield_cpu`).

        While files come and go the loop polls (every :data:`POLL` seconds for the
        lead, :data:`BACKLOG_POLL` for another); after :data:`IDLE_AFTER` seconds with
        an empty inbox it sleeps until the inbox or staging folder changes
        (:class:`srkit.db.watch.FolderWatch`, at most :data:`IDLE_WAIT` seconds), so an
        idle listener's indexers cost no CPU. ``stop`` wakes that sleep at once when it
        has a ``fileno()`` (the indexer process's signal-safe stop)."""
        from srkit.db.staging import staging_dir
        from srkit.db.watch import FolderWatch

        lead: int | None = None
        tried = -LEAD_RETRY
        watch = FolderWatch([self.folder, staging_dir(self.storage)])
        stop_fd = getattr(stop, "fileno", None)
        busy = time.monotonic()
        try:
            while True:
                if lead is None and time.monotonic() - tried >= LEAD_RETRY:
                    lead, tried = self._take_lead(), time.monotonic()
                    if lead is not None and idle_lead:
                        yield_cpu()
                age = 0.0 if lead is not None or stop.is_set() else BACKLOG_AGE
                handled = self.index_pending(db, on_stored, min_age=age)
                if stop.is_set():
                    if not handled:
                        return
                    continue
                if handled or self._listed:
                    busy = time.monotonic()
                if handled:
                    continue
                if watch.available and time.monotonic() - busy >= IDLE_AFTER:
                    if watch.wait(IDLE_WAIT, also=stop_fd() if stop_fd else None):
                        busy = time.monotonic()  # something came: poll again
                    if stop_fd:
                        stop.wait(0)  # a wake-up byte read (the flag is looked at above)
                    self.idle_waits += 1
                    continue
                stop.wait(POLL if lead is not None else BACKLOG_POLL)
        finally:
            watch.close()
            if lead is not None and lead >= 0:
                os.close(lead)

    def _take_lead(self) -> int | None:
        """The lead's lock (a descriptor holding the ``flock`` of the lead file), or
        None when another indexer holds it. Without ``flock`` every indexer leads."""
        if not _HAS_FLOCK:  # pragma: no cover - not on POSIX
            return -1
        self.folder.mkdir(parents=True, exist_ok=True)
        # read-only: closing it is no change to the inbox for an idle indexer's watch
        fd = os.open(self.folder / LEAD_FILE, os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return fd

    # -- setting aside ----------------------------------------------------------------

    def _set_aside(self, staged: StagedFile, path: Path, reason: str) -> IndexResult:
        """Move an inbox file (under its inbox name, or where the store's discard put
        it) to the rejected folder with its reason; release it."""
        try:
            for source in (path, _kept_path(path)):
                if os.path.lexists(source):
                    target = self._rejected_name(path)
                    os.replace(source, target)
                    _write_reason(target, reason)
                    LOGGER.warning(
                        "deferred index: %s set aside as %s: %s", path.name, target, reason
                    )
                    break
        finally:
            staged.close()
        return IndexResult(str(path), "rejected", reason)

    def _rejected_name(self, path: Path) -> Path:
        self.rejected.mkdir(parents=True, exist_ok=True)
        return self.rejected / f"{path.stem}-{time.time_ns()}{SUFFIX}"

    def _put_back(self, staged: StagedFile, path: Path) -> None:
        """After a failed store: the file under its inbox name again, unlocked."""
        kept = _kept_path(path)
        if not os.path.lexists(path) and os.path.lexists(kept):
            os.replace(kept, path)
        staged.close()


@dataclass(frozen=True, slots=True)
class _Taken:
    """An inbox file the indexer holds (its lock) and has parsed."""

    path: Path
    staged: StagedFile
    rec: dict[str, Any]
    calling_ae: str | None


def _batches(files: list[tuple[Path, int]]) -> Iterator[list[Path]]:
    """The paths of ``files`` (path, size) in runs of at most :data:`BATCH_FILES`
    files and (after the first file) :data:`BATCH_BYTES` bytes."""
    batch: list[Path] = []
    size = 0
    for path, length in files:
        if batch and (len(batch) >= BATCH_FILES or size + length > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(path)
        size += length
    if batch:
        yield batch


class Deposit:
    """An inbox file written by :meth:`Inbox.deposit_parts`, locked by this process
    until :meth:`close` (answered: the indexer may take it) or :meth:`withdraw`."""

    __slots__ = ("_fd", "path")

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd

    def close(self) -> None:
        """Release the file (its lock) to the indexer."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def withdraw(self) -> None:
        """Remove the file from the inbox (still locked: nobody else has it) and
        release it: the caller stores the bytes another way."""
        try:
            os.unlink(self.path)
        finally:
            self.close()


_UNNAMED = getattr(os, "O_TMPFILE", 0) | os.O_WRONLY
_PROC_FD: tuple[int, int] | None = None
"""(process ID, descriptor of that process's ``/proc/self/fd``)."""


def _prefill(fd: int, size: int) -> None:
    """Write ``size`` zeros at the start of ``fd`` (its offset stays at 0)."""
    zeros = _zeros()
    done = 0
    while done < size:
        done += os.pwrite(fd, zeros[: size - done], done)


@functools.cache
def _zeros() -> memoryview:
    """:data:`PREFILL_MAX` zero bytes (allocated zeroed by the system, on first use)."""
    return memoryview(bytes(PREFILL_MAX))


def _stamp(file: int | Path) -> None:
    """Set the modification time of ``file`` (a descriptor or a path) to now, to the
    nanosecond: the order in which the indexers take inbox files."""
    now = time.time_ns()
    os.utime(file, ns=(now, now))


def _name_unnamed(fd: int, target: str | Path) -> None:
    """Give the unnamed file open at ``fd`` the name ``target``: ``linkat`` of
    ``/proc/self/fd/<fd>`` following the link, as ``open(2)`` documents for
    ``O_TMPFILE``; :class:`FileExistsError` when ``target`` exists."""
    global _PROC_FD
    held = _PROC_FD
    if held is None or held[0] != os.getpid():  # a forked child opens its own
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
        held = _PROC_FD = (os.getpid(), os.open("/proc/self/fd", flags))
    os.link(str(fd), target, src_dir_fd=held[1], follow_symlinks=True)


class _Kept(StagedFile):
    """An inbox file handed to the store, whose :meth:`discard` (the store's way of
    dropping bytes it did not file) moves it aside instead of deleting it: the indexer
    decides from the outcome whether it is a true duplicate or must be kept."""

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            os.replace(self.path, _kept_path(self.path))
        self.close()


def _kept_path(path: Path) -> Path:
    return path.with_suffix(".kept")


def _take(path: Path) -> int | None:
    """A read-only descriptor of ``path`` with its exclusive lock, or None when a
    receiver (or another indexer) holds it or it is gone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if _HAS_FLOCK:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_ino != os.stat(path).st_ino:  # withdrawn and replaced
            raise FileNotFoundError(path)
    except OSError:  # BlockingIOError (held) or FileNotFoundError (gone)
        os.close(fd)
        return None
    return fd


def _source_ae(ds: Any) -> str | None:
    """Source Application Entity Title (0002,0016) of the File Meta Information the
    receiver wrote: the calling AE title of the C-STORE."""
    meta = getattr(ds, "file_meta", None)
    raw = getattr(meta, "_dict", {}).get(0x00020016) if meta is not None else None
    if raw is None:
        return None
    value = raw.value
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip(" \0") or None


def _write_reason(target: Path, reason: str) -> None:
    with contextlib.suppress(OSError):
        target.with_suffix(".txt").write_text(reason + "\n", encoding="utf-8")
