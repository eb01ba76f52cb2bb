"""Query/Retrieve identifiers (PS3.4 Sections C.2.2.1, C.4.1-C.4.3): the levels and
their unique keys, identifiers decoded and encoded in a transfer syntax (PS3.5
Section 10), and C-FIND identifiers as database filters.

:func:`find_filters` splits an identifier into its Query/Retrieve Level, its matching
keys and its return keys, in the form :meth:`srkit.db.Database.query` takes.
Sequence keys (PS3.4 Section C.2.2.2.6 Sequence Matching) become their query item
as a dict of item keyword -> match string; SR instance sequences
(``ConceptNameCodeSequence``, ``ContentTemplateSequence``, PS3.4 Table C.6-5) are
matched at IMAGE level, any other sequence matches universally and is returned empty.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from srkit.errors import SrkitError
from srkit.model.levels import LEVELS, UNIQUE_KEYS

if TYPE_CHECKING:
    from pydicom import Dataset

__all__ = [
    "LEVELS",
    "SKIP_KEYS",
    "UNIQUE_KEYS",
    "decode_identifier",
    "encode_identifier",
    "find_filters",
    "value_text",
]

# Query/Retrieve Levels and their unique keys (PS3.4 Section C.6): the model's vocabulary
SKIP_KEYS = frozenset(["QueryRetrieveLevel", "SpecificCharacterSet", "TimezoneOffsetFromUTC"])
"""Identifier attributes that are neither matched nor returned as keys."""


def value_text(elem: Any) -> str:
    """An element's value as a DICOM string (multiple values joined by ``\\``)."""
    value = elem.value
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def _query_item(elem: Any) -> dict[str, str]:
    """The single query item of a sequence key as item keyword -> match string.

    No item or an empty item gives ``{}`` (universal matching, every item key
    returned). Nested sequences and private attributes of the item are left out
    (universal matching; recursive sequence matching is not supported). Raises
    :class:`SrkitError` for more than one item: PS3.4 Section C.2.2.2.6 says the key
    "shall be structured as a Sequence of Items with a single Item".
    """
    items = list(elem.value or [])
    if len(items) > 1:
        raise SrkitError(
            f"{elem.keyword} holds {len(items)} items; a sequence key holds a single item "
            "(PS3.4 C.2.2.2.6)"
        )
    item: dict[str, str] = {}
    for sub in items[0] if items else ():
        if sub.keyword and sub.VR != "SQ":
            item[sub.keyword] = value_text(sub).strip()
    return item


def find_filters(ident: Dataset) -> tuple[str, dict[str, Any], list[str]]:
    """Split a query identifier (PS3.4 Section C.2.2.1) into level, matching keys and
    return keys (every keyword asked for, in the identifier's order).

    Matching keys are the non-empty values as DICOM strings (``*`` left out, as
    universal), plus sequence keys as their query item (item keyword -> match string,
    see :mod:`srkit.db.query`): always for the SR instance sequences (the item's keys
    are the item keys to return), and for any other sequence only when its item
    holds a value (the caller reports it unsupported and matches it universally).

    Raises :class:`SrkitError` (0xA900, Identifier Does Not Match SOP Class) for a
    missing or unknown level, a sequence key with more than one item, or a
    non-empty SR instance key (PS3.4 Table C.6-5) at a level other than IMAGE.
    """
    from srkit.db.query import SEQUENCES, SR_FLAGS

    level = str(ident.get("QueryRetrieveLevel", "")).strip().upper()
    if level not in LEVELS:
        raise SrkitError(f"unknown Query/Retrieve Level {level!r}")
    filters: dict[str, Any] = {}
    fields: list[str] = []
    for elem in ident:
        keyword = elem.keyword
        if not keyword or keyword in SKIP_KEYS:
            continue
        fields.append(keyword)
        if elem.VR == "SQ":
            item = _query_item(elem)
            valued = any(v and v != "*" for v in item.values())
            if keyword in SEQUENCES or valued:
                filters[keyword] = item
            if keyword in SEQUENCES and valued and level != "IMAGE":
                raise SrkitError(f"{keyword} is an IMAGE level key, not {level}")
            continue
        text = value_text(elem).strip()
        if text and text != "*":
            if keyword in SR_FLAGS and level != "IMAGE":
                raise SrkitError(f"{keyword} is an IMAGE level key, not {level}")
            filters[keyword] = text
    return level, filters, fields


def decode_identifier(data: bytes, syntax: Any) -> Dataset:
    """An identifier received in ``syntax`` (PS3.5 Section 10)."""
    from pynetdicom.dsutils import decode

    return decode(
        io.BytesIO(data), syntax.is_implicit_VR, syntax.is_little_endian, syntax.is_deflated
    )


def encode_identifier(ds: Dataset, syntax: Any) -> bytes:
    """An identifier (or a response's data set) encoded in ``syntax``."""
    from pynetdicom.dsutils import encode

    data = encode(ds, syntax.is_implicit_VR, syntax.is_little_endian, syntax.is_deflated)
    if data is None:
        raise SrkitError("cannot encode the identifier")
    return data
