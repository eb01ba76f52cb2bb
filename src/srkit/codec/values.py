"""Fast, tolerant access to element values of a pydicom Dataset.

pydicom converts an element on first access (about 30 microseconds each, the
largest cost of reading SR content). Most SR leaf values are short strings or
small binary arrays whose VR srkit already knows, so this module decodes the raw
bytes itself and falls back to pydicom's conversion only where that is needed
(an unexpected VR, a character set with code extensions, an element pydicom
already converted). Nested sequences are still parsed by pydicom.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from srkit.codec.light import is_raw

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["ValueReader", "charset_value", "elements", "python_encoding"]

_SIMPLE_ENCODINGS = {
    "": "latin_1",  # default repertoire; latin_1 never fails on bytes
    "ISO_IR 6": "latin_1",
    "ISO_IR 100": "latin_1",
    "ISO_IR 101": "iso8859_2",
    "ISO_IR 109": "iso8859_3",
    "ISO_IR 110": "iso8859_4",
    "ISO_IR 144": "iso8859_5",
    "ISO_IR 127": "iso8859_6",
    "ISO_IR 126": "iso8859_7",
    "ISO_IR 138": "iso8859_8",
    "ISO_IR 148": "iso8859_9",
    "ISO_IR 203": "iso8859_15",
    "ISO_IR 166": "tis_620",
    "ISO_IR 192": "utf_8",
    "GB18030": "gb18030",
    "GBK": "gbk",
}

# VRs whose bytes are ASCII whatever the character set
_ASCII_VRS = frozenset({"CS", "UI", "DS", "IS", "DA", "TM", "DT", "AS", "AE"})
_TEXT_VRS = frozenset({"SH", "LO", "ST", "LT", "UT", "PN", "UC"})
_STRUCT = {"FL": "f", "FD": "d", "UL": "I", "US": "H", "SL": "i", "SS": "h"}


def elements(ds: Any) -> dict[int, Any]:
    """The element mapping of a pydicom or light dataset, tag -> element (no conversion)."""
    mapping: dict[int, Any] = ds._dict
    return mapping


def charset_value(ds: Any) -> str | list[str] | None:
    """The value of Specific Character Set (0008,0005) of ``ds``, as pydicom gives it
    (trailing spaces trimmed; several values as a list); ``None`` if absent.

    A raw element is decoded here (no pydicom); a converted one is pydicom's value.
    """
    elem = elements(ds).get(0x00080005)
    if elem is None:
        return None
    if is_raw(elem) and elem.VR in (None, "CS"):
        text = (elem.value or b"").decode("latin_1").rstrip("\x00 ")
        return text.split("\\") if "\\" in text else text
    value = ds[0x00080005].value
    if value is None or isinstance(value, str):
        return value
    return [str(v) for v in value]


def python_encoding(specific_character_set: str | list[str] | None) -> str | None:
    """The Python codec for a single-valued character set, or ``None`` when
    the set needs pydicom's ISO 2022 handling (code extensions)."""
    if specific_character_set is None:
        return "latin_1"
    if isinstance(specific_character_set, str):
        return _SIMPLE_ENCODINGS.get(specific_character_set.strip())
    values = [v.strip() for v in specific_character_set]
    if len(values) == 1:
        return _SIMPLE_ENCODINGS.get(values[0])
    return None


class ValueReader:
    """Reads values of known VR from datasets sharing one character set.

    Parameters
    ----------
    encoding : str or None
        Python codec for text, or ``None`` to let pydicom decode text.
    """

    __slots__ = ("declared", "encoding", "undeclared_8bit", "wrong_vr")

    def __init__(self, encoding: str | None, *, declared: bool = True) -> None:
        self.encoding = encoding
        self.declared = declared
        self.undeclared_8bit = False
        """True once a text value used 8-bit bytes although no character set was declared."""
        self.wrong_vr: list[tuple[int, str, str]] = []
        """(tag, expected VR, found VR) for every element read with a VR it should not have."""

    def _converted(self, ds: Dataset, tag: int) -> Any:
        return ds[tag].value

    def string(self, ds: Any, tag: int, vr: str) -> str | None:
        """A single string value (the first if several), trimmed; ``None`` if absent."""
        # the reader's most called function: the helpers elements() and is_raw() inlined
        mapping: dict[int, Any] = ds._dict
        elem = mapping.get(tag)
        if elem is None:
            return None
        still_raw = isinstance(elem, tuple)
        if still_raw and (elem.VR is None or vr == elem.VR):
            raw: bytes = elem.value
            if not raw:
                return ""
            if vr in _ASCII_VRS:
                text = raw.decode("latin_1")
            elif self.encoding is not None:
                if not self.declared and not raw.isascii():
                    self.undeclared_8bit = True
                text = raw.decode(self.encoding, errors="replace")
            else:
                return self._fallback_string(ds, tag)
            if vr in ("UT", "LT", "ST"):
                return text.rstrip(" \x00")
            if vr == "UI":
                return text.rstrip("\x00 ").strip()
            first = text.split("\\", 1)[0] if vr != "PN" else text
            return first.strip(" \x00")
        if still_raw and elem.VR is not None:
            self.wrong_vr.append((tag, vr, elem.VR))
        return self._fallback_string(ds, tag)

    def _fallback_string(self, ds: Dataset, tag: int) -> str | None:
        from pydicom.multival import MultiValue
        from pydicom.valuerep import PersonName

        value = self._converted(ds, tag)
        if value is None:
            return ""
        if isinstance(value, MultiValue | list | tuple):
            if ds[tag].VR == "PN":
                return "\\".join(str(v) for v in value)
            value = value[0] if len(value) else ""
        if isinstance(value, bytes):
            value = value.decode(self.encoding or "latin_1", errors="replace")
        if isinstance(value, PersonName):
            return str(value)
        text = str(value)
        elem = ds[tag]
        if elem.VR in ("UT", "LT", "ST"):
            return text.rstrip(" \x00")
        if elem.VR in ("DS", "IS"):
            text = getattr(value, "original_string", None) or text
        return text.strip()

    def strings(self, ds: Dataset, tag: int, vr: str) -> tuple[str, ...] | None:
        """All values of a multi-valued string element; ``None`` if absent."""
        elem = elements(ds).get(tag)
        if elem is None:
            return None
        if is_raw(elem) and (elem.VR is None or vr == elem.VR) and vr in _ASCII_VRS:
            raw = elem.value
            if not raw:
                return ()
            return tuple(v.strip(" \x00") for v in raw.decode("latin_1").split("\\"))
        from pydicom.multival import MultiValue

        value = self._converted(ds, tag)
        if value is None or value == "":
            return ()
        if isinstance(value, MultiValue | list | tuple):
            return tuple(str(v).strip() for v in value)
        return (str(value).strip(),)

    def numbers(self, ds: Dataset, tag: int, vr: str) -> tuple[float, ...] | tuple[int, ...] | None:
        """All values of a binary numeric element (FL, FD, UL, US, ...); ``None`` if absent.

        An element stored with a string VR (DS, IS) instead is converted and noted
        in :attr:`wrong_vr`.
        """
        elem = elements(ds).get(tag)
        if elem is None:
            return None
        if is_raw(elem) and (elem.VR is None or vr == elem.VR):
            raw = elem.value
            if not raw:
                return ()
            fmt = _STRUCT[vr]
            size = struct.calcsize(fmt)
            count = len(raw) // size
            order = "<" if elem.is_little_endian else ">"
            return struct.unpack(f"{order}{count}{fmt}", raw[: count * size])
        if is_raw(elem) and elem.VR is not None:
            self.wrong_vr.append((tag, vr, elem.VR))
        value = self._converted(ds, tag)
        if value is None or value == "" or value == b"":
            return ()
        if isinstance(value, bytes):
            fmt = _STRUCT[vr]
            size = struct.calcsize(fmt)
            return struct.unpack(f"<{len(value) // size}{fmt}", value[: len(value) // size * size])
        from pydicom.multival import MultiValue

        seq = value if isinstance(value, MultiValue | list | tuple) else [value]
        conv = float if vr in ("FL", "FD") else int
        return tuple(conv(v) for v in seq)
