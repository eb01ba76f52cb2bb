"""Exams: one row per indexed dose report, the facts DRLs and alerts need.

An exam is one radiation dose report (PS3.16 TID 10011 CT or TID 10001 projection
X-ray) read back from the ``report`` JSON the index stores. Its protocol is the
Acquisition Protocol (125203, DCM) of its first irradiation event that is not a
localizer (CT Acquisition Type Constant Angle Acquisition, 113805), its body region the
Target Region (123014, DCM) of that event, its station the report's Station Name
(else the device observer name). Numbers stay in template units: DLP mGy.cm, CTDIvol
mGy (the exam's value is the maximum Mean CTDIvol of its events), DAP Gy.m2, Dose (RP)
Gy.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

__all__ = ["Exam", "exam_from_report", "load_exams", "exam_date"]

_LOCALIZER = "113805"
EXAM_CACHE_SIZE = 4096
"""Exams :func:`load_exams` keeps (with ``cached=True``) for the next call of the
process: the dose alert hook reads a patient's other exams at each new dose report,
and would otherwise decode each of their stored reports again every time."""
_CACHE: OrderedDict[tuple[Any, ...], Exam] = OrderedDict()
_CACHE_LOCK = threading.Lock()


@dataclass(slots=True)
class Exam:
    """One dose report as an exam (see the module docstring for each field's source)."""

    sop_instance_uid: str
    study_instance_uid: str | None
    patient_id: str | None
    patient_name: str | None
    study_date: str | None
    start: str | None
    template: str | None
    modality: str
    station: str | None
    manufacturer: str | None
    protocol: str | None
    body_region: str | None
    dlp_total: float | None
    ctdivol: float | None
    dap_total: float | None
    dose_rp_total: float | None
    number_of_events: int
    dose_checks: list[dict[str, Any]] = field(default_factory=list)
    standard_name: str | None = None

    @property
    def date(self) -> str | None:
        """``YYYY-MM-DD``: the start of irradiation, else the study date."""
        return exam_date(self.start, self.study_date)

    @property
    def name(self) -> str | None:
        """The standard study name when mapped, else the vendor's protocol name."""
        return self.standard_name or self.protocol

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (JSON, CSV)."""
        out = asdict(self)
        out["date"] = self.date
        return out


def exam_date(start: str | None, study_date: str | None) -> str | None:
    """``YYYY-MM-DD`` from an ISO datetime, else from a DICOM DA."""
    if start and len(start) >= 10 and start[4] == "-":
        return start[:10]
    if study_date and len(study_date) == 8 and study_date.isdigit():
        return f"{study_date[:4]}-{study_date[4:6]}-{study_date[6:]}"
    return None


def _f(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _meaning(code: Any) -> str | None:
    if isinstance(code, Mapping):
        return str(code.get("meaning") or code.get("value") or "") or None
    return None


def _total(accumulated: list[dict[str, Any]], key: str) -> float | None:
    values = [v for a in accumulated if (v := _f(a.get(key))) is not None]
    return float(f"{sum(values):.15g}") if values else None


def _modality(report: Mapping[str, Any]) -> str:
    if report.get("template") == "10011":
        return "CT"
    procedure = report.get("procedure_reported")
    meaning = (_meaning(procedure) or "").lower()
    if "mammo" in meaning:
        return "MG"
    return "XR"


def _dose_checks(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The CT Dose Check details (TID 10015) the scanner recorded, per event."""
    out = []
    for n, event in enumerate(events, 1):
        dose = event.get("ct_dose")
        if not isinstance(dose, Mapping):
            continue
        for key, kind in (
            ("dose_check_alert_details", "alert"),
            ("dose_check_notification_details", "notification"),
        ):
            details = dose.get(key)
            if isinstance(details, Mapping):
                out.append(
                    {
                        "event_number": n,
                        "kind": kind,
                        "protocol": event.get("acquisition_protocol"),
                        **dict(details),
                    }
                )
    return out


def exam_from_report(report: Mapping[str, Any], context: Mapping[str, Any]) -> Exam:
    """The exam of one report (the contract's record) and its database context
    (``patient_id``, ``patient_name``, ``study_date``, ``sop_instance_uid``)."""
    events: list[dict[str, Any]] = [e for e in report.get("events") or [] if isinstance(e, dict)]
    accumulated = [a for a in report.get("accumulated") or [] if isinstance(a, dict)]
    main = next(
        (
            e
            for e in events
            if not (
                isinstance(e.get("ct_acquisition_type"), Mapping)
                and e["ct_acquisition_type"].get("value") in (_LOCALIZER, "P5-08001")
            )
        ),
        events[0] if events else {},
    )
    ctdis = [
        v
        for e in events
        if isinstance(e.get("ct_dose"), Mapping)
        and (v := _f(e["ct_dose"].get("mean_ctdivol"))) is not None
    ]
    starts = [t for e in events if isinstance(t := e.get("datetime_started"), str)]
    observer = report.get("observer") or {}
    protocol = main.get("acquisition_protocol")
    return Exam(
        sop_instance_uid=str(context.get("sop_instance_uid") or report.get("sop_instance_uid")),
        study_instance_uid=context.get("study_instance_uid") or report.get("study_instance_uid"),
        patient_id=context.get("patient_id"),
        patient_name=context.get("patient_name"),
        study_date=context.get("study_date"),
        start=report.get("start_of_xray_irradiation") or min(starts, default=None),
        template=report.get("template"),
        modality=_modality(report),
        station=report.get("station_name") or observer.get("device_observer_name"),
        manufacturer=report.get("manufacturer"),
        protocol=str(protocol).strip() if isinstance(protocol, str) and protocol.strip() else None,
        body_region=_meaning(main.get("target_region")),
        dlp_total=_total(accumulated, "ct_dose_length_product_total"),
        ctdivol=max(ctdis) if ctdis else None,
        dap_total=_total(accumulated, "dose_area_product_total"),
        dose_rp_total=_total(accumulated, "dose_rp_total"),
        number_of_events=len(events),
        dose_checks=_dose_checks(events),
    )


def load_exams(
    db: Any,
    *,
    sop_instance_uids: Iterable[str] | None = None,
    patient_ids: Iterable[str] | None = None,
    cached: bool = False,
) -> list[Exam]:
    """Every exam of the database (or of the given dose report instances, or of the
    given patients), by date.

    With ``cached``, exams read before by this process (at most
    :data:`EXAM_CACHE_SIZE`, the least recently used dropped) are not read again: an
    exam is known by its report's row, its instance's content hash and time of
    indexing, and its patient and study columns, so a report stored again, or a
    patient or study whose columns changed, is read afresh. Each call returns its own
    copies."""
    from srkit.db.srquery import dose_exam_keys_query, dose_exam_query

    queries = _queries(
        dose_exam_keys_query if cached else dose_exam_query, sop_instance_uids, patient_ids
    )
    if cached:
        return _load_cached(db, queries)
    exams = []
    with db._reader.connect() as conn:  # the read engine of srkit.db.Database
        for stmt in queries:
            for row in conn.execute(stmt):
                m = row._mapping
                exams.append(exam_from_report(json.loads(m["report"]), m))
    return _by_date(exams)


def _queries(
    make: Any, sop_instance_uids: Iterable[str] | None, patient_ids: Iterable[str] | None
) -> list[Any]:
    """The statements ``make`` gives for every dose report, or for those of the given
    instances or patients in bounded IN lists (SQLite and PostgreSQL limit the
    parameters of one statement); none for an empty list."""
    from srkit.db.sql import chunks

    if sop_instance_uids is not None:
        return [make(list(part), None) for part in chunks(list(sop_instance_uids))]
    if patient_ids is not None:
        return [make(None, list(part)) for part in chunks(list(patient_ids))]
    return [make()]


def _load_cached(db: Any, queries: list[Any]) -> list[Exam]:
    """:func:`load_exams` with ``cached=True``, of the key ``queries``
    (:func:`srkit.db.srquery.dose_exam_keys_query`)."""
    from srkit.db.sql import chunks
    from srkit.db.srquery import dose_reports_query

    found: list[tuple[tuple[Any, ...], Mapping[str, Any]]] = []
    exams: dict[tuple[Any, ...], Exam] = {}
    with db._reader.connect() as conn:  # the read engine of srkit.db.Database
        for stmt in queries:
            found.extend((tuple(row), row._mapping) for row in conn.execute(stmt))
        with _CACHE_LOCK:
            for key, _ in found:
                exam = _CACHE.get(key)
                if exam is not None:
                    _CACHE.move_to_end(key)
                    exams[key] = exam
        missing = {int(m["report_pk"]): (key, m) for key, m in found if key not in exams}
        for part in chunks(list(missing)):
            for pk, text in conn.execute(dose_reports_query(list(part))):
                key, m = missing[int(pk)]
                exams[key] = exam_from_report(json.loads(text), m)
    with _CACHE_LOCK:
        for key, _ in found:
            if key in exams and key not in _CACHE:
                _CACHE[key] = exams[key]
        while len(_CACHE) > EXAM_CACHE_SIZE:
            _CACHE.popitem(last=False)
    return _by_date([_copy(exams[key]) for key, _ in found if key in exams])


def _by_date(exams: list[Exam]) -> list[Exam]:
    """``exams`` sorted by date, start and SOP Instance UID (in place, and returned)."""
    exams.sort(key=lambda e: (e.date or "", e.start or "", e.sop_instance_uid))
    return exams


def _copy(exam: Exam) -> Exam:
    """A caller's own copy of a kept exam (its dose check list too: callers may set
    ``standard_name`` or change the list)."""
    return replace(exam, dose_checks=[dict(check) for check in exam.dose_checks])
