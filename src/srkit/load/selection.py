"""Selection among loadables, the way Slicer's DICOM browser proposes them.

Per series, the loadables with the highest confidence are selected (all of them on a
tie) and every other loadable of that series that competes with them is not. Loadables
compete when they share files (the whole series, its sub-series, another plugin's view
of the same images); two loadables of one series that share no file (an image and a
report filed in the image's series) are chosen independently. A plugin caps the
confidence of the parts it does not prefer (the whole series beside its sub-series, a
localizer) below the preferred ones, so that the rule needs nothing else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from srkit.load.loadable import Loadable

__all__ = ["select", "CONFIDENCE_EPSILON"]

CONFIDENCE_EPSILON = 1e-9
"""Confidences closer than this are a tie."""


def select(loadables: Sequence[Loadable]) -> list[Loadable]:
    """The loadables with ``selected`` set: per series, the highest confidence wins.

    Parameters
    ----------
    loadables : sequence of Loadable
        Loadables of any number of series, from any plugins.

    Returns
    -------
    list of Loadable
        The same loadables in the same order, each with ``selected`` recomputed; a
        loadable that cannot be loaded (an ``ERROR`` finding) is never selected.
    """
    group = _competing_groups(loadables)
    best: dict[int, float] = {}
    for i, item in enumerate(loadables):
        if item.loadable:
            best[group[i]] = max(best.get(group[i], -1.0), item.confidence)
    out = []
    for i, item in enumerate(loadables):
        chosen = item.loadable and item.confidence >= best.get(group[i], 2.0) - CONFIDENCE_EPSILON
        out.append(dataclasses.replace(item, selected=chosen))
    return out


def _competing_groups(loadables: Sequence[Loadable]) -> list[int]:
    """A group number per loadable: same series and linked by shared files."""
    parent = list(range(len(loadables)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[tuple[str, str], int] = {}
    for i, item in enumerate(loadables):
        series = _series_key(item)
        for f in item.files or (item.name,):
            key = (series, f)
            if key in owner:
                parent[root(i)] = root(owner[key])
            else:
                owner[key] = i
    return [root(i) for i in range(len(loadables))]


def _series_key(item: Loadable) -> str:
    if item.series_uid:
        return item.series_uid
    return item.files[0] if item.files else item.name
