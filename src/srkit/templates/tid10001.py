"""TID 10001 Projection X-Ray Radiation Dose, with TID 10002-10007 (PS3.16).

See PS3.16 `TID 10001 <https://dicom.nema.org/medical/dicom/current/output/chtml/part16/
sect_TID_10001.html>`_: the report-level rows (shared with TID 10011, in
:mod:`srkit.templates.dose_common`), one Accumulated X-Ray Dose Data container per
acquisition plane (TID 10002, holding TID 10004 fluoroscopy and acquisition totals,
TID 10005 mammography, TID 10006 cassette-based and TID 10007 total projection
radiography) and one Irradiation Event X-Ray Data container per event (TID 10003 with
TID 10003A detector, 10003B source and 10003C mechanical data).
"""

from __future__ import annotations

from typing import Any

from srkit.diagnostics import Severity
from srkit.model.code import Code
from srkit.model.document import Document
from srkit.model.items import ContainerContentItem
from srkit.templates.dose_common import PROCEDURE_REPORTED, DoseReport, RecordReader, dcm

__all__ = [
    "ACCUMULATED_XRAY_DOSE_DATA",
    "IRRADIATION_EVENT_XRAY_DATA",
    "PROJECTION_XRAY",
    "MAMMOGRAPHY",
    "KNOWN_PROCEDURES",
    "LIST_KEYS",
    "ProjectionXRayRadiationDose",
    "read",
]

ACCUMULATED_XRAY_DOSE_DATA = dcm("113702", "Accumulated X-Ray Dose Data")
IRRADIATION_EVENT_XRAY_DATA = dcm("113706", "Irradiation Event X-Ray Data")
PROJECTION_XRAY = dcm("113704", "Projection X-Ray")
MAMMOGRAPHY = Code.make("71651007", "SCT", "Mammography")
KNOWN_PROCEDURES = {PROJECTION_XRAY: "Projection X-Ray", MAMMOGRAPHY: "Mammography"}
"""Procedures reported that TID 10001 covers (CID 10000 minus CT), by modality name."""

LIST_KEYS = frozenset({"xray_filters", "calibration", "acquired_image"})
"""TID 10002/10003 rows that repeat: X-Ray Filters, Calibration, Acquired Image (1-n)."""


class ProjectionXRayRadiationDose:
    """Reader of TID 10001 Projection X-Ray Radiation Dose reports.

    Parameters
    ----------
    doc : Document
        A document whose root is X-Ray Radiation Dose Report (113701, DCM).
    strict_units : bool
        Numbers whose unit cannot be understood become null instead of being kept
        unnormalised (see :meth:`RecordReader.number`).
    """

    template = "10001"

    def __init__(self, doc: Document, *, strict_units: bool = False) -> None:
        self.doc = doc
        self.strict_units = strict_units

    def read(self) -> DoseReport:
        """The contract's record of the report, with diagnostics."""
        r = RecordReader(
            self.doc, LIST_KEYS, template=self.template, strict_units=self.strict_units
        )
        accumulated: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        consumed: set[int] = set()
        for n, child in enumerate(self.doc.root.children, 1):
            if not isinstance(child, ContainerContentItem):
                continue
            if child.concept == ACCUMULATED_XRAY_DOSE_DATA:
                accumulated.append(r.record(child, f"1.{n}"))
                consumed.add(n)
            elif child.concept == IRRADIATION_EVENT_XRAY_DATA:
                events.append(r.record(child, f"1.{n}"))
                consumed.add(n)
        _check_procedure(self.doc, r)
        if not accumulated:
            r.problem(
                "1",
                Severity.ERROR,
                "no Accumulated X-Ray Dose Data (113702, DCM) container (TID 10001 requires "
                "one per plane, TID 10002); totals are missing, events are read",
            )
        _check_planes(accumulated, events, r)
        return r.report(self.template, accumulated, events, consumed)


def read(doc: Document, *, strict_units: bool = False) -> DoseReport:
    """Read a TID 10001 projection X-ray dose report (see :class:`ProjectionXRayRadiationDose`)."""
    return ProjectionXRayRadiationDose(doc, strict_units=strict_units).read()


def procedure_of(doc: Document) -> Code | None:
    """The Procedure reported (121058, DCM) code of the report, if any."""
    for child in doc.root.children:
        if child.concept == PROCEDURE_REPORTED:
            value = getattr(child, "value", None)
            return value if isinstance(value, Code) else None
    return None


def _check_procedure(doc: Document, r: RecordReader) -> None:
    value = procedure_of(doc)
    if value is None:
        r.problem("1", Severity.WARNING, "no Procedure reported (121058, DCM) (TID 10001 row 2)")
    elif value not in KNOWN_PROCEDURES:
        r.problem(
            "1",
            Severity.WARNING,
            f"procedure reported {value} is not a modality srkit knows for TID 10001 "
            "(Projection X-Ray, Mammography); read as projection X-ray",
        )


def _check_planes(
    accumulated: list[dict[str, Any]], events: list[dict[str, Any]], r: RecordReader
) -> None:
    planes = {_plane(a) for a in accumulated}
    for n, event in enumerate(events, 1):
        plane = _plane(event)
        if accumulated and plane not in planes:
            r.problem(
                "1",
                Severity.WARNING,
                f"event {n}: acquisition plane {plane} has no Accumulated X-Ray Dose Data",
            )
            planes.add(plane)


def _plane(record: dict[str, Any]) -> str | None:
    plane = record.get("acquisition_plane")
    return str(plane.get("value")) if isinstance(plane, dict) else None
