"""Character sets and element mappings: what the value reader needs before any value
(PS3.3 C.12.1.1.2 Specific Character Set, PS3.5 6.1).

Kept apart from :mod:`srkit.codec.values` (which re-exports them) so that the tree
builder (:mod:`srkit.codec._tree`) imports them without a cycle.
"""

from __future__ import annotations

from typing import Any

from srkit.codec.light import is_raw

__all__ = ["charset_value", "elements", "python_encoding"]

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
