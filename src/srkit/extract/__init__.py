"""Batch verbs over many files (``srkit measurements``, ``srkit dose``, ``srkit
instances``): inputs, rows, errors named by file; at archive scale a Parquet dataset
written batch by batch on a process pool or a Dask cluster (:func:`extract`). The
layer of architecture.md between ``load/`` and ``db/``."""

from __future__ import annotations

from typing import Any

from srkit.extract.dose import dose_reports
from srkit.extract.inputs import iter_files
from srkit.extract.measurements import extract_rows, measurement_files

__all__ = ["dose_reports", "extract", "extract_rows", "iter_files", "measurement_files"]


def extract(paths: Any, **options: Any) -> Any:
    """Inputs to a Parquet dataset: see :func:`srkit.extract.run.extract`."""
    from srkit.extract.run import extract as _extract

    return _extract(paths, **options)
