"""Build a TID 1500 Measurement Report (Comprehensive 3D SR) from records.

The input records are the reader's own (:class:`~srkit.templates.tid1501.MeasurementGroup`,
:class:`~srkit.templates.tid1419.Measurement`, :class:`~srkit.templates.context.
ObserverContext`), so that reading what was built gives back the same rows. The
referenced images, segmentations and other objects are given as pydicom Datasets:
they provide the patient and study of the header, the image library (TID 1600), the
SOP classes of references and the Current Requested Procedure Evidence Sequence.

See PS3.16 TID 1500, 1410, 1411, 1501, 1419, 300, 4019 and PS3.3 A.35.13
(Comprehensive 3D SR IOD).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from srkit.errors import SrkitError
from srkit.model.code import Code
from srkit.model.document import (
    Document,
    Equipment,
    Patient,
    Series,
    SeriesReference,
    Study,
    StudyReference,
    VerifyingObserver,
)
from srkit.model.items import (
    CodeContentItem,
    CompositeContentItem,
    ContainerContentItem,
    ContentItem,
    ImageContentItem,
    NumContentItem,
    Scoord3DContentItem,
    ScoordContentItem,
    SopReference,
    TemplateId,
    TextContentItem,
    UidRefContentItem,
)
from srkit.model.sopclass import COMPREHENSIVE_3D_SR
from srkit.templates import tid1419 as m
from srkit.templates import tid1501 as g
from srkit.templates.concepts import standard_meaning
from srkit.templates.context import ObserverContext, observer_context_items
from srkit.templates.tid1500 import (
    IMAGE_LIBRARY,
    IMAGE_LIBRARY_GROUP,
    IMAGING_MEASUREMENTS,
    LANGUAGE,
    MEASUREMENT_REPORT,
    PROCEDURE_REPORTED,
    QUALITATIVE_EVALUATIONS,
)

__all__ = [
    "COMPREHENSIVE_3D_SR",
    "IMAGING_PROCEDURE",
    "ENGLISH",
    "ReportSpec",
    "build_measurement_report",
    "group_items",
]

IMAGING_PROCEDURE = Code.make("363679005", "SCT", "Imaging procedure")
ENGLISH = Code.make("en-US", "RFC5646", "English (United States)")
SOURCE = Code.make("260753009", "SCT", "Source")
SOURCE_OF_MEASUREMENT = Code.make("121112", "DCM", "Source of Measurement")
MODALITY = Code.make("121139", "DCM", "Modality")
FRAME_OF_REFERENCE_UID = Code.make("112227", "DCM", "Frame of Reference UID")

_OBS = "HAS OBS CONTEXT"
_MOD = "HAS CONCEPT MOD"
_HAS = "CONTAINS"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportSpec:
    """What a measurement report says, apart from the referenced objects.

    Parameters
    ----------
    groups : tuple of MeasurementGroup
        The measurement groups, in order (their ``number`` is ignored).
    observers : tuple of ObserverContext
        TID 1002 observers; none means the report names no observer.
    procedure_reported : tuple of Code
        Procedure reported; Imaging procedure (363679005, SCT) by default.
    language : Code
        Language of Content Item and Descendants.
    qualitative : tuple of QualitativeEvaluation
        Report-level qualitative evaluations (TID 1500 row 12).
    series_description, series_number, instance_number : str or None
        SR Document Series and General Instance attributes.
    completion_flag, verification_flag : str
        SR Document General Module; ``VERIFIED`` needs a person observer, who is
        written as the verifying observer.
    manufacturer : str
        General Equipment Manufacturer of the SR.
    """

    groups: tuple[g.MeasurementGroup, ...]
    observers: tuple[ObserverContext, ...] = ()
    procedure_reported: tuple[Code, ...] = (IMAGING_PROCEDURE,)
    language: Code = ENGLISH
    qualitative: tuple[g.QualitativeEvaluation, ...] = ()
    series_description: str | None = "Measurements"
    series_number: str | None = "1001"
    instance_number: str | None = "1"
    completion_flag: str = "COMPLETE"
    verification_flag: str = "UNVERIFIED"
    manufacturer: str = "srkit"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def _text(rel: str, concept: Code, value: str) -> TextContentItem:
    return TextContentItem(relationship=rel, concept=concept, value=value)


def _code(rel: str, concept: Code, value: Code, *children: ContentItem) -> CodeContentItem:
    return CodeContentItem(relationship=rel, concept=concept, value=value, children=children)


def _algorithm(algo: m.AlgorithmIdentification | None) -> list[ContentItem]:
    if algo is None:
        return []
    out: list[ContentItem] = [_text(_MOD, m.ALGORITHM_NAME, algo.name)]
    out.append(_text(_MOD, m.ALGORITHM_VERSION, algo.version or "unknown"))
    out.extend(_text(_MOD, m.ALGORITHM_PARAMETERS, p) for p in algo.parameters)
    return out


def _num(rel: str, concept: Code, number: str | None, units: Code | None) -> NumContentItem:
    if number is not None and units is None:
        raise SrkitError(f"NUM {concept} has a value but no units")
    return NumContentItem(relationship=rel, concept=concept, number=number, units=units)


def _number(meas: m.Measurement) -> str | None:
    if meas.number is not None:
        return meas.number
    if meas.value is None:
        return None
    text = repr(float(meas.value))
    return text[:-2] if text.endswith(".0") else text


class _Refs:
    """SOP classes and series of the objects a report refers to."""

    def __init__(self, datasets: Sequence[Dataset]) -> None:
        self.by_uid: dict[str, Dataset] = {}
        for ds in datasets:
            self.by_uid[str(ds.SOPInstanceUID)] = ds
        self.used: list[str] = []

    def ref(self, uid: str) -> SopReference:
        ds = self.by_uid.get(uid)
        if ds is None:
            raise SrkitError(f"referenced instance {uid} is not among the given files")
        if uid not in self.used:
            self.used.append(uid)
        return SopReference(sop_class_uid=str(ds.SOPClassUID), sop_instance_uid=uid)

    def image(self, rel: str, concept: Code | None, uid: str) -> ImageContentItem:
        return ImageContentItem(relationship=rel, concept=concept, referenced=self.ref(uid))

    def evidence(self) -> tuple[StudyReference, ...]:
        studies: dict[str, dict[str, list[SopReference]]] = {}
        for uid in self.used:
            ds = self.by_uid[uid]
            series = studies.setdefault(str(ds.StudyInstanceUID), {})
            series.setdefault(str(ds.SeriesInstanceUID), []).append(
                SopReference(sop_class_uid=str(ds.SOPClassUID), sop_instance_uid=uid)
            )
        return tuple(
            StudyReference(
                study_instance_uid=study,
                series=tuple(
                    SeriesReference(series_instance_uid=s, instances=tuple(refs))
                    for s, refs in series.items()
                ),
            )
            for study, series in studies.items()
        )


def _measurement(meas: m.Measurement, refs: _Refs) -> NumContentItem:
    if meas.quantity is None:
        raise SrkitError("a measurement has no quantity (concept name)")
    number = _number(meas)
    kids: list[ContentItem] = []
    for name, value in meas.modifiers:
        kids.append(_code(_MOD, name, value))
    if meas.derivation is not None:
        kids.append(_code(_MOD, m.DERIVATION, meas.derivation))
    if meas.measurement_method is not None:
        kids.append(_code(_MOD, m.MEASUREMENT_METHOD, meas.measurement_method))
    if meas.finding_site is not None:
        lat = [_code(_MOD, m.LATERALITY, meas.laterality)] if meas.laterality else []
        kids.append(_code(_MOD, m.FINDING_SITE, meas.finding_site, *lat))
    if meas.tracking_unique_identifier:
        kids.append(
            UidRefContentItem(
                relationship=_OBS,
                concept=m.TRACKING_UNIQUE_IDENTIFIER,
                value=meas.tracking_unique_identifier,
            )
        )
    for p in meas.derivation_parameters:
        kids.append(_num("INFERRED FROM", p.name, p.number, p.units))
    kids.extend(_algorithm(meas.algorithm))
    if meas.population_description is not None:
        kids.append(_text("HAS PROPERTIES", m.POPULATION_DESCRIPTION, meas.population_description))
    for p in meas.properties:
        kids.append(_num("HAS PROPERTIES", p.name, p.number, p.units))
    for name, value in meas.coded_properties:
        kids.append(_code("HAS PROPERTIES", name, value))
    for uid in meas.source_sop_instance_uids:
        kids.append(refs.image("INFERRED FROM", SOURCE_OF_MEASUREMENT, uid))
    item = _num(_HAS, meas.quantity, number, meas.units)
    return NumContentItem(
        relationship=_HAS,
        concept=item.concept,
        number=item.number,
        units=item.units,
        qualifier=meas.qualifier,
        children=tuple(kids),
    )


def _region(group: g.MeasurementGroup, refs: _Refs) -> list[ContentItem]:
    region = group.region
    if region is None:
        return []
    if isinstance(region, ScoordContentItem):
        images = tuple(
            refs.image("SELECTED FROM", None, uid) for uid in group.source_sop_instance_uids
        )
        if not images:
            raise SrkitError(f"group {group.tracking_identifier!r}: an image region needs an image")
        return [
            ScoordContentItem(
                relationship=_HAS,
                concept=g.IMAGE_REGION,
                graphic_type=region.graphic_type,
                data=region.data,
                children=images,
            )
        ]
    concept = g.VOLUME_SURFACE if group.referenced_segment is None else g.IMAGE_REGION
    return [
        Scoord3DContentItem(
            relationship=_HAS,
            concept=region.concept or concept,
            graphic_type=region.graphic_type,
            data=region.data,
            frame_of_reference_uid=region.frame_of_reference_uid,
        )
    ]


def _references(group: g.MeasurementGroup, refs: _Refs) -> list[ContentItem]:
    out: list[ContentItem] = []
    seg = group.referenced_segment
    if seg is not None:
        found = refs.by_uid.get(seg.sop_instance_uid)
        sop_class = str(found.SOPClassUID) if found is not None else seg.sop_class_uid
        refs.ref(seg.sop_instance_uid)
        out.append(
            ImageContentItem(
                relationship=_HAS,
                concept=g.REFERENCED_SEGMENT,
                referenced=SopReference(
                    sop_class_uid=sop_class, sop_instance_uid=seg.sop_instance_uid
                ),
                segments=(seg.segment_number,) if seg.segment_number is not None else None,
                frames=seg.frames,
            )
        )
    if group.source_series_for_segmentation:
        out.append(
            UidRefContentItem(
                relationship=_HAS,
                concept=g.SOURCE_SERIES_FOR_SEGMENTATION,
                value=group.source_series_for_segmentation,
            )
        )
    out.extend(_region(group, refs))
    if not isinstance(group.region, ScoordContentItem):
        concept = g.SOURCE_IMAGE_FOR_SEGMENTATION if seg is not None else SOURCE
        out.extend(refs.image(_HAS, concept, uid) for uid in group.source_sop_instance_uids)
    if group.real_world_value_map is not None:
        out.append(
            CompositeContentItem(
                relationship=_HAS,
                concept=g.RWVM_USED,
                referenced=refs.ref(group.real_world_value_map.sop_instance_uid),
            )
        )
    return out


def _template_of(group: g.MeasurementGroup) -> str:
    if group.template in ("1410", "1411", "1501"):
        return group.template
    if isinstance(group.region, ScoordContentItem):
        return "1410"
    return "1411" if group.referenced_segment or group.region else "1501"


def group_items(group: g.MeasurementGroup, refs: Any) -> ContainerContentItem:
    """The ``Measurement Group`` container of one group (TID 1410, 1411 or 1501).

    Parameters
    ----------
    group : MeasurementGroup
        The records; a missing tracking unique identifier gets a fresh UID.
    refs : object
        The report's reference table (internal).
    """
    if not group.tracking_identifier:
        raise SrkitError("a measurement group needs a tracking identifier")
    kids: list[ContentItem] = []
    if group.activity_session:
        kids.append(_text(_OBS, g.ACTIVITY_SESSION, group.activity_session))
    kids.append(_text(_OBS, g.TRACKING_IDENTIFIER, group.tracking_identifier))
    uid = group.tracking_unique_identifier or generate_uid()
    kids.append(
        UidRefContentItem(relationship=_OBS, concept=m.TRACKING_UNIQUE_IDENTIFIER, value=uid)
    )
    kids.extend(_algorithm(group.algorithm))
    if group.finding_category is not None:
        kids.append(_code(_HAS, g.FINDING_CATEGORY, group.finding_category))
    if group.finding is not None:
        kids.append(_code(_HAS, g.FINDING, group.finding))
    if group.time_point:
        kids.append(_text(_OBS, g.TIME_POINT, group.time_point))
    kids.extend(_references(group, refs))
    if group.measurement_method is not None:
        kids.append(_code(_MOD, m.MEASUREMENT_METHOD, group.measurement_method))
    if group.finding_site is not None:
        mods: list[ContentItem] = []
        if group.laterality is not None:
            mods.append(_code(_MOD, m.LATERALITY, group.laterality))
        if group.topographical_modifier is not None:
            mods.append(_code(_MOD, m.TOPOGRAPHICAL_MODIFIER, group.topographical_modifier))
        kids.append(_code(_MOD, m.FINDING_SITE, group.finding_site, *mods))
    kids.extend(_measurement(x, refs) for x in group.measurements)
    kids.extend(_qualitative(q) for q in group.qualitative)
    return ContainerContentItem(
        relationship=_HAS,
        concept=g.MEASUREMENT_GROUP,
        template=TemplateId(identifier=_template_of(group)),
        children=tuple(kids),
    )


def _qualitative(q: g.QualitativeEvaluation) -> ContentItem:
    if q.name is None or q.value is None:
        raise SrkitError("a qualitative evaluation needs a concept name and a value")
    if isinstance(q.value, Code):
        return _code(_HAS, q.name, q.value)
    return _text(_HAS, q.name, q.value)


def _image_library(images: Sequence[Dataset], refs: _Refs) -> ContainerContentItem:
    kids: list[ContentItem] = []
    first = images[0] if images else None
    if first is not None and first.get("Modality"):
        modality = str(first.Modality)
        meaning = standard_meaning(Code.make(modality, "DCM")) or modality
        kids.append(_code("HAS ACQ CONTEXT", MODALITY, Code.make(modality, "DCM", meaning)))
    if first is not None and first.get("FrameOfReferenceUID"):
        kids.append(
            UidRefContentItem(
                relationship="HAS ACQ CONTEXT",
                concept=FRAME_OF_REFERENCE_UID,
                value=str(first.FrameOfReferenceUID),
            )
        )
    kids.extend(refs.image(_HAS, None, str(ds.SOPInstanceUID)) for ds in images)
    group = ContainerContentItem(
        relationship=_HAS, concept=IMAGE_LIBRARY_GROUP, children=tuple(kids)
    )
    return ContainerContentItem(
        relationship=_HAS,
        concept=IMAGE_LIBRARY,
        template=TemplateId(identifier="1600"),
        children=(group,) if images else (),
    )


def _header_source(images: Sequence[Dataset], others: Sequence[Dataset]) -> Dataset:
    for ds in (*images, *others):
        if ds.get("StudyInstanceUID"):
            return ds
    raise SrkitError("no referenced image or segmentation gives the patient and study")


def _s(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    return None if value is None or value == "" else str(value)


def build_measurement_report(
    spec: ReportSpec,
    images: Sequence[Dataset],
    others: Sequence[Dataset] = (),
    *,
    sop_instance_uid: str | None = None,
    series_instance_uid: str | None = None,
    now: _dt.datetime | None = None,
) -> Document:
    """Build a Comprehensive 3D SR Measurement Report (TID 1500) from records.

    Parameters
    ----------
    spec : ReportSpec
        Groups, observers and header options.
    images : sequence of pydicom.Dataset
        The images of the image library (TID 1600), whose patient and study the
        report takes (headers are enough: read with ``stop_before_pixels``).
    others : sequence of pydicom.Dataset
        Segmentations, real world value maps and other referenced objects.
    sop_instance_uid, series_instance_uid : str, optional
        UIDs of the report; fresh ones by default.
    now : datetime, optional
        Content date and time (the current time by default).

    Returns
    -------
    Document
        Ready for :func:`srkit.codec.write`.

    Raises
    ------
    SrkitError
        A group without a tracking identifier, a NUM without units, a reference to
        an object that is not among ``images`` and ``others``.
    """
    refs = _Refs([*images, *others])
    src = _header_source(images, others)
    when = now or _dt.datetime.now()
    children: list[ContentItem] = [_code(_MOD, LANGUAGE, spec.language)]
    for obs in spec.observers:
        children.extend(observer_context_items(obs))
    children.extend(_code(_MOD, PROCEDURE_REPORTED, p) for p in spec.procedure_reported)
    children.append(_image_library(images, refs))
    groups = tuple(group_items(x, refs) for x in spec.groups)
    children.append(
        ContainerContentItem(relationship=_HAS, concept=IMAGING_MEASUREMENTS, children=groups)
    )
    if spec.qualitative:
        children.append(
            ContainerContentItem(
                relationship=_HAS,
                concept=QUALITATIVE_EVALUATIONS,
                children=tuple(_qualitative(q) for q in spec.qualitative),
            )
        )
    root = ContainerContentItem(
        concept=MEASUREMENT_REPORT,
        template=TemplateId(identifier="1500"),
        children=tuple(children),
    )
    return Document(
        sop_class_uid=COMPREHENSIVE_3D_SR,
        sop_instance_uid=sop_instance_uid or generate_uid(),
        root=root,
        patient=Patient(
            name=_s(src, "PatientName"),
            id=_s(src, "PatientID"),
            birth_date=_s(src, "PatientBirthDate"),
            sex=_s(src, "PatientSex"),
        ),
        study=Study(
            instance_uid=str(src.StudyInstanceUID),
            date=_s(src, "StudyDate"),
            time=_s(src, "StudyTime"),
            id=_s(src, "StudyID"),
            accession_number=_s(src, "AccessionNumber"),
            description=_s(src, "StudyDescription"),
            referring_physician_name=_s(src, "ReferringPhysicianName"),
        ),
        series=Series(
            instance_uid=series_instance_uid or generate_uid(),
            number=spec.series_number,
            description=spec.series_description,
        ),
        equipment=Equipment(
            manufacturer=spec.manufacturer,
            model_name="srkit",
            device_serial_number="0",
            software_versions=_version(),
        ),
        instance_number=spec.instance_number,
        content_date=when.strftime("%Y%m%d"),
        content_time=when.strftime("%H%M%S"),
        completion_flag=spec.completion_flag,
        verification_flag=spec.verification_flag,
        verifying_observers=_verifiers(spec, when),
        evidence=refs.evidence(),
    )


def _verifiers(spec: ReportSpec, when: _dt.datetime) -> tuple[VerifyingObserver, ...]:
    if spec.verification_flag != "VERIFIED":
        return ()
    names = [o.person_name for o in spec.observers if o.person_name]
    if not names:
        raise SrkitError("a VERIFIED report needs a person observer to verify it")
    org = next((o.person_organization for o in spec.observers if o.person_organization), None)
    return (
        VerifyingObserver(
            name=names[0], organization=org or "unknown", datetime=when.strftime("%Y%m%d%H%M%S")
        ),
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("srkit")
    except PackageNotFoundError:  # pragma: no cover - only from a source tree
        return "0"
