"""Reading the headers of many files once, for every plugin to examine.

Only the attributes up to Pixel Data are read (``stop_before_pixels``); a file that is
not DICOM becomes a coded finding that names it, never an exception (PS3.10 7.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srkit.diagnostics import Severity
from srkit.load.loadable import LoadWarning

__all__ = ["Header", "HeaderCache", "read_headers", "cached_header"]


@dataclass(slots=True)
class Header:
    """The header of one file: the pydicom dataset without its pixel data."""

    path: str
    dataset: Any

    @property
    def sop_class_uid(self) -> str:
        return str(getattr(self.dataset, "SOPClassUID", ""))

    @property
    def series_uid(self) -> str:
        return str(getattr(self.dataset, "SeriesInstanceUID", ""))

    @property
    def sop_instance_uid(self) -> str:
        return str(getattr(self.dataset, "SOPInstanceUID", ""))

    @property
    def modality(self) -> str:
        return str(getattr(self.dataset, "Modality", ""))


@dataclass(slots=True)
class HeaderCache:
    """Headers by path, and the files that could not be read."""

    headers: dict[str, Header] = field(default_factory=dict)
    problems: list[LoadWarning] = field(default_factory=list)
    tolerances: Any = None
    """Geometry tolerances of this examination (``GeometryTolerances``), for the plugins
    that check geometry; ``None`` for their defaults."""

    def get(self, path: str) -> Header | None:
        return self.headers.get(path)

    def of(self, files: Iterable[str]) -> list[Header]:
        """The headers of the files that could be read, in order."""
        return [self.headers[f] for f in files if f in self.headers]

    def image_series(self) -> dict[str, list[Header]]:
        """The single-frame images among the headers, by Series Instance UID (the grids a
        SEG or an RT Structure Set may refer to)."""
        from srkit.load.sopclasses import SINGLE_FRAME_IMAGES

        images: dict[str, list[Header]] = {}
        for h in self.headers.values():
            if h.sop_class_uid in SINGLE_FRAME_IMAGES:
                images.setdefault(h.series_uid, []).append(h)
        return images


def read_headers(file_lists: Sequence[Sequence[str | Path]]) -> HeaderCache:
    """Read the header of every file of every list once.

    Parameters
    ----------
    file_lists : sequence of sequences of path
        The files, usually one list per series.

    Returns
    -------
    HeaderCache
        Headers by path (as ``str``); unreadable files as ``not_dicom`` findings.
    """
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    cache = HeaderCache()
    for files in file_lists:
        for f in files:
            path = str(f)
            if path in cache.headers:
                continue
            try:
                ds = cached_header(path) or dcmread(path, stop_before_pixels=True)
            except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                cache.problems.append(
                    LoadWarning(
                        code="not_dicom",
                        message=f"{path}: not a readable DICOM file ({reason})",
                        severity=Severity.ERROR,
                        files=(path,),
                    )
                )
                continue
            cache.headers[path] = Header(path, ds)
            _remember(path, ds)
    return cache


_RECENT: dict[str, tuple[tuple[int, int], Any]] = {}
RECENT_LIMIT = 4096
"""Headers kept between :func:`srkit.load.examine` and :func:`srkit.load.load` (by path,
checked against the file's size and modification time), so that loading what was just
examined reads each header once."""


def _stamp(path: str) -> tuple[int, int] | None:
    import os

    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def _remember(path: str, ds: Any) -> None:
    stamp = _stamp(path)
    if stamp is None:
        return
    if len(_RECENT) >= RECENT_LIMIT:
        _RECENT.pop(next(iter(_RECENT)))
    _RECENT[path] = (stamp, ds)


def cached_header(path: str) -> Any:
    """The header read for ``path`` by a recent examination, if the file is unchanged."""
    entry = _RECENT.get(path)
    if entry is None:
        return None
    if entry[0] != _stamp(path):
        _RECENT.pop(path, None)
        return None
    return entry[1]
