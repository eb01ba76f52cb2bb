"""Dose tables of a dataset (TID 10011 CT, TID 10001 projection X-ray): one row per
report (``dose_reports``) and one per irradiation event (``dose_events``), with fixed
columns whatever the reports hold; the whole record is kept as JSON text beside them.

An adapter over :mod:`srkit.templates.dose` (``dose_report``, ``dose_summary``): the
same functions serve files and the database's stored records, so both give one row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from srkit.tables.write import Schema, json_default

__all__ = ["DOSE_EVENTS", "DOSE_REPORTS", "dose_tables", "plain_report"]

_REPORT_FLOATS = (
    "dlp_total",
    "max_ctdivol",
    "dap_total",
    "fluoro_dap_total",
    "acquisition_dap_total",
    "dose_rp_total",
    "fluoro_time_total",
    "acquisition_time_total",
)
DOSE_REPORTS = Schema(
    columns=(
        "sop_instance_uid",
        "study_instance_uid",
        "template",
        "modality",
        "device",
        "manufacturer",
        "model",
        "start_of_xray_irradiation",
        "end_of_xray_irradiation",
        "procedure_reported",
        "number_of_events",
        *_REPORT_FLOATS,
        "report",
    ),
    codes=frozenset({"procedure_reported"}),
    types={"number_of_events": "int", **dict.fromkeys(_REPORT_FLOATS, "float"), "report": "json"},
)
"""A report: the columns of ``srkit dose --summary`` (mGy.cm, mGy, Gy.m2, Gy, s), the
procedure reported, and the contract's whole object as JSON text."""

_EVENT_FLOATS = ("mean_ctdivol", "dlp", "dose_area_product", "dose_rp", "kvp", "exposure_time")
DOSE_EVENTS = Schema(
    columns=(
        "sop_instance_uid",
        "study_instance_uid",
        "template",
        "event_number",
        "irradiation_event_uid",
        "acquisition_protocol",
        "datetime_started",
        "target_region",
        *_EVENT_FLOATS,
        "event",
    ),
    codes=frozenset({"target_region"}),
    types={"event_number": "int", **dict.fromkeys(_EVENT_FLOATS, "float"), "event": "json"},
)
"""An irradiation event, numbered from 1 in document order: its main numbers (wherever
the template nests them) and the whole event as JSON text."""


def plain_report(report: Any) -> dict[str, Any]:
    """A report (``DoseReport`` or its dict) as plain JSON values."""
    value = report.to_dict() if hasattr(report, "to_dict") else report
    plain: dict[str, Any] = json.loads(json.dumps(value, default=json_default, allow_nan=True))
    return plain


def _find(value: Any, key: str) -> Any:
    """The first value of ``key`` in nested objects (lists: in order)."""
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        for item in value.values():
            if isinstance(item, Mapping | list):
                found = _find(item, key)
                if found is not None:
                    return found
    elif isinstance(value, list):
        for item in value:
            found = _find(item, key)
            if found is not None:
                return found
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, Mapping):  # a number kept unnormalised: {"value", "unit", ...}
        value = value.get("value")
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def dose_tables(report: Any) -> dict[str, list[dict[str, Any]]]:
    """The ``dose_reports`` row and ``dose_events`` rows of one report."""
    from srkit.templates.dose import dose_summary

    plain = plain_report(report)
    summary = dose_summary(plain)
    row = {name: summary.get(name) for name in DOSE_REPORTS.columns}
    for name in _REPORT_FLOATS:
        row[name] = _number(row[name])
    row["procedure_reported"] = plain.get("procedure_reported")
    row["report"] = plain
    events = []
    for number, event in enumerate(plain.get("events") or [], start=1):
        events.append(
            {
                "sop_instance_uid": plain.get("sop_instance_uid"),
                "study_instance_uid": plain.get("study_instance_uid"),
                "template": plain.get("template"),
                "event_number": number,
                "irradiation_event_uid": _text(_find(event, "irradiation_event_uid")),
                "acquisition_protocol": _text(_find(event, "acquisition_protocol")),
                "datetime_started": _text(_find(event, "datetime_started")),
                "target_region": _code(_find(event, "target_region")),
                **{name: _number(_find(event, name)) for name in _EVENT_FLOATS},
                "event": event,
            }
        )
    return {"dose_reports": [row], "dose_events": events}


def _code(value: Any) -> Any:
    return value if isinstance(value, Mapping) and "value" in value else None
