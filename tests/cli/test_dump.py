"""`srkit dump` as the contract describes it."""

from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from srkit.cli.main import cli
from tests.conftest import data_path


def _run(*args):
    return CliRunner().invoke(cli, ["dump", *map(str, args)])


def test_jsonl_records_follow_the_contract():
    result = _run(data_path("rdsr/openrem_CT-ESR-GE_Optima.dcm"), "--format", "jsonl")
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 116
    assert records[0] == {
        "id": "1",
        "relationship": None,
        "value_type": "CONTAINER",
        "concept": {"value": "113701", "scheme": "DCM", "meaning": "X-Ray Radiation Dose Report"},
        "value": {"continuity": "SEPARATE"},
    }
    dlp = next(r for r in records if r["id"] == "1.10.2")
    assert dlp["concept"]["meaning"] == "CT Dose Length Product Total"
    assert dlp["value"] == {
        "number": "415.82",
        "units": {"value": "mGycm", "scheme": "UCUM", "meaning": "mGycm"},
    }
    ids = [r["id"] for r in records]
    assert ids[:4] == ["1", "1.1", "1.2", "1.3"]


def test_jsonl_value_shapes_of_every_kind():
    result = _run(data_path("sr-other/pydicom_test-SR.dcm"), "--format", "jsonl")
    records = {r["id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert records["1.3.2"]["value"] == {"graphic_type": "CIRCLE", "data": [0.0, 0.0, 255.0, 255.0]}
    assert records["1.3.3"]["value"] == {"range_type": "SEGMENT", "time_offsets": [1.0, 2.5]}
    assert records["1.3.3.1"] == {
        "id": "1.3.3.1",
        "relationship": "SELECTED FROM",
        "value_type": "REFERENCE",
        "concept": None,
        "value": {"ref": "1.3.2"},
    }
    assert records["1.5"]["value"]["frames"] == [5, 2]
    assert records["1.5.2.2"]["value"]["channels"] == [5, 3, 2, 0]
    assert records["1.4.1"]["value"] == "20001206"
    assert records["1.1"]["concept"] == {
        "value": "1234.0",
        "scheme": "99_OFFIS_DCMTK",
        "meaning": "Some UID",
    }


def test_num_without_value_gives_null_number():
    result = _run(data_path("sr-tid1500/dcmjs_structured_report.dcm"), "--format", "jsonl")
    rec = next(r for r in map(json.loads, result.stdout.splitlines()) if r["id"] == "1.5.1.4")
    assert rec["value"] == {"number": None, "units": None}


def test_text_tree():
    result = _run(data_path("sr-tid1500/highdicom_sr_document.dcm"))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("SOP Class         : Comprehensive 3D SR")
    tree = lines[lines.index("") + 1 :]
    assert tree[0] == '<CONTAINER:(126000,DCM,"Imaging Measurement Report")=CONTINUOUS>'
    assert len(tree) == 21
    assert (
        '      <contains NUM:(G-A16A,SRT,"Area of defined region")="1.7" (cm2,UCUM,"square centimeter")>'
        in tree
    )


def test_bad_files_are_reported_and_the_rest_printed(tmp_path):
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"\x00" * 50)
    good = data_path("sr-other/orthanc_StructuredReports_IM0.dcm")
    ct = data_path("ct/pydicom_CT_small.dcm")
    result = _run(junk, good, ct, tmp_path / "missing.dcm", "--format", "jsonl")
    assert result.exit_code == 1
    assert len(result.stdout.splitlines()) == 2
    err = result.stderr.splitlines()
    assert len(err) == 4
    assert err[0].startswith(f"srkit: {junk}: ")
    assert err[1] == (
        f"srkit: {ct}: not an SR document (SOP class 1.2.840.10008.5.1.4.1.1.2); skipped"
    )
    assert err[2] == f"srkit: {tmp_path / 'missing.dcm'}: no such file"
    assert err[0].endswith("; skipped")
    assert err[3] == "srkit dump: 4 files, 1 printed, 2 skipped, 1 error"


def test_a_wrong_kind_of_file_is_skipped_with_a_note():
    ct = data_path("ct/pydicom_CT_small.dcm")
    good = data_path("sr-other/orthanc_StructuredReports_IM0.dcm")
    result = _run(ct, good, "--format", "jsonl")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"srkit: {ct}: not an SR document (SOP class 1.2.840.10008.5.1.4.1.1.2); skipped",
        "srkit dump: 2 files, 1 printed, 1 skipped, 0 errors",
    ]
    nothing = _run(ct)
    assert nothing.exit_code == 1


def test_bad_usage_exits_2():
    assert _run().exit_code == 2
    assert (
        _run(data_path("sr-other/orthanc_StructuredReports_IM0.dcm"), "--format", "xml").exit_code
        == 2
    )


def test_console_script_shows_no_traceback(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text("hello")
    proc = subprocess.run(
        [sys.executable, "-m", "srkit.cli.main", "dump", str(junk)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith(f"srkit: {junk}:")


def test_jsonl_and_text_carry_the_presentation_state_of_an_image():
    # pydicom test-SR 1.5: IMAGE CT 1.2.3.4.5.0 frames 5,2, GSPS 1.2.3.5.6.7 (dsrdump)
    path = data_path("sr-other/pydicom_test-SR.dcm")
    result = _run(path, "--format", "jsonl")
    rec = next(r for r in map(json.loads, result.stdout.splitlines()) if r["id"] == "1.5")
    assert rec["value"] == {
        "sop_class_uid": "1.2.840.10008.5.1.4.1.1.2",
        "sop_instance_uid": "1.2.3.4.5.0",
        "frames": [5, 2],
        "presentation_state": {
            "sop_class_uid": "1.2.840.10008.5.1.4.1.1.11.1",
            "sop_instance_uid": "1.2.3.5.6.7",
        },
    }
    text = _run(path).stdout
    assert (
        "<contains IMAGE:=(CT Image,1.2.3.4.5.0) frames 5,2 with "
        "(Grayscale Softcopy Presentation State,1.2.3.5.6.7)>"
    ) in text
