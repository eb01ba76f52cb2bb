"""Validation of SR documents against their IOD (PS3.3 A.35) and templates (PS3.16).

``validate(doc)`` returns the findings of the rules as
:class:`~srkit.diagnostics.Diagnostic` records whose ``path`` is the content item id
(``"1.2.3"``) or ``""`` for the header. The problems the reader already found are on
``doc.diagnostics`` and are not repeated here; :func:`all_diagnostics` gives both.
"""

from __future__ import annotations

from srkit.diagnostics import Diagnostic
from srkit.model.document import Document
from srkit.validate.attributes import check_attributes
from srkit.validate.content import check_content
from srkit.validate.header import check_header
from srkit.validate.iod import IODS, Iod, iod_for
from srkit.validate.templates import check_templates, templates_for

__all__ = ["validate", "all_diagnostics", "IODS", "Iod", "iod_for", "templates_for"]


def validate(doc: Document) -> list[Diagnostic]:
    """Check ``doc`` against its SOP class's IOD rules and the templates it follows.

    Parameters
    ----------
    doc : Document
        A document read by :func:`srkit.codec.read` or built in memory.

    Returns
    -------
    list of Diagnostic
        Header findings first (path ``""``), then content and template findings in
        document order of the items they concern.
    """
    iod = iod_for(doc.sop_class_uid)
    found = (
        check_header(doc, iod)
        + check_content(doc, iod)
        + check_templates(doc)
        + check_attributes(doc)
    )
    return sorted(found, key=lambda d: _order(d.path))


def all_diagnostics(doc: Document) -> list[Diagnostic]:
    """The reader's diagnostics followed by :func:`validate`'s, without duplicates."""
    out = list(doc.diagnostics)
    seen = {(d.path, d.severity, d.message) for d in out}
    for diag in validate(doc):
        if (diag.path, diag.severity, diag.message) not in seen:
            out.append(diag)
    return out


def _order(path: str) -> tuple[int, ...]:
    if not path:
        return ()
    try:
        return tuple(int(p) for p in path.split("."))
    except ValueError:
        return (1 << 30,)
