"""Pixel data of one image through pydicom's pixel handlers (PS3.5 8, A.4).

Native (uncompressed) data needs nothing more; compressed transfer syntaxes need
pydicom's decoders: RLE works as is, JPEG, JPEG-LS and JPEG 2000 need the pylibjpeg
plugins (``pip install 'srkit[codecs]'``) or GDCM. A missing decoder and a truncated
Pixel Data element are errors that name the file and what to do.
"""

from __future__ import annotations

from typing import Any

from srkit.errors import MissingDependencyError, SrkitError

__all__ = ["LoadError", "read_pixels", "CODECS_EXTRA"]

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
            raise LoadError(f"truncated pixel data ({first})", source=path) from None
        raise LoadError(f"pixel data cannot be read ({first})", source=path) from None
    return ds, arr
