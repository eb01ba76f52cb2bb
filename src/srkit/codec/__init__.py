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

from srkit.codec.diagnostic_codes import ReadCode, damage
from srkit.codec.loader import Loaded, load, load_dataset, prune_children
from srkit.codec.policy import ReadPolicy
from srkit.codec.reader import read, read_dataset, read_loaded

__all__ = [
    "Loaded",
    "ReadCode",
    "ReadPolicy",
    "damage",
    "load",
    "load_dataset",
    "prune_children",
    "read",
    "read_dataset",
    "read_loaded",
]
__all__ += ["from_json", "to_dataset", "to_json", "write"]

_WRITER = frozenset({"from_json", "to_dataset", "to_json", "write"})
"""The writer's verbs, imported on first use: the writer needs pydicom, reading does not."""


def __getattr__(name: str) -> object:
    if name in _WRITER:
        from srkit.codec import writer

        value = getattr(writer, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'srkit.codec' has no attribute {name!r}")
