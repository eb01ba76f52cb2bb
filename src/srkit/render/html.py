"""A self-contained HTML page of an SR document that reads like a report (Jinja2).

The page has the header (patient, study, document), the content as nested
collapsible sections (``<details>``), measurement groups (TID 1501/1410/1411,
concept (125007, DCM, "Measurement Group")) as tables with units, irradiation
events (TID 10013 (113819, DCM, "CT Acquisition"), TID 10003 (113706, DCM,
"Irradiation Event X-Ray Data")) as one table, codes shown by their meaning with the
code on hover (``title``), and the diagnostics (reader and validation) at the end.
CSS is inline; the page loads nothing from elsewhere.

:func:`document_view` builds the plain view model that both this module and
:mod:`srkit.render.report_text` lay out.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from srkit.codec.sopclass import sop_class_name
from srkit.diagnostics import Diagnostic
from srkit.model.code import Code
from srkit.model.concepts import (
    CT_ACQUISITION,
    IMAGE_LIBRARY,
    IRRADIATION_EVENT_XRAY_DATA,
    MEASUREMENT_GROUP,
)
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
    UnknownContentItem,
    WaveformContentItem,
)
from srkit.render.escape import text_lines
from srkit.render.formats import (
    format_date,
    format_date_time,
    format_datetime,
    format_name,
    format_time,
)
from srkit.templates.registry import Rule, detection

__all__ = ["render_html", "document_view", "code_view", "value_text", "merged_diagnostics"]

EVENTS = (CT_ACQUISITION, IRRADIATION_EVENT_XRAY_DATA)
"""Irradiation event containers (TID 10013, TID 10003), shown as one table."""
COLLAPSED = (IMAGE_LIBRARY,)
"""Sections shown closed (TID 1600 Image Library)."""
EVENT_FIRST = (
    "125203",  # Acquisition Protocol
    "123014",  # Target Region
    "113820",  # CT Acquisition Type
    "113721",  # Irradiation Event Type
    "113830",  # Mean CTDIvol
    "113838",  # DLP
    "122130",  # Dose Area Product
    "113738",  # Dose (RP)
)
"""Concept values of the event columns shown first, in this order."""
EVENT_SKIP = frozenset({"121106", "113769", "113876", "408730004", "G-C32C"})
"""Comment, Irradiation Event UID, Device Role, Procedure Context: not in the table."""

View = dict[str, Any]


def code_view(code: Code | None) -> View | None:
    """``{"text": meaning, "title": "value, scheme"}`` for a code, or ``None``."""
    if code is None:
        return None
    return {"text": code.meaning or code.value, "title": f"{code.value}, {code.scheme}"}


def _ref_text(item: CompositeContentItem | ImageContentItem | WaveformContentItem) -> str:
    ref = item.referenced
    if ref is None:
        return "(no reference)"
    text = f"{sop_class_name(ref.sop_class_uid)} {ref.sop_instance_uid}"
    if isinstance(item, ImageContentItem):
        if item.frames:
            text += f", frames {', '.join(map(str, item.frames))}"
        if item.segments:
            text += f", segment {', '.join(map(str, item.segments))}"
        pstate = item.presentation_state
        if pstate is not None:
            text += (
                f", presentation state {sop_class_name(pstate.sop_class_uid)} "
                f"{pstate.sop_instance_uid}"
            )
        rwvm = item.real_world_value_mapping
        if rwvm is not None:
            text += f", real world value mapping {rwvm.sop_instance_uid}"
    return text


def value_text(item: ContentItem) -> str:
    """The value of an item as a person reads it (units and codes apart): dates,
    times and names formatted as the header's (:mod:`srkit.render.formats`), the
    line breaks of a TEXT value as LF (CR LF, LF CR and CR too, PS3.5 Section
    6.1.3) and its other control characters escaped (:mod:`srkit.render.escape`)."""
    if isinstance(item, TextContentItem):
        return "\n".join(text_lines(item.value))
    if isinstance(item, DateContentItem):
        return format_date(item.value)
    if isinstance(item, TimeContentItem):
        return format_time(item.value)
    if isinstance(item, DateTimeContentItem):
        return format_datetime(item.value)
    if isinstance(item, PNameContentItem):
        return format_name(item.value)
    if isinstance(item, NumContentItem):
        if item.number is None:
            return item.qualifier.meaning if item.qualifier else "(no value)"
        return item.number
    if isinstance(item, CodeContentItem):
        return item.value.meaning or item.value.value if item.value else ""
    if isinstance(item, CompositeContentItem | ImageContentItem | WaveformContentItem):
        return _ref_text(item)
    if isinstance(item, ScoordContentItem | Scoord3DContentItem):
        dims = 3 if isinstance(item, Scoord3DContentItem) else 2
        return f"{item.graphic_type.lower()}, {len(item.data) // dims} point(s)"
    if isinstance(item, TcoordContentItem):
        values = item.sample_positions or item.time_offsets or item.datetimes or ()
        return f"{item.range_type.lower()} {', '.join(map(str, values[:6]))}"
    if isinstance(item, ReferenceContentItem):
        return f"see item {item.ref_id}"
    if isinstance(item, UnknownContentItem):
        return "(unreadable value)"
    if isinstance(item, ContainerContentItem):
        return ""
    return str(getattr(item, "value", ""))


def _item_view(item_id: str, item: ContentItem) -> View:
    view: View = {
        "kind": "item",
        "id": item_id,
        "relationship": item.relationship,
        "value_type": item.value_type,
        "name": code_view(item.concept),
        "value": value_text(item),
        "code": code_view(item.value) if isinstance(item, CodeContentItem) else None,
        "units": code_view(item.units) if isinstance(item, NumContentItem) else None,
        "children": [],
    }
    view["children"] = [_node(f"{item_id}.{n}", child) for n, child in enumerate(item.children, 1)]
    return view


def _group_view(item_id: str, item: ContentItem) -> View:
    rows: list[View] = []
    facts: list[View] = []
    other: list[View] = []
    for n, child in enumerate(item.children, 1):
        child_id = f"{item_id}.{n}"
        if isinstance(child, NumContentItem):
            row = _item_view(child_id, child)
            row["modifiers"] = [
                _item_view(f"{child_id}.{m}", mod) for m, mod in enumerate(child.children, 1)
            ]
            rows.append(row)
        elif isinstance(child, ContainerContentItem):
            other.append(_node(child_id, child))
        else:
            facts.append(_item_view(child_id, child))
    return {
        "kind": "group",
        "id": item_id,
        "title": code_view(item.concept),
        "facts": facts,
        "rows": rows,
        "children": other,
    }


SOURCE_ID = "113832"
"""Identification of the X-Ray Source (TID 10014): names the source of a dual-source
CT's second set of parameters in its column headers."""


def _container_label(node: ContentItem, count: int) -> str:
    for child in node.children:
        if child.concept is not None and child.concept.value == SOURCE_ID:
            return f"source {value_text(child)}"
    return str(count)


def _event_cells(item_id: str, event: ContentItem) -> dict[str, View]:
    """The event's values by column; a concept seen again in another container (the
    second X-ray source of a dual-source CT) gets a column of its own, its header
    naming the source (``KVP (source B)``) or numbering it: nothing is dropped."""
    cells: dict[str, View] = {}
    stack: list[tuple[str, ContentItem, str]] = [(item_id, event, "")]
    while stack:
        path, node, label = stack.pop(0)
        for n, child in enumerate(node.children, 1):
            child_id = f"{path}.{n}"
            if isinstance(child, ContainerContentItem):
                stack.append((child_id, child, _container_label(child, len(stack) + 2)))
                continue
            if child.concept is None or (
                not isinstance(child, NumContentItem | CodeContentItem)
                and child.value_type not in ("TEXT", "DATETIME", "DATE", "TIME", "PNAME")
            ):
                continue
            if child.concept.value in EVENT_SKIP:
                continue
            key = child.concept.meaning or child.concept.value
            name = code_view(child.concept)
            if key in cells:
                key = f"{key} ({label or n})"
                if key in cells:
                    continue  # the same concept twice in one container: listed below
                if name is not None:
                    name = {**name, "text": f"{name['text']} ({label or n})"}
            units = child.units if isinstance(child, NumContentItem) else None
            cells[key] = {
                "id": child_id,
                "value": value_text(child),
                "code": code_view(child.value) if isinstance(child, CodeContentItem) else None,
                "units": code_view(units),
                "name": name,
            }
    return cells


def _events_view(first_id: str, items: list[tuple[str, ContentItem]]) -> View:
    rows = [_event_cells(item_id, item) for item_id, item in items]
    columns: list[str] = []
    names: dict[str, View | None] = {}
    order: dict[str, int] = {}
    for row in rows:
        for key, cell in row.items():
            if key not in names:
                columns.append(key)
                names[key] = cell["name"]
                value = cell["name"]["title"].split(",")[0] if cell["name"] else ""
                order[key] = EVENT_FIRST.index(value) if value in EVENT_FIRST else 99
    columns.sort(key=lambda c: order[c])
    return {
        "kind": "events",
        "id": first_id,
        "title": code_view(items[0][1].concept),
        "columns": [{"key": c, "name": names[c]} for c in columns],
        "rows": [{"id": i, "cells": r} for (i, _), r in zip(items, rows, strict=True)],
    }


def _section_view(item_id: str, item: ContentItem) -> View:
    children: list[View] = []
    pending: list[tuple[str, ContentItem]] = []
    for n, child in enumerate(item.children, 1):
        child_id = f"{item_id}.{n}"
        if child.concept is not None and child.concept in EVENTS:
            pending.append((child_id, child))
            continue
        if pending:
            children.append(_events_view(pending[0][0], pending))
            pending = []
        children.append(_node(child_id, child))
    if pending:
        children.append(_events_view(pending[0][0], pending))
    template = getattr(item, "template", None)
    return {
        "kind": "section",
        "id": item_id,
        "title": code_view(item.concept),
        "open": not (item.concept is not None and item.concept in COLLAPSED),
        "template": template.identifier if template else None,
        "children": children,
    }


def _node(item_id: str, item: ContentItem) -> View:
    if isinstance(item, ContainerContentItem):
        if item.concept is not None and item.concept == MEASUREMENT_GROUP:
            return _group_view(item_id, item)
        return _section_view(item_id, item)
    return _item_view(item_id, item)


def merged_diagnostics(doc: Document, diagnostics: list[Diagnostic] | None) -> list[Diagnostic]:
    """The reader's diagnostics and the given ones, without duplicates."""
    out = list(doc.diagnostics)
    seen = {(d.path, d.severity, d.message) for d in out}
    for diag in diagnostics or ():
        if (diag.path, diag.severity, diag.message) not in seen:
            seen.add((diag.path, diag.severity, diag.message))
            out.append(diag)
    return out


def _template_text(doc: Document) -> str:
    """``TID 1500`` as declared; ``TID 1500 (not declared)`` when only the title,
    content or SOP class show it (:func:`srkit.templates.registry.detection`)."""
    found = detection(doc)
    if found.identifier is None:
        return ""
    if found.rule is Rule.DECLARED:
        return f"TID {found.identifier}"
    return f"TID {found.identifier} (not declared)"


def document_view(doc: Document, diagnostics: list[Diagnostic] | None = None) -> View:
    """The view model of a document: header facts, content tree, diagnostics."""
    title = doc.title
    header = [
        (
            "Patient",
            f"{format_name(doc.patient.name)} "
            f"{'(' + doc.patient.id + ')' if doc.patient.id else ''}".strip(),
        ),
        (
            "Birth date / sex",
            " ".join(x for x in (format_date(doc.patient.birth_date), doc.patient.sex or "") if x),
        ),
        (
            "Study",
            " ".join(
                x
                for x in (
                    doc.study.description or "",
                    format_date_time(doc.study.date, doc.study.time),
                )
                if x
            ),
        ),
        ("Accession", doc.study.accession_number or ""),
        ("Series", doc.series.description or ""),
        ("Document", f"{sop_class_name(doc.sop_class_uid)}"),
        ("Content date", format_date_time(doc.content_date, doc.content_time)),
        (
            "Status",
            ", ".join(
                x.lower() for x in (doc.completion_flag or "", doc.verification_flag or "") if x
            ),
        ),
        (
            "Equipment",
            " ".join(
                x for x in (doc.equipment.manufacturer or "", doc.equipment.model_name or "") if x
            ),
        ),
        ("Template", _template_text(doc)),
    ]
    root = _section_view("1", doc.root)
    return {
        "title": code_view(title) or {"text": "Structured Report", "title": ""},
        "header": [{"label": k, "value": v} for k, v in header if v],
        "observers": [format_name(o.name) for o in doc.verifying_observers],
        "root": root,
        "sop_instance_uid": doc.sop_instance_uid,
        "diagnostics": [
            {
                "severity": d.severity.value,
                "path": d.path or "header",
                "message": d.message,
                "fixup": d.fixup,
            }
            for d in merged_diagnostics(doc, diagnostics)
        ],
    }


@cache
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render_html(doc: Document, diagnostics: list[Diagnostic] | None = None) -> str:
    """A self-contained HTML page of ``doc``.

    Parameters
    ----------
    doc : Document
        The document.
    diagnostics : list of Diagnostic, optional
        Findings to list at the end besides the reader's own (``doc.diagnostics``),
        typically :func:`srkit.validate.validate` ``(doc)``; duplicates are dropped.
    """
    template = _environment().get_template("report.html.j2")
    return str(template.render(doc=document_view(doc, diagnostics)))
