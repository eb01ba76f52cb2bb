"""Synthetic image series made from the shared CT and MR, for the load tests.

Each series copies a real header and real pixel values (cropped), and changes only what
the case needs: positions (irregular spacing, a missing slice, duplicates, tilt),
orientation (two orientations, a localizer), Pixel Spacing, Image Type. UIDs are fresh
and deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.conftest import data_path

PREFIX = "1.2.826.0.1.3680043.8.498."
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CORONAL = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)


def uid(*parts: object) -> str:
    return generate_uid(prefix=PREFIX, entropy_srcs=[str(p) for p in parts])


def ct_slices(size: int = 32) -> list[np.ndarray]:
    """The three real CT slices, cropped to the centre ``size`` x ``size``."""
    folder = data_path("ct/dcmqi_ct-3slice")
    out = []
    for f in sorted(folder.glob("*.dcm")):
        arr = pydicom.dcmread(f).pixel_array
        r0 = (arr.shape[0] - size) // 2
        out.append(arr[r0 : r0 + size, r0 : r0 + size].copy())
    return out


def make_series(
    folder: Path,
    name: str,
    positions: Sequence[Sequence[float]],
    *,
    orientations: Sequence[Sequence[float]] | None = None,
    size: int = 32,
    spacing: Sequence[Sequence[float]] | None = None,
    image_types: Sequence[Sequence[str]] | None = None,
    tilt: float | None = None,
    edit: Callable[[int, pydicom.Dataset], None] | None = None,
) -> list[Path]:
    """Write one CT series, one file per position, and return the files in order."""
    template = pydicom.dcmread(data_path("ct/dcmqi_ct-3slice/01.dcm"))
    pixels = ct_slices(size)
    folder.mkdir(parents=True, exist_ok=True)
    study, series, frame = uid(name, "study"), uid(name, "series"), uid(name, "for")
    files = []
    for i, pos in enumerate(positions):
        ds = template.copy()
        ds.file_meta = template.file_meta.copy()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        sop = uid(name, i)
        ds.SOPInstanceUID = sop
        ds.file_meta.MediaStorageSOPInstanceUID = sop
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.SeriesDescription = name
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [f"{v:.6f}" for v in pos]
        ds.SliceLocation = f"{pos[2]:.6f}"
        ori = orientations[i] if orientations else AXIAL
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in ori]
        ds.Rows = ds.Columns = size
        ds.PixelSpacing = list(spacing[i]) if spacing else [0.8, 0.8]
        if image_types:
            ds.ImageType = list(image_types[i])
        if tilt is not None:
            ds.GantryDetectorTilt = tilt
        ds.PixelData = pixels[i % len(pixels)].tobytes()
        if edit:
            edit(i, ds)
        path = folder / f"{i:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


def axial_positions(
    zs: Sequence[float], *, tilt_degrees: float = 0.0
) -> list[tuple[float, float, float]]:
    """Positions of axial slices at ``zs``; with a tilt the origin moves along y."""
    t = math.tan(math.radians(tilt_degrees))
    return [(-12.8, -12.8 + (z - zs[0]) * t, z) for z in zs]
