"""Frames and instances in the transfer syntax a WADO-RS client asked for
(PS3.18 Section 8.7.3; :mod:`srkit.net.dicomweb.negotiate` chooses it): the stored
frame bytes, 1-bit frames cut out of packed pixel data (PS3.5 Section 8.1.1: frames
need not start on a byte), frames decompressed to native little endian, native
frames compressed with pydicom's encoders, and whole instances re-encoded with
pydicom (``Dataset.decompress``, ``Dataset.compress``).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from srkit.errors import SrkitError
from srkit.net.dicomweb.negotiate import NATIVE

__all__ = [
    "TranscodeError",
    "can_decode",
    "can_encode",
    "can_transcode",
    "frame_bytes",
    "instance_bytes",
    "native_frame",
    "stored_frames",
]


class TranscodeError(SrkitError):
    """Pixel data that cannot be given in the transfer syntax asked."""


def _uid(ts: str) -> Any:
    from pydicom.uid import UID

    return UID(ts)


def can_decode(ts: str) -> bool:
    """Whether pydicom can decode pixel data of ``ts`` here."""
    if ts in NATIVE or ts == "1.2.840.10008.1.2.2":
        return True
    from pydicom.pixels.decoders.base import get_decoder

    try:
        return bool(get_decoder(_uid(ts)).is_available)
    except (NotImplementedError, ValueError):
        return False


def can_encode(ts: str) -> bool:
    """Whether pydicom can encode pixel data in ``ts`` here."""
    if ts in NATIVE:
        return True
    from pydicom.pixels.encoders.base import get_encoder

    try:
        return bool(get_encoder(_uid(ts)).is_available)
    except (NotImplementedError, ValueError):
        return False


def can_transcode(from_ts: str, to_ts: str) -> bool:
    """Whether srkit can turn pixel data of ``from_ts`` into ``to_ts``: compressed to
    native (decoder available), native to compressed (encoder available)."""
    if from_ts == to_ts:
        return True
    if to_ts in NATIVE:
        return can_decode(from_ts)
    return (from_ts in NATIVE or can_decode(from_ts)) and can_encode(to_ts)


def _count(ds: Any) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames") or 1))
    except (TypeError, ValueError):
        return 1


def _frame_bits(ds: Any) -> int:
    samples = int(ds.get("SamplesPerPixel") or 1)
    return int(ds.Rows) * int(ds.Columns) * samples * int(ds.BitsAllocated)


def stored_frames(ds: Any, numbers: Sequence[int]) -> list[bytes]:
    """The frames ``numbers`` (1-based) as stored: encapsulated fragments joined per
    frame, native frames cut from the pixel data; a 1-bit frame is its bits packed
    from bit 0 of its first byte (PS3.18 Section 8.7.3.3.2), shifted when the frame
    does not start on a byte boundary."""
    ts = str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    count = _count(ds)
    if _uid(ts).is_encapsulated:
        from pydicom.encaps import generate_frames

        frames = list(generate_frames(ds.PixelData, number_of_frames=count))
        return [frames[n - 1] for n in numbers]
    data = ds.PixelData
    bits = _frame_bits(ds)
    if bits % 8 == 0:
        size = bits // 8
        return [bytes(data[(n - 1) * size : n * size]) for n in numbers]
    import numpy as np

    packed = np.frombuffer(data, dtype=np.uint8)
    out = []
    for n in numbers:
        start, stop = (n - 1) * bits, n * bits
        first, last = start // 8, (stop + 7) // 8
        unpacked = np.unpackbits(packed[first:last], bitorder="little")
        offset = start - first * 8
        out.append(np.packbits(unpacked[offset : offset + bits], bitorder="little").tobytes())
    return out


def native_frame(ds: Any, number: int) -> bytes:
    """Frame ``number`` decoded to native little-endian bytes (Explicit VR Little
    Endian pixel data of that frame). TranscodeError when no decoder is available."""
    ts = str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    if ts in NATIVE:
        return stored_frames(ds, [number])[0]
    if not can_decode(ts):
        raise TranscodeError(f"no decoder for transfer syntax {ts}")
    from pydicom.pixels.utils import pixel_array

    try:
        arr = pixel_array(ds, index=number - 1, raw=False)
    except Exception as exc:
        raise TranscodeError(f"cannot decode frame {number}: {exc}") from None
    if int(ds.BitsAllocated) == 1:
        import numpy as np

        return np.packbits(arr.ravel(), bitorder="little").tobytes()
    return bytes(arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes())


def _native_dataset(ds: Any) -> Any:
    """``ds`` with native little-endian pixel data (a copy when it was compressed)."""
    ts = str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    if ts in NATIVE:
        return ds
    import copy

    native = copy.deepcopy(ds)
    try:
        native.decompress()
    except Exception as exc:
        raise TranscodeError(f"cannot decode the pixel data: {exc}") from None
    return native


def frame_bytes(ds: Any, numbers: Sequence[int], ts: str) -> list[bytes]:
    """The frames ``numbers`` in transfer syntax ``ts`` (the stored bytes when ``ts``
    is the stored one). TranscodeError when srkit cannot make it."""
    stored = str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    if ts == stored or (ts in NATIVE and stored in NATIVE):
        return stored_frames(ds, numbers)
    if ts in NATIVE:
        return [native_frame(ds, n) for n in numbers]
    if not can_transcode(stored, ts):
        raise TranscodeError(f"cannot encode frames in transfer syntax {ts}")
    from pydicom.pixels.encoders.base import get_encoder

    source = _native_dataset(ds)
    encoder = get_encoder(_uid(ts))
    try:
        return [bytes(encoder.encode(source, index=n - 1)) for n in numbers]
    except Exception as exc:
        raise TranscodeError(f"cannot encode in {ts}: {exc}") from None


def instance_bytes(ds: Any, ts: str) -> bytes:
    """A Part 10 file of ``ds`` re-encoded in transfer syntax ``ts``: decompressed
    to native, then compressed when ``ts`` is compressed (TranscodeError)."""
    stored = str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    if "PixelData" in ds and not can_transcode(stored, ts):
        raise TranscodeError(f"cannot transcode {stored} to {ts}")
    out = _native_dataset(ds) if "PixelData" in ds else ds
    target = _uid(ts)
    try:
        if target.is_compressed:
            out.compress(target)
        else:
            out.file_meta.TransferSyntaxUID = target
    except Exception as exc:
        raise TranscodeError(f"cannot encode in {ts}: {exc}") from None
    buf = io.BytesIO()
    out.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
