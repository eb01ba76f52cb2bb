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
    # a file that is not DICOM is skipped with a note: exit 0 (srkit.cli.faces)
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["imported"] == 4
    assert [p.endswith("notes.txt") for p, _ in report["rejected"]] == [True]
    lines = result.stderr.strip().splitlines()
    assert lines[0] == (
        f"srkit: {folder / 'notes.txt'}: not a DICOM file "
        "(no SOP Class UID, patient or content found); skipped"
    )
    assert lines[-1] == (
        "srkit import: 5 files, 4 stored, 0 already there, 1 skipped (not DICOM), "
        "0 rejected, 0 conflicts"
    )
    (folder / "notes.txt").unlink()
    (folder / "17106.dcm").write_bytes(data_path("ct/pydicom_CT2/17106.dcm").read_bytes()[:300])
    again = CliRunner().invoke(cli, ["import", str(folder), "--db", fresh_url])
    assert again.exit_code == 1  # a broken DICOM file is an error, not a wrong kind
    assert "3 already there" in again.stderr
    assert "0 skipped (not DICOM), 1 rejected" in again.stderr


def test_import_of_nothing_usable_fails(fresh_url, tmp_path):
    (tmp_path / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    result = CliRunner().invoke(cli, ["import", str(tmp_path), "--db", fresh_url])
    assert result.exit_code == 1
    assert (
        result.stderr.splitlines()[-1] == f"srkit: nothing imported: no DICOM file among {tmp_path}"
    )


def test_import_of_a_missing_path_makes_no_database(tmp_path):
    db = tmp_path / "new.sqlite"
    missing = tmp_path / "no-such-folder"
    result = CliRunner().invoke(cli, ["import", str(missing), "--db", str(db)])
    assert result.exit_code == 1
    assert result.stderr == f"srkit: {missing}: no such file or directory (nothing imported)\n"
    assert not db.exists()


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
    for value in ("2004-5", "2004-01-19", "20041319", "yesterday", "20061231-20040101"):
        bad = CliRunner().invoke(cli, ["ls", "studies", "--db", imported, "--study-date", value])
        assert bad.exit_code == 2, value  # a usage error naming the expected form
        assert "Invalid value for --study-date" in bad.stderr
        assert "YYYYMMDD or YYYYMMDD-YYYYMMDD" in bad.stderr or "ends before" in bad.stderr
    time = CliRunner().invoke(cli, ["ls", "studies", "--db", imported, "-k", "StudyTime=25h"])
    assert time.exit_code == 2
    assert "HHMMSS" in time.stderr
    mod = CliRunner().invoke(cli, ["ls", "series", "--db", imported, "--modality", "C.T"])
    assert mod.exit_code == 2
    assert "a modality code such as CT" in mod.stderr
    lower = CliRunner().invoke(
        cli, ["ls", "series", "--db", imported, "--modality", "mr", "--format", "json"]
    )
    assert lower.exit_code == 0
    assert {s["Modality"] for s in json.loads(lower.stdout)} == {"MR"}
    assert lower.stderr == "srkit ls: 1 series\n"
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


def test_ls_series_and_instances_in_the_order_a_person_reads(imported):
    series = json.loads(run("ls", "series", "--db", imported, "--format", "json").stdout)
    keys = [(s["StudyDate"] or "99999999", s["SeriesNumber"] or 0) for s in series]
    # by study date first (a study's series together), then by Series Number
    dates = [k[0] for k in keys]
    assert dates == sorted(dates)
    by_study: dict[str, list[int]] = {}
    for s in series:
        by_study.setdefault(s["StudyInstanceUID"], []).append(s["SeriesNumber"] or 0)
    assert all(numbers == sorted(numbers) for numbers in by_study.values())
    mr = json.loads(
        run("ls", "instances", "--db", imported, "--modality", "MR", "--format", "json").stdout
    )
    # dcm4che MR01..MR16: one series, Instance Number 1..16 in order (not by UID)
    assert [i["InstanceNumber"] for i in mr] == list(range(1, 17))
    assert [i["SOPInstanceUID"] for i in mr] != sorted(i["SOPInstanceUID"] for i in mr)


def test_query_bad_dates_are_usage_errors(imported):
    for option, value in (("--date-from", "2004-01-19"), ("--date-to", "20041332")):
        bad = CliRunner().invoke(cli, ["query", "dose", "--db", imported, option, value])
        assert bad.exit_code == 2
        assert f"{value!r} is not a date YYYYMMDD" in bad.stderr
    ends = CliRunner().invoke(
        cli, ["query", "measurements", "--db", imported, "--date-from", "20060101",
              "--date-to", "20040101"]
    )  # fmt: skip
    assert ends.exit_code == 2
    assert "--date-from is after --date-to" in ends.stderr


def test_query_where_dates_are_checked_too(imported):
    bad = CliRunner().invoke(cli, ["query", "dose", "--db", imported, "-w", "date_from=2004-01"])
    assert bad.exit_code == 2
    assert "Invalid value for --where: '2004-01' is not a date YYYYMMDD" in bad.stderr
