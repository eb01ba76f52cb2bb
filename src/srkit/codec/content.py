"""Walk the content tree of an SR document: items, sequences and codes (PS3.3 C.17.3).

:class:`ContentReader` holds the state of one read (policy, character set, the fast
parser's top-level sequences, the problems found) and turns each content item
(Table C.17-6 Document Content Macro, C.17.3.2 Relationship and Value Types) into
a model item, calling the builder of its value type (:mod:`srkit.codec.value_types`).
Codes follow the Code Sequence Macro (PS3.3 Section 8.8). Every element is read
through guarded helpers: a broken one becomes a diagnostic, never an exception.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from srkit.codec import fastparse
from srkit.codec import tags as T
from srkit.codec.diagnostic_codes import ReadCode
from srkit.codec.light import FastParseError, LightDataset, LightSequence, is_raw
from srkit.codec.loader import short_error
from srkit.codec.policy import ReadPolicy, Recorder
from srkit.codec.value_types import BUILDERS
from srkit.codec.values import ValueReader, charset_value, elements, python_encoding
from srkit.errors import InvalidDocumentError
from srkit.model.code import Code, CodeValueKind
from srkit.model.items import ContentItem, ReferenceContentItem, UnknownContentItem

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["DEPTH_LIMIT", "NAMED_VALUE_TYPES", "RELATIONSHIPS", "ContentReader"]

DEPTH_LIMIT = 200
"""Deepest content tree the reader follows; deeper subtrees are cut with a diagnostic."""

NAMED_VALUE_TYPES = frozenset(
    {"TEXT", "NUM", "CODE", "DATETIME", "DATE", "TIME", "UIDREF", "PNAME", "TABLE"}
)
"""Value types whose items need a Concept Name (PS3.3 C.17.3.2.1)."""

RELATIONSHIPS = frozenset(
    {
        "CONTAINS",
        "HAS PROPERTIES",
        "HAS OBS CONTEXT",
        "HAS ACQ CONTEXT",
        "INFERRED FROM",
        "SELECTED FROM",
        "HAS CONCEPT MOD",
    }
)
"""The Relationship Types of PS3.3 C.17.3.2.4."""


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

    __slots__ = ("charset", "depth_limit", "ds", "parsed", "truncated", "values")

    def __init__(
        self,
        policy: ReadPolicy,
        ds: Any,
        sequences: Mapping[int, Sequence[LightDataset]],
        source: str | None,
    ) -> None:
        super().__init__(policy, source)
        self.ds = ds
        charset = elements(ds).get(T.SPECIFIC_CHARACTER_SET)
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

    def check_truncated(self, ds: Dataset, path: str) -> None:
        """A defined-length element whose bytes stop short means the file was cut.

        The fast parser's items never are (it refuses a cut file, which pydicom then
        parses): only pydicom's datasets are looked at.
        """
        if self.truncated or isinstance(ds, LightDataset) or not elements(ds):
            return
        last = elements(ds)[next(reversed(elements(ds)))]
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
            return self.values.string(ds, tag, vr)
        except Exception as exc:
            self.problem(
                path,
                ReadCode.VALUE_UNREADABLE,
                f"unreadable ({tag >> 16:04X},{tag & 0xFFFF:04X}): {short_error(exc)}",
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
                f"unreadable ({tag >> 16:04X},{tag & 0xFFFF:04X}): {short_error(exc)}",
            )
            return None

    def sequence(self, ds: Dataset, tag: int, path: str) -> Sequence[Dataset]:
        """The items of sequence ``tag`` (light items where the fast parser made them)."""
        elem = elements(ds).get(tag)
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
                f"broken sequence ({tag >> 16:04X},{tag & 0xFFFF:04X}): {short_error(exc)}",
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
        """A Code Sequence Macro item (PS3.3 Table 8.8-1) as a :class:`Code`."""
        v = self.values
        try:
            value = v.string(item, T.CODE_VALUE, "SH")
            kind = CodeValueKind.SHORT
            if not value:
                long_value = v.string(item, T.LONG_CODE_VALUE, "UC")
                if long_value:
                    value, kind = long_value, CodeValueKind.LONG
                else:
                    urn = v.string(item, T.URN_CODE_VALUE, "UR")
                    if urn:
                        value, kind = urn, CodeValueKind.URN
            scheme = v.string(item, T.CODING_SCHEME_DESIGNATOR, "SH")
            meaning = v.string(item, T.CODE_MEANING, "LO")
            version = v.string(item, T.CODING_SCHEME_VERSION, "SH")
        except Exception as exc:
            self.problem(
                path, ReadCode.CODE_UNREADABLE, f"{what}: unreadable code ({short_error(exc)})"
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
        extra = None
        if not elements(item).keys() <= T.CODE_TAGS:
            extra = item
        return Code(
            value=value or "",
            scheme=scheme or "",
            meaning=meaning or "",
            scheme_version=version or None,
            kind=kind,
            extra=extra,
        )

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
        for n, child in enumerate(self.sequence(ds, T.CONTENT_SEQUENCE, path), 1):
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
                path, ReadCode.ITEM_UNREADABLE, f"unreadable content item ({short_error(exc)})"
            )
            return None

    def _item(self, ds: Dataset, path: str, root: bool) -> ContentItem | None:
        v = self.values
        self.check_truncated(ds, path)
        keys = elements(ds).keys()
        relationship: str | None = None
        if not root:
            relationship = self.safe_string(ds, T.RELATIONSHIP_TYPE, "CS", path)
            if not relationship:
                self.problem(path, ReadCode.RELATIONSHIP_MISSING, "missing Relationship Type")
                relationship = None
            elif relationship not in RELATIONSHIPS:
                self.problem(
                    path,
                    ReadCode.RELATIONSHIP_UNKNOWN,
                    f"unknown Relationship Type {relationship!r}",
                )
        if T.REFERENCED_CONTENT_ITEM_IDENTIFIER in keys and T.VALUE_TYPE not in keys:
            ref = self.safe_numbers(ds, T.REFERENCED_CONTENT_ITEM_IDENTIFIER, "UL", path) or ()
            return ReferenceContentItem(
                relationship=relationship, ref=tuple(int(x) for x in ref), extra=self.extra(ds)
            )
        value_type = self.safe_string(ds, T.VALUE_TYPE, "CS", path)
        concept = self.code_seq(ds, T.CONCEPT_NAME_CODE_SEQUENCE, path, "Concept Name")
        common: dict[str, Any] = {
            "relationship": relationship,
            "concept": concept,
            "observation_datetime": v.string(ds, T.OBSERVATION_DATETIME, "DT")
            if T.OBSERVATION_DATETIME in keys
            else None,
            "observation_uid": v.string(ds, T.OBSERVATION_UID, "UI")
            if T.OBSERVATION_UID in keys
            else None,
            "children": self.children(ds, path) if T.CONTENT_SEQUENCE in keys else (),
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
        if elements(ds).keys() <= T.ITEM_TAGS:
            return None
        return ds
