"""NIfTI-1 export of a :class:`~srkit.load.volume.Volume` with a JSON sidecar.

The image: voxel axes (column, row, slice), the RAS affine
(LPS with x and y negated) in both the qform and the sform (code 1, scanner), units mm.
The sidecar uses dcm2niix's key names where they exist (``Modality``,
``ManufacturersModelName``, ``ImageOrientationPatientDICOM``, ...) and adds srkit's own:
``SrkitGeometryWarnings``, ``SrkitSliceInstanceUIDs``, ``SrkitRegularization``,
``SrkitSliceDisplacementMm`` (with ``report``), ``SrkitUnits``, ``SrkitWindowPresets``,
``SrkitDtypePolicy``.

A volume whose array is C-contiguous (slice, row, column) already holds the bytes of a
NIfTI image (column fastest): :mod:`srkit.load.niftiwrite` writes nibabel's header
and the array as it is (:func:`write_nifti`), without importing nibabel (and with it
pydicom) and without nibabel's copy of every slice; the file is byte for byte the one
``nibabel.save`` writes (``.nii.gz``: the same bytes decompressed, at nibabel's gzip
level 1, compressed on several threads). Other arrays go through nibabel.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from srkit.atomic import replace_atomically
from srkit.errors import MissingDependencyError

if TYPE_CHECKING:
    from srkit.load.volume import Volume

__all__ = ["write_nifti", "sidecar_path", "ras_affine", "sidecar", "DCM2NIIX_KEYS"]

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
DIRECT_DTYPES = frozenset(["i1", "u1", "i2", "u2", "i4", "u4", "f4", "f8"])
"""dtypes (kind and size, in native byte order) written straight from the array."""

DCM2NIIX_KEYS = {
    "ManufacturerModelName": "ManufacturersModelName",
    "ImageOrientationPatient": "ImageOrientationPatientDICOM",
}
"""DICOM keyword -> dcm2niix sidecar key where they differ (the others are the same)."""


def ras_affine(volume: Volume) -> Any:
    """The NIfTI affine: voxel (column, row, slice) -> RAS millimetres."""
    a = np.asarray(volume.affine, dtype=np.float64)
    ijk = np.eye(4)
    ijk[:3, 0] = a[:3, 2]
    ijk[:3, 1] = a[:3, 1]
    ijk[:3, 2] = a[:3, 0]
    ijk[:3, 3] = a[:3, 3]
    return LPS_TO_RAS @ ijk


def sidecar_path(path: str | Path) -> Path:
    """``OUT.nii.gz`` -> ``OUT.json``."""
    p = Path(path)
    name = p.name
    for suffix in (".nii.gz", ".nii"):
        if name.endswith(suffix):
            return p.with_name(name[: -len(suffix)] + ".json")
    return p.with_suffix(".json")


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def sidecar(volume: Volume) -> dict[str, Any]:
    """The sidecar mapping of a volume."""
    out: dict[str, Any] = {}
    for key, value in volume.meta.items():
        if key == "ImageOrientationPatient":
            value = [float(v) for v in value]
        out[DCM2NIIX_KEYS.get(key, key)] = value
    from importlib.metadata import PackageNotFoundError, version

    try:
        srkit_version = version("srkit")
    except PackageNotFoundError:
        srkit_version = "unknown"
    out["ConversionSoftware"] = "srkit"
    out["ConversionSoftwareVersion"] = srkit_version
    out["SrkitUnits"] = volume.units
    out["SrkitDtypePolicy"] = volume.dtype_policy
    out["SrkitWindowPresets"] = [
        {"center": w.center, "width": w.width, "name": w.name} for w in volume.windows
    ]
    out["SrkitRegularization"] = volume.regularization
    out["SrkitGeometryWarnings"] = [w.to_dict() for w in volume.warnings]
    out["SrkitSliceInstanceUIDs"] = list(volume.slice_uids)
    if volume.displacement is not None:
        out["SrkitSliceDisplacementMm"] = [
            [round(float(x), 6) for x in row] for row in np.asarray(volume.displacement)
        ]
    plain: dict[str, Any] = json.loads(json.dumps(out, default=_plain))
    return plain


def write_nifti(volume: Volume, path: str | Path, *, sidecar: bool = True) -> Path:
    """Write ``volume`` to ``path`` (``.nii`` or ``.nii.gz``) and its JSON sidecar.

    A 3-D C-contiguous array of a plain dtype is written by
    :mod:`srkit.load.niftiwrite` (nibabel's header, the array's bytes); any other
    through nibabel (``pip install 'srkit[load]'``).

    Returns
    -------
    Path
        The NIfTI file written.
    """
    path = Path(path)
    affine = ras_affine(volume)
    descrip = f"srkit {volume.regularization}"[:80].encode()
    if not _write_direct(volume.array, affine, descrip, path):
        _write_nibabel(volume.array, affine, descrip, path)
    if sidecar:
        from srkit.load.nifti import sidecar as make_sidecar

        text = json.dumps(make_sidecar(volume), indent=2) + "\n"
        replace_atomically(
            sidecar_path(path), lambda tmp: Path(tmp).write_text(text, encoding="utf-8")
        )
    return path


def _write_direct(array: Any, affine: Any, descrip: bytes, path: Path) -> bool:
    """Write the file ``nibabel.save`` would write (same header, same data; ``.nii.gz``
    the same bytes once decompressed) from the bytes of ``array``; ``False`` (nothing
    written) when ``array`` is not a C-contiguous 3-D array of a plain dtype."""
    from srkit.load.niftiwrite import header_bytes, write_image

    if not isinstance(array, np.ndarray) or array.ndim != 3 or not array.flags.c_contiguous:
        return False
    dtype = array.dtype
    if f"{dtype.kind}{dtype.itemsize}" not in DIRECT_DTYPES or not dtype.isnative:
        return False
    head = header_bytes(tuple(reversed(array.shape)), dtype, affine, descrip)
    if head is None:
        return False
    write_image(path, head, array)
    return True


def _write_nibabel(array: Any, affine: Any, descrip: bytes, path: Path) -> None:
    image = nibabel_image(array, affine, descrip)
    data_bytes = image.to_bytes()  # the single-file image, as nibabel.save writes it
    if path.name.endswith(".gz"):
        import gzip

        data_bytes = gzip.compress(data_bytes, compresslevel=1, mtime=0)  # nibabel's level
    replace_atomically(path, lambda tmp: Path(tmp).write_bytes(data_bytes))


def nibabel_image(array: Any, affine: Any, descrip: bytes) -> Any:
    """The ``nibabel.Nifti1Image`` of ``array`` (volume order: slice, row, column) with
    ``affine`` (RAS) as its qform and sform, in millimetres."""
    try:
        import nibabel

        nib: Any = nibabel
    except ImportError:  # pragma: no cover - depends on the installation
        raise MissingDependencyError(
            "NIfTI export needs nibabel: pip install 'srkit[load]'"
        ) from None
    data = np.asarray(array)
    data = data.transpose(2, 1, 0, *range(3, data.ndim))
    image = nib.Nifti1Image(data, affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    image.header.set_xyzt_units("mm")
    image.header["descrip"] = descrip
    return image
