"""``srkit validate`` and ``srkit render`` as a user runs them."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from srkit.cli.main import cli
from tests.conftest import data_path
from tests.validate import fixtures as vf

CT = "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"
KOS = "kos/nist_IDS-DEPT003-a_kos.dcm"
TEST_SR = "sr-other/pydicom_test-SR.dcm"


def _run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_valid_file_prints_nothing_and_exits_0():
    result = _run("validate", str(data_path(KOS)))
    assert result.exit_code == 0
    assert result.stdout == ""


def test_errors_one_line_each_and_exit_1():
    result = _run("validate", str(data_path(TEST_SR)))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "ERROR 1.3.2 SCOORD has no SELECTED FROM child (IMAGE) (PS3.3 C.18.6)" in lines
    assert all(re.match(r"^(ERROR|WARNING) (header|[\d.]+) \S", line) for line in lines)


def test_warnings_only_exit_0():
    result = _run("validate", str(data_path(CT)))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0].startswith("WARNING header 8-bit characters")


def test_json_format():
    result = _run("validate", "--format", "json", str(data_path(TEST_SR)), str(data_path(KOS)))
    assert result.exit_code == 1
    reports = json.loads(result.stdout)
    assert [r["templates"] for r in reports] == [[], ["2010"]]
    assert reports[1]["diagnostics"] == []
    assert reports[0]["errors"] == 8
    first = reports[0]["diagnostics"][0]
    assert set(first) == {"path", "severity", "message", "fixup", "code"}
    codes = {d["code"] for d in reports[0]["diagnostics"]}
    assert "uid-root" in codes  # 9.8.7.6 at item 1.4


def test_several_files_prefix_lines_with_the_file():
    result = _run("validate", str(data_path(TEST_SR)), str(data_path(KOS)))
    assert all(
        line.startswith(str(data_path(TEST_SR)) + ": ") for line in result.stdout.splitlines()
    )


def test_unreadable_files(tmp_path):
    bad = tmp_path / "not.dcm"
    bad.write_bytes(b"hello")
    result = _run("validate", str(bad), str(tmp_path / "missing.dcm"))
    assert result.exit_code == 1
    assert str(bad) in result.stderr
    assert "missing.dcm: no such file" in result.stderr
    assert "Traceback" not in result.output


def test_bad_usage_exits_2():
    assert _run("validate").exit_code == 2
    assert _run("validate", "--format", "xml", "x.dcm").exit_code == 2
    assert _run("render").exit_code == 2


def test_render_html_to_file(tmp_path):
    out = tmp_path / "r.html"
    result = _run("render", str(data_path(CT)), "--html", "-o", str(out))
    assert result.exit_code == 0
    assert result.stdout == ""
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "29.67" in html


def test_render_text_to_stdout():
    result = _run("render", str(data_path(KOS)), "--text")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "Manifest"


def test_render_not_dicom(tmp_path):
    bad = tmp_path / "x.txt"
    bad.write_text("plain text")
    result = _run("render", str(bad), "--html")
    assert result.exit_code == 1
    assert str(bad) in result.stderr


def test_verified_partial_exits_1_one_line_per_finding(tmp_path):
    result = _run("validate", str(vf.verified_partial(tmp_path)))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert (
        "ERROR header VerificationFlag (0040,A493) is VERIFIED but CompletionFlag (0040,A491) "
        "is PARTIAL: only a COMPLETE document may be verified (PS3.3 Table C.17-2)"
    ) in lines
    assert all(re.match(r"^(ERROR|WARNING) (header|[\d.]+) \S", line) for line in lines)


def test_deprecated_schemes_and_retired_attributes_only_warn(tmp_path):
    result = _run("validate", str(data_path("rdsr/openrem_CT-ESR-GE_Optima.dcm")))
    lines = result.stdout.splitlines()
    assert "WARNING header OtherPatientIDs (0010,1000) is retired (PS3.6)" in lines
    srt = [line for line in lines if "'SRT'" in line]
    assert len(srt) == 9
    assert all(line.startswith("WARNING ") for line in srt)
    # its one error is the missing Patient's Sex, not the warnings
    assert [line for line in lines if line.startswith("ERROR")] == [
        "ERROR header PatientSex (0010,0040) missing (type 2, Patient (C.7.1.1))"
    ]
    assert result.exit_code == 1
