"""C-FIND response identifiers built from raw data elements (PS3.4 Section C.4.1.1.3.2).

The listener answers every match with one identifier. Building each one as pydicom
``DataElement`` objects (value checks, character set lookups) and having pynetdicom
encode them back to bytes cost about half of the listener's CPU per match. Here each
value is encoded once, directly in the transfer syntax of the presentation context
(PS3.5 Section 7.1: tag, VR for explicit VR, length, value padded to even length,
PS3.5 Section 6.2), into a :class:`~pydicom.dataelem.RawDataElement`; the dataset's
original encoding is set to that transfer syntax
(:meth:`~pydicom.dataset.Dataset.set_original_encoding`, pydicom's documented way to
"enable optimized writing"), so pynetdicom's encoder copies the values as they are.
Only value representations with a simple encoding take this path; anything else
(sequences, floats, tags, binary) is added as a normal element, as before.

:meth:`ResponseBuilder.encode` goes one step further and returns the encoded data set
itself (PS3.5 Section 7.5 for sequences: defined lengths, as pydicom writes them),
without any pydicom object for text, integers and sequences of such items.

Rows carry sequences as lists of item dicts (keyword -> value), as
:meth:`srkit.db.Database.query` returns ``ConceptNameCodeSequence`` and
``ContentTemplateSequence`` (PS3.4 Section C.2.2.2.6); a sequence missing from the
row, None or ``[]`` is returned as an empty sequence.
"""

from __future__ import annotations

import struct
from bisect import bisect
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from srkit.net.charset import needs_utf8

if TYPE_CHECKING:
    from pydicom import Dataset

__all__ = ["ResponseBuilder"]

TEXT_VRS = frozenset(
    [
        "AE",
        "AS",
        "CS",
        "DA",
        "DS",
        "DT",
        "IS",
        "LO",
        "LT",
        "PN",
        "SH",
        "ST",
        "TM",
        "UC",
        "UI",
        "UR",
        "UT",
    ]
)
"""Character string VRs (PS3.5 Table 6.2-1); UI is padded with NUL, the rest with space."""
INT_VRS = {"US": (struct.Struct("<H"), 0, 0xFFFF), "UL": (struct.Struct("<I"), 0, 0xFFFFFFFF)}
"""Binary integer VRs (little endian) with their ranges."""
SPECIFIC_CHARACTER_SET = 0x00080005
QUERY_RETRIEVE_LEVEL = 0x00080052
UTF8 = b"ISO_IR 192"
"""Specific Character Set for UTF-8 (PS3.3 Section C.12.1.1.2), as the old path set."""
LONG_VRS = frozenset(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"])
"""Explicit VRs with a 4-byte length after 2 reserved bytes (PS3.5 Table 7.1-1)."""
ITEM = struct.pack("<HH", 0xFFFE, 0xE000)
"""Item tag (PS3.5 Section 7.5)."""
U32 = struct.Struct("<I")
U16 = struct.Struct("<H")


def _pad(data: bytes, vr: str) -> bytes:
    if len(data) % 2:
        return data + (b"\0" if vr == "UI" else b" ")
    return data


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "\\".join(str(v) for v in value)
    return str(value)


@cache
def _item_spec(keyword: str) -> tuple[int, str]:
    """Tag and VR of an item attribute by keyword (first VR of ``US or SS``)."""
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(keyword)
    return int(tag), str(dictionary_VR(tag)).split(" or ")[0]


class ResponseBuilder:
    """Pending C-FIND identifiers for one request: ``build(row)`` or ``encode(row)``
    per match.

    Parameters
    ----------
    level : str
        The Query/Retrieve Level to return.
    specs : sequence of (keyword, tag, VR)
        The return keys, from the request identifier.
    transfer_syntax : pydicom UID or None
        The presentation context's transfer syntax; big endian (retired) or unknown
        falls back to plain elements.
    """

    def __init__(
        self, level: str, specs: Sequence[tuple[str, int, str]], transfer_syntax: Any
    ) -> None:
        from pydicom.charset import convert_encodings, default_encoding
        from pydicom.tag import BaseTag

        self.specs = [(kw, BaseTag(tag), vr) for kw, tag, vr in specs]
        self.level = level
        self.implicit = bool(getattr(transfer_syntax, "is_implicit_VR", True))
        self.raw = bool(getattr(transfer_syntax, "is_little_endian", False))
        self.charsets = (default_encoding, convert_encodings(UTF8.decode()))
        self.level_tag = BaseTag(QUERY_RETRIEVE_LEVEL)
        self.charset_tag = BaseTag(SPECIFIC_CHARACTER_SET)
        self._raw_element = _raw_element_class()
        self._prepare_encoding()

    # -- pydicom data sets --------------------------------------------------------

    def _element(self, tag: Any, vr: str, data: bytes) -> Any:
        return self._raw_element(tag, vr, len(data), data, 0, self.implicit, True)

    def build(self, row: Mapping[str, Any]) -> Dataset:
        """The identifier for one matching row (keyword -> value; missing: empty)."""
        from pydicom import Dataset

        if not self.raw:
            return self._plain(Dataset(), row)
        utf8 = False
        elements: dict[Any, Any] = {
            self.level_tag: self._element(self.level_tag, "CS", _pad(self.level.encode(), "CS"))
        }
        plain: list[tuple[Any, str, Any]] = []
        for keyword, tag, vr in self.specs:
            value = row.get(keyword)
            if vr == "SQ":
                utf8 = utf8 or needs_utf8(value)
                plain.append((tag, vr, value))
            elif value is None or value == "":
                elements[tag] = self._element(tag, vr, b"")
            elif vr in TEXT_VRS:
                text = _text(value)
                if not text.isascii():
                    utf8 = True
                elements[tag] = self._element(tag, vr, _pad(text.encode("utf-8"), vr))
            elif vr in INT_VRS and isinstance(value, int):
                packer, low, high = INT_VRS[vr]
                data = packer.pack(value) if low <= value <= high else b""
                elements[tag] = self._element(tag, vr, data)
            else:
                plain.append((tag, vr, value))
        if utf8:
            elements[self.charset_tag] = self._element(self.charset_tag, "CS", UTF8)
        ds = Dataset(elements)  # a dict of tag -> element (pydicom's documented form)
        for tag, vr, value in plain:
            _add(ds, tag, vr, value)
        ds.set_original_encoding(self.implicit, True, self.charsets[utf8])
        return ds

    def _plain(self, ds: Dataset, row: Mapping[str, Any]) -> Dataset:
        """pydicom elements throughout (the encoder converts them)."""
        if any(needs_utf8(row.get(keyword)) for keyword, _tag, _vr in self.specs):
            ds.SpecificCharacterSet = UTF8.decode()
        ds.QueryRetrieveLevel = self.level
        for keyword, tag, vr in self.specs:
            value = row.get(keyword)
            _add(ds, tag, vr, None if value == "" else value)
        return ds

    # -- bytes --------------------------------------------------------------------

    def _header(self, tag: int, vr: str) -> tuple[bytes, struct.Struct]:
        """The bytes before an element's length, and the length's format (PS3.5 7.1)."""
        head = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
        if self.implicit:
            return head, U32
        if vr in LONG_VRS:
            return head + vr.encode() + b"\0\0", U32
        return head + vr.encode(), U16

    def _prepare_encoding(self) -> None:
        """Element headers in ascending tag order, computed once per request."""
        entries = [(int(tag), kw, vr) for kw, tag, vr in self.specs]
        entries = [e for e in entries if e[0] not in (QUERY_RETRIEVE_LEVEL, SPECIFIC_CHARACTER_SET)]
        level = _pad(self.level.encode(), "CS")
        head, length = self._header(QUERY_RETRIEVE_LEVEL, "CS")
        self._level_bytes = head + length.pack(len(level)) + level
        head, length = self._header(SPECIFIC_CHARACTER_SET, "CS")
        self._charset_bytes = head + length.pack(len(UTF8)) + UTF8
        entries.sort()
        tags = [e[0] for e in entries]
        self._level_at = bisect(tags, QUERY_RETRIEVE_LEVEL)
        self._charset_at = bisect(tags, SPECIFIC_CHARACTER_SET)
        self._encoders = [(kw, tag, vr, *self._header(tag, vr)) for tag, kw, vr in entries]

    def encode(self, row: Mapping[str, Any]) -> bytes:
        """The identifier for one row as an encoded data set (PS3.5 Section 7): the
        same bytes as ``build(row)`` written by pydicom in the builder's transfer
        syntax, without preamble or File Meta Information; elements in ascending tag
        order, sequences and items with defined lengths."""
        if not self.raw:
            return _pydicom_bytes(self.build(row), self.implicit, False)
        parts: list[bytes] = []
        utf8 = False
        for keyword, tag, vr, head, length in self._encoders:
            data, wide = self._value(tag, vr, row.get(keyword))
            utf8 = utf8 or wide
            if data is None:  # an element pydicom had to encode, header included
                parts.append(self._fallback(tag, vr, row.get(keyword)))
            else:
                parts.append(head + length.pack(len(data)) + data)
        parts.insert(self._level_at, self._level_bytes)
        if utf8:
            parts.insert(self._charset_at, self._charset_bytes)
        return b"".join(parts)

    def _value(self, tag: int, vr: str, value: Any) -> tuple[bytes | None, bool]:
        """An element's value bytes and whether they need UTF-8; None for values left
        to pydicom."""
        if vr == "SQ":
            return self._sequence(value)
        if value is None or value == "":
            return b"", False
        if vr in TEXT_VRS:
            text = _text(value)
            return _pad(text.encode("utf-8"), vr), not text.isascii()
        if vr in INT_VRS and isinstance(value, int):
            packer, low, high = INT_VRS[vr]
            return (packer.pack(value) if low <= value <= high else b""), False
        return None, False

    def _sequence(self, value: Any) -> tuple[bytes, bool]:
        """Items of a sequence value (list of keyword -> value dicts), each with a
        defined length (PS3.5 Section 7.5.1)."""
        if not value or not isinstance(value, (list, tuple)):
            return b"", False
        out: list[bytes] = []
        utf8 = False
        for item in value:
            pairs = item.items() if isinstance(item, Mapping) else ()
            fields = sorted((*_item_spec(k), v) for k, v in pairs)
            body: list[bytes] = []
            for tag, vr, sub in fields:
                data, wide = self._value(tag, vr, sub)
                utf8 = utf8 or wide
                if data is None:
                    body.append(self._fallback(tag, vr, sub))
                else:
                    head, length = self._header(tag, vr)
                    body.append(head + length.pack(len(data)) + data)
            content = b"".join(body)
            out.append(ITEM + U32.pack(len(content)) + content)
        return b"".join(out), utf8

    def _fallback(self, tag: int, vr: str, value: Any) -> bytes:
        """One element encoded by pydicom (floats, DS, binary VRs, bad values)."""
        from pydicom import Dataset

        ds = Dataset()
        _add(ds, tag, vr, value)
        return _pydicom_bytes(ds, self.implicit, True)


def _pydicom_bytes(ds: Dataset, implicit: bool, little: bool) -> bytes:
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    fp = DicomBytesIO()
    fp.is_implicit_VR = implicit
    fp.is_little_endian = little
    write_dataset(fp, ds)
    return fp.getvalue()


def _raw_element_class() -> Any:
    from pydicom.dataelem import RawDataElement

    return RawDataElement


def _add(ds: Dataset, tag: Any, vr: str, value: Any) -> None:
    """A normal element; an empty one when pydicom refuses the value. A sequence
    value is a list of item dicts (keyword -> value); anything else gives an empty
    sequence."""
    if vr == "SQ":
        value = _items(value)
    try:
        ds.add_new(tag, vr, value)
    except (ValueError, TypeError, OverflowError):
        ds.add_new(tag, vr, None)


def _items(value: Any) -> list[Dataset]:
    """pydicom items from a list of keyword -> value dicts."""
    from pydicom import Dataset

    if not isinstance(value, (list, tuple)):
        return []
    items = []
    for fields in value:
        item = Dataset()
        if isinstance(fields, Mapping):
            for keyword, sub in fields.items():
                tag, vr = _item_spec(keyword)
                _add(item, tag, vr, None if sub == "" else sub)
        items.append(item)
    return items
