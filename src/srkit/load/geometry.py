"""Geometry checks of a single-frame image series, as data (PS3.3 C.7.6.2, C.7.6.2.1.1).

Each check has a stable code, a message and the tolerances it used. The codes follow
the columns of IDC's volume geometry index where it has one (``single_orientation``,
``orthogonal_orientation``, ``unique_slice_positions``, ``consistent_in_plane_row``,
``consistent_in_plane_col``, ``consistent_pixel_spacing``,
``consistent_image_dimensions``, ``uniform_slice_spacing``); the code of a finding is
the name of the check that failed. srkit's own checks: ``missing_position``,
``missing_orientation``, ``multi_frame``, ``oblique`` (INFO), ``missing_slices``,
``instance_number_gaps``, ``gantry_tilt``, ``gantry_tilt_mismatch``,
``consistent_rescale`` (INFO).

Slices are ordered by the projection of Image Position (Patient) onto the normal of
Image Orientation (Patient) (row x column), as IDC, Slicer and dcm2niix do. A shift of
the in-plane origin that grows linearly with the slice position is a gantry (detector)
tilt: it is reported as ``gantry_tilt`` with the angle, not as an in-plane
inconsistency; only what a tilt does not explain counts against
``consistent_in_plane_row``/``_col``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from srkit.diagnostics import Severity
from srkit.load.loadable import LoadWarning

__all__ = [
    "GeometryTolerances",
    "SliceInfo",
    "Geometry",
    "slice_info",
    "check_geometry",
    "GEOMETRY_CODES",
]

GEOMETRY_CODES = (
    "missing_position",
    "missing_orientation",
    "multi_frame",
    "single_orientation",
    "orthogonal_orientation",
    "oblique",
    "consistent_image_dimensions",
    "consistent_pixel_spacing",
    "unique_slice_positions",
    "consistent_in_plane_row",
    "consistent_in_plane_col",
    "gantry_tilt",
    "gantry_tilt_mismatch",
    "missing_slices",
    "instance_number_gaps",
    "uniform_slice_spacing",
    "consistent_rescale",
)
"""Every code :func:`check_geometry` can report."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GeometryTolerances:
    """Tolerances of the geometry checks (mm, degrees or unitless as named).

    The defaults for slice spacing (0.2 mm), in-plane origin (0.1 mm) and orthogonality
    (0.01) are those of IDC's volume geometry index (the slice one is dcm2niix's).
    """

    slice_interval_mm: float = 0.2
    """Largest deviation of one slice interval from the mean interval."""
    slice_interval_relative: float = 0.05
    """Largest deviation of one slice interval, relative to the mean interval."""
    in_plane_mm: float = 0.1
    """Largest spread of the in-plane origin (after a tilt is accounted for)."""
    orientation: float = 1e-4
    """Largest difference of a direction cosine between slices."""
    orthogonality: float = 0.01
    """Largest deviation of |row x col| from 1 and of row . col from 0."""
    duplicate_mm: float = 1e-3
    """Slices whose positions along the normal are closer than this are duplicates."""
    pixel_spacing_mm: float = 1e-4
    """Largest difference of Pixel Spacing between slices."""
    oblique_degrees: float = 0.5
    """Angle between the slice normal and the nearest patient axis reported as oblique."""
    tilt_degrees: float = 0.1
    """Difference between estimated and recorded Gantry/Detector Tilt reported."""

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True, kw_only=True)
class SliceInfo:
    """The image-plane attributes of one single-frame image."""

    path: str
    sop_instance_uid: str
    position: tuple[float, float, float] | None
    orientation: tuple[float, float, float, float, float, float] | None
    pixel_spacing: tuple[float, float] | None
    rows: int
    columns: int
    instance_number: int | None = None
    slope: float = 1.0
    intercept: float = 0.0
    gantry_tilt: float | None = None
    frames: int = 1


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    if value is None:
        return None
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return out if len(out) == n and all(math.isfinite(v) for v in out) else None


def _frames(ds: Any) -> int:
    try:
        return int(getattr(ds, "NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        return 1


def _tilt(ds: Any) -> float | None:
    tilt = getattr(ds, "GantryDetectorTilt", None)
    return float(tilt) if tilt not in (None, "") else None


_SHARED: tuple[tuple[str, int, Any], ...] = (
    (
        "orientation",
        0x00200037,
        lambda ds: _floats(getattr(ds, "ImageOrientationPatient", None), 6),
    ),
    ("pixel_spacing", 0x00280030, lambda ds: _floats(getattr(ds, "PixelSpacing", None), 2)),
    ("rows", 0x00280010, lambda ds: int(getattr(ds, "Rows", 0) or 0)),
    ("columns", 0x00280011, lambda ds: int(getattr(ds, "Columns", 0) or 0)),
    ("slope", 0x00281053, lambda ds: float(getattr(ds, "RescaleSlope", 1) or 1)),
    ("intercept", 0x00281052, lambda ds: float(getattr(ds, "RescaleIntercept", 0) or 0)),
    ("gantry_tilt", 0x00181120, _tilt),
    ("frames", 0x00280008, _frames),
)
"""The image-plane attributes a series usually repeats, with the element each is made
from: made once per distinct stored value (:func:`srkit.load.headers.derived`)."""


def slice_info(path: str, ds: Any) -> SliceInfo:
    """The :class:`SliceInfo` of a dataset (absent or malformed values become ``None``)."""
    from srkit.load.headers import derived

    number = getattr(ds, "InstanceNumber", None)
    shared = {name: derived(ds, tag, f"slice_info.{name}", make) for name, tag, make in _SHARED}
    return SliceInfo(
        path=path,
        sop_instance_uid=str(getattr(ds, "SOPInstanceUID", "")),
        position=_floats(getattr(ds, "ImagePositionPatient", None), 3),  # type: ignore[arg-type]
        instance_number=int(number) if number not in (None, "") else None,
        **shared,
    )


@dataclass(slots=True, kw_only=True)
class Geometry:
    """The result of :func:`check_geometry`.

    ``slices`` are in volume order (ascending position along ``normal``), duplicates
    removed (their files are named by the ``unique_slice_positions`` finding).
    ``affine`` maps (slice, row, column) indices to LPS millimetres; with a tilt or
    irregular spacing its slice column is the mean step between slices.
    ``spacing`` is the mean step along the normal, ``grid_spacing`` the step of the
    grid to resample onto: the step the slices lie on when slices are missing, the
    smallest interval when the spacing varies (as dcm2niix's ``_Eq`` output).
    ``displacement`` is, per slice, (along row, along column, along normal) in mm of
    the slice origin from where a regular, untilted grid puts it.
    """

    slices: list[SliceInfo]
    warnings: list[LoadWarning] = field(default_factory=list)
    row: Any = None
    col: Any = None
    normal: Any = None
    spacing: float = 1.0
    grid_spacing: float = 0.0
    pixel_spacing: tuple[float, float] = (1.0, 1.0)
    affine: Any = None
    displacement: Any = None
    tilt_degrees: float = 0.0
    positions_along_normal: Any = None

    @property
    def codes(self) -> list[str]:
        return [w.code for w in self.warnings]

    @property
    def ok(self) -> bool:
        """True when the slices can be stacked into an array at all."""
        return self.affine is not None


def _warn(
    code: str,
    message: str,
    tol: dict[str, float] | None = None,
    measured: dict[str, Any] | None = None,
    *,
    severity: Severity = Severity.WARNING,
    files: Sequence[str] = (),
) -> LoadWarning:
    return LoadWarning(
        code=code,
        message=message,
        severity=severity,
        tolerance=dict(tol or {}),
        measured=dict(measured or {}),
        files=tuple(files),
    )


def check_geometry(
    slices: Sequence[SliceInfo],
    tolerances: GeometryTolerances | None = None,
    *,
    series_numbers: Sequence[int] | None = None,
) -> Geometry:
    """Run every geometry check on the slices of one (sub-)series.

    Parameters
    ----------
    slices : sequence of SliceInfo
        The images, in any order.
    tolerances : GeometryTolerances, optional
        Tolerances of the checks; the defaults when omitted.
    series_numbers : sequence of int, optional
        For a sub-series: the Instance Numbers of the whole series, so that numbers
        held by the other parts are not taken for missing images.

    Returns
    -------
    Geometry
        Slices in volume order, the findings, and (when positions and orientations are
        present and the images share rows and columns) the affine.
    """
    tol = tolerances or GeometryTolerances()
    geo = Geometry(slices=list(slices))
    w = geo.warnings
    if not slices:
        return geo
    multi = [s.path for s in slices if s.frames > 1]
    if multi:
        w.append(
            _warn(
                "multi_frame",
                f"{len(multi)} multi-frame image(s) among single-frame slices, first {multi[0]}",
                files=multi,
                severity=Severity.ERROR,
            )
        )
    no_pos = [s.path for s in slices if s.position is None]
    no_ori = [s.path for s in slices if s.orientation is None]
    if no_pos:
        w.append(
            _warn(
                "missing_position",
                f"{len(no_pos)} image(s) without Image Position (Patient), first {no_pos[0]}",
                files=no_pos,
                severity=Severity.ERROR,
            )
        )
    if no_ori:
        w.append(
            _warn(
                "missing_orientation",
                f"{len(no_ori)} image(s) without Image Orientation (Patient), first {no_ori[0]}",
                files=no_ori,
                severity=Severity.ERROR,
            )
        )
    dims = {(s.rows, s.columns) for s in slices}
    if len(dims) > 1:
        w.append(
            _warn(
                "consistent_image_dimensions",
                f"Rows x Columns differ between slices: {sorted(dims)}",
                measured={"dimensions": sorted(dims)},
                severity=Severity.ERROR,
            )
        )
    spacings = [s.pixel_spacing for s in slices if s.pixel_spacing is not None]
    if spacings:
        arr = np.array(spacings)
        spread = float(np.max(arr.max(axis=0) - arr.min(axis=0)))
        if spread > tol.pixel_spacing_mm:
            w.append(
                _warn(
                    "consistent_pixel_spacing",
                    f"Pixel Spacing differs between slices by up to {spread:.4g} mm "
                    f"({sorted({tuple(x) for x in spacings})})",
                    {"pixel_spacing_mm": tol.pixel_spacing_mm},
                    {"spread_mm": spread},
                )
            )
        geo.pixel_spacing = (float(arr[0][0]), float(arr[0][1]))
    slopes = {(s.slope, s.intercept) for s in slices}
    if len(slopes) > 1:
        w.append(
            _warn(
                "consistent_rescale",
                f"{len(slopes)} different Rescale Slope/Intercept pairs; applied per slice",
                measured={"pairs": sorted(slopes)},
                severity=Severity.INFO,
            )
        )
    if no_pos or no_ori or multi:
        return geo

    ori = np.array([s.orientation for s in slices], dtype=float)
    diff = float(np.max(np.abs(ori - ori[0])))
    if diff > tol.orientation:
        w.append(
            _warn(
                "single_orientation",
                f"Image Orientation (Patient) differs between slices by up to {diff:.4g}",
                {"orientation": tol.orientation},
                {"max_difference": diff},
            )
        )
    row, col = ori[0][:3], ori[0][3:]
    normal = np.cross(row, col)
    mag = float(np.linalg.norm(normal))
    dot = float(abs(np.dot(row, col)))
    if abs(mag - 1) > tol.orthogonality or dot > tol.orthogonality:
        w.append(
            _warn(
                "orthogonal_orientation",
                f"row and column directions are not orthonormal (|row x col| = {mag:.4g}, "
                f"row . col = {dot:.4g})",
                {"orthogonality": tol.orthogonality},
                {"cross_magnitude": mag, "dot": dot},
            )
        )
    if mag > 0:
        normal = normal / mag
    obliquity = math.degrees(math.acos(min(1.0, float(np.max(np.abs(normal))))))
    if obliquity > tol.oblique_degrees:
        w.append(
            _warn(
                "oblique",
                f"slices are oblique: the normal is {obliquity:.2f} degrees from the nearest "
                "patient axis",
                {"oblique_degrees": tol.oblique_degrees},
                {"obliquity_degrees": obliquity},
                severity=Severity.INFO,
            )
        )
    geo.row, geo.col, geo.normal = row, col, normal
    if len(dims) > 1 or diff > tol.orientation:
        return geo

    pos = np.array([s.position for s in slices], dtype=float)
    along = pos @ normal
    order = np.argsort(along, kind="stable")
    ordered = [slices[i] for i in order]
    pos, along = pos[order], along[order]

    keep = [0]
    dupes: list[str] = []
    for i in range(1, len(ordered)):
        if along[i] - along[keep[-1]] < tol.duplicate_mm:
            dupes.append(ordered[i].path)
        else:
            keep.append(i)
    if dupes:
        w.append(
            _warn(
                "unique_slice_positions",
                f"{len(dupes)} slice(s) repeat the position of another and are left out of "
                f"the volume: {', '.join(dupes[:5])}{' ...' if len(dupes) > 5 else ''}",
                {"duplicate_mm": tol.duplicate_mm},
                {"duplicates": len(dupes)},
                files=dupes,
            )
        )
    ordered = [ordered[i] for i in keep]
    pos, along = pos[keep], along[keep]
    geo.slices = ordered
    n = len(ordered)

    # in-plane origin per slice, and a linear shift of it with position = tilt
    u, v = pos @ row, pos @ col
    rel = along - along[0]
    disp_u = np.zeros(n)
    disp_v = np.zeros(n)
    tilt = 0.0
    if n >= 2 and rel[-1] > 0:
        span = rel[-1]
        fits = []
        for comp in (u, v):
            slope = (comp[-1] - comp[0]) / span
            resid = comp - (comp[0] + slope * rel)
            fits.append((slope, resid))
        (su, ru), (sv, rv) = fits
        shift = math.hypot(su, sv) * span
        linear = float(max(np.max(np.abs(ru)), np.max(np.abs(rv)))) <= tol.in_plane_mm
        if shift > tol.in_plane_mm and linear:
            tilt = math.degrees(math.atan(math.hypot(su, sv)))
            w.append(
                _warn(
                    "gantry_tilt",
                    f"slice origins shift in-plane by {shift:.3g} mm over the series: a "
                    f"gantry/detector tilt of {tilt:.2f} degrees",
                    {"in_plane_mm": tol.in_plane_mm},
                    {"tilt_degrees": tilt, "shift_mm": shift},
                )
            )
            disp_u, disp_v = u - u[0], v - v[0]
        else:
            for code, comp in (("consistent_in_plane_row", u), ("consistent_in_plane_col", v)):
                spread = float(np.max(comp) - np.min(comp))
                if spread > tol.in_plane_mm:
                    w.append(
                        _warn(
                            code,
                            f"the in-plane origin along the {code.rsplit('_', 1)[1]} direction "
                            f"varies by {spread:.3g} mm between slices",
                            {"in_plane_mm": tol.in_plane_mm},
                            {"spread_mm": spread},
                        )
                    )
            disp_u, disp_v = u - u[0], v - v[0]
    recorded = [s.gantry_tilt for s in ordered if s.gantry_tilt is not None]
    if recorded and abs(abs(recorded[0]) - tilt) > tol.tilt_degrees:
        w.append(
            _warn(
                "gantry_tilt_mismatch",
                f"Gantry/Detector Tilt says {recorded[0]:g} degrees, the positions show {tilt:.2f}",
                {"tilt_degrees": tol.tilt_degrees},
                {"recorded_degrees": recorded[0], "estimated_degrees": tilt},
            )
        )
    geo.tilt_degrees = tilt

    intervals = np.diff(along)
    spacing = float(rel[-1] / (n - 1)) if n >= 2 else 0.0
    disp_n = np.zeros(n)
    if n >= 3:
        nominal = float(np.median(intervals))
        ratios = intervals / nominal
        steps = np.rint(ratios)
        on_grid = np.all(np.abs(intervals - steps * nominal) <= tol.slice_interval_mm)
        if on_grid and np.any(steps >= 2):
            gaps = [(ordered[i].path, int(steps[i]) - 1) for i in range(n - 1) if steps[i] >= 2]
            missing = sum(g for _, g in gaps)
            w.append(
                _warn(
                    "missing_slices",
                    f"{missing} slice position(s) missing on a {nominal:.4g} mm grid, first "
                    f"after {gaps[0][0]}",
                    {"slice_interval_mm": tol.slice_interval_mm},
                    {"missing": missing, "nominal_spacing_mm": nominal},
                    files=[g[0] for g in gaps],
                )
            )
            geo.grid_spacing = nominal
        else:
            dev = np.abs(intervals - spacing)
            worst = float(np.max(dev))
            rel_dev = worst / spacing if spacing else float("inf")
            if worst > tol.slice_interval_mm or rel_dev > tol.slice_interval_relative:
                w.append(
                    _warn(
                        "uniform_slice_spacing",
                        f"slice intervals vary from {float(intervals.min()):.4g} to "
                        f"{float(intervals.max()):.4g} mm (mean {spacing:.4g} mm)",
                        {
                            "slice_interval_mm": tol.slice_interval_mm,
                            "slice_interval_relative": tol.slice_interval_relative,
                        },
                        {
                            "max_deviation_mm": worst,
                            "max_relative_deviation": rel_dev,
                            "min_interval_mm": float(intervals.min()),
                            "max_interval_mm": float(intervals.max()),
                        },
                    )
                )
                geo.grid_spacing = float(intervals.min())
    numbers = [s.instance_number for s in slices]
    if len(numbers) >= 2 and all(x is not None for x in numbers):
        nums = sorted({int(x) for x in numbers if x is not None})
        held = set(series_numbers or ())
        jumps = [
            (a, b)
            for a, b in itertools.pairwise(nums)
            if b - a > 1 and any(k not in held for k in range(a + 1, b))
        ]
        if jumps:
            w.append(
                _warn(
                    "instance_number_gaps",
                    f"Instance Numbers jump {len(jumps)} time(s), first from "
                    f"{jumps[0][0]} to {jumps[0][1]}: images may be missing",
                    measured={"gaps": [list(j) for j in jumps]},
                )
            )
    if n >= 2:
        disp_n = rel - np.arange(n) * spacing
    geo.spacing = spacing if spacing > 0 else 1.0
    if not geo.grid_spacing:
        geo.grid_spacing = geo.spacing
    geo.positions_along_normal = along
    geo.displacement = np.stack([disp_u, disp_v, disp_n], axis=1)

    dr, dc = geo.pixel_spacing  # PS3.3: Pixel Spacing is (row spacing, column spacing)
    step = (pos[-1] - pos[0]) / (n - 1) if n >= 2 else normal * geo.spacing
    affine = np.eye(4)
    affine[:3, 0] = step
    affine[:3, 1] = col * dr
    affine[:3, 2] = row * dc
    affine[:3, 3] = pos[0]
    geo.affine = affine
    return geo
