"""Pixel data of one image through pydicom's pixel handlers (PS3.5 8, A.4).

Native (uncompressed) data needs nothing more; compressed transfer syntaxes need
pydicom's decoders: RLE works as is, JPEG, JPEG-LS and JPEG 2000 need the pylibjpeg
plugins (``pip install 'srkit[codecs]'``) or GDCM. A missing decoder and a truncated
Pixel Data element are errors that name the file and what to do.
"""

from __future__ import annotations

from typing import Any

from srkit.codec.diagnostic_codes import ReadCode
from srkit.errors import MissingDependencyError, SrkitError

__all__ = ["LoadError", "read_pixels", "read_native_frame", "CODECS_EXTRA"]

CODECS_EXTRA = "srkit[codecs]"


class LoadError(SrkitError):
    """A file or loadable that cannot be loaded; the message names the file."""


def read_pixels(path: str) -> tuple[Any, Any]:
    """The dataset and the stored pixel values of one file (one or more frames).

    Raises
    ------
    LoadError
        The file has no or truncated pixel data, or cannot be read.
    MissingDependencyError
        The transfer syntax needs a decoder that is not installed.
    """
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    try:
        ds = dcmread(path)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise LoadError(f"not a readable DICOM file ({exc})", source=path) from None
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise LoadError("no Pixel Data element", source=path)
    ts = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    try:
        arr = ds.pixel_array
    except (NotImplementedError, RuntimeError) as exc:
        text = str(exc)
        if (
            ts is not None
            and ts.is_compressed
            and ("plugin" in text.lower() or "missing" in text.lower() or "decod" in text.lower())
        ):
            raise MissingDependencyError(
                f"{path}: pixel data in {ts.name} ({ts}) need a decoder that is not "
                f"installed; pip install '{CODECS_EXTRA}' (pylibjpeg with its libjpeg "
                "and openjpeg plugins)",
                source=None,
            ) from None
        raise LoadError(
            f"pixel data cannot be decoded ({text.splitlines()[0]})", source=path
        ) from None
    except (ValueError, EOFError, KeyError, AttributeError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "length" in first.lower() or "truncat" in first.lower() or "buffer" in first.lower():
            raise LoadError(
                f"truncated pixel data ({first})", source=path, code=ReadCode.FILE_TRUNCATED
            ) from None
        raise LoadError(f"pixel data cannot be read ({first})", source=path) from None
    return ds, arr


_NATIVE = {
    "1.2.840.10008.1.2": False,  # Implicit VR Little Endian
    "1.2.840.10008.1.2.1": True,  # Explicit VR Little Endian
}


def read_native_frame(path: str, header: Any) -> Any:
    """The one grey-level frame of an uncompressed little-endian image, read straight
    from the end of the file; ``None`` when the file is not laid out that way (then
    :func:`read_pixels` decodes it through pydicom).

    Parameters
    ----------
    path : str
        The file.
    header : pydicom.Dataset
        Its header (read with ``stop_before_pixels``).
    """
    import os

    import numpy as np

    meta = getattr(header, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    if ts not in _NATIVE:
        return None
    try:
        rows, cols = int(header.Rows), int(header.Columns)
        bits = int(header.BitsAllocated)
        signed = int(header.PixelRepresentation) == 1
        samples = int(header.get("SamplesPerPixel", 1) or 1)
        frames = int(header.get("NumberOfFrames", 1) or 1)
    except (AttributeError, TypeError, ValueError):
        return None
    if bits not in (8, 16, 32) or samples != 1 or frames != 1:
        return None
    if int(header.get("BitsStored", bits) or bits) != bits:
        return None  # narrower values: pydicom's handler masks or sign-extends them
    nbytes = rows * cols * bits // 8
    explicit = _NATIVE[ts]
    head = 12 if explicit else 8
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            fh.seek(size - nbytes - head)
            element = fh.read(head)
            data = fh.read(nbytes)
    except OSError:
        return None
    if len(data) != nbytes or element[:4] != b"\xe0\x7f\x10\x00":
        return None
    length = int.from_bytes(element[-4:], "little")
    if length != nbytes or (explicit and element[4:6] not in (b"OW", b"OB")):
        return None
    dtype = np.dtype(f"<{'i' if signed else 'u'}{bits // 8}")
    return np.frombuffer(data, dtype=dtype).reshape(rows, cols)
