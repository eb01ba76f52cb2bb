"""Records to tables: JSON lines, JSON, CSV and Parquet (pyarrow). No other layer formats rows."""

from srkit.tables.write import FORMATS, Schema, finite, flatten, to_arrow, write_rows

__all__ = ["FORMATS", "Schema", "finite", "flatten", "to_arrow", "write_rows"]
