"""A report for a terminal: title, header, indented sections, measurement groups and
irradiation events as aligned tables, codes by meaning, diagnostics at the end.

Unlike :mod:`srkit.render.text` (one line per content item, like ``dsrdump``) this
lays the document out as :mod:`srkit.render.html` does, from the same view model.
Control characters of values are escaped (:mod:`srkit.render.escape`); the line
breaks of a TEXT value (PS3.5 Section 6.1.3) start new lines, indented under the
value's first line.
"""

from __future__ import annotations

import textwrap
from typing import Any

from srkit.diagnostics import Diagnostic
from srkit.model.document import Document
from srkit.render.escape import escape_control, text_lines
from srkit.render.html import document_view

__all__ = ["render_text"]

View = dict[str, Any]


def _c(view: View | None) -> str:
    return escape_control(view["text"]) if view else ""


def _raw_value(node: View) -> str:
    """The value with its line breaks (other controls escaped later)."""
    text = _c(node["code"]) if node.get("code") else str(node["value"])
    if node.get("units"):
        text += f" {_c(node['units'])}"
    return text


def _value(node: View) -> str:
    """The value on one line (a table cell): line breaks escaped too."""
    return escape_control(_raw_value(node))


CELL = 40
"""The widest a table column gets; longer cells wrap onto more lines (never cut)."""
WIDTH = 132
"""The widest a table gets; an events table with more columns is split into several,
each repeating the event number (every column is shown)."""


def _wrap(cell: str, width: int) -> list[str]:
    if len(cell) <= width:
        return [cell]
    return textwrap.wrap(cell, width, break_long_words=True, break_on_hyphens=False) or [""]


def _table(head: list[str], rows: list[list[str]], indent: str) -> list[str]:
    """An aligned table; a cell wider than :data:`CELL` wraps inside its column."""
    widths = [min(len(h), CELL) for h in head]
    for row in rows:
        widths = [max(w, min(len(c), CELL)) for w, c in zip(widths, row, strict=True)]

    def lines(cells: list[str]) -> list[str]:
        wrapped = [_wrap(c, w) for c, w in zip(cells, widths, strict=True)]
        height = max(len(w) for w in wrapped)
        out = []
        for n in range(height):
            parts = [(w[n] if n < len(w) else "").ljust(width) for w, width in zip(wrapped, widths)]
            out.append((indent + "  ".join(parts)).rstrip())
        return out

    out = [*lines(head), indent + "  ".join("-" * w for w in widths)]
    for row in rows:
        out += lines(row)
    return out


def _column_chunks(widths: list[int], room: int) -> list[list[int]]:
    """Indices of the columns after the first, in groups whose table fits ``room``."""
    chunks: list[list[int]] = [[]]
    used = widths[0]
    for n in range(1, len(widths)):
        need = widths[n] + 2
        if chunks[-1] and used + need > room:
            chunks.append([])
            used = widths[0]
        chunks[-1].append(n)
        used += need
    return chunks


def _detail(node: View) -> str:
    """A modifier of a measurement, with its own modifiers (the laterality of a
    finding site) in brackets: ``Finding Site: Kidney (Laterality: Left)``."""
    name = _c(node.get("name"))
    text = f"{name}: {_value(node)}" if name else _value(node)
    subs = [_detail(child) for child in node.get("children") or () if child.get("kind") == "item"]
    return f"{text} ({'; '.join(subs)})" if subs else text


def _item(node: View, depth: int) -> list[str]:
    indent = "  " * depth
    name = _c(node["name"])
    label = f"{name}: " if name else ""
    first, *more = text_lines(_raw_value(node))
    lines = [f"{indent}{label}{first}"]
    lines += [f"{indent}{' ' * len(label)}{line}".rstrip() for line in more]
    for child in node["children"]:
        lines += _node(child, depth + 1)
    return lines


def _group(node: View, depth: int) -> list[str]:
    indent = "  " * depth
    lines = [f"{indent}{_c(node['title'])} [{node['id']}]"]
    for fact in node["facts"]:
        lines += _item(fact, depth + 1)
    if node["rows"]:
        rows = [
            [
                _c(r["name"]),
                escape_control(str(r["value"])),
                _c(r["units"]),
                "; ".join(_detail(m) for m in r["modifiers"]),
            ]
            for r in node["rows"]
        ]
        head = ["Measurement", "Value", "Units", "Details"]
        if not any(row[3] for row in rows):
            head, rows = head[:3], [row[:3] for row in rows]
        lines += _table(head, rows, indent + "  ")
    for child in node["children"]:
        lines += _node(child, depth + 1)
    return lines


def _events(node: View, depth: int) -> list[str]:
    """The events as a table; split into several tables of the same events (each
    naming its columns' range) when all columns would not fit :data:`WIDTH`."""
    indent = "  " * depth
    columns = node["columns"]
    head = ["#"] + [_c(c["name"]) for c in columns]
    rows = []
    for n, row in enumerate(node["rows"], 1):
        cells = [str(n)]
        for col in columns:
            cell = row["cells"].get(col["key"])
            cells.append(_value(cell) if cell else "")
        rows.append(cells)
    widths = [min(len(h), CELL) for h in head]
    for row in rows:
        widths = [max(w, min(len(c), CELL)) for w, c in zip(widths, row, strict=True)]
    chunks = _column_chunks(widths, WIDTH - len(indent) - 2)
    title = f"{indent}{_c(node['title'])} ({len(rows)} events)"
    if len(chunks) == 1:
        return [title, *_table(head, rows, indent + "  ")]
    lines = [title]
    for chunk in chunks:
        pick = [0, *chunk]
        lines.append(f"{indent}  columns {chunk[0]}-{chunk[-1]} of {len(columns)}:")
        lines += _table(
            [head[i] for i in pick], [[r[i] for i in pick] for r in rows], indent + "  "
        )
    return lines


def _section(node: View, depth: int) -> list[str]:
    indent = "  " * depth
    title = _c(node["title"]) or "(untitled section)"
    lines = ["", f"{indent}{title}", f"{indent}{'=' * len(title)}"]
    if not node["open"]:
        return [*lines, f"{indent}  ({len(node['children'])} items, not shown)"]
    for child in node["children"]:
        lines += _node(child, depth + 1)
    return lines


def _node(node: View, depth: int) -> list[str]:
    kind = node["kind"]
    if kind == "section":
        return _section(node, depth)
    if kind == "group":
        return _group(node, depth)
    if kind == "events":
        return _events(node, depth)
    return _item(node, depth)


def render_text(doc: Document, diagnostics: list[Diagnostic] | None = None) -> str:
    """The document as a report readable in a terminal.

    Parameters
    ----------
    doc : Document
        The document.
    diagnostics : list of Diagnostic, optional
        Findings to list at the end besides the reader's own.
    """
    view = document_view(doc, diagnostics)
    title = _c(view["title"])
    lines = [title, "#" * len(title)]
    header = [(r["label"], str(r["value"])) for r in view["header"]]
    if view["observers"]:
        header.append(("Verified by", "; ".join(view["observers"])))
    width = max((len(label) for label, _ in header), default=0)
    lines += [f"{label:<{width}}  {escape_control(value)}" for label, value in header]
    for child in view["root"]["children"]:
        lines += _node(child, 0)
    lines += ["", "Diagnostics", "==========="]
    if not view["diagnostics"]:
        lines.append("No problems found.")
    for d in view["diagnostics"]:
        lines.append(f"{d['severity']} {d['path']} {d['message']}")
    # every line once more: nothing a terminal obeys gets through (escaping is idempotent)
    return "\n".join(escape_control(line) for line in lines) + "\n"
