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

__all__ = ["RETRY_AFTER", "stow_routes"]

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())

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
        return _stow_response(results, base_url(request, prefix), study)

    router.add_api_route("/studies", stow, methods=["POST"])
    router.add_api_route("/studies/{study}", stow, methods=["POST"])
