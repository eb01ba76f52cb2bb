"""The only place that turns bytes, pydicom Datasets and DICOM JSON into the model and back.

Modules by job: :mod:`~srkit.codec.loader` (bytes and files -> a loaded Dataset),
:mod:`~srkit.codec.fastparse` (the fast little endian parser, compiled or
pure Python; :mod:`~srkit.codec.light` its values),
:mod:`~srkit.codec.reader` (the public ``read``: document assembly),
:mod:`~srkit.codec.content` (the content tree walker), :mod:`~srkit.codec.value_types`
(one builder per value type), :mod:`~srkit.codec.references` (by-reference and SOP
references), :mod:`~srkit.codec.header` (header modules), :mod:`~srkit.codec.policy`
(read policies, the problem recorder), :mod:`~srkit.codec.diagnostic_codes` (the
stable codes), :mod:`~srkit.codec.fixups` (the fix-up registry),
:mod:`~srkit.codec.writer` (model -> Dataset, DICOM JSON; imported on first use).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from srkit.codec.diagnostic_codes import ReadCode, damage, is_wrong_kind
    from srkit.codec.loader import Loaded, load, load_dataset, prune_children
    from srkit.codec.policy import ReadPolicy
    from srkit.codec.reader import read, read_dataset, read_loaded
    from srkit.codec.writer import from_json, to_dataset, to_json, write

_LAZY = {
    "ReadCode": "srkit.codec.diagnostic_codes",
    "damage": "srkit.codec.diagnostic_codes",
    "is_wrong_kind": "srkit.codec.diagnostic_codes",
    "Loaded": "srkit.codec.loader",
    "load": "srkit.codec.loader",
    "load_dataset": "srkit.codec.loader",
    "prune_children": "srkit.codec.loader",
    "ReadPolicy": "srkit.codec.policy",
    "read": "srkit.codec.reader",
    "read_dataset": "srkit.codec.reader",
    "read_loaded": "srkit.codec.reader",
    "from_json": "srkit.codec.writer",
    "to_dataset": "srkit.codec.writer",
    "to_json": "srkit.codec.writer",
    "write": "srkit.codec.writer",
}
"""Names re-exported from the codec's modules, imported when first used (a user of one
module, such as the load layer of :mod:`~srkit.codec.fastparse`, does not import the
reader and writer)."""

__all__ = [
    "Loaded",
    "ReadCode",
    "ReadPolicy",
    "damage",
    "is_wrong_kind",
    "load",
    "load_dataset",
    "prune_children",
    "read",
    "read_dataset",
    "read_loaded",
    "from_json",
    "to_dataset",
    "to_json",
    "write",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'srkit.codec' has no attribute {name!r}")
