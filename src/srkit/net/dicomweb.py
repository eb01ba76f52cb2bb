"""DICOMweb over the database: QIDO-RS, WADO-RS and STOW-RS (PS3.18 Chapters 8 and 10).

:func:`make_router` returns a FastAPI router; :mod:`srkit.web.app` mounts it under
``/dicomweb``. Database calls run in the thread pool. Errors become HTTP statuses
with a JSON ``detail``; nothing reaches the client as a traceback.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from srkit.db.staging import InFlight, StagedFile
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
    _qido_routes(router, db, prefix)
    _wado_routes(router, db, prefix)
    _stow_routes(router, db, prefix, max_upload, in_flight)
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


RETRY_AFTER = 5
"""Seconds a STOW-RS client refused for too many bytes in flight is told to wait."""


def _too_busy() -> HTTPException:
    return HTTPException(
        503, "too many bytes in flight, retry later", headers={"Retry-After": str(RETRY_AFTER)}
    )


async def _receive(
    request: Request, db: Any, boundary: str, max_upload: int, in_flight: InFlight
) -> tuple[list[tuple[multipart.Headers, StagedFile | None]], int]:
    """Read the body as it arrives, each ``application/dicom`` part into a staged file
    (memory bounded by the chunk size); returns the parts and the bytes reserved in
    ``in_flight`` (the declared Content-Length up front, else as the body grows).
    413 beyond ``max_upload``, 503 beyond the bytes-in-flight limit, 400 for broken
    framing; nothing stays staged after an error."""
    length = request.headers.get("content-length")
    declared = int(length) if length and length.isdigit() else 0
    if declared > max_upload:
        raise HTTPException(413, f"body larger than {max_upload} bytes")
    if declared and not in_flight.reserve(declared):
        raise _too_busy()
    reserved, size = declared, 0
    received: list[tuple[multipart.Headers, StagedFile | None]] = []
    current: StagedFile | None = None
    try:
        parser = multipart.StreamParser(boundary)
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_upload:
                raise HTTPException(413, f"body larger than {max_upload} bytes")
            if size > reserved:  # no Content-Length, or more than it said
                if not in_flight.reserve(size - reserved):
                    raise _too_busy()
                reserved = size
            for event in parser.feed(chunk):
                if isinstance(event, multipart.Headers):
                    dicom = event.content_type in ("", "application/dicom")
                    current = db.stage() if dicom else None
                    received.append((event, current))
                elif isinstance(event, multipart.End):
                    if current is not None:
                        current.finish()
                    current = None
                elif current is not None:
                    current.write(event)
        list(parser.close())
    except BaseException as exc:
        for _headers, staged in received:
            if staged is not None:
                staged.discard()
        in_flight.release(reserved)
        if isinstance(exc, multipart.MultipartError):
            raise HTTPException(400, str(exc)) from None
        if isinstance(exc, SrkitError):  # the staged file could not be written
            LOGGER.error("STOW-RS: %s", exc)
            raise HTTPException(503, "cannot stage the upload") from None
        raise
    return received, reserved


def _store_part(
    db: Any, staged: StagedFile | None, study: str | None
) -> tuple[dict[str, str], int]:
    """Store one part (its staged file, None for a part that is not application/dicom);
    returns the SOP Class/Instance UIDs found and a failure reason (0 on success). The
    staged file is renamed into place or discarded."""
    from srkit.db.ingest import parse_staged

    uids: dict[str, str] = {}
    if staged is None:
        return uids, FAILURE_CANNOT_UNDERSTAND
    try:
        try:
            _ds, rec = parse_staged(staged.path, size=staged.size, sha256=staged.sha256)
        except Exception:
            return uids, FAILURE_CANNOT_UNDERSTAND
        inst = rec["instance"]
        uids = {"class": str(inst["sop_class_uid"]), "instance": str(inst["sop_instance_uid"])}
        study_uid = str(rec["study"]["study_instance_uid"])
        if study is not None and study_uid != study:
            return uids, FAILURE_NOT_MATCHING
        try:
            outcome = db.store(staged, source="stow-rs", record=rec)  # stored as received
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
    finally:
        staged.discard()  # a no-op once renamed into place


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


def _stow_routes(
    router: APIRouter, db: Any, prefix: str, max_upload: int, in_flight: InFlight | None = None
) -> None:
    from srkit.db.staging import IN_FLIGHT

    counter = in_flight if in_flight is not None else IN_FLIGHT

    async def stow(request: Request, study: str | None = None) -> Response:
        check_path_uids(study)
        media, params = multipart.content_type_params(request.headers.get("content-type", ""))
        if media != "multipart/related":
            raise HTTPException(415, 'STOW-RS needs multipart/related; type="application/dicom"')
        if params.get("type", "application/dicom").lower() != "application/dicom":
            raise HTTPException(415, f"unsupported part type {params.get('type')!r}")
        parts, reserved = await _receive(
            request, db, params.get("boundary", ""), max_upload, counter
        )
        try:
            if not parts:
                raise HTTPException(400, "no body parts")
            results = []
            for _headers, staged in parts:
                results.append(await run_in_threadpool(_store_part, db, staged, study))
        finally:
            for _headers, staged in parts:
                if staged is not None:
                    staged.discard()
            counter.release(reserved)
        return _stow_response(results, _base(request, prefix), study)

    router.add_api_route("/studies", stow, methods=["POST"])
    router.add_api_route("/studies/{study}", stow, methods=["POST"])
