"""``srkit dose PATH... --format json|jsonl|csv [--summary] [--plot]``."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from srkit.cli.main import cli
from tests.conftest import data_path


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["dose", *args])
    return result.exit_code, result.stdout, result.stderr


def test_folder_jsonl() -> None:
    code, out, _ = _run(str(data_path("rdsr")), "--format", "jsonl")
    assert code == 0
    reports = [json.loads(line) for line in out.splitlines()]
    assert len(reports) == 7
    assert [r["template"] for r in reports].count("10011") == 3
    ge = next(r for r in reports if r["manufacturer"] == "GE Medical Systems")
    assert ge["accumulated"][0]["ct_dose_length_product_total"] == 415.82


def test_json_one_file(tmp_path: Path) -> None:
    out = tmp_path / "dose.json"
    name = str(data_path("rdsr/openrem_CT-RDSR-Toshiba_DoseCheck.dcm"))
    code, stdout, _ = _run(name, "--format", "json", "-o", str(out))
    assert code == 0
    assert stdout == ""
    (report,) = json.loads(out.read_text())
    assert report["events"][0]["ct_dose"]["dlp"] == 251.2


def test_csv_one_row_per_event() -> None:
    name = str(data_path("rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"))
    code, out, _ = _run(name, "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 9
    assert rows[0]["event.ct_dose.mean_ctdivol"] == "15.45"
    assert rows[0]["event.ct_acquisition_parameters.ct_xray_source_parameters.2.kvp"] == "140.0"
    assert rows[0]["accumulated.ct_dose_length_product_total"] == "1590.0"
    assert rows[0]["observer.device_observer_serial_number"] == "91919"


def test_summary_and_plot(tmp_path: Path) -> None:
    png = tmp_path / "dose.png"
    code, out, _ = _run(str(data_path("rdsr")), "--summary", "--format", "csv", "--plot", str(png))
    assert code == 0
    rows = {r["device"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows["CTAWP91919"]["dlp_total"] == "1590.0"
    assert rows["CTAWP91919"]["max_ctdivol"] == "65.47"
    assert rows["AXIS01475"]["dap_total"] == "9.37e-06"
    assert rows["AXIS01475"]["fluoro_time_total"] == "18.0"
    assert rows["INR Lab"]["number_of_events"] == "25"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_input(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not dicom")
    code, _, err = _run(str(text))
    assert code == 1
    assert str(text) in err
    assert "Traceback" not in err
    code, _, err = _run(str(tmp_path / "missing.dcm"))
    assert code == 1
    other = str(data_path("sr-tid1500/dcmqi_sr-example_sr.dcm"))
    code, _, err = _run(other)
    assert code == 1
    assert "not a radiation dose report" in err
    assert "no radiation dose report found" in err
    code, _, _ = _run(other, "--format", "xml")
    assert code == 2


def test_diagnostics_flag() -> None:
    name = str(data_path("rdsr/pyskindose_siemens_axiom_artis.dcm"))
    code, _, err = _run(name, "--diagnostics")
    assert code == 0
    assert "siemens_unit_spelling" in err
