"""DIMSE command sets (PS3.7 Section 6.3 and Annex E), encoded and decoded directly.

A command set is a short data set of group 0000 elements, always in Implicit VR Little
Endian (PS3.7 Section 6.3.1), preceded by its Command Group Length (0000,0000). The
listener decodes and encodes one per message; doing it here with :mod:`struct` takes a
few microseconds where a pydicom round trip takes a few hundred.

Commands are plain dicts from the element number (the tag's low 16 bits) to a Python
value: ``int`` for US/UL, ``str`` for UI/AE/LO/CS (padding removed), ``list[int]`` of
tags for AT, ``bytes`` for anything else.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from srkit.errors import SrkitError

__all__ = [
    "ABSENT",
    "CommandError",
    "Field",
    "decode_command",
    "encode_command",
]

ABSENT = 0x0101
"""Command Data Set Type (0000,0800) for "no data set" (PS3.7 Section E.1)."""


class Field:
    """Command Field (0000,0100) values (PS3.7 Section E.1, Table E.1-1)."""

    C_STORE_RQ = 0x0001
    C_STORE_RSP = 0x8001
    C_GET_RQ = 0x0010
    C_GET_RSP = 0x8010
    C_FIND_RQ = 0x0020
    C_FIND_RSP = 0x8020
    C_MOVE_RQ = 0x0021
    C_MOVE_RSP = 0x8021
    C_ECHO_RQ = 0x0030
    C_ECHO_RSP = 0x8030
    C_CANCEL_RQ = 0x0FFF


class CommandError(SrkitError):
    """A command set that cannot be decoded."""


# Element number -> VR of the command elements (PS3.7 Table E.1-1, E.2-1 retired ones
# are decoded as bytes).
_US = frozenset(
    {0x0100, 0x0110, 0x0120, 0x0700, 0x0800, 0x0900, 0x1020, 0x1021, 0x1022, 0x1023, 0x1031}
)
_UL = frozenset({0x0000})
_TEXT = {
    0x0002: "UI",
    0x0003: "UI",
    0x1000: "UI",
    0x1001: "UI",
    0x0600: "AE",
    0x1030: "AE",
    0x0902: "LO",
}
_AT = frozenset({0x0901, 0x1005})
_HEAD = struct.Struct("<HHI")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


def decode_command(data: bytes | bytearray | memoryview) -> dict[int, Any]:
    """The elements of an encoded command set (see the module docstring).

    Raises
    ------
    CommandError
        An element outside group 0000, or a length that runs past the end.
    """
    view = memoryview(data)
    end = len(view)
    pos = 0
    out: dict[int, Any] = {}
    while pos < end:
        if pos + 8 > end:
            raise CommandError("command set cut short")
        group, element, length = _HEAD.unpack_from(view, pos)
        pos += 8
        if group != 0 or pos + length > end:
            raise CommandError(f"bad command element ({group:04X},{element:04X})")
        value = view[pos : pos + length]
        pos += length
        if element in _US and length == 2:
            out[element] = _U16.unpack(value)[0]
        elif element in _UL and length == 4:
            out[element] = _U32.unpack(value)[0]
        elif element in _TEXT:
            out[element] = bytes(value).decode("ascii", "replace").rstrip("\x00 ").strip()
        elif element in _AT:
            if length % 4:
                raise CommandError(f"(0000,{element:04X}) AT value of {length} bytes")
            words = struct.unpack(f"<{length // 2}H", value)
            out[element] = [(words[k] << 16) | words[k + 1] for k in range(0, len(words), 2)]
        else:
            out[element] = bytes(value)
    return out


def _element(element: int, value: Any) -> bytes:
    if element in _US:
        data = _U16.pack(value)
    elif element in _TEXT:
        raw = str(value).encode("ascii", "replace")
        if len(raw) % 2:
            raw += b"\x00" if _TEXT[element] == "UI" else b" "
        data = raw
    elif element in _AT:
        data = b"".join(struct.pack("<HH", tag >> 16, tag & 0xFFFF) for tag in value)
    elif element in _UL:
        data = _U32.pack(value)
    else:
        data = bytes(value)
    return _HEAD.pack(0, element, len(data)) + data


def encode_command(fields: Mapping[int, Any]) -> bytes:
    """A command set with its group length, elements in ascending order; ``None``
    values are left out."""
    body = b"".join(
        _element(element, fields[element])
        for element in sorted(fields)
        if element != 0 and fields[element] is not None
    )
    return _HEAD.pack(0, 0, 4) + _U32.pack(len(body)) + body
