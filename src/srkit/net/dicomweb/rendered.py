"""Rendered images for people and viewers: WADO-RS ``/rendered`` (PS3.18 Section
10.4.1.1.3, query parameters of Section 8.3.5.1), ``/thumbnail`` (PS3.18 Section
10.8) and WADO-URI (PS3.18 Chapter 9), as JPEG or PNG.

Pixels are rendered by :func:`srkit.load.preview.frame_image` (Modality LUT, the
window asked or the file's, MONOCHROME1 inverted, colour kept); this module picks
the frame, crops and scales to the viewport, and encodes. A study or series is
rendered by a representative instance (as Orthanc does): the middle instance, by
Instance Number, of the first series with images, by Series Number (acquired images
before SEG and other derived series). An instance's thumbnail is its middle frame.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from srkit.errors import SrkitError
from srkit.net.dicomweb.answers import problem
from srkit.net.dicomweb.auth import check_path_uids
from srkit.net.dicomweb.negotiate import parse_accept
from srkit.net.dicomweb.params import QueryParameterError
from srkit.net.dicomweb.wado import frame_numbers, instance_files, read_instance

__all__ = [
    "RENDERED_MEDIA",
    "THUMBNAIL_SIZE",
    "Rendering",
    "render",
    "rendered_media",
    "rendered_routes",
    "rendering_params",
    "wado_uri",
]

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())

RENDERED_MEDIA = {"image/jpeg": "jpeg", "image/png": "png"}
"""Rendered media types srkit answers (PS3.18 Table 8.7.4-1 lists more; srkit makes
these two)."""

THUMBNAIL_SIZE = 128
"""The longest edge of a thumbnail without ``viewport``, in pixels."""

DERIVED = frozenset({"SEG", "PR", "SR", "KO", "RTSTRUCT", "REG"})
"""Modalities of series a study is not rendered by while it has other images."""

MAX_VIEWPORT = 8192
"""The largest viewport width or height accepted, in pixels."""

MAX_ENLARGED = 2048
"""The longest edge an image is enlarged to, in pixels: a viewport larger than the
image scales it up to this at most (a small image asked for at 8192 x 8192 would cost
hundreds of megabytes per request)."""

_MAX_REGION = 1e6
"""The largest source-region coordinate accepted (pixels)."""


@dataclass(frozen=True, slots=True)
class Rendering:
    """Rendering parameters (PS3.18 Section 8.3.5.1)."""

    window: tuple[float, float] | None = None
    """(center, width), linear (``linear`` and ``linear-exact`` are accepted)."""
    viewport: tuple[int, int] | None = None
    """(width, height) the image is scaled to fit, aspect kept."""
    region: tuple[float, float, float, float] | None = None
    """(sx, sy, sw, sh) of the source image cropped first; negative sw/sh flip."""
    quality: int = 90
    """JPEG quality, 1 to 100."""


def _number(name: str, text: str, value: str, accepted: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise QueryParameterError(name, value, accepted) from None
    if number != number or not -_MAX_REGION <= number <= _MAX_REGION:
        raise QueryParameterError(name, value, accepted)
    return number


def rendering_params(params: Mapping[str, str], *, thumbnail: bool = False) -> Rendering:
    """Parse ``window``, ``viewport``, ``quality`` (``annotation`` and ``iccprofile=no``
    are accepted and ignored). Raises :class:`QueryParameterError` (HTTP 400)."""
    window = viewport = region = None
    quality = 90
    lowered = {k.lower(): v for k, v in params.items()}
    if "window" in lowered and not thumbnail:
        value = lowered["window"]
        parts = value.split(",")
        accepted = "center,width,function (width > 0; function linear or linear-exact)"
        if len(parts) != 3 or parts[2].strip().lower() not in ("linear", "linear-exact"):
            raise QueryParameterError("window", value, accepted)
        center = _number("window", parts[0], value, accepted)
        width = _number("window", parts[1], value, accepted)
        if width <= 0:
            raise QueryParameterError("window", value, accepted)
        window = (center, width)
    if "viewport" in lowered:
        value = lowered["viewport"]
        parts = value.split(",")
        accepted = f"vw,vh[,sx,sy,sw,sh] (vw and vh integers from 1 to {MAX_VIEWPORT})"
        if len(parts) not in (2, 6):
            raise QueryParameterError("viewport", value, accepted)
        vw, vh = (_number("viewport", p, value, accepted) for p in parts[:2])
        if not (vw.is_integer() and vh.is_integer() and 1 <= vw <= MAX_VIEWPORT >= vh >= 1):
            raise QueryParameterError("viewport", value, accepted)
        viewport = (int(vw), int(vh))
        if len(parts) == 6:
            sx, sy, sw, sh = (_number("viewport", p, value, accepted) for p in parts[2:])
            if sw == 0 or sh == 0 or sx < 0 or sy < 0:
                raise QueryParameterError("viewport", value, accepted)
            region = (sx, sy, sw, sh)
    if "quality" in lowered and not thumbnail:
        value = lowered["quality"]
        if not (value.isascii() and value.isdigit() and len(value) <= 3 and 1 <= int(value) <= 100):
            raise QueryParameterError("quality", value, "an integer from 1 to 100")
        quality = int(value)
    if lowered.get("iccprofile", "no").lower() != "no":
        raise QueryParameterError("iccprofile", lowered["iccprofile"], "no")
    if thumbnail and viewport is None:
        viewport = (THUMBNAIL_SIZE, THUMBNAIL_SIZE)
    return Rendering(window, viewport, region, quality)


def rendered_media(accept: str | None, query_accept: str | None = None) -> str | None:
    """The rendered media type to answer (``image/jpeg`` by default), from the
    ``accept`` query parameter or the Accept header; None when neither JPEG nor PNG
    is acceptable (HTTP 406)."""
    for item in parse_accept(query_accept or accept):
        media = item.part if item.media == "multipart/related" and item.part else item.media
        if media in RENDERED_MEDIA:
            return media
        if media in ("*/*", "image/*", "multipart/related", "multipart/*"):
            return "image/jpeg"
    return None


def render(ds: Any, frame: int, options: Rendering, media: str) -> bytes:
    """One frame rendered (:func:`srkit.load.preview.frame_image`), cropped to the
    source region, scaled to fit the viewport, encoded as ``media``."""
    from PIL import Image, ImageOps

    from srkit.load.preview import frame_image

    image = frame_image(ds, frame, window=options.window)
    if options.region is not None:
        sx, sy, sw, sh = options.region
        left, right = sorted((sx, sx + sw))
        top, bottom = sorted((sy, sy + sh))
        box = (
            max(0, round(left)),
            max(0, round(top)),
            min(image.width, round(right)),
            min(image.height, round(bottom)),
        )
        if box[2] <= box[0] or box[3] <= box[1]:
            raise SrkitError("the viewport's source region lies outside the image")
        image = image.crop(box)
        if sw < 0:
            image = ImageOps.mirror(image)
        if sh < 0:
            image = ImageOps.flip(image)
    if options.viewport is not None:
        vw, vh = options.viewport
        longest = max(image.width, image.height)
        scale = min(vw / image.width, vh / image.height, max(1.0, MAX_ENLARGED / longest))
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        if size != image.size:
            image = image.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if RENDERED_MEDIA[media] == "jpeg":
        image.save(buffer, format="JPEG", quality=options.quality)
    else:
        image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _representative(db: Any, study: str, series: str | None) -> Path:
    """The middle image (by Instance Number) of the series, or of the study's first
    series with images (by Series Number)."""
    filters = {"StudyInstanceUID": study}
    if series:
        filters["SeriesInstanceUID"] = series
    fields = [
        "SOPInstanceUID",
        "SeriesInstanceUID",
        "SeriesNumber",
        "Modality",
        "InstanceNumber",
        "Rows",
    ]
    try:
        rows = [r for r in db.query("IMAGE", filters, fields=fields) if r.get("Rows")]
    except SrkitError as exc:
        raise HTTPException(400, str(exc)) from None
    if not rows:
        raise HTTPException(404, "no images to render")
    first = min(
        rows,
        key=lambda r: (
            r.get("Modality") in DERIVED,
            r.get("SeriesNumber") is None,
            r.get("SeriesNumber") or 0,
        ),
    )
    chosen = sorted(
        (r for r in rows if r["SeriesInstanceUID"] == first["SeriesInstanceUID"]),
        key=lambda r: (
            r.get("InstanceNumber") is None,
            r.get("InstanceNumber") or 0,
            r["SOPInstanceUID"],
        ),
    )
    row = chosen[(len(chosen) - 1) // 2]
    return instance_files(db, study, row["SeriesInstanceUID"], row["SOPInstanceUID"])[0]


def _answer(
    request: Request, path: Path, frame: int | None, *, thumbnail: bool = False
) -> Response:
    try:
        options = rendering_params(dict(request.query_params), thumbnail=thumbnail)
    except QueryParameterError as exc:
        return problem(exc)
    media = rendered_media(request.headers.get("accept"), request.query_params.get("accept"))
    if media is None:
        raise HTTPException(406, "rendered images are image/jpeg or image/png")
    ds = read_instance(path)
    if "PixelData" not in ds:
        raise HTTPException(404, "the instance has no pixel data to render")
    from srkit.load.preview import number_of_frames

    count = number_of_frames(ds)
    number = frame if frame is not None else (1 if not thumbnail else (count + 1) // 2)
    if not 1 <= number <= count:
        return problem(QueryParameterError("frames", str(number), f"a frame from 1 to {count}"))
    try:
        body = render(ds, number, options, media)
    except SrkitError as exc:
        LOGGER.warning("rendering %s: %s", path.name, exc)
        raise HTTPException(422, f"cannot render: {exc.message}") from None
    return Response(body, media_type=media)


def rendered_routes(router: APIRouter, db: Any) -> None:
    """``/rendered`` and ``/thumbnail`` at study, series, instance and frame level."""

    def study_level(request: Request, study: str, series: str | None = None) -> Response:
        check_path_uids(study, series)
        thumbnail = request.url.path.endswith("/thumbnail")
        return _answer(request, _representative(db, study, series), None, thumbnail=thumbnail)

    def instance_level(request: Request, study: str, series: str, sop: str) -> Response:
        thumbnail = request.url.path.endswith("/thumbnail")
        path = instance_files(db, study, series, sop)[0]
        return _answer(request, path, None, thumbnail=thumbnail)

    def frame_level(
        request: Request, study: str, series: str, sop: str, frame_list: str
    ) -> Response:
        try:
            numbers = frame_numbers(frame_list)
        except QueryParameterError as exc:
            return problem(exc)
        if len(numbers) != 1:
            return problem(QueryParameterError("frames", frame_list, "one frame number"))
        thumbnail = request.url.path.endswith("/thumbnail")
        path = instance_files(db, study, series, sop)[0]
        return _answer(request, path, numbers[0], thumbnail=thumbnail)

    base = "/studies/{study}"
    inst = base + "/series/{series}/instances/{sop}"
    for kind in ("rendered", "thumbnail"):
        router.add_api_route(f"{base}/{kind}", study_level, methods=["GET"])
        router.add_api_route(f"{base}/series/{{series}}/{kind}", study_level, methods=["GET"])
        router.add_api_route(f"{inst}/{kind}", instance_level, methods=["GET"])
        router.add_api_route(f"{inst}/frames/{{frame_list}}/{kind}", frame_level, methods=["GET"])


WADO_URI_MEDIA = ("application/dicom", "image/jpeg", "image/png")


def wado_uri(db: Any, request: Request) -> Response:
    """WADO-URI (PS3.18 Chapter 9): ``requestType=WADO``, ``studyUID``, ``seriesUID``,
    ``objectUID``; ``contentType`` ``image/jpeg`` (default), ``image/png`` or
    ``application/dicom`` (with ``transferSyntax``); ``frameNumber``, ``rows``,
    ``columns``, ``windowCenter``, ``windowWidth``, ``imageQuality`` for images."""
    q = request.query_params

    def need(name: str) -> str:
        value = q.get(name)
        if not value:
            raise QueryParameterError(name, "", "given (PS3.18 Section 9.1.2)")
        return value

    try:
        if need("requestType") != "WADO":
            raise QueryParameterError("requestType", q["requestType"], "WADO")
        study, series, sop = need("studyUID"), need("seriesUID"), need("objectUID")
        check_path_uids(study, series, sop)
        content = _wado_uri_media(q.get("contentType"))
        path = instance_files(db, study, series, sop)[0]
        if content == "application/dicom":
            return _wado_uri_dicom(path, q.get("transferSyntax"))
        options = _wado_uri_rendering(q)
        frame = _wado_uri_frame(q.get("frameNumber"))
    except QueryParameterError as exc:
        return problem(exc)
    ds = read_instance(path)
    if "PixelData" not in ds:
        raise HTTPException(404, "the instance has no pixel data to render")
    try:
        return Response(render(ds, frame, options, content), media_type=content)
    except SrkitError as exc:
        if "out of range" in exc.message:
            return problem(QueryParameterError("frameNumber", str(frame), exc.message))
        raise HTTPException(422, f"cannot render: {exc.message}") from None


def _wado_uri_media(value: str | None) -> str:
    """The first of the listed content types srkit makes (PS3.18 Section 9.1.2.1.5)."""
    if not value:
        return "image/jpeg"
    for item in value.split(","):
        media = item.split(";")[0].strip().lower()
        if media in WADO_URI_MEDIA:
            return media
        if media in ("*/*", "image/*"):
            return "image/jpeg"
    raise QueryParameterError("contentType", value, ", ".join(WADO_URI_MEDIA))


def _wado_uri_frame(value: str | None) -> int:
    if value is None:
        return 1
    if not (value.isascii() and value.isdigit() and len(value) <= 9 and int(value) >= 1):
        raise QueryParameterError("frameNumber", value, "a frame number from 1")
    return int(value)


def _wado_uri_rendering(q: Mapping[str, str]) -> Rendering:
    def positive(name: str) -> int | None:
        value = q.get(name)
        if value is None:
            return None
        if not (
            value.isascii()
            and value.isdigit()
            and len(value) <= 5
            and 1 <= int(value) <= MAX_VIEWPORT
        ):
            raise QueryParameterError(name, value, f"an integer from 1 to {MAX_VIEWPORT}")
        return int(value)

    rows, columns = positive("rows"), positive("columns")
    viewport = None
    if rows or columns:
        viewport = (columns or MAX_VIEWPORT, rows or MAX_VIEWPORT)
    window = None
    if "windowCenter" in q or "windowWidth" in q:
        accepted = "windowCenter and windowWidth together, numbers, width > 0"
        center = _number(
            "windowCenter", q.get("windowCenter", ""), q.get("windowCenter", ""), accepted
        )
        width = _number("windowWidth", q.get("windowWidth", ""), q.get("windowWidth", ""), accepted)
        if width <= 0:
            raise QueryParameterError("windowWidth", q["windowWidth"], accepted)
        window = (center, width)
    quality = q.get("imageQuality", "90")
    if not (
        quality.isascii() and quality.isdigit() and len(quality) <= 3 and 1 <= int(quality) <= 100
    ):
        raise QueryParameterError("imageQuality", quality, "an integer from 1 to 100")
    return Rendering(window, viewport, None, int(quality))


def _wado_uri_dicom(path: Path, ts: str | None) -> Response:
    from fastapi.responses import FileResponse

    from srkit.net.dicomweb.transcode import TranscodeError, instance_bytes

    if not ts:
        return FileResponse(path, media_type="application/dicom")
    from srkit.net.dicomweb.auth import UID_PATTERN

    if not UID_PATTERN.fullmatch(ts):
        raise QueryParameterError("transferSyntax", ts, "a transfer syntax UID")
    ds = read_instance(path)
    if str(ds.file_meta.get("TransferSyntaxUID", "")) == ts:
        return FileResponse(path, media_type="application/dicom")
    try:
        return Response(instance_bytes(ds, ts), media_type="application/dicom")
    except TranscodeError as exc:
        raise HTTPException(406, str(exc)) from None


def wado_uri_routes(router: APIRouter, db: Any) -> None:
    """``/wado`` (WADO-URI) on the router."""

    def endpoint(request: Request) -> Response:
        return wado_uri(db, request)

    router.add_api_route("/wado", endpoint, methods=["GET"])
