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
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

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


def _pad(data: bytes, vr: str) -> bytes:
    if len(data) % 2:
        return data + (b"\0" if vr == "UI" else b" ")
    return data


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "\\".join(str(v) for v in value)
    return str(value)


class ResponseBuilder:
    """Pending C-FIND identifiers for one request: ``build(row)`` per match.

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
            if value is None or value == "":
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
        ds.QueryRetrieveLevel = self.level
        for keyword, tag, vr in self.specs:
            value = row.get(keyword)
            _add(ds, tag, vr, None if value == "" else value)
        if any(isinstance(v, str) and not v.isascii() for v in row.values()):
            ds.SpecificCharacterSet = UTF8.decode()
        return ds


def _raw_element_class() -> Any:
    from pydicom.dataelem import RawDataElement

    return RawDataElement


def _add(ds: Dataset, tag: Any, vr: str, value: Any) -> None:
    """A normal element; an empty one when pydicom refuses the value (sequences are
    always returned empty: no sequence matching)."""
    if vr == "SQ":
        value = []
    try:
        ds.add_new(tag, vr, value)
    except (ValueError, TypeError, OverflowError):
        ds.add_new(tag, vr, None)
