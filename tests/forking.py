"""Running a check in a forked child, for tests of what a forked worker sees."""

from __future__ import annotations

import os
from collections.abc import Callable


def in_child(check: Callable[[], bool]) -> bool:
    """Whether ``check()`` returns true in a forked child (which reports through a
    pipe and ends with ``os._exit``, whatever happens in it)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        code = 1
        try:
            os.close(read)
            code = 0 if check() else 1
        finally:
            os.write(write, bytes([code]))
            os._exit(code)
    os.close(write)
    try:
        return os.read(read, 1) == b"\x00"
    finally:
        os.close(read)
        os.waitpid(pid, 0)
