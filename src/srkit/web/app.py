"""The FastAPI application of ``srkit serve``: its routes; the pages themselves are
:mod:`srkit.web.pages`, :mod:`srkit.web.table_pages` and the modules named below.

DICOMweb (:mod:`srkit.net.dicomweb.routes`) is mounted under ``/dicomweb``; the pages:

- ``/`` and ``/studies``: the worklist of studies (patient, ID, birth date, study date,
  accession, description, modalities, series and instances), searched by name and ID
  (wildcards ``*`` ``?``), study date range, modality, accession and description,
  sorted by any column, paged (:func:`srkit.db.browse.browse`); ``/patients`` likewise;
- ``/studies/<uid>``, ``/series/<uid>``, ``/instances/<uid>``: a study's series and
  reports, a series' preview and instances, an instance: its report (``render.html``)
  with links to the images it references, or an image's header and preview;
- ``/measurements`` (TID 1500, filtered, with a histogram and per-lesion lines),
  ``/dose`` (:mod:`srkit.web.dose_pages`), ``/conflicts``;
- ``/login`` and ``/logout`` (:mod:`srkit.web.login`) when a token is set.

Image previews are drawn by :mod:`srkit.web.image_pages` (``/preview/<uid>.png``,
``/series/<uid>/preview.png``, ``/series/<uid>/loadables``); the pages only link to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from srkit.net.dicomweb.routes import DEFAULT_MAX_UPLOAD, make_router, make_wado_uri_router
from srkit.web.pages import Pages
from srkit.web.table_pages import DOSE_CRUMBS, conflicts_page, dose_page

__all__ = ["create_app"]


def _ui_routes(app: FastAPI, pages: Pages, auth: Any) -> None:
    deps = [Depends(auth)]

    @app.get("/", response_class=HTMLResponse, dependencies=deps)
    def home(request: Request) -> HTMLResponse:
        return pages.studies(request)

    @app.get("/studies", response_class=HTMLResponse, dependencies=deps)
    def studies(request: Request) -> HTMLResponse:
        return pages.studies(request)

    @app.get("/patients", response_class=HTMLResponse, dependencies=deps)
    def patients(request: Request) -> HTMLResponse:
        return pages.patients(request)

    @app.get("/studies/{uid}", response_class=HTMLResponse, dependencies=deps)
    def study(request: Request, uid: str) -> HTMLResponse:
        return pages.study(request, uid)

    @app.get("/series/{uid}", response_class=HTMLResponse, dependencies=deps)
    def series(request: Request, uid: str) -> HTMLResponse:
        return pages.series(request, uid)

    @app.get("/instances/{uid}", response_class=HTMLResponse, dependencies=deps)
    async def instance(request: Request, uid: str) -> HTMLResponse:
        return await run_in_threadpool(pages.instance, request, uid)

    @app.get("/measurements", response_class=HTMLResponse, dependencies=deps)
    def measurements(request: Request) -> HTMLResponse:
        from srkit.web.measurement_pages import measurement_page

        return measurement_page(pages, request)

    @app.get("/conflicts", response_class=HTMLResponse, dependencies=deps)
    def conflicts(request: Request) -> HTMLResponse:
        return conflicts_page(pages, request)

    @app.get("/dose", response_class=HTMLResponse, dependencies=deps)
    def dose(request: Request) -> HTMLResponse:
        return dose_page(pages, request)


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
        Required on every route: ``Authorization: Bearer <token>`` (RFC 6750), or the
        session cookie of a browser that logged in with it at ``/login``
        (:mod:`srkit.web.login`; DICOMweb accepts the cookie for GET and HEAD only).
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
    from srkit.web.login import login_routes, page_auth

    if db is None:
        from srkit.db import Database

        db = Database(db_url)
    app = FastAPI(title="srkit", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(make_router(db, prefix="/dicomweb", token=token, max_upload=max_upload))
    app.include_router(make_wado_uri_router(db, token=token))
    pages = Pages(db, token)
    login_routes(app, token, pages.render)
    auth = page_auth(token)
    _ui_routes(app, pages, auth)
    from srkit.web.dose_pages import dose_routes

    def dose_body(request: Request, title: str, body: str) -> HTMLResponse:
        return pages.page(request, "dose.html", title=title, body=body, crumbs=DOSE_CRUMBS)

    dose_routes(app, db, [Depends(auth)], page=dose_body)
    from srkit.web.image_pages import image_routes

    image_routes(app, db, [Depends(auth)])
    if viewer_dir is not None:
        from srkit.web.viewer import viewer_routes

        viewer_routes(app, viewer_dir, [Depends(auth)])
    if cors_origins:
        from srkit.web.cors import add_cors

        add_cors(app, cors_origins)
    app.state.db = db
    app.state.public_url = public_url
    return app
