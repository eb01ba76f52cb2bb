"""Media types and transfer syntaxes of WADO-RS answers (PS3.18 Sections 8.7.3 to
8.7.5): the media type of each transfer syntax's pixel data, and the choice of what
to answer from the Accept header (RFC 9110 Section 12.5.1, with q-values, and the
``type`` and ``transfer-syntax`` parameters of ``multipart/related``).

:func:`choose` returns the ``(media type, transfer syntax)`` to answer with: the
stored one when the client accepts it, else one srkit can transcode to (a
decompression to Explicit VR Little Endian, or a compression pydicom has an encoder
for, :mod:`srkit.net.dicomweb.transcode`), else None (HTTP 406).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_TS",
    "EXPLICIT_LE",
    "PIXEL_MEDIA",
    "AcceptItem",
    "choose",
    "parse_accept",
    "pixel_media",
]

EXPLICIT_LE = "1.2.840.10008.1.2.1"
NATIVE = frozenset({"1.2.840.10008.1.2", EXPLICIT_LE, "1.2.840.10008.1.2.1.99"})
"""Transfer syntaxes whose pixel data is native little endian: the same frame bytes."""

PIXEL_MEDIA: dict[str, str] = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.92": "image/jpx",
    "1.2.840.10008.1.2.4.93": "image/jpx",
    "1.2.840.10008.1.2.4.201": "image/jphc",
    "1.2.840.10008.1.2.4.202": "image/jphc",
    "1.2.840.10008.1.2.4.203": "image/jphc",
    "1.2.840.10008.1.2.5": "image/dicom-rle",
    "1.2.840.10008.1.2.4.100": "video/mpeg",
    "1.2.840.10008.1.2.4.101": "video/mpeg",
    "1.2.840.10008.1.2.4.102": "video/mp4",
    "1.2.840.10008.1.2.4.103": "video/mp4",
    "1.2.840.10008.1.2.4.104": "video/mp4",
    "1.2.840.10008.1.2.4.105": "video/mp4",
    "1.2.840.10008.1.2.4.106": "video/mp4",
}
"""Media type of the pixel data (frames, bulk data) of each compressed transfer
syntax (PS3.18 Table 8.7.3-5); native pixel data is ``application/octet-stream``."""

DEFAULT_TS: dict[str, str] = {
    "application/octet-stream": EXPLICIT_LE,
    "application/dicom": EXPLICIT_LE,
    "image/jpeg": "1.2.840.10008.1.2.4.70",
    "image/jls": "1.2.840.10008.1.2.4.80",
    "image/jp2": "1.2.840.10008.1.2.4.90",
    "image/jpx": "1.2.840.10008.1.2.4.92",
    "image/jphc": "1.2.840.10008.1.2.4.201",
    "image/dicom-rle": "1.2.840.10008.1.2.5",
    "image/x-dicom-rle": "1.2.840.10008.1.2.5",
}
"""The transfer syntax of a media type asked without ``transfer-syntax`` (PS3.18
Table 8.7.3-5, the defaults)."""

ALIASES = {"image/x-dicom-rle": "image/dicom-rle", "image/x-jls": "image/jls"}


def pixel_media(ts: str) -> str:
    """The media type of pixel data in transfer syntax ``ts``."""
    return PIXEL_MEDIA.get(ts, "application/octet-stream")


@dataclass(frozen=True, slots=True)
class AcceptItem:
    """One media range of an Accept header."""

    media: str
    """``multipart/related``, ``*/*``, ``application/dicom``... (lower case)."""
    part: str | None
    """The ``type`` parameter of ``multipart/related`` (None when absent)."""
    ts: str | None
    """The ``transfer-syntax`` parameter (``*`` for any; None when absent)."""
    q: float


def _split(text: str, sep: str) -> list[str]:
    """Split outside double quotes."""
    out: list[str] = []
    cur: list[str] = []
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == sep and not quoted:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return out


def parse_accept(header: str | None) -> list[AcceptItem]:
    """The media ranges of an Accept header, best first (by q, then as given); those
    with ``q=0`` are left out. An empty or missing header is ``*/*``."""
    if not header or not header.strip():
        return [AcceptItem("*/*", None, None, 1.0)]
    items: list[tuple[float, int, AcceptItem]] = []
    for index, rng in enumerate(_split(header, ",")):
        pieces = _split(rng, ";")
        media = pieces[0].strip().lower()
        if not media:
            continue
        params: dict[str, str] = {}
        for piece in pieces[1:]:
            name, _, value = piece.partition("=")
            params[name.strip().lower()] = value.strip().strip('"').strip()
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 1.0
        if q <= 0:
            continue
        part = params.get("type")
        part = ALIASES.get(part.lower(), part.lower()) if part else None
        item = AcceptItem(ALIASES.get(media, media), part, params.get("transfer-syntax"), q)
        items.append((-q, index, item))
    return [item for _q, _i, item in sorted(items, key=lambda t: (t[0], t[1]))]


def _wanted(item: AcceptItem, bare: str) -> tuple[str, str | None] | None:
    """(part media type, ts or None) that a media range asks for; ``*`` for any
    media type. ``bare`` is the single-part media type the resource has."""
    if item.media in ("*/*", "multipart/*", "multipart/related"):
        if item.media == "multipart/related" and item.part and item.part not in ("*/*", "*"):
            return item.part, item.ts
        return "*", item.ts
    if item.media == bare:
        return bare, item.ts
    return None


def choose(
    accept: str | None,
    stored_ts: str,
    *,
    bare: str,
    can_make: Callable[[str, str], bool],
) -> tuple[str, str] | None:
    """The ``(part media type, transfer syntax)`` to answer with, or None (406).

    Parameters
    ----------
    accept : str or None
        The request's Accept header.
    stored_ts : str
        The transfer syntax the data is stored in.
    bare : str
        The resource's media type: ``application/dicom`` for instances,
        ``application/octet-stream`` for frames and bulk data; it is also the part
        type when ``multipart/related`` names none.
    can_make : callable
        ``can_make(from_ts, to_ts)``: whether srkit can transcode.

    A range that accepts the stored data is taken as it is (``*/*``,
    ``transfer-syntax=*``, or the stored one named); a media type without
    ``transfer-syntax`` gets its default (PS3.18 Table 8.7.3-5: Explicit VR Little
    Endian for ``application/dicom`` and native frames, as Orthanc answers), except
    that a compressed media type asked of frames stored in it gets them as stored
    (``image/jpeg`` of a JPEG Baseline image).
    """
    stored_media = bare if bare == "application/dicom" else pixel_media(stored_ts)
    native = stored_ts in NATIVE
    for item in parse_accept(accept):
        wanted = _wanted(item, bare)
        if wanted is None:
            continue
        media, ts = wanted
        if media == "*":
            if ts in (None, "*"):
                return (
                    stored_media,
                    stored_ts if bare == "application/dicom" or not native else EXPLICIT_LE,
                )
            media = bare if bare == "application/dicom" else pixel_media(ts)
        if media == "application/dicom":
            if bare != "application/dicom":
                continue
            if ts is None:
                ts = DEFAULT_TS[media]  # Explicit VR Little Endian, as Orthanc answers
            if ts == "*" or ts == stored_ts:
                return media, stored_ts
            if can_make(stored_ts, ts):
                return media, ts
            continue
        if bare == "application/dicom":
            continue  # a pixel media type asked of an instance
        if ts == "*":
            # any transfer syntax: the stored one, labelled as what it is
            if media in (stored_media, "application/octet-stream"):
                return stored_media, EXPLICIT_LE if native else stored_ts
            ts = DEFAULT_TS.get(media)
        if ts is None:
            if media == stored_media and not native:
                return stored_media, stored_ts  # image/jpeg asked of JPEG: as stored
            ts = DEFAULT_TS.get(media)
            if ts is None:
                continue
        if pixel_media(ts) != media:
            continue  # a transfer syntax that is not of this media type
        if ts == stored_ts or (native and ts in NATIVE):
            return media, EXPLICIT_LE if native else ts
        if can_make(stored_ts, ts):
            return media, ts
    return None
