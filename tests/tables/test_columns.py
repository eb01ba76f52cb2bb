"""The same columns for the same data (issue 13): ``srkit measurements`` on the files
and ``srkit query measurements`` on the database that imported them write one header
in CSV, one key set in JSON lines and one Arrow schema in Parquet, whatever the rows
hold (code versions, empty codes)."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.db.srquery import _CONTEXT
from srkit.tables.schemas import CONTEXT_COLUMNS, MEASUREMENTS, QUALITATIVE
from tests.conftest import data_path


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("columns")
    db = str(tmp / "db.sqlite")
    folder = str(data_path("sr-tid1500"))
    result = CliRunner().invoke(cli, ["import", folder, "--db", db])
    assert result.exit_code == 0, result.output
    return tmp, folder, db


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("kind", ["quantitative", "qualitative"])
def test_csv_header_is_the_same_from_files_and_database(sources, kind):
    _tmp, folder, db = sources
    files = _run("measurements", folder, "--format", "csv", "--kind", kind)
    stored = _run("query", "measurements", "--db", db, "--format", "csv", "--kind", kind)
    header = next(csv.reader(io.StringIO(files)))
    assert next(csv.reader(io.StringIO(stored))) == header
    schema = MEASUREMENTS if kind == "quantitative" else QUALITATIVE
    # every code column has its four parts, every other column one
    assert len(header) == len(schema.columns) + 3 * len(schema.codes & set(schema.columns))
    assert len(list(csv.reader(io.StringIO(files)))) == len(list(csv.reader(io.StringIO(stored))))


def test_json_lines_keys_are_the_same(sources):
    _tmp, folder, db = sources
    files = [json.loads(line) for line in _run("measurements", folder).splitlines()]
    stored = [json.loads(line) for line in _run("query", "measurements", "--db", db).splitlines()]
    assert {tuple(r) for r in files} == {tuple(r) for r in stored} == {tuple(MEASUREMENTS.columns)}
    key = lambda r: (r["sop_instance_uid"], r["measurement_group_number"], r["quantity"]["value"])  # noqa: E731
    assert sorted(files, key=key) == sorted(stored, key=key)


def test_parquet_schema_is_the_same(sources):
    tmp, folder, db = sources
    _run("measurements", folder, "--format", "parquet", "-o", str(tmp / "files.parquet"))
    _run("query", "measurements", "--db", db, "--format", "parquet", "-o", str(tmp / "db.parquet"))
    assert pq.read_schema(tmp / "files.parquet") == pq.read_schema(tmp / "db.parquet")


def test_context_columns_follow_the_contract_columns(sources):
    _tmp, _folder, db = sources
    out = _run("query", "measurements", "--db", db, "--format", "csv", "--context")
    header = next(csv.reader(io.StringIO(out)))
    assert header[-len(CONTEXT_COLUMNS) :] == list(CONTEXT_COLUMNS)
    # the database selects exactly these (one list of names for both)
    assert tuple(c.key for c in _CONTEXT) == CONTEXT_COLUMNS


def test_context_modality_is_the_sr_series_modality(sources):
    """The measurement row's ``modality`` is its series' own (``SR``), filled (a dose
    row calls it ``series_modality``, its report's ``modality`` being what the dose is
    about)."""
    _tmp, _folder, db = sources
    out = _run("query", "measurements", "--db", db, "--format", "csv", "--context")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows
    assert {r["modality"] for r in rows} == {"SR"}
