"""Reading the headers of many files once, for every plugin to examine.

Only the attributes up to Pixel Data are read (``stop_before_pixels``); a file that is
not DICOM becomes a coded finding that names it, never an exception (PS3.10 7.1).

Files in the two native little endian transfer syntaxes are split into raw elements by
:func:`srkit.codec.fastparse.parse_header` from one read of the file's start, which
also tells where the pixel data element is (so the pixels can be read straight into a
volume, :mod:`srkit.load.pixels`); every other file, and anything that parser leaves
alone, is read by pydicom's ``dcmread``. Both give the same elements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srkit.diagnostics import Severity
from srkit.load.loadable import LoadWarning

__all__ = [
    "derived",
    "Header",
    "HeaderCache",
    "read_header",
    "read_headers",
    "cached_header",
    "recent_header",
]

FIRST_READ = 1 << 16
"""Bytes read first for a header (an image's header is usually a few kilobytes); the
read doubles until the header ends."""


@dataclass(slots=True)
class Header:
    """The header of one file: the pydicom dataset without its pixel data."""

    path: str
    dataset: Any
    pixels: Any = None
    """Where the pixel data element is (:class:`srkit.codec.fastparse.PixelElement`),
    when the header was parsed by srkit; ``None`` when pydicom read it, or when there
    is no pixel data."""
    _facts: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def fact(self, key: str, make: Callable[[Header], Any]) -> Any:
        """A value derived from this header, made once (``make(self)``) and kept: every
        plugin asks for the SOP class of every file, and examine and load for the same
        image-plane attributes."""
        facts = self._facts
        if key not in facts:
            facts[key] = make(self)
        return facts[key]

    @property
    def sop_class_uid(self) -> str:
        return str(self.fact("SOPClassUID", lambda h: str(getattr(h.dataset, "SOPClassUID", ""))))

    @property
    def series_uid(self) -> str:
        return str(
            self.fact(
                "SeriesInstanceUID", lambda h: str(getattr(h.dataset, "SeriesInstanceUID", ""))
            )
        )

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
    from pydicom.errors import InvalidDicomError

    cache = HeaderCache()
    for files in file_lists:
        for f in files:
            path = str(f)
            if path in cache.headers:
                continue
            try:
                header = recent_header(path) or read_header(path)
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
            cache.headers[path] = header
            _remember(header)
    return cache


def read_header(path: str, *, fast: bool = True) -> Header:
    """The header of one file, up to its pixel data.

    Parameters
    ----------
    path : str
        The file.
    fast : bool
        Parse native little endian files with srkit's parser (``False``: always pydicom).

    Raises
    ------
    pydicom.errors.InvalidDicomError, OSError, ValueError, EOFError
        As ``pydicom.dcmread`` does for a file that is not readable DICOM.
    """
    if fast:
        header = _parse_header(path)
        if header is not None:
            return header
    from pydicom import dcmread

    return Header(path, dcmread(path, stop_before_pixels=True))


def _parse_header(path: str) -> Header | None:
    """The header parsed by srkit's parser; ``None`` to leave the file to pydicom."""
    import os

    from srkit.codec.fastparse import FastParseError, parse_header

    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            data = fh.read(FIRST_READ)
            while True:
                whole = len(data) >= size
                try:
                    parsed = parse_header(data, path, whole=whole)
                except FastParseError:
                    return None
                if parsed is not None:
                    return Header(path, parsed[0], parsed[1])
                more = fh.read(max(len(data), FIRST_READ))
                if not more:
                    return None
                data += more
    except OSError:
        return None  # pydicom reports it


_RECENT: dict[str, tuple[tuple[int, int], Header]] = {}
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


def _remember(header: Header) -> None:
    stamp = _stamp(header.path)
    if stamp is None:
        return
    if len(_RECENT) >= RECENT_LIMIT:
        _RECENT.pop(next(iter(_RECENT)))
    _RECENT[header.path] = (stamp, header)


def recent_header(path: str) -> Header | None:
    """The :class:`Header` read for ``path`` by a recent examination, if the file is
    unchanged."""
    entry = _RECENT.get(path)
    if entry is None:
        return None
    if entry[0] != _stamp(path):
        _RECENT.pop(path, None)
        return None
    return entry[1]


def cached_header(path: str) -> Any:
    """The dataset of :func:`recent_header`, or ``None``."""
    header = recent_header(path)
    return None if header is None else header.dataset


_DERIVED: dict[tuple[Any, ...], Any] = {}
_UNKNOWN = object()
DERIVED_LIMIT = 4096


def derived(ds: Any, tag: int, name: str, derive: Callable[[Any], Any]) -> Any:
    """``derive(ds)``, a value made from the one element ``tag`` of ``ds``, kept by that
    element's stored bytes: the images of a series mostly repeat their orientation,
    spacing, size and rescale, and pydicom converts an element anew in every dataset.

    Parameters
    ----------
    ds : pydicom.Dataset
        A header.
    tag : int
        The only element ``derive`` reads.
    name : str
        Names ``derive`` (the values of different derivations are kept apart).
    derive : callable
        Makes the value from ``ds``; when it raises, nothing is kept.
    """
    from pydicom.dataelem import RawDataElement

    elem = getattr(ds, "_dict", {}).get(tag)
    if type(elem) is not RawDataElement or not isinstance(elem.value, bytes):
        return derive(ds)
    key = (name, tag, elem.VR, elem.is_implicit_VR, elem.is_little_endian, elem.value)
    known = _DERIVED.get(key, _UNKNOWN)
    if known is not _UNKNOWN:
        return known
    value = derive(ds)
    if len(_DERIVED) >= DERIVED_LIMIT:
        _DERIVED.clear()
    _DERIVED[key] = value
    return value
