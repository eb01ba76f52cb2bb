"""Records to tables: JSON lines, JSON, CSV and Parquet (pyarrow). No other layer formats rows."""

from typing import Any

from srkit.tables.write import FORMATS, Schema, finite, flatten, to_arrow, write_rows

__all__ = ["FORMATS", "Schema", "extract", "finite", "flatten", "to_arrow", "write_rows"]


def extract(paths: Any, **options: Any) -> Any:
    """Inputs to a partitioned Parquet dataset (``kind=``, ``out=``, ``executor=``):
    the verb lives in :func:`srkit.extract.run.extract` (a layer above), found when
    called."""
    import importlib

    run = importlib.import_module("srkit.extract.run")
    return run.extract(paths, **options)
