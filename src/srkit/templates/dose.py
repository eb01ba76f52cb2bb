"""Radiation dose reports: recognise, read (TID 10011 or TID 10001), summarise.

The entry points the CLI and the database call: :func:`is_dose_report`,
:func:`dose_report` (a :class:`~srkit.templates.dose_common.DoseReport` whose
``to_dict()`` is the contract's object, see ``contract.md`` "Radiation dose") and
:func:`dose_summary` (one row per report). PS3.16 TID 10001 and TID 10011; the SOP
class is X-Ray Radiation Dose SR (PS3.4 B.5), or Enhanced/Comprehensive SR when a
vendor stored it so (GE: fix-up ``ge_enhanced_sr_dose_report``).
"""

from __future__ import annotations

from typing import Any

from srkit.codec.sopclass import XRAY_RADIATION_DOSE_SR
from srkit.diagnostics import Diagnostic, Severity
from srkit.model.code import Code
from srkit.model.document import Document
from srkit.templates import tid10001, tid10011
from srkit.templates.dose_common import XRAY_DOSE_REPORT, DoseReport

__all__ = ["DoseReport", "is_dose_report", "dose_report", "dose_template", "dose_summary"]


def is_dose_report(doc: Document) -> bool:
    """True when the root is X-Ray Radiation Dose Report (113701, DCM), whatever the SOP class."""
    return doc.root.concept is not None and doc.root.concept == XRAY_DOSE_REPORT


def dose_template(doc: Document) -> str | None:
    """``"10011"`` or ``"10001"``: declared, else inferred from the procedure or content."""
    declared = doc.template_id
    if declared in ("10011", "10001"):
        return declared
    procedure = tid10001.procedure_of(doc)
    if procedure == tid10011.CT_PROCEDURE:
        return "10011"
    concepts = {c.concept for c in doc.root.children if c.concept is not None}
    if tid10011.CT_ACQUISITION in concepts or tid10011.CT_ACCUMULATED_DOSE_DATA in concepts:
        return "10011"
    if (
        procedure in tid10001.KNOWN_PROCEDURES
        or tid10001.IRRADIATION_EVENT_XRAY_DATA in concepts
        or tid10001.ACCUMULATED_XRAY_DOSE_DATA in concepts
    ):
        return "10001"
    return None


def dose_report(doc: Document, *, strict_units: bool = False) -> DoseReport | None:
    """Read a dose report; ``None`` when ``doc`` is not one.

    Parameters
    ----------
    doc : Document
        Any SR document.
    strict_units : bool
        A number whose unit cannot be understood becomes null (ERROR diagnostic)
        instead of ``{"value", "unit", "scheme", "normalised": false}``.

    Returns
    -------
    DoseReport or None
        The contract's record (``.to_dict()``) and its ``.diagnostics``. A report
        whose template cannot be told is read as TID 10001 with an error diagnostic.
    """
    if not is_dose_report(doc):
        return None
    template = dose_template(doc)
    notes: list[Diagnostic] = []
    if template is None:
        template = "10001"
        notes.append(
            Diagnostic(
                path="1",
                severity=Severity.ERROR,
                message="neither TID 10011 nor TID 10001: no template declared, no known "
                "procedure reported, no accumulated or event containers; read as TID 10001",
            )
        )
    elif doc.template_id not in (None, template):
        notes.append(
            Diagnostic(
                path="1",
                severity=Severity.WARNING,
                message=f"declared template {doc.template_id} is not a dose template; "
                f"read as TID {template}",
            )
        )
    if doc.sop_class_uid != XRAY_RADIATION_DOSE_SR:
        notes.append(
            Diagnostic(
                path="",
                severity=Severity.WARNING,
                message=f"dose report stored with SOP class {doc.sop_class_uid}, not X-Ray "
                "Radiation Dose SR; read as a dose report",
                fixup="ge_enhanced_sr_dose_report",
            )
        )
    reader = tid10011.read if template == "10011" else tid10001.read
    report = reader(doc, strict_units=strict_units)
    report.diagnostics[:0] = notes
    return report


def _f(value: Any) -> float | None:
    return value if isinstance(value, float) else None


def _total(records: list[dict[str, Any]], key: str) -> float | None:
    values = [v for r in records if (v := _f(r.get(key))) is not None]
    return float(f"{sum(values):.15g}") if values else None


def _modality(report: dict[str, Any]) -> str:
    if report.get("template") == "10011":
        return "CT"
    procedure = report.get("procedure_reported")
    if isinstance(procedure, dict):
        code = Code.from_dict(procedure)
        known = tid10001.KNOWN_PROCEDURES.get(code)
        return known or str(procedure.get("meaning") or procedure.get("value"))
    return "unknown"


def dose_summary(report: dict[str, Any]) -> dict[str, Any]:
    """One row for one report (the contract's object, ``DoseReport.to_dict()``).

    Totals are in the prescribed units: DLP total in mGy.cm, CTDIvol in mGy, dose
    area products in Gy.m2, dose at the reference point in Gy (summed over the
    planes), times in s. ``number_of_events`` counts the event containers.
    """
    observer = report.get("observer") or {}
    accumulated: list[dict[str, Any]] = report.get("accumulated") or []
    events: list[dict[str, Any]] = report.get("events") or []
    ctdis = [
        v
        for e in events
        if isinstance(e.get("ct_dose"), dict)
        and (v := _f(e["ct_dose"].get("mean_ctdivol"))) is not None
    ]
    # TID 10001 has no start/end rows: the first and last event start stand in
    starts = [t for e in events if isinstance(t := e.get("datetime_started"), str)]
    return {
        "sop_instance_uid": report.get("sop_instance_uid"),
        "study_instance_uid": report.get("study_instance_uid"),
        "template": report.get("template"),
        "modality": _modality(report),
        "device": observer.get("device_observer_name") or report.get("station_name"),
        "manufacturer": report.get("manufacturer") or observer.get("device_observer_manufacturer"),
        "model": report.get("manufacturer_model_name")
        or observer.get("device_observer_model_name"),
        "start_of_xray_irradiation": report.get("start_of_xray_irradiation")
        or min(starts, default=None),
        "end_of_xray_irradiation": report.get("end_of_xray_irradiation")
        or max(starts, default=None),
        "number_of_events": len(events),
        "dlp_total": _total(accumulated, "ct_dose_length_product_total"),
        "max_ctdivol": max(ctdis) if ctdis else None,
        "dap_total": _total(accumulated, "dose_area_product_total"),
        "fluoro_dap_total": _total(accumulated, "fluoro_dose_area_product_total"),
        "acquisition_dap_total": _total(accumulated, "acquisition_dose_area_product_total"),
        "dose_rp_total": _total(accumulated, "dose_rp_total"),
        "fluoro_time_total": _total(accumulated, "total_fluoro_time"),
        "acquisition_time_total": _total(accumulated, "total_acquisition_time"),
    }
