"""The only place that turns bytes, pydicom Datasets and DICOM JSON into the model and back.

Modules by job: :mod:`~srkit.codec.loader` (bytes and files -> a loaded Dataset),
:mod:`~srkit.codec.fastparse` (the fast little endian parser),
:mod:`~srkit.codec.reader` (the public ``read``: document assembly),
:mod:`~srkit.codec.content` (the content tree walker), :mod:`~srkit.codec.value_types`
(one builder per value type), :mod:`~srkit.codec.references` (by-reference and SOP
references), :mod:`~srkit.codec.header` (header modules), :mod:`~srkit.codec.policy`
(read policies, the problem recorder), :mod:`~srkit.codec.diagnostic_codes` (the
stable codes), :mod:`~srkit.codec.fixups` (the fix-up registry),
:mod:`~srkit.codec.writer` (model -> Dataset, DICOM JSON).
"""

from srkit.codec.diagnostic_codes import ReadCode, damage, is_wrong_kind
from srkit.codec.loader import Loaded, load, load_dataset, prune_children
from srkit.codec.policy import ReadPolicy
from srkit.codec.reader import read, read_dataset, read_loaded

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
]
from srkit.codec.writer import from_json, to_dataset, to_json, write

__all__ += ["from_json", "to_dataset", "to_json", "write"]
