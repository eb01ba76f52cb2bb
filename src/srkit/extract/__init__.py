"""Batch verbs over many files (``srkit measurements``): inputs, rows, errors named by
file. The layer of architecture.md between ``load/`` and ``db/``."""

from __future__ import annotations

from srkit.extract.inputs import iter_files
from srkit.extract.measurements import extract_rows, measurement_files

__all__ = ["extract_rows", "iter_files", "measurement_files"]
