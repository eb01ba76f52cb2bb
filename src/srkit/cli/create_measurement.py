"""``srkit create measurement-report``: a TID 1500 Comprehensive 3D SR from dcmqi JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from srkit.cli.common import iter_files, user_errors
from srkit.errors import SrkitError

__all__ = ["measurement_report"]


def _expand(paths: tuple[str, ...], what: str) -> list[Path]:
    """Files named, and the files under named folders (sorted, recursively)."""
    out: list[Path] = []
    for name in paths:
        path = Path(name)
        if not path.exists():
            raise SrkitError(f"{what} not found", source=name)
        out.extend(iter_files([path]) if path.is_dir() else [path])
    return out


def _load(paths: list[Path]) -> list[tuple[Path, Any]]:
    """Headers of DICOM files (pixel data not read); unreadable files are errors."""
    from srkit.codec import load_dataset

    found: list[tuple[Path, Any]] = []
    seen: set[str] = set()
    for path in paths:
        ds = load_dataset(path, stop_before_pixels=True)
        uid = str(ds.get("SOPInstanceUID", ""))
        if not uid:
            raise SrkitError("no SOP Instance UID", source=str(path))
        if uid not in seen:
            seen.add(uid)
            found.append((path, ds))
    return found


def _order(loaded: list[tuple[Path, Any]], names: tuple[str, ...], what: str) -> list[Any]:
    """Datasets in the order the metadata names them (by base name), then the others.

    Names that match no given file are reported on stderr when fewer files than names
    were given (the report then lists only the given files).
    """
    by_name: dict[str, Any] = {}
    for path, ds in loaded:
        by_name.setdefault(path.name, ds)
    ordered: list[Any] = []
    missing: list[str] = []
    for name in names:
        ds = by_name.get(Path(name).name)
        if ds is None:
            missing.append(name)
        elif not any(ds is o for o in ordered):
            ordered.append(ds)
    ordered.extend(ds for _, ds in loaded if not any(ds is o for o in ordered))
    if missing and len(loaded) < len(names):
        shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
        click.echo(f"srkit: note: {what} file(s) {shown} named in the metadata not given", err=True)
    return ordered


@click.command("measurement-report")
@click.argument("metadata", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--image",
    "images",
    multiple=True,
    type=click.Path(),
    help="Image file or folder of the image library (repeatable); the report takes "
    "its patient and study from these.",
)
@click.option(
    "--seg",
    "segs",
    multiple=True,
    type=click.Path(),
    help="Segmentation, RWVM or other referenced object, file or folder (repeatable).",
)
@click.option(
    "-o", "--output", "out", required=True, type=click.Path(dir_okay=False), help="Output file."
)
@click.option("--sop-instance-uid", help="SOP Instance UID of the report (fresh by default).")
@click.option("--series-instance-uid", help="Series Instance UID (fresh by default).")
@click.option(
    "--check/--no-check",
    default=True,
    show_default=True,
    help="Read the written report back and fail if its rows differ from the metadata.",
)
@user_errors
def measurement_report(
    metadata: str,
    images: tuple[str, ...],
    segs: tuple[str, ...],
    out: str,
    sop_instance_uid: str | None,
    series_instance_uid: str | None,
    check: bool,
) -> None:
    """Write a TID 1500 Measurement Report (Comprehensive 3D SR) described by METADATA.

    METADATA is dcmqi's TID 1500 JSON (sr-tid1500-schema.json). Its imageLibrary and
    compositeContext name files by base name; give those files (or their folders)
    with --image and --seg. Example:

      srkit create measurement-report liver.json --image ct/ --seg liver_seg.dcm -o sr.dcm
    """
    from srkit.codec import read_dataset
    from srkit.codec.writer import to_dataset, write
    from srkit.templates.dcmqi import spec_from_dcmqi
    from srkit.templates.tid1500 import measurement_rows
    from srkit.templates.tid1500_builder import build_measurement_report

    try:
        data = json.loads(Path(metadata).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SrkitError(f"not JSON ({exc})", source=metadata) from None
    try:
        parsed = spec_from_dcmqi(data)
    except SrkitError as exc:
        raise SrkitError(exc.message, source=metadata, code=exc.code) from None
    if not images and not segs:
        raise click.UsageError("give the referenced images with --image (files or folders)")
    library = _order(_load(_expand(images, "image")), parsed.image_library, "image")
    others = _order(_load(_expand(segs, "object")), parsed.composite_context, "object")
    doc = build_measurement_report(
        parsed.spec,
        library,
        others,
        sop_instance_uid=sop_instance_uid,
        series_instance_uid=series_instance_uid,
    )
    if check:
        expected = measurement_rows(doc)
        again = measurement_rows(read_dataset(to_dataset(doc)))
        if again != expected:  # pragma: no cover - a bug in srkit, not in the input
            raise SrkitError("the report read back differs from what was built", source=out)
    write(doc, out)
    count = sum(len(grp.measurements) for grp in parsed.spec.groups)
    click.echo(
        f"{out}: {len(parsed.spec.groups)} group(s), {count} measurement(s), "
        f"{len(library)} image(s)",
        err=True,
    )
