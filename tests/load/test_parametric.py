"""The parametric map plugin on a Parametric Map made with highdicom from the shared CT
(float values with a Real World Value Mapping: quantity and UCUM units)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pydicom
import pytest
from pydicom.sr.coding import Code

from srkit.load import examine, load
from tests.conftest import data_files, require_module
from tests.load.fixtures import uid

hd = require_module("highdicom")


def _parametric_map(tmp_path, slope=1.0, intercept=0.0):
    datasets = [pydicom.dcmread(f) for f in data_files("ct/dcmqi_ct-3slice/*.dcm")]
    for ds in datasets:
        if "SpecificCharacterSet" in ds and not ds.SpecificCharacterSet:
            del ds.SpecificCharacterSet
    values = np.stack([ds.pixel_array.astype(np.float32) / 1000 for ds in datasets])
    mapping = hd.pm.RealWorldValueMapping(
        lut_label="ADC",
        lut_explanation="apparent diffusion coefficient",
        unit=Code("um2/s", "UCUM", "um2/s"),
        value_range=(float(values.min()), float(values.max())),
        slope=slope,
        intercept=intercept,
        quantity_definition=Code("113041", "DCM", "Apparent Diffusion Coefficient"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = hd.pm.ParametricMap(
            datasets,
            values,
            uid("pm", "series"),
            5,
            uid("pm", "sop"),
            1,
            "srkit",
            "srkit",
            "1",
            "1",
            False,
            [mapping],
            voi_lut_transformations=[hd.VOILUTTransformation(window_center=0.5, window_width=2)],
        )
    path = tmp_path / "pm.dcm"
    pm.save_as(path)
    return path, values, datasets


@pytest.mark.parametrize(("slope", "intercept"), [(1.0, 0.0), (2.0, -0.5)])
def test_parametric_map_values_quantity_units(tmp_path, slope, intercept):
    path, values, datasets = _parametric_map(tmp_path, slope, intercept)
    (item,) = examine([path])
    assert item.plugin == "parametric"
    assert item.selected
    assert item.warnings == ()
    assert item.name.startswith("Apparent Diffusion Coefficient")
    vol = load(item)
    assert vol.array.dtype == np.float32
    assert vol.units == "um2/s"
    assert vol.meta["SrkitQuantity"]["meaning"] == "Apparent Diffusion Coefficient"
    # volume order: ascending along the normal, i.e. the source files reversed
    np.testing.assert_allclose(vol.array, values[::-1] * slope + intercept, rtol=1e-6, atol=1e-6)
    ct = load(examine([f.filename for f in datasets])[0])
    np.testing.assert_allclose(vol.affine, ct.affine, atol=1e-6)
    vol.to_nifti(tmp_path / "pm.nii.gz")
    side = json.loads((tmp_path / "pm.json").read_text())
    assert side["SrkitUnits"] == "um2/s"
    assert side["SrkitQuantity"]["value"] == "113041"
