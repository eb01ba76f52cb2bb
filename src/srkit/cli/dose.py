"""``srkit dose PATH...``: radiation dose reports (TID 10011, TID 10001) as tables.

Output shapes follow ``contract.md`` ("Radiation dose"): one object per report with
``--format json`` (a list) or ``jsonl``; one row per irradiation event with ``csv``.
``--summary`` writes one row per report instead, ``--plot`` a picture of the dose per
event. ``srkit dose drl|unmapped|alerts --db URL`` work on the database instead
(:mod:`srkit.cli.dose_db`); any other first argument is a PATH.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from srkit.cli.common import iter_files, progress, report_error, user_errors
from srkit.cli.datasets import dataset_options
from srkit.errors import NotDicomError, NotStructuredReportError, SrkitError, SrkitWarning

__all__ = ["dose", "tabulate", "event_rows", "iter_reports", "DoseGroup"]

_SUBCOMMANDS = {
    "drl": "drl",
    "unmapped": "unmapped",
    "alerts": "alerts",
    "export": "export",
    "ssde": "ssde",
}
"""``srkit dose <name>``: commands over the database, in :mod:`srkit.cli.dose_db`."""


class DoseGroup(click.Group):
    """``srkit dose PATH...`` (the contract's command), or ``srkit dose drl|unmapped|
    alerts`` over the database: a first argument naming a subcommand picks it, any
    other runs :func:`tabulate` (``./drl`` names a file called drl)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _SUBCOMMANDS:
            return None
        from srkit.cli import dose_db

        command: click.Command = getattr(dose_db, _SUBCOMMANDS[cmd_name])
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] in ("-h", "--help"):
            return super().parse_args(ctx, args)
        if not args or args[0] not in _SUBCOMMANDS:
            args = ["_files", *args]
        return super().parse_args(ctx, args)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] == "_files":
            return "dose", tabulate, args[1:]
        return super().resolve_command(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(
            ctx.command_path, "PATH... [OPTIONS] | drl|unmapped|alerts|export|ssde ..."
        )


def iter_reports(
    paths: tuple[str, ...],
    *,
    show_diagnostics: bool = False,
    failed: list[Path] | None = None,
    strict_units: bool = False,
) -> Iterator[tuple[Path, Any]]:
    """``(file, DoseReport)`` for every dose report under ``paths``.

    A file named on the command line that cannot be read, or that is damaged
    (truncated), is reported on stderr and added to ``failed`` (raised when
    ``failed`` is None); the others go on. Files found in folders that are not
    DICOM, not SR or not dose reports are skipped quietly. ``strict_units`` makes a
    number whose unit cannot be understood null instead of keeping it unnormalised.
    """
    from srkit.codec import damage, read
    from srkit.templates.dose import dose_report

    named = {Path(p) for p in paths}
    files = list(iter_files(paths))
    for path in progress(files, "dose reports"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SrkitWarning)
                doc = read(path)
        except SrkitError as exc:
            # a non-DICOM or non-SR file found in a folder is skipped quietly
            quiet = isinstance(exc, NotDicomError | NotStructuredReportError) and path not in named
            if not quiet:
                if failed is None:
                    raise
                failed.append(path)
                report_error(str(exc) if exc.source else f"{path}: {exc}")
            continue
        problem = damage(doc)
        if problem is not None:
            if failed is None:
                raise SrkitError(problem.message, source=str(path))
            failed.append(path)
            report_error(f"{path}: {problem.message} (events read before it are kept)")
        report = dose_report(doc, strict_units=strict_units)
        if report is None:
            if path in named:
                report_error(f"{path}: not a radiation dose report; skipped")
            continue
        if show_diagnostics:
            for diagnostic in report.diagnostics:
                report_error(f"{path}: {diagnostic}")
        yield path, report


def _expand(value: Any, prefix: str, out: dict[str, Any]) -> None:
    """Nested objects as ``a.b`` keys, lists of objects as ``a.1.b`` (1-based)."""
    if isinstance(value, dict) and not (set(value) >= {"value", "scheme"}):
        for key, item in value.items():
            _expand(item, f"{prefix}.{key}" if prefix else key, out)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for n, item in enumerate(value, 1):
            _expand(item, f"{prefix}.{n}", out)
    else:
        out[prefix] = value


def event_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The CSV rows of one report: one per event, the report's fields repeated.

    Each row carries the accumulated record of the event's plane (TID 10001) or the
    one accumulated record (TID 10011) under ``accumulated.``; an event of a report
    without events still yields one row, so that no report disappears.
    """
    head = {k: v for k, v in report.items() if k not in ("accumulated", "events")}
    accumulated: list[dict[str, Any]] = report.get("accumulated") or []
    rows = []
    for n, event in enumerate(report.get("events") or [None], 1):
        row: dict[str, Any] = {}
        _expand(head, "", row)
        plane = (event or {}).get("acquisition_plane")
        match = next(
            (a for a in accumulated if a.get("acquisition_plane") == plane),
            accumulated[0] if accumulated else {},
        )
        _expand(match, "accumulated", row)
        row["event_number"] = n if event is not None else None
        _expand(event or {}, "event", row)
        rows.append(row)
    return rows


@click.command("dose")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format", "fmt", type=click.Choice(["json", "jsonl", "csv", "parquet-dataset"]),
    default="jsonl", show_default=True,
)  # fmt: skip
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="File to write (stdout), or a folder (existing, or ending in /): a Parquet dataset "
    "of dose_reports and dose_events.",
)
@click.option("--summary", is_flag=True, help="One row per report: device, totals, maxima.")
@click.option("--plot", type=click.Path(dir_okay=False), help="Also draw dose per event (PNG).")
@click.option(
    "--diagnostics", "show_diagnostics", is_flag=True, help="Print what each report got wrong."
)
@click.option(
    "--strict-units",
    is_flag=True,
    help="A number whose unit cannot be understood is null instead of kept unnormalised.",
)
@click.option(
    "--dap-unit",
    type=click.Choice(["Gy.m2", "Gy.cm2", "uGy.m2", "cGy.cm2", "mGy.cm2", "dGy.cm2"]),
    help="With --summary: DAP totals in this unit (columns <name>_<unit>); default Gy.m2.",
)
@dataset_options
@user_errors
def tabulate(
    paths: tuple[str, ...],
    fmt: str,
    output: str | None,
    summary: bool,
    plot: str | None,
    show_diagnostics: bool,
    strict_units: bool,
    dap_unit: str | None,
    **dataset: Any,
) -> None:
    """Tabulate every radiation dose report found in PATH (files, folders recursively).

    Numbers are in the units the templates prescribe: mGy, mGy.cm, mm, s, Gy.m2,
    Gy, kV, mA (Exposure Time: ms for projection X-ray, s for CT). A number whose
    unit srkit cannot understand keeps its value and unit as {"value", "unit",
    "scheme", "normalised": false} and is reported with --diagnostics; with
    --strict-units it is null instead.

    With -o DIR (or --format parquet-dataset) the reports and events go to a Parquet
    dataset (see srkit measurements: --jobs, --dask, --resume, URLs and manifests).
    """
    from srkit.cli.datasets import is_dataset, run_dataset

    if is_dataset(fmt, output, dataset):
        run_dataset(paths, kind="dose", out=output, **dataset)
        return
    from srkit.tables.write import write_rows
    from srkit.templates.dose import dose_summary

    if plot:
        _check_writable(plot)
    failed: list[Path] = []
    reports = [
        r.to_dict()
        for _, r in iter_reports(
            paths, show_diagnostics=show_diagnostics, failed=failed, strict_units=strict_units
        )
    ]
    if not reports:
        raise SrkitError("no radiation dose report found in " + ", ".join(paths))
    if dap_unit and not summary:
        raise click.UsageError("--dap-unit goes with --summary (the records stay in Gy.m2)")
    if summary:
        rows: list[dict[str, Any]] = [dose_summary(r) for r in reports]
        if dap_unit and dap_unit != "Gy.m2":
            rows = [_dap_display(row, dap_unit) for row in rows]
    elif fmt == "csv":
        rows = [row for r in reports for row in event_rows(r)]
    else:
        rows = reports
    write_rows(rows, fmt, output)
    if plot:
        from srkit.cli.dose_plot import plot_dose

        plot_dose(reports, plot)
    if failed:
        raise SystemExit(1)


@click.group("dose", cls=DoseGroup, invoke_without_command=False)
def dose() -> None:
    """Radiation dose reports: ``srkit dose PATH...`` tabulates files (see ``srkit dose
    PATH --help``); ``drl``, ``unmapped`` and ``alerts`` work on the database."""


_DAP_KEYS = ("dap_total", "fluoro_dap_total", "acquisition_dap_total")


def _dap_display(row: dict[str, Any], unit: str) -> dict[str, Any]:
    """A summary row with its DAP totals in ``unit`` (keys renamed ``<key>_<unit>``)."""
    from srkit.dose.charts import dap_in

    return {
        (f"{k}_{unit}" if k in _DAP_KEYS else k): (dap_in(v, unit) if k in _DAP_KEYS else v)
        for k, v in row.items()
    }


def _check_writable(path: str) -> None:
    """Fail before any output when the plot cannot be written."""
    folder = Path(path).resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise SrkitError("cannot write the plot: no such writable folder", source=path)
