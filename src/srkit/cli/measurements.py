"""``srkit measurements PATH...``: TID 1500 measurements as a table.

One row per quantitative measurement (or, with ``--kind qualitative``, per qualitative
evaluation) of every TID 1500 Measurement Report found under the paths, in document
order (see the contract, "Measurements (TID 1500)").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from srkit.cli.common import (
    READ_POLICY_OPTION,
    format_option,
    output_option,
    progress,
    report_error,
    user_errors,
)
from srkit.cli.datasets import dataset_options, is_dataset, run_dataset
from srkit.errors import SrkitError
from srkit.extract.measurements import extract_rows, measurement_files

__all__ = ["measurements"]


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@format_option(
    "jsonl", "csv", "parquet", "json", "parquet-dataset", default="jsonl",
    note="parquet-dataset: a folder, see -o",
)  # fmt: skip
@output_option("out", folder=True)
@click.option(
    "--kind",
    type=click.Choice(["quantitative", "qualitative"]),
    default="quantitative",
    show_default=True,
    help="Numeric measurements, or coded qualitative evaluations.",
)
@READ_POLICY_OPTION
@click.option(
    "--columns",
    type=click.Choice(["srkit", "idc"]),
    default="srkit",
    show_default=True,
    help="Dataset columns: srkit's, or IDC's quantitative/qualitative_measurements views.",
)
@click.option(
    "-v", "--verbose", is_flag=True, help="Print every problem found in a report on stderr."
)
@dataset_options
@user_errors
def measurements(
    paths: tuple[str, ...],
    fmt: str,
    out: str | None,
    kind: str,
    policy: str,
    columns: str,
    verbose: bool,
    **dataset: Any,
) -> None:
    """Write the measurements of every TID 1500 report under PATHS as a table.

    PATHS are files or folders (searched recursively). A file of the wrong kind (not
    DICOM, not SR, not TID 1500) is skipped, with a note when it was named; the exit
    code is 1 only when no report at all was found. A report that cannot be read is
    named on stderr and the exit code is 1, while the rows of every other file are
    still written.

    With -o DIR (or --format parquet-dataset) PATHS may also be glob patterns,
    manifest files (.txt, .s5cmd: one path or URL a line) and URLs (s3://, gs://,
    https://); the rows go to a Parquet dataset with errors and manifest tables,
    on --jobs N processes or a Dask cluster, resumable with --resume.
    """
    if is_dataset(fmt, out, dataset):
        run_dataset(paths, kind=kind, out=out, columns=columns, policy=policy, **dataset)
        return
    if columns != "srkit":
        raise click.UsageError("--columns idc goes with a dataset (-o DIR)")
    from srkit.codec import damage
    from srkit.diagnostics import Severity
    from srkit.tables.schemas import MEASUREMENTS, QUALITATIVE
    from srkit.tables.write import write_rows

    if fmt == "parquet" and out is None:
        raise click.UsageError("--format parquet needs -o FILE")
    from srkit.cli.faces import is_wrong_kind, summary

    failed: list[str] = []
    skipped: list[str] = []

    def on_error(path: Path, exc: SrkitError) -> None:
        if is_wrong_kind(exc):  # not DICOM: skipped with a note (srkit.cli.faces)
            on_skip(path, exc.message)
            return
        failed.append(str(path))
        report_error(str(exc) if exc.source else f"{path}: {exc}")

    def on_damage(path: Path, doc: Any) -> None:
        problem = damage(doc)
        if problem is not None:
            failed.append(str(path))
            report_error(f"{path}: {problem.message} (rows read before it are kept)")

    def on_skip(path: Path, why: str) -> None:
        skipped.append(str(path))
        if str(path) in named:
            report_error(f"{path}: {why}; skipped")

    named = set(paths)

    def on_problem(path: Path, report: Any) -> None:
        shown = [d for d in report.diagnostics if verbose or d.severity == Severity.ERROR]
        for diag in shown if verbose else shown[:1]:
            more = len(shown) - 1 if not verbose and len(shown) > 1 else 0
            extra = f" (and {more} more; -v shows all)" if more else ""
            report_error(f"{path}: {diag}{extra}")

    files = measurement_files(paths)
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
    errors = len(set(failed))
    summary("measurements", files=len(files), rows=len(rows), errors=errors, out=out or "stdout")
    used = len(files) - len(skipped) - len([f for f in set(failed) if f not in skipped])
    if not used and not failed:
        report_error("no TID 1500 measurement report found in " + ", ".join(paths))
    if failed or not used:
        raise SystemExit(1)
