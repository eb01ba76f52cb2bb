"""``srkit dump FILE...``: the content tree for people, or JSON lines."""

from __future__ import annotations

import gc
import sys
import warnings

import click

from srkit.cli.common import READ_POLICY_OPTION, format_option, report_error, user_errors
from srkit.errors import SrkitError, SrkitWarning

__all__ = ["dump"]

_COLLECT_EVERY = 200
"""Files read between two full collections of the cyclic garbage collector."""


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
    from srkit.cli.faces import is_wrong_kind, summary
    from srkit.codec import damage, read
    from srkit.codec.gcpause import paused
    from srkit.render.escape import escape_control

    if fmt == "jsonl":  # each format imports only its own renderer (json is not free)
        from srkit.render.records import document_jsonl
    else:
        from srkit.render.text import dump_lines

    failed = 0
    skipped = 0
    printed = 0
    out = sys.stdout
    many = len(files) > 1
    # the cyclic collector stays off for the whole run (the reader pauses it for each
    # read; with it on between reads, the records' allocations set off collections
    # that walk every long-lived object): documents are freed by reference counting,
    # and a full collection every _COLLECT_EVERY files takes whatever cycles remain
    with paused():
        for count, name in enumerate(files, 1):
            if count % _COLLECT_EVERY == 0:
                gc.collect()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", SrkitWarning)
                    doc = read(name, policy=policy)
            except SrkitError as exc:
                if is_wrong_kind(exc):  # not DICOM, not SR: a note (srkit.cli.faces)
                    skipped += 1
                    report_error(f"{name}: {exc.message}; skipped")
                    continue
                failed += 1
                report_error(str(exc) if exc.source else f"{name}: {exc}")
                continue
            if fmt == "jsonl":
                out.write(document_jsonl(doc))
            else:
                if many:
                    out.write(f"{'' if printed == 0 else chr(10)}== {escape_control(name)}\n")
                out.write("\n".join(dump_lines(doc, ids=ids, header=not no_header)) + "\n")
            printed += 1
            # problems go to stderr: stdout carries exactly the asked format
            for diag in doc.diagnostics:
                if diag.severity == "ERROR" or verbose:
                    report_error(f"{name}: {diag}")
            if damage(doc) is not None:
                failed += 1
    out.flush()
    if printed:
        summary("dump", files=len(files), printed=printed, skipped=skipped, errors=failed)
    if failed or not printed:
        raise SystemExit(1)
