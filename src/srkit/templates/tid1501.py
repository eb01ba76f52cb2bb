"""Measurement groups of a measurement report: TID 1410 "Planar ROI Measurements and
Qualitative Evaluations", TID 1411 "Volumetric ROI Measurements and Qualitative
Evaluations" and TID 1501 "Measurement and Qualitative Evaluation Group".

See PS3.16 `TID 1501 <https://dicom.nema.org/medical/dicom/current/output/chtml/part16/
sect_TID_1501.html>`_, TID 1410 and TID 1411. The three share one reader: each is a
``Measurement Group`` container (125007, DCM) with a tracking identifier and UID, an
optional finding, finding site and laterality, time point, measurement method,
algorithm, and then measurements (``NUM``) and qualitative evaluations (``CODE`` or
``TEXT``). A TID 1410 group has an image region (``SCOORD``/``SCOORD3D``), a TID 1411
group a referenced segment or a volume surface.
"""

from __future__ import annotations

from dataclasses import dataclass

from srkit.diagnostics import Diagnostic, Severity
from srkit.model.code import Code
from srkit.model.concepts import (
    ACTIVITY_SESSION,
    FINDING,
    FINDING_CATEGORY,
    FINDING_SITE,
    IMAGE_REGION,
    LATERALITY,
    MEASUREMENT_GROUP,
    MEASUREMENT_METHOD,
    REAL_WORLD_VALUE_MAP_USED,
    REFERENCED_SEGMENT,
    REFERENCED_SEGMENTATION_FRAME,
    REGION_IN_SPACE,
    SOURCE_IMAGE_FOR_SEGMENTATION,
    SOURCE_SERIES_FOR_SEGMENTATION,
    TIME_POINT,
    TOPOGRAPHICAL_MODIFIER,
    TRACKING_IDENTIFIER,
    TRACKING_UNIQUE_IDENTIFIER,
    VOLUME_SURFACE,
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
    TextContentItem,
    UidRefContentItem,
)
from srkit.templates.tid1419 import (
    AlgorithmIdentification,
    Measurement,
    read_algorithm,
    read_measurement,
    source_images_under,
)

__all__ = [
    "MEASUREMENT_GROUP",
    "TRACKING_IDENTIFIER",
    "FINDING",
    "FINDING_CATEGORY",
    "TIME_POINT",
    "ACTIVITY_SESSION",
    "REFERENCED_SEGMENT",
    "REFERENCED_SEGMENTATION_FRAME",
    "SOURCE_SERIES_FOR_SEGMENTATION",
    "SOURCE_IMAGE_FOR_SEGMENTATION",
    "RWVM_USED",
    "IMAGE_REGION",
    "VOLUME_SURFACE",
    "REGION_IN_SPACE",
    "SegmentReference",
    "QualitativeEvaluation",
    "MeasurementGroup",
    "read_measurement_group",
]

RWVM_USED = REAL_WORLD_VALUE_MAP_USED

_OBS = "HAS OBS CONTEXT"
_MOD = "HAS CONCEPT MOD"
_SEGMENT_CONCEPTS = (REFERENCED_SEGMENT, REFERENCED_SEGMENTATION_FRAME)


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentReference:
    """A segment of a Segmentation instance (TID 1411 row 7).

    Parameters
    ----------
    sop_class_uid, sop_instance_uid : str
        The Segmentation instance.
    segment_number : int or None
        Referenced Segment Number (0062,000B).
    frames : tuple of int or None
        Referenced frames, when the reference is to frames.
    """

    sop_class_uid: str
    sop_instance_uid: str
    segment_number: int | None
    frames: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class QualitativeEvaluation:
    """A qualitative evaluation: a CODE (or TEXT) item in a group or in the report.

    Parameters
    ----------
    name : Code or None
        The concept name.
    value : Code or str or None
        The coded value (a string for a TEXT evaluation).
    path : str
        Position id of the item.
    """

    name: Code | None
    value: Code | str | None
    path: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MeasurementGroup:
    """One measurement group (TID 1410, 1411 or 1501).

    Parameters
    ----------
    number : int
        1-based position among the report's measurement groups.
    template : str
        ``"1410"``, ``"1411"`` or ``"1501"``: declared, or inferred from content.
    tracking_identifier, tracking_unique_identifier : str or None
        TID 4108 rows.
    activity_session, time_point : str or None
        Session and Time Point (TID 1502) as stored.
    finding, finding_category, finding_site, laterality, topographical_modifier : Code or None
        What was measured and where (TID 1419 / TID 1501 rows).
    measurement_method : Code or None
        Group-level Measurement Method.
    algorithm : AlgorithmIdentification or None
        Group-level TID 4019.
    referenced_segment : SegmentReference or None
        The segment the measurements were made on (TID 1411).
    source_series_for_segmentation : str or None
        Series Instance UID of the segmented images.
    source_sop_instance_uids : tuple of str
        Source images of the group (region sources and ``Source`` images).
    region : ScoordContentItem or Scoord3DContentItem or None
        The image region (TID 1410) or volume surface (TID 1411).
    real_world_value_map : SopReference or None
        The RWVM used for the measurements.
    measurements : tuple of Measurement
        The NUM items, in order.
    qualitative : tuple of QualitativeEvaluation
        The qualitative evaluations, in order.
    path : str
        Position id of the group container.
    """

    number: int
    template: str
    tracking_identifier: str | None = None
    tracking_unique_identifier: str | None = None
    activity_session: str | None = None
    time_point: str | None = None
    finding: Code | None = None
    finding_category: Code | None = None
    finding_site: Code | None = None
    laterality: Code | None = None
    topographical_modifier: Code | None = None
    measurement_method: Code | None = None
    algorithm: AlgorithmIdentification | None = None
    referenced_segment: SegmentReference | None = None
    source_series_for_segmentation: str | None = None
    source_sop_instance_uids: tuple[str, ...] = ()
    region: ScoordContentItem | Scoord3DContentItem | None = None
    real_world_value_map: SopReference | None = None
    measurements: tuple[Measurement, ...] = ()
    qualitative: tuple[QualitativeEvaluation, ...] = ()
    path: str = ""


class _Group:
    """Mutable state while reading one group."""

    def __init__(self) -> None:
        self.fields: dict[str, object] = {}
        self.sources: list[str] = []
        self.measurements: list[Measurement] = []
        self.qualitative: list[QualitativeEvaluation] = []

    def source(self, uids: tuple[str, ...]) -> None:
        for uid in uids:
            if uid not in self.sources:
                self.sources.append(uid)

    def observation(self, item: ContentItem) -> None:
        concept = item.concept
        if isinstance(item, TextContentItem):
            if concept == TRACKING_IDENTIFIER:
                self.fields["tracking_identifier"] = item.value
            elif concept == TIME_POINT:
                self.fields["time_point"] = item.value
            elif concept == ACTIVITY_SESSION:
                self.fields["activity_session"] = item.value
        elif isinstance(item, UidRefContentItem) and concept == TRACKING_UNIQUE_IDENTIFIER:
            self.fields["tracking_unique_identifier"] = item.value

    def modifier(self, item: CodeContentItem) -> None:
        concept = item.concept
        if concept == FINDING_SITE:
            self.fields["finding_site"] = item.value
            for child in item.children:
                if not isinstance(child, CodeContentItem):
                    continue
                if child.concept == LATERALITY:
                    self.fields["laterality"] = child.value
                elif child.concept == TOPOGRAPHICAL_MODIFIER:
                    self.fields["topographical_modifier"] = child.value
        elif concept == LATERALITY:
            self.fields["laterality"] = item.value
        elif concept == MEASUREMENT_METHOD:
            self.fields["measurement_method"] = item.value

    def reference(self, item: ContentItem) -> None:
        concept = item.concept
        if isinstance(item, ImageContentItem) and item.referenced is not None:
            ref = item.referenced
            if concept is not None and concept in _SEGMENT_CONCEPTS:
                segs = item.segments or ()
                self.fields["referenced_segment"] = SegmentReference(
                    sop_class_uid=ref.sop_class_uid,
                    sop_instance_uid=ref.sop_instance_uid,
                    segment_number=segs[0] if segs else None,
                    frames=item.frames,
                )
            else:
                self.source((ref.sop_instance_uid,))
        elif isinstance(item, ScoordContentItem | Scoord3DContentItem):
            self.fields.setdefault("region", item)
            self.source(source_images_under(item))
        elif isinstance(item, CompositeContentItem) and concept == RWVM_USED:
            self.fields["real_world_value_map"] = item.referenced
        elif isinstance(item, UidRefContentItem) and concept == SOURCE_SERIES_FOR_SEGMENTATION:
            self.fields["source_series_for_segmentation"] = item.value

    def contains(self, item: ContentItem, path: str, diagnostics: list[Diagnostic]) -> None:
        concept = item.concept
        if isinstance(item, NumContentItem):
            self.measurements.append(read_measurement(item, path, diagnostics))
        elif isinstance(item, CodeContentItem) and concept == FINDING:
            self.fields["finding"] = item.value
        elif isinstance(item, CodeContentItem) and concept == FINDING_CATEGORY:
            self.fields["finding_category"] = item.value
        elif isinstance(item, CodeContentItem | TextContentItem):
            self.qualitative.append(
                QualitativeEvaluation(name=concept, value=item.value, path=path)
            )
        else:
            self.reference(item)


def _template(container: ContainerContentItem, fields: dict[str, object]) -> str:
    if container.template is not None and container.template.identifier in (
        "1410",
        "1411",
        "1501",
    ):
        return container.template.identifier
    region = fields.get("region")
    if isinstance(region, ScoordContentItem):
        return "1410"
    if isinstance(region, Scoord3DContentItem):
        return "1410" if region.concept == IMAGE_REGION else "1411"
    if "referenced_segment" in fields or "source_series_for_segmentation" in fields:
        return "1411"
    return "1501"


def read_measurement_group(
    container: ContainerContentItem, path: str, number: int, diagnostics: list[Diagnostic]
) -> MeasurementGroup:
    """Read a ``Measurement Group`` container of TID 1410, 1411 or 1501.

    Parameters
    ----------
    container : ContainerContentItem
        The group.
    path : str
        Its position id.
    number : int
        1-based position among the report's groups.
    diagnostics : list of Diagnostic
        Problems are appended: no tracking identifier, no finding, measurement problems.

    Returns
    -------
    MeasurementGroup
        The record; problems never stop it from being built.
    """
    acc = _Group()
    for n, item in enumerate(container.children, start=1):
        rel = item.relationship
        if rel == _OBS:
            acc.observation(item)
        elif rel == _MOD and isinstance(item, CodeContentItem):
            acc.modifier(item)
        elif rel == "CONTAINS":
            acc.contains(item, f"{path}.{n}", diagnostics)
    fields = acc.fields
    template = _template(container, fields)
    for key, what in (
        ("tracking_identifier", "Tracking Identifier (112039, DCM)"),
        ("tracking_unique_identifier", "Tracking Unique Identifier (112040, DCM)"),
    ):
        if not fields.get(key):
            diagnostics.append(
                Diagnostic(
                    path=path,
                    severity=Severity.WARNING,
                    message=f"measurement group {number} (TID {template}) has no {what}",
                )
            )
    if fields.get("finding") is None:
        diagnostics.append(
            Diagnostic(
                path=path,
                severity=Severity.WARNING,
                message=f"measurement group {number} (TID {template}) has no Finding (121071, DCM)",
            )
        )
    return MeasurementGroup(
        number=number,
        template=template,
        algorithm=read_algorithm(container.children),
        source_sop_instance_uids=tuple(acc.sources),
        measurements=tuple(acc.measurements),
        qualitative=tuple(acc.qualitative),
        path=path,
        **fields,  # type: ignore[arg-type]
    )
