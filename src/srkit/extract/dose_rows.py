"""Dose tables of a dataset (TID 10011 CT, TID 10001 projection X-ray): one row per
report (``dose_reports``) and one per irradiation event (``dose_events``), in the fixed
columns of :mod:`srkit.tables.schemas` (``DOSE_REPORTS``, ``DOSE_EVENTS``), the shapes
``srkit dose --summary``/``--events`` and ``srkit query dose`` write, so a dataset, a
CSV file and the database give the same columns for the same reports.

The same function serves files and the database's stored records
(:mod:`srkit.db.export`), so both give the same rows.
"""

from __future__ import annotations

import json
from typing import Any

from srkit.tables.schemas import DOSE_EVENTS, DOSE_REPORTS
from srkit.tables.write import conform, json_default

__all__ = ["DOSE_EVENTS", "DOSE_REPORTS", "dose_tables", "plain_report"]


def plain_report(report: Any) -> dict[str, Any]:
    """A report (``DoseReport`` or its dict) as plain JSON values."""
    value = report.to_dict() if hasattr(report, "to_dict") else report
    plain: dict[str, Any] = json.loads(json.dumps(value, default=json_default, allow_nan=True))
    return plain


def dose_tables(report: Any) -> dict[str, list[dict[str, Any]]]:
    """The ``dose_reports`` row and ``dose_events`` rows of one report
    (:func:`srkit.tables.dose.report_row`, :func:`srkit.tables.dose.event_rows`); a
    report without events has no event row here (its report row says 0 events)."""
    from srkit.tables.dose import event_rows, report_row

    plain = plain_report(report)
    events = [
        conform(row, DOSE_EVENTS)
        for row in event_rows(plain)
        if row.get("event_number") is not None
    ]
    return {"dose_reports": [conform(report_row(plain), DOSE_REPORTS)], "dose_events": events}
