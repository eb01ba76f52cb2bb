"""Walking and searching content trees; position ids as DCMTK numbers them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from srkit.model.code import Code
from srkit.model.items import ContentItem

__all__ = [
    "Position",
    "walk",
    "all_items",
    "item_at",
    "parent_of",
    "find",
    "find_content_items",
    "parse_id",
]


@dataclass(frozen=True, slots=True)
class Position:
    """An item with its position id (``"1.2.3"``), depth-first index and parent."""

    id: str
    item: ContentItem
    parent: ContentItem | None


def walk(root: ContentItem, root_id: str = "1") -> Iterator[Position]:
    """Yield every item under (and including) ``root`` in document order.

    Iterative, so that very deep trees do not exhaust the recursion limit.
    """
    stack: list[tuple[str, ContentItem, ContentItem | None]] = [(root_id, root, None)]
    while stack:
        item_id, item, parent = stack.pop()
        yield Position(item_id, item, parent)
        children = item.children
        for n in range(len(children), 0, -1):
            stack.append((f"{item_id}.{n}", children[n - 1], item))


def all_items(root: ContentItem) -> list[ContentItem]:
    """Every item under (and including) ``root`` in document order, without position
    ids: the cheap pass for counting or scanning (a report of thousands of items
    would make as many :class:`Position` objects and id strings in :func:`walk`)."""
    out: list[ContentItem] = []
    stack = [root]
    while stack:
        item = stack.pop()
        out.append(item)
        children = item.children
        if children:
            stack.extend(reversed(children))
    return out


def parse_id(item_id: str) -> tuple[int, ...]:
    """``"1.2.3"`` -> ``(1, 2, 3)``; raises ``KeyError`` for a malformed id."""
    try:
        parts = tuple(int(p) for p in item_id.split("."))
    except ValueError:
        raise KeyError(item_id) from None
    if not parts or any(p < 1 for p in parts):
        raise KeyError(item_id)
    return parts


def _chain(root: ContentItem, item_id: str) -> list[ContentItem]:
    parts = parse_id(item_id)
    if parts[0] != 1:
        raise KeyError(item_id)
    chain = [root]
    for n in parts[1:]:
        children = chain[-1].children
        if n > len(children):
            raise KeyError(item_id)
        chain.append(children[n - 1])
    return chain


def item_at(root: ContentItem, item_id: str) -> ContentItem:
    """The item at ``item_id``; raises ``KeyError`` when there is none."""
    return _chain(root, item_id)[-1]


def parent_of(root: ContentItem, item_id: str) -> ContentItem | None:
    """The parent of the item at ``item_id``; ``None`` for the root."""
    chain = _chain(root, item_id)
    return chain[-2] if len(chain) > 1 else None


def find(
    root: ContentItem,
    concept: Code,
    *,
    relationship: str | None = None,
    recursive: bool = True,
    root_id: str = "1",
) -> list[Position]:
    """Items below ``root`` whose concept name equals ``concept``.

    Parameters
    ----------
    root : ContentItem
        Where to search; the root itself is not a match.
    concept : Code
        The concept name to look for (SRT codes match their SCT equivalents).
    relationship : str, optional
        Keep only items with this relationship to their parent.
    recursive : bool
        Search the whole subtree (default) or only direct children.
    """
    found: list[Position] = []
    if recursive:
        positions: Iterator[Position] = walk(root, root_id)
        next(positions)
    else:
        positions = (
            Position(f"{root_id}.{n}", child, root) for n, child in enumerate(root.children, 1)
        )
    for pos in positions:
        item = pos.item
        if (
            item.concept is not None
            and item.concept == concept
            and (relationship is None or item.relationship == relationship)
        ):
            found.append(pos)
    return found


def find_content_items(
    root: ContentItem,
    concept: Code | None = None,
    *,
    value_type: str | None = None,
    relationship: str | None = None,
    recursive: bool = False,
) -> list[ContentItem]:
    """highdicom-style search of the children of ``root`` by name, type, relationship."""
    items: Iterator[ContentItem]
    if recursive:
        it = walk(root)
        next(it)
        items = (p.item for p in it)
    else:
        items = iter(root.children)
    out = []
    for item in items:
        if concept is not None and item.concept != concept:
            continue
        if value_type is not None and item.value_type != value_type:
            continue
        if relationship is not None and item.relationship != relationship:
            continue
        out.append(item)
    return out
