"""Batch verbs over many files (``srkit measurements``, ``srkit dose``): inputs, rows, errors named by
file. The layer of architecture.md between ``load/`` and ``db/``."""

from __future__ import annotations

from srkit.extract.dose import dose_reports
from srkit.extract.inputs import iter_files
from srkit.extract.measurements import extract_rows, measurement_files

__all__ = ["dose_reports", "extract_rows", "iter_files", "measurement_files"]
