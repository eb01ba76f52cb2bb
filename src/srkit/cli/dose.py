"""``srkit dose PATH...``: radiation dose reports (TID 10011, TID 10001) as tables.

Output shapes follow ``contract.md`` ("Radiation dose"): one object per report with
``--format json`` (a list) or ``jsonl``; one row per irradiation event with ``csv``.
``--summary`` writes one row per report instead, ``--plot`` a picture of the dose per
event. ``srkit dose drl|unmapped|alerts --db URL`` work on the database instead
(:mod:`srkit.cli.dose_db`); any other first argument is a PATH.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from srkit.cli import faces
from srkit.cli.common import format_option, output_option, progress, report_error, user_errors
from srkit.cli.datasets import dataset_options
from srkit.errors import SrkitError
from srkit.tables.dose import event_rows

__all__ = ["dose", "tabulate", "iter_reports", "DoseGroup"]

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
    """``(file, DoseReport)`` for every dose report under ``paths``
    (:func:`srkit.extract.dose.dose_reports`), problems on stderr.

    A named file that cannot be read or is damaged is reported and added to
    ``failed`` (raised when ``failed`` is None); the others go on.
    """
    from srkit.extract.dose import dose_reports

    def error(path: Path, exc: SrkitError) -> None:
        assert failed is not None
        failed.append(path)
        report_error(str(exc) if exc.source else f"{path}: {exc}")

    for path, report in dose_reports(
        paths,
        strict_units=strict_units,
        on_error=None if failed is None else error,
        on_skip=lambda path, reason: report_error(f"{path}: {reason}"),
        each=lambda files: progress(files, "dose reports"),
    ):
        if show_diagnostics:
            for diagnostic in report.diagnostics:
                report_error(f"{path}: {diagnostic}")
        yield path, report


@click.command("dose")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@format_option(
    "json", "jsonl", "csv", "parquet", "parquet-dataset", default="jsonl",
    note="parquet-dataset: a folder, see -o",
)  # fmt: skip
@output_option(folder=True)
@click.option("--summary", is_flag=True, help="One row per report: device, totals, maxima.")
@click.option(
    "--events",
    is_flag=True,
    help="One row per irradiation event in every format (always so for csv and parquet).",
)
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
    events: bool,
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

    Rows (--summary, --events, csv, parquet) have the fixed columns of
    ``srkit query dose`` (srkit.tables.schemas.DOSE_REPORTS, DOSE_EVENTS).

    With -o DIR (or --format parquet-dataset) the reports and events go to a Parquet
    dataset (see srkit measurements: --jobs, --dask, --resume, URLs and manifests).
    """
    from srkit.cli.datasets import is_dataset, run_dataset

    if is_dataset(fmt, output, dataset):
        run_dataset(paths, kind="dose", out=output, **dataset)
        return
    from srkit.tables.dose import report_row
    from srkit.tables.schemas import DOSE_EVENTS, DOSE_REPORTS
    from srkit.tables.write import Schema, write_rows

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
    if summary and events:
        raise click.UsageError("--summary and --events are two shapes: choose one")
    schema: Schema | None = None
    if summary:
        rows: list[dict[str, Any]] = [report_row(r) for r in reports]
        schema = DOSE_REPORTS
        if dap_unit and dap_unit != "Gy.m2":
            rows = [_dap_display(row, dap_unit) for row in rows]
            schema = _dap_schema(schema, dap_unit)
    elif events or fmt in ("csv", "parquet"):
        rows = [row for r in reports for row in event_rows(r)]
        schema = DOSE_EVENTS
    else:
        rows = reports
    write_rows(rows, fmt, output, schema=schema)
    if plot:
        from srkit.cli.dose_plot import plot_dose

        plot_dose(reports, plot)
    faces.summary(
        "dose",
        reports=len(reports),
        rows=len(rows),
        errors=len(set(failed)),
        out=output or "stdout",
    )
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


def _dap_schema(schema: Any, unit: str) -> Any:
    """``schema`` with its DAP total columns renamed as :func:`_dap_display` does."""
    from srkit.tables.write import Schema

    def name(column: str) -> str:
        return f"{column}_{unit}" if column in _DAP_KEYS else column

    return Schema(
        columns=[name(c) for c in schema.columns],
        codes=schema.codes,
        types={name(k): v for k, v in schema.types.items()},
    )


def _check_writable(path: str) -> None:
    """Fail before any output when the plot cannot be written."""
    folder = Path(path).resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise SrkitError("cannot write the plot: no such writable folder", source=path)
