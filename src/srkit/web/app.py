"""The FastAPI application of ``srkit serve``.

DICOMweb (:mod:`srkit.net.dicomweb.routes`) is mounted under ``/dicomweb``; the pages at ``/``
browse patients, studies, series and instances, show reports (``render.html`` when
available, the ``dsrdump``-like text tree otherwise), and tables of the measurements
(TID 1500) and radiation dose (TID 10011/10001) indexed in the database.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from srkit.errors import SrkitError
from srkit.net.dicomweb.auth import bearer_auth, check_path_uids
from srkit.net.dicomweb.routes import DEFAULT_MAX_UPLOAD, make_router, make_wado_uri_router

__all__ = ["create_app"]

LEVEL_COLUMNS: dict[str, tuple[str, ...]] = {
    "PATIENT": (
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "PatientSex",
        "NumberOfPatientRelatedStudies",
    ),
    "STUDY": (
        "StudyDate",
        "StudyDescription",
        "AccessionNumber",
        "PatientName",
        "PatientID",
        "ModalitiesInStudy",
        "NumberOfStudyRelatedInstances",
        "StudyInstanceUID",
    ),
    "SERIES": (
        "SeriesNumber",
        "Modality",
        "SeriesDescription",
        "Manufacturer",
        "NumberOfSeriesRelatedInstances",
        "SeriesInstanceUID",
    ),
    "IMAGE": ("InstanceNumber", "SOPClassUID", "ContentDate", "SOPInstanceUID"),
}
LINKS = {
    "PATIENT": ("PatientID", "/studies?PatientID={}"),
    "STUDY": ("StudyInstanceUID", "/studies/{}"),
    "SERIES": ("SeriesInstanceUID", "/series/{}"),
    "IMAGE": ("SOPInstanceUID", "/instances/{}"),
}
PAGE_SIZE = 200


def _templates() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("srkit.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Pages:
    """The HTML pages over one database."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.env = _templates()

    def page(self, name: str, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**context))

    def listing(
        self,
        title: str,
        level: str,
        filters: Mapping[str, str],
        crumbs: Sequence[tuple[str, str]] = (),
    ) -> HTMLResponse:
        columns = list(LEVEL_COLUMNS[level])
        try:
            rows = self.db.query(level, filters, fields=columns, limit=PAGE_SIZE)
        except SrkitError as exc:
            raise HTTPException(400, str(exc)) from None
        key, link = LINKS[level]
        table = [
            {"cells": [_cell(r.get(c)) for c in columns], "href": link.format(_q(r.get(key)))}
            for r in rows
        ]
        return self.page(
            "list.html",
            title=title,
            columns=columns,
            rows=table,
            crumbs=crumbs,
            truncated=len(rows) >= PAGE_SIZE,
        )

    def instance(self, uid: str) -> HTMLResponse:
        check_path_uids(uid)
        rows = self.db.query(
            "IMAGE",
            {"SOPInstanceUID": uid},
            fields=["SOPClassUID", "StudyInstanceUID", "SeriesInstanceUID"],
        )
        if not rows:
            raise HTTPException(404, "no such instance")
        row = rows[0]
        path = self.db.instance_path(uid)
        if path is None or not path.is_file():
            raise HTTPException(404, "the instance's file is missing")
        crumbs = [
            ("Patients", "/"),
            ("Study", f"/studies/{_q(row['StudyInstanceUID'])}"),
            ("Series", f"/series/{_q(row['SeriesInstanceUID'])}"),
        ]
        report_html, dump, error = _report(path)
        return self.page(
            "instance.html",
            title=f"Instance {uid}",
            uid=uid,
            row=row,
            crumbs=crumbs,
            report_html=report_html,
            dump=dump,
            error=error,
        )


def _q(value: Any) -> str:
    from urllib.parse import quote

    return quote(str(value or ""), safe="")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and "value" in value:  # a code object
        return f"{value.get('meaning') or ''} ({value.get('scheme') or ''} {value['value']})"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def _report(path: Any) -> tuple[str | None, list[str] | None, str | None]:
    """The report as HTML (``srkit.render.html`` when present) or dump lines."""
    from srkit.codec import read
    from srkit.errors import NotStructuredReportError

    try:
        doc = read(path)
    except NotStructuredReportError:
        return None, None, "not a structured report"
    except SrkitError as exc:
        return None, None, str(exc)
    try:
        html = importlib.import_module("srkit.render.html")
        return str(html.render_html(doc)), None, None
    except Exception:  # renderer missing or failing: the plain tree still helps
        from srkit.render.text import dump_lines

        return None, list(dump_lines(doc)), None


def _svg_bars(items: Sequence[tuple[str, float]], unit: str) -> str:
    """A horizontal bar chart as inline SVG (no plotting library needed)."""
    from html import escape

    if not items:
        return ""
    top = max(v for _, v in items) or 1.0
    height = 22 * len(items) + 10
    bars = []
    for i, (label, value) in enumerate(items):
        width = 380 * value / top
        y = 5 + 22 * i
        bars.append(
            f'<text x="0" y="{y + 14}" font-size="12">{escape(label[:40])}</text>'
            f'<rect x="260" y="{y}" width="{width:.1f}" height="16" fill="#4a7bb7"/>'
            f'<text x="{265 + width:.1f}" y="{y + 13}" font-size="11">{value:g} {escape(unit)}</text>'
        )
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="760" height="{height}">{"".join(bars)}</svg>'


def _rows(result: Any) -> list[dict[str, Any]]:
    """Rows from whatever the database returns (list of dicts or an Arrow table)."""
    if hasattr(result, "to_pylist"):
        return list(result.to_pylist())
    return [dict(r) for r in result]


def _table_page(
    pages: Pages,
    title: str,
    rows: list[dict[str, Any]],
    chart: str = "",
    columns: Sequence[tuple[str, str]] | None = None,
    link: str | None = None,
) -> HTMLResponse:
    """A table of ``rows``: the chosen ``(heading, key)`` columns (all keys when none),
    the first cell linking to ``/instances/<row[link]>`` when ``link`` is given."""
    if columns is None:
        keys: list[str] = []
        for row in rows:
            keys += [k for k in row if k not in keys]
        columns = [(k, k) for k in keys]
    table = [
        {
            "cells": [_cell(r.get(key)) for _, key in columns],
            "href": f"/instances/{_q(r[link])}" if link and r.get(link) else None,
        }
        for r in rows[:2000]
    ]
    return pages.page(
        "list.html",
        title=title,
        columns=[heading for heading, _ in columns],
        rows=table,
        crumbs=[("Patients", "/")],
        chart=chart,
        truncated=len(rows) > 2000,
    )


MEASUREMENT_COLUMNS = [
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
]

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
    date = str(row.get("study_date") or row.get("start_of_xray_irradiation") or "")[:10]
    who = str(row.get("patient_name") or row.get("patient_id") or "?").replace("^", " ")
    return f"{date} {who}".strip()


def _dose_chart(rows: list[dict[str, Any]]) -> str:
    """DLP total per CT report and DAP total per X-ray report, in date order."""
    charts = []
    for key, unit, title in (
        ("dlp_total", "mGy.cm", "CT dose length product per report"),
        ("dap_total", "Gy.m2", "Dose area product per report"),
    ):
        items = sorted(
            (_label(r), float(r[key])) for r in rows if isinstance(r.get(key), (int, float))
        )
        if items:
            charts.append(f"<h3>{title}</h3>{_svg_bars(items[-60:], unit)}")
    return "".join(charts)


def _measurement_chart(rows: list[dict[str, Any]]) -> str:
    """How many measurements of each quantity (with their units), as bars."""
    counts: dict[str, int] = {}
    for row in rows:
        quantity = (row.get("quantity") or {}).get("meaning") or "?"
        units = row.get("units") or ""
        units = units.get("value") or "" if isinstance(units, dict) else str(units)
        name = f"{quantity} [{units}]" if units else quantity
        counts[name] = counts.get(name, 0) + 1
    items = sorted(counts.items(), key=lambda kv: -kv[1])[:30]
    return f"<h3>Measurements by quantity</h3>{_svg_bars(items, '')}" if items else ""


def _ui_routes(app: FastAPI, pages: Pages, auth: Any) -> None:
    deps = [Depends(auth)]

    @app.get("/", response_class=HTMLResponse, dependencies=deps)
    def patients() -> HTMLResponse:
        return pages.listing("Patients", "PATIENT", {})

    @app.get("/studies", response_class=HTMLResponse, dependencies=deps)
    def studies(request: Request) -> HTMLResponse:
        filters = {k: v for k, v in request.query_params.items() if k in ("PatientID", "StudyDate")}
        return pages.listing("Studies", "STUDY", filters, [("Patients", "/")])

    @app.get("/studies/{uid}", response_class=HTMLResponse, dependencies=deps)
    def study(uid: str) -> HTMLResponse:
        check_path_uids(uid)
        return pages.listing(
            f"Study {uid}", "SERIES", {"StudyInstanceUID": uid}, [("Patients", "/")]
        )

    @app.get("/series/{uid}", response_class=HTMLResponse, dependencies=deps)
    def series(uid: str) -> HTMLResponse:
        check_path_uids(uid)
        return pages.listing(
            f"Series {uid}", "IMAGE", {"SeriesInstanceUID": uid}, [("Patients", "/")]
        )

    @app.get("/instances/{uid}", response_class=HTMLResponse, dependencies=deps)
    async def instance(uid: str) -> HTMLResponse:
        return await run_in_threadpool(pages.instance, uid)

    @app.get("/measurements", response_class=HTMLResponse, dependencies=deps)
    def measurements() -> HTMLResponse:
        rows = [
            {**r, "units": (r.get("units") or {}).get("value")}
            for r in _rows(pages.db.query_measurements())
        ]
        return _table_page(
            pages,
            "Measurements (TID 1500)",
            rows,
            _measurement_chart(rows),
            MEASUREMENT_COLUMNS,
            link="sop_instance_uid",
        )

    @app.get("/conflicts", response_class=HTMLResponse, dependencies=deps)
    def conflicts() -> HTMLResponse:
        """Conflicts recorded while filing instances (srkit.db.hierarchy), newest first;
        each row links to the instance (kept instances are indexed under their own
        patient, study and series)."""
        rows = pages.db.conflicts(limit=2001)
        return _table_page(
            pages,
            f"Conflicts ({len(rows) if len(rows) <= 2000 else 'over 2000'})",
            rows,
            columns=CONFLICT_COLUMNS,
            link="sop_instance_uid",
        )

    @app.get("/dose", response_class=HTMLResponse, dependencies=deps)
    def dose() -> HTMLResponse:
        rows = _rows(pages.db.query_dose())
        links = (
            '<p><a href="/dose/drl">DRLs</a> | <a href="/dose/exams">Exams vs DRL</a> | '
            '<a href="/dose/alerts">Alerts</a> | <a href="/dose/charts">Charts</a> | '
            '<a href="/dose/export.xlsx">Export (XLSX)</a></p>'
        )
        return _table_page(
            pages,
            "Radiation dose",
            rows,
            links + _dose_chart(rows),
            DOSE_COLUMNS,
            link="sop_instance_uid",
        )


def create_app(
    db: Any = None,
    *,
    db_url: str | None = None,
    token: str | None = None,
    max_upload: int = DEFAULT_MAX_UPLOAD,
    public_url: str | None = None,
    cors_origins: Sequence[str] = (),
    viewer_dir: Any = None,
) -> FastAPI:
    """The application: DICOMweb under ``/dicomweb``, pages at ``/``.

    Parameters
    ----------
    db : Database, optional
        The archive; opened from ``db_url`` (or the default database) when None.
    token : str, optional
        Bearer token required on every route (RFC 6750).
    max_upload : int
        Largest STOW-RS body in bytes.
    public_url : str, optional
        The server's URL as clients see it (``http://host:port``), for Retrieve URLs
        and BulkDataURIs; taken from each request's Host header when None.
    cors_origins : sequence of str
        Origins (``http://host:port``, or ``*``) whose pages may call the server
        (CORS, :mod:`srkit.web.cors`); none by default, and then no CORS headers.
    viewer_dir : Path, optional
        The OHIF viewer's ``dist`` folder, served under ``/viewer``
        (:mod:`srkit.web.viewer`).
    """
    if db is None:
        from srkit.db import Database

        db = Database(db_url)
    app = FastAPI(title="srkit", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(make_router(db, prefix="/dicomweb", token=token, max_upload=max_upload))
    app.include_router(make_wado_uri_router(db, token=token))
    _ui_routes(app, Pages(db), bearer_auth(token))
    from srkit.web.dose_pages import dose_routes

    dose_routes(app, db, [Depends(bearer_auth(token))])
    from srkit.web.image_pages import image_routes

    image_routes(app, db, [Depends(bearer_auth(token))])
    if viewer_dir is not None:
        from srkit.web.viewer import viewer_routes

        viewer_routes(app, viewer_dir, [Depends(bearer_auth(token))])
    if cors_origins:
        from srkit.web.cors import add_cors

        add_cors(app, cors_origins)
    app.state.db = db
    app.state.public_url = public_url
    return app
