"""Series -> loadables -> volumes: plugins, geometry checks, NIfTI export.

The load layer sits between the meaning layers and ``db/``; it imports only
``codec/``, ``model/`` and ``templates/`` below it. NumPy, nibabel and highdicom are
imported only when a volume is checked or loaded (``pip install 'srkit[load]'``).

Verbs: :func:`examine` (files -> :class:`Loadable` list, ``selected`` set as Slicer's
DICOM module does), :func:`load` (a loadable -> :class:`~srkit.load.volume.Volume`),
:func:`select`, :func:`plugins`.
"""

from __future__ import annotations

from typing import Any

from srkit.load.api import Examination, examine, examine_files, load
from srkit.load.loadable import Loadable, LoadWarning
from srkit.load.registry import ENTRY_POINT_GROUP, get_plugin, plugins
from srkit.load.selection import select

__all__ = [
    "ENTRY_POINT_GROUP",
    "Examination",
    "GeometryTolerances",
    "LoadError",
    "LoadWarning",
    "Loadable",
    "Volume",
    "examine",
    "examine_files",
    "get_plugin",
    "load",
    "plugins",
    "select",
]

_LAZY = {
    "Volume": "srkit.load.volume",
    "GeometryTolerances": "srkit.load.geometry",
    "LoadError": "srkit.load.pixels",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'srkit.load' has no attribute {name!r}")
