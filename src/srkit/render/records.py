"""Content items as plain JSON records: the ``srkit dump --format jsonl`` shape."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

from srkit.model.code import Code
from srkit.model.document import Document
from srkit.model.items import (
    CodeContentItem,
    CompositeContentItem,
    ContainerContentItem,
    ContentItem,
    DateContentItem,
    DateTimeContentItem,
    ImageContentItem,
    NumContentItem,
    PNameContentItem,
    ReferenceContentItem,
    Scoord3DContentItem,
    ScoordContentItem,
    TcoordContentItem,
    TextContentItem,
    TimeContentItem,
    UidRefContentItem,
    UnknownContentItem,
    WaveformContentItem,
)
from srkit.model.navigation import walk

__all__ = ["code_dict", "item_value", "item_record", "document_jsonl", "document_records"]


def code_dict(code: Code | None) -> dict[str, Any] | None:
    """The contract's code object, or ``None``."""
    return None if code is None else code.to_dict()


def _ref_value(item: CompositeContentItem | ImageContentItem | WaveformContentItem) -> Any:
    ref = item.referenced
    out: dict[str, Any] = {
        "sop_class_uid": ref.sop_class_uid if ref else None,
        "sop_instance_uid": ref.sop_instance_uid if ref else None,
    }
    if isinstance(item, ImageContentItem):
        if item.frames is not None:
            out["frames"] = list(item.frames)
        if item.segments is not None:
            out["segments"] = list(item.segments)
        if item.presentation_state is not None:
            out["presentation_state"] = {
                "sop_class_uid": item.presentation_state.sop_class_uid,
                "sop_instance_uid": item.presentation_state.sop_instance_uid,
            }
    elif isinstance(item, WaveformContentItem) and item.channels is not None:
        out["channels"] = list(item.channels)
    return out


def item_value(item: ContentItem) -> Any:
    """The ``value`` of a content item as the contract defines it."""
    if isinstance(item, NumContentItem):
        num: dict[str, Any] = {"number": item.number, "units": code_dict(item.units)}
        if item.qualifier is not None:
            num["qualifier"] = item.qualifier.to_dict()
        if item.float_value is not None:
            # JSON has no NaN: a non-finite floating point value becomes null
            num["float"] = item.float_value if math.isfinite(item.float_value) else None
        return num
    if isinstance(item, CodeContentItem):
        return code_dict(item.value)
    if isinstance(item, ContainerContentItem):
        return {"continuity": item.continuity}
    if isinstance(item, CompositeContentItem | ImageContentItem | WaveformContentItem):
        return _ref_value(item)
    if isinstance(item, ScoordContentItem):
        return {"graphic_type": item.graphic_type, "data": list(item.data)}
    if isinstance(item, Scoord3DContentItem):
        return {
            "graphic_type": item.graphic_type,
            "data": list(item.data),
            "frame_of_reference_uid": item.frame_of_reference_uid,
        }
    if isinstance(item, TcoordContentItem):
        out: dict[str, Any] = {"range_type": item.range_type}
        if item.sample_positions is not None:
            out["sample_positions"] = list(item.sample_positions)
        if item.time_offsets is not None:
            out["time_offsets"] = list(item.time_offsets)
        if item.datetimes is not None:
            out["datetimes"] = list(item.datetimes)
        return out
    if isinstance(item, ReferenceContentItem):
        return {"ref": item.ref_id}
    if isinstance(item, UnknownContentItem):
        return None
    return getattr(item, "value", None)


def item_record(item_id: str, item: ContentItem) -> dict[str, Any]:
    """One JSON-lines record of ``srkit dump --format jsonl``."""
    value_type = item.value_type
    if isinstance(item, UnknownContentItem):
        value_type = item.declared_value_type or "UNKNOWN"
    return {
        "id": item_id,
        "relationship": item.relationship,
        "value_type": value_type,
        "concept": code_dict(item.concept),
        "value": item_value(item),
    }


def document_records(doc: Document) -> Iterator[dict[str, Any]]:
    """Every item's record, in document order."""
    for pos in walk(doc.root):
        yield item_record(pos.id, pos.item)


def _json_encoder() -> Callable[[Any], str]:
    """One record as a JSON line's text: ``json.dumps(record, ensure_ascii=False,
    separators=(", ", ": "))``, through one C encoder made once (``json.dumps`` makes
    a new one for every call) where the ``json`` module has it."""
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return encoder.encode
    chunks = make(
        None, encoder.default, json.encoder.encode_basestring, None, ": ", ", ", False, False, True
    )
    join = "".join

    def encode(record: Any) -> str:
        return join(chunks(record, 0))

    return encode


_ENCODE: list[Callable[[Any], str]] = []

_PLAIN_VALUE = frozenset(
    {TextContentItem, DateTimeContentItem, DateContentItem, TimeContentItem, UidRefContentItem}
    | {PNameContentItem, CodeContentItem, ContainerContentItem}
)
"""Item classes whose record :func:`_plain_record` makes (the most common ones)."""


def _plain_record(item_id: str, item: Any) -> dict[str, Any]:
    """:func:`item_record` of an item whose class is in :data:`_PLAIN_VALUE`, without
    the walk through every value type's case."""
    concept = item.concept
    cls = type(item)
    if cls is ContainerContentItem:
        value: Any = {"continuity": item.continuity}
    elif cls is CodeContentItem:
        code = item.value
        value = None if code is None else code.to_dict()
    else:
        value = item.value
    return {
        "id": item_id,
        "relationship": item.relationship,
        "value_type": cls.value_type,
        "concept": None if concept is None else concept.to_dict(),
        "value": value,
    }


def document_jsonl(doc: Document) -> str:
    """The ``srkit dump --format jsonl`` text of ``doc``: one JSON line per record of
    :func:`document_records`, in document order, each ending with a newline."""
    if not _ENCODE:
        _ENCODE.append(_json_encoder())
    encode = _ENCODE[0]
    lines: list[str] = []
    append = lines.append
    stack: list[tuple[str, ContentItem]] = [("1", doc.root)]
    pop, push = stack.pop, stack.append
    while stack:  # the walk of srkit.model.navigation.walk, without its Position objects
        item_id, item = pop()
        record = _plain_record(item_id, item) if type(item) in _PLAIN_VALUE else None
        append(encode(record if record is not None else item_record(item_id, item)))
        children = item.children
        for n in range(len(children), 0, -1):
            push((f"{item_id}.{n}", children[n - 1]))
    append("")
    return "\n".join(lines)
