"""Read SR documents from files and pydicom Datasets into the model.

The reader never loops forever and never lets a pydicom exception escape: a
broken element becomes a :class:`~srkit.diagnostics.Diagnostic` (tolerant and
permissive policies) or an :class:`~srkit.errors.InvalidDocumentError` (strict).
"""

from __future__ import annotations

import os
import re
import struct
import warnings
from collections.abc import Sequence
from enum import StrEnum
from typing import IO, Any

from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from srkit.codec import tags as T
from srkit.codec.fastparse import (
    FastParseError,
    LightDataset,
    LightSequence,
    parse_file,
    parse_items,
)
from srkit.codec.fixups import trial_findings_content
from srkit.codec.header import read_header
from srkit.codec.sopclass import is_sr_sop_class
from srkit.codec.values import ValueReader, elements, python_encoding
from srkit.diagnostics import Diagnostic, Severity
from srkit.errors import (
    InvalidDocumentError,
    NonConformanceWarning,
    NotDicomError,
    NotStructuredReportError,
    SrkitError,
)
from srkit.model.code import Code, CodeValueKind
from srkit.model.document import Document
from srkit.model.items import (
    CodeContentItem,
    CompositeContentItem,
    ContainerContentItem,
    ContentItem,
    DateContentItem,
    DateTimeContentItem,
    ImageContentItem,
    NumContentItem,
    PNameContentItem,
    ReferenceContentItem,
    Scoord3DContentItem,
    ScoordContentItem,
    SopReference,
    TableContentItem,
    TcoordContentItem,
    TemplateId,
    TextContentItem,
    TimeContentItem,
    UidRefContentItem,
    UnknownContentItem,
    WaveformContentItem,
)
from srkit.model.navigation import walk

__all__ = [
    "REFERENCE_CYCLE",
    "ReadPolicy",
    "check_references",
    "damage",
    "load_dataset",
    "prune_children",
    "read",
    "read_dataset",
]

Source = str | os.PathLike[str] | IO[bytes]


class ReadPolicy(StrEnum):
    """How the reader treats content that breaks a rule."""

    STRICT = "strict"
    """Raise :class:`InvalidDocumentError` at the first error."""
    TOLERANT = "tolerant"
    """Apply named fix-ups, record every problem as a diagnostic, drop what cannot be typed."""
    PERMISSIVE = "permissive"
    """As tolerant, and keep items that cannot be typed as :class:`UnknownContentItem`."""


_NAMED_VALUE_TYPES = frozenset(
    {"TEXT", "NUM", "CODE", "DATETIME", "DATE", "TIME", "UIDREF", "PNAME", "TABLE"}
)

_RELATIONSHIPS = frozenset(
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


def _source_name(source: object) -> str:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return str(getattr(source, "name", "<stream>"))


def load_dataset(source: Source, *, stop_before_pixels: bool = False) -> Dataset:
    """Parse a DICOM file (with or without preamble), mapping failures to srkit errors.

    Little endian files are split by srkit's fast parser (:mod:`srkit.codec.fastparse`);
    anything else, and anything that parser refuses, goes through pydicom.

    Raises
    ------
    NotDicomError
        The file is not DICOM, is empty or is truncated in its top-level elements.
    """
    name = _source_name(source)
    fast = _fast_load(source, name)
    if fast is not None:
        return fast
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = dcmread(source, stop_before_pixels=stop_before_pixels)
            except InvalidDicomError:
                if not isinstance(source, str | os.PathLike):
                    source.seek(0)
                ds = dcmread(source, force=True, stop_before_pixels=stop_before_pixels)
    except FileNotFoundError:
        raise SrkitError("no such file", source=name) from None
    except IsADirectoryError:
        raise SrkitError("is a directory", source=name) from None
    except PermissionError:
        raise SrkitError("permission denied", source=name) from None
    except Exception as exc:  # pydicom raises many kinds on garbage input
        if isinstance(exc, EOFError) or "No tag to read" in str(exc):
            raise NotDicomError(
                f"truncated or corrupt DICOM file ({_short(exc)})", source=name
            ) from None
        raise NotDicomError(f"not a readable DICOM file ({_short(exc)})", source=name) from None
    keys = list(elements(ds))
    if not keys or not any(0x00080000 <= k < 0xFFFE0000 for k in keys):
        if getattr(ds, "preamble", None) is not None or ds.get("file_meta"):
            raise NotDicomError(
                "truncated DICOM file (no data elements after the header)", source=name
            )
        raise NotDicomError("not a DICOM file (no data elements found)", source=name)
    if any(k >= 0xFFFE0000 for k in keys) or (
        0x00080016 not in elements(ds)
        and 0x0040A040 not in elements(ds)
        and 0x00100010 not in elements(ds)
    ):
        raise NotDicomError(
            "not a DICOM file (no SOP Class UID, patient or content found)", source=name
        )
    return ds


def _fast_load(source: Source, name: str) -> Dataset | None:
    try:
        if isinstance(source, str | os.PathLike):
            with open(source, "rb") as fh:
                data = fh.read()
        else:
            start = source.tell()
            data = source.read()
            source.seek(start)
    except OSError:
        return None  # pydicom's path reports it
    try:
        ds, parsed = parse_file(data, name)
    except (FastParseError, struct.error, ValueError, IndexError):
        return None
    if not _looks_like_dicom(ds):
        return None
    ds._srkit_parsed = parsed
    return ds


DAMAGE_PREFIXES = ("file is truncated", "root content item could not be read")


def damage(doc: Document) -> Diagnostic | None:
    """The diagnostic saying the file itself is damaged (truncated, no readable root),
    if any: the document holds only part of what the file should have held."""
    for diag in doc.diagnostics:
        if diag.severity is Severity.ERROR and diag.message.startswith(DAMAGE_PREFIXES):
            return diag
    return None


def prune_children(ds: Dataset, concepts: frozenset[tuple[str, str]]) -> int:
    """Drop the subtrees of the root's children whose concept name is in ``concepts``
    ((value, scheme) pairs) before reading, for callers that never use them (the image
    library of a measurement report is most of its items). Returns how many were cut."""
    parsed = getattr(ds, "_srkit_parsed", None)
    items: Any = parsed.get(T.CONTENT_SEQUENCE) if parsed else None
    if items is None:
        try:
            items = ds[T.CONTENT_SEQUENCE].value if T.CONTENT_SEQUENCE in elements(ds) else ()
        except Exception:
            return 0
    cut = 0
    reader = ValueReader("latin_1")
    for item in items:
        names = elements(item).get(T.CONCEPT_NAME_CODE_SEQUENCE)
        try:
            codes = names.value if names is not None else None
            if not codes:
                continue
            value = reader.string(codes[0], T.CODE_VALUE, "SH")
            scheme = reader.string(codes[0], T.CODING_SCHEME_DESIGNATOR, "SH")
        except Exception:
            continue
        if (value, scheme) in concepts and T.CONTENT_SEQUENCE in elements(item):
            del elements(item)[T.CONTENT_SEQUENCE]
            cut += 1
    return cut


def _looks_like_dicom(ds: Dataset) -> bool:
    keys = list(elements(ds))
    return bool(keys) and any(
        k in elements(ds) for k in (0x00080016, 0x0040A040, 0x00100010, T.FINDINGS_SEQUENCE_TRIAL)
    )


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:160]


def read(source: Source | Dataset, *, policy: ReadPolicy | str = ReadPolicy.TOLERANT) -> Document:
    """Read an SR document.

    Parameters
    ----------
    source : path, binary file or pydicom.Dataset
        The SR to read. Any SR storage SOP class is accepted, retired ones included.
    policy : ReadPolicy or str
        ``"strict"``, ``"tolerant"`` (default) or ``"permissive"``.

    Returns
    -------
    Document
        With ``diagnostics`` listing every problem found. A tolerant read that found
        errors emits one :class:`~srkit.errors.NonConformanceWarning`.

    Raises
    ------
    NotDicomError, NotStructuredReportError, InvalidDocumentError
    """
    if isinstance(source, Dataset):
        return read_dataset(source, policy=policy)
    ds = load_dataset(source)
    return read_dataset(ds, policy=policy, source_name=_source_name(source))


def read_dataset(
    ds: Dataset,
    *,
    policy: ReadPolicy | str = ReadPolicy.TOLERANT,
    source_name: str | None = None,
) -> Document:
    """Read an SR document from a parsed dataset; see :func:`read`."""
    reader = _Reader(ReadPolicy(policy), ds, source_name)
    try:
        doc = reader.document()
    except SrkitError as exc:
        if exc.source is None:
            exc.source = source_name
        raise
    except RecursionError:
        raise InvalidDocumentError("content tree too deep", source=source_name) from None
    errors = [d for d in doc.diagnostics if d.severity is Severity.ERROR]
    if errors:
        where = f"{source_name}: " if source_name else ""
        warnings.warn(
            f"{where}{len(errors)} error(s) in the SR content, first: {errors[0]}",
            NonConformanceWarning,
            stacklevel=2,
        )
    return doc


class _Reader:
    __slots__ = (
        "charset",
        "depth_limit",
        "diagnostics",
        "ds",
        "parsed",
        "policy",
        "source",
        "truncated",
        "values",
    )

    def __init__(self, policy: ReadPolicy, ds: Dataset, source: str | None) -> None:
        self.policy = policy
        self.ds = ds
        self.source = source
        self.diagnostics: list[Diagnostic] = []
        charset = elements(ds).get(T.SPECIFIC_CHARACTER_SET)
        cs_value: Any = None
        if charset is not None:
            try:
                cs_value = ds[T.SPECIFIC_CHARACTER_SET].value
            except Exception:
                cs_value = None
        self.values = ValueReader(python_encoding(cs_value or None), declared=bool(cs_value))
        self.charset = cs_value or None
        self.parsed: dict[int, list[LightDataset]] = getattr(ds, "_srkit_parsed", None) or {}
        self.depth_limit = 200
        self.truncated = False

    # -- problems ---------------------------------------------------------------
    def problem(
        self, path: str, message: str, severity: Severity = Severity.ERROR, fixup: str | None = None
    ) -> None:
        if self.policy is ReadPolicy.STRICT and severity is Severity.ERROR and fixup is None:
            raise InvalidDocumentError(f"item {path or 'header'}: {message}", source=self.source)
        self.diagnostics.append(
            Diagnostic(path=path, severity=severity, message=message, fixup=fixup)
        )

    def check_truncated(self, ds: Dataset, path: str) -> None:
        """A defined-length element whose bytes stop short means the file was cut."""
        if self.truncated or not elements(ds):
            return
        last = elements(ds)[next(reversed(elements(ds)))]
        if (
            type(last) is RawDataElement
            and last.value is not None
            and last.length != 0xFFFFFFFF
            and len(last.value) < last.length
        ):
            self.truncated = True
            tag = int(last.tag)
            self.problem(
                path,
                f"file is truncated: element ({tag >> 16:04X},{tag & 0xFFFF:04X}) has "
                f"{len(last.value)} of its {last.length} bytes; content after it is lost",
            )

    # -- document ---------------------------------------------------------------
    def document(self) -> Document:
        ds = self.ds
        self.check_truncated(ds, "")
        sop_class = self.safe_string(ds, T.SOP_CLASS_UID, "UI", "") or ""
        value_type = self.safe_string(ds, T.VALUE_TYPE, "CS", "")
        has_trial = T.FINDINGS_SEQUENCE_TRIAL in elements(ds)
        if not is_sr_sop_class(sop_class) and value_type is None and not has_trial:
            what = f"SOP class {sop_class}" if sop_class else "no SOP Class UID"
            raise NotStructuredReportError(f"not an SR document ({what})", source=self.source)
        if sop_class and not is_sr_sop_class(sop_class):
            self.problem("", f"SOP class {sop_class} is not an SR storage class")
        header = read_header(ds, self)
        root = self.root_item()
        self.check_root(root)
        for where, message in check_references(root):
            # a loop through several references breaks no rule (PS3.3 C.17.3.1 leaves
            # references to ancestors to the IOD; see check_references): worth knowing only
            cycle = message == REFERENCE_CYCLE
            self.problem(where, message, Severity.INFO if cycle else Severity.ERROR)
        if self.values.undeclared_8bit:
            self.problem(
                "",
                "8-bit characters used but no Specific Character Set declared; read as ISO_IR 100",
                Severity.WARNING,
                fixup="assume_latin1_charset",
            )
        for tag, expected, found in self.values.wrong_vr:
            self.problem(
                "",
                f"element ({tag >> 16:04X},{tag & 0xFFFF:04X}) has VR {found}, should be {expected}",
            )
        return Document(
            sop_class_uid=sop_class,
            root=root,
            diagnostics=tuple(self.diagnostics),
            header=ds,
            **header,
        )

    def root_item(self) -> ContainerContentItem:
        ds = self.ds
        value_type = self.safe_string(ds, T.VALUE_TYPE, "CS", "")
        if value_type is None and T.FINDINGS_SEQUENCE_TRIAL in elements(ds):
            self.problem(
                "1",
                "no root content item: content is in the retired Findings Sequence (Trial)",
                Severity.WARNING,
                fixup="trial_findings_sequence",
            )
            children = trial_findings_content(ds, self)
            return ContainerContentItem(concept=None, children=children)
        item = self.item(ds, "1", root=True)
        if isinstance(item, ContainerContentItem):
            return item
        if item is None:
            self.problem("1", "root content item could not be read")
            return ContainerContentItem()
        self.problem("1", f"root content item is {item.value_type}, must be CONTAINER")
        return ContainerContentItem(
            concept=item.concept, children=(item,), observation_datetime=item.observation_datetime
        )

    def check_root(self, root: ContainerContentItem) -> None:
        if root.concept is None and T.FINDINGS_SEQUENCE_TRIAL not in elements(self.ds):
            self.problem("1", "root CONTAINER has no Concept Name (document title)")

    # -- helpers ----------------------------------------------------------------
    def safe_string(self, ds: Dataset, tag: int, vr: str, path: str) -> str | None:
        try:
            return self.values.string(ds, tag, vr)
        except Exception as exc:
            self.problem(path, f"unreadable ({tag >> 16:04X},{tag & 0xFFFF:04X}): {_short(exc)}")
            return None

    def safe_numbers(self, ds: Dataset, tag: int, vr: str, path: str) -> tuple[Any, ...] | None:
        try:
            return self.values.numbers(ds, tag, vr)
        except Exception as exc:
            self.problem(path, f"unreadable ({tag >> 16:04X},{tag & 0xFFFF:04X}): {_short(exc)}")
            return None

    def sequence(self, ds: Dataset, tag: int, path: str) -> Sequence[Dataset]:
        elem = elements(ds).get(tag)
        if elem is None:
            return ()
        if type(elem) is LightSequence:
            return elem.items  # type: ignore[return-value]
        if ds is self.ds and tag in self.parsed:
            return self.parsed[tag]  # type: ignore[return-value]
        if type(elem) is RawDataElement and elem.is_little_endian and elem.VR in ("SQ", None):
            try:
                return parse_items(elem, self.charset)  # type: ignore[return-value]
            except (FastParseError, struct.error, ValueError, IndexError):
                pass  # pydicom reports what is wrong
        try:
            value = ds[tag].value
        except Exception as exc:
            self.problem(
                path, f"broken sequence ({tag >> 16:04X},{tag & 0xFFFF:04X}): {_short(exc)}"
            )
            return ()
        if value is None or isinstance(value, bytes | str):
            if value:
                self.problem(path, f"({tag >> 16:04X},{tag & 0xFFFF:04X}) should be a sequence")
            return ()
        return value  # type: ignore[no-any-return]

    def code(self, item: Dataset, path: str, what: str) -> Code | None:
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
            self.problem(path, f"{what}: unreadable code ({_short(exc)})")
            return None
        if not value or not scheme:
            self.problem(path, f"{what}: code without value or coding scheme designator")
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
        seq = self.sequence(ds, tag, path)
        if not seq:
            return None
        if len(seq) > 1:
            self.problem(path, f"{what} has {len(seq)} items, only one is allowed")
        return self.code(seq[0], path, what)

    # -- items ------------------------------------------------------------------
    def children(self, ds: Dataset, path: str) -> tuple[ContentItem, ...]:
        if path.count(".") >= self.depth_limit:
            self.problem(path, f"content tree deeper than {self.depth_limit} levels, cut here")
            return ()
        out: list[ContentItem] = []
        for n, child in enumerate(self.sequence(ds, T.CONTENT_SEQUENCE, path), 1):
            item = self.item(child, f"{path}.{n}", root=False)
            if item is not None:
                out.append(item)
        return tuple(out)

    def item(self, ds: Dataset, path: str, *, root: bool) -> ContentItem | None:
        try:
            return self._item(ds, path, root)
        except InvalidDocumentError:
            raise
        except Exception as exc:  # a broken element we did not foresee
            self.problem(path, f"unreadable content item ({_short(exc)})")
            return None

    def _item(self, ds: Dataset, path: str, root: bool) -> ContentItem | None:
        v = self.values
        self.check_truncated(ds, path)
        keys = elements(ds).keys()
        relationship: str | None = None
        if not root:
            relationship = self.safe_string(ds, T.RELATIONSHIP_TYPE, "CS", path)
            if not relationship:
                self.problem(path, "missing Relationship Type")
                relationship = None
            elif relationship not in _RELATIONSHIPS:
                self.problem(path, f"unknown Relationship Type {relationship!r}")
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
        if concept is None and value_type in _NAMED_VALUE_TYPES:
            # Concept Name is required for these value types (PS3.3 C.17.3.2.1)
            self.problem(path, f"{value_type} item has no Concept Name")
        builder = _BUILDERS.get(value_type or "")
        if builder is None:
            return self.unknown(ds, path, value_type, common)
        built: ContentItem = builder(self, ds, path, common)
        return built

    def unknown(
        self, ds: Dataset, path: str, value_type: str | None, common: dict[str, Any]
    ) -> ContentItem | None:
        if not value_type:
            self.problem(path, "content item without Value Type")
        else:
            self.problem(path, f"unknown Value Type {value_type!r}")
        if self.policy is ReadPolicy.PERMISSIVE:
            common["extra"] = ds
            return UnknownContentItem(declared_value_type=value_type or "", **common)
        return None

    def extra(self, ds: Dataset) -> Dataset | None:
        if elements(ds).keys() <= T.ITEM_TAGS:
            return None
        return ds

    def sop_ref(
        self, ds: Dataset, path: str, what: str
    ) -> tuple[SopReference | None, Dataset | None]:
        seq = self.sequence(ds, T.REFERENCED_SOP_SEQUENCE, path)
        if not seq:
            self.problem(path, f"{what} item without Referenced SOP Sequence")
            return None, None
        if len(seq) > 1:
            self.problem(
                path, f"Referenced SOP Sequence of {what} has {len(seq)} items, one allowed"
            )
        ref_item = seq[0]
        cls = self.safe_string(ref_item, T.REFERENCED_SOP_CLASS_UID, "UI", path) or ""
        inst = self.safe_string(ref_item, T.REFERENCED_SOP_INSTANCE_UID, "UI", path) or ""
        if not cls or not inst:
            self.problem(path, f"{what} reference without SOP Class or Instance UID")
        elif not _is_uid(cls) or not _is_uid(inst):
            self.problem(path, f"{what} reference has an invalid UID ({cls}, {inst})")
        return SopReference(sop_class_uid=cls, sop_instance_uid=inst), ref_item


_UID = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+")


def _is_uid(uid: str) -> bool:
    return len(uid) <= 64 and _UID.fullmatch(uid) is not None


# -- value-type builders ---------------------------------------------------------

Builder = Any


def _container(r: _Reader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    continuity = r.safe_string(ds, T.CONTINUITY_OF_CONTENT, "CS", path)
    if not continuity:
        r.problem(path, "CONTAINER without Continuity of Content")
        continuity = "SEPARATE"
    elif continuity not in ("SEPARATE", "CONTINUOUS"):
        r.problem(path, f"invalid Continuity of Content {continuity!r}")
    template = None
    for tmpl in r.sequence(ds, T.CONTENT_TEMPLATE_SEQUENCE, path)[:1]:
        ident = r.safe_string(tmpl, T.TEMPLATE_IDENTIFIER, "CS", path)
        resource = r.safe_string(tmpl, T.MAPPING_RESOURCE, "CS", path)
        if ident:
            template = TemplateId(
                identifier=ident,
                mapping_resource=resource or "DCMR",
                mapping_resource_uid=r.safe_string(tmpl, T.MAPPING_RESOURCE_UID, "UI", path),
                version=r.safe_string(tmpl, T.TEMPLATE_VERSION, "DT", path),
            )
    return ContainerContentItem(continuity=continuity, template=template, **common)


def _text(r: _Reader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    value = r.safe_string(ds, T.TEXT_VALUE, "UT", path)
    if value is None:
        r.problem(path, "TEXT without Text Value")
    elif value == "":
        r.problem(path, "TEXT with an empty Text Value (type 1)")
    return TextContentItem(value=value or "", **common)


def _string_item(cls: type[ContentItem], tag: int, vr: str, label: str) -> Builder:
    def build(r: _Reader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
        value = r.safe_string(ds, tag, vr, path)
        if not value:
            r.problem(path, f"{cls.value_type} without {label}")
        return cls(value=value or "", **common)  # type: ignore[call-arg]

    return build


def _code(r: _Reader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    value = r.code_seq(ds, T.CONCEPT_CODE_SEQUENCE, path, "Concept Code")
    if value is None:
        r.problem(path, "CODE without Concept Code Sequence")
    return CodeContentItem(value=value, **common)


def _num(r: _Reader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    qualifier = None
    if T.NUMERIC_VALUE_QUALIFIER_CODE_SEQUENCE in elements(ds):
        qualifier = r.code_seq(ds, T.NUMERIC_VALUE_QUALIFIER_CODE_SEQUENCE, path, "Qualifier")
    if T.MEASURED_VALUE_SEQUENCE not in elements(ds):
        r.problem(path, "NUM without Measured Value Sequence (type 2)")
        return NumContentItem(qualifier=qualifier, **common)
    seq = r.sequence(ds, T.MEASURED_VALUE_SEQUENCE, path)
    if not seq:
        if qualifier is None:
            r.problem(path, "NUM with no value and no Numeric Value Qualifier", Severity.WARNING)
        return NumContentItem(qualifier=qualifier, **common)
    if len(seq) > 1:
        r.problem(path, f"Measured Value Sequence has {len(seq)} items, one allowed")
    mv = seq[0]
    number = r.safe_string(mv, T.NUMERIC_VALUE, "DS", path)
    if number is None or number == "":
        r.problem(path, "NUM without Numeric Value")
        number = None
    else:
        try:
            float(number)
        except ValueError:
            r.problem(path, f"Numeric Value {number!r} is not a decimal string")
    units = r.code_seq(mv, T.MEASUREMENT_UNITS_CODE_SEQUENCE, path, "Measurement Units")
    if units is None:
        r.problem(path, "NUM without Measurement Units")
    fp = r.safe_numbers(mv, T.FLOATING_POINT_VALUE, "FD", path)
    num = r.safe_numbers(mv, T.RATIONAL_NUMERATOR_VALUE, "SL", path)
    den = r.safe_numbers(mv, T.RATIONAL_DENOMINATOR_VALUE, "UL", path)
    rational = (int(num[0]), int(den[0])) if num and den else None
    if not elements(mv).keys() <= T.MEASURED_VALUE_TAGS:
        common["extra"] = ds
    return NumContentItem(
        number=number,
        units=units,
        qualifier=qualifier,
        float_value=float(fp[0]) if fp else None,
        rational=rational,
        **common,
    )


def _ints(values: tuple[Any, ...] | None) -> tuple[int, ...] | None:
    return None if values is None else tuple(int(x) for x in values)


def _composite(r: _Reader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    ref, ref_item = r.sop_ref(ds, path, "COMPOSITE")
    _mark_ref_extra(ref_item, ds, common)
    return CompositeContentItem(referenced=ref, **common)


def _mark_ref_extra(ref_item: Dataset | None, ds: Dataset, common: dict[str, Any]) -> None:
    if ref_item is not None and not elements(ref_item).keys() <= T.REF_SOP_TAGS:
        common["extra"] = ds


def _image(r: _Reader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    ref, ref_item = r.sop_ref(ds, path, "IMAGE")
    frames = segments = None
    pstate = None
    if ref_item is not None:
        frames = _ints(_int_strings(r, ref_item, T.REFERENCED_FRAME_NUMBER, path))
        segments = _ints(r.safe_numbers(ref_item, T.REFERENCED_SEGMENT_NUMBER, "US", path))
        for ps in r.sequence(ref_item, T.REFERENCED_SOP_SEQUENCE, path)[:1]:
            pstate = SopReference(
                sop_class_uid=r.safe_string(ps, T.REFERENCED_SOP_CLASS_UID, "UI", path) or "",
                sop_instance_uid=r.safe_string(ps, T.REFERENCED_SOP_INSTANCE_UID, "UI", path) or "",
            )
    _mark_ref_extra(ref_item, ds, common)
    return ImageContentItem(
        referenced=ref, frames=frames, segments=segments, presentation_state=pstate, **common
    )


def _int_strings(r: _Reader, ds: Dataset, tag: int, path: str) -> tuple[Any, ...] | None:
    try:
        values = r.values.strings(ds, tag, "IS")
    except Exception as exc:
        r.problem(path, f"unreadable Referenced Frame Number: {_short(exc)}")
        return None
    if values is None:
        return None
    out = []
    for value in values:
        try:
            out.append(int(float(value)))
        except ValueError:
            r.problem(path, f"frame number {value!r} is not an integer")
    return tuple(out)


def _waveform(r: _Reader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    ref, ref_item = r.sop_ref(ds, path, "WAVEFORM")
    channels = None
    if ref_item is not None:
        channels = _ints(r.safe_numbers(ref_item, T.REFERENCED_WAVEFORM_CHANNELS, "US", path))
    _mark_ref_extra(ref_item, ds, common)
    return WaveformContentItem(referenced=ref, channels=channels, **common)


def _graphic(r: _Reader, ds: Dataset, path: str) -> tuple[str, tuple[float, ...]]:
    graphic_type = r.safe_string(ds, T.GRAPHIC_TYPE, "CS", path) or ""
    if not graphic_type:
        r.problem(path, "spatial coordinates without Graphic Type")
    data = r.safe_numbers(ds, T.GRAPHIC_DATA, "FL", path)
    if not data:
        r.problem(path, "spatial coordinates without Graphic Data")
    return graphic_type, tuple(float(x) for x in (data or ()))


def _scoord(r: _Reader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    graphic_type, data = _graphic(r, ds, path)
    if data and len(data) % 2:
        r.problem(path, f"SCOORD Graphic Data has {len(data)} values, not (x, y) pairs")
    return ScoordContentItem(
        graphic_type=graphic_type,
        data=data,
        pixel_origin_interpretation=r.safe_string(ds, T.PIXEL_ORIGIN_INTERPRETATION, "CS", path),
        fiducial_uid=r.safe_string(ds, T.FIDUCIAL_UID, "UI", path),
        **common,
    )


def _scoord3d(r: _Reader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    graphic_type, data = _graphic(r, ds, path)
    if data and len(data) % 3:
        r.problem(path, f"SCOORD3D Graphic Data has {len(data)} values, not (x, y, z) triplets")
    frame = r.safe_string(ds, T.REFERENCED_FRAME_OF_REFERENCE_UID, "UI", path)
    if not frame:
        r.problem(path, "SCOORD3D without Referenced Frame of Reference UID")
    return Scoord3DContentItem(
        graphic_type=graphic_type,
        data=data,
        frame_of_reference_uid=frame or "",
        fiducial_uid=r.safe_string(ds, T.FIDUCIAL_UID, "UI", path),
        **common,
    )


def _tcoord(r: _Reader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    range_type = r.safe_string(ds, T.TEMPORAL_RANGE_TYPE, "CS", path) or ""
    if not range_type:
        r.problem(path, "TCOORD without Temporal Range Type")
    samples = r.safe_numbers(ds, T.REFERENCED_SAMPLE_POSITIONS, "UL", path)
    try:
        offsets = r.values.strings(ds, T.REFERENCED_TIME_OFFSETS, "DS")
        datetimes = r.values.strings(ds, T.REFERENCED_DATETIME, "DT")
    except Exception as exc:
        r.problem(path, f"unreadable temporal coordinates: {_short(exc)}")
        offsets = datetimes = None
    present = [x for x in (samples, offsets, datetimes) if x is not None]
    if len(present) != 1:
        r.problem(path, "TCOORD needs exactly one of sample positions, time offsets, datetimes")
    time_offsets = None
    if offsets is not None:
        try:
            time_offsets = tuple(float(x) for x in offsets)
        except ValueError:
            r.problem(path, "TCOORD time offsets are not decimal strings")
    return TcoordContentItem(
        range_type=range_type,
        sample_positions=_ints(samples),
        time_offsets=time_offsets,
        datetimes=datetimes,
        **common,
    )


def _table(r: _Reader, ds: Dataset, path: str, common: dict[str, Any]) -> ContentItem:
    common["extra"] = ds
    return TableContentItem(**common)


_BUILDERS: dict[str, Builder] = {
    "CONTAINER": _container,
    "TEXT": _text,
    "CODE": _code,
    "NUM": _num,
    "DATETIME": _string_item(DateTimeContentItem, T.DATETIME, "DT", "DateTime"),
    "DATE": _string_item(DateContentItem, T.DATE, "DA", "Date"),
    "TIME": _string_item(TimeContentItem, T.TIME, "TM", "Time"),
    "UIDREF": _string_item(UidRefContentItem, T.UID, "UI", "UID"),
    "PNAME": _string_item(PNameContentItem, T.PERSON_NAME, "PN", "Person Name"),
    "COMPOSITE": _composite,
    "IMAGE": _image,
    "WAVEFORM": _waveform,
    "SCOORD": _scoord,
    "SCOORD3D": _scoord3d,
    "TCOORD": _tcoord,
    "TABLE": _table,
}


REFERENCE_CYCLE = "by-reference relationships form a cycle"
"""Message of a loop through several by-reference relationships, none of which
targets an ancestor of its source (DCMTK's ``mkreport lp`` report): allowed by
PS3.3, so the reader records it with severity INFO."""


def check_references(root: ContentItem) -> list[tuple[str, str]]:
    """Dangling targets and cycles of by-reference relationships, as (id, message).

    A reference to the item itself or to one of its ancestors is an error (PS3.3
    C.17.3.1 leaves it to the IOD; the Extensible SR IOD forbids it "to prevent
    loops", DCMTK warns about it in every IOD). A longer cycle, a path that following
    children and references comes back to an item already on it, is reported once
    as :data:`REFERENCE_CYCLE`: no rule forbids it, but following references
    naively would never end.
    """
    ids: dict[str, ContentItem] = {}
    refs: dict[str, str] = {}
    for pos in walk(root):
        ids[pos.id] = pos.item
        if isinstance(pos.item, ReferenceContentItem):
            refs[pos.id] = pos.item.ref_id
    problems: list[tuple[str, str]] = []
    if not refs:
        return problems
    for src, target in refs.items():
        if target not in ids:
            problems.append((src, f"by-reference target {target} does not exist"))
        elif target == src or src.startswith(target + "."):
            problems.append((src, f"by-reference relationship to {target} forms a cycle"))
    # Longer cycles through several references: from a reference, the path goes on
    # through every reference inside the target's subtree.
    reported = {p[0] for p in problems}
    live = {src: t for src, t in refs.items() if src not in reported and t in ids}
    edges = {
        src: [other for other in live if other == t or other.startswith(t + ".")]
        for src, t in live.items()
    }
    state: dict[str, int] = {}  # 1 on the path, 2 done
    for start in edges:
        if state.get(start):
            continue
        stack = [(start, iter(edges[start]))]
        state[start] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                problems.append((nxt, REFERENCE_CYCLE))
                state[nxt] = 2
            elif not state.get(nxt):
                state[nxt] = 1
                stack.append((nxt, iter(edges[nxt])))
    return problems
