"""QIDO-RS (PS3.18 Section 10.6): search for studies, series and instances in the
database's index; answers in DICOM JSON (:mod:`srkit.net.dicomweb.dicomjson`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from srkit.errors import SrkitError
from srkit.model.levels import Level
from srkit.net.dicomweb.answers import base_url, json_response, problem
from srkit.net.dicomweb.auth import check_path_uids
from srkit.net.dicomweb.dicomjson import row_json
from srkit.net.dicomweb.params import (
    QIDO_REQUIRED,
    QueryParameterError,
    parse_query,
    qido_fields,
)
from srkit.net.matching import split_filters

__all__ = ["qido_routes"]


def _qido(db: Any, request: Request, prefix: str, level: str, fixed: dict[str, str]) -> Response:
    check_path_uids(*fixed.values())
    try:
        query = parse_query(request.query_params.multi_items())
    except QueryParameterError as exc:
        return problem(exc)
    filters, ignored = split_filters({**query.filters, **fixed})
    fields = qido_fields(level, query, filters)
    try:
        rows = db.query(
            level,
            filters,
            fields=fields,
            limit=query.limit,
            offset=query.offset,
            fuzzy=query.fuzzy,
        )
    except SrkitError as exc:
        raise HTTPException(400, str(exc)) from None
    base = base_url(request, prefix)
    body = [row_json(row, fields, level, base, QIDO_REQUIRED[level]) for row in rows]
    headers = {}
    if ignored:  # PS3.18 Section 8.3.4.1: unsupported matching keys are ignored
        headers["Warning"] = (
            f'299 srkit: "The following attributes are not supported for matching: '
            f'{", ".join(ignored)}"'
        )
    if not body:
        return Response(status_code=204, headers=headers)
    response = json_response(body)
    response.headers.update(headers)
    return response


def qido_routes(router: APIRouter, db: Any, prefix: str) -> None:
    def studies(request: Request) -> Response:
        return _qido(db, request, prefix, Level.STUDY, {})

    def series(request: Request, study: str | None = None) -> Response:
        return _qido(
            db, request, prefix, Level.SERIES, {"StudyInstanceUID": study} if study else {}
        )

    def instances(
        request: Request, study: str | None = None, series: str | None = None
    ) -> Response:
        fixed = {"StudyInstanceUID": study} if study else {}
        if series:
            fixed["SeriesInstanceUID"] = series
        return _qido(db, request, prefix, Level.IMAGE, fixed)

    router.add_api_route("/studies", studies, methods=["GET"])
    router.add_api_route("/series", series, methods=["GET"])
    router.add_api_route("/instances", instances, methods=["GET"])
    router.add_api_route("/studies/{study}/series", series, methods=["GET"])
    router.add_api_route("/studies/{study}/instances", instances, methods=["GET"])
    router.add_api_route("/studies/{study}/series/{series}/instances", instances, methods=["GET"])
