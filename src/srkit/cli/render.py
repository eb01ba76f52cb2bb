"""``srkit render FILE --html [-o OUT]`` or ``--text``: the report for people."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import click

from srkit.cli.common import output_option, report_error, user_errors
from srkit.errors import SrkitWarning

__all__ = ["render"]


@click.command()
@click.argument("file", type=click.Path())
@click.option("--html", "fmt", flag_value="html", help="A self-contained HTML page.")
@click.option("--text", "fmt", flag_value="text", default=True, help="Text for a terminal.")
@output_option()
@click.option(
    "--no-validate", is_flag=True, help="List only the reader's diagnostics, not validation's."
)
@user_errors
def render(file: str, fmt: str, output: str | None, no_validate: bool) -> None:
    """Render the SR FILE as a report (HTML page or terminal text).

    The diagnostics of reading and of validation are listed at the end.
    """
    from srkit.codec import damage, read

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SrkitWarning)
        doc = read(file)
    diagnostics = None
    if not no_validate:
        from srkit.validate import validate

        diagnostics = validate(doc)
    if fmt == "html":
        from srkit.render.html import render_html

        text = render_html(doc, diagnostics)
    else:
        from srkit.render.report_text import render_text

        text = render_text(doc, diagnostics)
    if output:
        from srkit.atomic import replace_atomically

        replace_atomically(output, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    problem = damage(doc)
    if problem is not None:
        report_error(f"{file}: {problem.message} (what was read is rendered)")
        raise SystemExit(1)
    from srkit.cli.faces import summary
    from srkit.render.html import merged_diagnostics

    found = merged_diagnostics(doc, diagnostics)
    summary(
        "render",
        errors=sum(1 for d in found if d.severity == "ERROR"),
        warnings=sum(1 for d in found if d.severity == "WARNING"),
        out=f"{output or 'stdout'} ({fmt})",
    )
