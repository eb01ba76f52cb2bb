"""SOP classes srkit names: SR storage classes and the non-SR classes SR documents reference.

The SR storage SOP classes are those of PS3.4 Annex B.5 (Table B.5-1), retired trial
classes (PS3.6 Annex A) included; the image and other storage classes are those srkit's
templates, validators and network services refer to by name (PS3.4 Table B.5-1 as well).
Every UID is written here once; ``codec/``, ``templates/``, ``validate/``, ``db/`` and
``net/`` import them.

Pure data: no pydicom, no I/O. A readable name for a UID srkit does not list comes from
:func:`srkit.codec.sopclass.sop_class_name`, which asks pydicom's UID dictionary.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "SopClassKind",
    "SopClass",
    "SOP_CLASSES",
    "SR_SOP_CLASSES",
    "SINGLE_FRAME_IMAGE_CLASSES",
    "is_sr_sop_class",
    "known_sop_class_name",
    "BASIC_TEXT_SR",
    "ENHANCED_SR",
    "COMPREHENSIVE_SR",
    "COMPREHENSIVE_3D_SR",
    "EXTENSIBLE_SR",
    "KEY_OBJECT_SELECTION",
    "XRAY_RADIATION_DOSE_SR",
    "ENHANCED_XRAY_RADIATION_DOSE_SR",
    "CT_IMAGE",
    "MR_IMAGE",
    "SEGMENTATION",
    "LABEL_MAP_SEGMENTATION",
    "REAL_WORLD_VALUE_MAPPING",
    "VERIFICATION",
    "MEDIA_STORAGE_DIRECTORY",
    "PATIENT_ROOT_QR",
    "STUDY_ROOT_QR",
    "PATIENT_ROOT_QR_FIND",
    "PATIENT_ROOT_QR_MOVE",
    "PATIENT_ROOT_QR_GET",
    "STUDY_ROOT_QR_FIND",
    "STUDY_ROOT_QR_MOVE",
    "STUDY_ROOT_QR_GET",
    "SR_PREFIX",
]


class SopClassKind(StrEnum):
    """What instances of a SOP class hold."""

    SR = "sr"
    """A Structured Report storage class (PS3.3 A.35), KOS included."""
    IMAGE = "image"
    """An image storage class."""
    SEGMENTATION = "segmentation"
    """Segmentation storage (PS3.3 A.51)."""
    OTHER = "other"
    """Any other storage class srkit names (RWVM ...)."""
    SERVICE = "service"
    """A non-storage service class (Verification, Query/Retrieve)."""


@dataclass(frozen=True, slots=True)
class SopClass:
    """One SOP class: its UID, its name and its kind.

    Parameters
    ----------
    uid : str
        SOP Class UID.
    name : str
        Name as PS3.4 / PS3.6 gives it, without the trailing "Storage".
    kind : SopClassKind
        What instances of the class hold.
    retired : bool
        Retired in PS3.6 Annex A.
    single_frame : bool
        An image class whose instances have one frame (no Referenced Frame Number in
        a reference to them, PS3.3 C.17.3.2.1).
    """

    uid: str
    name: str
    kind: SopClassKind
    retired: bool = False
    single_frame: bool = False


SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
"""Root of every SR storage SOP Class UID (PS3.6 Annex A)."""

BASIC_TEXT_SR = SR_PREFIX + "11"
ENHANCED_SR = SR_PREFIX + "22"
COMPREHENSIVE_SR = SR_PREFIX + "33"
COMPREHENSIVE_3D_SR = SR_PREFIX + "34"
EXTENSIBLE_SR = SR_PREFIX + "35"
KEY_OBJECT_SELECTION = SR_PREFIX + "59"
XRAY_RADIATION_DOSE_SR = SR_PREFIX + "67"
ENHANCED_XRAY_RADIATION_DOSE_SR = SR_PREFIX + "76"

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"
LABEL_MAP_SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.7"
REAL_WORLD_VALUE_MAPPING = "1.2.840.10008.5.1.4.1.1.67"
VERIFICATION = "1.2.840.10008.1.1"
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
"""A DICOMDIR (PS3.10 Section 8.6; never an instance of the archive)."""

PATIENT_ROOT_QR = "1.2.840.10008.5.1.4.1.2.1."
"""Root of the Patient Root Query/Retrieve Information Model classes (PS3.4 C.6.1)."""
STUDY_ROOT_QR = "1.2.840.10008.5.1.4.1.2.2."
"""Root of the Study Root Query/Retrieve Information Model classes (PS3.4 C.6.2)."""
PATIENT_ROOT_QR_FIND = PATIENT_ROOT_QR + "1"
PATIENT_ROOT_QR_MOVE = PATIENT_ROOT_QR + "2"
PATIENT_ROOT_QR_GET = PATIENT_ROOT_QR + "3"
STUDY_ROOT_QR_FIND = STUDY_ROOT_QR + "1"
STUDY_ROOT_QR_MOVE = STUDY_ROOT_QR + "2"
STUDY_ROOT_QR_GET = STUDY_ROOT_QR + "3"

_SR = SopClassKind.SR
_IMAGE = SopClassKind.IMAGE

_TABLE: tuple[SopClass, ...] = (
    # SR storage (PS3.4 Table B.5-1; trial classes retired, PS3.6 Annex A)
    SopClass(SR_PREFIX + "1", "Text SR Storage - Trial (retired)", _SR, retired=True),
    SopClass(SR_PREFIX + "2", "Audio SR Storage - Trial (retired)", _SR, retired=True),
    SopClass(SR_PREFIX + "3", "Detail SR Storage - Trial (retired)", _SR, retired=True),
    SopClass(SR_PREFIX + "4", "Comprehensive SR Storage - Trial (retired)", _SR, retired=True),
    SopClass(BASIC_TEXT_SR, "Basic Text SR", _SR),
    SopClass(ENHANCED_SR, "Enhanced SR", _SR),
    SopClass(COMPREHENSIVE_SR, "Comprehensive SR", _SR),
    SopClass(COMPREHENSIVE_3D_SR, "Comprehensive 3D SR", _SR),
    SopClass(EXTENSIBLE_SR, "Extensible SR", _SR),
    SopClass(SR_PREFIX + "40", "Procedure Log", _SR),
    SopClass(SR_PREFIX + "50", "Mammography CAD SR", _SR),
    SopClass(KEY_OBJECT_SELECTION, "Key Object Selection Document", _SR),
    SopClass(SR_PREFIX + "65", "Chest CAD SR", _SR),
    SopClass(XRAY_RADIATION_DOSE_SR, "X-Ray Radiation Dose SR", _SR),
    SopClass(SR_PREFIX + "68", "Radiopharmaceutical Radiation Dose SR", _SR),
    SopClass(SR_PREFIX + "69", "Colon CAD SR", _SR),
    SopClass(SR_PREFIX + "70", "Implantation Plan SR", _SR),
    SopClass(SR_PREFIX + "71", "Acquisition Context SR", _SR),
    SopClass(SR_PREFIX + "72", "Simplified Adult Echo SR", _SR),
    SopClass(SR_PREFIX + "73", "Patient Radiation Dose SR", _SR),
    SopClass(SR_PREFIX + "74", "Planned Imaging Agent Administration SR", _SR),
    SopClass(SR_PREFIX + "75", "Performed Imaging Agent Administration SR", _SR),
    SopClass(ENHANCED_XRAY_RADIATION_DOSE_SR, "Enhanced X-Ray Radiation Dose SR", _SR),
    SopClass(SR_PREFIX + "77", "Waveform Annotation SR", _SR),
    # single-frame image storage (PS3.4 Table B.5-1)
    SopClass("1.2.840.10008.5.1.4.1.1.1", "Computed Radiography Image", _IMAGE, single_frame=True),
    SopClass(
        "1.2.840.10008.5.1.4.1.1.1.1",
        "Digital X-Ray Image - For Presentation",
        _IMAGE,
        single_frame=True,
    ),
    SopClass(
        "1.2.840.10008.5.1.4.1.1.1.1.1",
        "Digital X-Ray Image - For Processing",
        _IMAGE,
        single_frame=True,
    ),
    SopClass(
        "1.2.840.10008.5.1.4.1.1.1.2",
        "Digital Mammography X-Ray Image - For Presentation",
        _IMAGE,
        single_frame=True,
    ),
    SopClass(
        "1.2.840.10008.5.1.4.1.1.1.2.1",
        "Digital Mammography X-Ray Image - For Processing",
        _IMAGE,
        single_frame=True,
    ),
    SopClass(
        "1.2.840.10008.5.1.4.1.1.1.3",
        "Digital Intra-Oral X-Ray Image - For Presentation",
        _IMAGE,
        single_frame=True,
    ),
    SopClass(
        "1.2.840.10008.5.1.4.1.1.1.3.1",
        "Digital Intra-Oral X-Ray Image - For Processing",
        _IMAGE,
        single_frame=True,
    ),
    SopClass(CT_IMAGE, "CT Image", _IMAGE, single_frame=True),
    SopClass(MR_IMAGE, "MR Image", _IMAGE, single_frame=True),
    SopClass("1.2.840.10008.5.1.4.1.1.6.1", "Ultrasound Image", _IMAGE, single_frame=True),
    SopClass("1.2.840.10008.5.1.4.1.1.7", "Secondary Capture Image", _IMAGE, single_frame=True),
    SopClass(
        "1.2.840.10008.5.1.4.1.1.128",
        "Positron Emission Tomography Image",
        _IMAGE,
        single_frame=True,
    ),
    SopClass(
        "1.2.840.10008.5.1.4.1.1.77.1.4",
        "VL Photographic Image",
        _IMAGE,
        single_frame=True,
    ),
    # objects SR documents reference (PS3.16 TID 1411, TID 1501)
    SopClass(SEGMENTATION, "Segmentation", SopClassKind.SEGMENTATION),
    SopClass(LABEL_MAP_SEGMENTATION, "Label Map Segmentation", SopClassKind.SEGMENTATION),
    SopClass(REAL_WORLD_VALUE_MAPPING, "Real World Value Mapping", SopClassKind.OTHER),
    SopClass(MEDIA_STORAGE_DIRECTORY, "Media Storage Directory", SopClassKind.OTHER),
    # services (PS3.4 Annex A; Query/Retrieve, PS3.4 C.6.1, C.6.2)
    SopClass(VERIFICATION, "Verification", SopClassKind.SERVICE),
    SopClass(
        PATIENT_ROOT_QR_FIND,
        "Patient Root Query/Retrieve Information Model - FIND",
        SopClassKind.SERVICE,
    ),
    SopClass(
        PATIENT_ROOT_QR_MOVE,
        "Patient Root Query/Retrieve Information Model - MOVE",
        SopClassKind.SERVICE,
    ),
    SopClass(
        PATIENT_ROOT_QR_GET,
        "Patient Root Query/Retrieve Information Model - GET",
        SopClassKind.SERVICE,
    ),
    SopClass(
        STUDY_ROOT_QR_FIND,
        "Study Root Query/Retrieve Information Model - FIND",
        SopClassKind.SERVICE,
    ),
    SopClass(
        STUDY_ROOT_QR_MOVE,
        "Study Root Query/Retrieve Information Model - MOVE",
        SopClassKind.SERVICE,
    ),
    SopClass(
        STUDY_ROOT_QR_GET, "Study Root Query/Retrieve Information Model - GET", SopClassKind.SERVICE
    ),
)

SOP_CLASSES: dict[str, SopClass] = {c.uid: c for c in _TABLE}
"""SOP Class UID -> :class:`SopClass`, for every class srkit names."""

SR_SOP_CLASSES: dict[str, str] = {c.uid: c.name for c in _TABLE if c.kind is _SR}
"""SOP Class UID -> name of every SR storage SOP class (PS3.4 Annex B.5)."""

SINGLE_FRAME_IMAGE_CLASSES: frozenset[str] = frozenset(c.uid for c in _TABLE if c.single_frame)
"""Image storage classes that are single-frame: Referenced Frame Number (0008,1160)
shall not be present in a reference to them (PS3.3 C.17.3.2.1 / Table 10-3)."""


def is_sr_sop_class(uid: str) -> bool:
    """True for every SR storage SOP class, retired ones included."""
    return uid in SR_SOP_CLASSES


def known_sop_class_name(uid: str) -> str | None:
    """The name srkit gives ``uid``; ``None`` for a class it does not list."""
    found = SOP_CLASSES.get(uid)
    return found.name if found is not None else None
