"""Image pages of ``srkit serve``: a series' loadables and slice previews.

Routes (behind the server's bearer token when one is set):

- ``/series/{uid}/loadables``: what :func:`srkit.load.examine_files` proposes for the
  series (plugin, name, confidence, selected, tooltip, coded warnings with their
  tolerances), each with a preview of its middle slice; a SEG or SR series is examined
  together with the series it references, so its preview shows the regions drawn on
  the image;
- ``/preview/{sop_uid}.png?frame=N&size=S&window=C,W&seg=SEG_UID&segment=K&sr=SR_UID``:
  one frame as PNG (:func:`srkit.load.preview.render_frame`), with that SEG's segments (or only
  segment ``K``) and that SR's SCOORD/SCOORD3D regions that lie on it;
- ``/series/{uid}/preview.png?slice=K&size=S``: slice ``K`` (0-based, volume order as
  :class:`~srkit.load.volume.Volume` stacks it; the middle one by default).

Files come from the database; UIDs in paths and queries are checked; errors are 400
(not a UID), 404 (not in the archive), 409 (a UID under two patients), 422 (a frame or
slice out of range, a file that cannot be rendered). Every text shown is HTML-escaped.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from srkit.net.dicomweb.auth import check_path_uids

__all__ = ["image_routes", "THUMBNAIL_SIZE", "MAX_PREVIEW_SIZE"]

THUMBNAIL_SIZE = 160
"""Longest edge of the previews on the loadables page, in pixels."""
MAX_PREVIEW_SIZE = 4096
"""Largest ``size`` a preview may be asked for."""

_PNG_HEADERS = {"Cache-Control": "private, max-age=300"}


def _env() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("srkit.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _files(db: Any, level: str, uid: str) -> list[tuple[str, Path]]:
    """(SOP Instance UID, file) of the instances of a series or one instance that are
    on disk; 404 when none, 409 when the UID is filed under two patients."""
    from srkit.db import AmbiguousUidError
    from srkit.errors import SrkitError

    try:
        rows = db.instance_files(level, uid)
    except AmbiguousUidError as exc:
        raise HTTPException(409, str(exc)) from None
    except SrkitError as exc:
        raise HTTPException(400, str(exc)) from None
    found = [(sop, Path(p)) for sop, p in rows if Path(p).is_file()]
    if not found:
        what = "series" if level == "SERIES" else "instance"
        raise HTTPException(404, f"no such {what} (or its files are missing)")
    return found


def _one(db: Any, uid: str) -> Path:
    return _files(db, "IMAGE", uid)[0][1]


def _render(path: Path, frame: int, size: int | None, **overlays: Any) -> bytes:
    """PNG bytes; SrkitErrors (unreadable file, frame out of range) become 422."""
    from srkit.errors import MissingDependencyError, SrkitError
    from srkit.load.preview import render_frame

    try:
        return render_frame(str(path), frame, size=size, fmt="png", **overlays)
    except MissingDependencyError as exc:
        raise HTTPException(501, str(exc)) from None
    except SrkitError as exc:
        raise HTTPException(422, f"cannot render {path.name}: {exc.message}") from None


def _overlay_source(db: Any, uid: str | None, what: str, sop_classes: tuple[str, ...]) -> Any:
    """The dataset of the SEG or SR named in a query (its header checked)."""
    if uid is None:
        return None
    check_path_uids(uid)
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    path = _one(db, uid)
    try:
        ds = dcmread(str(path))
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise HTTPException(422, f"{what} {uid} cannot be read ({exc})") from None
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_classes and sop_class not in sop_classes:
        raise HTTPException(422, f"{uid} is not a {what} (SOP Class {sop_class})")
    if what == "SR":
        from srkit.codec.sopclass import is_sr_sop_class

        if not is_sr_sop_class(sop_class):
            raise HTTPException(422, f"{uid} is not an SR (SOP Class {sop_class})")
    return ds


def _window(text: str | None) -> tuple[float, float] | None:
    """``"center,width"`` (as WADO-RS ``window``, PS3.18 8.3.5.1.4; a function after a
    second comma must be ``linear``) -> (center, width); 422 otherwise."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2].lower() != "linear"):
            raise ValueError
        center, width = float(parts[0]), float(parts[1])
    except ValueError:
        raise HTTPException(422, "window must be center,width (linear)") from None
    if not width > 0 or not math.isfinite(center) or not math.isfinite(width):
        raise HTTPException(422, "window width must be a positive number")
    return center, width


def _preview(
    db: Any,
    sop_uid: str,
    frame: int,
    size: int | None,
    seg: str | None,
    segment: int | None,
    sr: str | None,
    window: str | None = None,
) -> bytes:
    from srkit.load.sopclasses import LABEL_MAP_SEGMENTATION, SEGMENTATION

    check_path_uids(sop_uid)
    path = _one(db, sop_uid)
    seg_ds = _overlay_source(db, seg, "SEG", (SEGMENTATION, LABEL_MAP_SEGMENTATION))
    sr_ds = _overlay_source(db, sr, "SR", ())
    if segment is not None and seg_ds is None:
        raise HTTPException(400, "segment needs seg (the SEG's SOP Instance UID)")
    segments = [segment] if segment is not None else None
    if segments and segment not in {int(s.SegmentNumber) for s in seg_ds.SegmentSequence}:
        raise HTTPException(404, f"the SEG has no segment {segment}")
    return _render(
        path, frame, size, seg=seg_ds, segments=segments, sr=sr_ds, window=_window(window)
    )


def _series_preview(db: Any, uid: str, index: int | None, size: int | None) -> bytes:
    from srkit.load.preview import number_of_frames, slice_order

    check_path_uids(uid)
    files = _files(db, "SERIES", uid)
    ordered = slice_order([p for _, p in files])
    if not ordered:
        raise HTTPException(422, "no readable images in the series")
    if len(ordered) == 1:  # one multi-frame image: its frames are the slices
        from pydicom import dcmread

        frames = number_of_frames(dcmread(ordered[0], stop_before_pixels=True))
        k = frames // 2 if index is None else index
        if not 0 <= k < frames:
            raise HTTPException(422, f"slice {k} out of range (0..{frames - 1})")
        return _render(Path(ordered[0]), k + 1, size)
    k = len(ordered) // 2 if index is None else index
    if not 0 <= k < len(ordered):
        raise HTTPException(422, f"slice {k} out of range (0..{len(ordered) - 1})")
    return _render(Path(ordered[k]), 1, size)


# -- the loadables page -------------------------------------------------------------


def _referenced_series(paths: list[Path]) -> set[str]:
    """Series a SEG or SR of the list references (Referenced Series Sequence, Current
    Requested Procedure Evidence, Pertinent Other Evidence)."""
    from pydicom import dcmread

    out: set[str] = set()
    for path in paths:
        try:
            ds = dcmread(str(path), stop_before_pixels=True)
        except (OSError, ValueError, EOFError):
            continue
        for item in ds.get("ReferencedSeriesSequence", []) or []:
            out.add(str(item.get("SeriesInstanceUID", "")))
        for key in (
            "CurrentRequestedProcedureEvidenceSequence",
            "PertinentOtherEvidenceSequence",
            "StudiesContainingOtherReferencedInstancesSequence",
        ):
            for study in ds.get(key, []) or []:
                for item in study.get("ReferencedSeriesSequence", []) or []:
                    out.add(str(item.get("SeriesInstanceUID", "")))
    return {u for u in out if u}


def _thumbnail(loadable: Any, sop_of: dict[str, str]) -> str | None:
    """URL of the preview of a loadable's middle slice, ``None`` when it has no image."""
    from urllib.parse import urlencode

    from srkit.load.preview import seg_source_instances, slice_order

    size = {"size": THUMBNAIL_SIZE}
    known = set(sop_of.values())
    if loadable.plugin == "seg":
        seg_uid = sop_of.get(loadable.files[0])
        sources = seg_source_instances(loadable.files[0]) if seg_uid else []
        if sources:
            middle = sources[len(sources) // 2]
            if middle in known:
                return f"/preview/{middle}.png?" + urlencode({**size, "seg": seg_uid})
            return f"/preview/{seg_uid}.png?" + urlencode({**size, "frame": len(sources) // 2 + 1})
        return None
    if loadable.plugin == "tid1500":
        from srkit.load.preview import scoord_images

        sr_uid = sop_of.get(loadable.files[0])
        # an image with a region drawn on it first, else any image the report names
        candidates = scoord_images(loadable.files[0]) if sr_uid else []
        candidates += list(loadable.extra.get("source_instances", []))
        for source in candidates:
            if source in known and sr_uid:
                return f"/preview/{source}.png?" + urlencode({**size, "sr": sr_uid})
        return None
    if "modality" not in loadable.extra and "images" not in loadable.extra:
        return None  # a plugin without images of its own (KOS, registration, RT)
    ordered = slice_order(loadable.files)
    if not ordered or ordered[len(ordered) // 2] not in sop_of:
        return None
    middle = sop_of[ordered[len(ordered) // 2]]
    if len(ordered) == 1:
        from pydicom import dcmread

        from srkit.load.preview import number_of_frames

        frames = number_of_frames(dcmread(ordered[0], stop_before_pixels=True))
        return f"/preview/{middle}.png?" + urlencode({**size, "frame": frames // 2 + 1})
    return f"/preview/{middle}.png?" + urlencode(size)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_fmt(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_fmt(v) for v in value)
    return str(value)


def _loadables(db: Any, uid: str) -> dict[str, Any]:
    """The context of the loadables page."""
    from srkit.load.api import examine_files

    check_path_uids(uid)
    own = _files(db, "SERIES", uid)
    lists = [[str(p) for _, p in own]]
    sop_of = {str(p): sop for sop, p in own}
    for ref in sorted(_referenced_series([p for _, p in own]) - {uid}):
        try:
            extra = _files(db, "SERIES", ref)
        except HTTPException:
            continue  # not in the archive: the plugin says so in a warning
        lists.append([str(p) for _, p in extra])
        sop_of.update({str(p): sop for sop, p in extra})
    result = examine_files(lists)
    items = []
    for item in result.loadables:
        if item.series_uid != uid:
            continue
        items.append(
            {
                "name": item.name,
                "plugin": item.plugin,
                "confidence": f"{item.confidence:.3g}",
                "selected": item.selected,
                "tooltip": item.tooltip,
                "files": len(item.files),
                "reason": item.reason,
                "thumbnail": _thumbnail(item, sop_of),
                "warnings": [
                    {
                        "code": w.code,
                        "severity": w.severity.value,
                        "message": w.message,
                        "tolerance": _fmt(w.tolerance),
                        "measured": _fmt(w.measured),
                    }
                    for w in item.warnings
                ],
            }
        )
    problems = [
        {"code": p.code, "message": p.message}
        for p in result.problems
        if p.code != "no_plugin" and any(f in sop_of for f in p.files)
    ]
    return {"uid": uid, "loadables": items, "problems": problems}


def image_routes(app: FastAPI, db: Any, deps: list[Any]) -> None:
    """Add the loadables page and the preview images to ``app`` (``deps``: the
    server's auth dependencies)."""
    env = _env()

    @app.get("/series/{uid}/loadables", response_class=HTMLResponse, dependencies=deps)
    async def loadables_page(uid: str) -> HTMLResponse:
        context = await run_in_threadpool(_loadables, db, uid)
        html = env.get_template("loadables.html").render(
            title="Loadables",
            crumbs=[("Patients", "/"), ("Series", f"/series/{uid}")],
            **context,
        )
        return HTMLResponse(html)

    @app.get("/preview/{sop_uid}.png", dependencies=deps)
    async def preview(
        sop_uid: str,
        frame: int = Query(1, ge=1),
        size: int | None = Query(None, ge=1, le=MAX_PREVIEW_SIZE),
        seg: str | None = Query(None, max_length=64),
        segment: int | None = Query(None, ge=1),
        sr: str | None = Query(None, max_length=64),
        window: str | None = Query(None, max_length=80),
    ) -> Response:
        data = await run_in_threadpool(_preview, db, sop_uid, frame, size, seg, segment, sr, window)
        return Response(data, media_type="image/png", headers=_PNG_HEADERS)

    @app.get("/series/{uid}/preview.png", dependencies=deps)
    async def series_preview(
        uid: str,
        slice_index: int | None = Query(None, alias="slice", ge=0),
        size: int | None = Query(None, ge=1, le=MAX_PREVIEW_SIZE),
    ) -> Response:
        data = await run_in_threadpool(_series_preview, db, uid, slice_index, size)
        return Response(data, media_type="image/png", headers=_PNG_HEADERS)
