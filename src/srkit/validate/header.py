"""Header checks: the type 1 and type 2 attributes of the SR IOD modules (PS3.3 A.35)
and the Verification Flag rule of the SR Document General Module (PS3.3 C.17.2).

The model names some header attributes (completion flag, content date ...); those are
read from the :class:`~srkit.model.Document` so that a document changed with
``dataclasses.replace`` is judged as it stands. The others are looked up in the parsed
dataset the codec keeps in ``Document.header``; a document built in memory (no header
dataset) is checked only on the attributes the model names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from srkit.diagnostics import Diagnostic, Severity
from srkit.model.document import Document
from srkit.validate.iod import OBSERVER_ITEM, REQUEST_ITEM, Attr, Iod, header_attributes

__all__ = ["check_header"]

_MODEL: dict[int, Callable[[Document], str | None]] = {
    0x00200013: lambda d: d.instance_number,
    0x0040A491: lambda d: d.completion_flag,
    0x0040A493: lambda d: d.verification_flag,
    0x00080023: lambda d: d.content_date,
    0x00080033: lambda d: d.content_time,
}


def _tag(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _state(ds: Any, tag: int) -> str:
    """``"absent"``, ``"empty"`` or ``"present"`` for ``tag`` in a pydicom dataset."""
    if ds is None or not hasattr(ds, "__contains__") or tag not in ds:
        return "absent"
    try:
        value = ds[tag].value
    except Exception:
        return "present"
    if value is None or value == "" or (hasattr(value, "__len__") and len(value) == 0):
        return "empty"
    return "present"


def _problem(attr: Attr, state: str, where: str = "") -> Diagnostic | None:
    if state == "present" or (state == "empty" and attr.type == "2"):
        return None
    what = "missing" if state == "absent" else "empty"
    return Diagnostic(
        path="",
        severity=Severity.ERROR,
        message=f"{where}{attr.keyword} {_tag(attr.tag)} {what} (type {attr.type}, {attr.module})",
    )


def _attr_state(doc: Document, attr: Attr) -> str | None:
    getter = _MODEL.get(attr.tag)
    ds = doc.header
    if getter is not None:
        if getter(doc):
            return "present"
        return _state(ds, attr.tag) if ds is not None else "absent"
    if ds is None:
        return None  # built in memory: unknown, not judged
    return _state(ds, attr.tag)


def _items(ds: Any, tag: int) -> list[Any]:
    if _state(ds, tag) != "present":
        return []
    try:
        return list(ds[tag].value)
    except Exception:
        return []


def _nested(doc: Document, iod: Iod | None) -> Iterator[Diagnostic]:
    ds = doc.header
    if ds is None:
        return
    nested: list[tuple[int, str, tuple[Attr, ...]]] = [
        (0x0040A370, "ReferencedRequestSequence", REQUEST_ITEM)
    ]
    if iod is None or not iod.key_object:
        nested.append((0x0040A073, "VerifyingObserverSequence", OBSERVER_ITEM))
    for tag, name, attrs in nested:
        for n, item in enumerate(_items(ds, tag), 1):
            for attr in attrs:
                diag = _problem(attr, _state(item, attr.tag), f"{name}[{n}] ")
                if diag is not None:
                    yield diag


def _modality(doc: Document, iod: Iod | None) -> Iterator[Diagnostic]:
    expected = "KO" if iod is not None and iod.key_object else "SR"
    ds = doc.header
    actual = doc.series.modality
    if ds is not None and _state(ds, 0x00080060) != "present":
        return  # reported as missing
    if actual and actual != expected:
        yield Diagnostic(
            path="",
            severity=Severity.ERROR,
            message=f"Modality (0008,0060) is {actual!r}, must be {expected!r}",
        )


def _root_template(doc: Document, iod: Iod | None) -> Iterator[Diagnostic]:
    if iod is None or not iod.root_templates:
        return
    allowed = " or ".join(f"TID {t}" for t in iod.root_templates)
    declared = doc.template_id
    if declared is None:
        yield Diagnostic(
            path="1",
            severity=Severity.ERROR,
            message=f"root has no Content Template Sequence; {iod.name} requires {allowed}",
        )
    elif declared not in iod.root_templates:
        yield Diagnostic(
            path="1",
            severity=Severity.ERROR,
            message=f"root template TID {declared} not allowed; {iod.name} requires {allowed}",
        )


def _verification(doc: Document) -> Iterator[Diagnostic]:
    """PS3.3 Table C.17-2, Verification Flag: "A value of VERIFIED shall be used only
    when the value of Completion Flag (0040,A491) is COMPLETE"."""
    completion = (doc.completion_flag or "").strip()
    if (doc.verification_flag or "").strip() == "VERIFIED" and completion not in ("", "COMPLETE"):
        yield Diagnostic(
            path="",
            severity=Severity.ERROR,
            message=(
                f"VerificationFlag (0040,A493) is VERIFIED but CompletionFlag (0040,A491) is "
                f"{completion}: only a COMPLETE document may be verified (PS3.3 Table C.17-2)"
            ),
            code="verified-not-complete",
        )


def check_header(doc: Document, iod: Iod | None) -> list[Diagnostic]:
    """Missing or empty required header attributes (path ``""``), wrong Modality,
    a VERIFIED document that is not COMPLETE, and a missing root template where the
    IOD requires one (path ``"1"``).

    Parameters
    ----------
    doc : Document
        The document.
    iod : Iod or None
        Its IOD rules; ``None`` (a retired or unknown SR class) checks nothing.
    """
    out: list[Diagnostic] = list(_verification(doc))
    if iod is None:
        return out  # retired or unknown SR class: no module table to judge by
    for attr in header_attributes(iod):
        state = _attr_state(doc, attr)
        if state is not None:
            diag = _problem(attr, state)
            if diag is not None:
                out.append(diag)
    out.extend(_nested(doc, iod))
    out.extend(_modality(doc, iod))
    out.extend(_root_template(doc, iod))
    return out
