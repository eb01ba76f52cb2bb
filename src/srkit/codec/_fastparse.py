"""The fast parser's core: the element splitter and item builder (PS3.5 Section 7.1, 7.5).

Written in Cython's pure Python mode, one source for two implementations: compiled by
Cython (``setup.py``) it is the C extension ``srkit.codec._fastparse_c``; imported as
it is, the pure-Python parser. :mod:`srkit.codec.fastparse` chooses between them.
Where the two need different code (reading the element header: C reads the bytes
through a pointer, Python through :mod:`struct`), ``cython.compiled`` picks the
branch when Cython compiles the file; everything else is the same lines.

The splitter walks little endian bytes (implicit or explicit VR) into
:class:`~srkit.codec.light.RawElement` tuples, items into
:class:`~srkit.codec.light.LightDataset` and the top level into a
:class:`~srkit.codec.light.LightFile`. Anything unusual (truncated data, malformed
lengths, an undefined length outside a sequence) raises
:class:`~srkit.codec.light.FastParseError` and the caller falls back to pydicom.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the type checker reads the stand-ins' signatures
    from srkit.codec import _cython_shim as cython
else:
    try:
        import cython
    except ImportError:  # Cython is needed to build, not to run
        from srkit.codec import _cython_shim as cython

from srkit.codec.dictionary import is_sequence_tag
from srkit.codec.light import (
    FastParseError,
    LightDataset,
    LightFile,
    LightSequence,
    PixelDataCutShort,
    RawElement,
)

__all__ = [
    "COMPILED",
    "meta_elements",
    "element_header",
    "parse_body",
    "parse_header_body",
    "parse_sequence_value",
    "skim",
]

COMPILED: bool = cython.compiled
"""Whether this module is the compiled extension."""

_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
# C constants when compiled: compared with a C integer they make no Python object
_ITEM = cython.declare(cython.uint, 0xFFFEE000)
_ITEM_END = cython.declare(cython.uint, 0xFFFEE00D)
_SEQ_END = cython.declare(cython.uint, 0xFFFEE0DD)
_UNDEFINED = cython.declare(cython.uint, 0xFFFFFFFF)
SHARE_MAX = 1024
"""An item of at most this many bytes is parsed once per parse: a later item with the
same bytes (and the same kind of length) is the same :class:`LightDataset` again. A
report repeats a few code items (concept names, units) and measured values thousands
of times (6,447 items, 766 distinct, in a Philips X-ray RDSR of 1,885 content items);
building each once is most of the parse's allocations spared. Light items are never
changed, so sharing one is safe; the ``value_tell`` of a shared item's elements is
that of its first occurrence."""
_SCAN_DEPTH = cython.declare(cython.Py_ssize_t, 16)
_HEAD = struct.Struct("<HHI")  # group, element, 32-bit length (implicit VR)
_EXPLICIT = struct.Struct("<HH2sH")  # group, element, VR, 16-bit length
_U32 = struct.Struct("<I")
_VR_TEXT = {bytes([a, b]): chr(a) + chr(b) for a in range(65, 91) for b in range(65, 91)}
"""Every well-formed VR (two upper-case letters) as text, decoded once."""
_VR_CODE_TEXT = {(a << 8) | b: chr(a) + chr(b) for a in range(65, 91) for b in range(65, 91)}
"""The same, keyed by the two bytes as a big-endian 16-bit number (the compiled path)."""

_SQ_CACHE: dict[int, bool] = {}
_new_tuple = tuple.__new__
_new_object = object.__new__
if cython.compiled:
    from cython.cimports.cpython.bytes import PyBytes_FromStringAndSize as _bytes_from
    from cython.cimports.cpython.object import PyObject_GenericSetAttr as _set_slot
else:
    _set_slot = object.__setattr__


@cython.cfunc
@cython.inline
def _value_bytes(data: bytes, start: cython.Py_ssize_t, stop: cython.Py_ssize_t) -> bytes:
    """``data[start:stop]`` (compiled: copied from the buffer, without the slice
    object a slice of an object makes; ``start <= stop <= len(data)`` is checked by
    the caller)."""
    if cython.compiled:
        buf: cython.p_const_char = data
        return _bytes_from(buf + start, stop - start)  # type: ignore[no-any-return,operator]
    return data[start:stop]


@cython.cfunc
def _light_dataset(elements: dict[int, Any], encoding: Any) -> LightDataset:
    """``LightDataset(elements, encoding)``, without a call of its Python ``__init__``
    (one per sequence item)."""
    item: LightDataset = _new_object(LightDataset)
    _set_slot(item, "_dict", elements)
    _set_slot(item, "encoding", encoding)
    return item


@cython.cfunc
def _light_sequence(tag: object, items: list[LightDataset], undefined: bool) -> LightSequence:
    """``LightSequence(tag, items, undefined)``, without a call of its Python ``__init__``."""
    seq: LightSequence = _new_object(LightSequence)
    _set_slot(seq, "tag", tag)
    _set_slot(seq, "items", items)
    _set_slot(seq, "undefined", undefined)
    return seq


@cython.cfunc
def _is_sequence_tag(tag: int) -> cython.bint:
    known = _SQ_CACHE.get(tag)
    if known is None:
        known = is_sequence_tag(tag)
        _SQ_CACHE[tag] = known
    return known


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _u16(buf: cython.p_const_uchar, pos: cython.Py_ssize_t) -> cython.uint:
    return buf[pos] | (cython.cast(cython.uint, buf[pos + 1]) << 8)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _u32(buf: cython.p_const_uchar, pos: cython.Py_ssize_t) -> cython.uint:
    return (
        buf[pos]
        | (cython.cast(cython.uint, buf[pos + 1]) << 8)
        | (cython.cast(cython.uint, buf[pos + 2]) << 16)
        | (cython.cast(cython.uint, buf[pos + 3]) << 24)
    )


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _le16(data: bytes, pos: cython.Py_ssize_t) -> cython.uint:
    """The little endian 16-bit number at ``pos`` of ``data`` (the caller checks
    ``pos + 2 <= len(data)``)."""
    if cython.compiled:
        buf: cython.p_const_uchar = data
        return _u16(buf, pos)
    return data[pos] | (data[pos + 1] << 8)


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _le32(data: bytes, pos: cython.Py_ssize_t) -> cython.uint:
    """The little endian 32-bit number at ``pos`` of ``data`` (checked by the caller)."""
    if cython.compiled:
        buf: cython.p_const_uchar = data
        return _u32(buf, pos)
    return int.from_bytes(data[pos : pos + 4], "little")


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _long_vr(code: cython.uint) -> cython.bint:
    """Whether the VR (two bytes as a big-endian number) has a 32-bit length (PS3.5 7.1.2)."""
    return (
        code == 0x4F42  # OB
        or code == 0x4F44  # OD
        or code == 0x4F46  # OF
        or code == 0x4F4C  # OL
        or code == 0x4F56  # OV
        or code == 0x4F57  # OW
        or code == 0x5351  # SQ
        or code == 0x5356  # SV
        or code == 0x5543  # UC
        or code == 0x554E  # UN
        or code == 0x5552  # UR
        or code == 0x5554  # UT
        or code == 0x5556  # UV
    )


@cython.final
@cython.cclass
class _Parser:
    data: bytes
    size: cython.Py_ssize_t
    implicit: cython.bint
    encoding: object
    shared: dict  # type: ignore[type-arg]
    shared_open: dict  # type: ignore[type-arg]

    def __init__(self, data: bytes, implicit: bool, encoding: Any) -> None:
        self.data = data
        self.size = len(data)
        self.implicit = implicit
        self.encoding = encoding
        self.shared = {}
        """Items of defined length parsed so far, by their bytes (:data:`SHARE_MAX`)."""
        self.shared_open = {}
        """Items of undefined length parsed so far, by their bytes and delimiter."""

    def header(self, pos: cython.Py_ssize_t) -> tuple[int, str | None, int, int]:
        """(tag, VR or None, length, value position) of the element at ``pos``."""
        data = self.data
        if pos + 8 > self.size:
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
            if pos + 12 > self.size:
                raise FastParseError("truncated element header")
            return tag, text, _U32.unpack_from(data, pos + 8)[0], pos + 12
        return tag, text, length, pos + 8

    @cython.ccall
    def elements(
        self, pos: cython.Py_ssize_t, end: cython.Py_ssize_t, stop_at_item_end: cython.bint
    ) -> tuple[dict[int, Any], int]:
        """Parse elements from ``pos`` until ``end`` (or the item delimiter).

        The element header is decoded inline (this loop is the parser's hot path);
        item elements keep plain ``int`` tags.
        """
        out: dict[int, Any] = {}
        data: bytes = self.data
        size: cython.Py_ssize_t = self.size
        implicit: cython.bint = self.implicit
        vpos: cython.Py_ssize_t
        stop: cython.Py_ssize_t
        group: cython.uint
        tag: cython.uint
        length: cython.uint
        code: cython.uint
        new_tuple = _new_tuple
        raw_element = RawElement
        if cython.compiled:
            buf: cython.p_const_uchar = data
        else:
            unpack_head = _HEAD.unpack_from
            unpack_explicit = _EXPLICIT.unpack_from
            unpack_u32 = _U32.unpack_from
        while pos < end:
            if pos + 8 > size:
                raise FastParseError("truncated element header")
            if cython.compiled:
                group = _u16(buf, pos)
                tag = (group << 16) | _u16(buf, pos + 2)
                if implicit or group == 0xFFFE:
                    length = _u32(buf, pos + 4)
                    vr = None
                    vpos = pos + 8
                else:
                    code = (cython.cast(cython.uint, buf[pos + 4]) << 8) | buf[pos + 5]
                    if _long_vr(code):
                        if pos + 12 > size:
                            raise FastParseError("truncated element header")
                        length = _u32(buf, pos + 8)
                        vpos = pos + 12
                    else:
                        length = _u16(buf, pos + 6)
                        vpos = pos + 8
                    vr = _VR_CODE_TEXT.get(code)
                    if vr is None:
                        raise FastParseError(f"invalid VR at {pos}")
            else:
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
                        vr = _VR_TEXT[vr_bytes]
                        vpos = pos + 12
                    else:
                        vr = _VR_TEXT.get(vr_bytes)
                        if vr is None:
                            raise FastParseError(f"invalid VR at {pos}")
                        vpos = pos + 8
            if tag == _ITEM_END:
                if not stop_at_item_end:
                    raise FastParseError("unexpected item delimiter")
                return out, vpos
            if (
                vr == "SQ"
                or (length == _UNDEFINED and (vr is None or vr == "UN"))
                or (vr is None and _is_sequence_tag(tag) and self.holds_items(vpos, length))
            ):
                seq, pos = self.sequence(tag, vpos, length)
                out[tag] = seq
                continue
            if vr is None and _is_sequence_tag(tag):
                vr = "UN"  # implicit VR: a sequence's tag whose value holds no items
            if length == _UNDEFINED:
                raise FastParseError("undefined length on a non-sequence element")
            stop = vpos + length
            if stop > size:
                raise FastParseError("truncated value")
            key = cython.declare(object, tag)  # one int object for the key and the element
            out[key] = new_tuple(
                raw_element, (key, vr, length, _value_bytes(data, vpos, stop), vpos, implicit, True)
            )
            pos = stop
        if stop_at_item_end:
            raise FastParseError("item without delimiter")
        return out, pos

    @cython.cfunc
    def holds_items(self, pos: cython.Py_ssize_t, length: cython.uint) -> cython.bint:
        """Whether a defined-length value at ``pos`` of an implicit VR sequence tag
        starts as a sequence does: empty, or an item (or delimiter) tag first. A
        retired use of the tag with text (0040,A170 as Observation Class, CS, in
        trial SR) does not, and is kept as raw bytes."""
        if length == 0 or length == _UNDEFINED:
            return True
        if length < 8 or pos + 8 > self.size:
            return False
        data = self.data
        if cython.compiled:
            buf: cython.p_const_uchar = data
            return _u16(buf, pos) == 0xFFFE
        return data[pos : pos + 2] == b"\xfe\xff"

    @cython.cfunc
    def item_end(
        self, pos: cython.Py_ssize_t, limit: cython.Py_ssize_t, depth: cython.Py_ssize_t
    ) -> cython.Py_ssize_t:
        """Where the undefined-length item whose elements start at ``pos`` ends (after
        its Item Delimitation Item), found without making an object, if before
        ``limit``; -1 past it or on anything :meth:`elements` would not read the
        same way (the item is then parsed unshared)."""
        size: cython.Py_ssize_t = min(self.size, limit)
        data: bytes = self.data
        group: cython.uint
        tag: cython.uint
        length: cython.uint
        code: cython.uint
        vpos: cython.Py_ssize_t
        sequence_vr: cython.bint
        if depth > _SCAN_DEPTH:
            return -1
        while pos + 8 <= size:
            group = _le16(data, pos)
            tag = (group << 16) | _le16(data, pos + 2)
            if tag == _ITEM_END:
                return pos + 8
            if group == 0xFFFE:
                return -1
            sequence_vr = self.implicit
            if self.implicit:
                length = _le32(data, pos + 4)
                vpos = pos + 8
            else:
                code = _le16(data, pos + 4)
                code = ((code & 0xFF) << 8) | (code >> 8)  # the two letters, first one high
                if not (0x41 <= (code >> 8) <= 0x5A and 0x41 <= (code & 0xFF) <= 0x5A):
                    return -1
                sequence_vr = code == 0x5351 or code == 0x554E  # SQ, UN
                if _long_vr(code):
                    if pos + 12 > size:
                        return -1
                    length = _le32(data, pos + 8)
                    vpos = pos + 12
                else:
                    length = _le16(data, pos + 6)
                    vpos = pos + 8
            if length == _UNDEFINED:
                if not sequence_vr:
                    return -1
                pos = self.sequence_end(vpos, limit, depth + 1)
                if pos < 0:
                    return -1
            else:
                pos = vpos + length
        return -1

    @cython.cfunc
    def sequence_end(
        self, pos: cython.Py_ssize_t, limit: cython.Py_ssize_t, depth: cython.Py_ssize_t
    ) -> cython.Py_ssize_t:
        """Where the undefined-length sequence whose items start at ``pos`` ends (after
        its Sequence Delimitation Item), if before ``limit``; -1 otherwise."""
        size: cython.Py_ssize_t = min(self.size, limit)
        data: bytes = self.data
        tag: cython.uint
        length: cython.uint
        while pos + 8 <= size:
            tag = (_le16(data, pos) << 16) | _le16(data, pos + 2)
            length = _le32(data, pos + 4)
            if tag == _SEQ_END:
                return pos + 8
            if tag != _ITEM:
                return -1
            if length == _UNDEFINED:
                pos = self.item_end(pos + 8, limit, depth)
                if pos < 0:
                    return -1
            else:
                pos += 8 + length
        return -1

    @cython.ccall
    def sequence(
        self, tag: int, pos: cython.Py_ssize_t, length: cython.uint
    ) -> tuple[LightSequence, int]:
        size: cython.Py_ssize_t = self.size
        end: cython.Py_ssize_t
        item_len: cython.uint
        undefined: cython.bint = length == _UNDEFINED
        end = size if undefined else pos + length
        if end > size:
            raise FastParseError("truncated sequence")
        items: list[LightDataset] = []
        encoding = self.encoding
        open_item: cython.bint
        item_end: cython.Py_ssize_t
        while pos < end:
            if pos + 8 > size:
                raise FastParseError("truncated item")
            if cython.compiled:
                buf: cython.p_const_uchar = self.data
                item_tag = (_u16(buf, pos) << 16) | _u16(buf, pos + 2)
                item_len = _u32(buf, pos + 4)
            else:
                group, elem, item_len = _HEAD.unpack_from(self.data, pos)
                item_tag = (group << 16) | elem
            pos += 8
            if item_tag == _SEQ_END:
                if not undefined:
                    raise FastParseError("sequence delimiter in a defined-length sequence")
                return _light_sequence(tag, items, True), pos
            if item_tag != _ITEM:
                raise FastParseError(f"expected an item at {pos - 8}")
            open_item = item_len == _UNDEFINED
            if open_item:
                item_end = self.item_end(pos, pos + SHARE_MAX, 0)
                known = self.shared_open
            else:
                if pos + item_len > size:
                    raise FastParseError("truncated item")
                item_end = pos + item_len if item_len <= SHARE_MAX else -1
                known = self.shared
            key = None
            if item_end >= 0:
                key = _value_bytes(self.data, pos, item_end)
                item = known.get(key)
                if item is not None:
                    items.append(item)
                    pos = item_end
                    continue
            if open_item:
                elements, pos = self.elements(pos, size, True)
            else:
                elements, pos = self.elements(pos, pos + item_len, False)
            item = _light_dataset(elements, encoding)
            if key is not None and pos == item_end:
                known[key] = item
            items.append(item)
        if undefined:
            raise FastParseError("sequence without delimiter")
        return _light_sequence(tag, items, False), pos

    def top_level(
        self, pos: cython.Py_ssize_t, stop_before_pixels: bool = False
    ) -> tuple[dict[int, Any], dict[int, Any], tuple[int, str | None, int, int] | None]:
        """Top-level raw elements (sequences kept as their bytes), parsed sequences and,
        with ``stop_before_pixels``, ``(tag, VR, length, value offset)`` of the pixel
        data element the parse stopped at (Float, Double Float or Pixel Data)."""
        data = self.data
        size: cython.Py_ssize_t = self.size
        out: dict[int, Any] = {}
        parsed: dict[int, list[LightDataset]] = {}
        implicit = self.implicit
        while pos < size:
            tag, vr, length, vpos = self.header(pos)
            if tag == 0xFFFCFFFC:  # trailing padding
                break
            if stop_before_pixels and (tag == 0x7FE00010 or tag == 0x7FE00008 or tag == 0x7FE00009):
                return out, parsed, (tag, vr, length, vpos)
            if (
                vr == "SQ"
                or (length == _UNDEFINED and (vr is None or vr == "UN"))
                or (vr is None and _is_sequence_tag(tag))
            ):
                seq, stop = self.sequence(tag, vpos, length)
                parsed[tag] = seq.items
                value_end = stop - 8 if seq.undefined else stop
                out[tag] = RawElement(
                    tag,
                    "SQ" if vr in ("SQ", None) else vr,
                    length,
                    data[vpos:value_end],
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
            value = _value_bytes(data, vpos, stop)
            out[tag] = RawElement(tag, vr, length, value, vpos, implicit, True)
            if tag == 0x00080005:
                terms = [
                    t.strip() for t in value.decode("ascii", "replace").strip("\x00 ").split("\\")
                ]
                self.encoding = terms if len(terms) > 1 else terms[0]
            pos = stop
        return out, parsed, None


def meta_elements(data: bytes, pos: int) -> tuple[dict[int, RawElement], int]:
    """The group 0002 elements from ``pos`` (explicit VR little endian, PS3.10 7.1)
    and the offset after them."""
    meta: dict[int, RawElement] = {}
    parser = _Parser(data, False, None)
    while pos + 8 <= len(data):
        group = struct.unpack_from("<H", data, pos)[0]
        if group != 0x0002:
            break
        tag, vr, length, vpos = parser.header(pos)
        if length == _UNDEFINED or vpos + length > len(data):
            raise FastParseError("bad file meta information")
        meta[tag] = RawElement(tag, vr, length, data[vpos : vpos + length], vpos, False, True)
        pos = vpos + length
    return meta, pos


def parse_body(
    body: bytes,
    implicit: bool,
    meta: dict[int, RawElement],
    preamble: bytes | None,
    filename: str,
) -> tuple[LightFile, dict[int, list[LightDataset]]]:
    """The data set in ``body`` as a light file, and its parsed top-level sequences."""
    parser = _Parser(body, implicit, None)
    elements, parsed, _ = parser.top_level(0)
    return LightFile(elements, parser.encoding, meta, preamble, implicit, filename), parsed


def parse_header_body(
    data: bytes, pos: int, implicit: bool
) -> tuple[dict[int, RawElement], tuple[int, str | None, int, int] | None]:
    """The top-level elements of ``data`` from ``pos`` up to the pixel data element
    (value offsets are offsets in ``data``), and where that element is."""
    parser = _Parser(data, implicit, None)
    elements, _, pixels = parser.top_level(pos, True)
    return elements, pixels


def parse_sequence_value(
    value: bytes, implicit: bool, undefined: bool, tag: int, encoding: Any
) -> list[LightDataset]:
    """The items of a sequence's value bytes (without the sequence delimiter)."""
    if undefined:
        # pydicom keeps an undefined-length sequence without its delimiter
        data = value + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
        parser = _Parser(data, implicit, encoding)
        seq, _ = parser.sequence(tag, 0, _UNDEFINED)
    else:
        parser = _Parser(value, implicit, encoding)
        seq, _ = parser.sequence(tag, 0, len(value))
    items: list[LightDataset] = seq.items
    return items


# -- the index's header skim (srkit.db.header) ------------------------------------------

SKIM_MAX_DEPTH = 32
"""Deepest nesting of undefined-length sequences :func:`skim` steps over; deeper, the
whole parse decides."""
_HH = struct.Struct("<HH")


def element_header(data: bytes, pos: int, implicit: bool) -> tuple[int, str | None, int, int]:
    """(tag, VR or None, value length, value offset) of the data element at ``pos``
    (PS3.5 Section 7.1.2, 7.1.3); an item or delimiter tag there, or a header cut
    short, raises :class:`FastParseError`."""
    if pos + 8 > len(data):
        raise FastParseError("truncated element header")
    if implicit:
        group, element, length = _HEAD.unpack_from(data, pos)
        if group == 0xFFFE:
            raise FastParseError(f"an item or delimiter where an element was expected at {pos}")
        return (group << 16) | element, None, length, pos + 8
    group, element, vr, length = _EXPLICIT.unpack_from(data, pos)
    if group == 0xFFFE:
        raise FastParseError(f"an item or delimiter where an element was expected at {pos}")
    if vr in _LONG_VRS:
        if pos + 12 > len(data):
            raise FastParseError("truncated element header")
        return (
            (group << 16) | element,
            _VR_TEXT.get(vr) or vr.decode("ascii"),
            _U32.unpack_from(data, pos + 8)[0],
            pos + 12,
        )
    return (group << 16) | element, vr.decode("ascii", "replace"), length, pos + 8


@cython.cfunc
@cython.inline
def _value_start(
    buf: cython.p_const_uchar, at: cython.Py_ssize_t, n: cython.Py_ssize_t, implicit: cython.bint
) -> cython.Py_ssize_t:
    """The compiled :func:`element_header`'s value offset (its checks included)."""
    if at + 8 > n:
        raise FastParseError("truncated element header")
    if _u16(buf, at) == 0xFFFE:
        raise FastParseError(f"an item or delimiter where an element was expected at {at}")
    if implicit:
        return at + 8
    if _long_vr((cython.cast(cython.uint, buf[at + 4]) << 8) | buf[at + 5]):
        if at + 12 > n:
            raise FastParseError("truncated element header")
        return at + 12
    return at + 8


@cython.cfunc
@cython.inline
@cython.exceptval(check=False)
def _value_length(
    buf: cython.p_const_uchar,
    at: cython.Py_ssize_t,
    value_at: cython.Py_ssize_t,
    implicit: cython.bint,
) -> cython.uint:
    """The compiled :func:`element_header`'s value length, ``value_at`` known."""
    if value_at - at == 12:
        return _u32(buf, at + 8)
    if implicit:
        return _u32(buf, at + 4)
    return _u16(buf, at + 6)


def _vr_text(data: bytes, at: int) -> str:
    """The explicit VR at element offset ``at`` as text (as :func:`element_header` gives it)."""
    code = data[at + 4 : at + 6]
    return _VR_TEXT.get(code) or code.decode("ascii", "replace")


@cython.cfunc
def _skip_items(
    data: bytes, pos: cython.Py_ssize_t, implicit: cython.bint, depth: cython.Py_ssize_t
) -> cython.Py_ssize_t:
    """Past the items of a sequence of undefined length and its delimiter, ``depth``
    sequences deep: an item of defined length is stepped over whole, one of
    undefined length element by element (its sequences of undefined length in turn)."""
    end: cython.Py_ssize_t = len(data)
    group: cython.uint
    element: cython.uint
    length: cython.uint
    value_at: cython.Py_ssize_t
    un: cython.bint
    in_item: cython.bint = False  # inside an item of undefined length
    if depth > SKIM_MAX_DEPTH:
        raise FastParseError("sequences nested too deep")
    if cython.compiled:
        buf: cython.p_const_uchar = data
    while True:
        if pos + 8 > end:
            raise FastParseError(
                "item without delimiter" if in_item else "sequence without delimiter"
            )
        if cython.compiled:
            group = _u16(buf, pos)
            element = _u16(buf, pos + 2)
        else:
            group, element = _HH.unpack_from(data, pos)
        if in_item and group != 0xFFFE:  # an element of the item
            if cython.compiled:
                value_at = _value_start(buf, pos, end, implicit)
                length = _value_length(buf, pos, value_at, implicit)
                un = not implicit and buf[pos + 4] == 0x55 and buf[pos + 5] == 0x4E  # UN
            else:
                _tag, vr, length, value_at = element_header(data, pos, implicit)
                un = vr == "UN"
            if length == _UNDEFINED:
                pos = _skip_items(data, value_at, implicit or un, depth + 1)
            else:
                pos = value_at + length
                if pos > end:
                    raise FastParseError("value cut short")
            continue
        if in_item:
            if element != 0xE00D:  # Item Delimitation Item
                raise FastParseError(f"expected an item delimiter at {pos}")
            in_item = False
            pos += 8
            continue
        if cython.compiled:  # noqa: SIM108 - the branch Cython compiles, and Python's
            length = _u32(buf, pos + 4)
        else:
            length = _U32.unpack_from(data, pos + 4)[0]
        pos += 8
        if group != 0xFFFE or (element != 0xE0DD and element != 0xE000):
            raise FastParseError(f"expected an item at {pos - 8}")
        if element == 0xE0DD:  # Sequence Delimitation Item
            return pos
        if length == _UNDEFINED:
            in_item = True
        else:
            pos += length
            if pos > end:
                raise FastParseError("item cut short")


@cython.ccall
def skim(
    data: bytes,
    pos: cython.Py_ssize_t,
    size: cython.Py_ssize_t,
    implicit: cython.bint,
    tail: Any,
    wanted: frozenset[int],
    make: Any,
) -> dict[int, Any]:
    """The ``wanted`` top-level elements of a little endian native data set, from
    ``pos`` to the end of the file: ``size`` bytes, of which ``data`` holds the first
    (``tail(offset)`` gives the rest from ``offset``, or None). Every other value is
    stepped over unread: Pixel Data, sequences of undefined length item by item.
    Each wanted element is ``make(tag, VR or None, length, value bytes, file offset)``.

    Raises
    ------
    PixelDataCutShort
        The Pixel Data's length runs past ``size``.
    FastParseError
        Anything else the walk does not follow (a value cut short, an element header
        across the end of ``data``, encapsulated Pixel Data, the elements not ending
        exactly at ``size``): the caller parses the file whole.
    """
    elements: dict[int, Any] = {}
    buf_obj: bytes = data
    base: cython.Py_ssize_t = 0
    n: cython.Py_ssize_t = len(data)
    at: cython.Py_ssize_t
    value_at: cython.Py_ssize_t
    value_end: cython.Py_ssize_t
    tag: cython.uint
    length: cython.uint
    un: cython.bint
    if cython.compiled:
        buf: cython.p_const_uchar = buf_obj
    while base + n < size or pos < base + n:
        if pos >= base + n:  # past the bytes in hand: the rest of the file
            rest = tail(pos) if tail is not None else None
            if rest is None or pos + len(rest) != size:
                raise FastParseError("the rest of the file is not there")
            buf_obj, base, n = rest, pos, len(rest)
            if cython.compiled:
                buf = buf_obj
        at = pos - base
        if at + 12 > n and base + n < size:
            raise FastParseError("an element header across the end of the bytes in hand")
        if cython.compiled:
            value_at = _value_start(buf, at, n, implicit)
            length = _value_length(buf, at, value_at, implicit)
            tag = (cython.cast(cython.uint, _u16(buf, at)) << 16) | _u16(buf, at + 2)
            un = not implicit and buf[at + 4] == 0x55 and buf[at + 5] == 0x4E  # UN
        else:
            tag, vr, length, value_at = element_header(buf_obj, at, implicit)
            un = vr == "UN"
        if tag == 0x7FE00010 or tag == 0x7FE00008 or tag == 0x7FE00009:  # pixel data
            if length == _UNDEFINED:
                raise FastParseError("encapsulated pixel data in a native transfer syntax")
            if base + value_at + length > size:
                raise PixelDataCutShort("Pixel Data cut short")
            pos = base + value_at + length
            continue
        if length == _UNDEFINED:
            value_end = _skip_items(buf_obj, value_at, implicit or un, 1)
        else:
            value_end = value_at + length
            if value_end > n and (base + value_end > size or tag in wanted):
                raise FastParseError("a value cut short, or across the end of the bytes in hand")
        if tag in wanted:
            if cython.compiled:
                vr = None if implicit else _vr_text(buf_obj, at)
            elements[tag] = make(tag, vr, length, buf_obj[value_at:value_end], base + value_at)
        pos = base + value_end
    if pos != size:
        raise FastParseError("the elements do not end where the file does")
    return elements
