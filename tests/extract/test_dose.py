"""The dose batch verb (:func:`srkit.extract.dose.dose_reports`) on the shared RDSRs:
every dose report of a folder, bad named files reported by name, the rest going on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import srkit
from srkit.errors import SrkitError
from srkit.extract.dose import dose_reports
from tests.conftest import data_path

TOSHIBA = "rdsr/openrem_CT-RDSR-Toshiba_DoseCheck.dcm"


def test_every_dose_report_of_a_folder_in_file_order() -> None:
    found = list(dose_reports([data_path("rdsr")]))
    assert [p.name for p, _ in found] == sorted(p.name for p in data_path("rdsr").iterdir())
    totals = {p.name: r.accumulated[0].get("ct_dose_length_product_total") for p, r in found}
    assert totals["openrem_CT-RDSR-Toshiba_DoseCheck.dcm"] == pytest.approx(502.4)
    assert srkit.dose_reports is dose_reports


def test_named_files_that_are_no_dose_report_are_said(tmp_path: Path) -> None:
    image = data_path("ct/pydicom_CT_small.dcm")
    text = tmp_path / "notes.txt"
    text.write_text("not DICOM")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "other.txt").write_text("not DICOM either")
    shutil.copy(image, folder / "image.dcm")
    errors: list[tuple[Path, str]] = []
    skipped: list[tuple[Path, str]] = []
    found = list(
        dose_reports(
            [text, data_path(TOSHIBA), folder, image],
            on_error=lambda p, e: errors.append((p, str(e))),
            on_skip=lambda p, why: skipped.append((p, why)),
        )
    )
    # the Toshiba report is read; the named text file and the named CT image are of the
    # wrong kind (not DICOM, not SR): skipped with a note, not errors (srkit.cli.faces);
    # the same kinds of files found in a folder are skipped quietly
    assert [p.name for p, _ in found] == ["openrem_CT-RDSR-Toshiba_DoseCheck.dcm"]
    assert errors == []
    assert [p for p, _ in skipped] == [text, image]
    assert skipped[0][1].startswith("not a DICOM file")
    assert skipped[0][1].endswith("; skipped")
    assert skipped[1][1].startswith("not an SR document")
    # a broken file of the right kind stays an error, raised without on_error
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data_path(TOSHIBA).read_bytes()[:200])
    with pytest.raises(SrkitError):
        list(dose_reports([cut]))


def test_a_truncated_report_keeps_the_events_before_the_damage(tmp_path: Path) -> None:
    data = data_path(TOSHIBA).read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    errors: list[str] = []
    codes: list[str | None] = []

    def error(path: Path, exc: SrkitError) -> None:
        errors.append(str(exc))
        codes.append(exc.code)

    found = list(dose_reports([cut], on_error=error))
    assert codes == ["file-truncated"]
    assert len(errors) == 1
    assert errors[0].startswith(f"{cut}: ")
    assert "events read before it are kept" in errors[0]
    assert len(found) == 1
    with pytest.raises(SrkitError):
        list(dose_reports([cut]))


def test_a_named_sr_that_is_no_dose_report_is_skipped_with_its_reason() -> None:
    report = next(data_path("sr-tid1500").glob("*.dcm"))
    skipped: list[tuple[Path, str]] = []
    assert list(dose_reports([report], on_skip=lambda p, why: skipped.append((p, why)))) == []
    assert skipped == [(report, "not a radiation dose report; skipped")]
