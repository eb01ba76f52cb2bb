"""Files made ahead by a thread of their own, for the receivers of the deferred index.

A receiver that writes a data set into the inbox needs a new file (an inode) for
each one. Making it can cost far more than writing the bytes: ext4 without a
journal (the file system of this project's CI machines) passes over every inode of
the block group deleted in the last minute or more before it gives one out,
reading each one's deletion time (``recently_deleted()`` in ``fs/ext4/ialloc.c``).
One ``open(O_TMPFILE)`` then took 0.27 ms of CPU one second after 3,000 files of
another folder were deleted, 0.54 ms after 6,000, against 0.007 ms on a quiet file
system; a receiver making its next file after each answer spent 0.43 ms of its
1.09 ms per CT image doing so (one association, started shortly after an earlier
benchmark's files were deleted).

:class:`SpareFiles` keeps up to ``limit`` such files ready, made by a daemon thread
of the process that wants them (``os.open`` lets go of the GIL): a receiver takes
one (:meth:`SpareFiles.take`) and asks for a new one (:meth:`SpareFiles.refill`),
and the making happens on whichever core is free while the receiver reads its next
request. A forked child makes its own (its parent's thread is not copied, and the
copies of its parent's descriptors share their locks with the parent).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable

__all__ = ["SpareFiles"]

IDLE_EXIT = 60.0
"""Seconds without a :meth:`SpareFiles.refill` after which the thread ends (the next
refill starts another)."""

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())


class SpareFiles:
    """Up to ``limit`` descriptors made by ``make`` ahead of need, per process."""

    def __init__(self, make: Callable[[], int], limit: int, *, name: str = "spare files") -> None:
        self._make = make
        self.limit = limit
        self._name = name
        self._ready: list[tuple[int, int]] = []  # (pid, descriptor)
        self._cond = threading.Condition()
        self._wanted = False
        self._closed = False
        self._thread: tuple[int, threading.Thread] | None = None  # (pid, thread)
        self.failure: OSError | None = None
        """The last error of ``make`` (the thread then waits for the next refill)."""

    def take(self) -> int:
        """A ready descriptor of this process, or -1 when none is ready."""
        pid = os.getpid()
        with self._cond:
            while self._ready:
                owner, fd = self._ready.pop(0)
                if owner == pid:
                    return fd
                # a forked child's copy of its parent's file: its lock is shared
                with contextlib.suppress(OSError):
                    os.close(fd)
        return -1

    def refill(self) -> None:
        """Have the thread make files until ``limit`` are ready (it is started in this
        process first if it is not running); returns at once. While more than half
        of ``limit`` are ready it is left alone: each wake-up costs the caller a
        hand-over of the GIL, so the thread makes several at a time."""
        pid = os.getpid()
        with self._cond:
            if self._closed:
                return
            if 2 * self._count(pid) > self.limit:
                return
            self._wanted = True
            running = self._thread
            if running is None or running[0] != pid or not running[1].is_alive():
                thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                self._thread = (pid, thread)
                thread.start()
            else:
                self._cond.notify()

    def make_here(self) -> None:
        """Make one file in the calling thread, if fewer than ``limit`` are ready (a
        caller whose cores are busy anyway: no hand-over to the thread); an error of
        ``make`` is left for the taker, which makes its own."""
        pid = os.getpid()
        with self._cond:
            if self._closed or self._count(pid) >= self.limit:
                return
        try:
            fd = self._make()
        except OSError:
            return
        self._keep(pid, fd)

    def _count(self, pid: int) -> int:
        """How many ready files are ``pid``'s (the caller holds the lock)."""
        return sum(1 for owner, _fd in self._ready if owner == pid)

    def _keep(self, pid: int, fd: int) -> bool:
        """Add a file just made to the ready ones; False (and closed) once closed."""
        with self._cond:
            if self._closed:
                with contextlib.suppress(OSError):
                    os.close(fd)
                return False
            self._ready.append((pid, fd))
            self.failure = None
            self._cond.notify_all()
            return True

    def held(self) -> list[int]:
        """The descriptors of this process that are ready (still held here)."""
        pid = os.getpid()
        with self._cond:
            return [fd for owner, fd in self._ready if owner == pid]

    def wait_ready(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` files of this process are ready; False after
        ``timeout`` seconds, or once the thread stopped short of them (``make``
        failed, or no refill asked for them)."""
        pid = os.getpid()
        with self._cond:
            self._cond.wait_for(lambda: self._count(pid) >= count or not self._wanted, timeout)
            return self._count(pid) >= count

    def close(self) -> None:
        """Stop the thread and close the ready files (an unnamed file goes with them)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
            ready, self._ready = self._ready, []
        pid = os.getpid()
        for owner, fd in ready:
            if owner == pid:
                with contextlib.suppress(OSError):
                    os.close(fd)
        if thread is not None and thread[0] == pid and thread[1] is not threading.current_thread():
            thread[1].join(timeout=5)

    def _work(self) -> None:
        pid = os.getpid()
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._wanted or self._closed, IDLE_EXIT):
                    if self._thread is not None and self._thread[1] is threading.current_thread():
                        self._thread = None
                    return
                if self._closed:
                    return
                short = self.limit - self._count(pid)
                if short <= 0:
                    self._wanted = False
                    self._cond.notify_all()
                    continue
            try:
                fd = self._make()  # outside the lock: a taker never waits for it
            except OSError as exc:  # no room for an inode, say: the taker makes its own
                with self._cond:
                    if self.failure is None or str(self.failure) != str(exc):
                        LOGGER.warning("%s: cannot make one ahead: %s", self._name, exc)
                    self.failure = exc
                    self._wanted = False
                    self._cond.notify_all()
                continue
            if not self._keep(pid, fd):
                return
