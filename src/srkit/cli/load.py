"""``srkit examine`` and ``srkit load``: series -> loadables -> NIfTI (srkit.load).

Files come from paths (files and folders) or, with ``--db URL --series UID``, from the
database (``Database.instance_files``); only this command module touches the database,
the load layer never does.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from srkit.cli.common import (
    DB_OPTION,
    fail,
    format_option,
    iter_files,
    report_error,
    user_errors,
)

__all__ = ["examine_cmd", "load_cmd", "export"]

REGULARIZE = ("none", "report", "resample")
DTYPES = ("auto", "float32", "float64", "raw")


def _files(paths: tuple[str, ...], db_url: str | None, series: str | None) -> list[str]:
    if db_url is not None or (not paths and series):
        if not series:
            fail("--db needs --series UID")
        from srkit.cli.db import _open

        db = _open(db_url, must_exist=True)
        try:
            rows = db.instance_files("SERIES", series)
        finally:
            db.close()
        if not rows:
            fail(f"series {series}: not in the database")
        missing = [str(p) for _, p in rows if not Path(p).exists()]
        if missing:
            report_error(f"{missing[0]}: indexed but the file is gone ({len(missing)} such)")
        return [str(p) for _, p in rows if Path(p).exists()]
    if not paths:
        fail("give PATH... or --db URL --series UID")
    out = []
    for p in iter_files(paths):
        if not p.exists():
            fail(f"{p}: No such file or directory")
        out.append(str(p))
    return out


def _tolerances(pairs: tuple[str, ...]) -> Any:
    """``--tolerance NAME=VALUE`` options as GeometryTolerances (None without any)."""
    if not pairs:
        return None
    from srkit.load.geometry import GeometryTolerances

    known = GeometryTolerances().as_dict()
    values = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name not in known:
            fail(f"--tolerance {pair}: unknown name (one of {', '.join(known)})")
        try:
            values[name] = float(value)
        except ValueError:
            fail(f"--tolerance {pair}: not a number")
    return GeometryTolerances(**values)


TOLERANCE_OPTION = click.option(
    "--tolerance",
    "tolerance",
    multiple=True,
    metavar="NAME=VALUE",
    help="A geometry tolerance (slice_interval_mm, slice_interval_relative, in_plane_mm, "
    "orientation, orthogonality, duplicate_mm, pixel_spacing_mm, oblique_degrees, "
    "tilt_degrees); repeatable.",
)


def _examine(
    files: list[str], series: str | None, plugin: str | None, tolerances: Any = None
) -> Any:
    from srkit.load import examine_files

    result = examine_files([files], plugins=[plugin] if plugin else None, tolerances=tolerances)
    if series:
        result.loadables = [x for x in result.loadables if x.series_uid == series]
    for problem in result.problems:
        if problem.code != "no_plugin":
            report_error(problem.message)
    return result


@click.command("examine")
@click.argument("paths", nargs=-1, type=click.Path())
@DB_OPTION
@click.option("--series", metavar="UID", help="Only this Series Instance UID.")
@click.option("--plugin", metavar="NAME", help="Only this load plugin (scalar, seg, ...).")
@format_option("text", "json", default="text")
@TOLERANCE_OPTION
@user_errors
def examine_cmd(
    paths: tuple[str, ...],
    db_url: str | None,
    series: str | None,
    plugin: str | None,
    fmt: str,
    tolerance: tuple[str, ...],
) -> None:
    """List the ways the files of PATH... (or a database series) can be loaded.

    Each loadable has its plugin, confidence, whether it is selected (per series the
    highest confidence) and its coded warnings. Exit 1 when nothing is loadable.
    """
    files = _files(paths, db_url, series)
    result = _examine(files, series, plugin, _tolerances(tolerance))
    if fmt == "json":
        json.dump(
            {
                "loadables": [x.to_dict() for x in result.loadables],
                "problems": [p.to_dict() for p in result.problems],
            },
            sys.stdout,
            indent=2,
        )
        sys.stdout.write("\n")
    else:
        from srkit.render.escape import escape_control

        for i, x in enumerate(result.loadables):
            mark = "x" if x.selected else " "
            click.echo(
                f"{i:>3} [{mark}] {x.confidence:.2f} {x.plugin:<8} "
                f"{escape_control(x.name)} ({len(x.files)} files) series {x.series_uid}"
            )
            for w in x.warnings:
                click.echo(f"          {w.severity.value} {w.code}: {escape_control(w.message)}")
    if not result.loadables:
        raise SystemExit(1)


@click.command("load")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(), help="OUT.nii or OUT.nii.gz")
@DB_OPTION
@click.option("--series", metavar="UID", help="Only this Series Instance UID.")
@click.option("--plugin", metavar="NAME", help="Load with this plugin (default: the selected).")
@click.option(
    "--index",
    type=int,
    help="Load the loadable with this number in `srkit examine`'s list (default: the selected).",
)
@click.option(
    "--regularize",
    type=click.Choice(REGULARIZE),
    default="none",
    show_default=True,
    help="Irregular geometry: warn only, report per-slice displacement, or resample.",
)
@click.option("--dtype", type=click.Choice(DTYPES), default="auto", show_default=True)
@click.option(
    "--labelmap/--segments", default=True, help="SEG: one labelmap, or one volume per segment."
)
@TOLERANCE_OPTION
@user_errors
def load_cmd(
    paths: tuple[str, ...],
    output: str,
    db_url: str | None,
    series: str | None,
    plugin: str | None,
    index: int | None,
    regularize: str,
    dtype: str,
    labelmap: bool,
    tolerance: tuple[str, ...],
) -> None:
    """Load the selected loadable(s) of PATH... (or a database series) to NIfTI.

    Writes OUT (and OUT.json, the sidecar); with several selected loadables, OUT_2, OUT_3,
    ... for the others; a measurement report (TID 1500) becomes a CSV table of the same
    name, key images and registrations JSON. Prints each file written; warnings go to stderr.
    """
    from srkit.load import load

    files = _files(paths, db_url, series)
    tolerances = _tolerances(tolerance)
    result = _examine(files, series, plugin, tolerances)
    items = result.loadables
    if index is not None:
        if not 0 <= index < len(items):
            fail(f"--index {index}: there are {len(items)} loadables (see srkit examine)")
        chosen = [items[index]]
    else:
        chosen = [x for x in items if x.selected]
    if not chosen:
        blocked = [w.message for x in items for w in x.warnings if w.severity.value == "ERROR"]
        fail(blocked[0] if blocked else "nothing to load in the files given")
    for n, item in enumerate(chosen, start=1):
        target = _numbered(Path(output), n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                volume = load(
                    item,
                    regularize=regularize,
                    dtype=dtype,
                    labelmap=labelmap,
                    tolerances=tolerances,
                )
            except (ValueError, TypeError, RuntimeError, KeyError, IndexError, MemoryError) as exc:
                # a peer library's complaint about odd data: one line, never a traceback
                detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                fail(f"{item.files[0]}: cannot load {item.name!r} ({detail})")
        for w in getattr(volume, "warnings", ()):
            report_error(f"{item.name}: {w.severity.value} {w.code}: {w.message}")
        if hasattr(volume, "to_nifti"):
            volume.to_nifti(target)
        elif hasattr(volume, "to_csv"):  # a table (TID 1500): CSV beside the NIfTI name
            target = _with_suffix(target, ".csv")
            volume.to_csv(target)
        else:  # key images (KOS), registrations: JSON
            target = _with_suffix(target, ".json")
            volume.to_json(target)
        click.echo(str(target))
    click.echo(f"srkit load: {len(chosen)} of {len(items)} loadables written", err=True)


def _with_suffix(path: Path, suffix: str) -> Path:
    name = path.name
    for old in (".nii.gz", ".nii"):
        if name.endswith(old):
            return path.with_name(name[: -len(old)] + suffix)
    return path.with_suffix(suffix)


def _numbered(path: Path, n: int) -> Path:
    if n == 1:
        return path
    name = path.name
    for suffix in (".nii.gz", ".nii"):
        if name.endswith(suffix):
            return path.with_name(f"{name[: -len(suffix)]}_{n}{suffix}")
    return path.with_name(f"{path.stem}_{n}{path.suffix}")


@click.group("export")
def export() -> None:
    """Export volumes back to DICOM, or the database as Parquet datasets."""


def _add_parquet() -> None:
    from srkit.cli.export_parquet import parquet

    export.add_command(parquet)


_add_parquet()


@export.command("dicom")
@click.argument("volume", type=click.Path())
@click.option(
    "--like",
    "like",
    required=True,
    metavar="SERIES_UID",
    help="The series whose patient, study and frame of reference the new one shares.",
)
@DB_OPTION
@click.option("--series-uid", metavar="UID", help="Series Instance UID (default: a new one).")
@click.option("--description", default="srkit derived", show_default=True)
@user_errors
def export_dicom(
    volume: str, like: str, db_url: str | None, series_uid: str | None, description: str
) -> None:
    """Store VOLUME.nii.gz in the database as a new image series like SERIES_UID.

    The new series gets new UIDs (an existing Series Instance UID is refused), the SOP
    class and Image Type of its modality. Prints the new Series Instance UID.
    """
    import shutil
    import tempfile

    from srkit.cli.db import _open
    from srkit.load.export import volume_from_nifti, write_image_series

    if not Path(volume).exists():
        fail(f"{volume}: No such file or directory")
    vol = volume_from_nifti(volume)
    db = _open(db_url, must_exist=True)
    try:
        like_files = [str(p) for _, p in db.instance_files("SERIES", like) if Path(p).exists()]
        if not like_files:
            fail(f"series {like}: not in the database")
        if series_uid and db.instance_files("SERIES", series_uid):
            fail(f"series {series_uid}: already in the database; a new series needs a new UID")
        tmp = Path(tempfile.mkdtemp(prefix="srkit-export-"))
        try:
            files = write_image_series(
                vol,
                like_files,
                tmp,
                series_instance_uid=series_uid,
                series_description=description,
            )
            from pydicom import dcmread

            new_uid = str(dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)
            db.import_paths([tmp], copy=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    finally:
        db.close()
    click.echo(new_uid)
    click.echo(f"srkit export dicom: {len(files)} images stored as series {new_uid}", err=True)
