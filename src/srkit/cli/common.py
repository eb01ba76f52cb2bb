"""Helpers shared by the command modules: options, outputs, progress, file walking (and
the error reporting of :mod:`srkit.cli.faces`, again under its names here)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from srkit.cli.faces import fail, report_error, user_errors
from srkit.extract.inputs import iter_files

__all__ = [
    "DB_OPTION",
    "POLICY_OPTION",
    "READ_POLICY_OPTION",
    "db_option",
    "format_option",
    "output_option",
    "fail",
    "report_error",
    "user_errors",
    "iter_files",
    "progress",
    "stderr_console",
]

F = TypeVar("F", bound=Callable[..., Any])

POLICY_OPTION = click.option(
    "--on-conflict",
    "policy",
    type=click.Choice(["keep-first", "keep-last", "keep-both-as-conflict"]),
    default="keep-first",
    show_default=True,
    help="A known SOP Instance UID with other content: refuse it (keep-first), replace the "
    "stored instance (keep-last), or keep both, the new one as a conflict beside the index.",
)
"""``--on-conflict``, for every command that writes into the database
(:data:`srkit.db.hierarchy.POLICIES`)."""

_DB_HELP = "SQLite path or postgresql:// URL"


def db_option(dest: str = "db_url", *, role: str | None = None) -> Callable[[F], F]:
    """``--db URL``, the same for every command (``contract.md``: an SQLite path or a
    PostgreSQL URL). Without ``role`` the default is told ($SRKIT_DB, else the user's
    data folder); a command that uses a database only when given one says what for."""
    tail = f" {role}" if role else " (default: $SRKIT_DB, else the user's data folder)."
    return click.option("--db", dest, metavar="URL", default=None, help=_DB_HELP + tail)


DB_OPTION = db_option()
"""``--db URL`` of the commands that work on the database."""

READ_POLICY_OPTION = click.option(
    "--policy",
    type=click.Choice(["strict", "tolerant", "permissive"]),
    default="tolerant",
    show_default=True,
    help="How the reader treats SR content that breaks a rule (srkit.codec.ReadPolicy).",
)
"""``--policy``, for every command that reads SR files."""


def format_option(*choices: str, default: str | None, note: str | None = None) -> Callable[[F], F]:
    """``--format`` (into ``fmt``): the choices of the command, its default, the same
    help everywhere (Parquet, being binary, needs ``-o FILE``)."""
    extra = [n for n in (note, "parquet needs -o FILE" if "parquet" in choices else None) if n]
    text = "Output format" + (f" ({'; '.join(extra)})." if extra else ".")
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default,
        show_default=default is not None,
        help=text,
    )


def output_option(dest: str = "output", *, folder: bool = False) -> Callable[[F], F]:
    """``-o/--output FILE``: where the table goes instead of stdout; with ``folder``, a
    folder too (existing, or ending in ``/``): a Parquet dataset (:mod:`srkit.cli.datasets`)."""
    if folder:
        return click.option(
            "-o",
            "--output",
            dest,
            type=click.Path(),
            help="File to write (stdout), or a folder (existing, or ending in /): a Parquet "
            "dataset.",
        )
    return click.option(
        "-o", "--output", dest, type=click.Path(dir_okay=False), help="File to write (stdout)."
    )


def stderr_console() -> Any:
    """A rich console on stderr."""
    from rich.console import Console

    return Console(stderr=True)


def progress(items: list[Any], description: str) -> Iterator[Any]:
    """Iterate with a progress bar on stderr when it is a terminal; quietly otherwise."""
    if not sys.stderr.isatty() or len(items) < 2:
        yield from items
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr_console(),
        transient=True,
    ) as bar:
        task = bar.add_task(description, total=len(items))
        for item in items:
            yield item
            bar.advance(task)
