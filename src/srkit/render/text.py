"""A plain-text tree of a document, one line per content item (like DCMTK's dsrdump)."""

from __future__ import annotations

from collections.abc import Iterator

from srkit.codec.sopclass import sop_class_name
from srkit.model.code import Code
from srkit.model.document import Document
from srkit.model.items import (
    CodeContentItem,
    CompositeContentItem,
    ContainerContentItem,
    ContentItem,
    ImageContentItem,
    NumContentItem,
    ReferenceContentItem,
    Scoord3DContentItem,
    ScoordContentItem,
    TcoordContentItem,
    UnknownContentItem,
    WaveformContentItem,
)
from srkit.model.navigation import walk
from srkit.render.escape import escape_control

__all__ = ["dump_lines", "header_lines", "item_line", "short_code"]


def short_code(code: Code | None) -> str:
    """``(113813,DCM,"CT Dose Length Product Total")``, or empty."""
    if code is None:
        return ""
    return f'({code.value},{code.scheme},"{code.meaning}")'


def _clip(text: str, width: int = 60) -> str:
    text = escape_control(text)  # line breaks too: one item, one line
    return text if len(text) <= width else text[: width - 3] + "..."


def _value_text(item: ContentItem) -> str:
    if isinstance(item, ContainerContentItem):
        return item.continuity
    if isinstance(item, NumContentItem):
        if item.number is None:
            return f"(no value{', ' + short_code(item.qualifier) if item.qualifier else ''})"
        return f'"{item.number}" {short_code(item.units)}'
    if isinstance(item, CodeContentItem):
        return short_code(item.value)
    if isinstance(item, CompositeContentItem | ImageContentItem | WaveformContentItem):
        ref = item.referenced
        text = f"({sop_class_name(ref.sop_class_uid)},{ref.sop_instance_uid})" if ref else "()"
        if isinstance(item, ImageContentItem):
            if item.frames:
                text += f" frames {','.join(map(str, item.frames))}"
            if item.segments:
                text += f" segments {','.join(map(str, item.segments))}"
            if item.presentation_state:
                ps = item.presentation_state
                text += f" with ({sop_class_name(ps.sop_class_uid)},{ps.sop_instance_uid})"
        if isinstance(item, WaveformContentItem) and item.channels:
            text += f" channels {','.join(map(str, item.channels))}"
        return text
    if isinstance(item, ScoordContentItem | Scoord3DContentItem):
        data = ",".join(f"{x:g}" for x in item.data[:6])
        more = ",..." if len(item.data) > 6 else ""
        return f"({item.graphic_type},{data}{more})"
    if isinstance(item, TcoordContentItem):
        values = item.sample_positions or item.time_offsets or item.datetimes or ()
        return f"({item.range_type},{','.join(map(str, values[:6]))})"
    if isinstance(item, UnknownContentItem):
        return "(not typed)"
    value = getattr(item, "value", "")
    return f'"{_clip(str(value))}"'


def item_line(item_id: str, item: ContentItem, depth: int, *, ids: bool = False) -> str:
    """One line of the tree, control characters escaped
    (:func:`srkit.render.escape.escape_control`)."""
    indent = "  " * depth
    prefix = f"{item_id:<12} " if ids else ""
    rel = f"{item.relationship.lower()} " if item.relationship else ""
    if isinstance(item, ReferenceContentItem):
        return escape_control(f"{prefix}{indent}<{rel}{item.ref_id}>")
    vt = item.declared_value_type if isinstance(item, UnknownContentItem) else item.value_type
    concept = short_code(item.concept)
    when = f" {{{item.observation_datetime}}}" if item.observation_datetime else ""
    return escape_control(f"{prefix}{indent}<{rel}{vt}:{concept}={_value_text(item)}>{when}")


def header_lines(doc: Document) -> list[str]:
    """The header summary printed above the tree (control characters escaped)."""
    rows = [
        ("SOP Class", f"{sop_class_name(doc.sop_class_uid)} ({doc.sop_class_uid})"),
        ("SOP Instance", doc.sop_instance_uid),
        ("Patient", f"{doc.patient.name or ''} ({doc.patient.id or ''})"),
        ("Study", f"{doc.study.description or ''} {doc.study.date or ''}".strip()),
        ("Series", f"{doc.series.description or ''} (#{doc.series.number or ''})"),
        ("Manufacturer", doc.equipment.manufacturer or ""),
        ("Completion Flag", doc.completion_flag or ""),
        ("Verification Flag", doc.verification_flag or ""),
        ("Content Date/Time", f"{doc.content_date or ''} {doc.content_time or ''}".strip()),
    ]
    if doc.template is not None:
        rows.append(
            ("Template", f"TID {doc.template.identifier} ({doc.template.mapping_resource})")
        )
    return [escape_control(f"{k:<18}: {v}") for k, v in rows]


def dump_lines(doc: Document, *, ids: bool = False, header: bool = True) -> Iterator[str]:
    """The header, a blank line, then one line per content item (diagnostics are
    the caller's to show: they are on ``doc.diagnostics``)."""
    if header:
        yield from header_lines(doc)
        yield ""
    for pos in walk(doc.root):
        depth = pos.id.count(".")
        yield item_line(pos.id, pos.item, depth, ids=ids)
