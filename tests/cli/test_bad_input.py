"""Bad input across the commands: damaged files, NaN, unwritable outputs, fixed tables."""

from __future__ import annotations

import csv
import io
import json

import pydicom
import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from tests.conftest import data_path

SIEMENS = "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"
GE = "rdsr/openrem_CT-ESR-GE_Optima.dcm"
TID1500 = "sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm"


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def truncated(tmp_path):
    def cut(name, fraction=0.5):
        raw = data_path(name).read_bytes()
        path = tmp_path / f"cut_{data_path(name).name}"
        path.write_bytes(raw[: int(len(raw) * fraction)])
        return path

    return cut


def test_dump_of_a_truncated_file_prints_what_was_read_and_fails(truncated):
    path = truncated(SIEMENS)
    result = _run("dump", path, "--format", "jsonl")
    assert result.exit_code == 1
    assert 1 < len(result.stdout.splitlines()) < 317
    assert "file is truncated: element (0040,A730)" in result.stderr


def test_measurements_of_a_truncated_report_keep_the_rows_read_and_fail(truncated):
    path = truncated(TID1500, 0.6)
    result = _run("measurements", path, data_path("sr-tid1500/highdicom_sr_document.dcm"))
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) >= 2  # the whole second file, and what the cut one still holds
    assert f"srkit: {path}: file is truncated" in result.stderr


def test_dose_skips_a_named_file_of_the_wrong_kind(tmp_path):
    # the rule of every command: a wrong kind of file is skipped with a note, exit 0
    junk = tmp_path / "text.txt"
    junk.write_text("hello")
    result = _run(
        "dose", data_path(GE), junk, data_path("rdsr/openrem_CT-RDSR-Toshiba_DoseCheck.dcm")
    )
    assert result.exit_code == 0
    reports = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["manufacturer"] for r in reports] == ["GE Medical Systems", "TOSHIBA"]
    note, done = result.stderr.splitlines()
    assert note == f"srkit: {junk}: not a DICOM file (no data elements found); skipped"
    assert done == "srkit dose: 2 reports, 2 rows, 0 errors \u2192 stdout"


def test_dose_of_a_truncated_report_fails(truncated):
    result = _run("dose", truncated(SIEMENS), "--summary")
    assert result.exit_code == 1
    assert "file is truncated" in result.stderr


def test_nan_becomes_null_in_json(tmp_path):
    ds = pydicom.dcmread(data_path("sr-tid1500/highdicom_sr_document.dcm"))
    group = ds.ContentSequence[-1].ContentSequence[0]
    num = next(i for i in group.ContentSequence if i.ValueType == "NUM")
    num.MeasuredValueSequence[0].FloatingPointValue = float("nan")
    path = tmp_path / "nan.dcm"
    ds.save_as(path)
    result = _run("measurements", path)
    row = json.loads(result.stdout)  # valid JSON: no bare NaN
    assert row["value"] is None
    dump = _run("dump", path, "--format", "jsonl")
    records = [json.loads(line) for line in dump.stdout.splitlines()]
    assert any(r["value_type"] == "NUM" and r["value"].get("float", 1) is None for r in records)


def test_measurement_csv_columns_do_not_depend_on_the_data():
    a = _run("measurements", data_path("sr-tid1500/dcmqi_sr-example_sr.dcm"), "--format", "csv")
    b = _run("measurements", data_path("sr-tid1500/highdicom_sr_document.dcm"), "--format", "csv")
    header_a = next(csv.reader(io.StringIO(a.stdout)))
    header_b = next(csv.reader(io.StringIO(b.stdout)))
    assert header_a == header_b
    assert header_a[:6] == [
        "sop_instance_uid",
        "study_instance_uid",
        "series_instance_uid",
        "measurement_group_number",
        "tracking_identifier",
        "tracking_unique_identifier",
    ]
    assert "finding.value" in header_a
    assert "finding" not in header_a
    assert "laterality.meaning" in header_a


def test_parquet_has_one_schema_and_a_clear_error_on_a_bad_path(tmp_path):
    import pyarrow.parquet as pq

    paths = []
    for name in ("sr-tid1500/dcmqi_sr-example_sr.dcm", "sr-tid1500/highdicom_sr_document.dcm"):
        out = tmp_path / (data_path(name).stem + ".parquet")
        assert (
            _run("measurements", data_path(name), "--format", "parquet", "-o", out).exit_code == 0
        )
        paths.append(out)
    schemas = [pq.read_schema(p) for p in paths]
    assert schemas[0] == schemas[1]
    assert str(schemas[0].field("value").type) == "double"
    assert str(schemas[0].field("laterality").type).startswith("struct<value: string")
    table = pq.read_table(paths[1]).to_pylist()
    assert table[0]["units"]["value"] == "cm2"
    bad = _run(
        "measurements", data_path("sr-tid1500/highdicom_sr_document.dcm"), "--format", "parquet",
        "-o", "/proc/nope/x.parquet",
    )  # fmt: skip
    assert bad.exit_code == 1
    assert bad.stderr.startswith("srkit: /proc/nope/x.parquet: cannot write")
    assert ".part" not in bad.stderr


def test_read_only_database_commands_do_not_create_a_database(tmp_path):
    missing = tmp_path / "nowhere" / "db.sqlite"
    result = _run("ls", "studies", "--db", missing)
    assert result.exit_code == 1
    assert "no such database" in result.stderr
    assert not missing.parent.exists()


def test_serve_rejects_a_port_out_of_range():
    assert _run("serve", "--port", "99999").exit_code == 2


def test_truncated_dicom_header_is_named_truncated(tmp_path):
    raw = data_path(GE).read_bytes()
    path = tmp_path / "tiny.dcm"
    path.write_bytes(raw[:200])
    result = _run("dump", path)
    assert result.exit_code == 1
    assert "truncated" in result.stderr
