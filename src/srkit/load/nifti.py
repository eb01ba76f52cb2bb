"""NIfTI-1 export of a :class:`~srkit.load.volume.Volume` with a JSON sidecar.

The image goes through nibabel: voxel axes (column, row, slice), the RAS affine
(LPS with x and y negated) in both the qform and the sform (code 1, scanner), units mm.
The sidecar uses dcm2niix's key names where they exist (``Modality``,
``ManufacturersModelName``, ``ImageOrientationPatientDICOM``, ...) and adds srkit's own:
``SrkitGeometryWarnings``, ``SrkitSliceInstanceUIDs``, ``SrkitRegularization``,
``SrkitSliceDisplacementMm`` (with ``report``), ``SrkitUnits``, ``SrkitWindowPresets``,
``SrkitDtypePolicy``.

A volume whose array is C-contiguous (slice, row, column) already holds the bytes of a
NIfTI image (column fastest): nibabel writes the header, and the array goes to the
file as it is (:func:`write_nifti`), without nibabel's copy of every slice; the file is
byte for byte the one ``nibabel.save`` writes (``.nii.gz`` at nibabel's gzip level 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from srkit.errors import MissingDependencyError

if TYPE_CHECKING:
    from srkit.load.volume import Volume

__all__ = ["write_nifti", "sidecar_path", "ras_affine", "sidecar", "DCM2NIIX_KEYS"]

LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
DIRECT_DTYPES = frozenset(["i1", "u1", "i2", "u2", "i4", "u4", "f4", "f8"])
"""dtypes (kind and size, in native byte order) written straight from the array."""
CHUNK = 1 << 24
"""Bytes handed to the file (or the gzip stream) at a time."""

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

    Returns
    -------
    Path
        The NIfTI file written.
    """
    try:
        import nibabel

        nib: Any = nibabel
    except ImportError:  # pragma: no cover - depends on the installation
        raise MissingDependencyError(
            "NIfTI export needs nibabel: pip install 'srkit[load]'"
        ) from None
    path = Path(path)
    data = np.asarray(volume.array)
    if data.ndim == 3:
        data = data.transpose(2, 1, 0)
    else:
        data = data.transpose(2, 1, 0, *range(3, data.ndim))
    affine = ras_affine(volume)
    image = nib.Nifti1Image(data, affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    image.header.set_xyzt_units("mm")
    image.header["descrip"] = f"srkit {volume.regularization}"[:80].encode()
    if not _write_direct(image, volume.array, path):
        nib.save(image, str(path))
    if sidecar:
        from srkit.load.nifti import sidecar as make_sidecar

        sidecar_path(path).write_text(
            json.dumps(make_sidecar(volume), indent=2) + "\n", encoding="utf-8"
        )
    return path


def _write_direct(image: Any, array: Any, path: Path) -> bool:
    """Write ``image`` with the bytes of ``array`` as its data, as ``nibabel.save`` would
    (same header, same gzip stream); ``False`` (nothing written) when ``array`` is not
    a C-contiguous 3-D array of a plain dtype, or nibabel would store another dtype."""
    from nibabel.openers import ImageOpener
    from nibabel.volumeutils import seek_tell

    if not isinstance(array, np.ndarray) or array.ndim != 3 or not array.flags.c_contiguous:
        return False
    dtype = array.dtype
    if f"{dtype.kind}{dtype.itemsize}" not in DIRECT_DTYPES or not dtype.isnative:
        return False
    if image.get_data_dtype(finalize=True) != array.dtype:
        return False
    image.update_header()
    header = image.header
    header.set_slope_inter(1.0, 0.0)  # what nibabel's writer sets for unscaled data
    data = memoryview(array.data).cast("B")
    fh: Any
    with ImageOpener(str(path), "wb") as fh:
        header.write_to(fh)
        seek_tell(fh, header.get_data_offset(), write0=True)
        for start in range(0, len(data), CHUNK):
            fh.write(data[start : start + CHUNK])
    return True
