"""A small rule engine for SR templates (PS3.16 Annex A, "Template table structure").

A :class:`Template` is a table of :class:`Row` as PS3.16 prints it: relationship with
the parent, value type, concept name, value multiplicity (``min``/``max``),
requirement, and the value set or units constraint. Rows that include a sub-template
carry it in ``template``. The engine checks a content item against a template and
returns :class:`~srkit.diagnostics.Diagnostic` records with the item id as path.

Missing required items, too many items, a wrong value type or relationship, and units
outside the prescribed ones are errors; a code outside a context group is a warning,
since most context groups are extensible (PS3.16 Section 6.5).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from srkit.diagnostics import Diagnostic, Severity
from srkit.model.code import Code
from srkit.model.items import (
    CodeContentItem,
    ContentItem,
    NumContentItem,
    ReferenceContentItem,
)

__all__ = ["Row", "Template", "check", "cid_keys", "code", "Check"]

Check = Callable[[str, ContentItem], Iterator[Diagnostic]]
"""An extra rule of a template: (item id, item) -> findings."""


def code(value: str, scheme: str, meaning: str) -> Code:
    """Shorthand for :meth:`Code.make`."""
    return Code.make(value, scheme, meaning)


@cache
def cid_keys(cid: int) -> frozenset[tuple[str, str]]:
    """(scheme, value) keys of the codes of context group ``cid``, from the tables
    pydicom ships (``pydicom.sr._cid_dict``, ``pydicom.sr._concepts_dict``)."""
    from pydicom.sr._cid_dict import cid_concepts
    from pydicom.sr._concepts_dict import concepts

    keys: set[tuple[str, str]] = set()
    groups: dict[str, list[str]] = cid_concepts.get(cid, {})
    for scheme, keywords in groups.items():
        table: dict[str, Any] = concepts.get(scheme, {})
        for keyword in keywords:
            for value in table.get(keyword, {}):
                keys.add(Code(value=value, scheme=scheme).key)
    return frozenset(keys)


@dataclass(frozen=True, slots=True)
class Row:
    """One row of a template table.

    Parameters
    ----------
    concept : Code or None
        Concept name (EV or DT); ``None`` matches children by value type and
        relationship alone (rows whose concept comes from a context group).
    value_types : str
        Allowed value types, space separated.
    relationship : str
        Relationship with the parent.
    min, max : int, int or None
        Value multiplicity; ``max=None`` is ``n``.
    cid : int or None
        Context group of a CODE value (``values``) or of the concept name when
        ``concept`` is ``None``.
    values : tuple of Code
        Enumerated values of a CODE item (instead of ``cid``).
    units : tuple of str
        UCUM units allowed for a NUM item.
    template : Template or None
        The included or nested template that the matching items follow.
    condition : callable or None
        Row applies only when ``condition(parent)`` is true (MC, UC rows).
    """

    concept: Code | None
    value_types: str
    relationship: str
    min: int = 0
    max: int | None = 1
    cid: int | None = None
    values: tuple[Code, ...] = ()
    units: tuple[str, ...] = ()
    template: Template | None = None
    condition: Callable[[ContentItem], bool] | None = None

    def matches(self, item: ContentItem) -> bool:
        """Whether ``item`` is an instance of this row."""
        if self.concept is not None:
            return item.concept is not None and item.concept == self.concept
        if item.value_type not in self.value_types.split():
            return False
        if item.relationship != self.relationship:
            return False
        return self.cid is None or (
            item.concept is not None and item.concept.key in cid_keys(self.cid)
        )

    @property
    def label(self) -> str:
        if self.concept is not None:
            return f'"{self.concept.meaning}" ({self.concept.value}, {self.concept.scheme})'
        group = f" from CID {self.cid}" if self.cid else ""
        return f"{self.relationship} {self.value_types.replace(' ', '/')}{group}"


@dataclass(frozen=True, slots=True)
class Template:
    """A template table: its id, title and rows, plus extra rules."""

    tid: str
    title: str
    rows: tuple[Row, ...]
    checks: tuple[Check, ...] = field(default=())


def _err(path: str, message: str) -> Diagnostic:
    return Diagnostic(path=path, severity=Severity.ERROR, message=message)


def _warn(path: str, message: str) -> Diagnostic:
    return Diagnostic(path=path, severity=Severity.WARNING, message=message)


def _norm_unit(unit: str) -> str:
    for char in ".*{} ":
        unit = unit.replace(char, "")
    return unit.lower()


def _check_units(row: Row, path: str, item: NumContentItem, where: str) -> Iterator[Diagnostic]:
    units = item.units
    if not row.units or units is None:
        return
    if units.scheme == "UCUM" and units.value in row.units:
        return
    wanted = " or ".join(f"({u}, UCUM)" for u in row.units)
    found = f"({units.value}, {units.scheme})"
    if units.scheme == "UCUM" and _norm_unit(units.value) in {_norm_unit(u) for u in row.units}:
        yield _warn(path, f"{where}: units {found} spelled differently from {wanted}")
    else:
        yield _err(path, f"{where}: wrong units {found}, must be {wanted}")


def _check_value(row: Row, path: str, item: CodeContentItem, where: str) -> Iterator[Diagnostic]:
    value = item.value
    if value is None:
        return
    if row.values and value not in row.values:
        allowed = ", ".join(str(v) for v in row.values)
        yield _warn(path, f"{where}: value {value} is not one of {allowed}")
    elif row.cid is not None and row.concept is not None and value.key not in cid_keys(row.cid):
        yield _warn(path, f"{where}: value {value} is not in CID {row.cid}")


def _check_match(
    tmpl: Template, row: Row, path: str, item: ContentItem, depth: int
) -> Iterator[Diagnostic]:
    where = f"TID {tmpl.tid} {row.label}"
    if isinstance(item, ReferenceContentItem):
        return
    if item.value_type not in row.value_types.split():
        yield _err(path, f"{where}: value type {item.value_type}, must be {row.value_types}")
        return
    if item.relationship != row.relationship:
        yield _err(path, f"{where}: relationship {item.relationship}, must be {row.relationship}")
    if isinstance(item, NumContentItem):
        yield from _check_units(row, path, item, where)
    if isinstance(item, CodeContentItem):
        yield from _check_value(row, path, item, where)
    if (
        row.concept is None
        and row.cid is not None
        and item.concept is not None
        and item.concept.key not in cid_keys(row.cid)
    ):
        yield _warn(path, f"{where}: concept {item.concept} is not in CID {row.cid}")
    if row.template is not None:
        yield from check(row.template, path, item, depth=depth + 1)


def check(tmpl: Template, path: str, item: ContentItem, *, depth: int = 0) -> Iterator[Diagnostic]:
    """Check ``item`` (at ``path``) and its children against ``tmpl``."""
    if depth > 50:
        return
    children: Sequence[ContentItem] = item.children
    for row in tmpl.rows:
        if row.condition is not None and not row.condition(item):
            continue
        found = [(f"{path}.{n}", c) for n, c in enumerate(children, 1) if row.matches(c)]
        if len(found) < row.min:
            yield _err(
                path,
                f"TID {tmpl.tid} {tmpl.title}: missing {row.label} "
                f"(at least {row.min} required, found {len(found)})",
            )
        if row.max is not None and len(found) > row.max:
            for child_path, _ in found[row.max :]:
                yield _err(
                    child_path,
                    f"TID {tmpl.tid} {tmpl.title}: {row.label} repeated "
                    f"(at most {row.max} allowed, found {len(found)})",
                )
        for child_path, child in found:
            yield from _check_match(tmpl, row, child_path, child, depth)
    for extra in tmpl.checks:
        yield from extra(path, item)


def has_child(concept: Code, value: Code | None = None) -> Callable[[ContentItem], bool]:
    """A row condition: the parent has a child named ``concept`` (with CODE ``value``)."""

    def test(parent: ContentItem) -> bool:
        for child in parent.children:
            if child.concept is not None and child.concept == concept:
                if value is None:
                    return True
                if isinstance(child, CodeContentItem) and child.value == value:
                    return True
        return False

    return test
