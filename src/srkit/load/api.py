"""The verbs of the load layer: :func:`examine` files into loadables, :func:`load` one.

Every registered plugin (:mod:`srkit.load.registry`) examines the same headers, read
once; :func:`srkit.load.select` then proposes, per series, the loadables with the
highest confidence.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srkit.errors import SrkitWarning
from srkit.load.loadable import Loadable, LoadWarning

__all__ = ["Examination", "examine", "examine_files", "load"]


@dataclass(slots=True)
class Examination:
    """What :func:`examine_files` found: loadables, and files nobody could use."""

    loadables: list[Loadable] = field(default_factory=list)
    problems: list[LoadWarning] = field(default_factory=list)


def _expand(paths: Any) -> list[str]:
    """Files as given, and the files under folders (sorted, recursively)."""
    import os

    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, names in os.walk(p):
                dirs.sort()
                out.extend(os.path.join(root, n) for n in sorted(names))
        else:
            out.append(str(p))
    return out


def _as_lists(file_lists: Any) -> list[list[str]]:
    if isinstance(file_lists, (str, Path)):
        return [_expand([file_lists])]
    lists = list(file_lists)
    if lists and all(isinstance(x, (str, Path)) for x in lists):
        return [_expand(lists)]
    return [_expand(files) for files in lists]


def examine_files(
    file_lists: Sequence[Sequence[str | Path]] | Sequence[str | Path],
    *,
    plugins: Sequence[str] | None = None,
    tolerances: Any = None,
    fast: bool = True,
) -> Examination:
    """Examine files with every plugin (or the named ones) and select per series.

    Parameters
    ----------
    file_lists : sequence of sequences of path, or sequence of path
        The files, usually one list per series (a flat list is one list); a folder
        stands for the files under it.
    plugins : sequence of str, optional
        Only these plugins (by name).
    tolerances : GeometryTolerances, optional
        Tolerances of the geometry checks (pass the same to :func:`load`).
    fast : bool
        Read native little endian headers without pydicom (``False``: every header
        with pydicom's ``dcmread``, the reference path; both give the same loadables).

    Returns
    -------
    Examination
        Loadables with ``selected`` set (:func:`srkit.load.select`), and the files that
        could not be read or that no plugin took (``not_dicom``, ``no_plugin``).
    """
    from srkit.diagnostics import Severity
    from srkit.load.headers import read_headers
    from srkit.load.registry import get_plugin
    from srkit.load.registry import plugins as registered
    from srkit.load.selection import select

    lists = _as_lists(file_lists)
    headers = read_headers(lists, fast=fast)
    headers.tolerances = tolerances
    table = registered() if plugins is None else {n: get_plugin(n) for n in plugins}
    found: list[Loadable] = []
    for plugin in table.values():
        found.extend(plugin.examine(lists, headers))
    result = Examination(select(found), list(headers.problems))
    used = {f for item in found for f in item.files}
    for path, header in headers.headers.items():
        if path not in used:
            result.problems.append(
                LoadWarning(
                    code="no_plugin",
                    message=f"{path}: no load plugin takes SOP class {header.sop_class_uid}",
                    severity=Severity.INFO,
                    files=(path,),
                )
            )
    return result


def examine(
    file_lists: Sequence[Sequence[str | Path]] | Sequence[str | Path],
    *,
    plugins: Sequence[str] | None = None,
    tolerances: Any = None,
    fast: bool = True,
) -> list[Loadable]:
    """The loadables of some files, ``selected`` set the way Slicer proposes them.

    Files that cannot be read are reported as :class:`~srkit.errors.SrkitWarning`
    warnings naming the file (:func:`examine_files` returns them as data).
    """
    result = examine_files(file_lists, plugins=plugins, tolerances=tolerances, fast=fast)
    for problem in result.problems:
        if problem.code != "no_plugin":
            warnings.warn(problem.message, SrkitWarning, stacklevel=2)
    return result.loadables


def load(loadable: Loadable, **options: Any) -> Any:
    """Load one loadable with the plugin that made it.

    Parameters
    ----------
    loadable : Loadable
        From :func:`examine`.
    **options
        Passed to the plugin (scalar volumes: ``regularize``, ``dtype``,
        ``tolerances``; SEG: ``labelmap``, ``reference``).

    Returns
    -------
    Volume or another plugin result
        A :class:`~srkit.load.volume.Volume` for image and SEG plugins.
    """
    from srkit.load.registry import get_plugin

    return get_plugin(loadable.plugin).load(loadable, **options)
