"""Loading a native series without pydicom gives what the pydicom path gives (issue 14).

The same real files are examined and loaded both ways, with the caches of derived
values emptied in between so that neither path borrows the other's: through srkit's
own header reader (the default) and through pydicom's ``dcmread`` and pixel handlers
(``fast=False``). Loadables, arrays, affines, every Volume field, sidecars and NIfTI
files must be equal. A subprocess pins that examining, loading and exporting an
uncompressed CT and MR series imports neither pydicom nor nibabel.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import srkit
from srkit.load import examine_files, load
from srkit.load import headers as headers_module
from srkit.load import pixels as pixels_module
from srkit.load.nifti import sidecar
from tests.conftest import DATA, data_files, require_module

IMAGE_SERIES = [
    "ct/dcmqi_ct-3slice",
    "ct/pydicom_CT2",
    "ct/dcmqi_23x38x3",
    "mr/dcm4che_MR",
]


def _forget():
    """Empty the caches shared by both paths (headers kept between examine and load,
    values derived per stored bytes, pixel layouts)."""
    headers_module._RECENT.clear()
    headers_module._DERIVED.clear()
    pixels_module._LAYOUTS.clear()


def _both_ways(files):
    _forget()
    light = examine_files(files)
    kept = {f: headers_module.recent_header(f) for f in map(str, files)}
    kinds = {f: h.light for f, h in kept.items() if h is not None}
    _forget()
    reference = examine_files(files, fast=False)
    return light, reference, kinds


def _same_volume(a, b):
    assert a.array.dtype == b.array.dtype
    assert a.array.shape == b.array.shape
    assert np.array_equal(a.array, b.array)
    assert np.array_equal(a.affine, b.affine)
    for name in ("slice_uids", "units", "windows", "dtype_policy", "rescale", "meta", "name"):
        assert getattr(a, name) == getattr(b, name), name
    assert [w.to_dict() for w in a.warnings] == [w.to_dict() for w in b.warnings]
    assert (a.displacement is None) == (b.displacement is None)
    if a.displacement is not None:
        assert np.array_equal(a.displacement, b.displacement)
    assert sidecar(a) == sidecar(b)


def test_the_whole_data_folder_examines_the_same_both_ways():
    files = [p for p in sorted(DATA.rglob("*")) if p.is_file()]
    assert len(files) > 40
    light, reference, kinds = _both_ways(files)
    assert [x.to_dict() for x in light.loadables] == [x.to_dict() for x in reference.loadables]
    assert [p.to_dict() for p in light.problems] == [p.to_dict() for p in reference.problems]
    assert sum(kinds.values()) >= 55  # every native file was read without pydicom


@pytest.mark.parametrize("folder", IMAGE_SERIES)
@pytest.mark.parametrize(("policy", "regularize"), [("auto", "none"), ("float32", "report")])
def test_real_series_load_the_same_both_ways(tmp_path, folder, policy, regularize):
    files = data_files(f"{folder}/*.dcm")
    assert files
    light, reference, kinds = _both_ways(files)
    assert all(kinds.values())
    scalar = [x for x in light.loadables if x.plugin == "scalar"]
    assert scalar
    assert scalar == [x for x in reference.loadables if x.plugin == "scalar"]
    for item in scalar:
        _forget()
        a = load(item, dtype=policy, regularize=regularize)
        _forget()
        b = load(item, dtype=policy, regularize=regularize, fast=False)
        _same_volume(a, b)
        for suffix in (".nii", ".nii.gz"):
            pa = a.to_nifti(tmp_path / f"light{suffix}")
            pb = b.to_nifti(tmp_path / f"pydicom{suffix}")
            assert pa.read_bytes() == pb.read_bytes()
            assert (tmp_path / "light.json").read_text() == (tmp_path / "pydicom.json").read_text()


NO_PYDICOM = """
import json, sys
from srkit.load import examine, load

item = next(x for x in examine([sys.argv[1]]) if x.selected and x.plugin == "scalar")
volume = load(item)
volume.to_nifti(sys.argv[2] + ".nii")
volume.to_nifti(sys.argv[2] + ".nii.gz")
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("pydicom", "nibabel"))
print(json.dumps({"heavy": heavy, "shape": list(volume.shape)}))
"""


@pytest.mark.parametrize("folder", ["ct/dcmqi_ct-3slice", "mr/dcm4che_MR"])
def test_loading_a_native_series_does_not_import_pydicom(tmp_path, folder):
    nib = require_module("nibabel")
    source = DATA / folder
    assert source.is_dir()
    env = {**os.environ, "PYTHONPATH": str(Path(srkit.__file__).resolve().parents[1])}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(NO_PYDICOM), str(source), str(tmp_path / "vol")],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    report = json.loads(out.stdout.splitlines()[-1])
    assert report["heavy"] == []
    # and what it wrote is the volume the pydicom path loads
    (item,) = [x for x in examine_files([source], fast=False).loadables if x.selected]
    expected = load(item, fast=False)
    assert report["shape"] == list(expected.shape)
    for suffix in (".nii", ".nii.gz"):
        image = nib.load(tmp_path / f"vol{suffix}")
        assert np.array_equal(np.asarray(image.dataobj), expected.array.transpose(2, 1, 0))
        assert np.allclose(image.affine, nib.load(tmp_path / "vol.nii").affine)
    with gzip.open(tmp_path / "vol.nii.gz") as fh:
        assert fh.read() == (tmp_path / "vol.nii").read_bytes()
    written = json.loads((tmp_path / "vol.json").read_text())
    assert written == sidecar(expected)
