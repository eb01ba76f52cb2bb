"""TID 10011 CT Radiation Dose, with TID 10012-10015 (PS3.16).

See PS3.16 `TID 10011 <https://dicom.nema.org/medical/dicom/current/output/chtml/part16/
sect_TID_10011.html>`_: the report-level rows (shared with TID 10001, in
:mod:`srkit.templates.dose_common`), one CT Accumulated Dose Data container (TID 10012)
and one CT Acquisition container per irradiation event (TID 10013), whose CT Acquisition
Parameters hold the scanning length (TID 10014) and one CT X-Ray Source Parameters
container per source, and whose CT Dose holds the dose check details (TID 10015).
"""

from __future__ import annotations

from typing import Any

from srkit.diagnostics import Severity
from srkit.model.code import Code
from srkit.model.document import Document
from srkit.model.items import ContainerContentItem
from srkit.templates.dose_common import PROCEDURE_REPORTED, DoseReport, RecordReader, dcm

__all__ = [
    "CT_ACCUMULATED_DOSE_DATA",
    "CT_ACQUISITION",
    "CT_PROCEDURE",
    "CONSTANT_ANGLE_ACQUISITION",
    "LIST_KEYS",
    "CtRadiationDose",
    "read",
]

CT_ACCUMULATED_DOSE_DATA = dcm("113811", "CT Accumulated Dose Data")
CT_ACQUISITION = dcm("113819", "CT Acquisition")
CONSTANT_ANGLE_ACQUISITION = dcm("113805", "Constant Angle Acquisition")
CT_PROCEDURE = Code.make("77477000", "SCT", "Computed Tomography X-Ray")
"""Procedure reported of a CT dose report (SRT P5-08000 equals it)."""

LIST_KEYS = frozenset({"ct_xray_source_parameters"})
"""TID 10013 rows that repeat: CT X-Ray Source Parameters (1-n, one per source)."""

_DLP_TOLERANCE = 0.01


class CtRadiationDose:
    """Reader of TID 10011 CT Radiation Dose reports.

    Parameters
    ----------
    doc : Document
        A document whose root is X-Ray Radiation Dose Report (113701, DCM).
    strict_units : bool
        Numbers whose unit cannot be understood become null instead of being kept
        unnormalised (see :meth:`RecordReader.number`).
    """

    template = "10011"

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
        paths: list[str] = []
        consumed: set[int] = set()
        for n, child in enumerate(self.doc.root.children, 1):
            if not isinstance(child, ContainerContentItem):
                continue
            if child.concept == CT_ACCUMULATED_DOSE_DATA:
                accumulated.append(r.record(child, f"1.{n}"))
                consumed.add(n)
            elif child.concept == CT_ACQUISITION:
                events.append(r.record(child, f"1.{n}"))
                paths.append(f"1.{n}")
                consumed.add(n)
        _check_procedure(self.doc, r)
        _check_accumulated(accumulated, events, r)
        _check_events(events, paths, r)
        return r.report(self.template, accumulated, events, consumed)


def read(doc: Document, *, strict_units: bool = False) -> DoseReport:
    """Read a TID 10011 CT dose report (see :class:`CtRadiationDose`)."""
    return CtRadiationDose(doc, strict_units=strict_units).read()


def _check_procedure(doc: Document, r: RecordReader) -> None:
    for n, child in enumerate(doc.root.children, 1):
        if child.concept == PROCEDURE_REPORTED:
            value = getattr(child, "value", None)
            if value is not None and value != CT_PROCEDURE:
                r.problem(
                    f"1.{n}",
                    Severity.WARNING,
                    f"procedure reported {value} is not Computed Tomography X-Ray "
                    "(TID 10011 row 2)",
                )


def _check_accumulated(
    accumulated: list[dict[str, Any]], events: list[dict[str, Any]], r: RecordReader
) -> None:
    if not accumulated:
        r.problem(
            "1",
            Severity.ERROR,
            "no CT Accumulated Dose Data (113811, DCM) container (TID 10011 requires one, "
            "TID 10012); totals are missing, events are read",
        )
        return
    total = accumulated[0]
    count = total.get("total_number_of_irradiation_events")
    if isinstance(count, float) and int(count) != len(events):
        r.problem(
            "1",
            Severity.WARNING,
            f"Total Number of Irradiation Events is {count:g} but the report has "
            f"{len(events)} CT Acquisition containers",
        )
    dlp_total = total.get("ct_dose_length_product_total")
    dlps = [e.get("ct_dose", {}).get("dlp") for e in events if isinstance(e.get("ct_dose"), dict)]
    numbers = [d for d in dlps if isinstance(d, float)]
    if isinstance(dlp_total, float) and numbers:
        summed = sum(numbers)
        if abs(summed - dlp_total) > _DLP_TOLERANCE * max(dlp_total, 1.0):
            r.problem(
                "1",
                Severity.WARNING,
                f"CT Dose Length Product Total {dlp_total:g} mGy.cm differs from the sum "
                f"of the events' DLP, {summed:g} mGy.cm",
            )


def _check_events(events: list[dict[str, Any]], paths: list[str], r: RecordReader) -> None:
    for n, (event, path) in enumerate(zip(events, paths), 1):
        kind = event.get("ct_acquisition_type")
        if isinstance(kind, dict) and Code.from_dict(kind) == CONSTANT_ANGLE_ACQUISITION:
            continue  # a localizer: TID 10013 requires CT Dose only for other types
        dose = event.get("ct_dose")
        if not isinstance(dose, dict) or dose.get("mean_ctdivol") is None:
            r.problem(
                path,
                Severity.WARNING,
                f"event {n}: no Mean CTDIvol (113830, DCM) although the acquisition is not "
                "a Constant Angle Acquisition (TID 10013, CT Dose)",
            )
