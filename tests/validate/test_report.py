"""The validation batch verb (:func:`srkit.validate.report.validate_files`) on the shared
SRs: findings per file, counts of the run, unreadable files named, and the one line
``srkit validate`` ends with on stderr (issue 16)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import srkit
from srkit.cli.main import cli
from srkit.errors import NotDicomError
from srkit.validate import all_diagnostics
from srkit.validate.report import validate_files
from tests.conftest import data_path

SAMPLE = "sr-tid1500/dcmjs_sample-sr.dcm"  # 0 errors, 2 warnings
CLEAN = "sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm"  # nothing to say
BROKEN = "sr-tid1500/dcmjs_structured_report.dcm"  # 2 errors, 6 warnings


def test_counts_per_file_and_for_the_run(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not DICOM")
    names = [data_path(SAMPLE), data_path(BROKEN), text]
    report = validate_files(names)
    sample, broken, unread = report.results
    assert (sample.errors, sample.warnings, sample.ok) == (0, 2, True)
    assert (broken.errors, broken.warnings, broken.ok) == (2, 6, False)
    assert broken.templates == ("1500",)
    assert isinstance(unread.error, NotDicomError)
    assert unread.file == str(text)
    assert (report.errors, report.warnings, report.ok) == (2, 8, False)
    assert report.summary() == "3 files, 2 errors, 8 warnings, 1 not read"
    assert srkit.validate_files is validate_files


def test_the_findings_are_those_of_the_document() -> None:
    (result,) = validate_files([data_path(BROKEN)]).results
    assert list(result.diagnostics) == all_diagnostics(srkit.read(data_path(BROKEN)))
    record = result.to_dict()
    assert record["errors"] == 2
    assert record["sop_instance_uid"] == result.sop_instance_uid != ""


def test_srkit_validate_says_what_it_did_on_stderr() -> None:
    ok = CliRunner().invoke(cli, ["validate", str(data_path(SAMPLE)), str(data_path(CLEAN))])
    assert ok.exit_code == 0
    assert ok.stderr == "srkit validate: 2 files, 0 errors, 2 warnings\n"
    one = CliRunner().invoke(cli, ["validate", str(data_path(CLEAN))])
    assert (one.exit_code, one.stdout, one.stderr) == (
        0,
        "",
        "srkit validate: 1 file, 0 errors, 0 warnings\n",
    )
    bad = CliRunner().invoke(cli, ["validate", str(data_path(BROKEN)), "--format", "json"])
    assert bad.exit_code == 1
    assert bad.stderr.splitlines()[-1] == "srkit validate: 1 file, 2 errors, 6 warnings"
