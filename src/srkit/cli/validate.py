"""``srkit validate FILE...``: IOD and template findings, one line each, or JSON
(the verb is :func:`srkit.validate.report.validate_files`)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from srkit.cli.common import (
    READ_POLICY_OPTION,
    format_option,
    progress,
    report_error,
    user_errors,
)

__all__ = ["validate"]


def _line(diag: Any) -> str:
    return f"{diag.severity.value} {diag.path or 'header'} {diag.message}"


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@format_option("text", "json", default="text")
@READ_POLICY_OPTION
@user_errors
def validate(files: tuple[str, ...], fmt: str, policy: str) -> None:
    """Check each SR FILE against its IOD and templates.

    Prints one line per finding, ``ERROR|WARNING <item id> <message>`` (the item id
    is ``header`` for header attributes), prefixed with the file name when several
    files are given. ``--format json`` prints a JSON array with one object per file.
    Exits 1 if any file has an ERROR or cannot be read. Ends with one line on
    stderr: ``srkit validate: 3 files, 0 errors, 2 warnings``.
    """
    from srkit.render.escape import escape_control
    from srkit.validate.report import validate_files

    report = validate_files(files, policy=policy, each=lambda n: progress(n, "validating"))
    out = sys.stdout
    many = len(files) > 1
    for result in report.results:
        if result.error is not None:
            exc = result.error
            report_error(str(exc) if exc.source else f"{result.file}: {exc}")
        elif fmt == "text":
            prefix = f"{result.file}: " if many else ""
            for diag in result.diagnostics:
                if diag.severity.value in ("ERROR", "WARNING"):
                    out.write(escape_control(prefix + _line(diag)) + "\n")
    if fmt == "json":
        readable = [r.to_dict() for r in report.results if r.error is None]
        out.write(json.dumps(readable, indent=2, ensure_ascii=False) + "\n")
    out.flush()
    click.echo(f"srkit validate: {report.summary()}", err=True)
    if not report.ok:
        raise SystemExit(1)
