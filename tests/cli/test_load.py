"""``srkit examine`` and ``srkit load`` (paths and --db)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pydicom
from click.testing import CliRunner

from srkit.cli.main import cli
from tests.conftest import data_files, data_path, require_module
from tests.load.fixtures import AXIAL, CORONAL, axial_positions, make_series

nib = require_module("nibabel")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_examine_json_lists_loadables_and_warnings(tmp_path):
    files = make_series(tmp_path / "s", "gap", axial_positions([0, 2, 4, 8]))
    result = run("examine", tmp_path / "s", "--format", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    (item,) = doc["loadables"]
    assert item["plugin"] == "scalar"
    assert item["selected"] is True
    assert item["confidence"] == 0.5
    assert item["files"] == [str(f) for f in files]
    assert [w["code"] for w in item["warnings"]] == ["missing_slices"]
    assert item["warnings"][0]["tolerance"] == {"slice_interval_mm": 0.2}


def test_examine_text_and_series_filter(tmp_path):
    pos = axial_positions([0, 2, 4]) + [(-12.8, y, 10.0) for y in (0, 2, 4)]
    make_series(tmp_path / "two", "two", pos, orientations=[AXIAL] * 3 + [CORONAL] * 3)
    ct = data_path("ct/dcmqi_ct-3slice")
    uid = pydicom.dcmread(data_files("ct/dcmqi_ct-3slice/*.dcm")[0]).SeriesInstanceUID
    result = run("examine", tmp_path / "two", ct)
    lines = result.stdout.splitlines()
    assert result.exit_code == 0
    assert sum(1 for line in lines if "[x]" in line) == 3  # two parts + the CT
    assert any("WARNING single_orientation" in line for line in lines)
    only = run("examine", tmp_path / "two", ct, "--series", uid, "--format", "json")
    assert [x["series_uid"] for x in json.loads(only.stdout)["loadables"]] == [uid]


def test_load_writes_nifti_and_sidecar(tmp_path):
    out = tmp_path / "ct.nii.gz"
    result = run("load", data_path("ct/dcmqi_ct-3slice"), "-o", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    img = nib.load(str(out))
    assert img.shape == (512, 512, 3)
    assert int(img.get_fdata().min()) == -3024
    side = json.loads((tmp_path / "ct.json").read_text())
    assert side["SrkitRegularization"] == "none"


def test_load_resample_and_several_selected(tmp_path):
    pos = axial_positions([0, 2, 4, 8]) + [(-12.8, y, 10.0) for y in (0, 2, 4)]
    make_series(tmp_path / "s", "mix", pos, orientations=[AXIAL] * 4 + [CORONAL] * 3)
    out = tmp_path / "v.nii"
    result = run("load", tmp_path / "s", "-o", out, "--regularize", "resample")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [str(out), str(tmp_path / "v_2.nii")]
    assert nib.load(str(out)).shape == (32, 32, 5)  # the missing slice filled in
    assert "missing_slices" in result.stderr
    side = json.loads((tmp_path / "v.json").read_text())
    assert side["SrkitRegularization"] == "resample"
    assert [w["code"] for w in side["SrkitGeometryWarnings"]] == ["missing_slices"]


def test_load_refuses_series_without_positions(tmp_path):
    files = make_series(
        tmp_path / "s",
        "nopos",
        axial_positions([0, 2]),
        edit=lambda i, ds: delattr(ds, "ImagePositionPatient"),
    )
    result = run("load", tmp_path / "s", "-o", tmp_path / "x.nii")
    assert result.exit_code == 1
    assert "without Image Position (Patient)" in result.stderr
    assert str(files[0]) in result.stderr
    assert "Traceback" not in result.output


def test_load_truncated_file_one_line(tmp_path):
    files = make_series(tmp_path / "s", "trunc", axial_positions([0, 2, 4]))
    data = files[2].read_bytes()
    files[2].write_bytes(data[:-50])
    result = run("load", tmp_path / "s", "-o", tmp_path / "x.nii")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert str(files[2]) in result.stderr


def test_examine_and_load_from_the_database(tmp_path):
    from srkit.db import Database

    url = str(tmp_path / "db.sqlite")
    with Database(url) as db:
        db.import_paths([data_path("ct/dcmqi_ct-3slice"), data_path("mr/dcm4che_MR")])
    uid = pydicom.dcmread(data_files("mr/dcm4che_MR/*.dcm")[0]).SeriesInstanceUID
    result = run("examine", "--db", url, "--series", uid, "--format", "json")
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.stdout)["loadables"]
    assert len(item["files"]) == 16
    out = tmp_path / "mr.nii.gz"
    assert run("load", "--db", url, "--series", uid, "-o", out).exit_code == 0
    assert nib.load(str(out)).shape == (256, 256, 16)
    missing = run("load", "--db", url, "--series", "1.2.3.4", "-o", out)
    assert missing.exit_code == 1
    assert "not in the database" in missing.stderr


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys\nfrom srkit.cli.main import cli\n"
        "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('nibabel', 'highdicom', 'srkit.load')"
        " if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    assert "examine" in proc.stdout
    assert "load" in proc.stdout


def test_load_values_equal_the_library(tmp_path):
    from srkit.load import examine, load

    files = data_files("ct/dcmqi_ct-3slice/*.dcm")
    out = tmp_path / "a.nii"
    run("load", *files, "-o", out)
    vol = load(examine(files)[0])
    assert np.array_equal(np.asarray(nib.load(str(out)).dataobj), vol.array.transpose(2, 1, 0))


def test_load_seg_that_cannot_be_combined_is_one_line(tmp_path):
    seg = data_path("seg/dcmqi_partial_overlaps_seg.dcm")
    result = run(
        "load", seg, data_path("ct/dcmqi_ct-3slice"), "--plugin", "seg", "-o", tmp_path / "x.nii.gz"
    )
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert str(seg) in result.stderr
    assert "--segments" in result.stderr
    ok = run(
        "load",
        seg,
        data_path("ct/dcmqi_ct-3slice"),
        "--plugin",
        "seg",
        "--segments",
        "-o",
        tmp_path / "x.nii.gz",
    )
    assert ok.exit_code == 0, ok.output
    assert nib.load(str(tmp_path / "x.nii.gz")).shape == (512, 512, 3, 5)


def test_tolerance_option(tmp_path):
    make_series(tmp_path / "s", "irr", axial_positions([0, 2, 4, 6.15, 8.15]))
    strict = json.loads(run("examine", tmp_path / "s", "--format", "json").stdout)
    assert [w["code"] for w in strict["loadables"][0]["warnings"]] == ["uniform_slice_spacing"]
    loose = run(
        "examine", tmp_path / "s", "--format", "json", "--tolerance", "slice_interval_relative=0.1"
    )
    (item,) = json.loads(loose.stdout)["loadables"]
    assert item["warnings"] == []
    bad = run("examine", tmp_path / "s", "--tolerance", "nonsense=1")
    assert bad.exit_code == 1
    assert "unknown name" in bad.stderr
    out = tmp_path / "v.nii"
    ok = run("load", tmp_path / "s", "-o", out, "--tolerance", "slice_interval_relative=0.1")
    assert ok.exit_code == 0
    assert json.loads((tmp_path / "v.json").read_text())["SrkitGeometryWarnings"] == []
