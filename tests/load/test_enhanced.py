"""The enhanced multi-frame plugin on Legacy Converted Enhanced CT made from the shared CT
(highdicom's converter), beside the single-frame series and highdicom's volume."""

from __future__ import annotations

import warnings

import numpy as np
import pydicom

from srkit.load import examine, load
from tests.conftest import data_files, require_module
from tests.load.fixtures import axial_positions, make_series, uid

hd = require_module("highdicom")


def _enhanced(tmp_path, files, name):
    datasets = [pydicom.dcmread(f) for f in files]
    for ds in datasets:
        ds.PatientName = "Anonymous^Patient"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        image = hd.legacy.LegacyConvertedEnhancedCTImage(
            datasets,
            series_instance_uid=uid(name, "enh-series"),
            series_number=99,
            sop_instance_uid=uid(name, "enh"),
            instance_number=1,
        )
    path = tmp_path / f"{name}.dcm"
    image.save_as(path)
    return path


def test_enhanced_ct_equals_the_single_frame_series_and_highdicom(tmp_path):
    files = data_files("ct/dcmqi_ct-3slice/*.dcm")
    path = _enhanced(tmp_path, files, "real")
    (item,) = examine([path])
    assert item.plugin == "enhanced"
    assert item.selected
    assert item.warnings == ()
    vol = load(item)
    single = load(examine(files)[0])
    assert np.array_equal(vol.array, single.array)
    np.testing.assert_allclose(vol.affine, single.affine, atol=1e-6)
    assert vol.units == "HU"
    assert vol.meta["SrkitFrameNumbers"] == [3, 2, 1]
    hv = hd.imread(str(path)).get_volume()
    flipped = hv.flip_spatial((0,))  # highdicom orders the slices the other way here
    np.testing.assert_allclose(flipped.affine, vol.affine, atol=1e-4)
    assert np.array_equal(flipped.array, vol.array.astype(np.float64))


def test_enhanced_ct_irregular_frames_are_checked(tmp_path):
    files = make_series(tmp_path / "s", "enh-irr", axial_positions([0, 2, 4, 7]))
    path = _enhanced(tmp_path, files, "irr")
    (item,) = examine([path])
    assert item.warning_codes == ("uniform_slice_spacing",)
    vol = load(item, regularize="resample")
    assert vol.array.shape == (5, 32, 32)
    assert vol.regularization == "resample"
