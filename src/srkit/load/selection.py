"""Selection among loadables, the way Slicer's DICOM browser proposes them.

Per series, the loadables with the highest confidence are selected (all of them on a
tie) and every other loadable of that series is not. A plugin caps the confidence of
the parts it does not prefer (the whole series beside its sub-series, a localizer)
below the preferred ones, so that the rule needs nothing else.
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
    best: dict[str, float] = {}
    for item in loadables:
        if item.loadable:
            key = _series_key(item)
            best[key] = max(best.get(key, -1.0), item.confidence)
    out = []
    for item in loadables:
        key = _series_key(item)
        chosen = item.loadable and item.confidence >= best.get(key, 2.0) - CONFIDENCE_EPSILON
        out.append(dataclasses.replace(item, selected=chosen))
    return out


def _series_key(item: Loadable) -> str:
    if item.series_uid:
        return item.series_uid
    return item.files[0] if item.files else item.name
