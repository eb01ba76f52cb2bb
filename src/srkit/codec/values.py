"""Fast, tolerant access to element values of a pydicom Dataset.

pydicom converts an element on first access (about 30 microseconds each, the
largest cost of reading SR content). Most SR leaf values are short strings or
small binary arrays whose VR srkit already knows, so this module decodes the raw
bytes itself and falls back to pydicom's conversion only where that is needed
(an unexpected VR, a character set with code extensions, an element pydicom
already converted). Nested sequences are still parsed by pydicom.

The reader is :class:`srkit.codec._tree.ValueReader` (compiled with the tree builder
where built; this name is its pure-Python class); the character set helpers are
:mod:`srkit.codec._charset`'s.
"""

from __future__ import annotations

from srkit.codec._charset import charset_value, elements, python_encoding
from srkit.codec._tree import ValueReader

__all__ = ["ValueReader", "charset_value", "elements", "python_encoding"]
