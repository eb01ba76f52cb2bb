"""The measurement page of ``srkit serve``: TID 1500 measurements (PS3.16 TID 1500,
TID 1501 and TID 1411 groups) filtered by quantity, finding, finding site, patient and
tracking identifier (:func:`srkit.db.srquery.measurement_query`), paged, with the
chosen quantity's distribution and each lesion's values over the time points
(:mod:`srkit.web.charts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse

from srkit.errors import SrkitError
from srkit.web.charts import histogram, lesion_lines
from srkit.web.formatting import date_text, person_name
from srkit.web.pages import Pages, int_param

__all__ = ["COLUMNS", "measurement_page"]

PAGE_SIZE = 100
COLUMNS = (
    ("Patient", "patient_name"),
    ("Patient ID", "patient_id"),
    ("Study date", "study_date"),
    ("Group", "measurement_group_number"),
    ("Tracking id", "tracking_identifier"),
    ("Finding", "finding"),
    ("Finding site", "finding_site"),
    ("Quantity", "quantity"),
    ("Value", "value"),
    ("Units", "units"),
    ("Derivation", "derivation"),
    ("Method", "measurement_method"),
)
CODE_FILTERS = (("quantity", "Quantity"), ("finding", "Finding"), ("finding_site", "Finding site"))


def _meaning(code: Any) -> str:
    if isinstance(code, Mapping):
        return str(code.get("meaning") or code.get("value") or "")
    return "" if code is None else str(code)


def _key(code: Any) -> str:
    """``value:scheme``, the exact form of a code filter."""
    if isinstance(code, Mapping) and code.get("value"):
        return f"{code['value']}:{code.get('scheme') or ''}"
    return ""


def _unit(row: Mapping[str, Any]) -> str:
    units = row.get("units")
    if isinstance(units, Mapping):
        return str(units.get("value") or units.get("meaning") or "")
    return str(units or "")


def _cell(key: str, row: Mapping[str, Any]) -> str:
    value = row.get(key)
    if key == "patient_name":
        return person_name(value)
    if key == "study_date":
        return date_text(value)
    if key == "units":
        return _unit(row)
    if isinstance(value, Mapping):
        return _meaning(value)
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


def _choices(rows: list[dict[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, dict[str, str]] = {name: {} for name, _ in CODE_FILTERS}
    patients: dict[str, str] = {}
    for row in rows:
        for name, _ in CODE_FILTERS:
            key = _key(row.get(name))
            if key:
                out[name].setdefault(key, _meaning(row.get(name)))
        if row.get("patient_id"):
            who = person_name(row.get("patient_name"))
            patients.setdefault(str(row["patient_id"]), f"{who} ({row['patient_id']})".strip())
    choices = {k: sorted(v.items(), key=lambda kv: kv[1].lower()) for k, v in out.items()}
    choices["patient"] = sorted(patients.items(), key=lambda kv: kv[1].lower())
    return choices


def _charts(rows: list[dict[str, Any]], quantity: str) -> tuple[str, str, str]:
    """The histogram and the lesion lines of one quantity (the chosen one, or the one
    measured most often) in its most used unit, and which quantity that is."""
    numeric = [r for r in rows if isinstance(r.get("value"), (int, float))]
    if not numeric:
        return "", "", ""
    if not quantity:
        counts: dict[str, int] = {}
        for r in numeric:
            counts[_key(r.get("quantity"))] = counts.get(_key(r.get("quantity")), 0) + 1
        quantity = max(counts, key=lambda k: counts[k])
    chosen = [r for r in numeric if _key(r.get("quantity")) == quantity]
    if not chosen:
        return "", "", ""
    units: dict[str, int] = {}
    for r in chosen:
        units[_unit(r)] = units.get(_unit(r), 0) + 1
    unit = max(units, key=lambda k: units[k])
    chosen = [r for r in chosen if _unit(r) == unit]
    name = _meaning(chosen[0].get("quantity"))
    values = [float(r["value"]) for r in chosen]
    lesions: dict[str, list[tuple[str, float]]] = {}
    for r in chosen:
        track = r.get("tracking_unique_identifier") or r.get("tracking_identifier")
        if not track:
            continue
        who = person_name(r.get("patient_name")) or str(r.get("patient_id") or "?")
        text = f"{who}: {r.get('tracking_identifier') or track}"
        derivation = _meaning(r.get("derivation"))
        if derivation:
            text += f" ({derivation})"
        key = f"{r.get('patient_id')}|{track}|{derivation}|{text}"
        lesions.setdefault(key, []).append(
            (date_text(r.get("study_date")) or "?", float(r["value"]))
        )
    named = {k.split("|", 3)[3]: v for k, v in lesions.items()}
    return (
        histogram(values, unit, f"Distribution of {name}"),
        lesion_lines(named, unit, f"{name} per lesion over time"),
        f"{name} ({unit})" if unit else name,
    )


def measurement_page(pages: Pages, request: Request) -> HTMLResponse:
    """``/measurements``: the table, its filters and its charts."""
    params = request.query_params
    chosen = {name: params.get(name, "") for name, _ in CODE_FILTERS}
    chosen["patient"] = params.get("patient", "")
    chosen["tracking"] = params.get("tracking", "")
    filters = {k: v for k, v in chosen.items() if k in dict(CODE_FILTERS) and v}
    if chosen["patient"]:
        filters["patient_id"] = chosen["patient"]
    if chosen["tracking"]:
        filters["tracking_identifier"] = chosen["tracking"]
    error = ""
    try:
        everything = list(pages.db.query_measurements())
        rows = list(pages.db.query_measurements(**filters)) if filters else everything
    except SrkitError as exc:
        everything, rows, error = [], [], str(exc)
    number = max(1, int_param(params.get("page"), 1))
    pages_count = max(1, -(-len(rows) // PAGE_SIZE))
    shown = rows[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    kept = {k: v for k, v in chosen.items() if v}

    def url(page: int) -> str:
        return "?" + urlencode({**kept, "page": page})

    hist, lines, charted = _charts(rows, chosen["quantity"])
    table = [
        {
            "cells": [_cell(key, r) for _, key in COLUMNS],
            "href": f"/instances/{r['sop_instance_uid']}" if r.get("sop_instance_uid") else None,
        }
        for r in shown
    ]
    return pages.page(
        request,
        "measurements.html",
        status=400 if error else 200,
        title="Measurements (TID 1500)",
        columns=[c for c, _ in COLUMNS],
        rows=table,
        choices=_choices(everything),
        code_filters=CODE_FILTERS,
        chosen=chosen,
        total=len(rows),
        first=(number - 1) * PAGE_SIZE + 1 if shown else 0,
        last=(number - 1) * PAGE_SIZE + len(shown),
        previous=url(number - 1) if number > 1 else None,
        next=url(number + 1) if number < pages_count else None,
        histogram=hist,
        chart_quantity=charted,
        lesions=lines,
        error=error,
        crumbs=[("Studies", "/studies")],
    )
