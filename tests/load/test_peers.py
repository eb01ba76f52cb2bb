"""srkit.load beside dcm2niix and highdicom on the same series (real and synthetic).

dcm2niix (PyPI ``dcm2niix``) converts each series: where both accept it the voxel values
agree and the affines agree within 1e-4 mm; dcm2niix's warnings correspond to srkit's
codes. highdicom's volume API gives the same array and affine.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

from srkit.load import examine, load
from tests.conftest import data_files, require_module, require_tool, skip_or_fail
from tests.load.fixtures import axial_positions, make_series

nib = require_module("nibabel")

DCM2NIIX_WARNINGS = {
    # dcm2niix's message -> the srkit codes that find the same problem
    "Interslice distance varies": {
        "uniform_slice_spacing",
        "missing_slices",
        "unique_slice_positions",
    },
    "Missing images?": {"instance_number_gaps"},
    "gantry tilt": {"gantry_tilt"},
}


def _dcm2niix() -> str:
    beside = Path(sys.executable).with_name("dcm2niix")
    return require_tool("dcm2niix", str(beside))


def _run_dcm2niix(src: Path, out: Path) -> tuple[dict[str, Path], str]:
    out.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [_dcm2niix(), "-z", "n", "-b", "y", "-f", "vol", "-o", str(out), str(src)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    files = {p.name.removesuffix(".nii"): p for p in out.glob("*.nii")}
    return files, proc.stdout + proc.stderr


def _canonical(data, affine):
    img = nib.as_closest_canonical(nib.Nifti1Image(np.asarray(data, dtype=np.float64), affine))
    return np.asarray(img.dataobj, dtype=np.float64), img.affine


def _nifti_canonical(path: Path):
    img = nib.as_closest_canonical(nib.load(str(path)))
    return img.get_fdata(), img.affine


def _expected_codes(messages: str) -> set[str]:
    return {m for m in DCM2NIIX_WARNINGS if m in messages}


CASES = {
    "regular": (axial_positions([0, 2, 4, 6, 8]), {}),
    "irregular": (axial_positions([0, 2, 4, 7, 9, 11]), {}),
    "missing": (axial_positions([0, 2, 4, 8, 10, 12]), {}),
    "missing_numbered": (
        axial_positions([0, 2, 4, 8, 10, 12]),
        {"edit": lambda i, ds: setattr(ds, "InstanceNumber", [1, 2, 3, 5, 6, 7][i])},
    ),
    "tilt": (axial_positions([0, 2, 4, 6, 8], tilt_degrees=15), {"tilt": 15.0}),
    "duplicate": (axial_positions([0, 2, 2, 4, 6]), {}),
}
"""name -> (positions, make_series options)."""

PLAIN = {"regular", "tilt"}
"""Cases whose plain dcm2niix output is srkit's ``none`` volume voxel for voxel."""
EQUALIZED = {"irregular", "missing", "missing_numbered", "duplicate"}
"""Cases whose dcm2niix ``_Eq`` output is srkit's ``resample`` volume (duplicate: srkit's
``none`` already leaves the repeated slice out, as ``_Eq`` does)."""


@pytest.mark.peers
@pytest.mark.parametrize("case", sorted(CASES))
def test_dcm2niix_agrees_on_synthetic_series(tmp_path, case):
    positions, options = CASES[case]
    files = make_series(tmp_path / "dicom", case, positions, **options)
    outputs, messages = _run_dcm2niix(tmp_path / "dicom", tmp_path / "d2n")
    (item,) = [x for x in examine(files) if x.selected]
    codes = set(item.warning_codes)
    # dcm2niix's warnings and srkit's codes tell the same story
    for message, ours in DCM2NIIX_WARNINGS.items():
        assert (message in messages) == bool(codes & ours), (message, codes, messages)
    if case in PLAIN:
        ours_none = load(item)
        out = tmp_path / "srkit.nii"
        ours_none.to_nifti(out)
        a, a_aff = _nifti_canonical(out)
        b, b_aff = _nifti_canonical(outputs["vol"])
        assert np.array_equal(a, b)
        if case == "regular":
            np.testing.assert_allclose(a_aff, b_aff, atol=1e-4)
        else:
            # dcm2niix's plain output ignores the tilt (an orthogonal grid); srkit's
            # ``resample`` grid is that same grid
            vol = load(item, regularize="resample")
            vol.to_nifti(tmp_path / "resampled.nii")
            np.testing.assert_allclose(
                _nifti_canonical(tmp_path / "resampled.nii")[1], b_aff, atol=1e-4
            )
            assert abs(item.warnings[0].measured["tilt_degrees"]) == pytest.approx(15, abs=0.01)
            assert "tilt of -15 degrees" in messages or "tilt of 15 degrees" in messages
    if case in EQUALIZED:
        vol = load(item, regularize="none" if case == "duplicate" else "resample")
        out = tmp_path / "srkit.nii"
        vol.to_nifti(out)
        a, a_aff = _nifti_canonical(out)
        b, b_aff = _nifti_canonical(outputs["vol_Eq_1"])
        assert a.shape == b.shape
        np.testing.assert_allclose(a_aff, b_aff, atol=1e-4)
        # dcm2niix stores the interpolated values as integers
        np.testing.assert_allclose(a, b, atol=0.51)


@pytest.mark.peers
@pytest.mark.parametrize("folder", ["ct/dcmqi_ct-3slice", "mr/dcm4che_MR", "ct/dcmqi_23x38x3"])
def test_dcm2niix_and_highdicom_agree_on_real_series(tmp_path, folder):
    import highdicom as hd

    files = data_files(f"{folder}/*.dcm")
    if not files:
        skip_or_fail(f"no data in {folder}")
    (item,) = [x for x in examine(files) if x.selected]
    assert item.warnings == ()
    vol = load(item)
    out = tmp_path / "srkit.nii.gz"
    vol.to_nifti(out)
    outputs, messages = _run_dcm2niix(files[0].parent, tmp_path / "d2n")
    assert not _expected_codes(messages)
    a, a_aff = _nifti_canonical(out)
    b, b_aff = _nifti_canonical(outputs["vol"])
    assert np.array_equal(a, b)
    np.testing.assert_allclose(a_aff, b_aff, atol=1e-4)
    # highdicom: same array and affine (both LPS, indexed slice, row, column)
    hv = hd.get_volume_from_series([pydicom.dcmread(f) for f in files])
    c, c_aff = _canonical(hv.array, hv.affine)
    d, d_aff = _canonical(vol.array, vol.affine)
    assert np.array_equal(c, d)
    np.testing.assert_allclose(c_aff, d_aff, atol=1e-4)


def test_nifti_header_and_sidecar(tmp_path):
    import json

    files = data_files("ct/dcmqi_ct-3slice/*.dcm")
    vol = load(examine(files)[0], regularize="report")
    path = vol.to_nifti(tmp_path / "ct.nii.gz")
    img = nib.load(str(path))
    assert int(img.header["qform_code"]) == 1
    assert int(img.header["sform_code"]) == 1
    np.testing.assert_allclose(img.get_qform(), img.get_sform(), atol=1e-5)
    # RAS: x and y of LPS negated; voxel axes (column, row, slice)
    np.testing.assert_allclose(img.affine[:3, 3], [235.199997, 226.800003, -128.690002], atol=1e-5)
    assert img.shape == (512, 512, 3)
    side = json.loads((tmp_path / "ct.json").read_text())
    assert side["Modality"] == "CT"
    assert side["ManufacturersModelName"] == "LightSpeed Ultra"
    assert side["ImageOrientationPatientDICOM"] == [1, 0, 0, 0, 1, 0]
    assert side["SrkitRegularization"] == "report"
    assert side["SrkitSliceInstanceUIDs"] == list(vol.slice_uids)
    assert side["SrkitGeometryWarnings"] == []
    assert side["SrkitSliceDisplacementMm"] == [[0, 0, 0]] * 3
    assert side["SrkitUnits"] == "HU"
