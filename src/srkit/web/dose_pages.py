"""Dose pages of ``srkit serve``: reference levels, alerts, charts and exports.

Routes (all behind the server's token when one is set: the bearer token or the
browser's session cookie, :mod:`srkit.web.login`):

- ``/dose/drl``: local DRLs per standard name, body region and station (issue 12 part 2),
  and ``/dose/exams``: each exam against its DRL (ratio, above/below);
- ``/dose/alerts``: the alerts of :mod:`srkit.dose.alerts`;
- ``/dose/charts``: the charts of :mod:`srkit.dose.charts`, each with its table and a
  link to it as CSV (``/dose/charts/<name>.csv``);
- ``/dose/export.xlsx`` and ``/dose/export.csv``: the exams, one sheet per modality.

National DRLs, the protocol mapping and the thresholds come from the alert
configuration ``$SRKIT_DOSE_ALERTS`` (see :class:`srkit.dose.alerts.AlertConfig`);
``?dap_unit=Gy.cm2`` shows DAP in another unit. Every text is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

__all__ = ["dose_routes"]

_STYLE = (
    "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}.above{background:#f8d7da}"
    "nav a{margin-right:1em}</style>"
)
_NAV = (
    '<nav><a href="/studies">Studies</a><a href="/patients">Patients</a>'
    '<a href="/measurements">Measurements</a><a href="/dose">Dose</a><a href="/dose/drl">DRLs</a>'
    '<a href="/dose/exams">Exams vs DRL</a><a href="/dose/alerts">Alerts</a>'
    '<a href="/dose/charts">Charts</a><a href="/dose/export.xlsx">Export (XLSX)</a></nav>'
)


_HEADINGS = {
    "modality": "Modality",
    "name": "Standard name",
    "standard name": "Standard name",
    "body_region": "Body region",
    "station": "Station",
    "exams": "Exams",
    "dlp_median": "DLP median",
    "dlp_p75": "DLP 75th pct",
    "ctdivol_median": "CTDIvol median",
    "ctdivol_p75": "CTDIvol 75th pct",
    "dap_median": "DAP median",
    "dap_p75": "DAP 75th pct",
    "dose_rp_median": "Dose (RP) median",
    "dose_rp_p75": "Dose (RP) 75th pct",
    "date": "Date",
    "patient_id": "Patient ID",
    "protocol": "Protocol",
    "above": "Above DRL",
    "code": "Code",
    "quantity": "Quantity",
    "value": "Value",
    "threshold": "Threshold",
    "unit": "Unit",
    "reason": "Reason",
    "sop_instance_uid": "Report",
}
"""Column headings of the dose tables (the keys stay those of the CSV exports)."""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"{_STYLE}</head><body>{_NAV}<h1>{escape(title)}</h1>{body}</body></html>"
    )


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in value.items() if not isinstance(v, dict))
    if isinstance(value, list):
        return "; ".join(map(str, value))
    return str(value)


def _table(
    columns: list[str],
    rows: list[list[Any]],
    *,
    table_id: str = "",
    marks: list[bool] | None = None,
) -> str:
    head = "".join(f"<th>{escape(_HEADINGS.get(c, c))}</th>" for c in columns)
    body = []
    for n, row in enumerate(rows):
        cls = ' class="above"' if marks and marks[n] else ""
        cells = "".join(f"<td>{escape(_fmt(v))}</td>" for v in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    ident = f' id="{escape(table_id)}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _context(db: Any) -> tuple[list[Any], Any, Any]:
    from srkit.dose.alerts import AlertConfig
    from srkit.dose.drl import DrlTable, apply_mapping, local_drls
    from srkit.dose.exams import load_exams
    from srkit.errors import SrkitError

    try:
        config = AlertConfig.from_environment()
    except SrkitError as exc:
        raise HTTPException(500, f"dose configuration: {exc}") from None
    exams = apply_mapping(load_exams(db), config.mapping)
    table = DrlTable(config.national, local_drls(exams, by=("name",)))
    return exams, table, config


def _dap_unit(value: str) -> str:
    from srkit.dose.charts import DAP_UNITS

    if value not in DAP_UNITS:
        raise HTTPException(400, f"dap_unit must be one of {', '.join(DAP_UNITS)}")
    return value


def dose_routes(
    app: FastAPI,
    db: Any,
    deps: list[Any],
    page: Callable[[Request, str, str], HTMLResponse] | None = None,
) -> None:
    """Add the dose pages to ``app`` (``deps``: the server's auth dependencies;
    ``page(request, title, body)``: the page around a body, a plain one by default)."""

    def _page_of(request: Request, title: str, body: str) -> HTMLResponse:
        return page(request, title, body) if page is not None else _page(title, body)

    @app.get("/dose/drl", response_class=HTMLResponse, dependencies=deps)
    def drl_page(request: Request) -> HTMLResponse:
        from srkit.dose.drl import local_drls

        exams, _table_of, _ = _context(db)
        rows = local_drls(exams)
        columns = ["modality", "name", "body_region", "station", "exams", "dlp_median",
                   "dlp_p75", "ctdivol_median", "ctdivol_p75", "dap_median", "dap_p75",
                   "dose_rp_median", "dose_rp_p75"]  # fmt: skip
        body = (
            "<p>Local DRLs: median and 75th percentile per group (DLP mGy.cm, CTDIvol mGy, "
            "DAP Gy.m2, Dose (RP) Gy).</p>"
            + _table(columns, [[r.get(c) for c in columns] for r in rows], table_id="drl")
        )
        return _page_of(request, "Diagnostic reference levels", body)

    @app.get("/dose/exams", response_class=HTMLResponse, dependencies=deps)
    def exams_page(request: Request, dap_unit: str = Query("Gy.m2")) -> HTMLResponse:
        from srkit.dose.charts import dap_in
        from srkit.dose.drl import compare

        unit = _dap_unit(dap_unit)
        exams, table, _ = _context(db)
        columns = ["date", "patient_id", "modality", "station", "protocol", "standard name",
                   "DLP", "DRL DLP", "DLP ratio", "CTDIvol", "DRL CTDIvol", "CTDIvol ratio",
                   f"DAP ({unit})", "DAP ratio", "above"]  # fmt: skip
        rows, marks = [], []
        for e in exams:
            c = compare(e, table)
            above = any(c.get(f"{q}_above") for q in ("dlp", "ctdivol", "dap", "dose_rp"))
            rows.append([e.date, e.patient_id, e.modality, e.station, e.protocol,
                         e.standard_name, e.dlp_total, c.get("drl_dlp"), c.get("dlp_ratio"),
                         e.ctdivol, c.get("drl_ctdivol"), c.get("ctdivol_ratio"),
                         dap_in(e.dap_total, unit), c.get("dap_ratio"),
                         "above" if above else "below"])  # fmt: skip
            marks.append(above)
        return _page_of(
            request, "Exams against their DRL", _table(columns, rows, table_id="exams", marks=marks)
        )

    @app.get("/dose/alerts", response_class=HTMLResponse, dependencies=deps)
    def alerts_page(request: Request) -> HTMLResponse:
        from srkit.dose.alerts import evaluate

        exams, table, config = _context(db)
        found = [a.to_dict() for a in evaluate(exams, config, table=table)]
        columns = ["code", "date", "patient_id", "modality", "station", "protocol",
                   "quantity", "value", "threshold", "unit", "reason", "sop_instance_uid"]  # fmt: skip
        body = f"<p>{len(found)} alerts on {len(exams)} exams.</p>" + _table(
            columns, [[a.get(c) for c in columns] for a in found], table_id="alerts"
        )
        return _page_of(request, "Dose alerts", body)

    @app.get("/dose/charts", response_class=HTMLResponse, dependencies=deps)
    def charts_page(request: Request, dap_unit: str = Query("Gy.m2")) -> HTMLResponse:
        from srkit.dose.charts import charts

        unit = _dap_unit(dap_unit)
        exams, table, _ = _context(db)
        parts = []
        for chart in charts(exams, table, dap_unit=unit):
            link = f"/dose/charts/{chart.name}.csv?dap_unit={unit}"
            parts.append(
                f'<section id="chart-{chart.name}"><h2>{escape(chart.title)}</h2>'
                f'<figure>{chart.svg}</figure><p><a class="download" href="{escape(link)}">'
                f"table as CSV</a></p><details><summary>table</summary>"
                + _table(chart.columns, chart.rows, table_id=f"table-{chart.name}")
                + "</details></section>"
            )
        return _page_of(request, "Dose charts", "".join(parts))

    @app.get("/dose/charts/{name}.csv", dependencies=deps)
    def chart_csv(name: str, dap_unit: str = Query("Gy.m2")) -> Response:
        from srkit.dose.charts import charts

        exams, table, _ = _context(db)
        for chart in charts(exams, table, dap_unit=_dap_unit(dap_unit)):
            if chart.name == name:
                return Response(
                    chart.csv(),
                    media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{chart.name}.csv"'},
                )
        raise HTTPException(404, "no such chart")

    @app.get("/dose/export.{ext}", dependencies=deps)
    def export(ext: str, dap_unit: str = Query("Gy.m2")) -> Response:
        from srkit.dose.export import export_bytes

        if ext not in ("xlsx", "csv"):
            raise HTTPException(404, "export as xlsx or csv")
        exams, table, _ = _context(db)
        data, media = export_bytes(exams, table, ext, dap_unit=_dap_unit(dap_unit))
        return Response(
            data,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="dose-audit.{ext}"'},
        )
