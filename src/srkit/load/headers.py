"""Reading the headers of many files once, for every plugin to examine.

Only the attributes up to Pixel Data are read (``stop_before_pixels``); a file that is
not DICOM becomes a coded finding that names it, never an exception (PS3.10 7.1).

Files in the two native little endian transfer syntaxes are read without pydicom
(:func:`srkit.codec.imageheader.read_image_header`): raw elements from one read of
the file's start, the image attributes decoded by srkit, and where the pixel data
element is (so the pixels can be read straight into a volume,
:mod:`srkit.load.pixels`). Every other file is read by pydicom's ``dcmread``. A
plugin reads :attr:`Header.values` (either kind, the same values) or
:attr:`Header.dataset` (always a pydicom dataset, made from the same bytes when the
header was read without pydicom).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from srkit.codec.imageheader import ImageHeader
from srkit.codec.light import is_raw
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


@dataclass(slots=True)
class Header:
    """The header of one file, without its pixel data."""

    path: str
    values: Any
    """The header: an :class:`~srkit.codec.imageheader.ImageHeader` (read without
    pydicom) or a pydicom dataset; both answer ``values.Rows``, ``values.get(...)``,
    ``"Units" in values`` with the same values."""
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
    def dataset(self) -> Any:
        """The pydicom dataset of the header (made from the header's bytes on first use
        when it was read without pydicom)."""
        values = self.values
        return values.to_pydicom() if type(values) is ImageHeader else values

    @property
    def light(self) -> bool:
        """Whether the header was read without pydicom."""
        return type(self.values) is ImageHeader

    @property
    def sop_class_uid(self) -> str:
        return str(self.fact("SOPClassUID", lambda h: str(getattr(h.values, "SOPClassUID", ""))))

    @property
    def series_uid(self) -> str:
        return str(
            self.fact(
                "SeriesInstanceUID",
                lambda h: str(getattr(h.values, "SeriesInstanceUID", "")),
            )
        )

    @property
    def sop_instance_uid(self) -> str:
        return str(getattr(self.values, "SOPInstanceUID", ""))

    @property
    def modality(self) -> str:
        return str(getattr(self.values, "Modality", ""))


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


def read_headers(file_lists: Sequence[Sequence[str | Path]], *, fast: bool = True) -> HeaderCache:
    """Read the header of every file of every list once.

    Parameters
    ----------
    file_lists : sequence of sequences of path
        The files, usually one list per series.
    fast : bool
        Read native little endian files without pydicom, and keep the headers for
        :func:`srkit.load.load` (``False``: every file with pydicom, nothing kept).

    Returns
    -------
    HeaderCache
        Headers by path (as ``str``); unreadable files as ``not_dicom`` findings.
    """
    cache = HeaderCache()
    for files in file_lists:
        for f in files:
            path = str(f)
            if path in cache.headers:
                continue
            try:
                header = (recent_header(path) if fast else None) or read_header(path, fast=fast)
            except Exception as exc:
                if not _unreadable(exc):
                    raise
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
            if fast:
                _remember(header)
    return cache


def read_header(path: str, *, fast: bool = True) -> Header:
    """The header of one file, up to its pixel data.

    Parameters
    ----------
    path : str
        The file.
    fast : bool
        Read native little endian files without pydicom
        (:func:`srkit.codec.imageheader.read_image_header`; ``False``: always pydicom).

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
    """The header read without pydicom; ``None`` to leave the file to pydicom."""
    from srkit.codec.imageheader import read_image_header

    parsed = read_image_header(path)
    return None if parsed is None else Header(path, parsed[0], parsed[1])


def _unreadable(exc: Exception) -> bool:
    """Whether ``exc`` is what reading a file that is not readable DICOM raises (pydicom's
    ``InvalidDicomError`` is looked for only when pydicom read something)."""
    if isinstance(exc, (OSError, ValueError, EOFError)):
        return True
    errors = sys.modules.get("pydicom.errors")
    return errors is not None and isinstance(exc, errors.InvalidDicomError)


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
    ds : ImageHeader or pydicom.Dataset
        A header (:attr:`Header.values`); both kinds give the same values.
    tag : int
        The only element ``derive`` reads.
    name : str
        Names ``derive`` (the values of different derivations are kept apart).
    derive : callable
        Makes the value from ``ds``; when it raises, nothing is kept.
    """
    elem: Any = getattr(ds, "_dict", {}).get(tag)
    if not is_raw(elem) or not isinstance(elem.value, bytes):  # srkit's or pydicom's
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
