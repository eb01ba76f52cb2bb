"""Radiation dose reports of many files (PS3.16 TID 10011, TID 10001), the batch verb
behind ``srkit dose``: every dose report among the inputs, in sorted file order, each
bad file named with its reason and the rest of the batch going on."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from srkit.errors import SrkitError, SrkitWarning
from srkit.extract.inputs import iter_files

__all__ = ["dose_reports"]


def dose_reports(
    paths: Iterable[str | os.PathLike[str]],
    *,
    strict_units: bool = False,
    on_error: Callable[[Path, SrkitError], None] | None = None,
    on_skip: Callable[[Path, str], None] | None = None,
    each: Callable[[list[Path]], Iterable[Path]] | None = None,
) -> Iterator[tuple[Path, Any]]:
    """``(file, DoseReport)`` for every dose report under ``paths``.

    Parameters
    ----------
    paths : iterable of path
        Files and folders (walked recursively, sorted).
    strict_units : bool
        A number whose unit cannot be understood is null instead of kept unnormalised.
    on_error : callable, optional
        Called with ``(file, error)`` for a named file that cannot be read and for a
        damaged (truncated) one, whose report is still yielded with the events read
        before the damage. Without it the error is raised.
    on_skip : callable, optional
        Called with ``(file, reason)`` for a named file of the wrong kind (not DICOM,
        not SR, not a dose report: :func:`srkit.codec.is_wrong_kind`). Such files
        found in folders are skipped quietly.
    each : callable, optional
        Wraps the list of files (a progress bar).
    """
    from srkit.codec import damage, is_wrong_kind, read
    from srkit.templates.dose import dose_report

    names = list(paths)
    named = {Path(p) for p in names}
    files = list(iter_files(names))
    for path in each(files) if each is not None else files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SrkitWarning)
                doc = read(path)
        except SrkitError as exc:
            # a file of the wrong kind (not DICOM, not SR) is skipped: quietly when
            # found in a folder, with a note when named; a broken one is an error
            if is_wrong_kind(exc):
                if path in named and on_skip is not None:
                    on_skip(path, f"{exc.message}; skipped")
                continue
            if on_error is None:
                raise
            on_error(path, exc)
            continue
        problem = damage(doc)
        if problem is not None:
            if on_error is None:
                raise SrkitError(problem.message, source=str(path), code=problem.code)
            kept = f"{problem.message} (events read before it are kept)"
            on_error(path, SrkitError(kept, source=str(path), code=problem.code))
        report = dose_report(doc, strict_units=strict_units)
        if report is None:
            if path in named and on_skip is not None:
                on_skip(path, "not a radiation dose report; skipped")
            continue
        yield path, report
