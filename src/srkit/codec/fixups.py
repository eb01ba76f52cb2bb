"""The one registry of fix-ups: named repairs of known vendor mistakes (PS3.3 C.17).

A fix-up runs only under the tolerant and permissive policies and always leaves
a diagnostic naming itself (``Diagnostic.fixup``), so a repaired document never
hides what was wrong. Every fix-up of every layer is registered here, by name,
with a description and a real file that needs it (a path inside the shared test
data, see ``PROVENANCE.md``); ``tests/codec/test_fixups.py`` checks that every
fix-up name a diagnostic can carry is registered, that every example file exists
and that every fix-up has a test.

Two ways to register:

- a repair that is a function: decorate it with :func:`fixup`; the first
  paragraph of its docstring is the description, and the docstring names the file
  that needs it (see :func:`trial_findings_content`);
- a repair that is data (a spelling table, a rule inside a reader): pass a
  :class:`Fixup` record to :func:`register`, as the block below and each maker's
  module of :mod:`srkit.templates.vendor` do::

      register(Fixup("ge_unit_spelling", "DLP carries 'mGycm' ... read as mGy.cm.",
                     "rdsr/openrem_CT-ESR-GE_Optima.dcm", maker="ge"))

then name it in the diagnostic that reports the repair:
``Diagnostic(..., fixup="ge_unit_spelling")``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from srkit.codec import tags as T
from srkit.codec.diagnostic_codes import ReadCode
from srkit.codec.values import elements
from srkit.diagnostics import Severity
from srkit.model.items import ContentItem

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["CODEC_FIXUPS", "FIXUPS", "Fixup", "fixup", "register", "trial_findings_content"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Fixup:
    """A named repair: what it repairs and a file that needs it.

    Parameters
    ----------
    name : str
        The name diagnostics carry in ``Diagnostic.fixup`` (snake_case).
    description : str
        What is wrong and what srkit does about it.
    example : str
        A real file that needs it: path inside the shared test data.
    maker : str or None
        The manufacturer whose files need it (``"ge"``), if it is one maker's.
    """

    name: str
    description: str
    example: str
    maker: str | None = None


_REGISTRY: dict[str, Fixup] = {}

FIXUPS: Mapping[str, Fixup] = MappingProxyType(_REGISTRY)
"""Every registered fix-up, by name: the codec's and, once :mod:`srkit.templates.vendor`
is imported, the vendors' (read-only; add with :func:`register` or :func:`fixup`)."""


def register(record: Fixup) -> Fixup:
    """Register a fix-up.

    Parameters
    ----------
    record : Fixup
        Its name, description and example file.

    Returns
    -------
    Fixup
        ``record``, so that a module can keep its own table of the records it registers.

    Raises
    ------
    ValueError
        A different fix-up is already registered under the same name, or the record
        lacks a name, a description or an example.
    """
    if not record.name or not record.description.strip() or not record.example:
        raise ValueError(f"fix-up {record.name!r} needs a name, a description and an example")
    known = _REGISTRY.get(record.name)
    if known is not None and known != record:
        raise ValueError(f"fix-up {record.name!r} is already registered")
    _REGISTRY[record.name] = record
    return record


def fixup(name: str, *, example: str, maker: str | None = None) -> Callable[[F], F]:
    """Decorator: register the decorated function as the fix-up ``name``.

    Parameters
    ----------
    name : str
        The name its diagnostics carry.
    example : str
        A real file that needs it (path inside the shared test data).
    maker : str or None
        The manufacturer whose files need it, if it is one maker's.

    Returns
    -------
    callable
        A decorator that registers the function (first paragraph of its docstring as
        the description) and returns it unchanged.

    Raises
    ------
    ValueError
        The function's docstring does not name ``example`` (the file that needs the
        fix-up), or the name is taken (see :func:`register`).
    """

    def decorate(func: F) -> F:
        doc = inspect.getdoc(func) or ""
        if example not in doc:
            raise ValueError(f"fix-up {name!r}: the docstring must name the file {example}")
        register(Fixup(name, " ".join(doc.split("\n\n")[0].split()), example, maker))
        return func

    return decorate


CODEC_FIXUPS: dict[str, Fixup] = {
    f.name: register(f)
    for f in (
        Fixup(
            "assume_latin1_charset",
            "Text with 8-bit characters in a file that declares no Specific Character Set "
            "(the default repertoire is ASCII) is read as ISO_IR 100 (Latin-1), what the "
            "writing systems meant.",
            "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm",
        ),
        Fixup(
            "ucum_scheme_misspelt",
            "A measurement unit whose code value is valid UCUM but whose Coding Scheme "
            "Designator is misspelt, padded or missing (a GE fluoroscopy RDSR codes its "
            'event units as (Gy.m2, UCM, "Gy.m2")) is read as UCUM by the dose reader '
            "(srkit.templates.dose_common.RecordReader.ucum); no shared file carries it, "
            "the tests rewrite the scheme of this one to UCM.",
            "rdsr/pyskindose_siemens_axiom_artis.dcm",
        ),
    )
}
"""Every codec-level fix-up, by name."""

_VALUE_ATTRIBUTE_TYPES = (
    (T.TEXT_VALUE, "TEXT"),
    (T.CONCEPT_CODE_SEQUENCE, "CODE"),
    (T.MEASURED_VALUE_SEQUENCE, "NUM"),
    (T.DATETIME, "DATETIME"),
    (T.DATE, "DATE"),
    (T.TIME, "TIME"),
    (T.UID, "UIDREF"),
    (T.PERSON_NAME, "PNAME"),
    (T.GRAPHIC_DATA, "SCOORD"),
    (T.REFERENCED_SOP_SEQUENCE, "COMPOSITE"),
    (T.CONTENT_SEQUENCE, "CONTAINER"),
)


@fixup("trial_findings_sequence", example="sr-other/dcm4che_Tag-0040-A170-VR-CS.dcm")
def trial_findings_content(ds: Dataset, reader: Any) -> tuple[ContentItem, ...]:
    """Retired trial SR classes keep their content in Findings Sequence (Trial)
    (0040,A020) items, without a root content item or Value Types; the items
    become children of an untitled root and their value type is taken from the
    value attribute they carry.

    The trial items carry no Value Type and no Relationship Type; each item is
    copied with the type inferred from its value attribute and ``CONTAINS``.
    ``reader`` is the :class:`~srkit.codec.content.ContentReader` of the document.

    Needed by ``sr-other/dcm4che_Tag-0040-A170-VR-CS.dcm`` (Detail SR Storage - Trial).
    """
    out: list[ContentItem] = []
    n = 0
    for finding in reader.sequence(ds, T.FINDINGS_SEQUENCE_TRIAL, "1"):
        for raw in reader.sequence(finding, T.CONTENT_SEQUENCE, "1"):
            n += 1
            path = f"1.{n}"
            found = elements(raw)
            value_type = None
            if T.VALUE_TYPE not in found:
                value_type = next((vt for tag, vt in _VALUE_ATTRIBUTE_TYPES if tag in found), None)
                if value_type is None:
                    reader.problem(
                        path, ReadCode.TRIAL_ITEM_UNTYPED, "trial item without a value attribute"
                    )
                    continue
            relationship = None if T.RELATIONSHIP_TYPE in found else "CONTAINS"
            item = _typed_copy(raw, value_type, relationship)
            read = reader.item(item, path, root=False)
            if read is not None:
                out.append(read)
    if n:
        reader.problem(
            "1",
            ReadCode.TRIAL_ITEMS_TYPED,
            f"{n} trial content item(s) typed from their value attributes",
            Severity.WARNING,
            fixup="trial_findings_sequence",
        )
    return tuple(out)


def _typed_copy(raw: Any, value_type: str | None, relationship: str | None) -> Any:
    """A copy of the trial item ``raw`` with Value Type and Relationship Type added
    where given: a light item stays light (raw CS elements, no pydicom import), a
    pydicom one becomes a pydicom ``Dataset``."""
    from srkit.codec.light import LightDataset, RawElement

    if isinstance(raw, LightDataset):
        added = dict(elements(raw))
        for tag, text in ((T.VALUE_TYPE, value_type), (T.RELATIONSHIP_TYPE, relationship)):
            if text is not None:
                value = text.encode("ascii") + (b" " if len(text) % 2 else b"")
                added[tag] = RawElement(tag, "CS", len(value), value, 0, False, True)
        return LightDataset(dict(sorted(added.items())), raw.encoding)
    from pydicom.dataset import Dataset as _Dataset

    item = _Dataset()
    for elem in raw:
        item.add(elem)
    if value_type is not None:
        item.ValueType = value_type
    if relationship is not None:
        item.RelationshipType = relationship
    return item
