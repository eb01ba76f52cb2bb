"""The Spatial Registration plugin on a registration object made in the fixture from the
shared CT's frame of reference (no real one is in the shared data)."""

from __future__ import annotations

import json

import numpy as np
import pydicom
import pytest
from click.testing import CliRunner
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from srkit.cli.main import cli
from srkit.load import LoadError, examine, load
from srkit.load.registration import SPATIAL_REGISTRATION
from tests.conftest import data_files
from tests.load.fixtures import uid

MATRIX = np.array([[0, -1, 0, 10.5], [1, 0, 0, -3], [0, 0, 1, 2.25], [0, 0, 0, 1]], dtype=float)


def _registration(tmp_path, values=None):
    ct = pydicom.dcmread(data_files("ct/dcmqi_ct-3slice/*.dcm")[0], stop_before_pixels=True)
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = SPATIAL_REGISTRATION, uid("reg", "sop")
    ds.Modality = "REG"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = ct.StudyInstanceUID, uid("reg", "series")
    ds.PatientID, ds.PatientName = ct.PatientID, ct.PatientName
    ds.FrameOfReferenceUID = uid("reg", "for")
    items = []
    for for_uid, matrix in ((ds.FrameOfReferenceUID, np.eye(4)), (ct.FrameOfReferenceUID, MATRIX)):
        m = Dataset()
        m.FrameOfReferenceTransformationMatrixType = "RIGID"
        m.FrameOfReferenceTransformationMatrix = (
            values
            if values is not None and for_uid != ds.FrameOfReferenceUID
            else [f"{v:g}" for v in matrix.ravel()]
        )
        reg = Dataset()
        reg.MatrixSequence = [m]
        item = Dataset()
        item.FrameOfReferenceUID = for_uid
        item.MatrixRegistrationSequence = [reg]
        items.append(item)
    ds.RegistrationSequence = items
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SPATIAL_REGISTRATION
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = tmp_path / "reg.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path, ct.FrameOfReferenceUID


def test_registration_matrices_with_their_frames(tmp_path):
    path, ct_for = _registration(tmp_path)
    (item,) = examine([path])
    assert item.plugin == "registration"
    assert item.selected
    assert item.warnings == ()
    reg = load(item)
    assert [r["frame_of_reference_uid"] for r in reg.registrations][1] == ct_for
    (m,) = reg.registrations[1]["matrices"]
    assert m["type"] == "RIGID"
    np.testing.assert_array_equal(np.array(m["matrix"]), MATRIX)
    out = tmp_path / "reg.nii.gz"
    result = CliRunner().invoke(cli, ["load", str(path), "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "reg.json").read_text())
    assert doc["registrations"][1]["matrices"][0]["matrix"][0] == [0, -1, 0, 10.5]


def test_malformed_matrix_is_an_error_naming_the_file(tmp_path):
    path, _ = _registration(tmp_path, values=["1", "0", "0"])
    (item,) = examine([path])
    assert item.warning_codes == ("malformed_matrix",)
    assert not item.selected
    with pytest.raises(LoadError, match="3 values, not 16") as info:
        load(item)
    assert str(path) in str(info.value)
