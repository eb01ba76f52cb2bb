"""The same dose columns for the same data (issue 13): ``srkit dose`` on the shared
RDSRs and ``srkit query dose`` on a database that ``srkit import`` filled with them
write one header in CSV, one key set in JSON lines and one Arrow schema in Parquet,
for report rows and event rows alike, whatever the reports hold."""

from __future__ import annotations

import csv
import io
import json

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.codec import read
from srkit.model.items import NumContentItem
from srkit.tables.schemas import (
    DOSE_CONTEXT_COLUMNS,
    DOSE_EVENTS,
    DOSE_REPORTS,
    DRL_COLUMNS,
    dose_schema,
)
from srkit.tables.write import Schema, conform
from tests.conftest import data_path

TOSHIBA = "rdsr/openrem_CT-RDSR-Toshiba_DoseCheck.dcm"
ARTIS = "rdsr/pyskindose_siemens_axiom_artis.dcm"


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dose-columns")
    db = str(tmp / "db.sqlite")
    folder = str(data_path("rdsr"))
    result = CliRunner().invoke(cli, ["import", folder, "--db", db])
    assert result.exit_code == 0, result.output
    return tmp, folder, db


def _run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _cells(schema: Schema) -> list[str]:
    return [
        f"{c}.{p}" if c in schema.codes else c
        for c in schema.columns
        for p in (("value", "scheme", "meaning", "version") if c in schema.codes else ("",))
    ]


FILES = {"event": ["--events"], "report": ["--summary"]}


@pytest.mark.parametrize("level", ["event", "report"])
def test_csv_header_is_the_same_from_files_and_database(sources, level):
    _tmp, folder, db = sources
    files = _run("dose", folder, *FILES[level], "--format", "csv")
    stored = _run("query", "dose", "--db", db, "--level", level, "--format", "csv")
    header = next(csv.reader(io.StringIO(files)))
    assert next(csv.reader(io.StringIO(stored))) == header
    schema = DOSE_EVENTS if level == "event" else DOSE_REPORTS
    assert header == _cells(schema)
    assert len(header) == (208 if level == "event" else 22)

    def by(r: dict[str, str]) -> tuple[str, str]:
        return r["sop_instance_uid"], r.get("event_number", "")

    assert sorted(csv.DictReader(io.StringIO(files)), key=by) == sorted(
        csv.DictReader(io.StringIO(stored)), key=by
    )


def test_the_header_does_not_depend_on_the_data():
    ct = _run("dose", str(data_path(TOSHIBA)), "--format", "csv")
    xray = _run("dose", str(data_path(ARTIS)), "--format", "csv")
    assert ct.splitlines()[0] == xray.splitlines()[0] == ",".join(_cells(DOSE_EVENTS))


@pytest.mark.parametrize("level", ["event", "report"])
def test_json_lines_keys_and_values_are_the_same(sources, level):
    _tmp, folder, db = sources
    files = [json.loads(line) for line in _run("dose", folder, *FILES[level]).splitlines()]
    stored = [
        json.loads(line)
        for line in _run("query", "dose", "--db", db, "--level", level).splitlines()
    ]
    schema = DOSE_EVENTS if level == "event" else DOSE_REPORTS
    assert {tuple(r) for r in files} == {tuple(r) for r in stored} == {tuple(schema.columns)}
    key = lambda r: (r["sop_instance_uid"], r.get("event_number") or 0)  # noqa: E731
    assert sorted(files, key=key) == sorted(stored, key=key)
    assert len(files) == (116 if level == "event" else 7)


@pytest.mark.parametrize("level", ["event", "report"])
def test_parquet_schema_is_the_same(sources, level):
    tmp, folder, db = sources
    mine, theirs = tmp / f"files-{level}.parquet", tmp / f"db-{level}.parquet"
    _run("dose", folder, *FILES[level], "--format", "parquet", "-o", str(mine))
    _run("query", "dose", "--db", db, "--level", level, "--format", "parquet", "-o", str(theirs))
    assert pq.read_schema(mine) == pq.read_schema(theirs)
    assert pq.read_schema(mine).names == list((dose_schema(level)).columns)
    assert pq.read_table(mine).num_rows == pq.read_table(theirs).num_rows


def test_a_dlp_total_is_the_files_number_in_its_unit(sources):
    """Toshiba's CT Dose Length Product Total (113813, DCM) is 502.4 mGy.cm in the file;
    the report row and each event row say so from the file and from the database."""
    _tmp, _folder, db = sources
    doc = read(data_path(TOSHIBA))
    (total,) = [
        p.item
        for p in doc.walk()
        if isinstance(p.item, NumContentItem)
        and p.item.concept is not None
        and p.item.concept.value == "113813"
    ]
    assert total.units is not None
    assert (total.value, total.units.value) == (pytest.approx(502.4), "mGy.cm")
    uid = doc.sop_instance_uid
    (report,) = json.loads(_run("dose", str(data_path(TOSHIBA)), "--summary", "--format", "json"))
    stored = json.loads(
        _run("query", "dose", "--db", db, "--format", "json", "-w", f"sop_instance_uid={uid}")
    )
    assert report["dlp_total"] == stored[0]["dlp_total"] == pytest.approx(502.4)
    events = _run("dose", str(data_path(TOSHIBA)), "--format", "csv")
    stored_events = _run(
        "query", "dose", "--db", db, "--level", "event", "--format", "csv",
        "-w", f"sop_instance_uid={uid}",
    )  # fmt: skip
    mine = list(csv.DictReader(io.StringIO(events)))
    theirs = list(csv.DictReader(io.StringIO(stored_events)))
    assert [r["accumulated.ct_dose_length_product_total"] for r in mine] == ["502.4", "502.4"]
    assert mine == theirs


def test_context_and_reference_levels_are_columns_of_their_own(sources):
    _tmp, _folder, db = sources
    out = _run("query", "dose", "--db", db, "--level", "event", "--format", "csv", "--context")
    header = next(csv.reader(io.StringIO(out)))
    assert header[-len(DOSE_CONTEXT_COLUMNS) - 1 : -1] == list(DOSE_CONTEXT_COLUMNS)
    assert header[-1] == "other"
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["series_modality"] for r in rows} == {"SR"}
    # without --context the patient is neither a column nor in "other"
    plain = _run("query", "dose", "--db", db, "--level", "event", "--format", "jsonl")
    assert not any("patient_id" in (json.loads(line)["other"] or {}) for line in plain.splitlines())
    compared = dose_schema("report", drl=True)
    assert list(compared.columns[-len(DRL_COLUMNS) :]) == [n for n, _ in DRL_COLUMNS]


def test_what_the_columns_cannot_hold_goes_to_other():
    row = {
        "sop_instance_uid": "1.2.3",
        "event_number": 1,
        "event.dose_area_product": {"value": 12.5, "unit": "mGycm2", "scheme": "99ACME"},
        "event.kvp": 77.0,
        "event.philips_fluoro_flavour": "A",
        "event.reference_point_definition": "30 cm in front of the detector",
        "patient_id": "ignored without --context",
    }
    out = conform(row, DOSE_EVENTS)
    assert list(out) == list(DOSE_EVENTS.columns)
    assert out["event.kvp"] == 77.0
    assert out["event.dose_area_product"] is None
    assert out["event.reference_point_definition"] is None
    assert out["other"] == {
        "event.dose_area_product": row["event.dose_area_product"],
        "event.philips_fluoro_flavour": "A",
        "event.reference_point_definition": "30 cm in front of the detector",
    }
