"""The pages that are one table of rows: ``/conflicts`` (the conflicts found while
filing instances) and ``/dose`` (a row per dose report, with DLP and DAP charts), paged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from srkit.web.formatting import date_text, datetime_text, person_name, quote_part
from srkit.web.pages import Pages, int_param

__all__ = ["DOSE_CRUMBS", "conflicts_page", "dose_page", "rows_of", "table_page"]


def rows_of(result: Any) -> list[dict[str, Any]]:
    """Rows from whatever the database returns (list of dicts or an Arrow table)."""
    if hasattr(result, "to_pylist"):
        return list(result.to_pylist())
    return [dict(r) for r in result]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and "value" in value:  # a code object
        return str(value.get("meaning") or value["value"])
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_FORMAT = {
    "patient_name": person_name,
    "study_date": date_text,
    "detected_at": datetime_text,
    "start_of_xray_irradiation": datetime_text,
}


def table_page(
    pages: Pages,
    request: Request,
    title: str,
    rows: list[dict[str, Any]],
    chart: str = "",
    columns: Sequence[tuple[str, str]] = (),
    link: str | None = None,
    size: int = 100,
) -> HTMLResponse:
    """A page of a table of ``rows`` (``?page=N``, ``size`` rows a page): the chosen
    ``(heading, key)`` columns, the first cell linking to ``/instances/<row[link]>``
    when ``link`` is given."""
    pages_count = max(1, -(-len(rows) // size))
    number = min(max(1, int_param(request.query_params.get("page"), 1)), pages_count)
    shown = rows[(number - 1) * size : number * size]
    table = [
        {
            "cells": [_FORMAT.get(key, _cell)(r.get(key)) for _, key in columns],
            "href": f"/instances/{quote_part(r[link])}" if link and r.get(link) else None,
        }
        for r in shown
    ]
    kept = {k: v for k, v in request.query_params.items() if k != "page"}

    def url(n: int) -> str:
        return "?" + urlencode({**kept, "page": n})

    first = (number - 1) * size + 1
    return pages.page(
        request,
        "list.html",
        title=title,
        columns=[heading for heading, _ in columns],
        rows=table,
        crumbs=[("Studies", "/studies")],
        chart=chart,
        total=len(rows),
        first=first,
        last=first + len(shown) - 1,
        previous=url(number - 1) if number > 1 else None,
        next=url(number + 1) if number < pages_count else None,
    )


CONFLICT_COLUMNS = [
    ("Detected", "detected_at"),
    ("Kind", "kind"),
    ("What srkit did", "resolution"),
    ("From", "source"),
    ("Caller", "calling_ae"),
    ("Patient ID", "patient_id"),
    ("Study", "study_instance_uid"),
    ("Instance", "sop_instance_uid"),
    ("Finding", "message"),
]

DOSE_COLUMNS = [
    ("Patient", "patient_name"),
    ("Patient ID", "patient_id"),
    ("Study date", "study_date"),
    ("Modality", "modality"),
    ("Manufacturer", "manufacturer"),
    ("Model", "model"),
    ("Events", "number_of_events"),
    ("DLP total (mGy.cm)", "dlp_total"),
    ("Max CTDIvol (mGy)", "max_ctdivol"),
    ("DAP total (Gy.m2)", "dap_total"),
    ("Dose at RP total (Gy)", "dose_rp_total"),
]


def _label(row: dict[str, Any]) -> str:
    date = date_text(row.get("study_date")) or datetime_text(row.get("start_of_xray_irradiation"))
    who = person_name(row.get("patient_name")) or str(row.get("patient_id") or "?")
    return f"{date[:10]} {who}".strip()


def _dose_chart(rows: list[dict[str, Any]]) -> str:
    """DLP total per CT report and DAP total per X-ray report, in date order."""
    from srkit.web.charts import bars

    charts = []
    for key, unit, title in (
        ("dlp_total", "mGy.cm", "CT dose length product per report"),
        ("dap_total", "Gy.m2", "Dose area product per report"),
    ):
        items = sorted(
            (_label(r), float(r[key])) for r in rows if isinstance(r.get(key), (int, float))
        )
        if items:
            charts.append(f"<h3>{title}</h3>{bars(items[-60:], unit)}")
    return "".join(charts)


DOSE_CRUMBS = [("Studies", "/studies"), ("Dose", "/dose")]


def conflicts_page(pages: Pages, request: Request) -> HTMLResponse:
    """Conflicts recorded while filing instances (srkit.db.hierarchy), newest first;
    each row links to the instance (kept instances are indexed under their own
    patient, study and series)."""
    rows = pages.db.conflicts()
    return table_page(
        pages,
        request,
        f"Conflicts ({len(rows)})",
        rows,
        columns=CONFLICT_COLUMNS,
        link="sop_instance_uid",
    )


def dose_page(pages: Pages, request: Request) -> HTMLResponse:
    """A row per dose report, with the DLP and DAP charts and links to the dose pages."""
    rows = rows_of(pages.db.query_dose())
    links = (
        '<p><a href="/dose/drl">DRLs</a> | <a href="/dose/exams">Exams vs DRL</a> | '
        '<a href="/dose/alerts">Alerts</a> | <a href="/dose/charts">Charts</a> | '
        '<a href="/dose/export.xlsx">Export (XLSX)</a></p>'
    )
    return table_page(
        pages,
        request,
        "Radiation dose",
        rows,
        links + _dose_chart(rows),
        DOSE_COLUMNS,
        link="sop_instance_uid",
    )
