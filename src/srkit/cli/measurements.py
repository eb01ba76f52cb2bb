"""``srkit measurements PATH...``: TID 1500 measurements as a table.

One row per quantitative measurement (or, with ``--kind qualitative``, per qualitative
evaluation) of every TID 1500 Measurement Report found under the paths, in document
order (see the contract, "Measurements (TID 1500)").
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from srkit.cli.common import iter_files, progress, report_error, user_errors
from srkit.errors import NotStructuredReportError, SrkitError, SrkitWarning

__all__ = ["measurements", "extract_rows"]


def _looks_like_dicom(path: Path) -> bool:
    """Whether a file starts like Part 10 DICOM (``DICM`` after the preamble)."""
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return True  # let the reader report it
    return head[128:132] == b"DICM"


def _read_report(path: Path, policy: str) -> Any:
    """The document at ``path`` if it is an SR, else ``None``; raises SrkitError on bad files."""
    from srkit.codec import load, read_loaded
    from srkit.codec.sopclass import is_sr_sop_class

    loaded = load(path, stop_before_pixels=True)
    sop_class = str(loaded.dataset.get("SOPClassUID", ""))
    if sop_class and not is_sr_sop_class(sop_class):
        return None
    _skip_image_library(loaded)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SrkitWarning)
        return read_loaded(loaded, policy=policy)


def _skip_image_library(loaded: Any) -> None:
    """Cut the Image Library (111028, DCM) subtree before decoding the tree.

    The rows never use the image library (TID 1600), which is often most of a
    report's items (191 of 260 in dcmqi's example). Only the dataset read for this
    purpose changes.
    """
    from srkit.codec import prune_children

    prune_children(loaded, frozenset({("111028", "DCM")}))


def extract_rows(
    paths: list[Path],
    kind: str = "quantitative",
    *,
    policy: str = "tolerant",
    on_problem: Any = None,
    on_error: Any = None,
    on_read: Any = None,
    on_skip: Any = None,
) -> Iterator[dict[str, Any]]:
    """Rows of every TID 1500 report among ``paths`` (files), in order.

    Parameters
    ----------
    paths : list of Path
        Files; those found in folders should be filtered by the caller.
    kind : str
        ``"quantitative"`` or ``"qualitative"``.
    policy : str
        Read policy of the codec.
    on_problem : callable, optional
        Called with ``(path, report)`` for a report that has diagnostics.
    on_error : callable, optional
        Called with ``(path, error)`` for a file that cannot be read; without it the
        error is raised.
    on_read : callable, optional
        Called with ``(path, document)`` for every SR read (to report damaged files).
    on_skip : callable, optional
        Called with ``(path, reason)`` for a file that holds no measurement report.
    """
    from srkit.templates.tid1500 import is_measurement_report, report_rows

    for path in paths:
        try:
            doc = _read_report(path, policy)
        except NotStructuredReportError:
            if on_skip is not None:
                on_skip(path, "not an SR document")
            continue
        except SrkitError as exc:
            if on_error is None:
                raise
            on_error(path, exc)
            continue
        if doc is None:
            if on_skip is not None:
                on_skip(path, "not an SR document")
            continue
        if on_read is not None:
            on_read(path, doc)
        if not is_measurement_report(doc):
            if on_skip is not None:
                on_skip(path, "not a TID 1500 measurement report")
            continue
        rows, report = report_rows(doc, kind)
        if report.diagnostics and on_problem is not None:
            on_problem(path, report)
        yield from rows


def _files(paths: tuple[str, ...]) -> list[Path]:
    """Named files, plus the DICOM-looking files under named folders."""
    out: list[Path] = []
    for name in paths:
        top = Path(name)
        if top.is_dir():
            out.extend(p for p in iter_files([top]) if _looks_like_dicom(p))
        else:
            out.append(top)
    return out


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "parquet", "json"]),
    default="jsonl",
    show_default=True,
    help="Output format (Parquet needs -o).",
)
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False), help="Output file.")
@click.option(
    "--kind",
    type=click.Choice(["quantitative", "qualitative"]),
    default="quantitative",
    show_default=True,
    help="Numeric measurements, or coded qualitative evaluations.",
)
@click.option(
    "--policy",
    type=click.Choice(["strict", "tolerant", "permissive"]),
    default="tolerant",
    show_default=True,
    help="How to treat SR content that breaks a rule.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Print every problem found in a report on stderr."
)
@user_errors
def measurements(
    paths: tuple[str, ...], fmt: str, out: str | None, kind: str, policy: str, verbose: bool
) -> None:
    """Write the measurements of every TID 1500 report under PATHS as a table.

    PATHS are files or folders (searched recursively; files that are not DICOM SR
    are skipped). A file that cannot be read is named on stderr and the exit code
    is 1, while the rows of every other file are still written.
    """
    from srkit.codec import damage
    from srkit.diagnostics import Severity
    from srkit.tables.schemas import MEASUREMENTS, QUALITATIVE
    from srkit.tables.write import write_rows

    if fmt == "parquet" and out is None:
        raise click.UsageError("--format parquet needs -o FILE")
    failed: list[str] = []

    def on_error(path: Path, exc: SrkitError) -> None:
        failed.append(str(path))
        report_error(str(exc) if exc.source else f"{path}: {exc}")

    def on_damage(path: Path, doc: Any) -> None:
        problem = damage(doc)
        if problem is not None:
            failed.append(str(path))
            report_error(f"{path}: {problem.message} (rows read before it are kept)")

    def on_skip(path: Path, why: str) -> None:
        if str(path) in named:
            report_error(f"{path}: {why}; skipped")

    named = set(paths)

    def on_problem(path: Path, report: Any) -> None:
        shown = [d for d in report.diagnostics if verbose or d.severity == Severity.ERROR]
        for diag in shown if verbose else shown[:1]:
            more = len(shown) - 1 if not verbose and len(shown) > 1 else 0
            extra = f" (and {more} more; -v shows all)" if more else ""
            report_error(f"{path}: {diag}{extra}")

    files = _files(paths)
    rows = list(
        extract_rows(
            list(progress(files, "measurements")),
            kind,
            policy=policy,
            on_problem=on_problem,
            on_error=on_error,
            on_read=on_damage,
            on_skip=on_skip,
        )
    )
    write_rows(rows, fmt, out, schema=MEASUREMENTS if kind == "quantitative" else QUALITATIVE)
    if failed:
        raise SystemExit(1)
