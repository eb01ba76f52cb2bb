"""``srkit dump FILE...``: the content tree for people, or JSON lines.

The work is :func:`srkit.cli.dump_files.dump_files`, which needs no click: the plain
forms of the command (no ``--help``, no option it does not know) run it straight from
:mod:`srkit.cli.shortcut`, without importing click; this is the command click parses.
"""

from __future__ import annotations

import click

from srkit.cli.common import READ_POLICY_OPTION, format_option, user_errors

__all__ = ["dump"]


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@format_option("text", "jsonl", default="text")
@READ_POLICY_OPTION
@click.option("--ids/--no-ids", default=False, help="Prefix each line with the item id (text).")
@click.option("--no-header", is_flag=True, help="Only the tree (text).")
@click.option("-v", "--verbose", is_flag=True, help="Also print warnings and notes on stderr.")
@user_errors
def dump(
    files: tuple[str, ...], fmt: str, policy: str, ids: bool, no_header: bool, verbose: bool
) -> None:
    """Print the content tree of each SR FILE.

    A file that is not DICOM or not SR is skipped with a note (exit 1 only when
    nothing was printed). A file that cannot be read gets one line on stderr; the
    others still print, and the exit code is 1. Errors found in a document are printed on stderr (all
    problems with -v); a damaged (truncated) file prints what could be read and
    makes the exit code 1.
    """
    from srkit.cli.dump_files import dump_files

    dump_files(files, fmt=fmt, policy=policy, ids=ids, no_header=no_header, verbose=verbose)
