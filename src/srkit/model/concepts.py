"""Concept codes srkit's layers share, each defined once (PS3.16 templates and context groups).

Every code here names a concept that more than one layer looks for (the template
readers and builders of ``templates/``, the rules of ``validate/``, the pages of
``render/``, the index of ``db/``), or that belongs to the same template rows as one
that does. Each constant is named by its meaning and says the template row or context
group it comes from (PS3.16 Annex A templates, Annex B context groups, Annex D DCM
codes). The Code Meaning is the one srkit writes when it builds a document; equality
ignores it (:class:`~srkit.model.code.Code`).

Pure data: no pydicom, no I/O. The *standard meaning* of an arbitrary code (pydicom's
concept dictionary) is looked up by :mod:`srkit.templates.concepts`.
"""

from __future__ import annotations

from srkit.model.code import Code

__all__ = [
    # document titles (root concept names)
    "IMAGING_MEASUREMENT_REPORT",
    "XRAY_RADIATION_DOSE_REPORT",
    # TID 1204, TID 1500
    "LANGUAGE",
    "COUNTRY_OF_LANGUAGE",
    "PROCEDURE_REPORTED",
    "IMAGE_LIBRARY",
    "IMAGE_LIBRARY_GROUP",
    "IMAGING_MEASUREMENTS",
    "DERIVED_IMAGING_MEASUREMENTS",
    "QUALITATIVE_EVALUATIONS",
    # TID 1501, 1410, 1411, 4108, 1502
    "MEASUREMENT_GROUP",
    "TRACKING_IDENTIFIER",
    "TRACKING_UNIQUE_IDENTIFIER",
    "FINDING",
    "FINDING_CATEGORY",
    "TIME_POINT",
    "ACTIVITY_SESSION",
    "IMAGE_REGION",
    "VOLUME_SURFACE",
    "REGION_IN_SPACE",
    "REFERENCED_SEGMENT",
    "REFERENCED_SEGMENTATION_FRAME",
    "SOURCE_SERIES_FOR_SEGMENTATION",
    "SOURCE_IMAGE_FOR_SEGMENTATION",
    "REAL_WORLD_VALUE_MAP_USED",
    # TID 1419, TID 300, TID 4019
    "DERIVATION",
    "MEASUREMENT_METHOD",
    "FINDING_SITE",
    "LATERALITY",
    "TOPOGRAPHICAL_MODIFIER",
    "ALGORITHM_NAME",
    "ALGORITHM_VERSION",
    "ALGORITHM_PARAMETERS",
    "POPULATION_DESCRIPTION",
    # TID 10001, 10011 and their sub-templates
    "START_OF_XRAY_IRRADIATION",
    "END_OF_XRAY_IRRADIATION",
    "SCOPE_OF_ACCUMULATION",
    "SOURCE_OF_DOSE_INFORMATION",
    "CT_ACCUMULATED_DOSE_DATA",
    "CT_ACQUISITION",
    "CT_ACQUISITION_TYPE",
    "CONSTANT_ANGLE_ACQUISITION",
    "ACCUMULATED_XRAY_DOSE_DATA",
    "IRRADIATION_EVENT_XRAY_DATA",
    "CT_PROCEDURE",
    "PROJECTION_XRAY",
    "MAMMOGRAPHY",
]

# ---------------------------------------------------------------- document titles

IMAGING_MEASUREMENT_REPORT = Code.make("126000", "DCM", "Imaging Measurement Report")
"""Document title of TID 1500 Measurement Report (PS3.16 TID 1500, DCID 7021)."""
XRAY_RADIATION_DOSE_REPORT = Code.make("113701", "DCM", "X-Ray Radiation Dose Report")
"""Document title of TID 10001 and TID 10011 (PS3.16)."""

# ---------------------------------------------------------------- TID 1204, TID 1500

LANGUAGE = Code.make("121049", "DCM", "Language of Content Item and Descendants")
"""PS3.16 TID 1204 (included by TID 1500, TID 2000, TID 2010)."""
COUNTRY_OF_LANGUAGE = Code.make("121046", "DCM", "Country of Language")
"""PS3.16 TID 1204 (modifier of Language)."""
PROCEDURE_REPORTED = Code.make("121058", "DCM", "Procedure reported")
"""PS3.16 TID 1500, TID 10001, TID 10011."""
IMAGE_LIBRARY = Code.make("111028", "DCM", "Image Library")
"""PS3.16 TID 1600 (included by TID 1500)."""
IMAGE_LIBRARY_GROUP = Code.make("126200", "DCM", "Image Library Group")
"""PS3.16 TID 1600."""
IMAGING_MEASUREMENTS = Code.make("126010", "DCM", "Imaging Measurements")
"""PS3.16 TID 1500 (container of TID 1501 / 1410 / 1411 groups)."""
DERIVED_IMAGING_MEASUREMENTS = Code.make("126011", "DCM", "Derived Imaging Measurements")
"""PS3.16 TID 1500."""
QUALITATIVE_EVALUATIONS = Code.make("C0034375", "UMLS", "Qualitative Evaluations")
"""PS3.16 TID 1500 row 12."""

# ---------------------------------------------------------------- measurement groups

MEASUREMENT_GROUP = Code.make("125007", "DCM", "Measurement Group")
"""PS3.16 TID 1501 / 1410 / 1411 row 1."""
TRACKING_IDENTIFIER = Code.make("112039", "DCM", "Tracking Identifier")
"""PS3.16 TID 4108 (TID 1501 row 2)."""
TRACKING_UNIQUE_IDENTIFIER = Code.make("112040", "DCM", "Tracking Unique Identifier")
"""PS3.16 TID 4108 (TID 1501 row 3)."""
FINDING = Code.make("121071", "DCM", "Finding")
"""PS3.16 TID 1501 row 3b, TID 1410, TID 1411."""
FINDING_CATEGORY = Code.make("276214006", "SCT", "Finding category")
"""PS3.16 TID 1501, TID 1410, TID 1411 Finding category row: the concept name is
(276214006, SCT, "Finding category"), its value a category such as (91723000, SCT,
"Anatomical structure") or (49755003, SCT, "Morphologically Abnormal Structure").
Not (130400, DCM): that DCM code is "Geometric purpose of region" (PS3.16 Annex D),
a different concept."""
TIME_POINT = Code.make("C2348792", "UMLS", "Time Point")
"""PS3.16 TID 1502."""
ACTIVITY_SESSION = Code.make("C67447", "NCIt", "Activity Session")
"""PS3.16 TID 1501 / 1410 / 1411 row 1b."""
IMAGE_REGION = Code.make("111030", "DCM", "Image Region")
"""PS3.16 TID 1410 (SCOORD / SCOORD3D region), TID 1411 (SCOORD3D)."""
VOLUME_SURFACE = Code.make("121231", "DCM", "Volume Surface")
"""PS3.16 TID 1411 (SCOORD3D surface)."""
REGION_IN_SPACE = Code.make("130488", "DCM", "Region in Space")
"""PS3.16 TID 1410 (SCOORD3D region in space)."""
REFERENCED_SEGMENT = Code.make("121191", "DCM", "Referenced Segment")
"""PS3.16 TID 1411 row 7."""
REFERENCED_SEGMENTATION_FRAME = Code.make("121214", "DCM", "Referenced Segmentation Frame")
"""PS3.16 TID 1411."""
SOURCE_SERIES_FOR_SEGMENTATION = Code.make("121232", "DCM", "Source series for segmentation")
"""PS3.16 TID 1411."""
SOURCE_IMAGE_FOR_SEGMENTATION = Code.make("121233", "DCM", "Source image for segmentation")
"""PS3.16 TID 1411."""
REAL_WORLD_VALUE_MAP_USED = Code.make("126100", "DCM", "Real World Value Map used for measurement")
"""PS3.16 TID 1501 row 9, TID 300."""

# ---------------------------------------------------------------- TID 1419, 300, 4019

DERIVATION = Code.make("121401", "DCM", "Derivation")
"""PS3.16 TID 300 / TID 1419 Derivation row (value DCID 7464 "General Region of
Interest Measurement Modifier": Mean, Maximum, Standard Deviation ...)."""
MEASUREMENT_METHOD = Code.make("370129005", "SCT", "Measurement Method")
"""PS3.16 TID 300, TID 1419, TID 1501 row 5."""
FINDING_SITE = Code.make("363698007", "SCT", "Finding Site")
"""PS3.16 TID 300, TID 1419, TID 1501 row 6."""
LATERALITY = Code.make("272741003", "SCT", "Laterality")
"""PS3.16 TID 300, TID 1501 row 7 (value DCID 244 "Laterality")."""
TOPOGRAPHICAL_MODIFIER = Code.make("106233006", "SCT", "Topographical modifier")
"""PS3.16 TID 300, TID 1501 row 8."""
ALGORITHM_NAME = Code.make("111001", "DCM", "Algorithm Name")
"""PS3.16 TID 4019."""
ALGORITHM_VERSION = Code.make("111003", "DCM", "Algorithm Version")
"""PS3.16 TID 4019."""
ALGORITHM_PARAMETERS = Code.make("111002", "DCM", "Algorithm Parameters")
"""PS3.16 TID 4019."""
POPULATION_DESCRIPTION = Code.make("121405", "DCM", "Population description")
"""PS3.16 TID 311 (measurement statistical properties)."""

# ---------------------------------------------------------------- dose (TID 10001, 10011)

START_OF_XRAY_IRRADIATION = Code.make("113809", "DCM", "Start of X-Ray Irradiation")
"""PS3.16 TID 10011."""
END_OF_XRAY_IRRADIATION = Code.make("113810", "DCM", "End of X-Ray Irradiation")
"""PS3.16 TID 10011."""
SCOPE_OF_ACCUMULATION = Code.make("113705", "DCM", "Scope of Accumulation")
"""PS3.16 TID 10001 / 10011 (value DCID 10000)."""
SOURCE_OF_DOSE_INFORMATION = Code.make("113854", "DCM", "Source of Dose Information")
"""PS3.16 TID 10011 (value DCID 10021)."""
CT_ACCUMULATED_DOSE_DATA = Code.make("113811", "DCM", "CT Accumulated Dose Data")
"""PS3.16 TID 10012 (included by TID 10011)."""
CT_ACQUISITION = Code.make("113819", "DCM", "CT Acquisition")
"""PS3.16 TID 10013 (one per irradiation event)."""
CT_ACQUISITION_TYPE = Code.make("113820", "DCM", "CT Acquisition Type")
"""PS3.16 TID 10013 (value DCID 10013)."""
CONSTANT_ANGLE_ACQUISITION = Code.make("113805", "DCM", "Constant Angle Acquisition")
"""PS3.16 CID 10013 CT Acquisition Type."""
ACCUMULATED_XRAY_DOSE_DATA = Code.make("113702", "DCM", "Accumulated X-Ray Dose Data")
"""PS3.16 TID 10002 (included by TID 10001)."""
IRRADIATION_EVENT_XRAY_DATA = Code.make("113706", "DCM", "Irradiation Event X-Ray Data")
"""PS3.16 TID 10003 (one per irradiation event)."""
CT_PROCEDURE = Code.make("77477000", "SCT", "Computed Tomography X-Ray")
"""Procedure reported of a CT dose report (PS3.16 TID 10011; SRT P5-08000 equals it)."""
PROJECTION_XRAY = Code.make("113704", "DCM", "Projection X-Ray")
"""Procedure reported of a projection X-ray dose report (PS3.16 TID 10001)."""
MAMMOGRAPHY = Code.make("71651007", "SCT", "Mammography")
"""Procedure reported of a mammography dose report (PS3.16 TID 10001)."""
