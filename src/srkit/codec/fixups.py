"""Named repairs of known vendor mistakes, each with the file that needs it.

A fix-up runs only under the tolerant and permissive policies and always leaves
a diagnostic naming itself, so a repaired document never hides what was wrong.
Template-level fix-ups (dose reports and so on) live in ``srkit.templates.vendor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from srkit.codec import tags as T
from srkit.codec.values import elements
from srkit.diagnostics import Severity
from srkit.model.items import ContentItem

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["Fixup", "FIXUPS", "trial_findings_content"]


@dataclass(frozen=True, slots=True)
class Fixup:
    """A named repair: what it repairs and a file that needs it."""

    name: str
    description: str
    example: str


FIXUPS: dict[str, Fixup] = {
    f.name: f
    for f in (
        Fixup(
            "trial_findings_sequence",
            "Retired trial SR classes keep their content in Findings Sequence (Trial) "
            "(0040,A020) items, without a root content item or Value Types; the items "
            "become children of an untitled root and their value type is taken from the "
            "value attribute they carry.",
            "sr-other/dcm4che_Tag-0040-A170-VR-CS.dcm",
        ),
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


def trial_findings_content(ds: Dataset, reader: Any) -> tuple[ContentItem, ...]:
    """Fix-up ``trial_findings_sequence``: type the trial items and read them.

    The trial items carry no Value Type and no Relationship Type; each item is
    copied with the type inferred from its value attribute and ``CONTAINS``.
    """
    from pydicom.dataset import Dataset as _Dataset

    out: list[ContentItem] = []
    n = 0
    for finding in reader.sequence(ds, T.FINDINGS_SEQUENCE_TRIAL, "1"):
        for raw in reader.sequence(finding, T.CONTENT_SEQUENCE, "1"):
            n += 1
            path = f"1.{n}"
            item = _Dataset()
            for elem in raw:
                item.add(elem)
            if T.VALUE_TYPE not in elements(item):
                inferred = next(
                    (vt for tag, vt in _VALUE_ATTRIBUTE_TYPES if tag in elements(item)), None
                )
                if inferred is None:
                    reader.problem(path, "trial item without a value attribute")
                    continue
                item.ValueType = inferred
            if T.RELATIONSHIP_TYPE not in elements(item):
                item.RelationshipType = "CONTAINS"
            read = reader.item(item, path, root=False)
            if read is not None:
                out.append(read)
    if n:
        reader.problem(
            "1",
            f"{n} trial content item(s) typed from their value attributes",
            Severity.WARNING,
            fixup="trial_findings_sequence",
        )
    return tuple(out)
