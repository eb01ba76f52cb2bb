"""A stop request that signal handlers may set: :class:`StopSignal`.

A handler for SIGINT or SIGTERM runs between two bytecodes of the main thread,
wherever that thread is. It must therefore neither raise (an exception raised inside
``os.fork()``'s at-fork callbacks, a ``finally`` or a ``__del__`` is printed and
dropped, and the stop is lost) nor take a lock (``threading.Event.set`` takes the
lock that ``Event.wait`` may be holding at that very moment in the same thread, a
deadlock). :meth:`StopSignal.set` only assigns a flag and writes a byte to a pipe,
and :meth:`StopSignal.wait` sleeps in ``select`` on that pipe, so a signal ends the
wait at once.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
from types import FrameType

__all__ = ["StopSignal"]


class StopSignal:
    """Set by SIGINT and SIGTERM (after :meth:`install`) or by :meth:`set`; waitable.

    :meth:`wake` ends a :meth:`wait` without setting the flag (the supervisor's
    SIGCHLD handler uses it).
    """

    def __init__(self) -> None:
        self._set = False
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def set(self) -> None:
        self._set = True
        self.wake()

    def wake(self) -> None:
        with contextlib.suppress(OSError):  # a full pipe wakes the waiter already
            os.write(self._write, b"\0")

    def is_set(self) -> bool:
        return self._set

    def fileno(self) -> int:
        """The pipe's reading end: readable once :meth:`set` or :meth:`wake` was
        called (for a caller that waits on other descriptors too; :meth:`wait` with
        ``timeout=0`` then empties it)."""
        return self._read

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until :meth:`set` or :meth:`wake` (or ``timeout`` seconds); whether set."""
        if not self._set:
            with contextlib.suppress(InterruptedError):
                select.select([self._read], [], [], timeout)
            with contextlib.suppress(OSError):
                while os.read(self._read, 512):
                    pass
        return self._set

    def handler(self, signum: int, frame: FrameType | None) -> None:
        self.set()

    def install(self, *signals: signal.Signals) -> None:
        """Make each of ``signals`` (SIGINT and SIGTERM by default) set this flag."""
        for sig in signals or (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self.handler)

    def close(self) -> None:
        """Close the pipe (in a forked child that has no use for its parent's)."""
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)
