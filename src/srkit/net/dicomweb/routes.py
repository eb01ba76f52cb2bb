"""DICOMweb over the database: the router of QIDO-RS, WADO-RS, STOW-RS, rendered
images and thumbnails, and WADO-URI (PS3.18 Chapters 8 to 10;
:mod:`~srkit.net.dicomweb.qido`, :mod:`~srkit.net.dicomweb.wado`,
:mod:`~srkit.net.dicomweb.stow`, :mod:`~srkit.net.dicomweb.rendered`).

:func:`make_router` returns a FastAPI router; :mod:`srkit.web.app` mounts it under
``/dicomweb``. Database calls run in the thread pool. Errors become HTTP statuses
with a JSON ``detail``; nothing reaches the client as a traceback.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from srkit.db.staging import InFlight
from srkit.net.dicomweb.auth import bearer_auth
from srkit.net.dicomweb.qido import qido_routes
from srkit.net.dicomweb.rendered import rendered_routes, wado_uri_routes
from srkit.net.dicomweb.stow import stow_routes
from srkit.net.dicomweb.wado import wado_routes

__all__ = ["DEFAULT_MAX_UPLOAD", "make_router", "make_wado_uri_router"]

DEFAULT_MAX_UPLOAD = 512 * 1024 * 1024
"""Default STOW-RS body limit in bytes (HTTP 413 beyond it)."""


def make_router(
    db: Any,
    *,
    prefix: str = "/dicomweb",
    token: str | None = None,
    max_upload: int = DEFAULT_MAX_UPLOAD,
    in_flight: InFlight | None = None,
) -> APIRouter:
    """The DICOMweb routes over ``db`` (a :class:`srkit.db.Database`).

    Parameters
    ----------
    db : Database
        The archive.
    prefix : str
        Where the router is mounted (used in Retrieve URLs).
    token : str, optional
        Bearer token required on every request (no authentication when None).
    max_upload : int
        Largest STOW-RS body accepted, in bytes (413 beyond it); parts stream to
        staged files, so memory per upload stays a small constant.
    in_flight : InFlight, optional
        The counter of bytes in flight uploads are reserved in (503 with Retry-After
        beyond its limit); the process's :data:`srkit.db.staging.IN_FLIGHT` when None.
    """
    router = APIRouter(prefix=prefix, dependencies=[Depends(bearer_auth(token))])
    qido_routes(router, db, prefix)
    wado_routes(router, db, prefix)
    rendered_routes(router, db)
    wado_uri_routes(router, db)
    stow_routes(router, db, prefix, max_upload, in_flight)
    return router


def make_wado_uri_router(db: Any, *, token: str | None = None) -> APIRouter:
    """WADO-URI at ``/wado`` of the server's root too (where Orthanc and most archives
    answer it; PS3.18 Chapter 9), beside ``/dicomweb/wado``."""
    router = APIRouter(dependencies=[Depends(bearer_auth(token))])
    wado_uri_routes(router, db)
    return router
