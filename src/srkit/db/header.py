"""The index's scan of a received image: the attributes the index keeps, read from the
element headers of a Part 10 file without decoding anything else (PS3.10 Section 7,
PS3.5 Section 7.1).

A C-STORE or STOW-RS image is stored as received; the index needs about forty of its
top-level attributes (:mod:`srkit.db.attributes`). :func:`scan` walks the top-level
elements of a little endian native file (Implicit or Explicit VR Little Endian) once,
from the File Meta Information to the last byte: each element's tag and length are
read, the value is kept (as bytes, a pydicom ``RawDataElement``) only when the index
wants it, and every other value, the Pixel Data first, is stepped over without being
read or copied. Sequences of undefined length are stepped over item by item. The walk
ends exactly at the end of the file, so a file cut short (or with a malformed length
anywhere) is noticed.

Anything unusual gives ``None`` and the caller parses the file whole as before (which
then reports what is wrong): another transfer syntax, an SR document (its content tree
is indexed), a DICOMDIR, a character set the index does not decode itself, an indexed
attribute with an unexpected VR, a structure the walk does not follow. The one error
the scan reports itself is Pixel Data whose declared length runs past the end
(:class:`SrkitError`, ``FILE_TRUNCATED``), as the whole parse does.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from pydicom.datadict import keyword_dict
from pydicom.dataelem import RawDataElement
from pydicom.tag import BaseTag

from srkit.codec.diagnostic_codes import ReadCode
from srkit.db.attributes import ATTRIBUTES
from srkit.errors import SrkitError
from srkit.model.sopclass import MEDIA_STORAGE_DIRECTORY, is_sr_sop_class

__all__ = ["ScannedHeader", "scan", "sop_uids"]

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
_UNDEFINED = 0xFFFFFFFF
_PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
_WANTED = frozenset(
    keyword_dict[a.keyword] for a in ATTRIBUTES.values() if a.keyword in keyword_dict
) | {0x00080005, 0x00080016, 0x00080018}
_DECODED_VRS = frozenset(
    {"UI", "DA", "TM", "DT", "CS", "IS", "DS", "AS", "AE", "LO", "SH", "PN", "LT", "ST", "US"}
)
"""The VRs :func:`srkit.db.ingest.record_from_dataset` decodes from raw bytes itself."""
_CHARSETS = frozenset({"", "ISO_IR 6", "ISO_IR 100", "ISO_IR 192"})
_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
"""Explicit VRs with 2 reserved bytes and a 4-byte value length (PS3.5 Table 7.1-1)."""
_TAG_LENGTH = struct.Struct("<HHI")
_EXPLICIT = struct.Struct("<HH2sH")
_U32 = struct.Struct("<I")
MAX_DEPTH = 64
"""Deepest nesting of sequences the walk follows (deeper: the whole parse decides)."""


class _Unusual(Exception):
    """The walk cannot go on: the whole parse decides."""


class ScannedHeader:
    """The indexed attributes of a file as raw elements: ``_dict`` (tag ->
    ``RawDataElement``) and ``file_meta`` (the File Meta Information, the same way),
    what :func:`srkit.db.ingest.record_from_dataset` reads."""

    __slots__ = ("_dict", "file_meta")

    def __init__(self, elements: dict[int, Any], file_meta: ScannedHeader | None = None) -> None:
        self._dict = elements
        self.file_meta = file_meta

    def __contains__(self, tag: object) -> bool:
        return tag in self._dict

    def __getitem__(self, tag: int) -> Any:
        """The element converted by pydicom (for a value the index does not decode
        from its bytes itself)."""
        from pydicom.dataelem import convert_raw_data_element

        return convert_raw_data_element(self._dict[tag])


def _header(buf: bytes, pos: int, implicit: bool) -> tuple[int, str | None, int, int]:
    """(tag, VR or None, value length, value offset) of the element at ``pos``."""
    if implicit:
        group, element, length = _TAG_LENGTH.unpack_from(buf, pos)
        if group == 0xFFFE:  # an item or delimiter where an element was expected
            raise _Unusual
        return (group << 16) | element, None, length, pos + 8
    group, element, vr, length = _EXPLICIT.unpack_from(buf, pos)
    if group == 0xFFFE:
        raise _Unusual
    if vr in _LONG_VRS:
        (length,) = _U32.unpack_from(buf, pos + 8)
        return (group << 16) | element, vr.decode("ascii"), length, pos + 12
    return (group << 16) | element, vr.decode("ascii", "replace"), length, pos + 8


def sop_uids(buf: bytes | memoryview, implicit: bool) -> tuple[str, str] | None:
    """SOP Class UID (0008,0016) and SOP Instance UID (0008,0018) read from ``buf``, the
    first bytes of a little endian native data set (no File Meta Information), or None
    when they are not both there before (0008,0019) or the walk meets anything
    unusual first (a value of undefined length, the end of ``buf``): the caller then
    parses the data set whole. The deferred index's receiver checks a C-STORE's UIDs
    against its request this way without parsing the rest."""
    found: dict[int, str] = {}
    pos, end = 0, len(buf)
    try:
        while pos + 8 <= end:
            tag, _vr, length, start = _header(bytes(buf[pos : pos + 12]), 0, implicit)
            start += pos
            if tag > 0x00080018 or length == _UNDEFINED or start + length > end:
                break
            if tag in (0x00080016, 0x00080018):
                found[tag] = bytes(buf[start : start + length]).decode("ascii", "replace")
            pos = start + length
    except (_Unusual, struct.error):
        return None
    if len(found) != 2:
        return None
    return found[0x00080016].rstrip("\0 "), found[0x00080018].rstrip("\0 ")


def _skip_items(buf: bytes, pos: int, implicit: bool, depth: int) -> int:
    """Past the items of a sequence of undefined length and its delimiter."""
    if depth > MAX_DEPTH:
        raise _Unusual
    end = len(buf)
    while True:
        if pos + 8 > end:
            raise _Unusual
        group, element, length = _TAG_LENGTH.unpack_from(buf, pos)
        pos += 8
        if group != 0xFFFE:
            raise _Unusual
        if element == 0xE0DD:  # Sequence Delimitation Item
            return pos
        if element != 0xE000:
            raise _Unusual
        if length == _UNDEFINED:
            pos = _skip_item(buf, pos, implicit, depth + 1)
        else:
            pos += length
            if pos > end:
                raise _Unusual


def _skip_item(buf: bytes, pos: int, implicit: bool, depth: int) -> int:
    """Past the elements of an item of undefined length and its delimiter."""
    end = len(buf)
    while True:
        if pos + 8 > end:
            raise _Unusual
        group, element = struct.unpack_from("<HH", buf, pos)
        if group == 0xFFFE:
            if element != 0xE00D:  # Item Delimitation Item
                raise _Unusual
            return pos + 8
        _tag, vr, length, pos = _header(buf, pos, implicit)
        if length == _UNDEFINED:
            pos = _skip_items(buf, pos, implicit or vr == "UN", depth + 1)
        else:
            pos += length
            if pos > end:
                raise _Unusual


def _meta(data: bytes) -> tuple[dict[int, Any], int]:
    """The File Meta Information elements (group 0002, explicit VR little endian) and
    where the data set starts."""
    elements: dict[int, Any] = {}
    pos, end = 132, len(data)
    while pos + 8 <= end and data[pos : pos + 2] == b"\x02\x00":
        tag, vr, length, at = _header(data, pos, False)
        if length == _UNDEFINED or at + length > end:
            raise _Unusual
        value = data[at : at + length]
        elements[tag] = RawDataElement(BaseTag(tag), vr, length, value, at, False, True)
        pos = at + length
    return elements, pos


def _text(elements: dict[int, Any], tag: int) -> str:
    elem = elements.get(tag)
    if elem is None or elem.value is None:
        return ""
    return bytes(elem.value).decode("ascii", "replace").strip(" \x00")


def scan(
    data: bytes, size: int | None = None, tail: Callable[[int], bytes | None] | None = None
) -> ScannedHeader | None:
    """The indexed attributes of a Part 10 image, or None (see the module docstring).

    Parameters
    ----------
    data : bytes
        The file's bytes, or its first bytes (then ``size`` is the file's size and
        ``tail(offset)`` returns its bytes from ``offset`` to the end, or None when it
        will not read them).

    Raises
    ------
    SrkitError
        Pixel Data cut short (``FILE_TRUNCATED``).
    """
    size = len(data) if size is None else size
    if len(data) < 132 or data[128:132] != b"DICM":
        return None
    try:
        meta, pos = _meta(data)
        syntax = _text(meta, 0x00020010)
        if syntax not in (IMPLICIT_LE, EXPLICIT_LE):
            return None
        media_class = _text(meta, 0x00020002)
        if media_class == MEDIA_STORAGE_DIRECTORY or is_sr_sop_class(media_class):
            return None
        elements = _walk(data, pos, size, syntax == IMPLICIT_LE, tail)
    except (_Unusual, struct.error, RecursionError):
        return None
    if elements is None or is_sr_sop_class(_text(elements, 0x00080016)):
        return None
    if _text(elements, 0x00080005) not in _CHARSETS:
        return None
    for elem in elements.values():
        if elem.VR is not None and elem.VR not in _DECODED_VRS:
            return None
    return ScannedHeader(elements, ScannedHeader(meta))


def _walk(
    data: bytes,
    pos: int,
    size: int,
    implicit: bool,
    tail: Callable[[int], bytes | None] | None,
) -> dict[int, Any] | None:
    """The wanted top-level elements from ``pos`` to the end of the file (``size``
    bytes, of which ``data`` holds the first)."""
    elements: dict[int, Any] = {}
    buf, base = data, 0  # buf holds the file's bytes from offset ``base``
    while base + len(buf) < size or pos < base + len(buf):
        if pos >= base + len(buf):  # past the bytes in hand: the rest of the file
            rest = tail(pos) if tail is not None else None
            if rest is None or pos + len(rest) != size:
                return None
            buf, base = rest, pos
        at = pos - base
        if at + 12 > len(buf) and base + len(buf) < size:
            raise _Unusual  # an element header across the end of the bytes in hand
        tag, vr, length, value_at = _header(buf, at, implicit)
        if tag in _PIXEL_TAGS:
            if length == _UNDEFINED:
                return None  # encapsulated in a native transfer syntax
            if base + value_at + length > size:
                raise SrkitError(
                    "truncated file (Pixel Data cut short)", code=ReadCode.FILE_TRUNCATED
                )
            pos = base + value_at + length
            continue
        if length == _UNDEFINED:
            value_end = _skip_items(buf, value_at, implicit or vr == "UN", 1)
        else:
            value_end = value_at + length
            if value_end > len(buf):
                if base + value_end > size:
                    raise _Unusual  # cut short: the whole parse reports it
                if tag in _WANTED:
                    raise _Unusual
        if tag in _WANTED:
            value = buf[value_at:value_end]
            elements[tag] = RawDataElement(
                BaseTag(tag), vr, length, value, base + value_at, implicit, True
            )
        pos = base + value_end
    return elements if pos == size else None
