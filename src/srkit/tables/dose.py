"""Dose reports (PS3.16 TID 10011, TID 10001) as table rows: one row per report (the
summary) or one per irradiation event, the report's fields repeated. Both ``srkit dose``
(files) and ``srkit query dose`` (the database's stored records) shape rows here, so the
same report gives the same row; :mod:`srkit.tables.schemas` fixes their columns."""

from __future__ import annotations

from typing import Any

__all__ = ["event_rows", "report_row"]


def _expand(value: Any, prefix: str, out: dict[str, Any]) -> None:
    """Nested objects as ``a.b`` keys, lists of objects as ``a.1.b`` (1-based)."""
    if isinstance(value, dict) and not (set(value) >= {"value", "scheme"}):
        for key, item in value.items():
            _expand(item, f"{prefix}.{key}" if prefix else key, out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for n, item in enumerate(value, 1):
            _expand(item, f"{prefix}.{n}", out)
    else:
        out[prefix] = value


def event_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one report (the contract's object): one per event, the report's
    fields repeated.

    Each row carries the accumulated record of the event's plane (TID 10001) or the
    one accumulated record (TID 10011) under ``accumulated.``, the event under
    ``event.``; a report without events still yields one row, so that no report
    disappears.
    """
    head = {k: v for k, v in report.items() if k not in ("accumulated", "events")}
    accumulated: list[dict[str, Any]] = report.get("accumulated") or []
    rows = []
    for n, event in enumerate(report.get("events") or [None], 1):
        row: dict[str, Any] = {}
        _expand(head, "", row)
        plane = (event or {}).get("acquisition_plane")
        match = next(
            (a for a in accumulated if a.get("acquisition_plane") == plane),
            accumulated[0] if accumulated else {},
        )
        _expand(match, "accumulated", row)
        row["event_number"] = n if event is not None else None
        _expand(event or {}, "event", row)
        rows.append(row)
    return rows


def report_row(report: dict[str, Any]) -> dict[str, Any]:
    """The row of one report: :func:`srkit.templates.dose.dose_summary` and the
    procedure reported (a code)."""
    from srkit.templates.dose import dose_summary

    return {**dose_summary(report), "procedure_reported": report.get("procedure_reported")}
