"""Walk the content tree of an SR document: items, sequences and codes (PS3.3 C.17.3).

:class:`ContentReader` holds the state of one read (policy, character set, the fast
parser's top-level sequences, the problems found) and turns each content item
(Table C.17-6 Document Content Macro, C.17.3.2 Relationship and Value Types) into
a model item, calling the builder of its value type. Codes follow the Code Sequence
Macro (PS3.3 Section 8.8). Every element is read through guarded helpers: a broken
one becomes a diagnostic, never an exception.

The walk is the reader's hot path: its code is :mod:`srkit.codec._tree`, which the
build compiles with Cython (``srkit.codec._tree_c``) like the parser.
:func:`content_reader` makes the reader of the implementation in use
(:func:`tree`: the compiled one when :mod:`srkit.codec.fastparse` uses the compiled
parser); :class:`ContentReader` is the pure-Python class, for type annotations.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from srkit.codec import fastparse
from srkit.codec.content_rules import DEPTH_LIMIT, NAMED_VALUE_TYPES, RELATIONSHIPS
from srkit.codec.light import LightDataset
from srkit.codec.policy import ReadPolicy
from srkit.codec.value_types import BUILDERS as OTHER_BUILDERS

__all__ = [
    "DEPTH_LIMIT",
    "NAMED_VALUE_TYPES",
    "RELATIONSHIPS",
    "ContentReader",
    "content_reader",
    "tree",
]

if TYPE_CHECKING:
    from srkit.codec._tree import ContentReader

_ready_modules: dict[str, ModuleType] = {}


def __getattr__(name: str) -> Any:
    """``ContentReader``, the pure-Python class, imported when first asked for: the
    compiled reader's users never import the pure-Python builder."""
    if name == "ContentReader":
        from srkit.codec._tree import ContentReader

        return ContentReader
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _ready(module: ModuleType) -> ModuleType:
    """``module`` with its builders table filled (its own and value_types')."""
    if not module.BUILDERS:
        module.BUILDERS.update(module.COMMON_BUILDERS)
        module.BUILDERS.update(OTHER_BUILDERS)
    return module


def tree() -> ModuleType:
    """The tree builder in use (:func:`srkit.codec.fastparse.tree_module_name`), its
    builders table filled."""
    name = fastparse.tree_module_name()
    cached = _ready_modules.get(name)
    if cached is None:
        cached = _ready_modules[name] = _ready(importlib.import_module(name))
    return cached


def content_reader(
    policy: ReadPolicy,
    ds: Any,
    sequences: Mapping[int, Sequence[LightDataset]],
    source: str | None,
) -> ContentReader:
    """A :class:`ContentReader` of the implementation in use (compiled or pure Python)."""
    reader: ContentReader = tree().ContentReader(policy, ds, sequences, source)
    return reader
