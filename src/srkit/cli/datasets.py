"""The dataset options of the batch commands (``srkit measurements``, ``srkit dose``,
``srkit instances``): ``-o DIR`` / ``--format parquet-dataset``, ``--jobs``, ``--dask``,
``--resume``, and the run itself with its progress bar (a terminal only) and its
one-line summary on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from srkit.cli.common import report_error, stderr_console

__all__ = ["dataset_options", "is_dataset", "run_dataset"]

SHOWN_FAILURES = 20
"""Failures named on stderr; every one is in the dataset's ``errors`` table."""


def dataset_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the dataset options to a command."""
    options = [
        click.option(
            "--jobs",
            type=click.IntRange(min=1),
            help="Worker processes for a dataset (default: one per CPU; 1: this process).",
        ),
        click.option(
            "--dask",
            metavar="ADDRESS|local:N",
            help="Run on a dask.distributed scheduler, or a LocalCluster of N workers.",
        ),
        click.option(
            "--resume",
            is_flag=True,
            help="Go on with the dataset in -o DIR: read only inputs missing or changed.",
        ),
        click.option("--overwrite", is_flag=True, help="Replace a dataset already in -o DIR."),
        click.option(
            "--batch-size",
            type=click.IntRange(min=1),
            default=64,
            show_default=True,
            help="Inputs per task.",
        ),
        click.option(
            "--storage-option",
            "storage",
            multiple=True,
            metavar="KEY=VALUE",
            help="fsspec option for URLs (VALUE as JSON when it parses; default anon access).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def is_dataset(fmt: str, out: str | None, options: dict[str, Any] | None = None) -> bool:
    """Whether the output is a dataset: ``--format parquet-dataset``, ``-o`` naming a
    folder (one that exists, or a name ending in ``/``), or an option only datasets
    take (``--jobs``, ``--dask``, ``--resume``)."""
    if fmt == "parquet-dataset":
        return True
    if options and any(options.get(k) for k in ("jobs", "dask", "resume", "overwrite")):
        return True
    return out is not None and (os.path.isdir(out) or out.endswith(("/", os.sep)))


def _storage(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--storage-option")
        try:
            parsed: Any = json.loads(value)
        except ValueError:
            parsed = value
        # nested keys: client_kwargs.endpoint_url=...
        target = out
        *parents, last = key.strip().split(".")
        for name in parents:
            target = target.setdefault(name, {})
        target[last] = parsed
    return out


def run_dataset(
    paths: tuple[str, ...],
    *,
    kind: str,
    out: str | None,
    columns: str = "srkit",
    policy: str = "tolerant",
    jobs: int | None,
    dask: str | None,
    resume: bool,
    overwrite: bool,
    batch_size: int,
    storage: tuple[str, ...],
) -> None:
    """Extract into the dataset ``out``; name failures; exit 1 when any input failed."""
    from srkit.extract.run import extract

    if out is None:
        raise click.UsageError("a dataset needs -o DIR")
    if jobs and dask:
        raise click.UsageError("--jobs and --dask are two executors: give one")
    executor: Any = f"dask:{dask}" if dask else (jobs or None)
    progress = _Progress(kind)
    try:
        summary = extract(
            paths,
            kind=kind,
            out=out,
            executor=executor,
            columns=columns,
            policy=policy,
            resume=resume,
            overwrite=overwrite,
            batch_size=batch_size,
            storage_options=_storage(storage),
            on_plan=progress.plan,
            on_batch=progress.batch,
        )
    finally:
        progress.close()
    for path, reason in summary.failed[:SHOWN_FAILURES]:
        report_error(f"{path}: {reason}")
    if len(summary.failed) > SHOWN_FAILURES:
        more = len(summary.failed) - SHOWN_FAILURES
        report_error(f"... and {more} more failures: see {os.path.join(out, 'errors')}")
    rows = ", ".join(f"{n} {name}" for name, n in summary.rows.items())
    kept = f", {summary.kept} kept from before" if summary.kept else ""
    click.echo(
        f"srkit: {summary.files} files read ({summary.files_per_second:.0f}/s){kept}: "
        f"{rows}; {summary.skipped} skipped, {summary.errors} failed -> {out}",
        err=True,
    )
    if summary.errors:
        raise SystemExit(1)


class _Progress:
    """files, rows, errors and files/s on stderr, when it is a terminal."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.bar: Any = None
        self.task: Any = None

    def plan(self, summary: Any, todo: int) -> None:
        if not sys.stderr.isatty() or todo < 2:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                "{task.fields[rows]} rows, {task.fields[errors]} errors, "
                "{task.fields[rate]:.0f} files/s"
            ),
            console=stderr_console(),
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task(self.kind, total=todo, rows=0, errors=0, rate=0.0)

    def batch(self, batch: Any, summary: Any) -> None:
        if self.bar is None:
            return
        self.bar.update(
            self.task,
            completed=summary.files,
            rows=sum(summary.rows.values()),
            errors=summary.errors,
            rate=summary.files_per_second,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
