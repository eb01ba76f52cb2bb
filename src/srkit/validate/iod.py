"""The SR storage IODs (PS3.3 Annex A.35) and the header attributes they require.

One :class:`Iod` per SR storage SOP class (PS3.4 B.5): its section of PS3.3, the
relationship constraints table (:mod:`srkit.validate.relationships`), the value types
it allows, whether a root template is required, and which header modules apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from srkit.model.sopclass import SR_PREFIX, SR_SOP_CLASSES
from srkit.validate.relationships import TABLES, RelRow

__all__ = ["Iod", "Attr", "IODS", "iod_for", "header_attributes"]


@dataclass(frozen=True, slots=True)
class Iod:
    """Rules of one SR IOD."""

    name: str
    section: str
    root_templates: tuple[str, ...] = ()
    """Templates one of which the root must declare (Content Template Sequence)."""
    key_object: bool = False
    """Key Object Selection: KO series and Key Object Document modules (C.17.6)."""
    relationships: tuple[RelRow, ...] = field(default=())
    value_types: frozenset[str] = field(init=False)
    """Every value type the relationship table mentions as a target (and CONTAINER);
    computed once, as it is looked up for every content item."""
    by_reference: bool = field(init=False)
    """Whether any by-reference relationship is allowed."""

    def __post_init__(self) -> None:
        targets = frozenset({"CONTAINER"}.union(*(row.targets for row in self.relationships)))
        object.__setattr__(self, "value_types", targets)
        object.__setattr__(self, "by_reference", any(r.by_reference for r in self.relationships))


def _entry(suffix: str, section: str, *templates: str, key_object: bool = False) -> tuple[str, Iod]:
    """(SOP Class UID, rules) of the SR class ``SR_PREFIX + suffix``, named as
    :data:`srkit.model.sopclass.SR_SOP_CLASSES` names it."""
    uid = SR_PREFIX + suffix
    return uid, Iod(SR_SOP_CLASSES[uid], section, templates, key_object, TABLES[section])


IODS: dict[str, Iod] = dict(
    (
        _entry("11", "A.35.1"),
        _entry("22", "A.35.2"),
        _entry("33", "A.35.3"),
        _entry("34", "A.35.13"),
        _entry("35", "A.35.21"),
        _entry("40", "A.35.7", "3001"),
        _entry("50", "A.35.5", "4000"),
        _entry("59", "A.35.4", "2010", key_object=True),
        _entry("65", "A.35.6", "4100"),
        _entry("67", "A.35.8", "10001", "10011", "10030", "10040"),
        _entry("68", "A.35.14", "10021"),
        _entry("69", "A.35.10", "4120"),
        _entry("71", "A.35.16", "3401"),
        _entry("72", "A.35.17", "5200", "5300"),
        _entry("73", "A.35.18", "10030"),
        _entry("74", "A.35.19", "11001"),
        _entry("75", "A.35.20", "11020"),
        _entry("76", "A.35.22", "10040"),
        _entry("77", "A.35.23", "3750"),
    )
)
"""IOD rules by SOP Class UID (retired trial classes and Implantation Plan SR have none)."""


def iod_for(sop_class_uid: str) -> Iod | None:
    """The IOD of an SR SOP class, ``None`` for classes srkit has no rules for."""
    return IODS.get(sop_class_uid)


@dataclass(frozen=True, slots=True)
class Attr:
    """A required header attribute: tag, keyword, type (``"1"`` or ``"2"``), module."""

    tag: int
    keyword: str
    type: str
    module: str


_PATIENT = (
    Attr(0x00100010, "PatientName", "2", "Patient (C.7.1.1)"),
    Attr(0x00100020, "PatientID", "2", "Patient (C.7.1.1)"),
    Attr(0x00100030, "PatientBirthDate", "2", "Patient (C.7.1.1)"),
    Attr(0x00100040, "PatientSex", "2", "Patient (C.7.1.1)"),
)
# Study, Series and SOP Instance UIDs are checked by the reader (srkit.codec).
_STUDY = (
    Attr(0x00080020, "StudyDate", "2", "General Study (C.7.2.1)"),
    Attr(0x00080030, "StudyTime", "2", "General Study (C.7.2.1)"),
    Attr(0x00080090, "ReferringPhysicianName", "2", "General Study (C.7.2.1)"),
    Attr(0x00200010, "StudyID", "2", "General Study (C.7.2.1)"),
    Attr(0x00080050, "AccessionNumber", "2", "General Study (C.7.2.1)"),
)
_EQUIPMENT = (Attr(0x00080070, "Manufacturer", "2", "General Equipment (C.7.5.1)"),)
_SR_SERIES = (
    Attr(0x00080060, "Modality", "1", "SR Document Series (C.17.1)"),
    Attr(0x00200011, "SeriesNumber", "1", "SR Document Series (C.17.1)"),
    Attr(
        0x00081111, "ReferencedPerformedProcedureStepSequence", "2", "SR Document Series (C.17.1)"
    ),
)
_KO_SERIES = (
    Attr(0x00080060, "Modality", "1", "Key Object Document Series (C.17.6.1)"),
    Attr(0x00200011, "SeriesNumber", "1", "Key Object Document Series (C.17.6.1)"),
    Attr(
        0x00081111,
        "ReferencedPerformedProcedureStepSequence",
        "2",
        "Key Object Document Series (C.17.6.1)",
    ),
)
_SR_GENERAL = (
    Attr(0x00200013, "InstanceNumber", "1", "SR Document General (C.17.2)"),
    Attr(0x0040A491, "CompletionFlag", "1", "SR Document General (C.17.2)"),
    Attr(0x0040A493, "VerificationFlag", "1", "SR Document General (C.17.2)"),
    Attr(0x00080023, "ContentDate", "1", "SR Document General (C.17.2)"),
    Attr(0x00080033, "ContentTime", "1", "SR Document General (C.17.2)"),
    Attr(0x0040A372, "PerformedProcedureCodeSequence", "2", "SR Document General (C.17.2)"),
)
_KO_DOCUMENT = (
    Attr(0x00200013, "InstanceNumber", "1", "Key Object Document (C.17.6.2)"),
    Attr(0x00080023, "ContentDate", "1", "Key Object Document (C.17.6.2)"),
    Attr(0x00080033, "ContentTime", "1", "Key Object Document (C.17.6.2)"),
    Attr(
        0x0040A375,
        "CurrentRequestedProcedureEvidenceSequence",
        "1",
        "Key Object Document (C.17.6.2)",
    ),
)
REQUEST_ITEM = (
    Attr(0x0020000D, "StudyInstanceUID", "1", "SR Document General (C.17.2)"),
    Attr(0x00080050, "AccessionNumber", "2", "SR Document General (C.17.2)"),
    Attr(0x00401001, "RequestedProcedureID", "2", "SR Document General (C.17.2)"),
    Attr(0x00321060, "RequestedProcedureDescription", "2", "SR Document General (C.17.2)"),
    Attr(0x00321064, "RequestedProcedureCodeSequence", "2", "SR Document General (C.17.2)"),
    Attr(
        0x00402016,
        "PlacerOrderNumberImagingServiceRequest",
        "2",
        "SR Document General (C.17.2)",
    ),
    Attr(
        0x00402017,
        "FillerOrderNumberImagingServiceRequest",
        "2",
        "SR Document General (C.17.2)",
    ),
)
"""Attributes of each Referenced Request Sequence (0040,A370) item (Table C.17-2)."""

OBSERVER_ITEM = (
    Attr(0x0040A075, "VerifyingObserverName", "1", "SR Document General (C.17.2)"),
    Attr(0x0040A027, "VerifyingOrganization", "1", "SR Document General (C.17.2)"),
    Attr(0x0040A030, "VerificationDateTime", "1", "SR Document General (C.17.2)"),
    Attr(
        0x0040A088,
        "VerifyingObserverIdentificationCodeSequence",
        "2",
        "SR Document General (C.17.2)",
    ),
)
"""Attributes of each Verifying Observer Sequence (0040,A073) item."""


def header_attributes(iod: Iod | None) -> tuple[Attr, ...]:
    """The type 1 and type 2 header attributes the IOD requires, module by module."""
    if iod is not None and iod.key_object:
        return _PATIENT + _STUDY + _KO_SERIES + _EQUIPMENT + _KO_DOCUMENT
    return _PATIENT + _STUDY + _SR_SERIES + _EQUIPMENT + _SR_GENERAL
