"""TID 1500 Measurement Report: read a document into records and table rows.

See PS3.16 `TID 1500 <https://dicom.nema.org/medical/dicom/current/output/chtml/part16/
chapter_A.html#sect_TID_1500>`_. The report has a header (language, observer context of
TID 1001/1002, procedure reported), an image library (TID 1600), the ``Imaging
Measurements`` container with measurement groups (TID 1410, 1411, 1501: see
:mod:`srkit.templates.tid1501`), optionally ``Derived Imaging Measurements`` and report
level ``Qualitative Evaluations``.

Rows follow the contract's measurement table (the Imaging Data Commons
``quantitative_measurements`` and ``qualitative_measurements`` columns).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from srkit.diagnostics import Diagnostic, Severity
from srkit.model.code import Code
from srkit.model.concepts import (
    COUNTRY_OF_LANGUAGE,
    DERIVED_IMAGING_MEASUREMENTS,
    IMAGE_LIBRARY,
    IMAGE_LIBRARY_GROUP,
    IMAGING_MEASUREMENT_REPORT,
    IMAGING_MEASUREMENTS,
    LANGUAGE,
    MEASUREMENT_GROUP,
    PROCEDURE_REPORTED,
    QUALITATIVE_EVALUATIONS,
)
from srkit.model.document import Document
from srkit.model.items import (
    CodeContentItem,
    ContainerContentItem,
    ContentItem,
    ImageContentItem,
    SopReference,
    TextContentItem,
)
from srkit.templates.context import (
    ObserverContext,
    SubjectContext,
    read_observer_context,
    read_subject_context,
)
from srkit.templates.registry import TID_1500, detect_id
from srkit.templates.tid1419 import Measurement
from srkit.templates.tid1501 import (
    MeasurementGroup,
    QualitativeEvaluation,
    read_measurement_group,
)

__all__ = [
    "MEASUREMENT_REPORT",
    "LANGUAGE",
    "COUNTRY_OF_LANGUAGE",
    "PROCEDURE_REPORTED",
    "IMAGE_LIBRARY",
    "IMAGE_LIBRARY_GROUP",
    "IMAGING_MEASUREMENTS",
    "DERIVED_IMAGING_MEASUREMENTS",
    "QUALITATIVE_EVALUATIONS",
    "QUANTITATIVE_COLUMNS",
    "QUALITATIVE_COLUMNS",
    "MeasurementReport",
    "is_measurement_report",
    "read_measurement_report",
    "measurement_rows",
    "qualitative_rows",
    "report_rows",
]

MEASUREMENT_REPORT = IMAGING_MEASUREMENT_REPORT
"""The document title of TID 1500 (:data:`srkit.model.concepts.IMAGING_MEASUREMENT_REPORT`)."""

QUANTITATIVE_COLUMNS = (
    "sop_instance_uid",
    "study_instance_uid",
    "series_instance_uid",
    "measurement_group_number",
    "tracking_identifier",
    "tracking_unique_identifier",
    "finding",
    "finding_site",
    "laterality",
    "quantity",
    "value",
    "units",
    "derivation",
    "measurement_method",
    "segmentation_sop_instance_uid",
    "segment_number",
    "source_sop_instance_uids",
)
"""Columns of a quantitative row, in order (contract, ``srkit measurements``)."""

QUALITATIVE_COLUMNS = tuple(c for c in QUANTITATIVE_COLUMNS if c != "units")
"""Columns of a qualitative row: the same without ``units``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasurementReport:
    """The records of one TID 1500 Measurement Report.

    Parameters
    ----------
    sop_instance_uid, study_instance_uid, series_instance_uid : str
        Of the SR document.
    language, country_of_language : Code or None
        TID 1204 Language of Content Item and Descendants, and its country modifier.
    observers : tuple of ObserverContext
        TID 1002 observers, in order.
    subject : SubjectContext or None
        TID 1006 subject context.
    procedure_reported : tuple of Code
        Procedure reported (121058, DCM), in order.
    image_library : tuple of SopReference
        Images listed in the Image Library (TID 1600), in order.
    groups : tuple of MeasurementGroup
        Measurement groups of ``Imaging Measurements`` and ``Derived Imaging
        Measurements``, numbered from 1 in document order.
    qualitative : tuple of QualitativeEvaluation
        Report-level qualitative evaluations (TID 1500 row 12).
    diagnostics : tuple of Diagnostic
        Every problem found (the document's own read diagnostics are not repeated).
    """

    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    language: Code | None = None
    country_of_language: Code | None = None
    observers: tuple[ObserverContext, ...] = ()
    subject: SubjectContext | None = None
    procedure_reported: tuple[Code, ...] = ()
    image_library: tuple[SopReference, ...] = ()
    groups: tuple[MeasurementGroup, ...] = ()
    qualitative: tuple[QualitativeEvaluation, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    def measurement_rows(self) -> list[dict[str, Any]]:
        """Quantitative rows (see :func:`measurement_rows`)."""
        return [_quantitative_row(self, g, m) for g in self.groups for m in g.measurements]

    def qualitative_rows(self) -> list[dict[str, Any]]:
        """Qualitative rows (see :func:`qualitative_rows`)."""
        rows = [_qualitative_row(self, g, q) for g in self.groups for q in g.qualitative]
        rows.extend(_qualitative_row(self, None, q) for q in self.qualitative)
        return rows


def is_measurement_report(doc: Document) -> bool:
    """Whether ``doc`` is a TID 1500 Measurement Report.

    The one rule of :func:`srkit.templates.registry.detect`: the root declares
    template 1500, or (undeclared) its concept name is Imaging Measurement Report
    (126000, DCM).
    """
    return detect_id(doc) == TID_1500


def _image_library(container: ContainerContentItem) -> list[SopReference]:
    out: list[SopReference] = []
    stack: list[ContentItem] = [container]
    while stack:
        item = stack.pop()
        if isinstance(item, ImageContentItem) and item.referenced is not None:
            out.append(item.referenced)
        elif isinstance(item, ContainerContentItem):
            stack.extend(reversed(item.children))
    return out


def _groups(
    container: ContainerContentItem, path: str, start: int, diagnostics: list[Diagnostic]
) -> list[MeasurementGroup]:
    out: list[MeasurementGroup] = []
    for n, item in enumerate(container.children, start=1):
        if not isinstance(item, ContainerContentItem):
            continue
        where = f"{path}.{n}"
        if item.concept != MEASUREMENT_GROUP:
            diagnostics.append(
                Diagnostic(
                    path=where,
                    severity=Severity.WARNING,
                    message=f"container {item.concept} in Imaging Measurements is not a "
                    "Measurement Group (125007, DCM); read as one",
                )
            )
        out.append(read_measurement_group(item, where, start + len(out), diagnostics))
    return out


def _qualitative(container: ContainerContentItem, path: str) -> list[QualitativeEvaluation]:
    return [
        QualitativeEvaluation(name=item.concept, value=item.value, path=f"{path}.{n}")
        for n, item in enumerate(container.children, start=1)
        if isinstance(item, CodeContentItem | TextContentItem) and item.relationship == "CONTAINS"
    ]


def read_measurement_report(doc: Document) -> MeasurementReport:
    """Read a TID 1500 Measurement Report into records.

    Parameters
    ----------
    doc : Document
        Any SR document. One that is not a TID 1500 report gives a report with no
        groups and an ERROR diagnostic, so that batch callers go on.

    Returns
    -------
    MeasurementReport
        Records with every problem found in ``diagnostics``.
    """
    diagnostics: list[Diagnostic] = []
    base: dict[str, Any] = {
        "sop_instance_uid": doc.sop_instance_uid,
        "study_instance_uid": doc.study.instance_uid,
        "series_instance_uid": doc.series.instance_uid,
    }
    if not is_measurement_report(doc):
        declared = f"TID {doc.template_id}" if doc.template_id else "no template"
        diagnostics.append(
            Diagnostic(
                path="1",
                severity=Severity.ERROR,
                message=f"not a TID 1500 Measurement Report (root {doc.root.concept}, {declared})",
            )
        )
        return MeasurementReport(**base, diagnostics=tuple(diagnostics))
    root = doc.root
    fields: dict[str, Any] = {}
    procedures: list[Code] = []
    library: list[SopReference] = []
    groups: list[MeasurementGroup] = []
    qualitative: list[QualitativeEvaluation] = []
    seen_measurements = False
    for n, item in enumerate(root.children, start=1):
        path = f"1.{n}"
        concept = item.concept
        if isinstance(item, CodeContentItem) and item.relationship == "HAS CONCEPT MOD":
            if concept == LANGUAGE:
                fields["language"] = item.value
                for child in item.children:
                    if isinstance(child, CodeContentItem) and child.concept == COUNTRY_OF_LANGUAGE:
                        fields["country_of_language"] = child.value
            elif concept == PROCEDURE_REPORTED and item.value is not None:
                procedures.append(item.value)
        elif isinstance(item, ContainerContentItem):
            if concept == IMAGE_LIBRARY:
                library.extend(_image_library(item))
            elif concept in (IMAGING_MEASUREMENTS, DERIVED_IMAGING_MEASUREMENTS):
                seen_measurements = True
                groups.extend(_groups(item, path, len(groups) + 1, diagnostics))
            elif concept == QUALITATIVE_EVALUATIONS:
                qualitative.extend(_qualitative(item, path))
    if not seen_measurements and not qualitative:
        diagnostics.append(
            Diagnostic(
                path="1",
                severity=Severity.WARNING,
                message="report has no Imaging Measurements (126010, DCM) container",
            )
        )
    return MeasurementReport(
        **base,
        **fields,
        observers=tuple(read_observer_context(root.children)),
        subject=read_subject_context(root.children),
        procedure_reported=tuple(procedures),
        image_library=tuple(library),
        groups=tuple(groups),
        qualitative=tuple(qualitative),
        diagnostics=tuple(diagnostics),
    )


def _code(code: Code | None) -> dict[str, Any] | None:
    return None if code is None else code.to_dict()


def _group_columns(report: MeasurementReport, group: MeasurementGroup | None) -> dict[str, Any]:
    seg = group.referenced_segment if group is not None else None
    return {
        "sop_instance_uid": report.sop_instance_uid,
        "study_instance_uid": report.study_instance_uid,
        "series_instance_uid": report.series_instance_uid,
        "measurement_group_number": group.number if group is not None else None,
        "tracking_identifier": group.tracking_identifier if group is not None else None,
        "tracking_unique_identifier": group.tracking_unique_identifier
        if group is not None
        else None,
        "finding": _code(group.finding) if group is not None else None,
        "finding_site": _code(group.finding_site) if group is not None else None,
        "laterality": _code(group.laterality) if group is not None else None,
        "segmentation_sop_instance_uid": seg.sop_instance_uid if seg is not None else None,
        "segment_number": seg.segment_number if seg is not None else None,
    }


def _quantitative_row(
    report: MeasurementReport, group: MeasurementGroup, m: Measurement
) -> dict[str, Any]:
    cols = _group_columns(report, group)
    sources = list(group.source_sop_instance_uids)
    sources.extend(u for u in m.source_sop_instance_uids if u not in sources)
    if m.finding_site is not None:
        cols["finding_site"] = _code(m.finding_site)
    if m.laterality is not None:
        cols["laterality"] = _code(m.laterality)
    cols.update(
        quantity=_code(m.quantity),
        value=m.value,
        units=_code(m.units),
        derivation=_code(m.derivation),
        measurement_method=_code(m.measurement_method or group.measurement_method),
        source_sop_instance_uids=sources,
    )
    return {name: cols[name] for name in QUANTITATIVE_COLUMNS}


def _qualitative_row(
    report: MeasurementReport, group: MeasurementGroup | None, q: QualitativeEvaluation
) -> dict[str, Any]:
    cols = _group_columns(report, group)
    value: Any = q.value.to_dict() if isinstance(q.value, Code) else q.value
    cols.update(
        quantity=_code(q.name),
        value=value,
        derivation=None,
        measurement_method=_code(group.measurement_method) if group is not None else None,
        source_sop_instance_uids=list(group.source_sop_instance_uids) if group else [],
    )
    return {name: cols[name] for name in QUALITATIVE_COLUMNS}


def measurement_rows(doc: Document) -> list[dict[str, Any]]:
    """One row per quantitative measurement (NUM) of a TID 1500 report, in document order.

    Parameters
    ----------
    doc : Document
        Any SR document; one that is not TID 1500 gives no rows.

    Returns
    -------
    list of dict
        Rows with exactly :data:`QUANTITATIVE_COLUMNS`: codes as code objects,
        ``value`` a float (``None`` when the NUM has no measured value).
    """
    return read_measurement_report(doc).measurement_rows()


def qualitative_rows(doc: Document) -> list[dict[str, Any]]:
    """One row per qualitative evaluation of a TID 1500 report, in document order.

    Group evaluations come first (by group), then report-level ones (TID 1500 row 12,
    ``measurement_group_number`` ``None``). ``value`` is a code object (a string
    for a TEXT evaluation).
    """
    return read_measurement_report(doc).qualitative_rows()


def report_rows(
    doc: Document, kind: str = "quantitative"
) -> tuple[list[dict[str, Any]], MeasurementReport]:
    """Rows of ``kind`` (``"quantitative"`` or ``"qualitative"``) with the records.

    Reads the document once; the records carry the diagnostics.
    """
    report = read_measurement_report(doc)
    rows = report.measurement_rows() if kind == "quantitative" else report.qualitative_rows()
    return rows, report
