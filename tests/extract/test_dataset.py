"""Parquet datasets from files (srkit.extract.run, srkit measurements/dose/instances
-o DIR): fixed schemas read by DuckDB, errors named, exactly-once rows after a crash
and a resume, the process pool equal to one process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from srkit.extract.run import extract
from tests.conftest import data_path
from tests.extract.corpus import BROKEN
from tests.extract.helpers import errors, same_dataset, sql, table_rows

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _srkit(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run(
        [sys.executable, "-m", "srkit.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def test_measurements_dataset_answers_sql(tmp_path):
    out = tmp_path / "m"
    summary = extract([data_path("sr-tid1500")], kind="quantitative", out=out, executor="serial")
    assert summary.errors == 0
    assert summary.rows == {"measurements": 36}
    # the dcmqi example: Volume of the liver segment, in cubic millimetres
    rows = sql(
        f"SELECT quantity.meaning, value, units.value FROM '{out}/measurements/*.parquet' "
        "WHERE quantity.value = '118565006' ORDER BY value"
    )
    assert rows
    assert all(unit == "mm3" for _, _, unit in rows)
    manifest = sql(f"SELECT status, count(*), sum(rows) FROM '{out}/manifest/*.parquet' GROUP BY 1")
    assert {s: (n, r) for s, n, r in manifest}["ok"] == (5, 36)


def test_schema_is_fixed_whatever_the_data(tmp_path):
    """A batch whose rows have no laterality or segment still types the columns."""
    import pyarrow.parquet as pq

    out = tmp_path / "m"
    extract(
        [data_path("sr-tid1500")], kind="quantitative", out=out, executor="serial", batch_size=1
    )
    schemas = {pq.read_schema(p) for p in (out / "measurements").glob("*.parquet")}
    assert len({str(s) for s in schemas}) == 1
    schema = next(iter(schemas))
    assert str(schema.field("value").type) == "double"
    assert str(schema.field("segment_number").type) == "int64"
    assert schema.field("laterality").type.num_fields == 4
    # an empty extraction has the same tables, readable
    empty = tmp_path / "e"
    extract([data_path("ct")], kind="quantitative", out=empty, executor="serial")
    assert pq.read_schema(next((empty / "measurements").glob("*.parquet"))) == schema
    assert sql(f"SELECT count(*) FROM '{empty}/measurements/*.parquet'") == [(0,)]


def test_dose_dataset(tmp_path):
    out = tmp_path / "d"
    summary = extract([data_path("rdsr")], kind="dose", out=out, executor="serial")
    assert summary.rows == {"dose_reports": 7, "dose_events": 116}
    (total,) = sql(
        f"SELECT round(sum(dlp_total), 2) FROM '{out}/dose_reports/*.parquet' WHERE template = '10011'"
    )[0]
    assert total == pytest.approx(2508.22)  # mGy.cm over the three CT reports
    per_report = sql(
        f"SELECT r.sop_instance_uid, r.number_of_events, count(e.event_number) "
        f"FROM '{out}/dose_reports/*.parquet' r JOIN '{out}/dose_events/*.parquet' e "
        "USING (sop_instance_uid) GROUP BY 1, 2"
    )
    assert all(n == m for _, n, m in per_report)


def test_instances_dataset(tmp_path):
    out = tmp_path / "i"
    extract([data_path("ct")], kind="instances", out=out, executor="serial")
    rows = sql(
        f"SELECT patient_name, modality, rows, columns FROM '{out}/instances/*.parquet' "
        "WHERE sop_instance_uid = '1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322'"
    )
    assert rows == [("CompressedSamples^CT1", "CT", 128, 128)]


def test_instance_columns_are_the_database_index():
    from srkit.db.attributes import ATTRIBUTES
    from srkit.extract.instances import INSTANCE_ATTRIBUTES

    assert [(a.keyword, a.column, a.vr) for a in ATTRIBUTES.values()] == list(INSTANCE_ATTRIBUTES)


def test_bad_input_is_named_and_the_rest_proceeds(tmp_path, corpus):
    out = tmp_path / "bad"
    missing = "https://127.0.0.1:9/no-such-report.dcm"
    inputs = [
        *corpus.glob("sr00000_*.dcm"),
        *(corpus / b for b in ("truncated.dcm", "not-dicom.dcm", "ct-image.dcm")),
        missing,
    ]
    done = _srkit("measurements", *map(str, inputs), "-o", f"{out}/", "--jobs", "1")
    assert done.returncode == 1, done.stderr
    found = errors(out)
    names = [f[0] for f in found]
    assert names == sorted(["ct-image.dcm", "not-dicom.dcm", "truncated.dcm", missing])
    reasons = {f[0]: (f[1], f[2]) for f in found}
    assert reasons["ct-image.dcm"] == (
        "content",
        "not an SR document (SOP Class UID 1.2.840.10008.5.1.4.1.1.2)",
    )
    assert reasons["not-dicom.dcm"][0] == "read"
    assert reasons[missing][0] == "read"
    for name in names:
        assert name in done.stderr
    # the good report's rows are all there
    assert sql(f"SELECT count(*) FROM '{out}/measurements/*.parquet'")[0][0] > 0
    statuses = dict(sql(f"SELECT status, count(*) FROM '{out}/manifest/*.parquet' GROUP BY 1"))
    assert statuses == {"ok": 1, "error": 4}


def test_jobs_two_equals_one_process(tmp_path, corpus):
    serial, pool = tmp_path / "serial", tmp_path / "pool"
    files = [*sorted(corpus.glob("sr*.dcm"))[:45], *(corpus / b for b in BROKEN)]
    a = extract(files, kind="quantitative", out=serial, executor="serial", batch_size=6)
    b = extract(files, kind="quantitative", out=pool, executor=2, batch_size=6)
    assert a.rows == b.rows
    assert a.rows["measurements"] > 0
    same_dataset(serial, pool, ["measurements"])
    assert {"truncated.dcm", "not-dicom.dcm"} <= {e[0] for e in errors(pool)}


def test_uncommitted_parts_are_dropped_on_resume(tmp_path, corpus):
    """A crash between a data part's rename and its manifest part: the part goes."""
    out = tmp_path / "m"
    files = sorted(corpus.glob("sr0000*.dcm"))
    extract(files, kind="quantitative", out=out, executor="serial", batch_size=2)
    before = table_rows(out, "measurements")
    orphan = out / "measurements" / "part-9999999-crashed.parquet"
    orphan.write_bytes(next((out / "measurements").glob("part-*.parquet")).read_bytes())
    summary = extract(files, kind="quantitative", out=out, executor="serial", resume=True)
    assert summary.files == 0
    assert summary.kept == len(files)
    assert not orphan.exists()
    assert table_rows(out, "measurements") == before


def test_changed_file_is_read_again_once(tmp_path, corpus):
    out = tmp_path / "m"
    work = tmp_path / "in"
    work.mkdir()
    for p in sorted(corpus.glob("sr0000*.dcm")):
        (work / p.name).write_bytes(p.read_bytes())
    extract([work], kind="quantitative", out=out, executor="serial", batch_size=3)
    before = table_rows(out, "measurements")
    victim = sorted(work.iterdir())[4]
    os.utime(victim, (time.time() + 10, time.time() + 10))
    summary = extract([work], kind="quantitative", out=out, executor="serial", resume=True)
    assert summary.files == 3  # the changed file's batch is done again
    assert table_rows(out, "measurements") == before


def test_kill_then_resume_equals_a_clean_run(tmp_path, corpus):
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    subset = tmp_path / "in"
    subset.mkdir()
    for p in [*sorted(corpus.glob("sr*.dcm"))[:60], corpus / "truncated.dcm"]:
        os.link(p, subset / p.name)  # truncated.dcm comes last: read by the resumed run
    corpus = subset
    extract([corpus], kind="quantitative", out=clean, executor="serial", batch_size=4)
    env = {**os.environ, "PYTHONPATH": SRC}
    args = [
        sys.executable,
        "-m",
        "srkit.cli.main",
        "measurements",
        str(corpus),
        "-o",
        str(killed) + "/",
        "--jobs",
        "1",
        "--batch-size",
        "8",
    ]
    proc = subprocess.Popen(args, env=env, stderr=subprocess.DEVNULL)
    manifest = killed / "manifest"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if manifest.is_dir() and len(list(manifest.glob("part-*.parquet"))) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    done_before = sql(f"SELECT count(*) FROM '{manifest}/*.parquet'")[0][0]
    total = len(list(corpus.iterdir()))
    assert 0 < done_before < total
    resumed = _srkit("measurements", str(corpus), "-o", str(killed), "--resume", "--jobs", "1")
    assert resumed.returncode == 1  # the broken files of the corpus
    assert f"srkit: {total - done_before} files read" in resumed.stderr
    same_dataset(clean, killed, ["measurements"])


def test_manifest_and_glob_inputs(tmp_path, corpus):
    listing = tmp_path / "inputs.s5cmd"
    first = sorted(corpus.glob("sr0001*.dcm"))
    listing.write_text("".join(f"cp {p} .\n" for p in first[:5]) + f"{first[5]}\n# comment\n")
    out = tmp_path / "m"
    summary = extract(
        [listing, str(corpus / "sr0002*.dcm")], kind="qualitative", out=out, executor="serial"
    )
    assert summary.listed == 6 + len(list(corpus.glob("sr0002*.dcm")))
    assert summary.errors == 0


def test_idc_columns(tmp_path):
    out = tmp_path / "idc"
    extract(
        [data_path("sr-tid1500")], kind="quantitative", columns="idc", out=out, executor="serial"
    )
    rows = sql(
        f"SELECT measurementGroup_number, Quantity.CodeMeaning, Units.CodeValue, "
        f"segmentationSegmentNumber, srkitNotInIdcViews "
        f"FROM '{out}/quantitative_measurements/*.parquet' "
        "WHERE Quantity.CodeValue = '126401' AND segmentationInstanceUID IS NOT NULL"
    )
    # dcmqi's example: SUVbw over segment 1, a group IDC's views hold too
    assert rows
    assert all(r[:4] == (0, "SUVbw", "{SUVbw}g/ml", 1) and r[4] is None for r in rows)
    kept = sql(
        f"SELECT DISTINCT srkitNotInIdcViews FROM '{out}/quantitative_measurements/*.parquet' "
        "WHERE srkitNotInIdcViews IS NOT NULL"
    )
    assert kept  # srkit keeps groups IDC's views drop (planar ROIs of highdicom's example)
    qual = tmp_path / "q"
    extract(
        [data_path("sr-tid1500")], kind="qualitative", columns="idc", out=qual, executor="serial"
    )
    names = [
        c[0] for c in sql(f"DESCRIBE SELECT * FROM '{qual}/qualitative_measurements/*.parquet'")
    ]
    assert "Units" not in names
    assert names[:4] == [
        "PatientID",
        "SOPInstanceUID",
        "SeriesInstanceUID",
        "measurementGroup_number",
    ]


def test_header_read_stops_before_pixel_data():
    """srkit instances reads the header only: the pixel data are never read."""
    import io

    from srkit.extract.instances import instance_row, read_header

    path = data_path("ct/pydicom_CT_small.dcm")
    data = path.read_bytes()

    class Counting(io.BytesIO):
        furthest = 0

        def read(self, n: int | None = -1) -> bytes:
            out = super().read(n)
            Counting.furthest = max(Counting.furthest, self.tell())
            return out

    row = instance_row(read_header(Counting(data)))
    assert row["rows"] == 128
    pixels = 128 * 128 * 2
    assert Counting.furthest <= len(data) - pixels + 16  # up to the Pixel Data header


def test_cli_dose_and_instances_and_export(tmp_path):
    dose = tmp_path / "dose"
    done = _srkit("dose", str(data_path("rdsr")), "--format", "parquet-dataset", "-o", str(dose))
    assert done.returncode == 0, done.stderr
    assert "7 dose_reports, 116 dose_events" in done.stderr
    inst = tmp_path / "inst"
    done = _srkit("instances", str(data_path("rdsr")), "-o", f"{inst}/", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert sql(f"SELECT count(*) FROM '{inst}/instances/*.parquet'") == [(7,)]
    db = tmp_path / "db.sqlite"
    assert _srkit("import", str(data_path("rdsr")), "--db", str(db)).returncode == 0
    out = tmp_path / "export"
    done = _srkit("export", "parquet", "--db", str(db), "-o", str(out), "--kind", "dose")
    assert done.returncode == 0, done.stderr
    assert table_rows(out, "dose_events") == table_rows(dose, "dose_events")
    again = _srkit("dose", str(data_path("rdsr")), "-o", f"{dose}/")
    assert again.returncode == 1
    assert "--resume" in again.stderr  # an existing dataset is never appended to silently


def test_dose_dataset_has_the_columns_of_srkit_dose(tmp_path):
    """One row shape (srkit.tables): the dataset's dose tables have the columns that
    `srkit dose --summary` / `--events` write in CSV, and the same values."""
    import csv
    import io

    import pyarrow.parquet as pq
    from click.testing import CliRunner

    from srkit.cli.main import cli
    from srkit.tables.schemas import DOSE_EVENTS, DOSE_REPORTS

    toshiba = data_path("rdsr/openrem_CT-RDSR-Toshiba_DoseCheck.dcm")
    out = tmp_path / "d"
    extract([toshiba], kind="dose", out=out, executor="serial")
    events = pq.read_table(next((out / "dose_events").glob("*.parquet")))
    reports = pq.read_table(next((out / "dose_reports").glob("*.parquet")))
    assert events.column_names == list(DOSE_EVENTS.columns)
    assert reports.column_names == list(DOSE_REPORTS.columns)
    runner = CliRunner()
    table = runner.invoke(cli, ["dose", str(toshiba), "--events", "--format", "csv"])
    assert table.exit_code == 0, table.output
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert len(rows) == events.num_rows
    dlp = events.column("event.ct_dose.dlp").to_pylist()
    assert [float(r["event.ct_dose.dlp"]) for r in rows] == pytest.approx(dlp)
    summary = runner.invoke(cli, ["dose", str(toshiba), "--summary", "--format", "csv"])
    (row,) = list(csv.DictReader(io.StringIO(summary.stdout)))
    assert float(row["dlp_total"]) == pytest.approx(reports.column("dlp_total")[0].as_py())
    assert reports.column("dlp_total")[0].as_py() == pytest.approx(502.4)  # mGy.cm
