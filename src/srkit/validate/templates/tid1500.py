"""TID 1500 Measurement Report with TID 1501, 1410, 1411 and 1419 (PS3.16 Annex A).

The measurement group variant is chosen from the group's content: an Image Region
(SCOORD/SCOORD3D) makes it TID 1410 Planar ROI Measurements and Qualitative
Evaluations, a Referenced Segment or Segmentation Frame makes it TID 1411
Volumetric ROI Measurements and Qualitative Evaluations, otherwise it is TID 1501
Measurement and Qualitative Evaluation Group.
"""

from __future__ import annotations

from collections.abc import Iterator

from srkit.diagnostics import Diagnostic, Severity
from srkit.model.concepts import (
    DERIVATION,
    DERIVED_IMAGING_MEASUREMENTS,
    FINDING,
    FINDING_CATEGORY,
    FINDING_SITE,
    IMAGE_LIBRARY,
    IMAGE_REGION,
    IMAGING_MEASUREMENTS,
    LANGUAGE,
    MEASUREMENT_GROUP,
    MEASUREMENT_METHOD,
    PROCEDURE_REPORTED,
    QUALITATIVE_EVALUATIONS,
    REFERENCED_SEGMENT,
    REFERENCED_SEGMENTATION_FRAME,
    SOURCE_SERIES_FOR_SEGMENTATION,
    TRACKING_IDENTIFIER,
    TRACKING_UNIQUE_IDENTIFIER,
)
from srkit.model.items import ContentItem
from srkit.validate.templates.engine import Row, Template, check

__all__ = [
    "MEASUREMENT_REPORT",
    "MEASUREMENT_GROUP",
    "ROI_MEASUREMENT",
    "TID1410",
    "TID1411",
    "TID1501",
    "group_template",
]

DERIVED_MEASUREMENTS = DERIVED_IMAGING_MEASUREMENTS
TRACKING_ID = TRACKING_IDENTIFIER
TRACKING_UID = TRACKING_UNIQUE_IDENTIFIER
SOURCE_SERIES = SOURCE_SERIES_FOR_SEGMENTATION

ROI_MEASUREMENT = Template(
    "1419",
    "ROI Measurements (measurement)",
    (
        Row(DERIVATION, "CODE", "HAS CONCEPT MOD", cid=7464),
        Row(MEASUREMENT_METHOD, "CODE", "HAS CONCEPT MOD"),
        Row(FINDING_SITE, "CODE", "HAS CONCEPT MOD"),
        Row(TRACKING_UID, "UIDREF", "HAS OBS CONTEXT"),
    ),
)
"""The modifiers of each NUM of TID 1419 / TID 300 (only those srkit checks)."""

_MEASUREMENT = Row(None, "NUM", "CONTAINS", max=None, template=ROI_MEASUREMENT)


def _common_rows() -> tuple[Row, ...]:
    return (
        Row(TRACKING_ID, "TEXT", "HAS OBS CONTEXT", min=1),
        Row(TRACKING_UID, "UIDREF", "HAS OBS CONTEXT", min=1),
        Row(FINDING, "CODE", "CONTAINS"),
        Row(FINDING_SITE, "CODE", "HAS CONCEPT MOD"),
        _MEASUREMENT,
    )


def _has_evaluation(path: str, item: ContentItem) -> Iterator[Diagnostic]:
    """At least one measurement (NUM) or qualitative evaluation (CODE/TEXT) (TID 1501,
    1410, 1411: the measurement and evaluation rows are MC, one of them required).

    The Finding and the Finding category rows of the group are neither: Finding
    category is (276214006, SCT, "Finding category") (PS3.16 TID 1501; see
    :data:`srkit.model.concepts.FINDING_CATEGORY`).
    """
    skip = {FINDING, FINDING_CATEGORY}
    for child in item.children:
        if child.value_type == "NUM":
            return
        if (
            child.relationship == "CONTAINS"
            and child.value_type in ("CODE", "TEXT")
            and child.concept is not None
            and child.concept not in skip
        ):
            return
    yield Diagnostic(
        path=path,
        severity=Severity.ERROR,
        message="Measurement Group has no measurement (NUM) and no qualitative evaluation",
    )


TID1501 = Template(
    "1501",
    "Measurement and Qualitative Evaluation Group",
    _common_rows(),
    (_has_evaluation,),
)
TID1410 = Template(
    "1410",
    "Planar ROI Measurements and Qualitative Evaluations",
    (*_common_rows(), Row(IMAGE_REGION, "SCOORD SCOORD3D", "CONTAINS", min=1)),
    (_has_evaluation,),
)
TID1411 = Template(
    "1411",
    "Volumetric ROI Measurements and Qualitative Evaluations",
    (
        *_common_rows(),
        Row(REFERENCED_SEGMENT, "IMAGE", "CONTAINS"),
        Row(REFERENCED_SEGMENTATION_FRAME, "IMAGE", "CONTAINS"),
        Row(SOURCE_SERIES, "UIDREF", "CONTAINS"),
        Row(IMAGE_REGION, "SCOORD3D", "CONTAINS", max=None),
    ),
    (_has_evaluation,),
)


def group_template(group: ContentItem) -> Template:
    """Which TID a Measurement Group follows, judged from its content."""
    names = [c.concept for c in group.children if c.concept is not None]
    if IMAGE_REGION in names and any(
        c.value_type == "SCOORD" for c in group.children if c.concept == IMAGE_REGION
    ):
        return TID1410
    if REFERENCED_SEGMENT in names or REFERENCED_SEGMENTATION_FRAME in names:
        return TID1411
    if IMAGE_REGION in names:
        return TID1410
    return TID1501


def _groups(path: str, item: ContentItem) -> Iterator[Diagnostic]:
    for n, child in enumerate(item.children, 1):
        if child.concept is not None and child.concept == MEASUREMENT_GROUP:
            yield from check(group_template(child), f"{path}.{n}", child)


IMAGING_MEASUREMENTS_TEMPLATE = Template(
    "1500",
    "Imaging Measurements",
    (Row(MEASUREMENT_GROUP, "CONTAINER", "CONTAINS", min=1, max=None),),
    (_groups,),
)


def _one_section(path: str, item: ContentItem) -> Iterator[Diagnostic]:
    names = [c.concept for c in item.children]
    wanted = (IMAGING_MEASUREMENTS, DERIVED_MEASUREMENTS, QUALITATIVE_EVALUATIONS)
    if not any(w in names for w in wanted):
        yield Diagnostic(
            path=path,
            severity=Severity.ERROR,
            message="TID 1500 Measurement Report: none of Imaging Measurements, "
            "Derived Imaging Measurements, Qualitative Evaluations is present "
            "(one is required)",
        )


MEASUREMENT_REPORT = Template(
    "1500",
    "Measurement Report",
    (
        Row(LANGUAGE, "CODE", "HAS CONCEPT MOD", min=1),
        Row(PROCEDURE_REPORTED, "CODE", "HAS CONCEPT MOD", min=1, max=None),
        Row(IMAGE_LIBRARY, "CONTAINER", "CONTAINS"),
        Row(IMAGING_MEASUREMENTS, "CONTAINER", "CONTAINS", template=IMAGING_MEASUREMENTS_TEMPLATE),
        Row(DERIVED_MEASUREMENTS, "CONTAINER", "CONTAINS"),
        Row(QUALITATIVE_EVALUATIONS, "CONTAINER", "CONTAINS"),
    ),
    (_one_section,),
)
"""TID 1500 Measurement Report (root, concept from CID 7021)."""
