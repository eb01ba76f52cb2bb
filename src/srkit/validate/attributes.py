"""Rules on every data element of a file, wherever it is: UID values (PS3.5 9.1),
retired attributes (PS3.6 Section 6, attributes marked RET) and deprecated coding
schemes (PS3.16 Table 8-1).

``dciodvfy`` applies these rules to each element of the File Meta Information, the
header and every sequence item; so does this module, walking the dataset the reader
kept in ``Document.header`` without decoding the elements it does not judge.
A finding inside the content tree carries the content item's id as DCMTK numbers it
(``"1.4"``); attributes of the root item's Document Content Macro (its concept name,
template) carry ``"1"``; the rest of the header ``""``.

Private data elements are not judged: their content is defined by their creator
(PS3.5 7.8), and srkit has no private dictionary to know their VR.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from functools import cache
from typing import Any

from pydicom.datadict import dictionary_is_retired, dictionary_VR, keyword_for_tag
from pydicom.dataelem import RawDataElement

from srkit.codec.diagnostic_codes import ReadCode
from srkit.codec.fastparse import FastParseError, LightSequence, parse_items
from srkit.codec.values import elements
from srkit.diagnostics import Diagnostic, Severity
from srkit.model.document import Document
from srkit.validate.uids import uid_problem

__all__ = ["DEPRECATED_SCHEMES", "check_attributes"]

DEPRECATED_SCHEMES: dict[str, str] = {
    "SRT": "SNOMED-RT style Code Values, deprecated",
    "SNM3": "SNOMED Version 3, retired",
    "99SDM": "SNOMED DICOM Microglossary, retired",
}
"""Coding Scheme Designators PS3.16 Table 8-1 marks deprecated or retired (SNOMED CT,
``SCT``, replaces all three), the ones ``dciodvfy`` flags."""

_CONTENT_SEQUENCE = 0x0040A730
_CODING_SCHEME_DESIGNATOR = 0x00080102
_REFERENCE_UIDS = frozenset({0x00081150, 0x00081155})
_ROOT_ITEM_TAGS = frozenset({0x0040A043, 0x0040A504})  # concept name, template
_ISSUE = Iterator[tuple[str, int, Severity, str, str]]


def _tag(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


@cache
def _vr(tag: int) -> str | None:
    try:
        return str(dictionary_VR(tag))
    except KeyError:
        return None


@cache
def _retired(tag: int) -> bool:
    # Group Length (gggg,0000) is retired outside the File Meta Information (PS3.5 7.2)
    if tag & 0xFFFF == 0:
        return tag >> 16 != 0x0002
    try:
        return bool(dictionary_is_retired(tag))
    except KeyError:
        return False


def _name(tag: int) -> str:
    keyword = keyword_for_tag(tag) if tag & 0xFFFF else ""
    return f"{keyword or 'Group Length'} {_tag(tag)}"


def _strings(elem: Any, encoding: str) -> list[str]:
    """The values of a string element, decoded only as far as the rules need."""
    value = elem.value
    if value is None:
        return []
    if isinstance(value, bytes):
        value = value.decode(encoding, "replace")
    texts = value.split("\\") if isinstance(value, str) else [str(v) for v in value]
    return [t.strip("\0 ") for t in texts]


def _items(ds: Any, tag: int, elem: Any, parsed: dict[int, Any], charset: Any) -> list[Any]:
    if type(elem) is LightSequence:
        return elem.items
    if tag in parsed:
        return list(parsed[tag])
    if type(elem) is RawDataElement and elem.is_little_endian:
        try:
            return list(parse_items(elem, charset))
        except (FastParseError, struct.error, ValueError, IndexError):
            pass  # pydicom's parser says what is wrong; the reader reported it
    try:
        value = ds[tag].value
    except Exception:
        return []
    return list(value) if value and not isinstance(value, bytes | str) else []


def _walk(ds: Any, path: str, parsed: dict[int, Any], charset: Any, top: bool) -> _ISSUE:
    """(path, tag, severity, code, message) of every element ``ds`` holds."""
    for tag, elem in list(elements(ds).items()):
        tag = int(tag)
        if tag >> 16 & 1:
            continue  # private
        vr = elem.VR or _vr(tag)
        where = "1" if top and tag in _ROOT_ITEM_TAGS else path
        if _retired(tag):
            yield (where, tag, Severity.WARNING, "retired-attribute", "is retired (PS3.6)")
        if vr == "SQ":
            items = _items(ds, tag, elem, parsed if top else {}, charset)
            for n, item in enumerate(items, 1):
                inner = f"{path or '1'}.{n}" if tag == _CONTENT_SEQUENCE else where
                yield from _walk(item, inner, {}, charset, False)
        elif vr == "UI":
            for uid in _strings(elem, "ascii"):
                problem = uid_problem(uid) if uid else None
                if problem is not None:
                    code, reason = problem
                    yield (
                        where,
                        tag,
                        Severity.ERROR,
                        code,
                        f"{uid!r} is not a valid UID: {reason}",
                    )
        elif tag == _CODING_SCHEME_DESIGNATOR:
            for scheme in _strings(elem, "latin-1"):
                if scheme in DEPRECATED_SCHEMES:
                    yield (
                        where,
                        tag,
                        Severity.WARNING,
                        "coding-scheme-deprecated",
                        f"{scheme!r} ({DEPRECATED_SCHEMES[scheme]}); use SCT (PS3.16 Table 8-1)",
                    )


def check_attributes(doc: Document) -> list[Diagnostic]:
    """Invalid UIDs (ERROR), retired attributes and deprecated coding schemes (WARNING)
    in the File Meta Information, the header and the content tree of ``doc``.

    Parameters
    ----------
    doc : Document
        A document read from a file; one built in memory (no ``header`` dataset) has
        no elements to judge and gets no findings.

    Returns
    -------
    list of Diagnostic
        In the order of the elements in the file; codes ``uid-syntax``, ``uid-root``,
        ``retired-attribute``, ``coding-scheme-deprecated``.
    """
    ds: Any = doc.header
    if ds is None:
        return []
    # the reader already reports a content reference whose UIDs are not UIDs
    known = {d.path for d in doc.diagnostics if d.code == ReadCode.SOP_REFERENCE_INVALID_UID}
    parsed: Any = doc.header_sequences or {}
    try:
        charset = ds.get("SpecificCharacterSet")
    except Exception:
        charset = None  # the reader reported it
    out: list[Diagnostic] = []
    meta = getattr(ds, "file_meta", None)
    sources: list[tuple[Any, dict[int, Any], bool]] = []
    if meta is not None:
        sources.append((meta, {}, False))
    sources.append((ds, parsed, True))
    for source, parsed_items, top in sources:
        for path, tag, severity, code, message in _walk(source, "", parsed_items, charset, top):
            if code == "uid-syntax" and tag in _REFERENCE_UIDS and path in known:
                continue
            out.append(
                Diagnostic(
                    path=path, severity=severity, message=f"{_name(tag)} {message}", code=code
                )
            )
    return out
