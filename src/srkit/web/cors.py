"""Cross-origin access for a viewer served from another origin (CORS, the Fetch
Standard; PS3.18 Section 8.1.4 ``OPTIONS`` and Annex H): ``srkit serve
--cors-origin ORIGIN``. Off by default: without origins no CORS header is sent and
browsers keep other sites' pages from reading the archive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from srkit.errors import SrkitError

__all__ = ["EXPOSED_HEADERS", "add_cors", "check_origin"]

EXPOSED_HEADERS = ("Content-Type", "Content-Length", "Content-Location", "Warning", "Retry-After")
"""Response headers a cross-origin page may read (the multipart boundary, QIDO-RS
warnings, STOW-RS back-off)."""


def check_origin(origin: str) -> str:
    """An origin as browsers send it (``scheme://host[:port]``, no path), or ``*``;
    SrkitError otherwise."""
    origin = origin.strip()
    if origin == "*":
        return origin
    parts = urlsplit(origin)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
    ):
        raise SrkitError(f"not an origin: {origin!r} (expected scheme://host[:port], or *)")
    return origin.rstrip("/")


def add_cors(app: Any, origins: Sequence[str]) -> None:
    """Answer CORS preflights (``OPTIONS`` with ``Access-Control-Request-Method``:
    200 with the allowed methods and headers) and add ``Access-Control-Allow-Origin``
    for ``origins``; the bearer token travels in ``Authorization``, so no cookies
    are allowed across origins."""
    from starlette.middleware.cors import CORSMiddleware

    app.add_middleware(
        CORSMiddleware,
        allow_origins=[check_origin(o) for o in origins],
        allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
        allow_headers=["Accept", "Authorization", "Content-Type", "Range"],
        expose_headers=list(EXPOSED_HEADERS),
        allow_credentials=False,
        max_age=600,
    )
