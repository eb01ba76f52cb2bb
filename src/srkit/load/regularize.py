"""Regularisation of an irregular slice stack: ``none``, ``report`` or ``resample``.

``none`` keeps the slices as they are (the geometry findings say what is irregular);
``report`` adds, per slice, the displacement of its origin from the volume's regular
grid; ``resample`` moves every slice onto an untilted grid (in-plane shift, bilinear)
and interpolates along the slice normal onto uniform spacing (linear). The step is
the span divided evenly into intervals no longer than the grid step (the step the
slices lie on when some are missing, the smallest interval when the spacing varies),
so the first and last slices keep their places, as in dcm2niix's ``_Eq`` output.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from srkit.load.geometry import Geometry

__all__ = ["MODES", "resample"]

MODES = ("none", "report", "resample")


def _shift(img: Any, a: float, b: float, fill: float) -> Any:
    """``out[r, c] = img[r + a, c + b]``, bilinear, ``fill`` outside."""
    rows, cols = img.shape
    r = np.arange(rows, dtype=np.float64) + a
    c = np.arange(cols, dtype=np.float64) + b
    r0 = np.floor(r).astype(np.int64)
    c0 = np.floor(c).astype(np.int64)
    fr = (r - r0)[:, None]
    fc = (c - c0)[None, :]
    padded = np.pad(img.astype(np.float64), 1, constant_values=fill)
    r0p = np.clip(r0 + 1, 0, rows + 1)
    r1p = np.clip(r0 + 2, 0, rows + 1)
    c0p = np.clip(c0 + 1, 0, cols + 1)
    c1p = np.clip(c0 + 2, 0, cols + 1)
    out = (
        padded[np.ix_(r0p, c0p)] * (1 - fr) * (1 - fc)
        + padded[np.ix_(r0p, c1p)] * (1 - fr) * fc
        + padded[np.ix_(r1p, c0p)] * fr * (1 - fc)
        + padded[np.ix_(r1p, c1p)] * fr * fc
    )
    return out


def resample(array: Any, geo: Geometry) -> tuple[Any, Any, tuple[int, ...]]:
    """The stack on a regular, untilted grid.

    Parameters
    ----------
    array : numpy.ndarray
        Slices (slice, row, column) in the order of ``geo.slices``.
    geo : Geometry
        Their geometry (:func:`srkit.load.geometry.check_geometry`).

    Returns
    -------
    (array, affine, nearest)
        The float32 resampled array, its LPS affine, and per output slice the index of
        the nearest input slice.
    """
    n = array.shape[0]
    fill = float(array.min()) if array.size else 0.0
    dr, dc = geo.pixel_spacing
    disp = geo.displacement
    shifted = np.empty(array.shape, dtype=np.float32)
    for i in range(n):
        a, b = -float(disp[i, 1]) / dr, -float(disp[i, 0]) / dc
        if abs(a) < 1e-9 and abs(b) < 1e-9:
            shifted[i] = array[i]
        else:
            shifted[i] = _shift(array[i], a, b, fill)
    along = np.asarray(geo.positions_along_normal, dtype=np.float64)
    rel = along - along[0]
    grid = geo.grid_spacing or geo.spacing
    # as many slices as the grid step needs to cover the span, spread evenly over it, so
    # that the first and last slices stay where they are
    m = int(np.ceil(rel[-1] / grid - 1e-6)) + 1 if n > 1 else 1
    step = float(rel[-1] / (m - 1)) if m > 1 else grid
    targets = np.arange(m) * step
    out = np.empty((m, *array.shape[1:]), dtype=np.float32)
    nearest = []
    for k, z in enumerate(targets):
        j = int(np.searchsorted(rel, z, side="right")) - 1
        j = min(max(j, 0), n - 1)
        if j == n - 1 or rel[j + 1] == rel[j]:
            out[k] = shifted[j]
            nearest.append(j)
            continue
        t = (z - rel[j]) / (rel[j + 1] - rel[j])
        out[k] = shifted[j] * np.float32(1 - t) + shifted[j + 1] * np.float32(t)
        nearest.append(j if t < 0.5 else j + 1)
    first = np.asarray(geo.slices[0].position, dtype=np.float64)
    affine = np.eye(4)
    affine[:3, 0] = geo.normal * step
    affine[:3, 1] = geo.col * dr
    affine[:3, 2] = geo.row * dc
    affine[:3, 3] = first
    return out, affine, tuple(nearest)
