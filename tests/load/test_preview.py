"""Preview pictures (srkit.load.preview) of the shared CT, MR and SEG files, with the
SEG and SR regions drawn over them, checked against pydicom's and highdicom's reading."""

from __future__ import annotations

import io
import itertools
import math
import subprocess
import sys

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.pixels import apply_modality_lut, apply_voi_lut

from srkit.errors import MissingDependencyError, SrkitError
from srkit.load.preview import (
    frame_image,
    image_regions,
    overlay_scoords,
    overlay_segments,
    render_frame,
    scoord_images,
    segment_color,
    segment_masks,
    slice_order,
)
from tests.conftest import data_files, data_path

CT3 = "ct/dcmqi_ct-3slice"
LIVER = "seg/dcmqi_liver_seg.dcm"
OVERLAPS = "seg/dcmqi_partial_overlaps_seg.dcm"
CT_SMALL = "ct/pydicom_CT_small.dcm"
SR_GROUPS = "sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm"
SR_ONE = "sr-tid1500/highdicom_sr_document.dcm"


def _png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(io.BytesIO(data)))


def _by_uid(folder: str) -> dict[str, pydicom.Dataset]:
    out = {}
    for path in data_files(f"{folder}/*.dcm"):
        ds = pydicom.dcmread(path)
        out[str(ds.SOPInstanceUID)] = ds
    return out


def test_png_size_and_aspect():
    ct = pydicom.dcmread(data_path(f"{CT3}/01.dcm"))
    assert _png(render_frame(ct)).shape == (512, 512)
    assert _png(render_frame(ct, size=128)).shape == (128, 128)
    small = data_path("ct/dcmqi_23x38x3/IMG0001.dcm")  # 38 rows x 23 columns
    assert _png(render_frame(small)).shape == (38, 23)
    assert _png(render_frame(small, size=19)).shape == (19, 12)
    assert _png(render_frame(small, size=500)).shape == (38, 23)  # never enlarged
    jpeg = render_frame(ct, size=64, fmt="jpeg")
    assert jpeg[:2] == b"\xff\xd8"
    assert Image.open(io.BytesIO(jpeg)).size == (64, 64)
    with pytest.raises(ValueError, match="png or jpeg"):
        render_frame(ct, fmt="gif")


@pytest.mark.parametrize(
    "name", [f"{CT3}/02.dcm", "mr/dcm4che_MR/MR08.dcm", "ct/pydicom_CT2/17136.dcm"]
)
def test_window_from_the_file(name):
    ds = pydicom.dcmread(data_path(name))
    center, width = float(ds.WindowCenter), float(ds.WindowWidth)
    got = _png(render_frame(ds)).astype(int)
    # pydicom's own linear VOI window (PS3.3 C.11.2.1.2.1), its output range to 0..255
    hu = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    windowed = apply_voi_lut(hu, ds)
    y_min, y_max = apply_voi_lut(np.array([-1e9, 1e9]), ds)
    expected = (windowed - y_min) / (y_max - y_min) * 255
    low = hu <= center - 0.5 - (width - 1) / 2
    high = hu > center - 0.5 + (width - 1) / 2
    assert (got[low] == 0).all()
    assert (got[high] == 255).all()
    inside = ~low & ~high
    assert inside.any()
    assert np.abs(got[inside] - expected[inside]).max() <= 1
    # another window gives another picture; min/max without a window in the file
    assert (_png(render_frame(ds, window=(center + width, width))) != got).any()


def test_no_window_in_the_file_uses_min_max():
    ds = pydicom.dcmread(data_path(CT_SMALL))
    assert "WindowCenter" not in ds
    got = _png(render_frame(ds)).astype(int)
    hu = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    expected = np.rint((hu - hu.min()) / (hu.max() - hu.min()) * 255)
    assert got.min() == 0
    assert got.max() == 255
    assert np.abs(got - expected).max() <= 1


def test_monochrome1_is_inverted():
    ds = pydicom.dcmread(data_path(f"{CT3}/01.dcm"))
    mono2 = _png(render_frame(ds)).astype(int)
    ds.PhotometricInterpretation = "MONOCHROME1"
    mono1 = _png(render_frame(ds)).astype(int)
    assert (mono1 == 255 - mono2).all()


def test_rgb_frame():
    ds = pydicom.dcmread(data_path(CT_SMALL))
    grey = _png(render_frame(ds))
    rgb = np.stack([grey, 255 - grey, grey // 2], axis=-1).astype(np.uint8)
    ds.PhotometricInterpretation = "RGB"
    ds.SamplesPerPixel = 3
    ds.PlanarConfiguration = 0
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    for key in ("RescaleSlope", "RescaleIntercept"):
        del ds[key]
    ds.PixelData = rgb.tobytes()
    assert (_png(render_frame(ds)) == rgb).all()


def test_one_bit_seg_frames():
    seg = pydicom.dcmread(data_path(LIVER))
    assert seg.BitsAllocated == 1
    assert int(seg.NumberOfFrames) == 3
    stored = seg.pixel_array
    for frame in (1, 2, 3):
        got = _png(render_frame(seg, frame))
        assert set(np.unique(got)) <= {0, 255}
        assert ((got == 255) == (stored[frame - 1] == 1)).all()
    assert (stored[1] == 1).sum() > 1000  # the liver is there
    with pytest.raises(SrkitError, match=r"frame 4 out of range \(1..3\)"):
        render_frame(seg, 4)


def test_compressed_frames_render_as_the_native_ones(tmp_path):
    from pydicom.uid import JPEG2000Lossless, RLELossless

    ds = pydicom.dcmread(data_path(CT_SMALL))
    native = _png(render_frame(ds))
    for syntax in (RLELossless, JPEG2000Lossless):
        copy = pydicom.dcmread(data_path(CT_SMALL))
        copy.compress(syntax)
        copy.save_as(tmp_path / "c.dcm")
        assert (_png(render_frame(tmp_path / "c.dcm")) == native).all()


def test_missing_decoder_names_the_codecs_extra(tmp_path):
    from pydicom.uid import HTJ2KLossless, JPEG2000Lossless

    ds = pydicom.dcmread(data_path(CT_SMALL))
    ds.compress(JPEG2000Lossless)
    ds.file_meta.TransferSyntaxUID = HTJ2KLossless  # decoded by pylibjpeg only
    path = tmp_path / "htj2k.dcm"
    ds.save_as(path)
    code = (
        "import sys\n"
        "for m in ('pylibjpeg', 'openjpeg', 'libjpeg', 'gdcm'): sys.modules[m] = None\n"
        "from srkit.load.preview import render_frame\n"
        "from srkit.errors import MissingDependencyError\n"
        "try:\n"
        f"    render_frame({str(path)!r})\n"
        "except MissingDependencyError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "srkit[codecs]" in out.stdout
    assert "High-Throughput JPEG 2000" in out.stdout
    assert issubclass(MissingDependencyError, SrkitError)


def test_seg_overlay_is_exactly_the_highdicom_mask():
    import highdicom as hd

    seg_ds = pydicom.dcmread(data_path(LIVER))
    seg = hd.seg.Segmentation.from_dataset(seg_ds)
    colour = np.array(segment_color(seg_ds.SegmentSequence[0]), float)
    lab = tuple(int(v) for v in seg_ds.SegmentSequence[0].RecommendedDisplayCIELabValue)
    assert tuple(colour) == tuple(hd.color.CIELabColor.from_dicom_value(lab).to_rgb())
    painted = 0
    for uid, ct in _by_uid(CT3).items():
        base = np.asarray(frame_image(ct).convert("RGB")).astype(float)
        got = _png(render_frame(ct, seg=seg_ds)).astype(float)
        mask = seg.get_pixels_by_source_instance(
            source_sop_instance_uids=[uid], segment_numbers=[1], ignore_spatial_locations=True
        )[0, :, :, 0].astype(bool)
        changed = (got != base).any(axis=-1)
        assert (changed == mask).all()
        blend = np.rint(0.5 * base[mask] + 0.5 * colour)
        assert (got[mask] == blend).all()
        painted += int(mask.sum())
    assert painted > 10000


def test_one_segment_of_overlapping_segments():
    import highdicom as hd

    seg_ds = pydicom.dcmread(data_path(OVERLAPS))
    seg = hd.seg.Segmentation.from_dataset(seg_ds)
    numbers = [int(s.SegmentNumber) for s in seg_ds.SegmentSequence]
    assert len(numbers) == 5
    checked = 0
    for uid, ct in _by_uid(CT3).items():
        masks = segment_masks(seg_ds, ct)
        for number in numbers:
            expected = seg.get_pixels_by_source_instance(
                source_sop_instance_uids=[uid],
                segment_numbers=[number],
                assert_missing_frames_are_empty=True,
                ignore_spatial_locations=True,
            )[0, :, :, 0].astype(bool)
            assert (masks.get(number, np.zeros_like(expected)) == expected).all()
            if not expected.any():
                continue
            base = np.asarray(frame_image(ct).convert("RGB")).astype(float)
            only = np.asarray(overlay_segments(frame_image(ct), seg_ds, ct, segments=[number]))
            assert ((only != base).any(axis=-1) == expected).all()
            checked += 1
    assert checked >= 3


def test_seg_on_another_image_draws_nothing():
    seg_ds = pydicom.dcmread(data_path(LIVER))
    other = pydicom.dcmread(data_path("ct/pydicom_CT2/17106.dcm"))
    assert segment_masks(seg_ds, other) == {}
    assert (_png(render_frame(other, seg=seg_ds)) == _png(render_frame(other))[..., None]).all()


def test_sr_regions_on_the_image():
    ct = pydicom.dcmread(data_path(CT_SMALL))
    regions = image_regions(data_path(SR_GROUPS), ct)
    assert ("CIRCLE", [(45.0, 55.0), (45.0, 65.0)]) in regions
    assert ("POLYLINE", [(25.0, 45.0), (45.0, 45.0), (45.0, 65.0), (25.0, 65.0)]) in regions
    # the SCOORD3D point (123.5, 234.1, -23.7) mm is 52 mm from this slice: not drawn
    assert len(regions) == 2
    assert scoord_images(data_path(SR_GROUPS)) == [str(ct.SOPInstanceUID)]


def _distance_to_segment(p, a, b):
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def test_sr_polyline_lands_on_its_pixels():
    ct = pydicom.dcmread(data_path(CT_SMALL))
    base = np.asarray(frame_image(ct).convert("RGB"))
    got = _png(render_frame(ct, sr=data_path(SR_GROUPS)))
    yellow = (got == (255, 255, 0)).all(axis=-1)
    assert (got[~yellow] == base[~yellow]).all()
    polyline = [(25.0, 45.0), (45.0, 45.0), (45.0, 65.0), (25.0, 65.0)]
    centre, radius = (45.0, 55.0), 10.0
    rows, cols = np.nonzero(yellow)
    for r, c in zip(rows, cols, strict=True):
        p = (c + 0.5, r + 0.5)  # pixel centre in SCOORD coordinates
        near_line = min(_distance_to_segment(p, a, b) for a, b in itertools.pairwise(polyline))
        near_circle = abs(math.hypot(p[0] - centre[0], p[1] - centre[1]) - radius)
        assert near_line <= 1.0 or near_circle <= 1.25, (r, c)
    # every half pixel along the polyline has a drawn pixel next to it
    for a, b in itertools.pairwise(polyline):
        steps = int(2 * math.hypot(b[0] - a[0], b[1] - a[1]))
        for k in range(steps + 1):
            x = a[0] + (b[0] - a[0]) * k / steps
            y = a[1] + (b[1] - a[1]) * k / steps
            near = yellow[max(0, int(y) - 1) : int(y) + 1, max(0, int(x) - 1) : int(x) + 1]
            assert near.any(), (x, y)


def test_sr_circle_outline():
    ct = pydicom.dcmread(data_path(CT_SMALL))
    got = _png(render_frame(ct, sr=data_path(SR_ONE)))
    rows, cols = np.nonzero((got == (255, 255, 0)).all(axis=-1))
    assert len(rows) > 40
    radius = np.hypot(cols + 0.5 - 58.0, rows + 0.5 - 52.0)
    assert np.abs(radius - 11.0).max() <= 1.25


def test_scoord3d_projected_within_half_a_slice():
    from srkit.codec.reader import read

    ct = pydicom.dcmread(data_path(CT_SMALL))
    doc = read(data_path(SR_GROUPS))
    (point,) = [p.item for p in doc.walk() if p.item.value_type == "SCOORD3D"]
    # move the slice onto the point's plane (z) and 2 mm off it (within 5 / 2 mm)
    x, y, z = point.data
    spacing = [float(v) for v in ct.PixelSpacing]
    # the image origin 40 columns left of and 30 rows above the point
    origin = [x - 40 * spacing[1], y - 30 * spacing[0], z]
    for dz, drawn in ((0.0, True), (2.0, True), (3.0, False)):
        ct.ImagePositionPatient = [origin[0], origin[1], z + dz]
        regions = [r for r in image_regions(doc, ct) if r[0] == "POINT"]
        assert bool(regions) is drawn
        if drawn:
            ((col, row),) = regions[0][1]
            assert col == pytest.approx(40.5)
            assert row == pytest.approx(30.5)
    ct.ImagePositionPatient = origin
    picture = np.asarray(overlay_scoords(frame_image(ct), doc, ct))
    yellow = (picture == (255, 255, 0)).all(axis=-1)
    assert yellow[30, 40]
    # a cross of 5 px around it (the 2D regions of the SR lie below row 44)
    rows, cols = np.nonzero(yellow[:44])
    assert sorted(zip(rows.tolist(), cols.tolist(), strict=True)) == sorted(
        {(30, c) for c in range(38, 43)} | {(r, 40) for r in range(28, 33)}
    )
    ct.FrameOfReferenceUID = "1.2.3.4"  # another frame of reference: not drawn
    assert image_regions(doc, ct) == [r for r in image_regions(doc, ct) if r[0] != "POINT"]


def test_slice_order_is_volume_order():
    files = data_files("mr/dcm4che_MR/*.dcm")
    ordered = slice_order(list(reversed(files)))
    normal = np.cross(
        *np.reshape([float(v) for v in pydicom.dcmread(files[0]).ImageOrientationPatient], (2, 3))
    )
    along = [
        float(np.dot([float(v) for v in pydicom.dcmread(f).ImagePositionPatient], normal))
        for f in ordered
    ]
    assert along == sorted(along)
    assert len(ordered) == 16


def test_seg_frames_by_plane_position_without_source_references():
    """The syngo.via SEG names no source image per frame: frames are matched to the CT
    slices of its frame of reference by position."""
    seg = pydicom.dcmread(data_path("seg/qr_syngo_seg.dcm"))
    per_frame = seg.PerFrameFunctionalGroupsSequence
    assert not any("DerivationImageSequence" in item for item in per_frame)
    stored = seg.pixel_array
    found = 0
    for ct in _by_uid(CT3).values():
        z = float(ct.ImagePositionPatient[2])
        (n,) = [
            k
            for k, item in enumerate(per_frame)
            if float(item.PlanePositionSequence[0].ImagePositionPatient[2]) == z
        ]
        masks = segment_masks(seg, ct)
        assert set(masks) == {1}
        assert (masks[1] == (stored[n] == 1)).all()
        found += int(masks[1].sum())
    assert found == int((stored == 1).sum()) > 0


def test_fractional_seg_frame_scaled_by_its_maximum():
    seg = pydicom.dcmread(data_path("seg/highdicom_seg_image_ct_true_fractional.dcm"))
    assert seg.SegmentationType == "FRACTIONAL"
    top = float(seg.MaximumFractionalValue)
    stored = seg.pixel_array
    for frame in (1, 2, 3):
        got = _png(render_frame(seg, frame)).astype(int)
        assert (got == np.clip(np.rint(stored[frame - 1] / top * 255), 0, 255)).all()
    assert len(np.unique(stored)) > 2
