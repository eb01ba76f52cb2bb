"""srkit.load: loadables, selection, sub-series, geometry checks, volumes, bad input."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pydicom
import pytest

from srkit.diagnostics import Severity
from srkit.load import (
    ENTRY_POINT_GROUP,
    GeometryTolerances,
    Loadable,
    LoadError,
    examine,
    examine_files,
    load,
    plugins,
    select,
)
from srkit.load.geometry import GEOMETRY_CODES
from tests.conftest import data_files, data_path
from tests.load.fixtures import AXIAL, CORONAL, axial_positions, ct_slices, make_series


def _whole(loadables: list[Loadable]) -> Loadable:
    (whole,) = [x for x in loadables if x.plugin == "scalar" and not x.reason]
    return whole


def _codes(item: Loadable) -> set[str]:
    return {w.code for w in item.warnings if w.severity is not Severity.INFO}


# -- plugins, loadables, selection ------------------------------------------------------


def test_builtin_scalar_plugin_is_registered():
    table = plugins()
    assert "scalar" in table
    assert table["scalar"].name == "scalar"
    assert ENTRY_POINT_GROUP == "srkit.load_plugins"


def test_entry_point_plugin_is_found(monkeypatch):
    from srkit.load import registry

    class Extra:
        name = "extra"

        def examine(self, file_lists, headers):
            first = headers.get(file_lists[0][0])
            return [
                Loadable(
                    files=tuple(file_lists[0]),
                    name="x",
                    plugin="extra",
                    series_uid=first.series_uid,
                    confidence=0.9,
                )
            ]

        def load(self, loadable, **options):
            return "loaded-by-extra"

    class FakeEntryPoint:
        name, value = "extra", "tests.load.test_load:Extra"

        def load(self):
            return Extra

    seen = []
    monkeypatch.setattr(
        registry, "entry_points", lambda group: seen.append(group) or [FakeEntryPoint()]
    )
    try:
        table = registry.plugins(reload=True)
        from srkit.load.registry import BUILTIN_PLUGINS

        assert list(table) == [*BUILTIN_PLUGINS, "extra"]
        assert seen == [ENTRY_POINT_GROUP]
        files = [str(p) for p in data_files("ct/dcmqi_ct-3slice/*.dcm")]
        found = examine([files])
        by_plugin = {x.plugin: x for x in found}
        assert by_plugin["extra"].selected  # 0.9 beats the scalar plugin's 0.5
        assert not by_plugin["scalar"].selected
        assert load(by_plugin["extra"]) == "loaded-by-extra"
    finally:
        monkeypatch.undo()
        registry.plugins(reload=True)


def test_loadable_is_frozen_and_slotted():
    item = Loadable(files=("a",), name="n")
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.name = "m"  # type: ignore[misc]
    assert not hasattr(item, "__dict__")


def test_select_highest_confidence_per_series_ties_all_selected():
    items = [
        Loadable(files=("a1", "a2", "a3"), name="whole", confidence=0.45, series_uid="1"),
        Loadable(files=("a1",), name="part1", confidence=0.5, series_uid="1"),
        Loadable(files=("a2",), name="part2", confidence=0.5, series_uid="1"),
        Loadable(files=("a3",), name="loc", confidence=0.1, series_uid="1"),
        Loadable(files=("b",), name="other", confidence=0.2, series_uid="2"),
    ]
    chosen = [x.name for x in select(items) if x.selected]
    assert chosen == ["part1", "part2", "other"]


def test_real_ct_one_clean_selected_loadable():
    files = data_files("ct/dcmqi_ct-3slice/*.dcm")
    (item,) = examine(files)
    assert item.selected
    assert item.confidence == 0.5
    assert item.plugin == "scalar"
    assert item.warnings == ()
    assert item.name == "CT series 2"


# -- volumes ---------------------------------------------------------------------------


def test_real_ct_volume():
    files = data_files("ct/dcmqi_ct-3slice/*.dcm")
    vol = load(examine(files)[0])
    assert vol.array.shape == (3, 512, 512)
    assert vol.array.dtype == np.int16
    assert vol.units == "HU"
    assert vol.windows[0].center == 40
    assert vol.windows[0].width == 400
    raw = pydicom.dcmread(files[2])  # 03.dcm is lowest along the normal
    assert np.array_equal(vol.array[0], raw.pixel_array.astype(np.int16) - 1024)
    assert vol.slice_uids[0] == raw.SOPInstanceUID
    assert vol.slice_uids == tuple(pydicom.dcmread(f).SOPInstanceUID for f in reversed(files))
    np.testing.assert_allclose(
        vol.affine,
        [
            [0, 0, 0.810547, -235.199997],
            [0, 0.810547, 0, -226.800003],
            [1, 0, 0, -128.690002],
            [0, 0, 0, 1],
        ],
        atol=1e-6,
    )


def test_real_mr_volume_coronal():
    files = data_files("mr/dcm4che_MR/*.dcm")
    (item,) = examine(files)
    vol = load(item)
    assert vol.array.shape == (16, 256, 256)
    assert (
        vol.spacing[0]
        == pytest.approx(
            abs(
                float(pydicom.dcmread(files[1]).SliceLocation)
                - float(pydicom.dcmread(files[0]).SliceLocation)
            ),
            abs=0.01,
        )
        or vol.spacing[0] > 0
    )
    assert item.warnings == ()


@pytest.mark.parametrize(
    ("policy", "dtype"), [("auto", np.int16), ("float32", np.float32), ("raw", np.int16)]
)
def test_dtype_policy(policy, dtype):
    files = data_files("ct/dcmqi_ct-3slice/*.dcm")
    vol = load(examine(files)[0], dtype=policy)
    assert vol.array.dtype == dtype
    raw = pydicom.dcmread(files[2]).pixel_array
    expected = raw if policy == "raw" else raw.astype(np.float64) - 1024
    assert np.array_equal(vol.array[0].astype(np.float64), expected)


def test_fractional_rescale_gives_float32_per_slice(tmp_path):
    def edit(i, ds):
        ds.RescaleSlope = [0.5, 1, 2][i]
        ds.RescaleIntercept = -1000

    files = make_series(tmp_path, "rescale", axial_positions([0, 1, 2]), edit=edit)
    (item,) = examine(files)
    assert _codes(item) == set()
    assert "consistent_rescale" in item.warning_codes  # INFO
    vol = load(item)
    assert vol.array.dtype == np.float32
    raw = ct_slices()
    for i, slope in enumerate([0.5, 1, 2]):
        np.testing.assert_allclose(vol.array[i], raw[i] * slope - 1000)


# -- geometry: each expected code, and no other -----------------------------------------


def test_regular_synthetic_series_has_no_warning(tmp_path):
    files = make_series(tmp_path, "regular", axial_positions([0, 2, 4, 6, 8]))
    (item,) = examine(files)
    assert item.warnings == ()


def test_irregular_spacing(tmp_path):
    files = make_series(tmp_path, "irregular", axial_positions([0, 2, 4, 7, 9, 11]))
    (item,) = examine(files)
    assert _codes(item) == {"uniform_slice_spacing"}
    (w,) = item.warnings
    assert w.tolerance == {"slice_interval_mm": 0.2, "slice_interval_relative": 0.05}
    assert w.measured["max_interval_mm"] == pytest.approx(3)
    assert w.measured["min_interval_mm"] == pytest.approx(2)


def test_irregular_spacing_within_a_wider_tolerance(tmp_path):
    files = make_series(tmp_path, "irregular", axial_positions([0, 2, 4, 6.15, 8.15]))
    (item,) = examine(files)
    assert _codes(item) == {"uniform_slice_spacing"}  # 0.05 relative of 2.04 mm
    tol = GeometryTolerances(slice_interval_relative=0.1)
    vol = load(item, tolerances=tol)
    assert "uniform_slice_spacing" not in vol.warning_codes


def test_missing_slice(tmp_path):
    files = make_series(tmp_path, "missing", axial_positions([0, 2, 4, 8, 10, 12]))
    (item,) = examine(files)
    assert _codes(item) == {"missing_slices"}
    (w,) = item.warnings
    assert w.measured == {"missing": 1, "nominal_spacing_mm": 2.0}
    assert w.files == (str(files[2]),)


def test_instance_number_gap_without_position_gap(tmp_path):
    files = make_series(
        tmp_path,
        "numbers",
        axial_positions([0, 2, 4, 6]),
        edit=lambda i, ds: setattr(ds, "InstanceNumber", [1, 2, 5, 6][i]),
    )
    (item,) = examine(files)
    assert item.warning_codes == ("instance_number_gaps",)
    assert item.warnings[0].measured == {"gaps": [[2, 5]]}


def test_missing_slice_with_instance_number_gap(tmp_path):
    files = make_series(
        tmp_path,
        "both",
        axial_positions([0, 2, 4, 8, 10]),
        edit=lambda i, ds: setattr(ds, "InstanceNumber", [1, 2, 3, 5, 6][i]),
    )
    (item,) = examine(files)
    assert _codes(item) == {"missing_slices", "instance_number_gaps"}


def test_duplicate_positions(tmp_path):
    files = make_series(tmp_path, "dupes", axial_positions([0, 2, 2, 4, 6]))
    (item,) = examine(files)
    assert _codes(item) == {"unique_slice_positions"}
    vol = load(item)
    assert vol.array.shape[0] == 4  # the repeated slice is named in the warning
    assert item.warnings[0].files == (str(files[2]),)


def test_mixed_pixel_spacing(tmp_path):
    files = make_series(
        tmp_path,
        "spacing",
        axial_positions([0, 2, 4]),
        spacing=[[0.8, 0.8], [0.8, 0.8], [0.9, 0.9]],
    )
    (item,) = examine(files)
    assert _codes(item) == {"consistent_pixel_spacing"}
    assert item.warnings[0].measured["spread_mm"] == pytest.approx(0.1)


def test_gantry_tilt_estimated_and_compared(tmp_path):
    files = make_series(
        tmp_path, "tilt", axial_positions([0, 2, 4, 6, 8], tilt_degrees=15), tilt=15.0
    )
    (item,) = examine(files)
    assert _codes(item) == {"gantry_tilt"}
    assert item.warnings[0].measured["tilt_degrees"] == pytest.approx(15, abs=1e-3)
    wrong = make_series(
        tmp_path / "w", "tilt-wrong", axial_positions([0, 2, 4, 6, 8], tilt_degrees=15), tilt=0.0
    )
    (item2,) = examine(wrong)
    assert _codes(item2) == {"gantry_tilt", "gantry_tilt_mismatch"}


def test_in_plane_jitter_is_not_a_tilt(tmp_path):
    pos = axial_positions([0, 2, 4, 6])
    pos[2] = (pos[2][0] + 0.5, pos[2][1], pos[2][2])
    files = make_series(tmp_path, "jitter", pos)
    (item,) = examine(files)
    assert _codes(item) == {"consistent_in_plane_row"}


def test_oblique_is_info_with_angle(tmp_path):
    a = math.radians(10)
    ori = (1.0, 0.0, 0.0, 0.0, math.cos(a), math.sin(a))
    normal = np.cross(ori[:3], ori[3:])
    pos = [tuple(normal * z) for z in (0, 2, 4)]
    files = make_series(tmp_path, "oblique", pos, orientations=[ori] * 3)
    (item,) = examine(files)
    assert _codes(item) == set()
    (w,) = item.warnings
    assert (w.code, w.severity) == ("oblique", Severity.INFO)
    assert w.measured["obliquity_degrees"] == pytest.approx(10, abs=1e-3)


def test_two_orientations_split_into_sub_series(tmp_path):
    pos = axial_positions([0, 2, 4, 6]) + [(-12.8, y, 10.0) for y in (0, 2, 4, 6)]
    ori = [AXIAL] * 4 + [CORONAL] * 4
    files = make_series(tmp_path, "two", pos, orientations=ori)
    found = examine(files)
    whole = _whole(found)
    assert _codes(whole) == {"single_orientation"}
    assert not whole.selected
    assert whole.confidence == 0.45
    parts = [x for x in found if x.reason]
    assert [x.reason for x in parts] == ["ImageOrientationPatient"] * 2
    assert all(x.selected and x.warnings == () and len(x.files) == 4 for x in parts)
    assert load(parts[1]).array.shape == (4, 32, 32)


def test_localizer_inside_series(tmp_path):
    pos = [(-12.8, 0.0, 20.0), *axial_positions([0, 2, 4, 6, 8])]
    ori = [CORONAL] + [AXIAL] * 5
    types = [["ORIGINAL", "PRIMARY", "LOCALIZER"]] + [["ORIGINAL", "PRIMARY", "AXIAL"]] * 5
    files = make_series(tmp_path, "loc", pos, orientations=ori, image_types=types)
    found = examine(files)
    parts = {x.name: x for x in found if x.reason}
    assert len(parts) == 2  # by Image Type; the same split by orientation is not repeated
    (localizer,) = [x for x in parts.values() if x.extra["localizer"]]
    (axial,) = [x for x in parts.values() if not x.extra["localizer"]]
    assert localizer.files == (str(files[0]),)
    assert localizer.confidence == 0.1
    assert not localizer.selected
    assert axial.selected
    assert axial.warnings == ()
    assert len(axial.files) == 5
    assert _codes(_whole(found)) == {"single_orientation"}


def test_acquisition_number_split(tmp_path):
    files = make_series(
        tmp_path,
        "acq",
        axial_positions([0, 2, 4, 0, 2, 4]),
        edit=lambda i, ds: setattr(ds, "AcquisitionNumber", 1 + i // 3),
    )
    found = examine(files)
    assert _codes(_whole(found)) == {"unique_slice_positions"}
    parts = [x for x in found if x.reason == "AcquisitionNumber"]
    assert [len(x.files) for x in parts] == [3, 3]
    assert all(x.selected and x.warnings == () for x in parts)


def test_every_code_is_declared(tmp_path):
    assert len(set(GEOMETRY_CODES)) == len(GEOMETRY_CODES)
    for code in ("single_orientation", "uniform_slice_spacing", "consistent_in_plane_col"):
        assert code in GEOMETRY_CODES


# -- regularisation ---------------------------------------------------------------------


def test_report_gives_per_slice_displacement(tmp_path):
    files = make_series(tmp_path, "irr", axial_positions([0, 2, 4, 7]))
    vol = load(examine(files)[0], regularize="report")
    assert vol.regularization == "report"
    np.testing.assert_allclose(vol.displacement[:, 2], [0, -1 / 3, -2 / 3, 0], atol=1e-6)


def test_resample_to_uniform_spacing_fills_missing_slice(tmp_path):
    files = make_series(tmp_path, "gap", axial_positions([0, 2, 4, 8]))
    item = examine(files)[0]
    vol = load(item, regularize="resample")
    assert vol.regularization == "resample"
    assert vol.array.shape == (5, 32, 32)
    assert vol.spacing[0] == pytest.approx(2.0)
    raw = [s.astype(np.float32) - 1024 for s in ct_slices()]
    # files 0..3 carry real slices 0,1,2,0; z=6 is halfway between z=4 and z=8
    np.testing.assert_allclose(vol.array[3], (raw[2] + raw[0]) / 2, atol=1e-3)
    np.testing.assert_allclose(vol.array[4], raw[0], atol=1e-3)
    assert vol.slice_uids[4] == pydicom.dcmread(files[3]).SOPInstanceUID


def test_resample_untilts(tmp_path):
    # a tilt whose in-plane shift is one whole row per slice: untilting is exact
    step = math.degrees(math.atan(0.8 / 2))
    files = make_series(tmp_path, "tilt", axial_positions([0, 2, 4], tilt_degrees=step), tilt=step)
    item = examine(files)[0]
    assert _codes(item) == {"gantry_tilt"}
    none = load(item)
    assert not np.allclose(none.affine[:3, 0], [0, 0, 2])  # sheared
    vol = load(item, regularize="resample")
    np.testing.assert_allclose(vol.affine[:3, 0], [0, 0, 2], atol=1e-9)
    # slice 1 starts one row further along +y: its row r is row r + 1 of the untilted grid
    np.testing.assert_allclose(vol.array[1, 1:], none.array[1, :-1], atol=1e-3)


# -- bad input -------------------------------------------------------------------------


def test_series_without_positions(tmp_path):
    files = make_series(
        tmp_path,
        "nopos",
        axial_positions([0, 2, 4]),
        edit=lambda i, ds: delattr(ds, "ImagePositionPatient"),
    )
    (item,) = examine(files)
    assert _codes(item) == {"missing_position"}
    assert not item.selected
    assert not item.loadable
    with pytest.raises(LoadError, match="without Image Position"):
        load(item)


def test_mixed_sop_classes(tmp_path):
    def edit(i, ds):
        if i == 2:
            ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
            ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
            ds.Modality = "MR"

    files = make_series(tmp_path, "mixed", axial_positions([0, 2, 4]), edit=edit)
    found = examine(files)
    whole = _whole(found)
    assert _codes(whole) == {"mixed_sop_classes"}
    assert str(files[0]) in whole.warnings[0].message
    assert next(x.reason for x in found if x.reason) == "SOPClassUID"


def test_truncated_pixel_data_names_the_file(tmp_path):
    files = make_series(tmp_path, "trunc", axial_positions([0, 2, 4]))
    data = files[1].read_bytes()
    files[1].write_bytes(data[: len(data) - 100])
    (item,) = examine(files)
    with pytest.raises(LoadError) as info:
        load(item)
    assert str(files[1]) in str(info.value)


def test_not_dicom_is_a_named_problem(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    good = data_files("ct/dcmqi_ct-3slice/*.dcm")
    result = examine_files([*good, bad])
    assert [p.code for p in result.problems] == ["not_dicom"]
    assert str(bad) in result.problems[0].message
    assert len(result.loadables) == 1


def test_sr_file_is_left_to_other_plugins():
    result = examine_files([data_path("sr-other/pydicom_test-SR.dcm")], plugins=["scalar"])
    assert result.loadables == []
    assert [p.code for p in result.problems] == ["no_plugin"]


def test_folders_stand_for_their_files():
    folder = data_path("ct/dcmqi_ct-3slice")
    (item,) = examine([folder])
    assert item.files == tuple(str(f) for f in data_files("ct/dcmqi_ct-3slice/*.dcm"))


@pytest.mark.parametrize(
    "pattern",
    [
        "ct/dcmqi_ct-3slice/*.dcm",
        "ct/pydicom_CT2/*.dcm",
        "mr/dcm4che_MR/*.dcm",
        "ct/dcmqi_23x38x3/*.dcm",
        "ct/pydicom_CT_small.dcm",
    ],
)
def test_native_fast_path_equals_pydicom(pattern):
    from srkit.load.pixels import read_native_frame

    files = data_files(pattern)
    assert files
    for f in files:
        header = pydicom.dcmread(f, stop_before_pixels=True)
        fast = read_native_frame(str(f), header)
        full = pydicom.dcmread(f).pixel_array
        if fast is not None:
            assert fast.dtype == full.dtype
            assert np.array_equal(fast, full), f


@pytest.mark.parametrize("signed", [0, 1])
def test_fast_path_clears_unused_bits_as_pydicom(tmp_path, signed):
    from srkit.load.pixels import read_native_frame

    def edit(i, ds):
        raw = np.frombuffer(ds.PixelData, "<u2").copy()
        raw[:4] = [0xF000, 0x0FFF, 0x0800, 0x8001]  # high bits set, sign bit 11 set
        ds.PixelData = raw.tobytes()
        ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 12, 11, signed

    files = make_series(tmp_path, f"bits{signed}", axial_positions([0, 2]), edit=edit)
    header = pydicom.dcmread(files[0], stop_before_pixels=True)
    fast = read_native_frame(str(files[0]), header)
    full = pydicom.dcmread(files[0]).pixel_array
    assert fast.dtype == full.dtype == (np.int16 if signed else np.uint16)
    assert np.array_equal(fast, full)
    assert fast.ravel()[:4].tolist() == ([0, -1, -2048, 1] if signed else [0, 4095, 2048, 1])


def test_fast_path_declines_what_it_cannot_read(tmp_path):
    from pydicom.uid import RLELossless

    from srkit.load.pixels import read_native_frame

    trunc = make_series(tmp_path / "t", "short", axial_positions([0, 2]))
    trunc[0].write_bytes(trunc[0].read_bytes()[:-10])
    header = pydicom.dcmread(trunc[0], stop_before_pixels=True)
    assert read_native_frame(str(trunc[0]), header) is None
    rle = make_series(
        tmp_path / "r", "rle", axial_positions([0, 2]), edit=lambda i, ds: ds.compress(RLELossless)
    )
    header = pydicom.dcmread(rle[0], stop_before_pixels=True)
    assert read_native_frame(str(rle[0]), header) is None

    def two_frames(i, ds):
        ds.NumberOfFrames = 2
        ds.PixelData = ds.PixelData * 2

    multi = make_series(tmp_path / "m", "multi", axial_positions([0]), edit=two_frames)
    header = pydicom.dcmread(multi[0], stop_before_pixels=True)
    assert read_native_frame(str(multi[0]), header) is None


def test_loadables_of_one_series_that_share_no_file_do_not_compete():
    items = [
        Loadable(files=("ct1", "ct2"), name="ct", confidence=0.5, series_uid="1"),
        Loadable(files=("ct1",), name="ct part", confidence=0.5, series_uid="1"),
        Loadable(files=("sr",), name="report", confidence=0.9, series_uid="1"),
    ]
    assert [x.selected for x in select(items)] == [True, True, True]
    items.append(Loadable(files=("ct2", "sr"), name="both", confidence=0.95, series_uid="1"))
    assert [x.selected for x in select(items)] == [False, False, False, True]


def test_report_filed_in_its_image_series_leaves_the_image_selected():
    # highdicom's example SR carries the Series Instance UID of the CT it measures
    ct = data_path("ct/pydicom_CT_small.dcm")
    sr = data_path("sr-tid1500/highdicom_sr_document.dcm")
    found = examine([ct, sr])
    assert {x.plugin: x.selected for x in found} == {"scalar": True, "tid1500": True}
    assert len({x.series_uid for x in found}) == 1


def test_diffusion_gradient_split(tmp_path):
    def edit(i, ds):
        ds.DiffusionGradientOrientation = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]][i // 3]

    files = make_series(tmp_path, "dwi", axial_positions([0, 2, 4, 0, 2, 4]), edit=edit)
    found = examine(files)
    assert _codes(_whole(found)) == {"unique_slice_positions"}
    parts = [x for x in found if x.reason]
    assert [x.reason for x in parts] == ["DiffusionGradientOrientation"] * 2
    assert [x.files for x in parts] == [tuple(map(str, files[:3])), tuple(map(str, files[3:]))]
    assert all(x.selected and x.warnings == () for x in parts)


def test_image_type_split_without_localizer(tmp_path):
    types = [["ORIGINAL", "PRIMARY", "AXIAL"]] * 3 + [["DERIVED", "SECONDARY", "AXIAL"]] * 3
    files = make_series(tmp_path, "types", axial_positions([0, 2, 4, 0, 2, 4]), image_types=types)
    found = examine(files)
    parts = [x for x in found if x.reason]
    assert [x.reason for x in parts] == ["ImageType"] * 2
    assert [x.confidence for x in parts] == [0.5, 0.5]
    assert not any(x.extra["localizer"] for x in parts)
    assert "ImageType=ORIGINAL\\PRIMARY\\AXIAL" in parts[0].name


def test_non_orthonormal_orientation(tmp_path):
    ori = (1.0, 0.0, 0.0, 0.1, 1.0, 0.0)
    files = make_series(tmp_path, "skew", axial_positions([0, 2, 4]), orientations=[ori] * 3)
    (item,) = examine(files)
    assert _codes(item) == {"orthogonal_orientation"}
    assert item.warnings[0].measured["dot"] == pytest.approx(0.1)
    assert item.warnings[0].tolerance == {"orthogonality": 0.01}


def test_missing_orientation(tmp_path):
    files = make_series(
        tmp_path,
        "noori",
        axial_positions([0, 2, 4]),
        edit=lambda i, ds: delattr(ds, "ImageOrientationPatient") if i == 1 else None,
    )
    found = examine(files)
    whole = _whole(found)
    assert _codes(whole) == {"missing_orientation"}
    assert whole.warnings[0].files == (str(files[1]),)
    assert not whole.loadable
    assert not whole.selected
    # the file without orientation is set apart as its own (unloadable) part
    axial, empty = [x for x in found if x.reason == "ImageOrientationPatient"]
    assert empty.files == (str(files[1]),)
    assert "(empty)" in empty.name
    assert not empty.loadable
    assert axial.selected
    assert axial.warnings == ()


def test_multi_frame_and_image_dimensions_checks():
    from srkit.load.geometry import SliceInfo, check_geometry

    def info(i, **kw):
        base = dict(
            path=f"f{i}",
            sop_instance_uid=f"u{i}",
            position=(0.0, 0.0, 2.0 * i),
            orientation=AXIAL,
            pixel_spacing=(1.0, 1.0),
            rows=8,
            columns=8,
        )
        base.update(kw)
        return SliceInfo(**base)

    geo = check_geometry([info(0), info(1, frames=4), info(2)])
    assert geo.codes == ["multi_frame"]
    assert not geo.ok
    geo = check_geometry([info(0), info(1, rows=9), info(2)])
    assert geo.codes == ["consistent_image_dimensions"]
    assert not geo.ok
    geo = check_geometry([info(0), info(1), info(2)])
    assert geo.codes == []
    assert geo.ok
    np.testing.assert_allclose(geo.affine[:3, 0], [0, 0, 2])


def test_interleaved_sub_series_have_no_instance_number_gaps(tmp_path):
    # acquisitions interleaved: 1, 3, 5 and 2, 4, 6; only the whole series repeats positions
    pos = axial_positions([0, 0, 2, 2, 4, 4])
    files = make_series(
        tmp_path, "interleaved", pos, edit=lambda i, ds: setattr(ds, "AcquisitionNumber", 1 + i % 2)
    )
    found = examine(files)
    parts = [x for x in found if x.reason == "AcquisitionNumber"]
    assert [x.warnings for x in parts] == [(), ()]
    assert load(parts[0]).warnings == ()
    # a real gap still shows in a part: number 7 is held by no part
    files2 = make_series(
        tmp_path / "g",
        "gap",
        axial_positions([0, 2, 4, 6]),
        edit=lambda i, ds: (
            setattr(ds, "AcquisitionNumber", 1 + i // 2),
            setattr(ds, "InstanceNumber", [1, 2, 3, 8][i]),
        ),
    )
    part = [x for x in examine(files2) if x.reason == "AcquisitionNumber"][1]
    assert part.warning_codes == ("instance_number_gaps",)
