"""The faces every command shares (srkit.cli.faces): filter values checked, the wrong
kind of file told apart from a broken one, one summary line on stderr."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from srkit.cli.faces import (
    check_date,
    check_date_range,
    check_key_value,
    check_modality,
    check_time_range,
    is_wrong_kind,
)
from srkit.cli.main import cli
from srkit.errors import NotDicomError, NotStructuredReportError, SrkitError
from tests.conftest import data_path


@pytest.mark.parametrize("value", ["20040119", "20040101-20061231", "-20061231", "20040101-"])
def test_date_ranges_accepted(value):
    assert check_date_range(value, "--study-date") == value


@pytest.mark.parametrize(
    "value", ["2004-5", "2004-01-19", "20041319", "20040230", "2004011", "-", "a-b", "1-2-3"]
)
def test_bad_dates_name_the_form(value):
    with pytest.raises(click.BadParameter) as info:
        check_date_range(value, "--study-date")
    assert "YYYYMMDD or YYYYMMDD-YYYYMMDD" in info.value.format_message()


def test_a_single_date_and_a_reversed_range():
    assert check_date("20250106", "--date-from") == "20250106"
    with pytest.raises(click.BadParameter, match="a date YYYYMMDD"):
        check_date("2025-01-06", "--date-from")
    with pytest.raises(click.BadParameter, match="ends before it starts"):
        check_date_range("20250201-20250101", "--study-date")


def test_times_modalities_and_keys():
    assert check_time_range("0930-1200", "-k") == "0930-1200"
    assert check_time_range("093000.5", "-k") == "093000.5"
    for bad in ("25", "0961", "09:30", "09.5"):
        with pytest.raises(click.BadParameter, match="HHMMSS"):
            check_time_range(bad, "-k")
    assert check_modality("ct", "--modality") == "CT"
    assert check_modality("CT\\MR", "--modality") == "CT\\MR"
    with pytest.raises(click.BadParameter, match="a modality code"):
        check_modality("C.T", "--modality")
    assert check_key_value("AcquisitionDate", "20040119-", "--key") == "20040119-"
    with pytest.raises(click.BadParameter):
        check_key_value("StudyTime", "noon", "--key")
    assert check_key_value("StudyDescription", "anything at all", "--key") == "anything at all"


def test_wrong_kind_is_told_from_broken(tmp_path):
    """Judged by the error's code (not-dicom, not-structured-report), not its words."""
    from srkit.codec import read

    text = tmp_path / "notes.txt"
    text.write_text("not DICOM at all\n" * 20)
    ct = data_path("ct/pydicom_CT_small.dcm")
    whole = data_path("rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm").read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(whole[:200])

    def error(path):
        with pytest.raises(SrkitError) as caught:
            read(path)
        return caught.value

    not_dicom, not_sr, truncated = error(text), error(ct), error(cut)
    assert isinstance(not_dicom, NotDicomError)
    assert not_dicom.code == "not-dicom"
    assert isinstance(not_sr, NotStructuredReportError)
    assert not_sr.code == "not-structured-report"
    assert is_wrong_kind(not_dicom)
    assert is_wrong_kind(not_sr)
    assert not is_wrong_kind(truncated), truncated
    # the words do not decide: a reworded message keeps its kind, and a message that
    # merely looks like one without the code is not taken for it
    assert is_wrong_kind(NotDicomError("reworded", code="not-dicom"))
    assert not is_wrong_kind(NotDicomError("not a DICOM file (no data elements found)"))
    assert not is_wrong_kind(SrkitError("no such file"))
    # an import's rejection reason is a string: judged by the reader's words
    assert is_wrong_kind("not a DICOM file (no SOP Class UID, patient or content found)")
    assert not is_wrong_kind("lacks SOP Instance UID")


def test_render_says_what_it_did(tmp_path):
    out = tmp_path / "r.html"
    path = data_path("rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm")
    result = CliRunner().invoke(cli, ["render", str(path), "--html", "-o", str(out)])
    assert result.exit_code == 0
    # validation finds no error in this file, only warnings (SRT codes, mGycm units)
    (line,) = result.stderr.splitlines()
    assert line.startswith("srkit render: 0 errors, ")
    assert line.endswith(f"warnings \u2192 {out} (html)")
    assert "KVP (source B)" in out.read_text(encoding="utf-8")


def test_render_of_a_wrong_kind_of_file_fails_as_nothing_could_be_used():
    result = CliRunner().invoke(cli, ["render", str(data_path("ct/pydicom_CT_small.dcm"))])
    assert result.exit_code == 1
    assert "not an SR document" in result.stderr


def test_find_checks_its_date_keys_before_connecting():
    # port 9 of the loopback: nothing listens there, and nothing is tried
    result = CliRunner().invoke(cli, ["find", "127.0.0.1:9", "-k", "StudyDate=2024-01-01"])
    assert result.exit_code == 2
    assert "'2024-01-01' is not YYYYMMDD or YYYYMMDD-YYYYMMDD" in result.stderr
