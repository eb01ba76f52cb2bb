"""Writing a NIfTI-1 file without nibabel: the header nibabel writes, the data as it is.

The 348-byte NIfTI-1 header (and the 4 bytes that say no extension follows, so the
data start at byte 352) is filled in as ``nibabel.Nifti1Image(data, affine)`` with
``set_qform(affine, code=1)``, ``set_sform(affine, code=1)``, ``set_xyzt_units("mm")``
and ``nibabel.save`` fill it, with the same arithmetic (zooms the affine's column
norms, the qform's rotation the polar decomposition of the affine's and its
quaternion the eigenvector nibabel takes), so the file is byte for byte the one
nibabel writes (tests/load/test_fastpath.py compares them on real volumes and affines).
Importing nibabel costs as much as reading a series' headers: its NIfTI module imports
pydicom, for the DICOM extension.

``.nii.gz`` is one gzip member (RFC 1952) of one deflate stream (RFC 1951) at level 1
(with ISA-L's deflate, the ``isal`` package of ``srkit[load]``, when installed: the
same format at about a sixth of zlib's CPU and as small; zlib otherwise), compressed
in blocks on as many threads as the process may use, as pigz does: each
block is compressed with the previous 32 KiB as its dictionary and ends on a byte
boundary (a sync flush), so the blocks joined are the stream; any gzip reader reads it.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from srkit.atomic import replace_atomically

__all__ = [
    "DATATYPES",
    "GZIP_BLOCK",
    "GZIP_LEVEL",
    "deflate_module",
    "header_bytes",
    "write_image",
]

DATATYPES = {"u1": 2, "i2": 4, "i4": 8, "f4": 16, "f8": 64, "i1": 256, "u2": 512, "u4": 768}
"""NIfTI-1 datatype codes of the dtypes written directly (kind and size)."""
HEADER_DTYPE = np.dtype(
    [
        ("sizeof_hdr", "<i4"),
        ("data_type", "S10"),
        ("db_name", "S18"),
        ("extents", "<i4"),
        ("session_error", "<i2"),
        ("regular", "S1"),
        ("dim_info", "u1"),
        ("dim", "<i2", (8,)),
        ("intent_p", "<f4", (3,)),
        ("intent_code", "<i2"),
        ("datatype", "<i2"),
        ("bitpix", "<i2"),
        ("slice_start", "<i2"),
        ("pixdim", "<f4", (8,)),
        ("vox_offset", "<f4"),
        ("scl_slope", "<f4"),
        ("scl_inter", "<f4"),
        ("slice_end", "<i2"),
        ("slice_code", "u1"),
        ("xyzt_units", "u1"),
        ("cal_max", "<f4"),
        ("cal_min", "<f4"),
        ("slice_duration", "<f4"),
        ("toffset", "<f4"),
        ("glmax", "<i4"),
        ("glmin", "<i4"),
        ("descrip", "S80"),
        ("aux_file", "S24"),
        ("qform_code", "<i2"),
        ("sform_code", "<i2"),
        ("quatern", "<f4", (3,)),
        ("qoffset", "<f4", (3,)),
        ("srow", "<f4", (3, 4)),
        ("intent_name", "S16"),
        ("magic", "S4"),
    ]
)
"""The NIfTI-1 header (little endian, 348 bytes)."""
DATA_OFFSET = 352
UNITS_MM = 2
SCANNER = 1
GZIP_LEVEL = 1
"""nibabel's level for ``.nii.gz``."""
GZIP_BLOCK = 1 << 22
"""Bytes compressed at a time by one thread."""
WRITE_CHUNK = 1 << 24


def _quaternion(rotation: Any) -> Any:
    """The unit quaternion (w, x, y, z), w >= 0, of a rotation matrix (nibabel's
    ``quaternions.mat2quat``: the eigenvector of the largest eigenvalue of
    Bar-Itzhack's symmetric matrix)."""
    qxx, qyx, qzx, qxy, qyy, qzy, qxz, qyz, qzz = rotation.flat
    k = (
        np.array(
            [
                [qxx - qyy - qzz, 0, 0, 0],
                [qyx + qxy, qyy - qxx - qzz, 0, 0],
                [qzx + qxz, qzy + qyz, qzz - qxx - qyy, 0],
                [qyz - qzy, qzx - qxz, qxy - qyx, qxx + qyy + qzz],
            ]
        )
        / 3.0
    )
    values, vectors = np.linalg.eigh(k)
    q = vectors[[3, 0, 1, 2], np.argmax(values)]
    if q[0] < 0:
        q *= -1
    return q


def header_bytes(shape: tuple[int, ...], dtype: Any, affine: Any, descrip: bytes) -> bytes | None:
    """The first 352 bytes of a ``.nii`` file of a 3-D array (column, row, slice axes
    ``shape``) of ``dtype`` on ``affine`` (voxel -> RAS mm, used as qform and sform,
    code 1); ``None`` for a dtype not in :data:`DATATYPES` or a shape NIfTI-1 cannot
    hold (then nibabel writes the file)."""
    dtype = np.dtype(dtype)
    code = DATATYPES.get(f"{dtype.kind}{dtype.itemsize}")
    if code is None or not dtype.isnative or len(shape) != 3 or max(shape) > 32767:
        return None
    affine = np.asarray(affine, dtype=np.float64)
    rzs = affine[:3, :3]
    zooms = np.sqrt(np.sum(rzs * rzs, axis=0))
    rotation = rzs / zooms
    qfac = 1.0
    if np.linalg.det(rotation) <= 0:
        qfac = -1.0
        rotation[:, -1] *= -1
    p, _, qs = np.linalg.svd(rotation)
    quaternion = _quaternion(np.dot(p, qs))
    h = np.zeros((), dtype=HEADER_DTYPE)
    h["sizeof_hdr"] = 348
    h["dim"] = [3, *shape, 1, 1, 1, 1]
    h["datatype"] = code
    h["bitpix"] = dtype.itemsize * 8
    h["pixdim"] = [qfac, *zooms, 1.0, 1.0, 1.0, 1.0]
    h["vox_offset"] = DATA_OFFSET
    h["scl_slope"], h["scl_inter"] = 1.0, 0.0
    h["xyzt_units"] = UNITS_MM
    h["descrip"] = descrip[:80]
    h["qform_code"] = h["sform_code"] = SCANNER
    h["quatern"] = quaternion[1:]
    h["qoffset"] = affine[:3, 3]
    h["srow"] = affine[:3, :]
    h["magic"] = b"n+1"
    return h.tobytes() + b"\x00" * (DATA_OFFSET - HEADER_DTYPE.itemsize)


def _threads() -> int:
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        available = os.cpu_count() or 1
    return max(1, min(available, 8))


def deflate_module() -> Any:
    """The deflate implementation: ISA-L's (``isal.isal_zlib``, zlib's interface)
    when installed, else :mod:`zlib`; both write the same format (RFC 1951)."""
    try:
        from isal import isal_zlib

        return isal_zlib
    except ImportError:
        return zlib


def _deflate(block: memoryview, window: bytes, last: bool, z: Any = zlib) -> bytes:
    """One block of the deflate stream: compressed with ``window`` (what precedes it)
    as its dictionary, ending byte-aligned (or, ``last``, ending the stream)."""
    if window:
        packer = z.compressobj(GZIP_LEVEL, z.DEFLATED, -z.MAX_WBITS, zdict=window)
    else:
        packer = z.compressobj(GZIP_LEVEL, z.DEFLATED, -z.MAX_WBITS)
    return bytes(packer.compress(block) + packer.flush(z.Z_FINISH if last else z.Z_SYNC_FLUSH))


def _write_gzip(fh: Any, head: bytes, data: memoryview, threads: int, z: Any = zlib) -> None:
    """``head`` then ``data`` as one gzip member, compressed block by block with the
    deflate module ``z`` (:func:`deflate_module`)."""
    fh.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x04\xff")  # deflate, no name, mtime 0
    blocks = [memoryview(head)]
    blocks += [data[i : i + GZIP_BLOCK] for i in range(0, len(data), GZIP_BLOCK)]
    jobs = [
        (block, bytes(blocks[i - 1][-(1 << 15) :]) if i else b"", i == len(blocks) - 1)
        for i, block in enumerate(blocks)
    ]
    crc = 0
    if threads == 1 or len(jobs) < 3:
        for job in jobs:
            fh.write(_deflate(*job, z))
            crc = z.crc32(job[0], crc)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads, thread_name_prefix="srkit-gzip") as pool:
            pending: deque[Any] = deque()
            for job in jobs:
                pending.append(pool.submit(_deflate, *job, z))
                crc = z.crc32(job[0], crc)  # here, while the pool compresses
                while len(pending) > 2 * threads:
                    fh.write(pending.popleft().result())
            while pending:
                fh.write(pending.popleft().result())
    size = len(head) + len(data)
    fh.write(struct.pack("<II", crc, size & 0xFFFFFFFF))


def write_image(path: Path, head: bytes, array: Any) -> None:
    """Write ``head`` and the bytes of the C-contiguous ``array`` to ``path``
    (``.nii.gz``: gzip, :data:`GZIP_LEVEL`), atomically: a failure or a kill leaves
    no half-written file (:func:`srkit.atomic.replace_atomically`)."""
    data = memoryview(array.data).cast("B")

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            if path.name.endswith(".gz"):
                _write_gzip(fh, head, data, _threads(), deflate_module())
                return
            fh.write(head)
            for start in range(0, len(data), WRITE_CHUNK):
                fh.write(data[start : start + WRITE_CHUNK])

    replace_atomically(path, write)
