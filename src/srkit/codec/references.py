"""References inside and out of an SR document (PS3.3 C.17.3.2.4, C.18.3, PS3.5 9.1).

By-reference relationships (an item that points at another item by its position,
PS3.3 C.17.3.2.4 and Table C.17-6) are checked once the whole tree is read:
dangling targets, references to an ancestor, longer cycles. References to other
SOP Instances (the Referenced SOP Sequence of COMPOSITE, IMAGE and WAVEFORM items,
PS3.3 C.18.3-C.18.5) are read here, with their UIDs checked against PS3.5 9.1.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from srkit.codec import tags as T
from srkit.codec.diagnostic_codes import ReadCode
from srkit.model.items import ContentItem, ReferenceContentItem, SopReference
from srkit.model.navigation import all_items, walk

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from srkit.codec.content import ContentReader

__all__ = ["REFERENCE_CYCLE", "check_references", "is_uid", "sop_reference"]

REFERENCE_CYCLE = "by-reference relationships form a cycle"
"""Message of a loop through several by-reference relationships, none of which
targets an ancestor of its source (DCMTK's ``mkreport lp`` report): allowed by
PS3.3, so the reader records it with severity INFO (code ``reference-cycle``)."""

_UID = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+")


def is_uid(uid: str) -> bool:
    """Whether ``uid`` has the syntax of a UID (PS3.5 9.1: digits and dots, <= 64)."""
    return len(uid) <= 64 and _UID.fullmatch(uid) is not None


def sop_reference(
    r: ContentReader, ds: Dataset, path: str, what: str
) -> tuple[SopReference | None, Dataset | None]:
    """The Referenced SOP Sequence of a COMPOSITE, IMAGE or WAVEFORM item.

    Returns
    -------
    (SopReference or None, Dataset or None)
        The reference and its sequence item (for frame, segment and channel numbers);
        ``(None, None)`` if the sequence is absent or empty.
    """
    seq = r.sequence(ds, T.REFERENCED_SOP_SEQUENCE, path)
    if not seq:
        r.problem(
            path, ReadCode.SOP_REFERENCE_MISSING, f"{what} item without Referenced SOP Sequence"
        )
        return None, None
    if len(seq) > 1:
        r.problem(
            path,
            ReadCode.SOP_REFERENCE_MULTIPLE,
            f"Referenced SOP Sequence of {what} has {len(seq)} items, one allowed",
        )
    ref_item = seq[0]
    cls = r.safe_string(ref_item, T.REFERENCED_SOP_CLASS_UID, "UI", path) or ""
    inst = r.safe_string(ref_item, T.REFERENCED_SOP_INSTANCE_UID, "UI", path) or ""
    if not cls or not inst:
        r.problem(
            path,
            ReadCode.SOP_REFERENCE_INCOMPLETE,
            f"{what} reference without SOP Class or Instance UID",
        )
    elif not is_uid(cls) or not is_uid(inst):
        r.problem(
            path,
            ReadCode.SOP_REFERENCE_INVALID_UID,
            f"{what} reference has an invalid UID ({cls}, {inst})",
        )
    return SopReference(sop_class_uid=cls, sop_instance_uid=inst), ref_item


def check_references(root: ContentItem) -> list[tuple[str, ReadCode, str]]:
    """Dangling targets and cycles of by-reference relationships, as (id, code, message).

    A reference to the item itself or to one of its ancestors is an error (PS3.3
    C.17.3.1 leaves it to the IOD; the Extensible SR IOD forbids it "to prevent
    loops", DCMTK warns about it in every IOD). A longer cycle, a path that following
    children and references comes back to an item already on it, is reported once
    as :data:`REFERENCE_CYCLE` (code ``reference-cycle``): no rule forbids it, but
    following references naively would never end.
    """
    for item in all_items(root):  # most documents have none: no position ids made
        if isinstance(item, ReferenceContentItem):
            break
    else:
        return []
    ids: dict[str, ContentItem] = {}
    refs: dict[str, str] = {}
    for pos in walk(root):
        ids[pos.id] = pos.item
        if isinstance(pos.item, ReferenceContentItem):
            refs[pos.id] = pos.item.ref_id
    problems: list[tuple[str, ReadCode, str]] = []
    if not refs:
        return problems
    for src, target in refs.items():
        if target not in ids:
            problems.append(
                (src, ReadCode.REFERENCE_DANGLING, f"by-reference target {target} does not exist")
            )
        elif target == src or src.startswith(target + "."):
            problems.append(
                (
                    src,
                    ReadCode.REFERENCE_TO_ANCESTOR,
                    f"by-reference relationship to {target} forms a cycle",
                )
            )
    # Longer cycles through several references: from a reference, the path goes on
    # through every reference inside the target's subtree.
    reported = {p[0] for p in problems}
    live = {src: t for src, t in refs.items() if src not in reported and t in ids}
    edges = {
        src: [other for other in live if other == t or other.startswith(t + ".")]
        for src, t in live.items()
    }
    state: dict[str, int] = {}  # 1 on the path, 2 done
    for start in edges:
        if state.get(start):
            continue
        stack = [(start, iter(edges[start]))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                problems.append((nxt, ReadCode.REFERENCE_CYCLE, REFERENCE_CYCLE))
                state[nxt] = 2
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(edges[nxt])))
    return problems
