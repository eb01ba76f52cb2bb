"""WADO-RS (PS3.18 Section 10.4): studies, series and instances as stored
(``multipart/related; type="application/dicom"``), their metadata in DICOM JSON,
bulk data, and frames (PS3.18 Section 10.4.1.1.4).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import StreamingResponse

from srkit.errors import SrkitError
from srkit.model.levels import Level
from srkit.net.dicomweb import multipart
from srkit.net.dicomweb.answers import base_url, json_response, problem
from srkit.net.dicomweb.auth import check_path_uids
from srkit.net.dicomweb.dicomjson import bulk_value, dataset_json
from srkit.net.dicomweb.negotiate import PIXEL_MEDIA, choose
from srkit.net.dicomweb.params import QueryParameterError, decimal
from srkit.net.dicomweb.transcode import TranscodeError, can_transcode, frame_bytes, instance_bytes

__all__ = [
    "FRAME_MEDIA",
    "MAX_FRAME_NUMBER",
    "frame_numbers",
    "frame_parts",
    "instance_files",
    "read_instance",
    "wado_routes",
]

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())

DICOM = "application/dicom"
OCTETS = "application/octet-stream"


def instance_files(
    db: Any, study: str, series: str | None = None, sop: str | None = None
) -> list[Path]:
    """Files of a study, series or instance, checked to belong to the parents named."""
    check_path_uids(study, series, sop)
    filters = {"StudyInstanceUID": study}
    if series:
        filters["SeriesInstanceUID"] = series
    if sop:
        filters["SOPInstanceUID"] = sop
    from srkit.db import AmbiguousUidError

    try:
        if sop:
            rows = db.query(Level.IMAGE, filters, fields=["SOPInstanceUID"])
            found = [db.instance_path(r["SOPInstanceUID"]) for r in rows]
        elif series:
            found = db.instance_paths(Level.SERIES, series, within=filters)
        else:
            found = db.instance_paths(Level.STUDY, study)
    except AmbiguousUidError as exc:
        # a study UID filed under two patients: never hand one patient's files for
        # the other's (srkit.db.hierarchy); retrieve by series or instance instead
        raise HTTPException(409, str(exc)) from None
    except SrkitError as exc:
        raise HTTPException(400, str(exc)) from None
    paths = [Path(p) for p in found if p is not None and Path(p).is_file()]
    if not paths:
        raise HTTPException(404, "no such instances")
    return paths


NOT_ACCEPTABLE = 406


def _not_acceptable(accept: str | None, stored: str) -> HTTPException:
    return HTTPException(
        NOT_ACCEPTABLE,
        f"cannot answer {accept!r}: stored as {stored}, and srkit cannot transcode to "
        "what was asked (transfer-syntax=* accepts the stored one)",
    )


def _stored_ts(path: Path) -> str:
    from pydicom.filereader import read_file_meta_info

    try:
        return str(read_file_meta_info(path).get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    except Exception as exc:
        LOGGER.error("cannot read %s: %s", path, exc)
        raise HTTPException(500, "stored instance unreadable") from None


def _instance_choices(paths: Sequence[Path], accept: str | None) -> list[str | None]:
    """Per file, the transfer syntax to re-encode it in, None to send it as stored;
    406 when one of them cannot be given as asked (PS3.18 Section 8.7.5)."""
    stored_any = "stored"

    def never(_from: str, _to: str) -> bool:
        return False

    picked = choose(accept, stored_any, bare=DICOM, can_make=never)
    if picked is not None and picked[1] == stored_any:
        return [None] * len(paths)  # the stored files are acceptable whatever they are
    out: list[str | None] = []
    for path in paths:
        stored = _stored_ts(path)
        picked = choose(accept, stored, bare=DICOM, can_make=can_transcode)
        if picked is None:
            raise _not_acceptable(accept, stored)
        out.append(None if picked[1] == stored else picked[1])
    return out


def _transcoded(path: Path, ts: str) -> bytes:
    ds = read_instance(path)
    try:
        return instance_bytes(ds, ts)
    except TranscodeError as exc:
        LOGGER.warning("WADO-RS: %s: %s", path.name, exc)
        raise _not_acceptable(ts, "a transfer syntax srkit cannot decode") from None


def _stream_files(paths: Sequence[Path], accept: str | None = None) -> StreamingResponse:
    choices = _instance_choices(paths, accept)
    boundary = multipart.new_boundary()
    first = next((ts for ts in choices if ts), None)
    media_type = f'multipart/related; type="{DICOM}"; boundary={boundary}'
    if first is not None and all(ts == first for ts in choices):
        media_type = (
            f'multipart/related; type="{DICOM}"; transfer-syntax={first}; boundary={boundary}'
        )

    def chunks() -> Iterator[bytes]:
        # each file in 1 MiB pieces: a retrieval holds no instance whole in memory
        # (but one being transcoded)
        for path, ts in zip(paths, choices):
            if ts is not None:
                head = f"--{boundary}\r\nContent-Type: {DICOM}; transfer-syntax={ts}\r\n\r\n"
                yield head.encode() + _transcoded(path, ts) + b"\r\n"
                continue
            try:
                stream = open(path, "rb")  # noqa: SIM115 (closed below, across yields)
            except OSError:
                continue
            with stream:
                yield f"--{boundary}\r\nContent-Type: {DICOM}\r\n\r\n".encode()
                while piece := stream.read(1 << 20):
                    yield piece
                yield b"\r\n"
        yield f"--{boundary}--\r\n".encode()

    return StreamingResponse(chunks(), media_type=media_type)


def _multipart(parts: Sequence[tuple[str, bytes]], media: str, ts: str | None = None) -> Response:
    boundary = multipart.new_boundary()
    body = b"".join(multipart.encode(boundary, parts))
    syntax = f"; transfer-syntax={ts}" if ts else ""
    return Response(
        body, media_type=f'multipart/related; type="{media}"{syntax}; boundary={boundary}'
    )


def read_instance(path: Path, *, pixels: bool = True) -> Any:
    from pydicom import dcmread

    try:
        return dcmread(path, stop_before_pixels=not pixels)
    except Exception as exc:
        LOGGER.error("cannot read %s: %s", path, exc)
        raise HTTPException(500, "stored instance unreadable") from None


def _metadata(paths: Sequence[Path], base: str) -> list[dict[str, Any]]:
    out = []
    for path in paths:
        ds = read_instance(path)
        uri = (
            f"{base}/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
            f"/instances/{ds.SOPInstanceUID}/bulk"
        )
        out.append(dataset_json(ds, uri))
    return out


def wado_routes(router: APIRouter, db: Any, prefix: str) -> None:
    def study(request: Request, study: str) -> Response:
        return _stream_files(instance_files(db, study), request.headers.get("accept"))

    def series(request: Request, study: str, series: str) -> Response:
        return _stream_files(instance_files(db, study, series), request.headers.get("accept"))

    def instance(request: Request, study: str, series: str, sop: str) -> Response:
        return _stream_files(instance_files(db, study, series, sop), request.headers.get("accept"))

    def metadata(
        request: Request, study: str, series: str | None = None, sop: str | None = None
    ) -> Response:
        paths = instance_files(db, study, series, sop)
        return json_response(_metadata(paths, base_url(request, prefix)))

    def bulk(study: str, series: str, sop: str, tag: str) -> Response:
        ds = read_instance(instance_files(db, study, series, sop)[0])
        try:
            data = bulk_value(ds, tag)
        except KeyError:
            raise HTTPException(404, f"no bulk data {tag}") from None
        return _multipart([("application/octet-stream", data)], "application/octet-stream")

    def frames(request: Request, study: str, series: str, sop: str, frame_list: str) -> Response:
        try:
            numbers = frame_numbers(frame_list)
        except QueryParameterError as exc:
            return problem(exc)
        ds = read_instance(instance_files(db, study, series, sop)[0])
        accept = request.headers.get("accept")
        try:
            media, ts, parts = frame_parts(ds, numbers, accept)
        except QueryParameterError as exc:
            return problem(exc)
        except TranscodeError as exc:
            raise HTTPException(NOT_ACCEPTABLE, f"cannot answer {accept!r}: {exc}") from None
        except SrkitError as exc:
            raise HTTPException(404, str(exc)) from None
        if media is None:
            raise _not_acceptable(accept, ts)
        label = f"{media}; transfer-syntax={ts}"
        return _multipart([(label, p) for p in parts], media, ts)

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


FRAME_MEDIA = PIXEL_MEDIA
"""Media types of compressed frames by transfer syntax (PS3.18 Table 8.7.3-5)."""


MAX_FRAME_NUMBER = 2**31 - 1
"""The largest frame number (Number of Frames is IS, PS3.3 Section C.7.6.6)."""


def frame_numbers(text: str) -> list[int]:
    """The frame numbers of a WADO-RS frame list (``1,3,5``; PS3.18 Section 8.3.3.1.1),
    each once. Raises :class:`QueryParameterError` (parameter ``frames``)."""
    numbers = [decimal(n) for n in text.split(",")]
    accepted = f"comma-separated distinct frame numbers from 1 to {MAX_FRAME_NUMBER}"
    if any(n is None or not 1 <= n <= MAX_FRAME_NUMBER for n in numbers):
        raise QueryParameterError("frames", text, accepted)
    if len(set(numbers)) != len(numbers):
        raise QueryParameterError("frames", text, accepted)
    return [n for n in numbers if n is not None]


def frame_parts(
    ds: Any, numbers: Sequence[int], accept: str | None = None
) -> tuple[str | None, str, list[bytes]]:
    """Media type, transfer syntax and bytes of the frames ``numbers`` (1-based) of
    an image as the Accept header asks (PS3.18 Sections 8.7.3 and 10.4.1.1.4): the
    stored bytes when acceptable, else transcoded (:mod:`srkit.net.dicomweb.transcode`).
    The media type is None (and the transfer syntax the stored one) when nothing
    acceptable can be made (HTTP 406).

    Raises :class:`QueryParameterError` for a frame the image does not have,
    :class:`SrkitError` when it has no pixel data, :class:`TranscodeError`.
    """
    if "PixelData" not in ds:
        raise SrkitError("the instance has no pixel data")
    count = int(ds.get("NumberOfFrames") or 1)
    if not numbers or any(n < 1 or n > count for n in numbers):
        shown = ",".join(map(str, numbers))
        raise QueryParameterError("frames", shown, f"frame numbers from 1 to {count}")
    stored = str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    picked = choose(accept, stored, bare=OCTETS, can_make=can_transcode)
    if picked is None:
        return None, stored, []
    media, ts = picked
    return media, ts, frame_bytes(ds, numbers, ts)
