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

The walk itself is :func:`srkit.codec.fastparse.skim`, part of the reader's core: the
compiled one where it is built (about a tenth of the pure-Python walk's time on a CT
image), else the pure-Python one, the same source.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydicom.datadict import keyword_dict
from pydicom.dataelem import RawDataElement
from pydicom.tag import BaseTag

from srkit.codec import fastparse
from srkit.codec.diagnostic_codes import ReadCode
from srkit.codec.fastparse import FastParseError, PixelDataCutShort, element_header
from srkit.db.attributes import ATTRIBUTES
from srkit.errors import SrkitError
from srkit.model.sopclass import MEDIA_STORAGE_DIRECTORY, is_sr_sop_class

__all__ = ["ScannedHeader", "scan", "sop_uids"]

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
_UNDEFINED = 0xFFFFFFFF
_WANTED = frozenset(
    keyword_dict[a.keyword] for a in ATTRIBUTES.values() if a.keyword in keyword_dict
) | {0x00080005, 0x00080016, 0x00080018}
_DECODED_VRS = frozenset(
    {"UI", "DA", "TM", "DT", "CS", "IS", "DS", "AS", "AE", "LO", "SH", "PN", "LT", "ST", "US"}
)
"""The VRs :func:`srkit.db.ingest.record_from_dataset` decodes from raw bytes itself."""
_CHARSETS = frozenset({"", "ISO_IR 6", "ISO_IR 100", "ISO_IR 192"})


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
            tag, _vr, length, start = element_header(bytes(buf[pos : pos + 12]), 0, implicit)
            start += pos
            if tag > 0x00080018 or length == _UNDEFINED or start + length > end:
                break
            if tag in (0x00080016, 0x00080018):
                found[tag] = bytes(buf[start : start + length]).decode("ascii", "replace")
            pos = start + length
    except FastParseError:
        return None
    if len(found) != 2:
        return None
    return found[0x00080016].rstrip("\0 "), found[0x00080018].rstrip("\0 ")


def _meta(data: bytes) -> tuple[dict[int, Any], int]:
    """The File Meta Information elements (group 0002, explicit VR little endian) and
    where the data set starts."""
    elements: dict[int, Any] = {}
    pos, end = 132, len(data)
    while pos + 8 <= end and data[pos : pos + 2] == b"\x02\x00":
        tag, vr, length, at = element_header(data, pos, False)
        if length == _UNDEFINED or at + length > end:
            raise FastParseError("bad File Meta Information")
        value = data[at : at + length]
        elements[tag] = RawDataElement(BaseTag(tag), vr, length, value, at, False, True)
        pos = at + length
    return elements, pos


def _text(elements: dict[int, Any], tag: int) -> str:
    elem = elements.get(tag)
    if elem is None or elem.value is None:
        return ""
    return bytes(elem.value).decode("ascii", "replace").strip(" \x00")


def _maker(implicit: bool) -> Callable[[int, str | None, int, bytes, int], Any]:
    """How :func:`srkit.codec.fastparse.skim` makes an element: a pydicom
    ``RawDataElement``, what :func:`srkit.db.ingest.record_from_dataset` reads."""

    def make(tag: int, vr: str | None, length: int, value: bytes, offset: int) -> Any:
        return RawDataElement(BaseTag(tag), vr, length, value, offset, implicit, True)

    return make


_MAKERS = {True: _maker(True), False: _maker(False)}


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
        implicit = syntax == IMPLICIT_LE
        elements = fastparse.skim(data, pos, size, implicit, tail, _WANTED, _MAKERS[implicit])
    except PixelDataCutShort:
        raise SrkitError(
            "truncated file (Pixel Data cut short)", code=ReadCode.FILE_TRUNCATED
        ) from None
    except FastParseError:
        return None
    if is_sr_sop_class(_text(elements, 0x00080016)):
        return None
    if _text(elements, 0x00080005) not in _CHARSETS:
        return None
    for elem in elements.values():
        if elem.VR is not None and elem.VR not in _DECODED_VRS:
            return None
    return ScannedHeader(elements, ScannedHeader(meta))
