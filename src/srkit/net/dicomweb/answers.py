"""HTTP answers the DICOMweb services share (PS3.18 Sections 8.7 and 8.8): DICOM JSON
bodies, problem details for bad parameters (RFC 9457), and the URL of the DICOMweb
root that Retrieve URLs start with.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request, Response

from srkit.net.dicomweb.params import QueryParameterError

__all__ = ["DICOM_JSON", "base_url", "json_response", "problem"]

DICOM_JSON = "application/dicom+json"


def base_url(request: Request, prefix: str) -> str:
    """The URL of the DICOMweb root: the configured public URL, else from the request
    (its Host header)."""
    public = getattr(request.app.state, "public_url", None)
    root = public if public else str(request.base_url)
    return root.rstrip("/") + prefix


def problem(exc: QueryParameterError) -> Response:
    """HTTP 400 with a problem details body (RFC 9457, ``application/problem+json``)
    naming the parameter and what it accepts; ``detail`` is the one-line message."""
    body = {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": str(exc),
        "parameter": exc.parameter,
        "accepted": exc.accepted,
    }
    return Response(json.dumps(body), status_code=400, media_type="application/problem+json")


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type=DICOM_JSON)
