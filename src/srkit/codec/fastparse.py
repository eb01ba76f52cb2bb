"""A fast parser for the byte layout of SR files (little endian transfer syntaxes).

pydicom builds a full ``Dataset`` object for every sequence item, which is most of
the cost of reading an SR (a dose report has thousands of items). This parser splits
the bytes into pydicom ``RawDataElement`` tuples and keeps items as
:class:`LightDataset` objects, so values are decoded only when srkit asks for them.

The top level becomes a real pydicom ``FileDataset`` (raw elements, sequences kept as
bytes that pydicom decodes on access), so ``Document.header`` is an ordinary Dataset;
only the content tree is walked through light items. Anything unusual (big endian,
compressed or truncated data, malformed lengths) raises :class:`FastParseError` and
the caller falls back to pydicom's own parser, which then reports the problem.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any, NamedTuple

from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement, convert_raw_data_element
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag

__all__ = [
    "FastParseError",
    "LightDataset",
    "LightSequence",
    "PixelElement",
    "PIXEL_TAGS",
    "parse_file",
    "parse_header",
    "parse_items",
    "split_file_meta",
]

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"

_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQ_END = 0xFFFEE0DD
_UNDEFINED = 0xFFFFFFFF
_HEAD = struct.Struct("<HHI")  # group, element, 32-bit length (implicit VR)
_EXPLICIT = struct.Struct("<HH2sH")  # group, element, VR, 16-bit length
_U32 = struct.Struct("<I")
_VR_TEXT = {bytes([a, b]): chr(a) + chr(b) for a in range(65, 91) for b in range(65, 91)}
"""Every well-formed VR (two upper-case letters) as text, decoded once."""

_SQ_CACHE: dict[int, bool] = {}

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


class FastParseError(Exception):
    """The bytes are not what this parser handles; use pydicom's parser instead."""


def _is_sequence_tag(tag: int) -> bool:
    known = _SQ_CACHE.get(tag)
    if known is None:
        try:
            known = dictionary_VR(tag) == "SQ"
        except KeyError:
            known = False
        _SQ_CACHE[tag] = known
    return known


class LightSequence:
    """A parsed sequence: its items and the element's place."""

    __slots__ = ("items", "tag", "undefined")

    def __init__(self, tag: int, items: list[LightDataset], undefined: bool) -> None:
        self.tag = tag
        self.items = items
        self.undefined = undefined

    VR = "SQ"

    @property
    def value(self) -> list[LightDataset]:
        return self.items


class LightDataset:
    """A sequence item: raw elements by tag, decoded on request.

    Supports the parts of the ``Dataset`` interface srkit's codec uses: ``_dict``,
    ``ds[tag]`` (a converted pydicom ``DataElement``), ``tag in ds``, iteration and
    :meth:`to_pydicom` for writing.
    """

    __slots__ = ("_dict", "encoding")

    def __init__(self, elements: dict[int, Any], encoding: Any = None) -> None:
        self._dict = elements
        self.encoding = encoding

    def __contains__(self, tag: object) -> bool:
        return tag in self._dict

    def __len__(self) -> int:
        return len(self._dict)

    def keys(self) -> Any:
        return self._dict.keys()

    def __getitem__(self, tag: int) -> DataElement:
        elem = self._dict[int(tag)]
        if type(elem) is LightSequence:
            return DataElement(Tag(tag), "SQ", Sequence([item.to_pydicom() for item in elem.items]))
        return convert_raw_data_element(elem, encoding=self.encoding)

    def __iter__(self) -> Iterator[DataElement]:
        for tag in sorted(self._dict):
            yield self[tag]

    def to_pydicom(self) -> Dataset:
        """An ordinary pydicom Dataset with the same elements."""
        ds = Dataset()
        if self.encoding is not None:
            ds._parent_encoding = self.encoding
        for tag, elem in self._dict.items():
            if type(elem) is LightSequence:
                ds.add(self[tag])
            else:
                ds._dict[Tag(tag)] = elem._replace(tag=Tag(elem.tag))
        return ds


class _Parser:
    __slots__ = ("data", "encoding", "implicit")

    def __init__(self, data: bytes | memoryview, implicit: bool, encoding: Any) -> None:
        self.data = data
        self.implicit = implicit
        self.encoding = encoding

    def header(self, pos: int) -> tuple[int, str | None, int, int]:
        """(tag, VR or None, length, value position) of the element at ``pos``."""
        data = self.data
        if pos + 8 > len(data):
            raise FastParseError("truncated element header")
        group, elem = struct.unpack_from("<HH", data, pos)
        tag = (group << 16) | elem
        if self.implicit or group == 0xFFFE:
            length = _U32.unpack_from(data, pos + 4)[0]
            return tag, None, length, pos + 8
        _, _, vr, length = _EXPLICIT.unpack_from(data, pos)
        text = _VR_TEXT.get(vr)
        if text is None:
            raise FastParseError(f"invalid VR at {pos}")
        if vr in _LONG_VRS:
            if pos + 12 > len(data):
                raise FastParseError("truncated element header")
            return tag, text, _U32.unpack_from(data, pos + 8)[0], pos + 12
        return tag, text, length, pos + 8

    def elements(self, pos: int, end: int, stop_at_item_end: bool) -> tuple[dict[int, Any], int]:
        """Parse elements from ``pos`` until ``end`` (or the item delimiter).

        The element header is decoded inline (this loop is the parser's hot path);
        item elements keep plain ``int`` tags, converted on request.
        """
        out: dict[int, Any] = {}
        data = self.data
        size = len(data)
        implicit = self.implicit
        unpack_head = _HEAD.unpack_from
        unpack_explicit = _EXPLICIT.unpack_from
        unpack_u32 = _U32.unpack_from
        raw_element = RawDataElement
        while pos < end:
            if pos + 8 > size:
                raise FastParseError("truncated element header")
            if implicit:
                group, elem, length = unpack_head(data, pos)
                tag = (group << 16) | elem
                vr = None
                vpos = pos + 8
            else:
                group, elem, vr_bytes, length = unpack_explicit(data, pos)
                tag = (group << 16) | elem
                if group == 0xFFFE:
                    length = unpack_u32(data, pos + 4)[0]
                    vr = None
                    vpos = pos + 8
                elif vr_bytes in _LONG_VRS:
                    if pos + 12 > size:
                        raise FastParseError("truncated element header")
                    length = unpack_u32(data, pos + 8)[0]
                    vr = vr_bytes.decode("ascii")
                    vpos = pos + 12
                else:
                    if not (65 <= vr_bytes[0] <= 90 and 65 <= vr_bytes[1] <= 90):
                        raise FastParseError(f"invalid VR at {pos}")
                    vr = vr_bytes.decode("ascii")
                    vpos = pos + 8
            if tag == _ITEM_END:
                if not stop_at_item_end:
                    raise FastParseError("unexpected item delimiter")
                return out, vpos
            if (
                vr == "SQ"
                or (length == _UNDEFINED and (vr is None or vr == "UN"))
                or (vr is None and _is_sequence_tag(tag))
            ):
                seq, pos = self.sequence(tag, vpos, length)
                out[tag] = seq
                continue
            if length == _UNDEFINED:
                raise FastParseError("undefined length on a non-sequence element")
            stop = vpos + length
            if stop > size:
                raise FastParseError("truncated value")
            out[tag] = raw_element(tag, vr, length, bytes(data[vpos:stop]), vpos, implicit, True)
            pos = stop
        if stop_at_item_end:
            raise FastParseError("item without delimiter")
        return out, pos

    def sequence(self, tag: int, pos: int, length: int) -> tuple[LightSequence, int]:
        data = self.data
        undefined = length == _UNDEFINED
        end = len(data) if undefined else pos + length
        if end > len(data):
            raise FastParseError("truncated sequence")
        items: list[LightDataset] = []
        while pos < end:
            if pos + 8 > len(data):
                raise FastParseError("truncated item")
            item_tag = (struct.unpack_from("<H", data, pos)[0] << 16) | struct.unpack_from(
                "<H", data, pos + 2
            )[0]
            item_len = _U32.unpack_from(data, pos + 4)[0]
            pos += 8
            if item_tag == _SEQ_END:
                if not undefined:
                    raise FastParseError("sequence delimiter in a defined-length sequence")
                return LightSequence(tag, items, True), pos
            if item_tag != _ITEM:
                raise FastParseError(f"expected an item at {pos - 8}")
            if item_len == _UNDEFINED:
                elements, pos = self.elements(pos, len(data), True)
            else:
                if pos + item_len > len(data):
                    raise FastParseError("truncated item")
                elements, pos = self.elements(pos, pos + item_len, False)
            items.append(LightDataset(elements, self.encoding))
        if undefined:
            raise FastParseError("sequence without delimiter")
        return LightSequence(tag, items, False), pos


def parse_items(raw: RawDataElement, encoding: Any) -> list[LightDataset]:
    """Parse the bytes of a raw (little endian) sequence element into light items."""
    if not raw.is_little_endian:
        raise FastParseError("big endian")
    value = raw.value or b""
    parser = _Parser(value, raw.is_implicit_VR, encoding)
    length = _UNDEFINED if raw.length == _UNDEFINED else len(value)
    if length == _UNDEFINED:
        # pydicom keeps an undefined-length sequence without its delimiter
        value = bytes(value) + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
        parser = _Parser(value, raw.is_implicit_VR, encoding)
    seq, _ = parser.sequence(int(raw.tag), 0, length)
    return seq.items


def _meta(data: bytes, pos: int) -> tuple[FileMetaDataset, int]:
    meta = FileMetaDataset()
    parser = _Parser(data, False, None)
    while pos + 8 <= len(data):
        group = struct.unpack_from("<H", data, pos)[0]
        if group != 0x0002:
            break
        tag, vr, length, vpos = parser.header(pos)
        if length == _UNDEFINED or vpos + length > len(data):
            raise FastParseError("bad file meta information")
        key = BaseTag(tag)
        meta._dict[key] = RawDataElement(
            key, vr, length, data[vpos : vpos + length], vpos, False, True
        )
        pos = vpos + length
    return meta, pos


def split_file_meta(data: bytes) -> tuple[FileMetaDataset, int]:
    """The File Meta Information of Part 10 bytes (PS3.10 Section 7.1; with or without
    the 128-byte preamble, or none at all) and the offset where the data set starts.

    Raises :class:`FastParseError` for a meta group that runs past the end.
    """
    pos = 0
    if len(data) >= 132 and data[128:132] == b"DICM":
        pos = 132
    elif data[:4] == b"DICM":
        pos = 4
    return _meta(data, pos)


def _top_level(
    parser: _Parser, pos: int, *, stop_before_pixels: bool = False
) -> tuple[dict[Any, Any], dict[int, list[LightDataset]], PixelElement | None]:
    """Top-level raw elements (sequences kept as bytes for pydicom), parsed sequences,
    and, with ``stop_before_pixels``, the pixel data element the parse stopped at.

    Tags are made with ``BaseTag`` (pydicom's ``Tag()`` checks its argument's type
    first), raw elements with ``tuple.__new__`` (the named tuple's own ``__new__`` is
    a Python function), and the element header is decoded inline (as
    :meth:`_Parser.header` does): this loop runs for every element of every stored
    instance and of every header read by the load layer.
    """
    data = parser.data
    size = len(data)
    out: dict[Any, Any] = {}
    parsed: dict[int, list[LightDataset]] = {}
    implicit = parser.implicit
    make = tuple.__new__
    raw_element = RawDataElement
    base_tag = BaseTag
    unpack_head = _HEAD.unpack_from
    unpack_explicit = _EXPLICIT.unpack_from
    unpack_u32 = _U32.unpack_from
    vr_text = _VR_TEXT
    long_vrs = _LONG_VRS
    sq_cache = _SQ_CACHE
    vr: str | None
    while pos < size:
        if pos + 8 > size:
            raise FastParseError("truncated element header")
        if implicit:
            group, elem, length = unpack_head(data, pos)
            vr = None
            vpos = pos + 8
        else:
            group, elem, vr_bytes, length = unpack_explicit(data, pos)
            if group == 0xFFFE:
                length = unpack_u32(data, pos + 4)[0]
                vr = None
                vpos = pos + 8
            else:
                vr = vr_text.get(vr_bytes)
                if vr is None:
                    raise FastParseError(f"invalid VR at {pos}")
                if vr_bytes in long_vrs:
                    if pos + 12 > size:
                        raise FastParseError("truncated element header")
                    length = unpack_u32(data, pos + 8)[0]
                    vpos = pos + 12
                else:
                    vpos = pos + 8
        tag = (group << 16) | elem
        if tag == 0xFFFCFFFC:  # trailing padding
            break
        if stop_before_pixels and tag in PIXEL_TAGS:
            return out, parsed, PixelElement(tag, vr, length, vpos)
        if vr is None:
            is_sequence = sq_cache.get(tag)
            if is_sequence is None:
                is_sequence = _is_sequence_tag(tag)
        else:
            is_sequence = False
        if vr == "SQ" or (length == _UNDEFINED and (vr is None or vr == "UN")) or is_sequence:
            seq, stop = parser.sequence(tag, vpos, length)
            parsed[tag] = seq.items
            value_end = stop - 8 if seq.undefined else stop
            key = base_tag(tag)
            out[key] = raw_element(
                key,
                "SQ" if vr in ("SQ", None) else vr,
                length,
                bytes(data[vpos:value_end]),
                vpos,
                implicit,
                True,
            )
            pos = stop
            continue
        if length == _UNDEFINED:
            raise FastParseError("encapsulated data")
        stop = vpos + length
        if stop > size:
            raise FastParseError("truncated value")
        value = bytes(data[vpos:stop])
        key = base_tag(tag)
        out[key] = make(raw_element, (key, vr, length, value, vpos, implicit, True, True, False))
        if tag == 0x00080005:
            terms = [t.strip() for t in value.decode("ascii", "replace").strip("\x00 ").split("\\")]
            parser.encoding = terms if len(terms) > 1 else terms[0]
        pos = stop
    return out, parsed, None


def parse_file(
    data: bytes, filename: str = ""
) -> tuple[FileDataset, dict[int, list[LightDataset]]]:
    """Parse a Part 10 file (or a bare little endian dataset).

    Returns the top-level dataset (raw elements) and the parsed top-level sequences
    (tag -> light items); :func:`srkit.codec.loader.load` hands both to the reader as
    one :class:`~srkit.codec.loader.Loaded` value.

    Raises
    ------
    FastParseError
        For anything this parser does not handle; parse with pydicom instead.
    """
    preamble = data[:128] if len(data) >= 132 and data[128:132] == b"DICM" else None
    meta, pos = split_file_meta(data)
    ts_elem = meta._dict.get(Tag(0x00020010))
    if ts_elem is not None:
        ts = bytes(ts_elem.value or b"").decode("ascii", "replace").strip("\x00 ")
    elif len(data) > pos + 6 and 65 <= data[pos + 4] <= 90 and 65 <= data[pos + 5] <= 90:
        ts = EXPLICIT_LE
    else:
        ts = IMPLICIT_LE
    body: bytes | memoryview = memoryview(data)[pos:]
    if ts == DEFLATED_LE:
        try:
            body = zlib.decompress(bytes(body), -zlib.MAX_WBITS)
        except zlib.error as exc:
            raise FastParseError(f"deflate: {exc}") from None
        ts = EXPLICIT_LE
    if ts not in (IMPLICIT_LE, EXPLICIT_LE):
        raise FastParseError(f"transfer syntax {ts}")
    parser = _Parser(body, ts == IMPLICIT_LE, None)
    elements, parsed, _ = _top_level(parser, 0)
    ds = FileDataset(
        filename,
        elements,
        preamble=preamble,
        file_meta=meta,
        is_implicit_VR=ts == IMPLICIT_LE,
        is_little_endian=True,
    )
    return ds, parsed


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
    if len(data) < 132 or data[128:132] != b"DICM":
        raise FastParseError("no DICM prefix")
    try:
        meta, pos = _meta(data, 132)
    except FastParseError:
        if whole:
            raise
        return None
    ts_elem = meta._dict.get(Tag(0x00020010))
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
    parser = _Parser(memoryview(data), implicit, None)
    try:
        elements, _, pixels = _top_level(parser, pos, stop_before_pixels=True)
    except FastParseError:
        if whole:
            raise
        return None
    if pixels is None and not whole:
        return None
    ds = FileDataset(
        filename,
        elements,
        preamble=data[:128],
        file_meta=meta,
        is_implicit_VR=implicit,
        is_little_endian=True,
    )
    ds.set_original_encoding(implicit, True, ds._character_set)
    return ds, pixels
