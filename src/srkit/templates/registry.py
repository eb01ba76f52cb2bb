"""Which template a document follows: the one rule every layer uses (PS3.16, PS3.3 C.18.8).

:func:`detect` answers "which root template is this document" for the template readers,
the validator, the renderers and the archive index. The rules, in order:

1. **Declared.** The root's Content Template Sequence (0040,A504) identifies the
   template (PS3.3 Section C.18.8.1.1 and Table C.18.8-1: Mapping Resource and
   Template Identifier). A declaration from the DICOM Content Mapping Resource
   (Mapping Resource ``DCMR``) is taken as it is, whatever the template; one from
   another mapping resource names no PS3.16 template and is passed over.
2. **Document title.** Undeclared, the root concept name (the Document Title, PS3.3
   C.17.3) decides: (126000, DCM, "Imaging Measurement Report") is TID 1500
   Measurement Report (PS3.16 TID 1500, DCID 7021).
3. **Dose report title and content.** (113701, DCM, "X-Ray Radiation Dose Report") is
   the title of both TID 10011 CT Radiation Dose and TID 10001 Projection X-Ray
   Radiation Dose (PS3.16). CT evidence is looked for first: the procedure reported
   (77477000, SCT, "Computed Tomography X-Ray"), then a CT Accumulated Dose Data (TID
   10012) or CT Acquisition (TID 10013) container make it TID 10011; then a procedure
   reported (113704, DCM, "Projection X-Ray") or (71651007, SCT, "Mammography"), or
   an Accumulated X-Ray Dose Data (TID 10002) or Irradiation Event X-Ray Data (TID
   10003) container make it TID 10001. A dose report none of these tell apart has no
   template (``None``).
4. **SOP class.** A Key Object Selection Document (PS3.3 A.35.4) follows TID 2010: the
   IOD prescribes it as its only root template.

Otherwise the document follows no template srkit knows (``None``). Measurement groups
inside a TID 1500 report (TID 1501 / 1410 / 1411) are told apart by
:mod:`srkit.templates.tid1501`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from srkit.model.code import Code
from srkit.model.concepts import (
    ACCUMULATED_XRAY_DOSE_DATA,
    CT_ACCUMULATED_DOSE_DATA,
    CT_ACQUISITION,
    CT_PROCEDURE,
    IMAGING_MEASUREMENT_REPORT,
    IRRADIATION_EVENT_XRAY_DATA,
    MAMMOGRAPHY,
    PROCEDURE_REPORTED,
    PROJECTION_XRAY,
    XRAY_RADIATION_DOSE_REPORT,
)
from srkit.model.document import Document
from srkit.model.items import CodeContentItem, TemplateId
from srkit.model.sopclass import KEY_OBJECT_SELECTION

__all__ = [
    "DCMR",
    "TID_1500",
    "TID_10011",
    "TID_10001",
    "TID_2010",
    "TID_2000",
    "KNOWN_TEMPLATES",
    "DOSE_TEMPLATES",
    "Rule",
    "Detection",
    "KnownTemplate",
    "detect",
    "detection",
    "detect_id",
    "document_kind",
]

DCMR = "DCMR"
"""Mapping Resource (0008,0105) of the PS3.16 templates."""

TID_1500 = "1500"
TID_10011 = "10011"
TID_10001 = "10001"
TID_2010 = "2010"
TID_2000 = "2000"


@dataclass(frozen=True, slots=True)
class KnownTemplate:
    """A root template srkit reads or checks.

    Parameters
    ----------
    identifier : str
        Template Identifier (0040,DB00), e.g. ``"1500"``.
    name : str
        Its PS3.16 name.
    kind : str
        What the archive calls documents of it (``sr_document.kind``).
    """

    identifier: str
    name: str
    kind: str


KNOWN_TEMPLATES: dict[str, KnownTemplate] = {
    t.identifier: t
    for t in (
        KnownTemplate(TID_1500, "Measurement Report", "measurement_report"),
        KnownTemplate(TID_10011, "CT Radiation Dose", "dose_report"),
        KnownTemplate(TID_10001, "Projection X-Ray Radiation Dose", "dose_report"),
        KnownTemplate(TID_2010, "Key Object Selection", "key_object_selection"),
        KnownTemplate(TID_2000, "Basic Diagnostic Imaging Report", "other"),
    )
}
"""Root templates srkit knows, by identifier."""

DOSE_TEMPLATES = frozenset({TID_10011, TID_10001})
"""The radiation dose root templates srkit reads (PS3.16 TID 10011, TID 10001)."""


class Rule(StrEnum):
    """Which rule of :func:`detection` decided (stable codes, module docstring order)."""

    DECLARED = "declared"
    TITLE = "title"
    DOSE_CONTENT = "dose-content"
    SOP_CLASS = "sop-class"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Detection:
    """The template of a document and the rule that told it.

    Parameters
    ----------
    template : TemplateId or None
        The declared Content Template Sequence item, or one built for the inferred
        template (Mapping Resource ``DCMR``); ``None`` when no rule applies.
    rule : Rule
        The rule that decided.
    """

    template: TemplateId | None
    rule: Rule

    @property
    def identifier(self) -> str | None:
        """The template identifier (``"1500"``) or ``None``."""
        return self.template.identifier if self.template is not None else None


def _inferred(identifier: str, rule: Rule) -> Detection:
    return Detection(TemplateId(identifier=identifier, mapping_resource=DCMR), rule)


def _procedure(doc: Document) -> Code | None:
    """The first Procedure reported (121058, DCM) under the root, if coded."""
    for child in doc.root.children:
        if child.concept is not None and child.concept == PROCEDURE_REPORTED:
            return child.value if isinstance(child, CodeContentItem) else None
    return None


def _dose_template(doc: Document) -> str | None:
    """TID 10011 or 10001 from the procedure reported and the containers (rule 3).

    CT evidence is looked for first (a CT procedure, then CT containers), then
    projection X-ray evidence (its procedures, then its containers).
    """
    procedure = _procedure(doc)
    if procedure is not None and procedure == CT_PROCEDURE:
        return TID_10011
    concepts = [c.concept for c in doc.root.children if c.concept is not None]
    if CT_ACCUMULATED_DOSE_DATA in concepts or CT_ACQUISITION in concepts:
        return TID_10011
    if procedure is not None and procedure in (PROJECTION_XRAY, MAMMOGRAPHY):
        return TID_10001
    if ACCUMULATED_XRAY_DOSE_DATA in concepts or IRRADIATION_EVENT_XRAY_DATA in concepts:
        return TID_10001
    return None


def detection(doc: Document) -> Detection:
    """The template ``doc`` follows and the rule that told it (see the module docstring).

    Parameters
    ----------
    doc : Document
        Any SR document.

    Returns
    -------
    Detection
        ``template`` ``None`` (rule ``NONE``) when no rule applies.
    """
    declared = doc.template
    if declared is not None and (declared.mapping_resource or DCMR).strip().upper() == DCMR:
        return Detection(declared, Rule.DECLARED)
    title = doc.title
    if title is not None:
        if title == IMAGING_MEASUREMENT_REPORT:
            return _inferred(TID_1500, Rule.TITLE)
        if title == XRAY_RADIATION_DOSE_REPORT:
            dose = _dose_template(doc)
            if dose is not None:
                return _inferred(dose, Rule.DOSE_CONTENT)
    if doc.sop_class_uid == KEY_OBJECT_SELECTION:
        return _inferred(TID_2010, Rule.SOP_CLASS)
    return Detection(None, Rule.NONE)


def detect(doc: Document) -> TemplateId | None:
    """The root template ``doc`` follows: declared, else inferred; ``None`` when unknown.

    Parameters
    ----------
    doc : Document
        Any SR document.

    Returns
    -------
    TemplateId or None
        The Content Template Sequence item of the root when it declares a DCMR
        template, else one built for the template the title, content or SOP class
        show (rules 2-4 of the module docstring).
    """
    return detection(doc).template


def detect_id(doc: Document) -> str | None:
    """The identifier of :func:`detect` (``"1500"``, ``"10011"`` ...) or ``None``."""
    return detection(doc).identifier


def document_kind(doc: Document) -> str:
    """What the archive calls ``doc``: ``measurement_report``, ``dose_report``,
    ``key_object_selection`` or ``other``.

    The kind of the detected template (:data:`KNOWN_TEMPLATES`); a document titled
    X-Ray Radiation Dose Report whose template srkit does not know (rule 3 gives none,
    or it declares another one) is still a ``dose_report``: :mod:`srkit.templates.dose`
    reads every document with that title.
    """
    identifier = detect_id(doc)
    known = KNOWN_TEMPLATES.get(identifier) if identifier is not None else None
    if known is not None:
        return known.kind
    title = doc.title
    if title is not None and title == XRAY_RADIATION_DOSE_REPORT:
        return "dose_report"
    return "other"
