"""Image storage SOP classes the loading plugins know (PS3.4 Annex B.5)."""

from __future__ import annotations

__all__ = [
    "CT_IMAGE",
    "MR_IMAGE",
    "PET_IMAGE",
    "ENHANCED_CT_IMAGE",
    "ENHANCED_MR_IMAGE",
    "SEGMENTATION",
    "LABEL_MAP_SEGMENTATION",
    "SINGLE_FRAME_IMAGES",
    "MULTI_FRAME_IMAGES",
    "SINGLE_FRAME_CONFIDENCE",
]

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
PET_IMAGE = "1.2.840.10008.5.1.4.1.1.128"
ENHANCED_CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2.1"
ENHANCED_MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4.1"
SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"
LABEL_MAP_SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.7"

SINGLE_FRAME_IMAGES: dict[str, str] = {
    CT_IMAGE: "CT Image Storage",
    MR_IMAGE: "MR Image Storage",
    PET_IMAGE: "Positron Emission Tomography Image Storage",
    "1.2.840.10008.5.1.4.1.1.20": "Nuclear Medicine Image Storage",
    "1.2.840.10008.5.1.4.1.1.7": "Secondary Capture Image Storage",
    "1.2.840.10008.5.1.4.1.1.1": "Computed Radiography Image Storage",
    "1.2.840.10008.5.1.4.1.1.1.1": "Digital X-Ray Image Storage - For Presentation",
}
"""SOP classes the scalar volume plugin examines."""

MULTI_FRAME_IMAGES: dict[str, str] = {
    ENHANCED_CT_IMAGE: "Enhanced CT Image Storage",
    "1.2.840.10008.5.1.4.1.1.2.2": "Legacy Converted Enhanced CT Image Storage",
    ENHANCED_MR_IMAGE: "Enhanced MR Image Storage",
    "1.2.840.10008.5.1.4.1.1.4.4": "Legacy Converted Enhanced MR Image Storage",
    "1.2.840.10008.5.1.4.1.1.130": "Enhanced PET Image Storage",
    "1.2.840.10008.5.1.4.1.1.128.1": "Legacy Converted Enhanced PET Image Storage",
}
"""Multi-frame SOP classes with per-frame functional groups (the enhanced plugin)."""

SINGLE_FRAME_CONFIDENCE: dict[str, float] = {CT_IMAGE: 0.5, MR_IMAGE: 0.5, PET_IMAGE: 0.5}
"""Confidence of a whole series per SOP class; others get 0.3 (a volume is less likely)."""
