"""Content tree checks of the SR IODs (PS3.3 A.35, C.17.3, C.18).

Value types and relationships allowed by the IOD's relationship content constraints,
by-reference relationships, references listed in the evidence sequences (C.17.2.3),
coordinates selected from an image (C.18.6, C.18.7), frame numbers of single-frame
images, value attributes that do not belong to the item's value type, code values
too long for Code Value (Table 8.8-1a) and units outside UCUM (C.18.1.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from srkit.diagnostics import Diagnostic, Severity
from srkit.model.code import Code, CodeValueKind
from srkit.model.document import Document
from srkit.model.items import (
    CodeContentItem,
    CompositeContentItem,
    ContentItem,
    ImageContentItem,
    NumContentItem,
    ReferenceContentItem,
    UnknownContentItem,
    WaveformContentItem,
)
from srkit.model.navigation import Position
from srkit.model.sopclass import SINGLE_FRAME_IMAGE_CLASSES
from srkit.validate.iod import Iod
from srkit.validate.relationships import allows

__all__ = ["check_content", "SINGLE_FRAME_CLASSES"]

SINGLE_FRAME_CLASSES = SINGLE_FRAME_IMAGE_CLASSES
"""Image storage classes that are single-frame: Referenced Frame Number (0008,1160)
shall not be present in a reference to them (PS3.3 C.17.3.2.1 / Table 10-3); defined
in :mod:`srkit.model.sopclass`."""

# Value attributes of the Document Content Macro (Table C.17-5) and the value type
# each belongs to: present on an item of another type they are type 1C violations.
_VALUE_TAGS: dict[int, tuple[str, str]] = {
    0x0040A160: ("TextValue", "TEXT"),
    0x0040A123: ("PersonName", "PNAME"),
    0x0040A120: ("DateTime", "DATETIME"),
    0x0040A121: ("Date", "DATE"),
    0x0040A122: ("Time", "TIME"),
    0x0040A124: ("UID", "UIDREF"),
    0x0040A168: ("ConceptCodeSequence", "CODE"),
    0x0040A300: ("MeasuredValueSequence", "NUM"),
}


def _err(path: str, message: str) -> Diagnostic:
    return Diagnostic(path=path, severity=Severity.ERROR, message=message)


def _warn(path: str, message: str) -> Diagnostic:
    return Diagnostic(path=path, severity=Severity.WARNING, message=message)


def _relationship(pos: Position, iod: Iod, types: dict[str, str]) -> Iterator[Diagnostic]:
    item, parent = pos.item, pos.parent
    if parent is None or item.relationship is None or isinstance(item, UnknownContentItem):
        return
    by_ref = isinstance(item, ReferenceContentItem)
    if by_ref:
        assert isinstance(item, ReferenceContentItem)
        target = types.get(item.ref_id)
        if not iod.by_reference:
            yield _err(
                pos.id,
                f"by-reference relationship ({item.relationship} {item.ref_id}) not allowed "
                f"in {iod.name} (PS3.3 {iod.section})",
            )
            return
        if target is None:
            return  # dangling: the reader reports it
    else:
        target = item.value_type
    if not allows(
        iod.relationships, parent.value_type, item.relationship, target, by_reference=by_ref
    ):
        how = " by reference" if by_ref else ""
        yield _err(
            pos.id,
            f"{parent.value_type} {item.relationship} {target}{how} not allowed in "
            f"{iod.name} (PS3.3 Table {iod.section}-2)",
        )


def _value_type(pos: Position, iod: Iod) -> Iterator[Diagnostic]:
    item = pos.item
    if isinstance(item, ReferenceContentItem | UnknownContentItem):
        return
    if item.value_type not in iod.value_types:
        yield _err(pos.id, f"value type {item.value_type} not allowed in {iod.name}")


def _stray_values(path: str, item: ContentItem, ds: Any) -> Iterator[Diagnostic]:
    if ds is None or not hasattr(ds, "__contains__") or isinstance(item, UnknownContentItem):
        return
    for tag, (keyword, owner) in _VALUE_TAGS.items():
        if owner != item.value_type and tag in ds:
            yield _err(
                path,
                f"{keyword} present on a {item.value_type} item "
                f"(type 1C, only for {owner}; PS3.3 Table C.17-5)",
            )


def _evidence_uids(doc: Document) -> set[str]:
    uids: set[str] = set()
    for study in (*doc.evidence, *doc.pertinent_other_evidence):
        uids.update(study.sop_instance_uids())
    return uids


def _references(pos: Position, evidence: set[str]) -> Iterator[Diagnostic]:
    item = pos.item
    if not isinstance(item, CompositeContentItem | ImageContentItem | WaveformContentItem):
        return
    refs = [("", item.referenced)]
    if isinstance(item, ImageContentItem):
        refs.append(("presentation state ", item.presentation_state))
    for what, ref in refs:
        if ref is None:
            continue
        if ref.sop_instance_uid not in evidence:
            uid = ref.sop_instance_uid or "(empty UID)"
            yield _err(
                pos.id,
                f"referenced {what}SOP instance {uid} is not listed in Current Requested "
                "Procedure Evidence or Pertinent Other Evidence (PS3.3 C.17.2.3)",
            )
    if (
        isinstance(item, ImageContentItem)
        and item.frames
        and item.referenced is not None
        and item.referenced.sop_class_uid in SINGLE_FRAME_CLASSES
    ):
        yield _err(
            pos.id,
            "Referenced Frame Number present for a single-frame SOP class "
            f"({item.referenced.sop_class_uid})",
        )


def _coordinates(pos: Position, types: dict[str, str]) -> Iterator[Diagnostic]:
    item = pos.item
    wanted = {"SCOORD": {"IMAGE"}, "TCOORD": {"SCOORD", "SCOORD3D", "IMAGE", "WAVEFORM"}}
    targets = wanted.get(item.value_type)
    if targets is None:
        return
    for _n, child in enumerate(item.children, 1):
        if child.relationship != "SELECTED FROM":
            continue
        if isinstance(child, ReferenceContentItem):
            vt = types.get(child.ref_id, "")
        else:
            vt = child.value_type
        if vt in targets:
            return
    section = "C.18.6" if item.value_type == "SCOORD" else "C.18.7"
    yield _err(
        pos.id,
        f"{item.value_type} has no SELECTED FROM child "
        f"({' or '.join(sorted(targets))}) (PS3.3 {section})",
    )


def _codes(item: ContentItem) -> Iterator[tuple[str, Code]]:
    if item.concept is not None:
        yield "concept name", item.concept
    if isinstance(item, CodeContentItem) and item.value is not None:
        yield "concept code", item.value
    if isinstance(item, NumContentItem):
        if item.units is not None:
            yield "units", item.units
        if item.qualifier is not None:
            yield "qualifier", item.qualifier


def _code_checks(pos: Position) -> Iterator[Diagnostic]:
    for what, code in _codes(pos.item):
        if code.kind is CodeValueKind.SHORT and len(code.value) > 16:
            yield _err(
                pos.id,
                f"{what} Code Value {code.value!r} is longer than 16 characters "
                "(use Long Code Value; PS3.3 Table 8.8-1a)",
            )
        if what == "units" and code.scheme != "UCUM":
            yield _warn(
                pos.id,
                f"units {code} are not UCUM (PS3.3 C.18.1.1, DCID 82 Measurement Units)",
            )


def check_content(doc: Document, iod: Iod | None) -> list[Diagnostic]:
    """Every content tree finding of the IOD rules, in document order.

    Parameters
    ----------
    doc : Document
        The document.
    iod : Iod or None
        Its IOD; ``None`` skips the value type and relationship tables (retired and
        unknown SR classes) but keeps the checks common to all SR IODs.
    """
    positions = list(doc.walk())
    types = {
        p.id: p.item.value_type
        for p in positions
        if not isinstance(p.item, ReferenceContentItem | UnknownContentItem)
    }
    evidence = _evidence_uids(doc)
    out: list[Diagnostic] = []
    for pos in positions:
        if iod is not None:
            out.extend(_value_type(pos, iod))
            out.extend(_relationship(pos, iod, types))
        ds = doc.header if pos.parent is None else pos.item.extra
        out.extend(_stray_values(pos.id, pos.item, ds))
        out.extend(_references(pos, evidence))
        out.extend(_coordinates(pos, types))
        out.extend(_code_checks(pos))
    return out
