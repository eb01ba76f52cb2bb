"""``srkit measurements``: formats, folders, kinds, bad files."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from srkit.cli.main import cli
from tests.conftest import data_path


def _run(*args: str):
    return CliRunner().invoke(cli, ["measurements", *args])


def test_folder_jsonl_in_document_order() -> None:
    result = _run(str(data_path("sr-tid1500")))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    # 2 + 7 + 22 + 1 + 4 NUMs of measurement groups (dsrdump), files sorted by name
    assert len(rows) == 36
    assert rows[0]["tracking_identifier"].startswith("Cornerstone3DTools")
    assert rows[0]["value"] == 64.4505437946691
    dcmqi = [r for r in rows if r["tracking_identifier"] == "primary tumor"]
    assert [r["value"] for r in dcmqi[:3]] == [6.01529, 2.91136, 10.3814]
    assert rows[-1]["tracking_identifier"] == "Vertebra0001"
    assert rows[-1]["units"] == {"value": "mm3", "scheme": "UCUM", "meaning": "cubic millimeter"}


def test_whole_data_folder_skips_images_and_other_srs() -> None:
    result = _run(str(data_path("")), "--kind", "qualitative")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["value"]["meaning"] for r in rows] == [
        "Level of T4/T5 intervertebral disc",
        "Not significant",
    ]
    assert "units" not in rows[0]


def test_csv_output_file(tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    result = _run(
        str(data_path("sr-tid1500/highdicom_sr_document.dcm")), "--format", "csv", "-o", str(out)
    )
    assert result.exit_code == 0
    (row,) = list(csv.DictReader(io.StringIO(out.read_text())))
    assert row["tracking_identifier"] == "Planar ROI Measurements"
    assert row["quantity.meaning"] == "Area of defined region"
    assert row["value"] == "1.7"
    assert row["units.value"] == "cm2"
    assert row["source_sop_instance_uids"] == "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"


def test_parquet_output(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "m.parquet"
    result = _run(
        str(data_path("sr-tid1500/dcmqi_sr-example_sr.dcm")), "--format", "parquet", "-o", str(out)
    )
    assert result.exit_code == 0
    table = pq.read_table(out)
    assert table.num_rows == 22
    assert table.column("value").to_pylist()[:2] == [6.01529, 2.91136]
    assert table.column("segment_number").to_pylist()[0] == 1


def test_parquet_needs_output() -> None:
    result = _run(str(data_path("sr-tid1500")), "--format", "parquet")
    assert result.exit_code == 2


def test_bad_file_reported_and_good_rows_still_written(tmp_path: Path) -> None:
    bad = tmp_path / "broken.dcm"
    bad.write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10")
    shutil.copy(data_path("sr-tid1500/highdicom_sr_document.dcm"), tmp_path / "good.dcm")
    (tmp_path / "notes.txt").write_text("not dicom")
    result = _run(str(tmp_path))
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 1
    assert "broken.dcm" in result.stderr
    assert "notes.txt" not in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[1:] == [
        "srkit measurements: 2 files, 1 row, 1 error \u2192 stdout"
    ]


def test_missing_path_named() -> None:
    result = _run("/nonexistent/x.dcm")
    assert result.exit_code == 1
    assert "/nonexistent/x.dcm" in result.stderr


def test_non_tid1500_file_gives_no_rows() -> None:
    # the rule of every command: a wrong kind of file is skipped with a note; nothing
    # at all to use is exit 1
    sr, ct = data_path("sr-other/pydicom_test-SR.dcm"), data_path("ct/pydicom_CT_small.dcm")
    result = _run(str(sr), str(ct))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"srkit: {sr}: not a TID 1500 measurement report; skipped",
        f"srkit: {ct}: not an SR document; skipped",
        "srkit measurements: 2 files, 0 rows, 0 errors \u2192 stdout",
        f"srkit: no TID 1500 measurement report found in {sr}, {ct}",
    ]


def test_a_wrong_kind_of_file_beside_a_report_is_skipped(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not dicom")
    report = data_path("sr-tid1500/highdicom_sr_document.dcm")
    out = tmp_path / "m.csv"
    result = _run(str(notes), str(report), "--format", "csv", "-o", str(out))
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"srkit: {notes}: not a DICOM file (no SOP Class UID, patient or content found); skipped",
        f"srkit measurements: 2 files, 1 row, 0 errors \u2192 {out}",
    ]
    assert len(out.read_text().splitlines()) == 2


def test_verbose_prints_diagnostics() -> None:
    result = _run(str(data_path("sr-tid1500/dcmjs_structured_report.dcm")), "-v")
    assert result.exit_code == 0
    assert "has no Finding" in result.stderr
    quiet = _run(str(data_path("sr-tid1500/dcmjs_structured_report.dcm")))
    assert "has no Finding" not in quiet.stderr
