"""Fast, tolerant access to element values of a pydicom Dataset.

pydicom converts an element on first access (about 30 microseconds each, the
largest cost of reading SR content). Most SR leaf values are short strings or
small binary arrays whose VR srkit already knows, so this module decodes the raw
bytes itself and falls back to pydicom's conversion only where that is needed
(an unexpected VR, a character set with code extensions, an element pydicom
already converted). Nested sequences are still parsed by pydicom.

The reader is :class:`srkit.codec._tree.ValueReader`, compiled with the tree builder
where built: :func:`value_reader` makes one of the implementation in use, and the name
``ValueReader`` here is the pure-Python class (imported when first asked for, so that
the compiled reader's users do not load the pure-Python builder). The character set
helpers are :mod:`srkit.codec._charset`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from srkit.codec._charset import charset_value, elements, python_encoding

if TYPE_CHECKING:
    from srkit.codec._tree import ValueReader

__all__ = ["ValueReader", "charset_value", "elements", "python_encoding", "value_reader"]


def value_reader(encoding: str | None) -> ValueReader:
    """A :class:`ValueReader` for ``encoding`` (a Python codec name) of the tree builder
    in use: the compiled one when the compiled parser is active."""
    import importlib

    from srkit.codec import fastparse

    module = importlib.import_module(fastparse.tree_module_name())
    reader: ValueReader = module.ValueReader(encoding)
    return reader


def __getattr__(name: str) -> Any:
    """``ValueReader``, the pure-Python class, imported when first asked for."""
    if name == "ValueReader":
        from srkit.codec._tree import ValueReader

        return ValueReader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
