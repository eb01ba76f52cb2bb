"""Sleeping until a folder changes: Linux ``inotify`` through :mod:`ctypes`.

The deferred index's indexers poll their inbox while instances come and go (a
wake-up every few milliseconds finds work in batches). Once the inbox has been
quiet for a while they sleep in :meth:`FolderWatch.wait` instead, which returns when
a file is created, moved in, or closed after writing in a watched folder (an inbox
file is created locked and unlocked by the close that follows the answer), or when
another descriptor (the indexer's stop pipe) is readable. Where ``inotify`` is
missing (another system, a sandbox that refuses it) :attr:`FolderWatch.available`
is False and the indexer keeps polling.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["FolderWatch"]

_IN_CLOSE_WRITE = 0x008
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_MASK = _IN_CLOSE_WRITE | _IN_MOVED_TO | _IN_CREATE


def _libc() -> Any | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.inotify_init1.argtypes = [ctypes.c_int]
        libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
    except (OSError, AttributeError, TypeError):  # not Linux, a libc without inotify
        return None
    return libc


class FolderWatch:
    """Changes of the files in ``folders`` (each watched once it exists).

    Parameters
    ----------
    folders : iterable of path
        The folders to watch; one that does not exist yet is watched from the first
        :meth:`wait` that finds it.
    """

    def __init__(self, folders: Iterable[str | os.PathLike[str]]) -> None:
        self._folders = [os.fsencode(Path(f)) for f in folders]
        self._watched: set[bytes] = set()
        self._libc = _libc()
        self._fd = -1
        if self._libc is not None:
            fd = int(self._libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
            self._fd = fd if fd >= 0 else -1

    @property
    def available(self) -> bool:
        """Whether changes can be waited for (else the caller polls)."""
        return self._fd >= 0

    def _watch_new(self) -> bool:
        """Watch the folders that exist now; whether one was added."""
        added = False
        for folder in self._folders:
            if folder not in self._watched and os.path.isdir(folder):
                assert self._libc is not None
                if int(self._libc.inotify_add_watch(self._fd, folder, _MASK)) >= 0:
                    self._watched.add(folder)
                    added = True
        return added

    def wait(self, timeout: float, *, also: int | None = None) -> bool:
        """Sleep until a watched folder changes (True), or ``also`` (a descriptor) is
        readable, or ``timeout`` seconds have passed (False). The events are consumed.
        A folder watched for the first time counts as changed (what happened in it
        before could not be seen). Without :attr:`available` it only sleeps (on
        ``also`` if given)."""
        fds = [also] if also is not None else []
        if self.available:
            if self._watch_new():
                return True
            if self._watched:
                fds.append(self._fd)
        try:
            ready, _, _ = select.select(fds, [], [], timeout)
        except InterruptedError:  # a signal: the caller looks at its stop flag
            return False
        if self._fd >= 0 and self._fd in ready:
            with contextlib.suppress(BlockingIOError, InterruptedError):
                while os.read(self._fd, 1 << 16):
                    pass
            return True
        return False

    def close(self) -> None:
        """Release the descriptor (the watch is then unavailable)."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)
