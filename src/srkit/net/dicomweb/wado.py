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
from srkit.net.dicomweb.params import QueryParameterError, decimal

__all__ = ["FRAME_MEDIA", "MAX_FRAME_NUMBER", "frame_numbers", "frame_parts", "wado_routes"]

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())


def _paths(db: Any, study: str, series: str | None = None, sop: str | None = None) -> list[Path]:
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


def _stream_files(paths: Sequence[Path]) -> StreamingResponse:
    boundary = multipart.new_boundary()

    def chunks() -> Iterator[bytes]:
        # each file in 1 MiB pieces: a retrieval holds no instance whole in memory
        for path in paths:
            try:
                stream = open(path, "rb")  # noqa: SIM115 (closed below, across yields)
            except OSError:
                continue
            with stream:
                yield f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
                while piece := stream.read(1 << 20):
                    yield piece
                yield b"\r\n"
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


def wado_routes(router: APIRouter, db: Any, prefix: str) -> None:
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
        return json_response(_metadata(paths, base_url(request, prefix)))

    def bulk(study: str, series: str, sop: str, tag: str) -> Response:
        ds = _read(_paths(db, study, series, sop)[0])
        try:
            data = bulk_value(ds, tag)
        except KeyError:
            raise HTTPException(404, f"no bulk data {tag}") from None
        return _multipart([("application/octet-stream", data)], "application/octet-stream")

    def frames(study: str, series: str, sop: str, frame_list: str) -> Response:
        try:
            numbers = frame_numbers(frame_list)
        except QueryParameterError as exc:
            return problem(exc)
        ds = _read(_paths(db, study, series, sop)[0])
        try:
            media, parts = frame_parts(ds, numbers)
        except QueryParameterError as exc:
            return problem(exc)
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


FRAME_MEDIA = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.5": "image/x-dicom-rle",
}
"""Media types of compressed frames by transfer syntax (PS3.18 Table 8.7.3-2)."""


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


def frame_parts(ds: Any, numbers: Sequence[int]) -> tuple[str, list[bytes]]:
    """Media type and bytes of the frames ``numbers`` (1-based) of an image
    (PS3.18 Section 10.4.1.1.4). Raises :class:`QueryParameterError` for a frame the
    image does not have, :class:`SrkitError` when it has no (usable) pixel data."""
    from pydicom.encaps import generate_frames

    if "PixelData" not in ds:
        raise SrkitError("the instance has no pixel data")
    count = int(ds.get("NumberOfFrames") or 1)
    if not numbers or any(n < 1 or n > count for n in numbers):
        shown = ",".join(map(str, numbers))
        raise QueryParameterError("frames", shown, f"frame numbers from 1 to {count}")
    ts = str(ds.file_meta.get("TransferSyntaxUID", "1.2.840.10008.1.2"))
    if ds.file_meta.TransferSyntaxUID.is_compressed:
        frames = list(generate_frames(ds.PixelData, number_of_frames=count))
        return FRAME_MEDIA.get(ts, "application/octet-stream"), [frames[n - 1] for n in numbers]
    samples = int(ds.get("SamplesPerPixel") or 1)
    bits = int(ds.BitsAllocated)
    if bits == 1:
        raise SrkitError("frames of 1-bit images are not supported")
    size = int(ds.Rows) * int(ds.Columns) * samples * bits // 8
    data = ds.PixelData
    return "application/octet-stream", [data[(n - 1) * size : n * size] for n in numbers]
