"""The character set of an answer (PS3.5 Section 6.1, PS3.18 Annex F.2): whether
values taken from the index need Specific Character Set ``ISO_IR 192`` (UTF-8),
for C-FIND responses and DICOM JSON alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["needs_utf8"]


def needs_utf8(value: Any) -> bool:
    """Whether a row value (text, list of texts, or sequence items) needs UTF-8."""
    if isinstance(value, str):
        return not value.isascii()
    if isinstance(value, (list, tuple)):
        return any(needs_utf8(v) for v in value)
    if isinstance(value, Mapping):
        return any(needs_utf8(v) for v in value.values())
    return False
