"""The SR document: header modules and the content tree (PS3.3 A.35, C.17)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from srkit.diagnostics import Diagnostic
from srkit.model.code import Code
from srkit.model.items import ContainerContentItem, ContentItem, SopReference, TemplateId
from srkit.model.navigation import Position, all_items, find, item_at, parent_of, walk
from srkit.model.value_object import ValueObject

__all__ = [
    "Patient",
    "Study",
    "Series",
    "Equipment",
    "VerifyingObserver",
    "SeriesReference",
    "StudyReference",
    "Document",
]


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Patient(ValueObject):
    """Patient Module (C.7.1.1): the attributes srkit names."""

    name: str | None = None
    id: str | None = None
    birth_date: str | None = None
    sex: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Study(ValueObject):
    """General Study Module (C.7.2.1)."""

    instance_uid: str = ""
    date: str | None = None
    time: str | None = None
    id: str | None = None
    accession_number: str | None = None
    description: str | None = None
    referring_physician_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Series(ValueObject):
    """SR Document Series Module (C.17.1)."""

    instance_uid: str = ""
    number: str | None = None
    modality: str = "SR"
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Equipment(ValueObject):
    """General Equipment Module (C.7.5.1)."""

    manufacturer: str | None = None
    model_name: str | None = None
    station_name: str | None = None
    device_serial_number: str | None = None
    software_versions: str | None = None
    institution_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class VerifyingObserver(ValueObject):
    """One item of the Verifying Observer Sequence (0040,A073)."""

    name: str
    organization: str = ""
    datetime: str = ""
    identification: Code | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class SeriesReference(ValueObject):
    """A series in a hierarchical SOP instance reference (Table C.17-3)."""

    series_instance_uid: str
    instances: tuple[SopReference, ...] = ()
    retrieve_ae_title: str | None = None
    retrieve_url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class StudyReference(ValueObject):
    """A study in a hierarchical SOP instance reference (Table C.17-3)."""

    study_instance_uid: str
    series: tuple[SeriesReference, ...] = ()

    def sop_instance_uids(self) -> tuple[str, ...]:
        """Every referenced SOP Instance UID, in order."""
        return tuple(i.sop_instance_uid for s in self.series for i in s.instances)


@dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Document(ValueObject):
    """An SR document.

    Parameters
    ----------
    sop_class_uid, sop_instance_uid : str
        SOP Common Module.
    patient, study, series, equipment
        The header modules srkit names.
    instance_number, content_date, content_time, specific_character_set
        SR Document General Module and SOP Common attributes as stored.
    completion_flag, completion_flag_description, verification_flag
        SR Document General Module (C.17.2); ``None`` where absent (Basic Text of
        the retired classes, KOS).
    verifying_observers : tuple of VerifyingObserver
        Verifying Observer Sequence (0040,A073).
    predecessors : tuple of StudyReference
        Predecessor Documents Sequence (0040,A360).
    evidence : tuple of StudyReference
        Current Requested Procedure Evidence Sequence (0040,A375).
    pertinent_other_evidence : tuple of StudyReference
        Pertinent Other Evidence Sequence (0040,A385).
    root : ContainerContentItem
        The root content item.
    diagnostics : tuple of Diagnostic
        Every problem the reader found (not part of equality).
    header : object or None
        The header attributes the model does not name, kept opaque by the codec
        so that writing loses nothing (not part of equality).
    header_sequences : object or None
        The codec's parse of the header's top-level sequences, kept opaque, so that
        later passes over ``header`` (validation) need not parse them again (not
        part of equality).
    """

    sop_class_uid: str
    sop_instance_uid: str
    root: ContainerContentItem
    patient: Patient = field(default_factory=Patient)
    study: Study = field(default_factory=Study)
    series: Series = field(default_factory=Series)
    equipment: Equipment = field(default_factory=Equipment)
    instance_number: str | None = None
    content_date: str | None = None
    content_time: str | None = None
    specific_character_set: str | None = None
    completion_flag: str | None = None
    completion_flag_description: str | None = None
    verification_flag: str | None = None
    verifying_observers: tuple[VerifyingObserver, ...] = ()
    predecessors: tuple[StudyReference, ...] = ()
    evidence: tuple[StudyReference, ...] = ()
    pertinent_other_evidence: tuple[StudyReference, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = field(default=(), compare=False)
    header: object | None = field(default=None, compare=False, repr=False)
    header_sequences: object | None = field(default=None, compare=False, repr=False)

    @property
    def title(self) -> Code | None:
        """Document Title: the root's concept name."""
        return self.root.concept

    @property
    def template(self) -> TemplateId | None:
        """Content Template Sequence (0040,A504) of the root, if declared."""
        return self.root.template

    @property
    def template_id(self) -> str | None:
        """The declared template identifier (``"1500"``), if any."""
        return self.template.identifier if self.template else None

    def walk(self) -> Iterator[Position]:
        """Every item in document order (depth first), with its id and parent."""
        return walk(self.root)

    def item(self, item_id: str) -> ContentItem:
        """The item at position ``item_id`` (``"1.2.3"``); raises ``KeyError``."""
        return item_at(self.root, item_id)

    def parent(self, item_id: str) -> ContentItem | None:
        """The parent of the item at ``item_id``; ``None`` for the root."""
        return parent_of(self.root, item_id)

    def find(
        self,
        concept: Code,
        *,
        relationship: str | None = None,
        recursive: bool = True,
    ) -> list[Position]:
        """Items whose concept name equals ``concept``, under the root."""
        return find(self.root, concept, relationship=relationship, recursive=recursive)

    def __len__(self) -> int:
        return len(all_items(self.root))
