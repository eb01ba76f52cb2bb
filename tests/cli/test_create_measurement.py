"""``srkit create measurement-report``: dcmqi JSON + images + SEG -> TID 1500 SR."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.codec import read
from srkit.templates.tid1500 import measurement_rows
from tests.conftest import data_path, require_tool

LIVER = "dcmqi-json/examples/sr-tid1500-ct-liver-example.json"


def _create(*args: str):
    return CliRunner().invoke(cli, ["create", "measurement-report", *args])


def test_create_from_image_folder(tmp_path: Path) -> None:
    out = tmp_path / "sr.dcm"
    result = _create(
        str(data_path(LIVER)),
        "--image",
        str(data_path("ct/dcmqi_ct-3slice")),
        "--seg",
        str(data_path("seg/dcmqi_liver_seg.dcm")),
        "-o",
        str(out),
        "--sop-instance-uid",
        "1.2.826.0.1.3680043.8.498.1",
    )
    assert result.exit_code == 0, result.output
    assert "1 group(s), 6 measurement(s), 3 image(s)" in result.stderr
    doc = read(out)
    assert doc.sop_instance_uid == "1.2.826.0.1.3680043.8.498.1"
    assert doc.series.description == "Measurements"
    assert doc.series.number == "1001"
    rows = measurement_rows(doc)
    assert [r["value"] for r in rows] == [37.3289, -778.0, 221.0, 59.1691, 70361.9, 70.3619]
    dciodvfy = require_tool("dciodvfy")
    run = subprocess.run([dciodvfy, str(out)], capture_output=True, text=True)
    assert [x for x in (run.stdout + run.stderr).splitlines() if x.startswith("Error")] == []


def test_missing_segmentation_is_a_user_error(tmp_path: Path) -> None:
    result = _create(
        str(data_path(LIVER)),
        "--image",
        str(data_path("ct/dcmqi_ct-3slice")),
        "-o",
        str(tmp_path / "sr.dcm"),
    )
    assert result.exit_code == 1
    assert "1.2.276.0.7230010.3.1.4.0.42154.1458337731.665796" in result.stderr
    assert "not among the given files" in result.stderr
    assert not (tmp_path / "sr.dcm").exists()


def test_bad_json_and_no_images(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = _create(
        str(bad), "--image", str(data_path("ct/dcmqi_ct-3slice")), "-o", str(tmp_path / "x.dcm")
    )
    assert result.exit_code == 1
    assert "bad.json" in result.stderr
    assert "not JSON" in result.stderr
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"imageLibrary": []}))
    result = _create(
        str(empty), "--image", str(data_path("ct/dcmqi_ct-3slice")), "-o", str(tmp_path / "x.dcm")
    )
    assert result.exit_code == 1
    assert "no Measurements" in result.stderr
    result = _create(str(data_path(LIVER)), "-o", str(tmp_path / "x.dcm"))
    assert result.exit_code == 2


def test_unreadable_image_named(tmp_path: Path) -> None:
    junk = tmp_path / "01.dcm"
    junk.write_bytes(b"junk")
    result = _create(str(data_path(LIVER)), "--image", str(junk), "-o", str(tmp_path / "x.dcm"))
    assert result.exit_code == 1
    assert "01.dcm" in result.stderr
    assert "Traceback" not in result.stderr
