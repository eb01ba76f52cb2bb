"""Preview pictures of one frame: window, grey or colour, PNG/JPEG, with overlays.

The rendering core behind the web preview (and DICOMweb ``/rendered`` and
``/thumbnail``, PS3.18 8.3.5). A frame is decoded through pydicom's pixel handlers
(compressed transfer syntaxes need the decoders of ``srkit[codecs]``), the Modality LUT
applied (Rescale Slope/Intercept, PS3.3 C.11.1), then the VOI window (PS3.3 C.11.2:
the caller's, else the file's first Window Center/Width or VOI LUT, else the frame's
minimum and maximum); MONOCHROME1 is inverted, RGB / YBR / PALETTE COLOR give colour.
1-bit frames (binary SEG, PS3.3 C.8.20.2) render black and white.

Overlays are drawn on the full-resolution picture before it is scaled:
:func:`overlay_segments` paints the segments of a SEG whose frames lie on the image
(by Source Image reference, else by plane position), translucent, in each segment's
Recommended Display CIELab Value (PS3.3 C.10.7.1.1); :func:`overlay_scoords` draws the
SCOORD regions of an SR that select the image (PS3.3 C.18.6, pixel coordinates with
(0,0) the top-left corner of the top-left pixel) and the SCOORD3D regions that lie
within half a slice of its plane (C.18.9).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from srkit.errors import MissingDependencyError
from srkit.load.pixels import CODECS_EXTRA, LoadError

__all__ = [
    "FORMATS",
    "render_frame",
    "frame_image",
    "encode_image",
    "overlay_segments",
    "overlay_scoords",
    "segment_color",
    "segment_masks",
    "image_regions",
    "scoord_images",
    "number_of_frames",
    "slice_order",
    "seg_source_instances",
]

FORMATS = {"png": "PNG", "jpeg": "JPEG", "jpg": "JPEG"}
"""Output formats (``fmt``) and Pillow's name for each."""

_PALETTE = (
    (255, 64, 64),
    (64, 200, 64),
    (64, 128, 255),
    (255, 200, 0),
    (200, 64, 255),
    (0, 220, 220),
    (255, 128, 0),
    (255, 105, 180),
)
"""Colours for segments without a recommended display colour, by segment number."""

SCOORD_COLOR = (255, 255, 0)
"""Colour of SR regions (yellow)."""


def _dataset(source: Any, *, pixels: bool = True) -> Any:
    """A pydicom Dataset for a Dataset, a path or bytes."""
    from pydicom import Dataset, dcmread
    from pydicom.errors import InvalidDicomError

    if isinstance(source, Dataset):
        return source
    name = str(source) if isinstance(source, str | Path) else "<bytes>"
    try:
        if isinstance(source, bytes | bytearray):
            import io

            return dcmread(io.BytesIO(bytes(source)), stop_before_pixels=not pixels)
        return dcmread(str(source), stop_before_pixels=not pixels)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise LoadError(f"not a readable DICOM file ({exc})", source=name) from None


def _name(ds: Any) -> str:
    return str(getattr(ds, "filename", "") or ds.get("SOPInstanceUID", "") or "<dataset>")


def number_of_frames(ds: Any) -> int:
    """Number of Frames (0028,0008), 1 when absent."""
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def _decode(ds: Any, frame: int) -> Any:
    """The stored values of one frame (1-based), decoded through pydicom."""
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise LoadError("no Pixel Data element", source=_name(ds))
    frames = number_of_frames(ds)
    if not 1 <= frame <= frames:
        raise LoadError(f"frame {frame} out of range (1..{frames})", source=_name(ds))
    meta = getattr(ds, "file_meta", None)
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    if ts is not None and ts.is_compressed:
        _require_decoder(ts, ds)
    try:
        ds.pixel_array_options(index=frame - 1 if frames > 1 else None)
        arr = ds.pixel_array
    except (NotImplementedError, RuntimeError) as exc:
        text = str(exc)
        if ts is not None and ts.is_compressed:
            raise MissingDependencyError(
                f"{_name(ds)}: pixel data in {ts.name} ({ts}) need a decoder that is not "
                f"installed; pip install '{CODECS_EXTRA}'",
            ) from None
        raise LoadError(
            f"pixel data cannot be decoded ({text.splitlines()[0]})", source=_name(ds)
        ) from None
    except (ValueError, EOFError, KeyError, AttributeError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise LoadError(f"pixel data cannot be read ({first})", source=_name(ds)) from None
    finally:
        try:
            ds.pixel_array_options(index=None)
        except (AttributeError, TypeError):
            pass
    return arr


def _require_decoder(ts: Any, ds: Any) -> None:
    """Raise a clear error when pydicom cannot decode ``ts`` here."""
    from pydicom.pixels.decoders.base import get_decoder

    from srkit.errors import UnsupportedError

    try:
        decoder = get_decoder(ts)
    except NotImplementedError:
        raise UnsupportedError(
            f"pixel data in {ts.name} ({ts}): pydicom has no decoder for this transfer syntax",
            source=_name(ds),
        ) from None
    if not decoder.is_available:
        missing = "; ".join(decoder.missing_dependencies)
        raise MissingDependencyError(
            f"{_name(ds)}: pixel data in {ts.name} ({ts}) need a decoder that is not "
            f"installed; pip install '{CODECS_EXTRA}' (pydicom's plugins: {missing})"
        )


def _frame_item(ds: Any, frame: int, sequence: str) -> Any:
    """The item of a functional group macro for one frame (per-frame, else shared)."""
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and len(per_frame) >= frame:
        seq = per_frame[frame - 1].get(sequence)
        if seq:
            return seq[0]
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        seq = shared[0].get(sequence)
        if seq:
            return seq[0]
    return None


def _first(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, str | bytes) or not hasattr(value, "__len__"):
            return float(value)
        return float(value[0]) if len(value) else None
    except (TypeError, ValueError):
        return None


def _rescale(ds: Any, frame: int) -> tuple[float, float]:
    item = _frame_item(ds, frame, "PixelValueTransformationSequence")
    src = item if item is not None else ds
    slope = _first(src.get("RescaleSlope"))
    intercept = _first(src.get("RescaleIntercept"))
    return (1.0 if slope is None else slope, 0.0 if intercept is None else intercept)


def _file_window(ds: Any, frame: int) -> tuple[float, float] | None:
    item = _frame_item(ds, frame, "FrameVOILUTSequence")
    src = item if item is not None else ds
    center, width = _first(src.get("WindowCenter")), _first(src.get("WindowWidth"))
    if center is None or width is None or width <= 0:
        return None
    return center, width


def _to_uint8(values: Any, lo: float, hi: float) -> Any:
    import numpy as np

    if hi <= lo:
        return np.where(values >= hi, 255, 0).astype(np.uint8)
    # float32 is exact enough for 256 grey levels and twice as fast as float64
    scaled = (values.astype(np.float32) - np.float32(lo)) * np.float32(255.0 / (hi - lo))
    return np.clip(np.rint(scaled, out=scaled), 0, 255, out=scaled).astype(np.uint8)


def _grey(ds: Any, arr: Any, frame: int, window: tuple[float, float] | None) -> Any:
    """8-bit grey values of one monochrome frame."""
    import numpy as np

    if ds.get("SegmentationType") == "BINARY" or int(ds.get("BitsAllocated", 8) or 8) == 1:
        return (arr > 0).astype(np.uint8) * 255
    if ds.get("SegmentationType") == "FRACTIONAL":
        top = float(ds.get("MaximumFractionalValue", 255) or 255)
        return _to_uint8(arr, 0.0, top)
    slope, intercept = _rescale(ds, frame)
    values = arr.astype(np.float32)
    if slope != 1 or intercept != 0:
        values = values * np.float32(slope) + np.float32(intercept)
    if (
        window is None
        and _frame_item(ds, frame, "FrameVOILUTSequence") is None
        and "VOILUTSequence" in ds
        and "WindowCenter" not in ds
    ):
        from pydicom.pixels.processing import apply_voi_lut

        lut = np.asarray(apply_voi_lut(arr, ds), dtype=np.float64)
        item = ds.VOILUTSequence[0]
        bits = int(item.LUTDescriptor[2]) if "LUTDescriptor" in item else 16
        return _invert(ds, _to_uint8(lut, 0.0, float(2**bits - 1)))
    win = window if window is not None else _file_window(ds, frame)
    if win is not None:
        center, width = win
        # PS3.3 C.11.2.1.2.1: linear window
        lo = center - 0.5 - (width - 1) / 2
        hi = center - 0.5 + (width - 1) / 2
        out = _to_uint8(values, lo, hi)
    else:
        finite = values[np.isfinite(values)]
        lo = float(finite.min()) if finite.size else 0.0
        hi = float(finite.max()) if finite.size else 0.0
        out = _to_uint8(values, lo, hi)
    return _invert(ds, out)


def _invert(ds: Any, out: Any) -> Any:
    if str(ds.get("PhotometricInterpretation", "")).strip() == "MONOCHROME1":
        return 255 - out
    return out


def _colour(ds: Any, arr: Any) -> Any:
    """8-bit RGB of one colour frame (RGB, YBR_* converted by pydicom, PALETTE COLOR)."""
    import numpy as np

    pi = str(ds.get("PhotometricInterpretation", "")).strip()
    if pi == "PALETTE COLOR":
        from pydicom.pixels.processing import apply_color_lut

        arr = apply_color_lut(arr, ds)
        bits = 16 if arr.dtype.itemsize > 1 else 8
        return _to_uint8(arr, 0.0, float(2**bits - 1))
    if arr.dtype == np.uint8:
        return arr
    bits = int(ds.get("BitsStored", 8) or 8)
    return _to_uint8(arr, 0.0, float(2**bits - 1))


def frame_image(dataset: Any, frame: int = 1, *, window: tuple[float, float] | None = None) -> Any:
    """One frame as a full-resolution 8-bit Pillow image (mode ``L`` or ``RGB``).

    Parameters
    ----------
    dataset : pydicom.Dataset, path or bytes
        The image (any SOP class with Pixel Data: CT, MR, SEG, ...).
    frame : int
        Frame number, 1-based (PS3.3 C.7.6.6).
    window : (float, float), optional
        (Window Center, Window Width) in rescaled units; default: the file's first
        window (or its VOI LUT), else the frame's minimum and maximum.

    Raises
    ------
    LoadError
        No pixel data, frame out of range, data that cannot be decoded.
    MissingDependencyError
        A compressed transfer syntax without an installed decoder (``srkit[codecs]``).
    """
    from PIL import Image

    ds = _dataset(dataset)
    arr = _decode(ds, frame)
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    pi = str(ds.get("PhotometricInterpretation", "")).strip()
    if samples == 3 or pi == "PALETTE COLOR":
        return Image.fromarray(_colour(ds, arr), mode="RGB")
    if arr.ndim != 2:
        raise LoadError(f"unexpected frame shape {arr.shape}", source=_name(ds))
    return Image.fromarray(_grey(ds, arr, frame, window), mode="L")


def encode_image(image: Any, *, size: int | None = None, fmt: str = "png") -> bytes:
    """Scale a Pillow image so its longer edge is at most ``size`` px (aspect kept) and
    encode it as PNG or JPEG."""
    import io

    from PIL import Image

    key = fmt.lower()
    if key not in FORMATS:
        raise ValueError(f"unknown image format {fmt!r} (png or jpeg)")
    if size is not None:
        if size < 1:
            raise ValueError(f"size must be at least 1 px, not {size}")
        width, height = image.size
        scale = size / max(width, height)
        if scale < 1:
            target = (max(1, round(width * scale)), max(1, round(height * scale)))
            image = image.resize(target, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if FORMATS[key] == "JPEG":
        image.save(buffer, format="JPEG", quality=90)
    else:
        image.save(buffer, format="PNG", compress_level=1)  # speed over a few % of size
    return buffer.getvalue()


def render_frame(
    dataset: Any,
    frame: int = 1,
    *,
    window: tuple[float, float] | None = None,
    size: int | None = None,
    fmt: str = "png",
    seg: Any = None,
    segments: Sequence[int] | None = None,
    sr: Any = None,
) -> bytes:
    """One frame as PNG or JPEG bytes, optionally with a SEG and an SR drawn over it.

    Parameters
    ----------
    dataset : pydicom.Dataset, path or bytes
        The image.
    frame : int
        Frame number, 1-based.
    window : (float, float), optional
        (Window Center, Window Width); default the file's window, else min/max.
    size : int, optional
        Longest edge in pixels (aspect kept; never enlarged); default full size.
    fmt : str
        ``"png"`` or ``"jpeg"``.
    seg : pydicom.Dataset or path, optional
        A Segmentation whose segments on this frame are painted (:func:`overlay_segments`).
    segments : sequence of int, optional
        Only these Segment Numbers of ``seg``.
    sr : pydicom.Dataset, path or srkit Document, optional
        An SR whose regions on this frame are drawn (:func:`overlay_scoords`).
    """
    ds = _dataset(dataset)
    image = frame_image(ds, frame, window=window)
    if seg is not None:
        image = overlay_segments(image, seg, ds, frame, segments=segments)
    if sr is not None:
        image = overlay_scoords(image, sr, ds, frame)
    return encode_image(image, size=size, fmt=fmt)


# -- SEG overlays -------------------------------------------------------------------


def segment_color(item: Any) -> tuple[int, int, int]:
    """sRGB colour of one Segment Sequence item: its Recommended Display CIELab Value
    (PS3.3 C.10.7.1.1) when present, else a fixed colour per segment number."""
    lab = item.get("RecommendedDisplayCIELabValue")
    if lab is not None and len(lab) == 3:
        try:
            from highdicom.color import CIELabColor

            rgb = CIELabColor.from_dicom_value(tuple(int(x) for x in lab)).to_rgb()
            return (int(rgb[0]), int(rgb[1]), int(rgb[2]))
        except (ImportError, ValueError, TypeError):
            pass
    number = int(item.get("SegmentNumber", 1) or 1)
    return _PALETTE[(number - 1) % len(_PALETTE)]


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return out if len(out) == n else None


def _plane(ds: Any, frame: int) -> tuple[Any, Any, Any, tuple[float, float], float] | None:
    """(position, row direction, column direction, pixel spacing, slice thickness) of a
    frame, from the Image Plane module or the functional groups."""
    import numpy as np

    pos_item = _frame_item(ds, frame, "PlanePositionSequence")
    ori_item = _frame_item(ds, frame, "PlaneOrientationSequence")
    meas_item = _frame_item(ds, frame, "PixelMeasuresSequence")
    pos = _floats((pos_item or ds).get("ImagePositionPatient"), 3)
    ori = _floats((ori_item or ds).get("ImageOrientationPatient"), 6)
    src = meas_item if meas_item is not None else ds
    spacing = _floats(src.get("PixelSpacing"), 2)
    if pos is None or ori is None or spacing is None:
        return None
    thickness = _first(src.get("SliceThickness")) or _first(src.get("SpacingBetweenSlices"))
    return (
        np.array(pos),
        np.array(ori[:3]),
        np.array(ori[3:]),
        (spacing[0], spacing[1]),
        float(thickness) if thickness else 1.0,
    )


def _seg_frames_on(seg: Any, image: Any, frame: int) -> list[int]:
    """1-based SEG frame numbers that lie on ``frame`` of ``image``: the frames derived
    from it (Source Image Sequence), else those whose plane position lies within half a
    slice of its plane, parallel to it, in the same Frame of Reference."""
    import numpy as np

    uid = str(image.get("SOPInstanceUID", ""))
    per_frame = seg.get("PerFrameFunctionalGroupsSequence") or []
    by_reference: list[int] = []
    any_reference = False
    image_frames = number_of_frames(image)
    for n, item in enumerate(per_frame, start=1):
        for derivation in item.get("DerivationImageSequence", []) or []:
            for source in derivation.get("SourceImageSequence", []) or []:
                any_reference = True
                if str(source.get("ReferencedSOPInstanceUID", "")) != uid:
                    continue
                frames = source.get("ReferencedFrameNumber")
                listed = [] if frames is None else [int(f) for f in _as_list(frames)]
                if not listed or image_frames == 1 or frame in listed:
                    by_reference.append(n)
    if by_reference:
        return sorted(set(by_reference))
    # no frame names this image: frames that lie on its plane, in its frame of reference
    seg_for, image_for = seg.get("FrameOfReferenceUID"), image.get("FrameOfReferenceUID")
    plane = _plane(image, frame)
    if plane is None or (any_reference and seg_for != image_for):
        return []
    if seg_for and image_for and seg_for != image_for:
        return []
    origin, row_dir, col_dir, _, thickness = plane
    normal = np.cross(row_dir, col_dir)
    out = []
    for n in range(1, number_of_frames(seg) + 1):
        seg_plane = _plane(seg, n)
        if seg_plane is None:
            continue
        if not np.allclose(np.cross(seg_plane[1], seg_plane[2]), normal, atol=1e-3):
            continue
        if abs(float(np.dot(seg_plane[0] - origin, normal))) <= thickness / 2:
            out.append(n)
    return out


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
        return [value]
    return list(value)


def _frame_segment(seg: Any, frame: int) -> int | None:
    item = _frame_item(seg, frame, "SegmentIdentificationSequence")
    if item is None:
        return None
    return int(item.ReferencedSegmentNumber)


def segment_masks(
    seg: Any, image: Any, frame: int = 1, *, segments: Iterable[int] | None = None
) -> dict[int, Any]:
    """Boolean masks (rows x columns) of the SEG's segments on one image frame.

    Parameters
    ----------
    seg : pydicom.Dataset or path
        Segmentation (or Label Map Segmentation) Storage.
    image : pydicom.Dataset or path
        The image the masks should lie on (its header is enough).
    frame : int
        Frame number of ``image``.
    segments : iterable of int, optional
        Only these Segment Numbers.

    Returns
    -------
    dict
        Segment Number -> mask, for the segments with a frame on the image (a mask may
        be empty). Frames on another grid than the image are skipped.
    """
    import numpy as np

    seg_ds = _dataset(seg)
    image_ds = _dataset(image, pixels=False)
    wanted = set(segments) if segments is not None else None
    rows, cols = int(image_ds.get("Rows", 0) or 0), int(image_ds.get("Columns", 0) or 0)
    if (int(seg_ds.get("Rows", 0) or 0), int(seg_ds.get("Columns", 0) or 0)) != (rows, cols):
        return {}
    threshold = 0.5
    if seg_ds.get("SegmentationType") == "FRACTIONAL":
        threshold = 0.5 * float(seg_ds.get("MaximumFractionalValue", 255) or 255)
    masks: dict[int, Any] = {}
    for n in _seg_frames_on(seg_ds, image_ds, frame):
        values = _decode(seg_ds, n)
        number = _frame_segment(seg_ds, n)
        if number is None:  # label map: values are segment numbers (C.8.20.2)
            for label in np.unique(values):
                label = int(label)
                if label == 0 or (wanted is not None and label not in wanted):
                    continue
                masks[label] = masks.get(label, np.zeros((rows, cols), bool)) | (values == label)
            continue
        if wanted is not None and number not in wanted:
            continue
        hit = values >= threshold if seg_ds.get("SegmentationType") == "FRACTIONAL" else values > 0
        masks[number] = masks.get(number, np.zeros((rows, cols), bool)) | hit
    return masks


def overlay_segments(
    image: Any,
    seg: Any,
    source: Any,
    frame: int = 1,
    *,
    segments: Iterable[int] | None = None,
    alpha: float = 0.5,
) -> Any:
    """Paint the SEG's segments that lie on a frame over its rendered picture.

    Parameters
    ----------
    image : PIL.Image.Image
        The full-resolution picture of the frame (:func:`frame_image`).
    seg : pydicom.Dataset or path
        The Segmentation.
    source : pydicom.Dataset or path
        The image dataset the picture shows (SOP Instance UID, plane).
    frame : int
        Its frame number.
    segments : iterable of int, optional
        Only these Segment Numbers.
    alpha : float
        Opacity of the colour (0..1).

    Returns
    -------
    PIL.Image.Image
        A new RGB picture; pixels outside every mask are unchanged.
    """
    import numpy as np
    from PIL import Image

    seg_ds = _dataset(seg)
    colours = {
        int(item.SegmentNumber): segment_color(item) for item in seg_ds.get("SegmentSequence", [])
    }
    rgb = np.array(image.convert("RGB"), dtype=np.uint8)
    for number, mask in sorted(segment_masks(seg_ds, source, frame, segments=segments).items()):
        colour = colours.get(number, _PALETTE[(number - 1) % len(_PALETTE)])
        where = np.nonzero(mask)
        blend = (1 - alpha) * rgb[where].astype(np.float32)
        blend += np.float32(alpha) * np.asarray(colour, dtype=np.float32)
        rgb[where] = np.clip(np.rint(blend), 0, 255).astype(np.uint8)
    return Image.fromarray(rgb, mode="RGB")


# -- SR overlays --------------------------------------------------------------------


def _document(sr: Any) -> Any:
    import warnings

    from srkit.codec.reader import read
    from srkit.errors import SrkitWarning

    if hasattr(sr, "walk") and hasattr(sr, "root"):
        return sr
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SrkitWarning)
        return read(str(sr) if isinstance(sr, Path) else sr)


def _selects(item: Any, uid: str, frame: int) -> bool:
    """Whether a SCOORD item's IMAGE child selects ``frame`` of instance ``uid``."""
    for child in item.children:
        ref = getattr(child, "referenced", None)
        if child.value_type != "IMAGE" or ref is None or ref.sop_instance_uid != uid:
            continue
        frames = getattr(child, "frames", None)
        if not frames or frame in frames:
            return True
    return False


def image_regions(
    sr: Any, image: Any, frame: int = 1
) -> list[tuple[str, list[tuple[float, float]]]]:
    """The SR's regions on one image frame, in pixel coordinates (column, row).

    SCOORD items whose IMAGE child is this instance (and frame), with their Graphic
    Data as is; SCOORD3D items in the image's Frame of Reference whose points lie
    within half a slice of the frame's plane, projected onto it.

    Returns
    -------
    list of (graphic type, points)
    """
    doc = _document(sr)
    image_ds = _dataset(image, pixels=False)
    uid = str(image_ds.get("SOPInstanceUID", ""))
    for_uid = str(image_ds.get("FrameOfReferenceUID", ""))
    plane = _plane(image_ds, frame)
    out: list[tuple[str, list[tuple[float, float]]]] = []
    for position in doc.walk():
        item = position.item
        if item.value_type == "SCOORD" and _selects(item, uid, frame):
            data = list(item.data)
            out.append((str(item.graphic_type), list(zip(data[0::2], data[1::2], strict=False))))
        elif item.value_type == "SCOORD3D" and plane is not None:
            if for_uid and item.frame_of_reference_uid and item.frame_of_reference_uid != for_uid:
                continue
            points = _project(item.data, plane)
            if points:
                out.append((str(item.graphic_type), points))
    return out


def scoord_images(sr: Any) -> list[str]:
    """SOP Instance UIDs of the images the SR's SCOORD regions select, in document
    order, each once."""
    doc = _document(sr)
    out: dict[str, None] = {}
    for position in doc.walk():
        if position.item.value_type != "SCOORD":
            continue
        for child in position.item.children:
            ref = getattr(child, "referenced", None)
            if child.value_type == "IMAGE" and ref is not None:
                out.setdefault(ref.sop_instance_uid, None)
    return list(out)


def _project(data: Sequence[float], plane: Any) -> list[tuple[float, float]]:
    """Points of a SCOORD3D in pixel coordinates; empty unless every point lies within
    half a slice of the plane."""
    import numpy as np

    origin, row_dir, col_dir, (row_spacing, col_spacing), thickness = plane
    normal = np.cross(row_dir, col_dir)
    out = []
    values = list(data)
    for k in range(0, len(values) - 2, 3):
        d = np.array(values[k : k + 3]) - origin
        if abs(float(np.dot(d, normal))) > thickness / 2:
            return []
        # the centre of pixel (0,0) is at (0.5, 0.5) in SCOORD pixel coordinates
        out.append(
            (
                float(np.dot(d, row_dir)) / col_spacing + 0.5,
                float(np.dot(d, col_dir)) / row_spacing + 0.5,
            )
        )
    return out


def _ellipse(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """A closed polygon through an ellipse given by its major and minor axis end points."""
    (x1, y1), (x2, y2), (x3, y3), (x4, y4) = points[:4]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    a = math.hypot(x2 - x1, y2 - y1) / 2
    b = math.hypot(x4 - x3, y4 - y3) / 2
    theta = math.atan2(y2 - y1, x2 - x1)
    out = []
    for k in range(73):
        t = 2 * math.pi * k / 72
        ex, ey = a * math.cos(t), b * math.sin(t)
        out.append(
            (
                cx + ex * math.cos(theta) - ey * math.sin(theta),
                cy + ex * math.sin(theta) + ey * math.cos(theta),
            )
        )
    return out


def overlay_scoords(
    image: Any,
    sr: Any,
    source: Any,
    frame: int = 1,
    *,
    color: tuple[int, int, int] = SCOORD_COLOR,
    width: int = 1,
) -> Any:
    """Draw the SR's SCOORD / SCOORD3D regions that lie on a frame over its picture.

    Parameters
    ----------
    image : PIL.Image.Image
        The full-resolution picture of the frame (:func:`frame_image`).
    sr : pydicom.Dataset, path or srkit Document
        The SR.
    source : pydicom.Dataset or path
        The image dataset the picture shows.
    frame : int
        Its frame number.
    color : (int, int, int)
        Line colour.
    width : int
        Line width in pixels.

    Returns
    -------
    PIL.Image.Image
        A new RGB picture. POINT and MULTIPOINT are small crosses; POLYLINE, POLYGON,
        CIRCLE, ELLIPSE (and ELLIPSOID's first two axes) outlines.
    """
    from PIL import ImageDraw

    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    for kind, points in image_regions(sr, source, frame):
        # Pillow's integer coordinates are pixel centres: shift by half a pixel
        xy = [(x - 0.5, y - 0.5) for x, y in points]
        if not xy:
            continue
        if kind in ("POINT", "MULTIPOINT"):
            for x, y in xy:
                draw.line([(x - 2, y), (x + 2, y)], fill=color, width=width)
                draw.line([(x, y - 2), (x, y + 2)], fill=color, width=width)
        elif kind == "CIRCLE" and len(xy) >= 2:
            (cx, cy), (px, py) = xy[0], xy[1]
            r = math.hypot(px - cx, py - cy)
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=color, width=width)
        elif kind in ("ELLIPSE", "ELLIPSOID") and len(xy) >= 4:
            draw.line(_ellipse(xy), fill=color, width=width)
        elif len(xy) >= 2:
            if kind == "POLYGON" and xy[0] != xy[-1]:
                xy = [*xy, xy[0]]
            draw.line(xy, fill=color, width=width)
        else:
            draw.point(xy, fill=color)
    return out


# -- choosing what to show ----------------------------------------------------------


def slice_order(files: Sequence[str | Path]) -> list[str]:
    """The files of a series in volume order (ascending along the slice normal, as
    :class:`~srkit.load.volume.Volume` stacks them; duplicates kept after their twin),
    by Instance Number when the geometry does not make one volume."""
    import numpy as np
    from pydicom import dcmread

    from srkit.load.geometry import check_geometry, slice_info

    infos = []
    for f in files:
        try:
            infos.append(slice_info(str(f), dcmread(str(f), stop_before_pixels=True)))
        except (OSError, ValueError, EOFError, AttributeError):
            continue
    if not infos:
        return []
    geo = check_geometry(infos)
    if geo.ok and geo.normal is not None and all(i.position is not None for i in infos):
        normal = np.asarray(geo.normal, dtype=float)
        key = {i.path: float(np.dot(np.asarray(i.position), normal)) for i in infos}
        return sorted(key, key=lambda p: (key[p], p))
    return [
        i.path
        for i in sorted(
            infos, key=lambda i: (i.instance_number is None, i.instance_number or 0, i.path)
        )
    ]


def seg_source_instances(seg: Any) -> list[str]:
    """SOP Instance UIDs of the images the frames of a SEG are derived from, one per
    frame in frame order (``""`` for a frame that names none), from the Derivation
    Image Functional Group (PS3.3 C.7.6.16.2.6)."""
    seg_ds = _dataset(seg, pixels=False)
    out = []
    for item in seg_ds.get("PerFrameFunctionalGroupsSequence") or []:
        uid = ""
        for derivation in item.get("DerivationImageSequence", []) or []:
            for source in derivation.get("SourceImageSequence", []) or []:
                uid = uid or str(source.get("ReferencedSOPInstanceUID", ""))
        out.append(uid)
    return out
