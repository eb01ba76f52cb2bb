"""DICOMweb over the database: QIDO-RS, WADO-RS and STOW-RS (PS3.18 Chapters 8 and 10).

:func:`make_router` returns a FastAPI router; :mod:`srkit.web.app` mounts it under
``/dicomweb``. Database calls run in the thread pool. Errors become HTTP statuses
with a JSON ``detail``; nothing reaches the client as a traceback.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from srkit.errors import SrkitError
from srkit.net import multipart
from srkit.net.dicomjson import (
    QueryParameterError,
    dataset_json,
    parse_query,
    qido_fields,
    row_json,
    split_filters,
)

__all__ = ["DEFAULT_MAX_UPLOAD", "bearer_auth", "check_path_uids", "make_router"]

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())

DEFAULT_MAX_UPLOAD = 512 * 1024 * 1024
"""Default STOW-RS body limit in bytes (HTTP 413 beyond it)."""

DICOM_JSON = "application/dicom+json"
UID_PATTERN = re.compile(r"[0-9]+(\.[0-9]+)*")


def check_path_uids(*uids: str | None) -> None:
    """UIDs from the URL path must be UIDs (PS3.5 Section 9.1), never match patterns."""
    for uid in uids:
        if uid is not None and (len(uid) > 64 or not UID_PATTERN.fullmatch(uid)):
            raise HTTPException(400, f"not a UID: {uid[:80]!r}")


# STOW-RS failure reasons (PS3.18 Section 10.5.3, PS3.4 Table B.2-1)
FAILURE_PROCESSING = 0x0110
FAILURE_DUPLICATE = 0x0111
WARNING = 0xB000
"""Warning Reason of an instance stored with a conflict recorded (see srkit.net.status)."""
FAILURE_OUT_OF_RESOURCES = 0xA700
FAILURE_NOT_MATCHING = 0xA900
FAILURE_CANNOT_UNDERSTAND = 0xC000


def bearer_auth(token: str | None) -> Callable[[Request], None]:
    """A dependency that requires ``Authorization: Bearer <token>`` when a token is set
    (RFC 6750); compares in constant time; 401 with ``WWW-Authenticate`` otherwise."""

    def check(request: Request) -> None:
        if token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            given.strip().encode(), token.encode()
        ):
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )

    return check


def _base(request: Request, prefix: str) -> str:
    """The URL of the DICOMweb root: the configured public URL, else from the request
    (its Host header)."""
    public = getattr(request.app.state, "public_url", None)
    root = public if public else str(request.base_url)
    return root.rstrip("/") + prefix


def make_router(
    db: Any,
    *,
    prefix: str = "/dicomweb",
    token: str | None = None,
    max_upload: int = DEFAULT_MAX_UPLOAD,
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
        Largest STOW-RS body accepted, in bytes.
    """
    router = APIRouter(prefix=prefix, dependencies=[Depends(bearer_auth(token))])
    _qido_routes(router, db, prefix)
    _wado_routes(router, db, prefix)
    _stow_routes(router, db, prefix, max_upload)
    return router


# ---------------------------------------------------------------- QIDO-RS (PS3.18 10.6)


def _qido(db: Any, request: Request, prefix: str, level: str, fixed: dict[str, str]) -> Response:
    check_path_uids(*fixed.values())
    try:
        query = parse_query(request.query_params.multi_items())
    except QueryParameterError as exc:
        return _problem(exc)
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
    base = _base(request, prefix)
    body = [row_json(row, fields, level, base) for row in rows]
    headers = {}
    if ignored:  # PS3.18 Section 8.3.4.1: unsupported matching keys are ignored
        headers["Warning"] = (
            f'299 srkit: "The following attributes are not supported for matching: '
            f'{", ".join(ignored)}"'
        )
    if not body:
        return Response(status_code=204, headers=headers)
    response = _json(body)
    response.headers.update(headers)
    return response


def _problem(exc: QueryParameterError) -> Response:
    """HTTP 400 with a problem details body (RFC 9457, ``application/problem+json``)
    naming the parameter and what it accepts; ``detail`` is the one-line message."""
    import json

    body = {
        "type": "about:blank",
        "title": "Bad Request",
        "status": 400,
        "detail": str(exc),
        "parameter": exc.parameter,
        "accepted": exc.accepted,
    }
    return Response(json.dumps(body), status_code=400, media_type="application/problem+json")


def _json(body: Any, status: int = 200) -> Response:
    import json

    return Response(json.dumps(body), status_code=status, media_type=DICOM_JSON)


def _qido_routes(router: APIRouter, db: Any, prefix: str) -> None:
    def studies(request: Request) -> Response:
        return _qido(db, request, prefix, "STUDY", {})

    def series(request: Request, study: str | None = None) -> Response:
        return _qido(db, request, prefix, "SERIES", {"StudyInstanceUID": study} if study else {})

    def instances(
        request: Request, study: str | None = None, series: str | None = None
    ) -> Response:
        fixed = {"StudyInstanceUID": study} if study else {}
        if series:
            fixed["SeriesInstanceUID"] = series
        return _qido(db, request, prefix, "IMAGE", fixed)

    router.add_api_route("/studies", studies, methods=["GET"])
    router.add_api_route("/series", series, methods=["GET"])
    router.add_api_route("/instances", instances, methods=["GET"])
    router.add_api_route("/studies/{study}/series", series, methods=["GET"])
    router.add_api_route("/studies/{study}/instances", instances, methods=["GET"])
    router.add_api_route("/studies/{study}/series/{series}/instances", instances, methods=["GET"])


# ---------------------------------------------------------------- WADO-RS (PS3.18 10.4)


def _paths(db: Any, study: str, series: str | None = None, sop: str | None = None) -> list[Path]:
    """Files of a study, series or instance, checked to belong to the parents named."""
    check_path_uids(study, series, sop)
    filters = {"StudyInstanceUID": study}
    if series:
        filters["SeriesInstanceUID"] = series
    if sop:
        filters["SOPInstanceUID"] = sop
    try:
        if sop:
            rows = db.query("IMAGE", filters, fields=["SOPInstanceUID"])
            found = [db.instance_path(r["SOPInstanceUID"]) for r in rows]
        elif series:
            rows = db.query("SERIES", filters, fields=["SeriesInstanceUID"])
            found = db.instance_paths("SERIES", series) if rows else []
        else:
            found = db.instance_paths("STUDY", study)
    except SrkitError as exc:
        raise HTTPException(400, str(exc)) from None
    paths = [Path(p) for p in found if p is not None and Path(p).is_file()]
    if not paths:
        raise HTTPException(404, "no such instances")
    return paths


def _stream_files(paths: Sequence[Path]) -> StreamingResponse:
    boundary = multipart.new_boundary()

    def chunks() -> Iterator[bytes]:
        for path in paths:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            yield multipart.encode_part(boundary, "application/dicom", data)
        yield f"--{boundary}--\r\n".encode()

    return StreamingResponse(
        chunks(),
        media_type=f'multipart/related; type="application/dicom"; boundary={boundary}',
    )


def _multipart(parts: Sequence[tuple[str, bytes]], media: str) -> Response:
    boundary = multipart.new_boundary()
    body = b"".join(multipart.encode(boundary, parts))
    return Response(body, media_type=f'multipart/related; type="{media}"; boundary={boundary}')


def _read(path: Path, *, pixels: bool = True) -> Any:
    from pydicom import dcmread

    try:
        return dcmread(path, stop_before_pixels=not pixels)
    except Exception as exc:
        LOGGER.error("cannot read %s: %s", path, exc)
        raise HTTPException(500, "stored instance unreadable") from None


def _metadata(paths: Sequence[Path], base: str) -> list[dict[str, Any]]:
    out = []
    for path in paths:
        ds = _read(path)
        uri = (
            f"{base}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
            f"/instances/{ds.SOPInstanceUID}/bulk"
        )
        out.append(dataset_json(ds, uri))
    return out


def _wado_routes(router: APIRouter, db: Any, prefix: str) -> None:
    def study(study: str) -> Response:
        return _stream_files(_paths(db, study))

    def series(study: str, series: str) -> Response:
        return _stream_files(_paths(db, study, series))

    def instance(study: str, series: str, sop: str) -> Response:
        return _stream_files(_paths(db, study, series, sop))

    def metadata(
        request: Request, study: str, series: str | None = None, sop: str | None = None
    ) -> Response:
        paths = _paths(db, study, series, sop)
        return _json(_metadata(paths, _base(request, prefix)))

    def bulk(study: str, series: str, sop: str, tag: str) -> Response:
        from srkit.net.dicomjson import bulk_value

        ds = _read(_paths(db, study, series, sop)[0])
        try:
            data = bulk_value(ds, tag)
        except KeyError:
            raise HTTPException(404, f"no bulk data {tag}") from None
        return _multipart([("application/octet-stream", data)], "application/octet-stream")

    def frames(study: str, series: str, sop: str, frame_list: str) -> Response:
        from srkit.net.dicomjson import frame_numbers, frame_parts

        try:
            numbers = frame_numbers(frame_list)
        except QueryParameterError as exc:
            return _problem(exc)
        ds = _read(_paths(db, study, series, sop)[0])
        try:
            media, parts = frame_parts(ds, numbers)
        except QueryParameterError as exc:
            return _problem(exc)
        except SrkitError as exc:
            raise HTTPException(404, str(exc)) from None
        return _multipart([(media, p) for p in parts], media)

    base = "/studies/{study}"
    router.add_api_route(base, study, methods=["GET"])
    router.add_api_route(base + "/metadata", metadata, methods=["GET"])
    router.add_api_route(base + "/series/{series}", series, methods=["GET"])
    router.add_api_route(base + "/series/{series}/metadata", metadata, methods=["GET"])
    inst = base + "/series/{series}/instances/{sop}"
    router.add_api_route(inst, instance, methods=["GET"])
    router.add_api_route(inst + "/metadata", metadata, methods=["GET"])
    router.add_api_route(inst + "/bulk/{tag}", bulk, methods=["GET"])
    router.add_api_route(inst + "/frames/{frame_list}", frames, methods=["GET"])


# ---------------------------------------------------------------- STOW-RS (PS3.18 10.5)


async def _body(request: Request, max_upload: int) -> bytes:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_upload:
        raise HTTPException(413, f"body larger than {max_upload} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_upload:
            raise HTTPException(413, f"body larger than {max_upload} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _store_part(db: Any, part: multipart.Part, study: str | None) -> tuple[dict[str, str], int]:
    """Store one part; returns the SOP Class/Instance UIDs found and a failure reason
    (0 on success)."""
    from pydicom import dcmread

    uids: dict[str, str] = {}
    if part.content_type not in ("", "application/dicom"):
        return uids, FAILURE_CANNOT_UNDERSTAND
    try:
        ds = dcmread(io.BytesIO(part.content))
        uids = {"class": str(ds.SOPClassUID), "instance": str(ds.SOPInstanceUID)}
        study_uid = str(ds.StudyInstanceUID)
    except Exception:
        return uids, FAILURE_CANNOT_UNDERSTAND
    if study is not None and study_uid != study:
        return uids, FAILURE_NOT_MATCHING
    try:
        outcome = db.store(part.content, source="stow-rs")  # stored as received
    except SrkitError as exc:
        LOGGER.warning("STOW-RS: %s refused: %s", uids.get("instance"), exc)
        return uids, FAILURE_CANNOT_UNDERSTAND
    except OSError:
        return uids, FAILURE_OUT_OF_RESOURCES
    except Exception:
        LOGGER.exception("STOW-RS: storing %s failed", uids.get("instance"))
        return uids, FAILURE_PROCESSING
    uids["study"] = study_uid
    if outcome.status == "refused":
        LOGGER.warning("STOW-RS: %s refused: %s", uids.get("instance"), outcome.warning)
        return uids, FAILURE_DUPLICATE
    if outcome.conflicts:
        LOGGER.warning("STOW-RS: %s stored: %s", uids.get("instance"), outcome.warning)
        uids["warning"] = outcome.warning or "conflict recorded"
    return uids, 0


def _stow_response(
    results: list[tuple[dict[str, str], int]], base: str, study: str | None
) -> Response:
    from srkit.net.dicomjson import attr

    stored, failed = [], []
    warned = False
    for uids, reason in results:
        item = {
            "00081150": attr("ReferencedSOPClassUID", uids.get("class")),
            "00081155": attr("ReferencedSOPInstanceUID", uids.get("instance")),
        }
        if reason:
            item["00081197"] = attr("FailureReason", reason)
            failed.append(item)
        else:
            url = f"{base}/studies/{uids['study']}/instances/{uids['instance']}"
            item["00081190"] = attr("RetrieveURL", url)
            if uids.get("warning"):
                # stored with a conflict recorded (srkit.net.status: 0xB000)
                item["00081196"] = attr("WarningReason", WARNING)
                warned = True
            stored.append(item)
    body: dict[str, Any] = {}
    if study:
        body["00081190"] = attr("RetrieveURL", f"{base}/studies/{study}")
    body["00081199"] = {"vr": "SQ", "Value": stored} if stored else {"vr": "SQ"}
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": failed}
    status = 200 if not (failed or warned) else (202 if stored else 409)
    return _json(body, status)


def _stow_routes(router: APIRouter, db: Any, prefix: str, max_upload: int) -> None:
    async def stow(request: Request, study: str | None = None) -> Response:
        check_path_uids(study)
        media, params = multipart.content_type_params(request.headers.get("content-type", ""))
        if media != "multipart/related":
            raise HTTPException(415, 'STOW-RS needs multipart/related; type="application/dicom"')
        if params.get("type", "application/dicom").lower() != "application/dicom":
            raise HTTPException(415, f"unsupported part type {params.get('type')!r}")
        body = await _body(request, max_upload)
        try:
            parts = multipart.parse(body, params.get("boundary", ""))
        except multipart.MultipartError as exc:
            raise HTTPException(400, str(exc)) from None
        if not parts:
            raise HTTPException(400, "no body parts")
        results = [await run_in_threadpool(_store_part, db, part, study) for part in parts]
        return _stow_response(results, _base(request, prefix), study)

    router.add_api_route("/studies", stow, methods=["POST"])
    router.add_api_route("/studies/{study}", stow, methods=["POST"])
