"""The :class:`Volume`: an array on a grid in patient coordinates (PS3.3 C.7.6.2.1.1).

``array`` is indexed (slice, row, column). ``affine`` maps those indices to LPS
millimetres of the patient coordinate system: column 0 steps one slice, column 1 one
row (down the image, Pixel Spacing[0]), column 2 one column (Pixel Spacing[1]),
column 3 is the centre of the first voxel. The same convention as highdicom's volumes.

Rescale (Rescale Slope/Intercept, PS3.3 C.11.1.1.2) is applied per slice to a declared
dtype policy (:data:`DTYPE_POLICIES`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from srkit.load.loadable import LoadWarning

__all__ = [
    "Volume",
    "WindowPreset",
    "DTYPE_POLICIES",
    "rescaled_dtype",
    "apply_rescale",
    "empty_array",
]

DTYPE_POLICIES = ("auto", "float32", "float64", "raw")
"""``auto``: integer slopes and intercepts keep an integer type (int16 when the rescaled
range fits, else int32), any other rescale gives float32; ``float32``/``float64``:
always that type; ``raw``: stored values, no rescale."""


@dataclass(frozen=True, slots=True)
class WindowPreset:
    """One Window Center/Width pair with its explanation (PS3.3 C.11.2.1.2)."""

    center: float
    width: float
    name: str = ""


@dataclass(slots=True, kw_only=True)
class Volume:
    """A loaded volume.

    Parameters
    ----------
    array : numpy.ndarray
        Values indexed (slice, row, column) (a 4th axis for colour or segments).
    affine : numpy.ndarray
        4x4 matrix from (slice, row, column) indices to LPS millimetres.
    slice_uids : tuple of str
        SOP Instance UID of each slice, in volume order (the nearest source slice after
        resampling).
    units : str
        Units of the values (``"HU"``, a Units value, ``""`` when unknown).
    windows : tuple of WindowPreset
        Window presets from the first slice.
    dtype_policy : str
        The rescale policy that produced ``array`` (:data:`DTYPE_POLICIES`).
    rescale : tuple of (float, float)
        Rescale (slope, intercept) of each slice, in volume order.
    warnings : tuple of LoadWarning
        Findings of the loadable (geometry, decoding).
    regularization : str
        Which regularisation was applied: ``none``, ``report`` or ``resample``.
    displacement : numpy.ndarray or None
        With ``report``: per slice, (along row, along column, along normal) mm of its
        origin from the volume's regular grid.
    meta : dict
        Facts for the NIfTI sidecar (Modality, Manufacturer, ... by dcm2niix's key names).
    name : str
        Name of the loadable it was loaded from.
    """

    array: Any
    affine: Any
    slice_uids: tuple[str, ...] = ()
    units: str = ""
    windows: tuple[WindowPreset, ...] = ()
    dtype_policy: str = "auto"
    rescale: tuple[tuple[float, float], ...] = ()
    warnings: tuple[LoadWarning, ...] = ()
    regularization: str = "none"
    displacement: Any = None
    meta: dict[str, Any] = field(default_factory=dict)
    name: str = ""

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Length of one step along (slice, row, column), mm."""
        a = np.asarray(self.affine)
        return tuple(float(np.linalg.norm(a[:3, i])) for i in range(3))  # type: ignore[return-value]

    @property
    def warning_codes(self) -> tuple[str, ...]:
        return tuple(w.code for w in self.warnings)

    def to_nifti(self, path: str | Path, *, sidecar: bool = True) -> Path:
        """Write the volume as NIfTI-1 (RAS affine, qform and sform) with a JSON sidecar.

        See :func:`srkit.load.nifti.write_nifti`.
        """
        from srkit.load.nifti import write_nifti

        return write_nifti(self, path, sidecar=sidecar)


def rescaled_dtype(
    stored: Any,
    value_range: tuple[float, float],
    pairs: Sequence[tuple[float, float]],
    policy: str = "auto",
) -> Any:
    """The dtype the rescaled values get under ``policy`` (see :data:`DTYPE_POLICIES`).

    Parameters
    ----------
    stored : numpy.dtype
        dtype of the stored values.
    value_range : (float, float)
        Smallest and largest stored value over all slices.
    pairs : sequence of (slope, intercept)
        Rescale of each slice.
    policy : str
        One of :data:`DTYPE_POLICIES`.
    """
    stored = np.dtype(stored)
    if policy == "raw":
        return stored
    if policy in ("float32", "float64"):
        return np.dtype(policy)
    if policy != "auto":
        raise ValueError(f"unknown dtype policy {policy!r} (one of {', '.join(DTYPE_POLICIES)})")
    if stored.kind not in "iu" or not all(
        float(s).is_integer() and float(i).is_integer() for s, i in pairs
    ):
        return np.dtype("float32")
    if all(s == 1 and i == 0 for s, i in pairs):
        return stored
    lo_v, hi_v = value_range
    lo = min(min(s * lo_v, s * hi_v) + i for s, i in pairs)
    hi = max(max(s * lo_v, s * hi_v) + i for s, i in pairs)
    for candidate in ("int16", "int32"):
        info = np.iinfo(candidate)
        if lo >= info.min and hi <= info.max:
            return np.dtype(candidate)
    return np.dtype("float64")


SMALL_ARRAY = 1 << 22
"""Arrays below this many bytes come from ``numpy.empty`` as usual (numpy's own
threshold for asking for huge pages is the same 4 MiB)."""


def empty_array(shape: Sequence[int], dtype: Any) -> Any:
    """An uninitialised array for a volume, its memory mapped and filled in at once.

    ``numpy.empty`` asks the kernel for transparent huge pages for a large array; where
    free memory is fragmented the kernel compacts memory to find them when the array is
    first written, which for a 200 MB volume costs several times the reading of its
    files (measured here: 0.4-0.5 s of CPU against 0.12 s). This array is an anonymous
    private mapping populated with ordinary pages in one system call; elsewhere than
    on Linux, and for small arrays, it is ``numpy.empty``.
    """
    import mmap

    dtype = np.dtype(dtype)
    shape = tuple(int(n) for n in shape)
    nbytes = math.prod(shape) * dtype.itemsize
    populate = getattr(mmap, "MAP_POPULATE", None)
    if nbytes < SMALL_ARRAY or populate is None:
        return np.empty(shape, dtype=dtype)
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate
    return np.frombuffer(mmap.mmap(-1, nbytes, flags=flags), dtype=dtype).reshape(shape)


def _converted(frame: Any, dtype: Any) -> Any:
    """``frame.astype(dtype)`` in an :func:`empty_array`."""
    out = empty_array(frame.shape, dtype)
    np.copyto(out, frame, casting="unsafe")
    return out


def apply_rescale(
    frame: Any, slope: float, intercept: float, dtype: Any, *, inplace: bool = False
) -> Any:
    """``frame * slope + intercept`` in ``dtype`` (without a float round trip for integers).

    With ``inplace`` and ``frame`` already of ``dtype`` the values are changed in place
    (no second copy of the volume); otherwise one converted copy is made and scaled in
    place (the same values as ``frame.astype(dtype) * slope + intercept``).
    """
    dtype = np.dtype(dtype)
    if slope == 1 and intercept == 0:
        return frame if frame.dtype == dtype else _converted(frame, dtype)
    if dtype.kind in "iu":
        out = frame if inplace and frame.dtype == dtype else _converted(frame, dtype)
        if slope != 1:
            out *= int(slope)
        if intercept:
            out += int(intercept)
        return out
    out = _converted(frame, dtype)
    out *= dtype.type(slope)
    out += dtype.type(intercept)
    return out
