"""What ``srkit dump`` does, without click: :func:`dump_files`."""

from __future__ import annotations

import gc
import sys
import warnings
from collections.abc import Sequence

from srkit.errors import SrkitError, SrkitWarning

__all__ = ["dump_files"]

_COLLECT_EVERY = 200
"""Files read between two full collections of the cyclic garbage collector."""


def dump_files(
    files: Sequence[str],
    *,
    fmt: str = "text",
    policy: str = "tolerant",
    ids: bool = False,
    no_header: bool = False,
    verbose: bool = False,
) -> None:
    """Print the content tree of each SR file in ``files`` (``fmt``: ``text`` or
    ``jsonl``) on stdout, problems and the summary line on stderr; raise
    ``SystemExit(1)`` when a file could not be read or was damaged, or nothing was
    printed (the exit codes of ``srkit dump``)."""
    from srkit.cli.faces import is_wrong_kind, report_error, summary
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
