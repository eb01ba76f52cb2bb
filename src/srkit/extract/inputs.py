"""The inputs of batch work: files named, and the files under folders named."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["iter_files"]


def iter_files(
    paths: Iterable[str | os.PathLike[str]], *, recursive: bool = True
) -> Iterator[Path]:
    """Files named and files under named folders (sorted, recursively); missing paths too,
    so that the caller reports them."""
    for p in paths:
        path = Path(p)
        if path.is_dir() and recursive:
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    yield Path(root) / name
        else:
            yield path
