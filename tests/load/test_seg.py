"""The SEG plugin on the shared SEGs and the series they reference, beside highdicom."""

from __future__ import annotations

import json

import numpy as np
import pydicom
import pytest

from srkit.load import LoadError, examine, load
from srkit.load.seg import segment_metadata
from tests.conftest import data_files, data_path, require_module

hd = require_module("highdicom")


def _with_reference(seg: str, series: str):
    files = [data_path(seg), *data_files(f"{series}/*.dcm")]
    found = examine(files)
    (seg_item,) = [x for x in found if x.plugin == "seg"]
    return found, seg_item


def test_liver_seg_labelmap_on_the_ct_grid_equals_highdicom():
    found, item = _with_reference("seg/dcmqi_liver_seg.dcm", "ct/dcmqi_ct-3slice")
    assert item.selected
    assert item.confidence == 0.9
    assert item.warnings == ()
    assert item.extra["segments"] == ["Liver"]
    ct_item = next(x for x in found if x.plugin == "scalar")
    assert ct_item.selected  # another series: its own selection
    ct = load(ct_item)
    labels = load(item)
    assert labels.array.shape == ct.array.shape
    assert labels.array.dtype == np.uint8
    np.testing.assert_array_equal(labels.affine, ct.affine)
    assert labels.slice_uids == ct.slice_uids
    seg = hd.seg.segread(str(data_path("seg/dcmqi_liver_seg.dcm")))
    expected = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=list(ct.slice_uids),
        combine_segments=True,
        assert_missing_frames_are_empty=False,
        ignore_spatial_locations=True,
    )
    assert np.array_equal(labels.array, expected)
    assert int(labels.array.sum()) == 107098
    # and by position: highdicom's volume of the SEG, matched to the CT grid
    hv = seg.get_volume(combine_segments=True)
    geometry = hd.VolumeGeometry(
        ct.affine, ct.array.shape, "PATIENT", frame_of_reference_uid=seg.FrameOfReferenceUID
    )
    assert np.array_equal(hv.match_geometry(geometry).array, labels.array)


def test_overlapping_segments_per_segment_volumes():
    _, item = _with_reference("seg/dcmqi_partial_overlaps_seg.dcm", "ct/dcmqi_ct-3slice")
    with pytest.raises(LoadError, match=r"overlap.*--segments") as info:
        load(item)
    assert "dcmqi_partial_overlaps_seg.dcm" in str(info.value)
    vol = load(item, labelmap=False)
    assert vol.array.shape == (3, 512, 512, 5)
    seg = hd.seg.segread(str(data_path("seg/dcmqi_partial_overlaps_seg.dcm")))
    expected = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=list(vol.slice_uids),
        assert_missing_frames_are_empty=False,
        ignore_spatial_locations=True,
    )
    assert np.array_equal(vol.array, expected)
    assert vol.meta["SrkitSegmentNumbers"] == [1, 2, 3, 4, 5]


def test_small_seg_on_its_series():
    _, item = _with_reference("seg/dcmqi_23x38x3_label_seg.dcm", "ct/dcmqi_23x38x3")
    vol = load(item)
    assert vol.array.shape == (3, 38, 23)
    assert int(vol.array.sum()) == 322


def test_seg_on_split_series_uses_the_whole_referenced_series():
    _, item = _with_reference("seg/highdicom_seg_image_ct_binary_overlap.dcm", "ct/pydicom_CT2")
    vol = load(item, labelmap=False)
    assert vol.array.shape == (4, 16, 16, 2)
    seg = hd.seg.segread(str(data_path("seg/highdicom_seg_image_ct_binary_overlap.dcm")))
    expected = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=list(vol.slice_uids),
        assert_missing_frames_are_empty=False,
    )
    assert np.array_equal(vol.array, expected)


def test_referenced_series_absent_is_a_named_warning_and_loads_on_the_seg_grid():
    path = data_path("seg/orthanc_DicomSeg_TCGA-GBM.dcm")
    (item,) = examine([path])
    assert item.warning_codes == ("referenced_series_absent",)
    assert str(path) in item.warnings[0].message
    assert item.selected
    vol = load(item)
    hv = hd.seg.segread(str(path)).get_volume(combine_segments=True)
    assert np.array_equal(vol.array, hv.array)
    np.testing.assert_allclose(vol.affine, hv.affine)
    assert sorted(np.unique(vol.array).tolist()) == [0, 1, 2, 3]


def test_unreadable_seg_names_the_file():
    path = data_path("seg/qr_syngo_seg.dcm")  # lacks a Type 1 attribute highdicom requires
    found = examine([path, *data_files("ct/dcmqi_ct-3slice/*.dcm")])
    item = next(x for x in found if x.plugin == "seg")
    with pytest.raises(LoadError) as info:
        load(item)
    assert str(path) in str(info.value)
    assert "SegmentedPropertyCategoryCodeSequence" in str(info.value)


def test_segment_metadata_dcmqi_style():
    ds = pydicom.dcmread(data_path("seg/dcmqi_liver_seg.dcm"), stop_before_pixels=True)
    meta = segment_metadata(ds)
    (seg,) = meta["segmentAttributes"][0]
    assert seg["labelID"] == 1
    assert seg["SegmentLabel"] == "Liver"
    assert seg["SegmentAlgorithmType"] == "SEMIAUTOMATIC"
    assert seg["SegmentAlgorithmName"] == "SlicerEditor"
    assert seg["SegmentedPropertyTypeCodeSequence"] == {
        "CodeValue": "T-62000",
        "CodingSchemeDesignator": "SRT",
        "CodeMeaning": "Liver",
    }
    # the dcmqi example for this data set gives this colour
    example = json.loads(data_path("dcmqi-json/examples/seg-example.json").read_text())
    rgb = example["segmentAttributes"][0][0]["recommendedDisplayRGBValue"]
    assert all(abs(a - b) <= 2 for a, b in zip(seg["recommendedDisplayRGBValue"], rgb))


def test_labelmap_nifti_with_segment_sidecar(tmp_path):
    nib = require_module("nibabel")
    _, item = _with_reference("seg/dcmqi_liver_seg.dcm", "ct/dcmqi_ct-3slice")
    vol = load(item)
    vol.to_nifti(tmp_path / "liver.nii.gz")
    img = nib.load(str(tmp_path / "liver.nii.gz"))
    assert img.get_data_dtype() == np.uint8
    assert int(np.asarray(img.dataobj).sum()) == 107098
    side = json.loads((tmp_path / "liver.json").read_text())
    assert side["Modality"] == "SEG"
    assert side["SrkitSegmentation"]["segmentAttributes"][0][0]["SegmentLabel"] == "Liver"
    assert side["SrkitSliceInstanceUIDs"] == list(vol.slice_uids)
