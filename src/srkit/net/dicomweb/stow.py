"""STOW-RS (PS3.18 Section 10.5): store instances sent as
``multipart/related; type="application/dicom"``, each part streamed to a staged file
and stored through the database; Failure and Warning Reasons are the storage statuses
of :mod:`srkit.net.status` (PS3.18 Table 10.5.3-1).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool

from srkit.db.staging import InFlight, StagedFile
from srkit.errors import SrkitError
from srkit.net.dicomweb import multipart
from srkit.net.dicomweb.answers import base_url, json_response
from srkit.net.dicomweb.auth import check_path_uids
from srkit.net.dicomweb.dicomjson import attr
from srkit.net.status import (
    CANNOT_UNDERSTAND,
    DUPLICATE_SOP_INSTANCE,
    NOT_MATCHING,
    OUT_OF_RESOURCES,
    PROCESSING_FAILURE,
    WARNING,
)

__all__ = ["BODY_IDLE_TIMEOUT", "MAX_PARTS", "RETRY_AFTER", "stow_routes"]

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())

RETRY_AFTER = 5
"""Seconds a STOW-RS client refused for too many bytes in flight is told to wait."""

BODY_IDLE_TIMEOUT = 30.0
"""Seconds a STOW-RS body may stall before the request is answered 408."""

MAX_PARTS = 20000
"""Parts one STOW-RS request may hold (each is stored as it completes)."""


def _too_busy() -> HTTPException:
    return HTTPException(
        503, "too many bytes in flight, retry later", headers={"Retry-After": str(RETRY_AFTER)}
    )


async def _chunks(request: Request, idle: float) -> Any:
    """The body's chunks; 408 when none arrives for ``idle`` seconds (a body that
    trickles in must not hold its connection and its bytes forever)."""
    import asyncio

    stream = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), timeout=idle)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise HTTPException(408, f"no body data for {idle:g} s") from None
        yield chunk


async def _receive_and_store(
    request: Request,
    db: Any,
    boundary: str,
    study: str | None,
    max_upload: int,
    in_flight: InFlight,
) -> list[tuple[dict[str, str], int]]:
    """Read the body as it arrives and store each ``application/dicom`` part as soon
    as it is complete: one staged file is open at a time, whatever the number of
    parts, and memory is bounded by the chunk size. Bytes are counted in
    ``in_flight`` as they arrive (never the declared Content-Length, which costs a
    client nothing to send) and released once their part is stored. 413 beyond
    ``max_upload`` or :data:`MAX_PARTS`, 503 beyond the bytes-in-flight limit, 408 for
    a stalled body, 400 for broken framing (parts complete before it stay stored, and
    the message says how many)."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and (len(length) > 18 or int(length) > max_upload):
        raise HTTPException(413, f"body larger than {max_upload} bytes")
    reserved, size, parts = 0, 0, 0
    results: list[tuple[dict[str, str], int]] = []
    current: StagedFile | None = None
    try:
        parser = multipart.StreamParser(boundary)
        async for chunk in _chunks(request, BODY_IDLE_TIMEOUT):
            size += len(chunk)
            if size > max_upload:
                raise HTTPException(413, f"body larger than {max_upload} bytes")
            if not in_flight.reserve(len(chunk)):
                raise _too_busy()
            reserved += len(chunk)
            for event in parser.feed(chunk):
                if isinstance(event, multipart.Headers):
                    parts += 1
                    if parts > MAX_PARTS:
                        raise HTTPException(413, f"more than {MAX_PARTS} parts in one request")
                    dicom = event.content_type in ("", "application/dicom")
                    current = db.stage() if dicom else None
                    if current is None:
                        results.append(({}, CANNOT_UNDERSTAND))
                elif isinstance(event, multipart.End):
                    if current is not None:
                        staged, current = current, None
                        staged.finish()
                        results.append(await run_in_threadpool(_store_part, db, staged, study))
                        in_flight.release(reserved)
                        reserved = 0
                elif current is not None:
                    current.write(event)
        list(parser.close())
    except BaseException as exc:
        if current is not None:
            current.discard()
        if isinstance(exc, multipart.MultipartError):
            stored = sum(1 for _uids, reason in results if not reason)
            raise HTTPException(
                400, f"{exc} (after {stored} stored instance(s))" if stored else str(exc)
            ) from None
        if isinstance(exc, SrkitError):  # the staged file could not be written
            LOGGER.error("STOW-RS: %s", exc)
            raise HTTPException(503, "cannot stage the upload") from None
        raise
    finally:
        in_flight.release(reserved)
    return results


def _store_part(
    db: Any, staged: StagedFile | None, study: str | None
) -> tuple[dict[str, str], int]:
    """Store one part (its staged file, None for a part that is not application/dicom);
    returns the SOP Class/Instance UIDs found and a failure reason (0 on success). The
    staged file is renamed into place or discarded."""
    from srkit.db.ingest import parse_staged

    uids: dict[str, str] = {}
    if staged is None:
        return uids, CANNOT_UNDERSTAND
    try:
        try:
            _ds, rec = parse_staged(staged.path, size=staged.size, sha256=staged.sha256)
        except Exception:
            return uids, CANNOT_UNDERSTAND
        inst = rec["instance"]
        uids = {"class": str(inst["sop_class_uid"]), "instance": str(inst["sop_instance_uid"])}
        study_uid = str(rec["study"]["study_instance_uid"])
        if study is not None and study_uid != study:
            return uids, NOT_MATCHING
        try:
            outcome = db.store(staged, source="stow-rs", record=rec)  # stored as received
        except SrkitError as exc:
            LOGGER.warning("STOW-RS: %s refused: %s", uids.get("instance"), exc)
            return uids, CANNOT_UNDERSTAND
        except OSError:
            return uids, OUT_OF_RESOURCES
        except Exception:
            LOGGER.exception("STOW-RS: storing %s failed", uids.get("instance"))
            return uids, PROCESSING_FAILURE
        uids["study"] = study_uid
        uids["series"] = str(rec["series"]["series_instance_uid"])
        if outcome.status == "refused":
            LOGGER.warning("STOW-RS: %s refused: %s", uids.get("instance"), outcome.warning)
            return uids, DUPLICATE_SOP_INSTANCE
        if outcome.conflicts:
            LOGGER.warning("STOW-RS: %s stored: %s", uids.get("instance"), outcome.warning)
            uids["warning"] = outcome.warning or "conflict recorded"
        return uids, 0
    finally:
        staged.discard()  # a no-op once renamed into place


def _stow_response(
    results: list[tuple[dict[str, str], int]], base: str, study: str | None
) -> Response:
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
            url = (
                f"{base}/studies/{uids['study']}/series/{uids['series']}"
                f"/instances/{uids['instance']}"
            )
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
    return json_response(body, status)


def stow_routes(
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
        results = await _receive_and_store(
            request, db, params.get("boundary", ""), study, max_upload, counter
        )
        if not results:
            raise HTTPException(400, "no body parts")
        return _stow_response(results, base_url(request, prefix), study)

    router.add_api_route("/studies", stow, methods=["POST"])
    router.add_api_route("/studies/{study}", stow, methods=["POST"])
