"""TID 1500 measurement rows of many files (PS3.16 TID 1500), the batch verb behind
``srkit measurements``: one row per quantitative measurement or qualitative evaluation
of every Measurement Report among the inputs, in document order (the contract's
"Measurements (TID 1500)")."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from srkit.errors import NotStructuredReportError, SrkitError, SrkitWarning
from srkit.extract.inputs import iter_files

__all__ = ["extract_rows", "measurement_files"]


def _looks_like_dicom(path: Path) -> bool:
    """Whether a file starts like Part 10 DICOM (``DICM`` after the preamble)."""
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return True  # let the reader report it
    return head[128:132] == b"DICM"


def _read_report(path: Path, policy: str) -> Any:
    """The document at ``path`` if it is an SR, else ``None``; raises SrkitError on bad files."""
    from srkit.codec import load, read_loaded
    from srkit.codec.sopclass import is_sr_sop_class

    loaded = load(path, stop_before_pixels=True)
    sop_class = str(loaded.dataset.get("SOPClassUID", ""))
    if sop_class and not is_sr_sop_class(sop_class):
        return None
    _skip_image_library(loaded)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SrkitWarning)
        return read_loaded(loaded, policy=policy)


def _skip_image_library(loaded: Any) -> None:
    """Cut the Image Library (111028, DCM) subtree before decoding the tree.

    The rows never use the image library (TID 1600), which is often most of a
    report's items (191 of 260 in dcmqi's example). Only the dataset read for this
    purpose changes.
    """
    from srkit.codec import prune_children

    prune_children(loaded, frozenset({("111028", "DCM")}))


def extract_rows(
    paths: list[Path],
    kind: str = "quantitative",
    *,
    policy: str = "tolerant",
    on_problem: Any = None,
    on_error: Any = None,
    on_read: Any = None,
    on_skip: Any = None,
) -> Iterator[dict[str, Any]]:
    """Rows of every TID 1500 report among ``paths`` (files), in order.

    Parameters
    ----------
    paths : list of Path
        Files; those found in folders should be filtered by the caller.
    kind : str
        ``"quantitative"`` or ``"qualitative"``.
    policy : str
        Read policy of the codec.
    on_problem : callable, optional
        Called with ``(path, report)`` for a report that has diagnostics.
    on_error : callable, optional
        Called with ``(path, error)`` for a file that cannot be read; without it the
        error is raised.
    on_read : callable, optional
        Called with ``(path, document)`` for every SR read (to report damaged files).
    on_skip : callable, optional
        Called with ``(path, reason)`` for a file that holds no measurement report.
    """
    from srkit.templates.tid1500 import is_measurement_report, report_rows

    for path in paths:
        try:
            doc = _read_report(path, policy)
        except NotStructuredReportError:
            if on_skip is not None:
                on_skip(path, "not an SR document")
            continue
        except SrkitError as exc:
            if on_error is None:
                raise
            on_error(path, exc)
            continue
        if doc is None:
            if on_skip is not None:
                on_skip(path, "not an SR document")
            continue
        if on_read is not None:
            on_read(path, doc)
        if not is_measurement_report(doc):
            if on_skip is not None:
                on_skip(path, "not a TID 1500 measurement report")
            continue
        rows, report = report_rows(doc, kind)
        if report.diagnostics and on_problem is not None:
            on_problem(path, report)
        yield from rows


def measurement_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Named files, plus the DICOM-looking files (Part 10, PS3.10 7.1) under named
    folders, recursively in sorted order."""
    out: list[Path] = []
    for name in paths:
        top = Path(name)
        if top.is_dir():
            out.extend(p for p in iter_files([top]) if _looks_like_dicom(p))
        else:
            out.append(top)
    return out
