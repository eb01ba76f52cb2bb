"""Splitting a series into sub-series, as Slicer's scalar volume plugin does.

A series whose images differ in Series Instance UID, SOP Class UID, Acquisition Number,
Image Type, Image Orientation (Patient) or diffusion gradient direction (PS3.3
C.8.13.5.9) is offered as the whole series and as one part per distinct value. A part
whose Image Type says LOCALIZER, or a very small part split off by orientation, is taken
for a localizer (scout) and offered with a low confidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from srkit.codec.imageheader import IMAGE_ATTRIBUTES
from srkit.load.headers import Header, derived

__all__ = ["SPLIT_KEYS", "SubSeries", "split", "is_localizer"]

SPLIT_KEYS = (
    "SeriesInstanceUID",
    "SOPClassUID",
    "AcquisitionNumber",
    "ImageType",
    "ImageOrientationPatient",
    "DiffusionGradientOrientation",
)
"""The attributes a series is split by, in the order parts are offered."""


@dataclass(frozen=True, slots=True)
class SubSeries:
    """One part of a series: its files and the value of the attribute that set it apart."""

    key: str
    value: str
    files: tuple[str, ...]


def _gradient(ds: Any) -> Any:
    seq = ds.get("MRDiffusionSequence")
    if seq:
        item = seq[0]
        dirs = item.get("DiffusionGradientDirectionSequence")
        if dirs and "DiffusionGradientOrientation" in dirs[0]:
            return dirs[0].DiffusionGradientOrientation
    return ds.get("DiffusionGradientOrientation")


def _value(ds: Any, key: str) -> str:
    raw = _gradient(ds) if key == "DiffusionGradientOrientation" else ds.get(key)
    if raw is None or raw == "":
        return ""
    if key in ("ImageOrientationPatient", "DiffusionGradientOrientation"):
        try:
            return "\\".join(f"{float(x):.4f}" for x in raw)
        except (TypeError, ValueError):
            return str(raw)
    if isinstance(raw, (list, tuple)) or (hasattr(raw, "__iter__") and not isinstance(raw, str)):
        return "\\".join(str(x) for x in raw)
    return str(raw)


def split(headers: Sequence[Header]) -> list[SubSeries]:
    """The sub-series of a list of images, for every split key with more than one value.

    Parameters
    ----------
    headers : sequence of Header
        The images of one series (or of what was given as one list).

    Returns
    -------
    list of SubSeries
        Parts in key order, then in order of first appearance; parts with the same
        files as an earlier part are left out.
    """
    out: list[SubSeries] = []
    seen: set[frozenset[str]] = {frozenset(h.path for h in headers)}
    for key in SPLIT_KEYS:
        groups: dict[str, list[str]] = {}
        tag = None if key == "DiffusionGradientOrientation" else IMAGE_ATTRIBUTES[key].tag
        for h in headers:
            if tag is None:
                value = _value(h.values, key)
            else:
                value = derived(h.values, tag, f"split.{key}", lambda ds: _value(ds, key))  # noqa: B023
            groups.setdefault(value, []).append(h.path)
        if len(groups) < 2:
            continue
        for value, files in groups.items():
            fs = frozenset(files)
            if fs in seen:
                continue
            seen.add(fs)
            out.append(SubSeries(key, value, tuple(files)))
    return out


def is_localizer(part: SubSeries, headers: dict[str, Header], total: int) -> bool:
    """Whether a part looks like a localizer (scout) image set.

    Image Type containing LOCALIZER decides; without it, a part of at most two images
    and less than a fifth of the series that differs by orientation is taken for one.
    """
    for f in part.files:
        image_type = headers[f].values.get("ImageType") or []
        if any(str(v).upper() == "LOCALIZER" for v in image_type):
            return True
    return (
        part.key == "ImageOrientationPatient"
        and len(part.files) <= 2
        and len(part.files) * 5 < total
    )
