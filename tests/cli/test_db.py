# ruff: noqa: F811  (pytest fixtures imported from tests.db.fixtures)
"""``srkit import``, ``ls``, ``query``, ``rm`` on the real shared data."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from tests.conftest import data_path
from tests.db.fixtures import fresh_url  # noqa: F401


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def imported(fresh_url):
    result = run(
        "import",
        str(data_path("ct")),
        str(data_path("mr")),
        str(data_path("rdsr")),
        str(data_path("sr-tid1500")),
        "--db",
        fresh_url,
        "--workers",
        "1",
    )
    assert result.exit_code == 0, result.output
    return fresh_url


def test_import_summary_and_exit_codes(fresh_url, tmp_path):
    folder = tmp_path / "in"
    shutil.copytree(data_path("ct/pydicom_CT2"), folder)
    (folder / "notes.txt").write_text("not DICOM")
    result = CliRunner().invoke(cli, ["import", str(folder), "--db", fresh_url, "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["imported"] == 4
    assert [p.endswith("notes.txt") for p, _ in report["rejected"]] == [True]
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("srkit: ")
    assert "notes.txt" in lines[0]
    assert lines[-1] == "srkit import: 4 imported, 0 skipped, 0 updated, 1 rejected, 0 conflicts"
    (folder / "notes.txt").unlink()
    again = CliRunner().invoke(cli, ["import", str(folder), "--db", fresh_url])
    assert again.exit_code == 0
    assert "0 imported, 4 skipped" in again.stderr


def test_ls_levels_and_filters(imported):
    result = run("ls", "studies", "--db", imported, "--format", "json")
    studies = json.loads(result.stdout)
    assert len(studies) == 15  # distinct Study Instance UIDs of the four folders (pydicom)
    mr = json.loads(
        run("ls", "studies", "--db", imported, "--modality", "MR", "--format", "json").stdout
    )
    assert [s["NumberOfStudyRelatedInstances"] for s in mr] == [16]
    text = run("ls", "patients", "--db", imported, "--patient-name", "doe*").stdout.splitlines()
    assert text[0].split()[:2] == ["PatientID", "PatientName"]
    assert sorted(line.split()[0] for line in text[1:]) == ["583295", "77654033"]
    ranged = json.loads(
        run(
            "ls",
            "studies",
            "--db",
            imported,
            "--study-date",
            "20040101-20061231",
            "--format",
            "json",
        ).stdout
    )
    assert [s["StudyDate"] for s in ranged] == ["20040119", "20060101", "20060823"]
    sr = json.loads(
        run("ls", "instances", "--db", imported, "--sop-class", "SR", "--format", "json").stdout
    )
    assert len(sr) == 12
    ct = run(
        "ls", "instances", "--db", imported, "--sop-class", "CTImageStorage", "--format", "csv"
    ).stdout
    assert len(list(csv.DictReader(io.StringIO(ct)))) == 11
    keyed = json.loads(
        run(
            "ls", "series", "--db", imported, "-k", "Manufacturer=TOSHIBA", "--format", "json"
        ).stdout
    )
    assert [s["Modality"] for s in keyed] == ["SR"]


def test_ls_bad_input(imported):
    bad = CliRunner().invoke(cli, ["ls", "studies", "--db", imported, "--study-date", "2004-5"])
    assert bad.exit_code == 1
    assert bad.stderr.startswith("srkit: invalid date range")
    assert len(bad.stderr.strip().splitlines()) == 1
    usage = CliRunner().invoke(cli, ["ls", "frames", "--db", imported])
    assert usage.exit_code == 2
    key = CliRunner().invoke(cli, ["ls", "studies", "--db", imported, "-k", "nonsense"])
    assert key.exit_code == 2
    sop = CliRunner().invoke(cli, ["ls", "instances", "--db", imported, "--sop-class", "Xyz"])
    assert sop.exit_code == 1
    assert "unknown SOP class" in sop.stderr


def test_query_dose(imported):
    rows = [
        json.loads(line)
        for line in run("query", "dose", "--db", imported, "--min-dlp", "1000").stdout.splitlines()
    ]
    assert [(r["manufacturer"], r["dlp_total"]) for r in rows] == [("SIEMENS", 1590.0)]
    events = run(
        "query",
        "dose",
        "--db",
        imported,
        "--level",
        "event",
        "--template",
        "10011",
        "--min-ctdivol",
        "20",
        "--format",
        "csv",
    ).stdout
    table = list(csv.DictReader(io.StringIO(events)))
    assert table
    assert all(float(r["event.ct_dose.mean_ctdivol"]) >= 20 for r in table)
    assert {r["manufacturer"] for r in table} <= {"SIEMENS", "GE Medical Systems", "TOSHIBA"}


def test_query_measurements(imported, tmp_path):
    out = tmp_path / "m.json"
    result = run(
        "query",
        "measurements",
        "--db",
        imported,
        "--quantity",
        "*volume*",
        "--format",
        "json",
        "-o",
        str(out),
    )
    assert result.exit_code == 0
    rows = json.loads(out.read_text())
    assert sorted((r["value"], r["units"]["value"]) for r in rows) == [
        (33.5824, "ml"),
        (200.0, "mm3"),
    ]
    big = run(
        "query",
        "measurements",
        "--db",
        imported,
        "--quantity",
        "*volume*",
        "--units",
        "ml",
        "--min-value",
        "10",
    ).stdout.splitlines()
    assert [json.loads(r)["value"] for r in big] == [33.5824]
    bad = CliRunner().invoke(cli, ["query", "measurements", "--db", imported, "-w", "colour=red"])
    assert bad.exit_code == 1
    assert "unknown filter" in bad.stderr


def test_rm_keeps_user_files(imported):
    uid = json.loads(
        run("ls", "studies", "--db", imported, "--modality", "MR", "--format", "json").stdout
    )[0]["StudyInstanceUID"]
    result = CliRunner().invoke(cli, ["rm", "study", uid, "--db", imported, "--delete-files"])
    assert result.exit_code == 0
    assert "16 instance(s) removed" in result.stderr
    assert len(list(data_path("mr/dcm4che_MR").glob("*.dcm"))) == 16
    missing = CliRunner().invoke(cli, ["rm", "study", uid, "--db", imported])
    assert missing.exit_code == 1
    assert "no such study" in missing.stderr


def test_bad_database_url():
    result = CliRunner().invoke(cli, ["ls", "studies", "--db", "mysql://nowhere/db"])
    assert result.exit_code == 1
    assert "unsupported database URL" in result.stderr


def test_database_from_srkit_db(fresh_url, tmp_path, monkeypatch):
    """$SRKIT_DB works like --db: an SQLite path or a PostgreSQL URL (a read-only
    command on it does not call the URL a missing file); a missing file is refused."""
    assert (
        run("import", str(data_path("ct/pydicom_CT_small.dcm")), "--db", fresh_url).exit_code == 0
    )
    monkeypatch.setenv("SRKIT_DB", fresh_url)
    result = CliRunner().invoke(cli, ["ls", "studies", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 1
    monkeypatch.setenv("SRKIT_DB", str(tmp_path / "missing.sqlite"))
    result = CliRunner().invoke(cli, ["ls", "studies"])
    assert result.exit_code == 1
    assert "no such database" in result.stderr
