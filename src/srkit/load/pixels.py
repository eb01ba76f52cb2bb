"""Pixel data of one image through pydicom's pixel handlers (PS3.5 8, A.4).

One uncompressed little endian grey-level frame is read straight from the file into
the volume (:func:`read_native_into`), with the values pydicom's handler gives. Other
native data needs nothing more than pydicom; compressed transfer syntaxes need
pydicom's decoders: RLE works as is, JPEG, JPEG-LS and JPEG 2000 need the pylibjpeg
plugins (``pip install 'srkit[codecs]'``) or GDCM. A missing decoder and a truncated
Pixel Data element are errors that name the file and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from srkit.codec.diagnostic_codes import ReadCode
from srkit.codec.light import is_raw
from srkit.errors import MissingDependencyError, SrkitError

__all__ = [
    "LoadError",
    "NativeFrame",
    "native_frame",
    "read_pixels",
    "read_native_frame",
    "read_native_into",
    "CODECS_EXTRA",
]

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
_PIXEL_DATA = 0x7FE00010


@dataclass(frozen=True, slots=True)
class NativeFrame:
    """How the one frame of a native little endian grey-level image is stored."""

    dtype: Any
    """The numpy dtype pydicom's handler gives (``<u2``, ``<i2``, ...)."""
    shape: tuple[int, int]
    nbytes: int
    shift: int
    """Bits Allocated - Bits Stored: the unused high bits, cleared (unsigned) or filled
    with the sign (signed) as pydicom does (its ``correct_unused_bits``)."""
    explicit: bool


_LAYOUT_TAGS = (0x00280010, 0x00280011, 0x00280100, 0x00280101, 0x00280103, 0x00280002, 0x00280008)
"""Rows, Columns, Bits Allocated, Bits Stored, Pixel Representation, Samples per Pixel,
Number of Frames: what :func:`native_frame` reads, besides the transfer syntax."""
_LAYOUTS: dict[tuple[Any, ...], NativeFrame | None] = {}
_UNKNOWN = object()


def native_frame(header: Any) -> NativeFrame | None:
    """How the pixels of ``header``'s file are stored, when they can be read straight
    from the file: one frame, one sample, 8, 16 or 32 bits allocated, Implicit or
    Explicit VR Little Endian; ``None`` otherwise (pydicom's handlers decode those).

    Parameters
    ----------
    header : ImageHeader or pydicom.Dataset
        The file's header (read with ``stop_before_pixels``).
    """
    key = _layout_key(header)
    if key is not None:
        known = _LAYOUTS.get(key, _UNKNOWN)
        if known is not _UNKNOWN:
            return known  # type: ignore[return-value]
    plan = _native_frame(header)
    if key is not None:
        if len(_LAYOUTS) > 256:
            _LAYOUTS.clear()
        _LAYOUTS[key] = plan
    return plan


def _layout_key(header: Any) -> tuple[Any, ...] | None:
    """The stored bytes of the elements :func:`native_frame` reads, when none has been
    converted yet (the same bytes give the same layout); ``None`` otherwise."""
    meta = _meta_elements(header)
    elements = getattr(header, "_dict", None)
    if meta is None or elements is None:
        return None
    key: list[Any] = []
    for elem in (meta.get(0x00020010), *map(elements.get, _LAYOUT_TAGS)):
        if elem is None:
            key.append(None)
        elif is_raw(elem) and isinstance(elem.value, bytes):
            key.append((elem.VR, elem.is_implicit_VR, elem.is_little_endian, elem.value))
        else:
            return None
    return tuple(key)


def _meta_elements(header: Any) -> dict[int, Any] | None:
    """The File Meta Information elements of a header (an ``ImageHeader`` or a pydicom
    dataset) by tag; ``None`` when it has none."""
    from srkit.codec.imageheader import ImageHeader

    if type(header) is ImageHeader:
        return header.meta
    meta = getattr(header, "file_meta", None)
    return None if meta is None else getattr(meta, "_dict", None)


def _transfer_syntax(header: Any) -> str:
    from srkit.codec.imageheader import ImageHeader

    if type(header) is ImageHeader:
        return header.transfer_syntax
    meta = getattr(header, "file_meta", None)
    return str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""


def _native_frame(header: Any) -> NativeFrame | None:
    import numpy as np

    ts = _transfer_syntax(header)
    if ts not in _NATIVE:
        return None
    try:
        rows, cols = int(header.Rows), int(header.Columns)
        bits = int(header.BitsAllocated)
        stored = int(header.get("BitsStored", bits) or bits)
        signed = int(header.PixelRepresentation) == 1
        samples = int(header.get("SamplesPerPixel", 1) or 1)
        frames = int(header.get("NumberOfFrames", 1) or 1)
    except (AttributeError, TypeError, ValueError):
        return None
    if bits not in (8, 16, 32) or samples != 1 or frames != 1 or rows < 1 or cols < 1:
        return None
    if not 0 < stored <= bits:
        return None
    dtype = np.dtype(f"<{'i' if signed else 'u'}{bits // 8}")
    return NativeFrame(dtype, (rows, cols), rows * cols * bits // 8, bits - stored, _NATIVE[ts])


def read_native_into(path: str, header: Any, out: Any, location: Any = None) -> bool:
    """Read the one frame of an uncompressed little endian image straight into ``out``.

    The values are those of pydicom's handler (``ds.pixel_array``), without a copy of
    the frame: the file's bytes go into ``out`` (a C-contiguous array of the frame's
    shape and dtype, such as one slice of a volume).

    Parameters
    ----------
    path : str
        The file.
    header : ImageHeader or pydicom.Dataset
        Its header (read with ``stop_before_pixels``).
    out : numpy.ndarray
        Where the frame goes.
    location : srkit.codec.fastparse.PixelElement, optional
        Where the Pixel Data element is (from :func:`srkit.load.headers.read_header`);
        without it the element must end the file.

    Returns
    -------
    bool
        ``False`` when the file is not laid out that way, or ``out`` does not fit; then
        :func:`read_pixels` decodes it through pydicom (``out`` may have been written).
    """
    import os

    import numpy as np

    plan = native_frame(header)
    if (
        plan is None
        or plan.dtype != out.dtype
        or plan.shape != tuple(out.shape)
        or not out.flags.c_contiguous
    ):
        return False
    head = 12 if plan.explicit else 8
    try:
        with open(path, "rb", buffering=0) as fh:
            if location is not None:
                if location.tag != _PIXEL_DATA or location.length != plan.nbytes:
                    return False
                if location.vr not in (("OW", "OB") if plan.explicit else (None,)):
                    return False
                fh.seek(location.offset)
            else:
                size = os.fstat(fh.fileno()).st_size
                if size < plan.nbytes + head:
                    return False
                fh.seek(size - plan.nbytes - head)
                element = fh.read(head)
                length = int.from_bytes(element[-4:], "little")
                if len(element) != head or element[:4] != b"\xe0\x7f\x10\x00":
                    return False
                if length != plan.nbytes or (plan.explicit and element[4:6] not in (b"OW", b"OB")):
                    return False
            if fh.readinto(memoryview(out).cast("B")) != plan.nbytes:
                return False
    except OSError:
        return False
    if plan.shift:
        np.left_shift(out, plan.shift, out=out)
        np.right_shift(out, plan.shift, out=out)
    return True


def read_native_frame(path: str, header: Any, location: Any = None) -> Any:
    """The one grey-level frame of an uncompressed little endian image, read straight
    from the file (:func:`read_native_into`); ``None`` when the file is not laid out
    that way (then :func:`read_pixels` decodes it through pydicom).

    Parameters
    ----------
    path : str
        The file.
    header : ImageHeader or pydicom.Dataset
        Its header (read with ``stop_before_pixels``).
    location : srkit.codec.fastparse.PixelElement, optional
        Where its Pixel Data element is.
    """
    import numpy as np

    plan = native_frame(header)
    if plan is None:
        return None
    out = np.empty(plan.shape, dtype=plan.dtype)
    return out if read_native_into(path, header, out, location) else None
