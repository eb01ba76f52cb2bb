"""``build_ct_dose_report`` / ``srkit create dose-report``: GE, Siemens and Medtronic
flavours read by DCMTK and dciodvfy, and read back by srkit exactly."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.codec import read, write
from srkit.templates.dose import dose_report
from srkit.templates.tid10011_builder import DoseBuildError, build_ct_dose_report, sct_record
from tests.conftest import data_path, require_tool

CT = [
    "rdsr/openrem_CT-ESR-GE_Optima.dcm",
    "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm",
    "rdsr/openrem_CT-RDSR-Toshiba_DoseCheck.dcm",
]


def _record(name: str) -> dict:
    report = dose_report(read(data_path(name)))
    assert report is not None
    return report.to_dict()


@pytest.mark.parametrize("flavour", ["ge", "siemens", "medtronic"])
@pytest.mark.parametrize("name", CT)
def test_round_trip_exact(name: str, flavour: str, tmp_path: Path) -> None:
    record = _record(name)
    out = tmp_path / "dose.dcm"
    write(build_ct_dose_report(record, flavour=flavour), out)
    back = dose_report(read(out))
    assert back is not None
    assert back.to_dict() == sct_record(record)  # the same record, SRT codes as SCT
    assert not [d for d in back.diagnostics if d.severity != "INFO"]


def _root_concepts(path: Path) -> list[str]:
    doc = read(path)
    return [c.concept.value for c in doc.root.children if c.concept]


def test_flavour_order(tmp_path: Path) -> None:
    record = _record(CT[1])
    for flavour in ("ge", "siemens", "medtronic"):
        write(build_ct_dose_report(record, flavour=flavour), tmp_path / f"{flavour}.dcm")
    ge = _root_concepts(tmp_path / "ge.dcm")
    medtronic = _root_concepts(tmp_path / "medtronic.dcm")
    siemens = _root_concepts(tmp_path / "siemens.dcm")
    assert ge[0] == "121058"
    assert medtronic[0] == "121005"
    assert "113876" in ge
    assert "113876" in medtronic
    assert "113876" not in siemens
    assert "121017" in siemens  # physical location
    assert ge[-1] == "113854"
    assert siemens[-1] == "113854"
    assert medtronic.index("113854") < medtronic.index("113811")


@pytest.mark.peers
@pytest.mark.parametrize("flavour", ["ge", "siemens", "medtronic"])
def test_dcmtk_and_dciodvfy_accept(flavour: str, tmp_path: Path) -> None:
    dsrdump = require_tool("dsrdump", "/usr/bin/dsrdump")
    dciodvfy = require_tool("dciodvfy")
    for n, name in enumerate(CT):
        out = tmp_path / f"{n}.dcm"
        write(build_ct_dose_report(_record(name), flavour=flavour), out)
        dump = subprocess.run([dsrdump, "+Pc", str(out)], capture_output=True, text=True)
        assert dump.returncode == 0, dump.stderr
        assert "E:" not in dump.stderr
        assert "CT Dose Length Product Total" in dump.stdout
        check = subprocess.run([dciodvfy, str(out)], capture_output=True, text=True)
        lines = (check.stdout + check.stderr).splitlines()
        errors = [line for line in lines if line.startswith("Error")]
        assert errors == []
        srt = [line for line in lines if "SRT" in line or "SNOMED RT" in line]
        assert srt == []  # no retired-scheme warnings


def test_unknown_key_is_refused() -> None:
    record = _record(CT[2])
    record["events"][0]["ct_dose"]["ctdi_banana"] = 1.0
    with pytest.raises(DoseBuildError, match="ctdi_banana"):
        build_ct_dose_report(record)
    with pytest.raises(DoseBuildError, match="expected a number"):
        build_ct_dose_report({"events": [{"ct_dose": {"mean_ctdivol": "high"}}]})
    with pytest.raises(DoseBuildError, match="flavour"):
        build_ct_dose_report({"events": []}, flavour="philips")


def test_cli_create(tmp_path: Path) -> None:
    src = tmp_path / "records.json"
    src.write_text(json.dumps([_record(n) for n in CT]))
    runner = CliRunner()
    out = tmp_path / "toshiba.dcm"
    args = ["create", "dose-report", str(src), "--index", "2", "--flavour", "ge", "-o", str(out)]
    result = runner.invoke(cli, [*args, "--patient-id", "P1"])
    assert result.exit_code == 0, result.output
    doc = read(out)
    assert doc.patient.id == "P1"
    back = dose_report(doc)
    assert back is not None
    assert back.accumulated[0]["ct_dose_length_product_total"] == 502.4
    many = runner.invoke(cli, ["create", "dose-report", str(src), "-o", str(out)])
    assert many.exit_code == 1
    assert "3 records; choose one with --index" in many.output
    xray = tmp_path / "xray.json"
    xray.write_text(json.dumps({"template": "10001", "events": []}))
    refused = runner.invoke(cli, ["create", "dose-report", str(xray), "-o", str(out)])
    assert refused.exit_code == 1
    assert "only CT (TID 10011)" in refused.output
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    bad = runner.invoke(cli, ["create", "dose-report", str(garbage), "-o", str(out)])
    assert bad.exit_code == 1
    assert "not JSON" in bad.output


def _schemes(path: Path) -> set[str]:
    import pydicom

    found: set[str] = set()

    def walk(ds: pydicom.Dataset) -> None:
        for elem in ds:
            if elem.keyword == "CodingSchemeDesignator":
                found.add(str(elem.value))
            elif elem.VR == "SQ":
                for item in elem.value:
                    walk(item)

    walk(pydicom.dcmread(path))
    return found


@pytest.mark.parametrize("flavour", ["ge", "siemens", "medtronic"])
def test_created_reports_use_sct_not_srt(flavour: str, tmp_path: Path) -> None:
    for n, name in enumerate(CT):
        record = _record(name)
        source_schemes = _schemes(data_path(name))
        assert "SRT" in source_schemes  # the vendor files do carry SRT
        out = tmp_path / f"{n}.dcm"
        write(build_ct_dose_report(record, flavour=flavour), out)
        schemes = _schemes(out)
        assert "SRT" not in schemes
        assert "SCT" in schemes
    region = sct_record(_record(CT[1]))["events"][0]["target_region"]
    assert region["scheme"] == "SCT"
    assert region["value"] != "T-D0010" or region["scheme"] == "SCT"


def test_cli_fresh_uids_and_record_patient(tmp_path: Path) -> None:
    record = _record(CT[0])
    record["patient"] = {"name": "Doe^Jane", "id": "PID-7", "birth_date": "19700101", "sex": "F"}
    src = tmp_path / "record.json"
    src.write_text(json.dumps(record))
    runner = CliRunner()
    fresh, kept = tmp_path / "fresh.dcm", tmp_path / "kept.dcm"
    result = runner.invoke(cli, ["create", "dose-report", str(src), "-o", str(fresh)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["create", "dose-report", str(src), "--keep-uids", "-o", str(kept)])
    assert result.exit_code == 0, result.output
    a, b = read(fresh), read(kept)
    assert b.sop_instance_uid == record["sop_instance_uid"]
    assert b.study.instance_uid == record["study_instance_uid"]
    assert a.sop_instance_uid != record["sop_instance_uid"]
    assert a.study.instance_uid != record["study_instance_uid"]
    fresh_events = dose_report(a).events  # type: ignore[union-attr]
    old = {e["irradiation_event_uid"] for e in record["events"]}
    assert not old & {e["irradiation_event_uid"] for e in fresh_events}
    for doc in (a, b):
        assert doc.patient.name == "Doe^Jane"
        assert doc.patient.id == "PID-7"
        assert doc.patient.birth_date == "19700101"
        assert doc.patient.sex == "F"
    # the options override the record; flat keys (srkit query dose rows) work too
    flat = {k: v for k, v in record.items() if k != "patient"}
    flat.update(patient_id="Q-1", patient_name="Roe^Richard")
    src.write_text(json.dumps(flat))
    args = ["create", "dose-report", str(src), "-o", str(fresh), "--patient-id", "OVERRIDE"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    doc = read(fresh)
    assert (doc.patient.id, doc.patient.name) == ("OVERRIDE", "Roe^Richard")


def test_unnormalised_value_is_refused() -> None:
    record = _record(CT[2])
    record["events"][0]["ct_dose"]["dlp"] = {
        "value": 12.5, "unit": "mGycm2", "scheme": "99X", "normalised": False,
    }  # fmt: skip
    with pytest.raises(DoseBuildError, match="was not normalised when read"):
        build_ct_dose_report(record)
