"""Build a model content item for each SR value type (PS3.3 C.17.3.2.1, C.18).

One builder per Value Type (0040,A040): it reads the value attributes of the
type's Content Item Macro (PS3.3 C.18.1-C.18.10, Table C.17-6 for CONTAINER) from
an item whose common attributes (relationship, concept name, observation datetime
and UID, children) the content reader has already read, records what is missing or
malformed, and returns the model item. :data:`BUILDERS` maps each value type to
its builder. The builders of the most common value types live in the compiled tree
builder, :mod:`srkit.codec._tree`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from srkit.codec import tags as T
from srkit.codec.diagnostic_codes import ReadCode
from srkit.codec.loader import short_error
from srkit.codec.references import sop_reference
from srkit.codec.values import elements
from srkit.model.items import (
    CompositeContentItem,
    ContentItem,
    ImageContentItem,
    Scoord3DContentItem,
    ScoordContentItem,
    SopReference,
    TableContentItem,
    TcoordContentItem,
    WaveformContentItem,
)

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from srkit.codec.content import ContentReader

__all__ = ["BUILDERS", "Builder"]

Builder = Callable[["ContentReader", "Dataset", str, dict[str, Any]], ContentItem]
"""``builder(reader, item, path, common)``: ``common`` holds the keyword arguments
every item has (relationship, concept, children, ...), read by the content reader."""


def _ints(values: tuple[Any, ...] | None) -> tuple[int, ...] | None:
    return None if values is None else tuple(int(x) for x in values)


def _composite(r: ContentReader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    ref, ref_item = sop_reference(r, ds, path, "COMPOSITE")
    _mark_ref_extra(ref_item, ds, common)
    return CompositeContentItem(referenced=ref, **common)


def _mark_ref_extra(ref_item: Dataset | None, ds: Dataset, common: dict[str, Any]) -> None:
    if ref_item is not None and not elements(ref_item).keys() <= T.REF_SOP_TAGS:
        common["extra"] = ds


def _image(r: ContentReader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    ref, ref_item = sop_reference(r, ds, path, "IMAGE")
    frames = segments = None
    pstate = None
    if ref_item is not None:
        frames = _ints(_int_strings(r, ref_item, T.REFERENCED_FRAME_NUMBER, path))
        segments = _ints(r.safe_numbers(ref_item, T.REFERENCED_SEGMENT_NUMBER, "US", path))
        for ps in r.sequence(ref_item, T.REFERENCED_SOP_SEQUENCE, path)[:1]:
            pstate = SopReference(
                sop_class_uid=r.safe_string(ps, T.REFERENCED_SOP_CLASS_UID, "UI", path) or "",
                sop_instance_uid=r.safe_string(ps, T.REFERENCED_SOP_INSTANCE_UID, "UI", path) or "",
            )
    _mark_ref_extra(ref_item, ds, common)
    return ImageContentItem(
        referenced=ref, frames=frames, segments=segments, presentation_state=pstate, **common
    )


def _int_strings(r: ContentReader, ds: Dataset, tag: int, path: str) -> tuple[Any, ...] | None:
    try:
        values = r.values.strings(ds, tag, "IS")
    except Exception as exc:
        r.problem(
            path,
            ReadCode.FRAME_NUMBER_UNREADABLE,
            f"unreadable Referenced Frame Number: {short_error(exc)}",
        )
        return None
    if values is None:
        return None
    out = []
    for value in values:
        try:
            out.append(int(float(value)))
        except ValueError:
            r.problem(
                path, ReadCode.FRAME_NUMBER_INVALID, f"frame number {value!r} is not an integer"
            )
    return tuple(out)


def _waveform(r: ContentReader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    ref, ref_item = sop_reference(r, ds, path, "WAVEFORM")
    channels = None
    if ref_item is not None:
        channels = _ints(r.safe_numbers(ref_item, T.REFERENCED_WAVEFORM_CHANNELS, "US", path))
    _mark_ref_extra(ref_item, ds, common)
    return WaveformContentItem(referenced=ref, channels=channels, **common)


def _graphic(r: ContentReader, ds: Dataset, path: str) -> tuple[str, tuple[float, ...]]:
    graphic_type = r.safe_string(ds, T.GRAPHIC_TYPE, "CS", path) or ""
    if not graphic_type:
        r.problem(path, ReadCode.GRAPHIC_TYPE_MISSING, "spatial coordinates without Graphic Type")
    data = r.safe_numbers(ds, T.GRAPHIC_DATA, "FL", path)
    if not data:
        r.problem(path, ReadCode.GRAPHIC_DATA_MISSING, "spatial coordinates without Graphic Data")
    return graphic_type, tuple(float(x) for x in (data or ()))


def _scoord(r: ContentReader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    graphic_type, data = _graphic(r, ds, path)
    if data and len(data) % 2:
        r.problem(
            path,
            ReadCode.GRAPHIC_DATA_COUNT,
            f"SCOORD Graphic Data has {len(data)} values, not (x, y) pairs",
        )
    return ScoordContentItem(
        graphic_type=graphic_type,
        data=data,
        pixel_origin_interpretation=r.safe_string(ds, T.PIXEL_ORIGIN_INTERPRETATION, "CS", path),
        fiducial_uid=r.safe_string(ds, T.FIDUCIAL_UID, "UI", path),
        **common,
    )


def _scoord3d(r: ContentReader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    graphic_type, data = _graphic(r, ds, path)
    if data and len(data) % 3:
        r.problem(
            path,
            ReadCode.GRAPHIC_DATA_COUNT,
            f"SCOORD3D Graphic Data has {len(data)} values, not (x, y, z) triplets",
        )
    frame = r.safe_string(ds, T.REFERENCED_FRAME_OF_REFERENCE_UID, "UI", path)
    if not frame:
        r.problem(
            path,
            ReadCode.FRAME_OF_REFERENCE_MISSING,
            "SCOORD3D without Referenced Frame of Reference UID",
        )
    return Scoord3DContentItem(
        graphic_type=graphic_type,
        data=data,
        frame_of_reference_uid=frame or "",
        fiducial_uid=r.safe_string(ds, T.FIDUCIAL_UID, "UI", path),
        **common,
    )


def _tcoord(r: ContentReader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    range_type = r.safe_string(ds, T.TEMPORAL_RANGE_TYPE, "CS", path) or ""
    if not range_type:
        r.problem(path, ReadCode.TEMPORAL_RANGE_TYPE_MISSING, "TCOORD without Temporal Range Type")
    samples = r.safe_numbers(ds, T.REFERENCED_SAMPLE_POSITIONS, "UL", path)
    try:
        offsets = r.values.strings(ds, T.REFERENCED_TIME_OFFSETS, "DS")
        datetimes = r.values.strings(ds, T.REFERENCED_DATETIME, "DT")
    except Exception as exc:
        r.problem(
            path,
            ReadCode.TEMPORAL_COORDINATES_UNREADABLE,
            f"unreadable temporal coordinates: {short_error(exc)}",
        )
        offsets = datetimes = None
    present = [x for x in (samples, offsets, datetimes) if x is not None]
    if len(present) != 1:
        r.problem(
            path,
            ReadCode.TEMPORAL_COORDINATES_COUNT,
            "TCOORD needs exactly one of sample positions, time offsets, datetimes",
        )
    time_offsets = None
    if offsets is not None:
        try:
            time_offsets = tuple(float(x) for x in offsets)
        except ValueError:
            r.problem(
                path,
                ReadCode.TIME_OFFSETS_INVALID,
                "TCOORD time offsets are not decimal strings",
            )
    return TcoordContentItem(
        range_type=range_type,
        sample_positions=_ints(samples),
        time_offsets=time_offsets,
        datetimes=datetimes,
        **common,
    )


def _table(r: ContentReader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    common["extra"] = ds
    return TableContentItem(**common)


BUILDERS: dict[str, Builder] = {
    "COMPOSITE": _composite,
    "IMAGE": _image,
    "WAVEFORM": _waveform,
    "SCOORD": _scoord,
    "SCOORD3D": _scoord3d,
    "TCOORD": _tcoord,
    "TABLE": _table,
}
"""Value Type (0040,A040) -> builder, for the value types built here; the common ones
(CONTAINER, TEXT, CODE, NUM, DATETIME, DATE, TIME, UIDREF, PNAME) are built by
:mod:`srkit.codec._tree` (compiled where built), whose ``BUILDERS`` has them all."""
