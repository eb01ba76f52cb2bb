"""``srkit export parquet --db URL -o DIR``: the datasets of the database hold the
rows extraction from the same files writes."""

from __future__ import annotations

import pytest

from srkit.db import Database
from srkit.db.export import export_dataset
from srkit.extract.run import extract
from tests.conftest import data_path
from tests.extract.corpus import make_corpus
from tests.extract.helpers import table_rows


@pytest.mark.parametrize(
    ("kind", "tables", "folders"),
    [
        ("quantitative", ["measurements"], ["sr-tid1500"]),
        ("qualitative", ["qualitative"], ["sr-tid1500"]),
        ("dose", ["dose_reports", "dose_events"], ["rdsr"]),
        ("instances", ["instances"], []),
    ],
)
def test_export_equals_extraction(tmp_path, kind, tables, folders):
    """Instances: a generated corpus (fresh study and series UIDs for every file), since
    the database files study and series attributes once per study and series."""
    paths = [data_path(f) for f in folders] or [tmp_path / "corpus"]
    if not folders:
        make_corpus(tmp_path / "corpus", 24)
    db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        db.import_paths([str(p) for p in paths])
        counts = export_dataset(db, tmp_path / "db", kind=kind)
    finally:
        db.close()
    summary = extract(paths, kind=kind, out=tmp_path / "files", executor="serial")
    assert counts == summary.rows
    assert sum(counts.values()) > 0
    for table in tables:
        assert table_rows(tmp_path / "db", table) == table_rows(tmp_path / "files", table)
