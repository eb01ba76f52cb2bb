"""A fast parser for the byte layout of SR files (little endian transfer syntaxes).

pydicom builds a full ``Dataset`` object for every sequence item, which is most of
the cost of reading an SR (a dose report has thousands of items). This parser splits
the bytes into raw elements (:class:`~srkit.codec.light.RawElement`) and keeps items as
:class:`LightDataset` objects, so values are decoded only when srkit asks for them;
it does not import pydicom. The top level is a :class:`~srkit.codec.light.LightFile`
whose pydicom ``FileDataset`` is made only when something asks for it. Anything
unusual (big endian, compressed or truncated data, malformed lengths) raises
:class:`FastParseError` and the caller falls back to pydicom's own parser, which then
reports the problem.

Two implementations, one source
-------------------------------
The splitter and item builder (:mod:`srkit.codec._fastparse`) are written in Cython's
pure Python mode. The package's build (``setup.py``) compiles them with Cython into
the C extension ``srkit.codec._fastparse_c``; the same file, not compiled, is the
pure-Python fallback. Cython was chosen over a hand-written C extension, cffi or
Rust/PyO3 because the hot path builds Python objects (dicts, tuples, bytes) and
Cython writes the C API calls for that from the Python source, so there is one
source for both implementations and they cannot drift; it adds a build dependency
only (Cython from PyPI), nothing at run time. The tests run on both
(``tests/codec/conftest.py``) and check they give identical documents.

The content tree builder (:mod:`srkit.codec._tree`: values, codes, items) is compiled
the same way, into ``srkit.codec._tree_c``, and goes with the parser: both compiled
or both pure Python (:func:`srkit.codec.content.tree`).

The compiled one is used when it is importable; ``SRKIT_PURE_PYTHON=1`` in the
environment forces the pure-Python one, and :data:`IMPLEMENTATION` says which is
active (``srkit --version`` prints it). :func:`use` switches at run time (tests).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import zlib
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

from srkit.codec.light import (
    FastParseError,
    LightDataset,
    LightFile,
    LightSequence,
    PixelDataCutShort,
    RawElement,
    is_raw,
)

if TYPE_CHECKING:
    from pydicom.dataset import FileDataset, FileMetaDataset

__all__ = [
    "COMPILED_AVAILABLE",
    "IMPLEMENTATION",
    "FastParseError",
    "LightDataset",
    "LightFile",
    "LightSequence",
    "PIXEL_TAGS",
    "PixelDataCutShort",
    "PixelElement",
    "RawElement",
    "element_header",
    "implementations",
    "parse_file",
    "parse_header",
    "parse_items",
    "skim",
    "split_file_meta",
    "use",
]

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
_UNDEFINED = 0xFFFFFFFF

PIXEL_TAGS = frozenset({0x7FE00008, 0x7FE00009, 0x7FE00010})
"""Float Pixel Data, Double Float Pixel Data, Pixel Data: where a header ends (the tags
pydicom's ``stop_before_pixels`` stops at)."""


class PixelElement(NamedTuple):
    """Where a file's pixel data element is: its tag, VR (``None`` in implicit VR),
    value length and the file offset of its value."""

    tag: int
    vr: str | None
    length: int
    offset: int


def _load_compiled() -> ModuleType | None:
    # the tree builder's extension goes with the parser's (srkit.codec.content imports it)
    if importlib.util.find_spec("srkit.codec._tree_c") is None:
        return None
    try:
        return importlib.import_module("srkit.codec._fastparse_c")
    except ImportError:
        return None


_compiled = _load_compiled()

COMPILED_AVAILABLE = _compiled is not None
"""Whether the compiled parser and tree builder were built and import on this machine."""


def _pure() -> ModuleType:
    """The pure-Python parser (imported only when used: the compiled one needs it not)."""
    from srkit.codec import _fastparse

    return _fastparse


_PURE_FORCED = os.environ.get("SRKIT_PURE_PYTHON", "").strip() not in ("", "0")
_core: ModuleType = _compiled if _compiled is not None and not _PURE_FORCED else _pure()

IMPLEMENTATION = "compiled" if _core is _compiled else "pure-python"
"""The reader in use: ``"compiled"`` (the C extensions) or ``"pure-python"``."""


def tree_module_name() -> str:
    """The tree builder that goes with the parser in use: ``srkit.codec._tree_c``
    with the compiled parser, else ``srkit.codec._tree`` (the one chooser behind
    :func:`srkit.codec.content.tree` and :func:`srkit.codec.values.value_reader`)."""
    return "srkit.codec._tree_c" if IMPLEMENTATION == "compiled" else "srkit.codec._tree"


def implementations() -> list[str]:
    """The readers available here: ``["compiled", "pure-python"]`` or ``["pure-python"]``."""
    return (["compiled"] if _compiled is not None else []) + ["pure-python"]


def use(name: str) -> str:
    """Switch the reader (the parser here, and the tree builder that
    :func:`srkit.codec.content.tree` gives): ``"compiled"`` or ``"pure-python"``;
    returns the previous one.

    Raises
    ------
    ValueError
        For an unknown name, or ``"compiled"`` where the extensions are not built.
    """
    global _core, IMPLEMENTATION
    if name == "compiled":
        if _compiled is None:
            raise ValueError("the compiled parser is not built on this machine")
        core = _compiled
    elif name == "pure-python":
        core = _pure()
    else:
        raise ValueError(f"unknown parser {name!r}")
    previous = IMPLEMENTATION
    _core, IMPLEMENTATION = core, name
    return previous


def skim(
    data: bytes,
    pos: int,
    size: int,
    implicit: bool,
    tail: Callable[[int], bytes | None] | None,
    wanted: frozenset[int],
    make: Callable[[int, str | None, int, bytes, int], Any],
) -> dict[int, Any]:
    """The ``wanted`` top-level elements of a little endian native data set from
    ``pos`` to the end of its file, every other value stepped over unread (the
    index's header scan, :func:`srkit.db.header.scan`): see
    :func:`srkit.codec._fastparse.skim`, run by the reader in use.

    Raises
    ------
    PixelDataCutShort
        The Pixel Data's length runs past the end of the file.
    FastParseError
        Anything the walk does not follow: parse the file whole instead.
    """
    elements: dict[int, Any] = _core.skim(data, pos, size, implicit, tail, wanted, make)
    return elements


def element_header(data: bytes, pos: int, implicit: bool) -> tuple[int, str | None, int, int]:
    """(tag, VR or None, value length, value offset) of the data element at ``pos``
    (:class:`FastParseError` for an item tag there or a header cut short)."""
    header: tuple[int, str | None, int, int] = _core.element_header(data, pos, implicit)
    return header


def parse_items(raw: Any, encoding: Any) -> list[LightDataset]:
    """Parse the bytes of a raw (little endian) sequence element into light items.

    ``raw`` is a raw element of srkit's or pydicom's (``RawDataElement``).
    """
    if not raw.is_little_endian:
        raise FastParseError("big endian")
    if not is_raw(raw):
        raise FastParseError("not a raw element")
    items: list[LightDataset] = _core.parse_sequence_value(
        bytes(raw.value or b""),
        bool(raw.is_implicit_VR),
        raw.length == _UNDEFINED,
        int(raw.tag),
        encoding,
    )
    return items


def _meta_start(data: bytes) -> int:
    if len(data) >= 132 and data[128:132] == b"DICM":
        return 132
    if data[:4] == b"DICM":
        return 4
    return 0


def split_file_meta(data: bytes) -> tuple[FileMetaDataset, int]:
    """The File Meta Information of Part 10 bytes (PS3.10 Section 7.1; with or without
    the 128-byte preamble, or none at all) and the offset where the data set starts.

    Raises :class:`FastParseError` for a meta group that runs past the end.
    """
    from pydicom.dataelem import RawDataElement
    from pydicom.dataset import FileMetaDataset
    from pydicom.tag import BaseTag

    elements, pos = _core.meta_elements(bytes(data), _meta_start(data))
    meta = FileMetaDataset()
    for tag, elem in elements.items():
        key = BaseTag(tag)
        meta._dict[key] = RawDataElement(key, *elem[1:])
    return meta, pos


def parse_file(data: bytes, filename: str = "") -> tuple[LightFile, dict[int, list[LightDataset]]]:
    """Parse a Part 10 file (or a bare little endian dataset).

    Returns the top level (a :class:`LightFile`) and the parsed top-level sequences
    (tag -> light items); :func:`srkit.codec.loader.load` hands both to the reader as
    one :class:`~srkit.codec.loader.Loaded` value.

    Raises
    ------
    FastParseError
        For anything this parser does not handle; parse with pydicom instead.
    """
    data = bytes(data)
    preamble = data[:128] if len(data) >= 132 and data[128:132] == b"DICM" else None
    meta, pos = _core.meta_elements(data, _meta_start(data))
    ts_elem = meta.get(0x00020010)
    if ts_elem is not None:
        ts = bytes(ts_elem.value or b"").decode("ascii", "replace").strip("\x00 ")
    elif len(data) > pos + 6 and 65 <= data[pos + 4] <= 90 and 65 <= data[pos + 5] <= 90:
        ts = EXPLICIT_LE
    else:
        ts = IMPLICIT_LE
    body = data[pos:]
    if ts == DEFLATED_LE:
        try:
            body = zlib.decompress(body, -zlib.MAX_WBITS)
        except zlib.error as exc:
            raise FastParseError(f"deflate: {exc}") from None
        ts = EXPLICIT_LE
    if ts not in (IMPLICIT_LE, EXPLICIT_LE):
        raise FastParseError(f"transfer syntax {ts}")
    light: LightFile
    light, parsed = _core.parse_body(body, ts == IMPLICIT_LE, meta, preamble, filename)
    return light, parsed


def parse_header(
    data: bytes, filename: str = "", *, whole: bool = True
) -> tuple[FileDataset, PixelElement | None] | None:
    """The header of a Part 10 file: what pydicom's ``dcmread(stop_before_pixels=True)``
    reads, as raw elements, and where the pixel data element is (PS3.10 7.1, PS3.5 7).

    Parameters
    ----------
    data : bytes
        The file's bytes, or (``whole=False``) only its start.
    filename : str
        Becomes the dataset's ``filename``.
    whole : bool
        Whether ``data`` is the whole file.

    Returns
    -------
    (FileDataset, PixelElement or None), or None
        ``None`` when ``data`` is only the start of the file and the header runs past it
        (read more and call again). Value offsets (``value_tell``, the pixel element's
        ``offset``) are file offsets.

    Raises
    ------
    FastParseError
        For anything this parser leaves to pydicom: no ``DICM`` prefix (pydicom then
        decides whether it is DICOM at all), no or another transfer syntax than the two
        little endian native ones, a first element whose VR says the other VR
        encoding than the transfer syntax, malformed lengths.
    """
    from pydicom.dataelem import RawDataElement
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.tag import BaseTag

    data = bytes(data)
    if len(data) < 132 or data[128:132] != b"DICM":
        raise FastParseError("no DICM prefix")
    try:
        meta_raw, pos = _core.meta_elements(data, 132)
    except FastParseError:
        if whole:
            raise
        return None
    ts_elem = meta_raw.get(0x00020010)
    if ts_elem is None:
        raise FastParseError("no transfer syntax")
    ts = bytes(ts_elem.value or b"").decode("ascii", "replace").strip("\x00 ")
    if ts not in (IMPLICIT_LE, EXPLICIT_LE):
        raise FastParseError(f"transfer syntax {ts}")
    implicit = ts == IMPLICIT_LE
    if pos + 6 <= len(data):
        a, b = data[pos + 4], data[pos + 5]
        if (not (0x40 < a < 0x5B and 0x40 < b < 0x5B)) != implicit:
            raise FastParseError("the first element's VR encoding is not the transfer syntax's")
    elif not whole:
        return None
    try:
        raw, found = _core.parse_header_body(data, pos, implicit)
    except FastParseError:
        if whole:
            raise
        return None
    if found is None and not whole:
        return None
    make = tuple.__new__
    meta = FileMetaDataset()
    for tag, elem in meta_raw.items():
        key = BaseTag(tag)
        meta._dict[key] = RawDataElement(key, *elem[1:])
    elements: dict[Any, Any] = {}
    for tag, elem in raw.items():
        key = BaseTag(tag)
        elements[key] = make(RawDataElement, (key, *elem[1:7], True, False))
    ds = FileDataset(
        filename,
        elements,
        preamble=data[:128],
        file_meta=meta,
        is_implicit_VR=implicit,
        is_little_endian=True,
    )
    ds.set_original_encoding(implicit, True, ds._character_set)
    return ds, None if found is None else PixelElement(*found)
