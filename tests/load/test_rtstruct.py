"""The RT Structure Set plugin on a structure set made in the fixture over a synthetic CT
series from the shared CT (no RTSTRUCT is in the shared data): contours in patient
coordinates and their labelmap on the referenced grid."""

from __future__ import annotations

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

from srkit.load import examine, load
from srkit.load.rtstruct import RT_STRUCTURE_SET
from tests.load.fixtures import axial_positions, make_series, uid


def _square(x0, x1, y0, y1, z):
    return [x0, y0, z, x1, y0, z, x1, y1, z, x0, y1, z]


def _rtstruct(tmp_path, images, contours_by_roi):
    first = pydicom.dcmread(images[0], stop_before_pixels=True)
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = RT_STRUCTURE_SET, uid("rt", "sop")
    ds.Modality, ds.StructureSetLabel = "RTSTRUCT", "Boxes"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = first.StudyInstanceUID, uid("rt", "series")
    ds.PatientID = first.PatientID
    series = Dataset()
    series.SeriesInstanceUID = first.SeriesInstanceUID
    study = Dataset()
    study.RTReferencedSeriesSequence = [series]
    frame = Dataset()
    frame.FrameOfReferenceUID = first.FrameOfReferenceUID
    frame.RTReferencedStudySequence = [study]
    ds.ReferencedFrameOfReferenceSequence = [frame]
    ds.StructureSetROISequence, ds.ROIContourSequence = [], []
    for number, (name, polygons) in enumerate(contours_by_roi, start=1):
        roi = Dataset()
        roi.ROINumber, roi.ROIName = number, name
        roi.ReferencedFrameOfReferenceUID = first.FrameOfReferenceUID
        ds.StructureSetROISequence.append(roi)
        rc = Dataset()
        rc.ReferencedROINumber = number
        rc.ROIDisplayColor = [255, 0, 0]
        rc.ContourSequence = []
        for poly in polygons:
            c = Dataset()
            c.ContourGeometricType = "CLOSED_PLANAR"
            c.NumberOfContourPoints = len(poly) // 3
            c.ContourData = [f"{v:g}" for v in poly]
            rc.ContourSequence.append(c)
        ds.ROIContourSequence.append(rc)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = RT_STRUCTURE_SET
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = tmp_path / "rtstruct.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


def test_contours_and_labelmap_on_the_referenced_grid(tmp_path):
    images = make_series(tmp_path / "ct", "rt-ct", axial_positions([0, 2, 4, 6, 8]))
    path = _rtstruct(
        tmp_path,
        images,
        [
            ("box", [_square(-6.1, 2.1, -4.1, 4.1, 2), _square(-6.1, 2.1, -4.1, 4.1, 4)]),
            # a ring: the inner square is a hole (even-odd)
            ("ring", [_square(-12, 12, -12, 12, 6), _square(-4, 4, -4, 4, 6)]),
            ("far", [_square(-6, 6, -6, 6, 40)]),
        ],
    )
    found = examine([path, *images])
    item = next(x for x in found if x.plugin == "rtstruct")
    assert item.selected
    assert item.warnings == ()
    assert item.extra["rois"] == ["box", "ring", "far"]
    result = load(item)
    assert [r["name"] for r in result.rois] == ["box", "ring", "far"]
    assert result.rois[0]["contours"][0]["points"][1] == [2.1, -4.1, 2.0]
    labels = result.labelmap.array
    assert labels.shape == (5, 32, 32)
    # voxel centres x = -12.8 + 0.8 c, y = -12.8 + 0.8 r: the box covers c 9..18, r 11..21
    expected = np.zeros((32, 32), dtype=bool)
    expected[11:22, 9:19] = True
    assert np.array_equal(labels[1] == 1, expected)
    assert np.array_equal(labels[2] == 1, expected)
    assert not (labels[[0, 3, 4]] == 1).any()
    ring = labels[3] == 2
    outer = np.zeros((32, 32), dtype=bool)
    outer[1:31, 1:31] = True  # -12 <= -12.8 + 0.8 k < 12: k 1..30
    hole = np.zeros((32, 32), dtype=bool)
    hole[11:21, 11:21] = True  # -4 <= -12.8 + 0.8 k < 4: k 11..20
    assert np.array_equal(ring, outer & ~hole)
    assert [w.code for w in result.warnings] == ["contour_off_grid"]
    assert "far contour 1" in result.warnings[0].message
    np.testing.assert_allclose(result.labelmap.affine, load(examine(images)[0]).affine)


def test_structure_set_without_its_series(tmp_path):
    images = make_series(tmp_path / "ct", "rt-ct2", axial_positions([0, 2, 4]))
    path = _rtstruct(tmp_path, images, [("box", [_square(-6, 2, -4, 4, 2)])])
    (item,) = examine([path])
    assert item.warning_codes == ("referenced_series_absent",)
    assert str(path) in item.warnings[0].message
    result = load(item)
    assert result.labelmap is None
    assert len(result.rois[0]["contours"]) == 1
