"""``srkit validate FILE...``: IOD and template findings, one line each, or JSON."""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

import click

from srkit.cli.common import progress, report_error, user_errors
from srkit.errors import SrkitError, SrkitWarning

__all__ = ["validate"]


def _line(diag: Any) -> str:
    return f"{diag.severity.value} {diag.path or 'header'} {diag.message}"


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--policy",
    type=click.Choice(["strict", "tolerant", "permissive"]),
    default="tolerant",
    show_default=True,
    help="How the reader treats content that breaks a rule.",
)
@user_errors
def validate(files: tuple[str, ...], fmt: str, policy: str) -> None:
    """Check each SR FILE against its IOD and templates.

    Prints one line per finding, ``ERROR|WARNING <item id> <message>`` (the item id
    is ``header`` for header attributes), prefixed with the file name when several
    files are given. ``--format json`` prints a JSON array with one object per file.
    Exits 1 if any file has an ERROR or cannot be read.
    """
    from srkit.codec import read
    from srkit.render.escape import escape_control
    from srkit.validate import all_diagnostics, templates_for

    failed = False
    reports: list[dict[str, Any]] = []
    out = sys.stdout
    many = len(files) > 1
    for name in progress(list(files), "validating"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SrkitWarning)
                doc = read(name, policy=policy)
        except SrkitError as exc:
            failed = True
            report_error(str(exc) if exc.source else f"{name}: {exc}")
            continue
        diags = all_diagnostics(doc)
        if any(d.severity.value == "ERROR" for d in diags):
            failed = True
        if fmt == "json":
            reports.append(
                {
                    "file": name,
                    "sop_class_uid": doc.sop_class_uid,
                    "sop_instance_uid": doc.sop_instance_uid,
                    "templates": templates_for(doc),
                    "errors": sum(d.severity.value == "ERROR" for d in diags),
                    "warnings": sum(d.severity.value == "WARNING" for d in diags),
                    "diagnostics": [d.to_dict() for d in diags],
                }
            )
            continue
        prefix = f"{name}: " if many else ""
        for diag in diags:
            if diag.severity.value in ("ERROR", "WARNING"):
                out.write(escape_control(prefix + _line(diag)) + "\n")
    if fmt == "json":
        out.write(json.dumps(reports, indent=2, ensure_ascii=False) + "\n")
    out.flush()
    if failed:
        raise SystemExit(1)
