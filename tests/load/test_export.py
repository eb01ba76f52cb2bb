"""Export back to DICOM: a SEG from a labelmap (highdicom), a new image series; read back
by srkit, highdicom, dcmqi's segimage2itkimage, and checked by dciodvfy."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pydicom
import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.errors import SrkitError
from srkit.load import examine, load
from srkit.load.export import volume_from_nifti, write_image_series
from tests.conftest import data_files, data_path, require_module, require_tool

nib = require_module("nibabel")
hd = require_module("highdicom")


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def liver_labels(tmp_path):
    ct = data_files("ct/dcmqi_ct-3slice/*.dcm")
    found = examine([data_path("seg/dcmqi_liver_seg.dcm"), *ct])
    labels = load(next(x for x in found if x.plugin == "seg"))
    path = tmp_path / "liver.nii.gz"
    labels.to_nifti(path)
    return path, labels, ct


def _dciodvfy_errors(path):
    tool = require_tool("dciodvfy")
    proc = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=60)
    return [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("Error")]


def test_nifti_round_trip(liver_labels):
    path, labels, _ = liver_labels
    back = volume_from_nifti(path)
    assert np.array_equal(back.array, labels.array)
    np.testing.assert_allclose(back.affine, labels.affine, atol=1e-5)


@pytest.mark.peers
def test_create_seg_read_back_by_srkit_highdicom_dcmqi_and_dciodvfy(tmp_path, liver_labels):
    path, labels, ct = liver_labels
    meta = data_path("dcmqi-json/examples/seg-example.json")
    out = tmp_path / "new.seg.dcm"
    result = run(
        "create", "seg", path, "--image", data_path("ct/dcmqi_ct-3slice"), "--meta", meta, "-o", out
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    # srkit
    (item,) = [x for x in examine([out, *ct]) if x.plugin == "seg"]
    assert item.extra["segments"] == ["Liver"]
    assert np.array_equal(load(item).array, labels.array)
    # highdicom
    seg = hd.seg.segread(str(out))
    assert seg.SegmentSequence[0].SegmentLabel == "Liver"
    assert seg.SegmentSequence[0].SegmentedPropertyTypeCodeSequence[0].CodeValue == "10200004"
    expected = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=list(labels.slice_uids),
        combine_segments=True,
        assert_missing_frames_are_empty=False,
    )
    assert np.array_equal(expected, labels.array)
    # dciodvfy: 0 errors
    assert _dciodvfy_errors(out) == []
    # dcmqi
    tool = require_tool("segimage2itkimage")
    outdir = tmp_path / "dcmqi"
    outdir.mkdir()
    subprocess.run(
        [tool, "--inputDICOM", str(out), "--outputDirectory", str(outdir), "--outputType", "nifti"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    img = nib.as_closest_canonical(nib.load(str(outdir / "1.nii.gz")))
    ours = nib.as_closest_canonical(nib.load(str(path)))
    assert np.array_equal(np.asarray(img.dataobj) > 0, np.asarray(ours.dataobj) > 0)
    np.testing.assert_allclose(img.affine, ours.affine, atol=1e-3)
    meta_out = json.loads((outdir / "meta.json").read_text())
    assert meta_out["segmentAttributes"][0][0]["SegmentLabel"] == "Liver"


def test_create_seg_refuses_a_labelmap_off_the_grid(tmp_path, liver_labels):
    path, _, _ = liver_labels
    result = run(
        "create",
        "seg",
        path,
        "--image",
        data_path("ct/dcmqi_23x38x3"),
        "--meta",
        data_path("dcmqi-json/examples/seg-example.json"),
        "-o",
        tmp_path / "x.dcm",
    )
    assert result.exit_code == 1
    assert "does not match the series grid" in result.stderr


def test_create_seg_refuses_a_label_without_description(tmp_path, liver_labels):
    path, _, _ = liver_labels
    meta = tmp_path / "m.json"
    meta.write_text(json.dumps({"segmentAttributes": [[]]}))
    result = run(
        "create",
        "seg",
        path,
        "--image",
        data_path("ct/dcmqi_ct-3slice"),
        "--meta",
        meta,
        "-o",
        tmp_path / "x.dcm",
    )
    assert result.exit_code == 1
    assert "label 1 of the labelmap has no entry" in result.stderr


@pytest.mark.peers
@pytest.mark.parametrize("folder", ["ct/dcmqi_ct-3slice", "mr/dcm4che_MR"])
def test_new_image_series_reads_back_and_passes_dciodvfy(tmp_path, folder):
    files = data_files(f"{folder}/*.dcm")
    vol = load(examine(files)[0])
    written = write_image_series(vol, files, tmp_path / "new")
    like = pydicom.dcmread(files[0], stop_before_pixels=True)
    new = pydicom.dcmread(written[0], stop_before_pixels=True)
    assert new.SeriesInstanceUID != like.SeriesInstanceUID
    assert new.StudyInstanceUID == like.StudyInstanceUID
    assert new.SOPClassUID == like.SOPClassUID
    assert list(new.ImageType)[:2] == ["DERIVED", "SECONDARY"]
    (item,) = examine(written)
    assert item.warnings == ()
    again = load(item)
    assert np.array_equal(again.array, vol.array)
    np.testing.assert_allclose(again.affine, vol.affine, atol=1e-5)
    assert _dciodvfy_errors(written[0]) == []


def test_new_image_series_refuses_the_existing_series_uid(tmp_path):
    files = data_files("ct/dcmqi_ct-3slice/*.dcm")
    vol = load(examine(files)[0])
    uid = pydicom.dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID
    with pytest.raises(SrkitError, match="existing series"):
        write_image_series(vol, files, tmp_path / "new", series_instance_uid=uid)


def test_export_dicom_into_the_database(tmp_path):
    from srkit.db import Database

    url = str(tmp_path / "db.sqlite")
    with Database(url) as db:
        db.import_paths([data_path("ct/dcmqi_ct-3slice")])
    uid = pydicom.dcmread(data_files("ct/dcmqi_ct-3slice/*.dcm")[0]).SeriesInstanceUID
    nifti = tmp_path / "ct.nii.gz"
    assert run("load", "--db", url, "--series", uid, "-o", nifti).exit_code == 0
    result = run("export", "dicom", nifti, "--like", uid, "--db", url)
    assert result.exit_code == 0, result.output
    new_uid = result.stdout.strip()
    with Database(url) as db:
        rows = db.instance_files("SERIES", new_uid)
    assert len(rows) == 3
    back = load(examine([str(p) for _, p in rows])[0])
    original = load(examine(data_files("ct/dcmqi_ct-3slice/*.dcm"))[0])
    assert np.array_equal(back.array, original.array)
    again = run("export", "dicom", nifti, "--like", uid, "--db", url, "--series-uid", new_uid)
    assert again.exit_code == 1
    assert "already in the database" in again.stderr


def test_created_seg_is_referenced_by_a_measurement_report_and_loads_back(tmp_path, liver_labels):
    path, labels, ct = liver_labels
    seg = tmp_path / "liver.dcm"
    assert (
        run(
            "create",
            "seg",
            path,
            "--image",
            data_path("ct/dcmqi_ct-3slice"),
            "--meta",
            data_path("dcmqi-json/examples/seg-example.json"),
            "-o",
            seg,
        ).exit_code
        == 0
    )
    meta = json.loads(data_path("dcmqi-json/examples/sr-tid1500-ct-liver-example.json").read_text())
    seg_uid = pydicom.dcmread(seg, stop_before_pixels=True).SOPInstanceUID
    for group in meta["Measurements"]:
        group["segmentationSOPInstanceUID"] = seg_uid
    meta_path = tmp_path / "sr.json"
    meta_path.write_text(json.dumps(meta))
    sr = tmp_path / "sr.dcm"
    result = run(
        "create",
        "measurement-report",
        meta_path,
        "--image",
        data_path("ct/dcmqi_ct-3slice"),
        "--seg",
        seg,
        "-o",
        sr,
    )
    assert result.exit_code == 0, result.output
    found = examine([sr, seg, *ct])
    report = next(x for x in found if x.plugin == "tid1500")
    assert report.warnings == ()
    assert str(seg) in report.extra["referenced_files"]
    table = load(report)
    assert table.rows[0]["Tracking Identifier"] == "Measurements group 1"
    seg_item = next(x for x in found if x.plugin == "seg")
    assert np.array_equal(load(seg_item).array, labels.array)
