"""Pause Python's cyclic garbage collector while a document is built.

Reading a large SR allocates millions of small objects (elements, items, values) that
all stay alive: each generation-2 collection the allocations trigger walks every one
of them, so with the collector on, reading time per content item grew with the
document (about 2x at 100,000 items, ``benchmarks/bench_scaling.py``). The reader's
objects form no reference cycles that need collecting before the read ends, so the
collector is paused for the read and resumed after it; reads in several threads
share one pause (a counter), and a collector the caller had disabled stays disabled.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused"]

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def paused() -> Iterator[None]:
    """Run the block with the cyclic garbage collector off (nested and threaded use
    allowed); its previous state is restored when the last block ends."""
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
