"""SR storage SOP classes (PS3.4 Annex B.5): the codec's view of :mod:`srkit.model.sopclass`.

The UIDs and names are defined once in :mod:`srkit.model.sopclass` and re-exported
here for the modules that import them from the codec; :func:`sop_class_name` adds
the UID names of PS3.6 Annex A (a table made from pydicom's UID dictionary,
:mod:`srkit.codec.dictionary`) for classes srkit does not list.
"""

from __future__ import annotations

from srkit.codec.dictionary import UID_NAMES
from srkit.model.sopclass import (
    BASIC_TEXT_SR,
    COMPREHENSIVE_3D_SR,
    COMPREHENSIVE_SR,
    ENHANCED_SR,
    KEY_OBJECT_SELECTION,
    SR_SOP_CLASSES,
    XRAY_RADIATION_DOSE_SR,
    is_sr_sop_class,
)

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


def sop_class_name(uid: str) -> str:
    """A readable name for any SOP class (SR or not), the UID when unknown."""
    if uid in SR_SOP_CLASSES:
        return SR_SOP_CLASSES[uid]
    # PS3.6 Annex A's names, from a table (pydicom's UID.name, without importing pydicom)
    name = UID_NAMES.get(uid, uid)
    return name.removesuffix(" Storage") if name else uid
