"""Template rules (PS3.16): which templates a document follows and their checks.

A document is checked against a template when its root declares it (Content
Template Sequence, PS3.3 C.18.8.1.1) or, for the templates srkit knows, when its
document title and content match one: TID 1500 by its title (126000, DCM), TID
10011 / 10001 by the dose report title with CT or projection X-ray accumulated dose
data, TID 2010 by the Key Object Selection SOP class.
"""

from __future__ import annotations

from srkit.diagnostics import Diagnostic, Severity
from srkit.model.document import Document
from srkit.validate.templates.dose import (
    ACCUMULATED_XRAY,
    CT_ACCUMULATED,
    CT_RADIATION_DOSE,
    DOSE_REPORT,
    PROJECTION_XRAY_DOSE,
)
from srkit.validate.templates.engine import Template, check, cid_keys, code
from srkit.validate.templates.reports import (
    BASIC_DIAGNOSTIC_REPORT,
    KEY_OBJECT_SELECTION,
    ROOT_CIDS,
)
from srkit.validate.templates.tid1500 import MEASUREMENT_REPORT

__all__ = ["TEMPLATES", "templates_for", "check_templates"]

TEMPLATES: dict[str, Template] = {
    "1500": MEASUREMENT_REPORT,
    "10011": CT_RADIATION_DOSE,
    "10001": PROJECTION_XRAY_DOSE,
    "2000": BASIC_DIAGNOSTIC_REPORT,
    "2010": KEY_OBJECT_SELECTION,
}
"""Root templates srkit checks, by TID."""

_KOS = "1.2.840.10008.5.1.4.1.1.88.59"
_MEASUREMENT_REPORT = code("126000", "DCM", "Imaging Measurement Report")


def templates_for(doc: Document) -> list[str]:
    """The TIDs ``doc`` is checked against (declared or matched)."""
    declared = doc.template_id
    if declared in TEMPLATES:
        return [declared]
    title = doc.title
    names = [c.concept for c in doc.root.children]
    if title is not None and title == _MEASUREMENT_REPORT:
        return ["1500"]
    if title is not None and title == DOSE_REPORT:
        if CT_ACCUMULATED in names:
            return ["10011"]
        if ACCUMULATED_XRAY in names:
            return ["10001"]
    if doc.sop_class_uid == _KOS:
        return ["2010"]
    return []


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
