"""The content tree builder: values, codes and items of an SR's content (PS3.3 C.17.3).

Written to be compiled by Cython like :mod:`srkit.codec._fastparse`: one source, two
implementations. ``setup.py`` compiles this file into the C extension
``srkit.codec._tree_c``; imported as it is, it is the pure-Python builder.
:mod:`srkit.codec.content` picks the one that :mod:`srkit.codec.fastparse` says is
active (``fastparse.use`` switches both), so the tests run both and compare.

Here are the reader's most run lines: :class:`ValueReader` (decode a raw element's
bytes of a known VR), :class:`ContentReader` (the walk: items, sequences, codes) and
the builders of the common value types (CONTAINER, TEXT, CODE, NUM and the string
valued ones); the other value types' builders are :mod:`srkit.codec.value_types`'.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from srkit.codec import fastparse
from srkit.codec._charset import charset_value, python_encoding
from srkit.codec.content_rules import DEPTH_LIMIT, NAMED_VALUE_TYPES, RELATIONSHIPS
from srkit.codec.diagnostic_codes import ReadCode
from srkit.codec.light import FastParseError, LightDataset, LightSequence, is_raw
from srkit.codec.policy import ReadPolicy, Recorder
from srkit.codec.tags import (
    CODE_MEANING,
    CODE_TAGS,
    CODE_VALUE,
    CODING_SCHEME_DESIGNATOR,
    CODING_SCHEME_VERSION,
    CONCEPT_CODE_SEQUENCE,
    CONCEPT_NAME_CODE_SEQUENCE,
    CONTENT_SEQUENCE,
    CONTENT_TEMPLATE_SEQUENCE,
    CONTINUITY_OF_CONTENT,
    DATE,
    DATETIME,
    FLOATING_POINT_VALUE,
    ITEM_TAGS,
    LONG_CODE_VALUE,
    MAPPING_RESOURCE,
    MAPPING_RESOURCE_UID,
    MEASURED_VALUE_SEQUENCE,
    MEASURED_VALUE_TAGS,
    MEASUREMENT_UNITS_CODE_SEQUENCE,
    NUMERIC_VALUE,
    NUMERIC_VALUE_QUALIFIER_CODE_SEQUENCE,
    OBSERVATION_DATETIME,
    OBSERVATION_UID,
    PERSON_NAME,
    RATIONAL_DENOMINATOR_VALUE,
    RATIONAL_NUMERATOR_VALUE,
    REFERENCED_CONTENT_ITEM_IDENTIFIER,
    RELATIONSHIP_TYPE,
    SPECIFIC_CHARACTER_SET,
    TEMPLATE_IDENTIFIER,
    TEMPLATE_VERSION,
    TEXT_VALUE,
    TIME,
    UID,
    URN_CODE_VALUE,
    VALUE_TYPE,
)
from srkit.diagnostics import Severity
from srkit.errors import InvalidDocumentError
from srkit.model.code import Code, CodeValueKind
from srkit.model.items import (
    CodeContentItem,
    ContainerContentItem,
    ContentItem,
    DateContentItem,
    DateTimeContentItem,
    NumContentItem,
    PNameContentItem,
    ReferenceContentItem,
    TemplateId,
    TextContentItem,
    TimeContentItem,
    UidRefContentItem,
    UnknownContentItem,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydicom.dataset import Dataset

    Builder = Callable[["ContentReader", Dataset, str, dict[str, Any]], ContentItem]

__all__ = [
    "BUILDERS",
    "COMMON_BUILDERS",
    "COMPILED",
    "DEPTH_LIMIT",
    "NAMED_VALUE_TYPES",
    "RELATIONSHIPS",
    "ContentReader",
    "ValueReader",
]

if TYPE_CHECKING:  # the type checker reads the stand-ins' signatures
    from srkit.codec import _cython_shim as cython
else:
    try:
        import cython
    except ImportError:  # Cython is needed to build, not to run
        from srkit.codec import _cython_shim as cython

COMPILED: bool = cython.compiled
"""Whether this module is the compiled extension."""


@cython.cfunc
@cython.inline
def _elements(ds: Any) -> dict[int, Any]:
    """The element mapping of a dataset (:func:`srkit.codec._charset.elements`, compiled)."""
    mapping: dict[int, Any] = ds._dict
    return mapping


CODE_CACHE_SIZE = 4096
"""Codes a :class:`ContentReader` keeps for reuse within one document."""


@cython.cfunc
def _code_key(mapping: dict[int, Any]) -> tuple[Any, ...] | None:
    """(tag, VR, bytes, ...) of every element of a code item, or None when one is not
    in raw form (a pydicom element already converted: read as it is, not kept)."""
    parts: list[Any] = []
    for elem in mapping.values():
        if not isinstance(elem, tuple):
            return None
        row: tuple[Any, ...] = cython.cast(tuple, elem)
        if len(row) < 4:
            return None
        parts.append(row[0])
        parts.append(row[1])
        parts.append(row[3])
    return tuple(parts)


def _short_error(exc: BaseException) -> str:
    """The first line of an exception's text (at most 160 characters), for messages
    (:func:`srkit.codec.loader.short_error`'s rule; the loader imports this module)."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


def _latin_1(raw: Any) -> str:
    if type(raw) is bytes:
        data: bytes = raw
        return data.decode("latin_1")
    text: str = raw.decode("latin_1")
    return text


# -- model objects made without their dataclass __init__ ---------------------------
# The frozen dataclasses' __init__ (keyword arguments, one object.__setattr__ call per
# field, in Python) was a fifth of the tree's time. Items and codes of the common value
# types are made here by setting their slots directly, in their fields' order; where
# the model's fields are not the ones named below, the ordinary constructor is used.
if cython.compiled:
    from cython.cimports.cpython.object import PyObject_GenericSetAttr as _set_slot
else:
    _set_slot = object.__setattr__

_new_object = object.__new__
_COMMON_FIELDS = (
    "relationship",
    "concept",
    "children",
    "observation_datetime",
    "observation_uid",
    "extra",
)
_CODE_FIELDS = ("value", "scheme", "meaning", "scheme_version", "kind", "extra")
_OWN_FIELDS: dict[type, tuple[str, ...]] = {
    ContainerContentItem: ("continuity", "template"),
    TextContentItem: ("value",),
    CodeContentItem: ("value",),
    NumContentItem: ("number", "units", "qualifier", "float_value", "rational"),
    DateTimeContentItem: ("value",),
    DateContentItem: ("value",),
    TimeContentItem: ("value",),
    UidRefContentItem: ("value",),
    PNameContentItem: ("value",),
}


def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


_DEFAULTS: dict[type, tuple[Any, ...]] = {
    cls: tuple(f.default for f in dataclasses.fields(cls))[len(_COMMON_FIELDS) :]
    for cls in _OWN_FIELDS
}
_FAST_ITEMS: bool = all(
    _field_names(cls) == _COMMON_FIELDS + own for cls, own in _OWN_FIELDS.items()
) and all(d is not dataclasses.MISSING for ds in _DEFAULTS.values() for d in ds)
_FAST_CODES: bool = _field_names(Code) == _CODE_FIELDS


def _new_item(cls: type[ContentItem], common: dict[str, Any], values: tuple[Any, ...]) -> Any:
    """``cls(**common, **own)``: ``values`` are the class's own fields in order (those
    left out take their defaults); ``common`` has the fields every item has."""
    names = _OWN_FIELDS[cls]
    if not _FAST_ITEMS:
        return cls(**common, **dict(zip(names, values)))
    obj = _new_object(cls)
    for name in _COMMON_FIELDS:
        _set_slot(obj, name, common[name])
    defaults = _DEFAULTS[cls]
    given: cython.Py_ssize_t = len(values)
    i: cython.Py_ssize_t
    for i in range(len(names)):
        _set_slot(obj, names[i], values[i] if i < given else defaults[i])
    return obj


def _new_code(
    value: str, scheme: str, meaning: str, version: str | None, kind: Any, extra: Any
) -> Code:
    """``Code(value=..., scheme=..., ...)`` without the dataclass's __init__."""
    if not _FAST_CODES:
        return Code(
            value=value,
            scheme=scheme,
            meaning=meaning,
            scheme_version=version,
            kind=kind,
            extra=extra,
        )
    obj: Code = _new_object(Code)
    _set_slot(obj, "value", value)
    _set_slot(obj, "scheme", scheme)
    _set_slot(obj, "meaning", meaning)
    _set_slot(obj, "scheme_version", version)
    _set_slot(obj, "kind", kind)
    _set_slot(obj, "extra", extra)
    return obj


# VRs whose bytes are ASCII whatever the character set
_ASCII_VRS = frozenset({"CS", "UI", "DS", "IS", "DA", "TM", "DT", "AS", "AE"})
_TEXT_VRS = frozenset({"SH", "LO", "ST", "LT", "UT", "PN", "UC"})
_STRUCT = {"FL": "f", "FD": "d", "UL": "I", "US": "H", "SL": "i", "SS": "h"}


@cython.cclass
class ValueReader:
    """Reads values of known VR from datasets sharing one character set.

    Parameters
    ----------
    encoding : str or None
        Python codec for text, or ``None`` to let pydicom decode text.
    """

    encoding = cython.declare(object, visibility="public")
    declared = cython.declare(object, visibility="public")
    undeclared_8bit = cython.declare(object, visibility="public")
    """True once a text value used 8-bit bytes although no character set was declared."""
    wrong_vr = cython.declare(list, visibility="public")
    """(tag, expected VR, found VR) for every element read with a VR it should not have."""

    def __init__(self, encoding: str | None, *, declared: bool = True) -> None:
        self.encoding = encoding
        self.declared = declared
        self.undeclared_8bit = False
        self.wrong_vr = []

    def _converted(self, ds: Dataset, tag: int) -> Any:
        return ds[tag].value

    @cython.ccall
    def string(self, ds: Any, tag: int, vr: str) -> str | None:
        """A single string value (the first if several), trimmed; ``None`` if absent."""
        # the reader's most called function: the helpers elements() and is_raw() inlined;
        # a raw element (srkit's or pydicom's) is a 7-tuple: (tag, VR, length, value, ...)
        mapping: dict[int, Any] = ds._dict
        elem: Any = mapping.get(tag)
        if elem is None:
            return None
        if not isinstance(elem, tuple):
            return self._fallback_string(ds, tag)
        row: tuple[Any, ...] = cython.cast(tuple, elem)  # a tuple subclass: no exact check
        if len(row) < 4:
            return self._fallback_string(ds, tag)
        elem_vr = row[1]
        if elem_vr is not None and vr != elem_vr:
            self.wrong_vr.append((tag, vr, elem_vr))
            return self._fallback_string(ds, tag)
        raw = row[3]
        if not raw:
            return ""
        text: str
        if vr in _ASCII_VRS:
            text = _latin_1(raw)
        elif self.encoding is not None:
            if not self.declared and not raw.isascii():
                self.undeclared_8bit = True
            text = raw.decode(self.encoding, errors="replace")
        else:
            return self._fallback_string(ds, tag)
        if vr == "UT" or vr == "LT" or vr == "ST":
            return text.rstrip(" \x00")
        if vr == "UI":
            return text.rstrip("\x00 ").strip()
        if vr != "PN":
            cut = text.find("\\")
            if cut >= 0:
                text = text[:cut]
        return text.strip(" \x00")

    def _fallback_string(self, ds: Dataset, tag: int) -> str | None:
        from pydicom.multival import MultiValue
        from pydicom.valuerep import PersonName

        value = self._converted(ds, tag)
        if value is None:
            return ""
        if isinstance(value, MultiValue | list | tuple):
            if ds[tag].VR == "PN":
                return "\\".join(str(v) for v in value)
            value = value[0] if len(value) else ""
        if isinstance(value, bytes):
            value = value.decode(self.encoding or "latin_1", errors="replace")
        if isinstance(value, PersonName):
            return str(value)
        text = str(value)
        elem = ds[tag]
        if elem.VR in ("UT", "LT", "ST"):
            return text.rstrip(" \x00")
        if elem.VR in ("DS", "IS"):
            text = getattr(value, "original_string", None) or text
        return text.strip()

    def strings(self, ds: Dataset, tag: int, vr: str) -> tuple[str, ...] | None:
        """All values of a multi-valued string element; ``None`` if absent."""
        elem = _elements(ds).get(tag)
        if elem is None:
            return None
        if is_raw(elem) and (elem.VR is None or vr == elem.VR) and vr in _ASCII_VRS:
            raw = elem.value
            if not raw:
                return ()
            return tuple(v.strip(" \x00") for v in raw.decode("latin_1").split("\\"))
        from pydicom.multival import MultiValue

        value = self._converted(ds, tag)
        if value is None or value == "":
            return ()
        if isinstance(value, MultiValue | list | tuple):
            return tuple(str(v).strip() for v in value)
        return (str(value).strip(),)

    def numbers(self, ds: Dataset, tag: int, vr: str) -> tuple[float, ...] | tuple[int, ...] | None:
        """All values of a binary numeric element (FL, FD, UL, US, ...); ``None`` if absent.

        An element stored with a string VR (DS, IS) instead is converted and noted
        in :attr:`wrong_vr`.
        """
        elem = _elements(ds).get(tag)
        if elem is None:
            return None
        if is_raw(elem) and (elem.VR is None or vr == elem.VR):
            raw = elem.value
            if not raw:
                return ()
            fmt = _STRUCT[vr]
            size = struct.calcsize(fmt)
            count = len(raw) // size
            order = "<" if elem.is_little_endian else ">"
            return struct.unpack(f"{order}{count}{fmt}", raw[: count * size])
        if is_raw(elem) and elem.VR is not None:
            self.wrong_vr.append((tag, vr, elem.VR))
        value = self._converted(ds, tag)
        if value is None or value == "" or value == b"":
            return ()
        if isinstance(value, bytes):
            fmt = _STRUCT[vr]
            size = struct.calcsize(fmt)
            return struct.unpack(f"<{len(value) // size}{fmt}", value[: len(value) // size * size])
        from pydicom.multival import MultiValue

        seq = value if isinstance(value, MultiValue | list | tuple) else [value]
        conv = float if vr in ("FL", "FD") else int
        return tuple(conv(v) for v in seq)


class ContentReader(Recorder):
    """The state of reading one document's content.

    Parameters
    ----------
    policy : ReadPolicy
        How problems are treated.
    ds : pydicom.Dataset
        The top-level dataset.
    sequences : mapping of int to list of LightDataset
        The fast parser's items of the top-level sequences of ``ds`` (may be empty).
    source : str or None
        The file name, for messages.
    """

    __slots__ = (
        "charset",
        "codes",
        "depth_limit",
        "ds",
        "item_codes",
        "parsed",
        "truncated",
        "values",
    )

    def __init__(
        self,
        policy: ReadPolicy,
        ds: Any,
        sequences: Mapping[int, Sequence[LightDataset]],
        source: str | None,
    ) -> None:
        super().__init__(policy, source)
        self.ds = ds
        charset = _elements(ds).get(SPECIFIC_CHARACTER_SET)
        cs_value: Any = None
        if charset is not None:
            try:
                cs_value = charset_value(ds)
            except Exception:
                cs_value = None
        self.values = ValueReader(python_encoding(cs_value or None), declared=bool(cs_value))
        self.charset = cs_value or None
        self.parsed = sequences
        self.depth_limit = DEPTH_LIMIT
        self.truncated = False
        self.codes: dict[tuple[Any, ...], Code] = {}
        """Codes read so far, keyed by their elements' tags, VRs and bytes (see
        :meth:`code`)."""
        self.item_codes: dict[Any, Code] = {}
        """The same codes by their light item (one the parser shares, see
        :data:`srkit.codec._fastparse.SHARE_MAX`), found without making a key."""

    def check_truncated(self, ds: Dataset, path: str) -> None:
        """A defined-length element whose bytes stop short means the file was cut.

        The fast parser's items never are (it refuses a cut file, which pydicom then
        parses): only pydicom's datasets are looked at.
        """
        if self.truncated or isinstance(ds, LightDataset) or not _elements(ds):
            return
        last = _elements(ds)[next(reversed(_elements(ds)))]
        if (
            is_raw(last)
            and last.value is not None
            and last.length != 0xFFFFFFFF
            and len(last.value) < last.length
        ):
            self.truncated = True
            tag = int(last.tag)
            self.problem(
                path,
                ReadCode.FILE_TRUNCATED,
                f"file is truncated: element ({tag >> 16:04X},{tag & 0xFFFF:04X}) has "
                f"{len(last.value)} of its {last.length} bytes; content after it is lost",
            )

    # -- guarded element access ---------------------------------------------------
    def safe_string(self, ds: Dataset, tag: int, vr: str, path: str) -> str | None:
        """The string value of ``tag``, or ``None`` (absent, or unreadable: recorded)."""
        try:
            values: ValueReader = self.values
            return values.string(ds, tag, vr)
        except Exception as exc:
            self.problem(
                path,
                ReadCode.VALUE_UNREADABLE,
                f"unreadable ({tag >> 16:04X},{tag & 0xFFFF:04X}): {_short_error(exc)}",
            )
            return None

    def safe_numbers(self, ds: Dataset, tag: int, vr: str, path: str) -> tuple[Any, ...] | None:
        """The numeric values of ``tag``, or ``None`` (absent, or unreadable: recorded)."""
        try:
            return self.values.numbers(ds, tag, vr)
        except Exception as exc:
            self.problem(
                path,
                ReadCode.VALUE_UNREADABLE,
                f"unreadable ({tag >> 16:04X},{tag & 0xFFFF:04X}): {_short_error(exc)}",
            )
            return None

    def sequence(self, ds: Dataset, tag: int, path: str) -> Sequence[Dataset]:
        """The items of sequence ``tag`` (light items where the fast parser made them)."""
        elem = _elements(ds).get(tag)
        if elem is None:
            return ()
        if type(elem) is LightSequence:
            return elem.items  # type: ignore[return-value]
        if ds is self.ds and tag in self.parsed:
            return self.parsed[tag]  # type: ignore[return-value]
        if is_raw(elem) and elem.is_little_endian and elem.VR in ("SQ", None):
            try:
                return fastparse.parse_items(elem, self.charset)  # type: ignore[return-value]
            except (FastParseError, struct.error, ValueError, IndexError):
                pass  # pydicom reports what is wrong
        try:
            value = ds[tag].value
        except Exception as exc:
            self.problem(
                path,
                ReadCode.SEQUENCE_UNREADABLE,
                f"broken sequence ({tag >> 16:04X},{tag & 0xFFFF:04X}): {_short_error(exc)}",
            )
            return ()
        if value is None or isinstance(value, bytes | str):
            if value:
                self.problem(
                    path,
                    ReadCode.NOT_A_SEQUENCE,
                    f"({tag >> 16:04X},{tag & 0xFFFF:04X}) should be a sequence",
                )
            return ()
        return value  # type: ignore[no-any-return]

    def code(self, item: Dataset, path: str, what: str) -> Code | None:
        """A Code Sequence Macro item (PS3.3 Table 8.8-1) as a :class:`Code`.

        A report names the same few concepts and units thousands of times: a code item
        holding only the macro's elements, in raw form, is read once per document and
        then found by its elements' tags, VRs and bytes (:data:`CODE_CACHE_SIZE` codes
        at most). Only a code read without a problem is kept, so a repeated broken
        code is reported at each of its places."""
        light: cython.bint = type(item) is LightDataset  # type: ignore[comparison-overlap]
        if light:  # the parser shares an item repeated byte for byte
            shared = self.item_codes.get(item)
            if shared is not None:
                return shared
        key = None
        only_macro: cython.bint = _elements(item).keys() <= CODE_TAGS
        if only_macro:
            key = _code_key(_elements(item))
            if key is not None:
                known = self.codes.get(key)
                if known is not None:
                    return known
        v: ValueReader = self.values
        wrong: cython.Py_ssize_t = len(v.wrong_vr)
        try:
            value = v.string(item, CODE_VALUE, "SH")
            kind = CodeValueKind.SHORT
            if not value:
                long_value = v.string(item, LONG_CODE_VALUE, "UC")
                if long_value:
                    value, kind = long_value, CodeValueKind.LONG
                else:
                    urn = v.string(item, URN_CODE_VALUE, "UR")
                    if urn:
                        value, kind = urn, CodeValueKind.URN
            scheme = v.string(item, CODING_SCHEME_DESIGNATOR, "SH")
            meaning = v.string(item, CODE_MEANING, "LO")
            version = v.string(item, CODING_SCHEME_VERSION, "SH")
        except Exception as exc:
            self.problem(
                path, ReadCode.CODE_UNREADABLE, f"{what}: unreadable code ({_short_error(exc)})"
            )
            return None
        if not value or not scheme:
            self.problem(
                path,
                ReadCode.CODE_INCOMPLETE,
                f"{what}: code without value or coding scheme designator",
            )
            if not value and not scheme and not meaning:
                return None
        extra = None if only_macro else item
        code = _new_code(value or "", scheme or "", meaning or "", version or None, kind, extra)
        if (
            key is not None
            and value
            and scheme
            and len(v.wrong_vr) == wrong
            and len(self.codes) < CODE_CACHE_SIZE
        ):
            self.codes[key] = code
            if light:  # kept with its key: bounded by the same size
                self.item_codes[item] = code
        return code

    def code_seq(self, ds: Dataset, tag: int, path: str, what: str) -> Code | None:
        """The one code of code sequence ``tag``, or ``None`` if absent or empty."""
        seq = self.sequence(ds, tag, path)
        if not seq:
            return None
        if len(seq) > 1:
            self.problem(
                path,
                ReadCode.CODE_MULTIPLE_ITEMS,
                f"{what} has {len(seq)} items, only one is allowed",
            )
        return self.code(seq[0], path, what)

    # -- items --------------------------------------------------------------------
    def children(self, ds: Dataset, path: str) -> tuple[ContentItem, ...]:
        """The items of the Content Sequence of ``ds`` (item ``path``)."""
        if path.count(".") >= self.depth_limit:
            self.problem(
                path,
                ReadCode.TREE_TOO_DEEP,
                f"content tree deeper than {self.depth_limit} levels, cut here",
            )
            return ()
        out: list[ContentItem] = []
        for n, child in enumerate(self.sequence(ds, CONTENT_SEQUENCE, path), 1):
            item = self.item(child, f"{path}.{n}", root=False)
            if item is not None:
                out.append(item)
        return tuple(out)

    def item(self, ds: Dataset, path: str, *, root: bool) -> ContentItem | None:
        """One content item and its subtree; ``None`` if it cannot be typed."""
        try:
            return self._item(ds, path, root)
        except InvalidDocumentError:
            raise
        except Exception as exc:  # a broken element we did not foresee
            self.problem(
                path, ReadCode.ITEM_UNREADABLE, f"unreadable content item ({_short_error(exc)})"
            )
            return None

    def _item(self, ds: Dataset, path: str, root: bool) -> ContentItem | None:
        v: ValueReader = self.values
        self.check_truncated(ds, path)
        keys = _elements(ds).keys()
        relationship: str | None = None
        if not root:
            relationship = self.safe_string(ds, RELATIONSHIP_TYPE, "CS", path)
            if not relationship:
                self.problem(path, ReadCode.RELATIONSHIP_MISSING, "missing Relationship Type")
                relationship = None
            elif relationship not in RELATIONSHIPS:
                self.problem(
                    path,
                    ReadCode.RELATIONSHIP_UNKNOWN,
                    f"unknown Relationship Type {relationship!r}",
                )
        if REFERENCED_CONTENT_ITEM_IDENTIFIER in keys and VALUE_TYPE not in keys:
            ref = self.safe_numbers(ds, REFERENCED_CONTENT_ITEM_IDENTIFIER, "UL", path) or ()
            return ReferenceContentItem(
                relationship=relationship, ref=tuple(int(x) for x in ref), extra=self.extra(ds)
            )
        value_type = self.safe_string(ds, VALUE_TYPE, "CS", path)
        concept = self.code_seq(ds, CONCEPT_NAME_CODE_SEQUENCE, path, "Concept Name")
        common: dict[str, Any] = {
            "relationship": relationship,
            "concept": concept,
            "observation_datetime": v.string(ds, OBSERVATION_DATETIME, "DT")
            if OBSERVATION_DATETIME in keys
            else None,
            "observation_uid": v.string(ds, OBSERVATION_UID, "UI")
            if OBSERVATION_UID in keys
            else None,
            "children": self.children(ds, path) if CONTENT_SEQUENCE in keys else (),
            "extra": self.extra(ds),
        }
        if concept is None and value_type in NAMED_VALUE_TYPES:
            # Concept Name is required for these value types (PS3.3 C.17.3.2.1)
            self.problem(
                path, ReadCode.CONCEPT_NAME_MISSING, f"{value_type} item has no Concept Name"
            )
        builder = BUILDERS.get(value_type or "")
        if builder is None:
            return self.unknown(ds, path, value_type, common)
        built: ContentItem = builder(self, ds, path, common)
        return built

    def unknown(
        self, ds: Dataset, path: str, value_type: str | None, common: dict[str, Any]
    ) -> ContentItem | None:
        """An item of no known value type: kept only under the permissive policy."""
        if not value_type:
            self.problem(path, ReadCode.VALUE_TYPE_MISSING, "content item without Value Type")
        else:
            self.problem(path, ReadCode.VALUE_TYPE_UNKNOWN, f"unknown Value Type {value_type!r}")
        if self.policy is ReadPolicy.PERMISSIVE:
            common["extra"] = ds
            return UnknownContentItem(declared_value_type=value_type or "", **common)
        return None

    def extra(self, ds: Dataset) -> Dataset | None:
        """``ds`` if it holds elements the model does not name (kept for writing)."""
        if _elements(ds).keys() <= ITEM_TAGS:
            return None
        return ds


def _container(r: ContentReader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    continuity = r.safe_string(ds, CONTINUITY_OF_CONTENT, "CS", path)
    if not continuity:
        r.problem(path, ReadCode.CONTINUITY_MISSING, "CONTAINER without Continuity of Content")
        continuity = "SEPARATE"
    elif continuity not in ("SEPARATE", "CONTINUOUS"):
        r.problem(
            path, ReadCode.CONTINUITY_INVALID, f"invalid Continuity of Content {continuity!r}"
        )
    template = None
    for tmpl in r.sequence(ds, CONTENT_TEMPLATE_SEQUENCE, path)[:1]:
        ident = r.safe_string(tmpl, TEMPLATE_IDENTIFIER, "CS", path)
        resource = r.safe_string(tmpl, MAPPING_RESOURCE, "CS", path)
        if ident:
            template = TemplateId(
                identifier=ident,
                mapping_resource=resource or "DCMR",
                mapping_resource_uid=r.safe_string(tmpl, MAPPING_RESOURCE_UID, "UI", path),
                version=r.safe_string(tmpl, TEMPLATE_VERSION, "DT", path),
            )
    return _new_item(ContainerContentItem, common, (continuity, template))  # type: ignore[no-any-return]


def _text(r: ContentReader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    value = r.safe_string(ds, TEXT_VALUE, "UT", path)
    if value is None:
        r.problem(path, ReadCode.VALUE_MISSING, "TEXT without Text Value")
    elif value == "":
        r.problem(path, ReadCode.VALUE_EMPTY, "TEXT with an empty Text Value (type 1)")
    return _new_item(TextContentItem, common, (value or "",))  # type: ignore[no-any-return]


def _string_item(cls: type[ContentItem], tag: int, vr: str, label: str) -> Builder:
    def build(r: ContentReader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
        value = r.safe_string(ds, tag, vr, path)
        if not value:
            r.problem(path, ReadCode.VALUE_MISSING, f"{cls.value_type} without {label}")
        return _new_item(cls, common, (value or "",))  # type: ignore[no-any-return]

    return build


def _code(r: ContentReader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    value = r.code_seq(ds, CONCEPT_CODE_SEQUENCE, path, "Concept Code")
    if value is None:
        r.problem(path, ReadCode.VALUE_MISSING, "CODE without Concept Code Sequence")
    return _new_item(CodeContentItem, common, (value,))  # type: ignore[no-any-return]


def _num(r: ContentReader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    qualifier = None
    if NUMERIC_VALUE_QUALIFIER_CODE_SEQUENCE in _elements(ds):
        qualifier = r.code_seq(ds, NUMERIC_VALUE_QUALIFIER_CODE_SEQUENCE, path, "Qualifier")
    if MEASURED_VALUE_SEQUENCE not in _elements(ds):
        r.problem(
            path,
            ReadCode.MEASURED_VALUE_MISSING,
            "NUM without Measured Value Sequence (type 2)",
        )
        return _new_item(NumContentItem, common, (None, None, qualifier))  # type: ignore[no-any-return]
    seq = r.sequence(ds, MEASURED_VALUE_SEQUENCE, path)
    if not seq:
        if qualifier is None:
            r.problem(
                path,
                ReadCode.NUM_WITHOUT_VALUE,
                "NUM with no value and no Numeric Value Qualifier",
                Severity.WARNING,
            )
        return _new_item(NumContentItem, common, (None, None, qualifier))  # type: ignore[no-any-return]
    if len(seq) > 1:
        r.problem(
            path,
            ReadCode.MEASURED_VALUE_MULTIPLE,
            f"Measured Value Sequence has {len(seq)} items, one allowed",
        )
    mv = seq[0]
    number = r.safe_string(mv, NUMERIC_VALUE, "DS", path)
    if number is None or number == "":
        r.problem(path, ReadCode.VALUE_MISSING, "NUM without Numeric Value")
        number = None
    else:
        try:
            float(number)
        except ValueError:
            r.problem(
                path,
                ReadCode.NUMERIC_VALUE_INVALID,
                f"Numeric Value {number!r} is not a decimal string",
            )
    units = r.code_seq(mv, MEASUREMENT_UNITS_CODE_SEQUENCE, path, "Measurement Units")
    if units is None:
        r.problem(path, ReadCode.UNITS_MISSING, "NUM without Measurement Units")
    fp = r.safe_numbers(mv, FLOATING_POINT_VALUE, "FD", path)
    num = r.safe_numbers(mv, RATIONAL_NUMERATOR_VALUE, "SL", path)
    den = r.safe_numbers(mv, RATIONAL_DENOMINATOR_VALUE, "UL", path)
    rational = (int(num[0]), int(den[0])) if num and den else None
    if not _elements(mv).keys() <= MEASURED_VALUE_TAGS:
        common["extra"] = ds
    float_value = float(fp[0]) if fp else None
    return _new_item(  # type: ignore[no-any-return]
        NumContentItem, common, (number, units, qualifier, float_value, rational)
    )


COMMON_BUILDERS: dict[str, Builder] = {
    "CONTAINER": _container,
    "TEXT": _text,
    "CODE": _code,
    "NUM": _num,
    "DATETIME": _string_item(DateTimeContentItem, DATETIME, "DT", "DateTime"),
    "DATE": _string_item(DateContentItem, DATE, "DA", "Date"),
    "TIME": _string_item(TimeContentItem, TIME, "TM", "Time"),
    "UIDREF": _string_item(UidRefContentItem, UID, "UI", "UID"),
    "PNAME": _string_item(PNameContentItem, PERSON_NAME, "PN", "Person Name"),
}
BUILDERS: dict[str, Builder] = {}
"""Value Type (0040,A040) -> builder: the common ones above and
:mod:`srkit.codec.value_types`' (added by :func:`srkit.codec.content.content_reader`
before the first read); a type not here is read as unknown."""
