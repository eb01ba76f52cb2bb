"""Template rules (PS3.16): which templates a document follows and their checks.

A document is checked against the template :func:`srkit.templates.registry.detect`
finds, the one rule every layer uses: the template its root declares (Content
Template Sequence, PS3.3 C.18.8.1.1), else the one its document title, content or
SOP class show (TID 1500 by the title (126000, DCM), TID 10011 / 10001 by the dose
report title with CT or projection X-ray evidence, TID 2010 by the Key Object
Selection SOP class). A detected template srkit has no rules for is not checked.
"""

from __future__ import annotations

from srkit.diagnostics import Diagnostic, Severity
from srkit.model.document import Document
from srkit.templates import registry
from srkit.templates.registry import detect_id
from srkit.validate.templates.dose import CT_RADIATION_DOSE, PROJECTION_XRAY_DOSE
from srkit.validate.templates.engine import Template, check, cid_keys
from srkit.validate.templates.reports import (
    BASIC_DIAGNOSTIC_REPORT,
    KEY_OBJECT_SELECTION,
    ROOT_CIDS,
)
from srkit.validate.templates.tid1500 import MEASUREMENT_REPORT

__all__ = ["TEMPLATES", "templates_for", "check_templates"]

TEMPLATES: dict[str, Template] = {
    registry.TID_1500: MEASUREMENT_REPORT,
    registry.TID_10011: CT_RADIATION_DOSE,
    registry.TID_10001: PROJECTION_XRAY_DOSE,
    registry.TID_2000: BASIC_DIAGNOSTIC_REPORT,
    registry.TID_2010: KEY_OBJECT_SELECTION,
}
"""Root templates srkit checks, by TID."""


def templates_for(doc: Document) -> list[str]:
    """The TIDs ``doc`` is checked against: the detected one, when srkit has its rules."""
    tid = detect_id(doc)
    return [tid] if tid is not None and tid in TEMPLATES else []


def check_templates(doc: Document) -> list[Diagnostic]:
    """Every finding of the template rules that apply to ``doc``."""
    out: list[Diagnostic] = []
    for tid in templates_for(doc):
        cid = ROOT_CIDS.get(tid)
        title = doc.title
        if cid is not None and title is not None and title.key not in cid_keys(cid):
            out.append(
                Diagnostic(
                    path="1",
                    severity=Severity.WARNING,
                    message=f"TID {tid}: document title {title} is not in CID {cid}",
                )
            )
        out.extend(check(TEMPLATES[tid], "1", doc.root))
    return out
