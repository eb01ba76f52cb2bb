"""Reading datasets back for the tests: every table through DuckDB, rows sorted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import require_module


def table_rows(folder: Path, table: str) -> list[str]:
    """The rows of ``folder/table`` as sorted JSON texts (DuckDB reads the parts)."""
    duckdb = require_module("duckdb")
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{folder / table}/*.parquet')")
    names = rel.columns
    return sorted(
        json.dumps(dict(zip(names, row)), sort_keys=True, default=str) for row in rel.fetchall()
    )


def sql(query: str) -> list[tuple[Any, ...]]:
    duckdb = require_module("duckdb")
    return duckdb.sql(query).fetchall()


def errors(folder: Path) -> list[tuple[str, str, str]]:
    """(file name, stage, reason) of the errors table, sorted."""
    rows = sql(f"SELECT path, stage, reason FROM read_parquet('{folder}/errors/*.parquet')")
    return sorted((Path(p).name if "://" not in p else p, s, r) for p, s, r in rows)


def same_dataset(a: Path, b: Path, tables: list[str]) -> None:
    for table in tables:
        assert table_rows(a, table) == table_rows(b, table), table
    assert errors(a) == errors(b)
