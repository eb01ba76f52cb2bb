"""SR storage SOP classes (PS3.4 Annex B.5), retired trial classes included."""

from __future__ import annotations

__all__ = [
    "SR_SOP_CLASSES",
    "is_sr_sop_class",
    "sop_class_name",
    "BASIC_TEXT_SR",
    "ENHANCED_SR",
    "COMPREHENSIVE_SR",
    "COMPREHENSIVE_3D_SR",
    "KEY_OBJECT_SELECTION",
    "XRAY_RADIATION_DOSE_SR",
]

BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"
ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
COMPREHENSIVE_SR = "1.2.840.10008.5.1.4.1.1.88.33"
COMPREHENSIVE_3D_SR = "1.2.840.10008.5.1.4.1.1.88.34"
KEY_OBJECT_SELECTION = "1.2.840.10008.5.1.4.1.1.88.59"
XRAY_RADIATION_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"

SR_SOP_CLASSES: dict[str, str] = {
    "1.2.840.10008.5.1.4.1.1.88.1": "Text SR Storage - Trial (retired)",
    "1.2.840.10008.5.1.4.1.1.88.2": "Audio SR Storage - Trial (retired)",
    "1.2.840.10008.5.1.4.1.1.88.3": "Detail SR Storage - Trial (retired)",
    "1.2.840.10008.5.1.4.1.1.88.4": "Comprehensive SR Storage - Trial (retired)",
    BASIC_TEXT_SR: "Basic Text SR",
    ENHANCED_SR: "Enhanced SR",
    COMPREHENSIVE_SR: "Comprehensive SR",
    COMPREHENSIVE_3D_SR: "Comprehensive 3D SR",
    "1.2.840.10008.5.1.4.1.1.88.35": "Extensible SR",
    "1.2.840.10008.5.1.4.1.1.88.40": "Procedure Log",
    "1.2.840.10008.5.1.4.1.1.88.50": "Mammography CAD SR",
    KEY_OBJECT_SELECTION: "Key Object Selection Document",
    "1.2.840.10008.5.1.4.1.1.88.65": "Chest CAD SR",
    XRAY_RADIATION_DOSE_SR: "X-Ray Radiation Dose SR",
    "1.2.840.10008.5.1.4.1.1.88.68": "Radiopharmaceutical Radiation Dose SR",
    "1.2.840.10008.5.1.4.1.1.88.69": "Colon CAD SR",
    "1.2.840.10008.5.1.4.1.1.88.70": "Implantation Plan SR",
    "1.2.840.10008.5.1.4.1.1.88.71": "Acquisition Context SR",
    "1.2.840.10008.5.1.4.1.1.88.72": "Simplified Adult Echo SR",
    "1.2.840.10008.5.1.4.1.1.88.73": "Patient Radiation Dose SR",
    "1.2.840.10008.5.1.4.1.1.88.74": "Planned Imaging Agent Administration SR",
    "1.2.840.10008.5.1.4.1.1.88.75": "Performed Imaging Agent Administration SR",
    "1.2.840.10008.5.1.4.1.1.88.76": "Enhanced X-Ray Radiation Dose SR",
    "1.2.840.10008.5.1.4.1.1.88.77": "Waveform Annotation SR",
}
"""SOP Class UID -> name of every SR storage SOP class."""


def is_sr_sop_class(uid: str) -> bool:
    """True for every SR storage SOP class, retired ones included."""
    return uid in SR_SOP_CLASSES


def sop_class_name(uid: str) -> str:
    """A readable name for any SOP class (SR or not), the UID when unknown."""
    if uid in SR_SOP_CLASSES:
        return SR_SOP_CLASSES[uid]
    from pydicom.uid import UID

    name = UID(uid).name
    return name.removesuffix(" Storage") if name else uid
