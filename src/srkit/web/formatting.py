"""Values as people read them on the pages of ``srkit serve``: person names without
carets (PN, PS3.5 Section 6.2.1.1), dates and times with separators (DA, TM, DT), value
lists joined, and human labels for the DICOM keywords the pages show.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "LABELS",
    "cell_text",
    "date_text",
    "datetime_text",
    "label",
    "multi_text",
    "person_name",
    "quote_part",
    "sop_class_name",
    "time_text",
]

LABELS = {
    "PatientName": "Patient",
    "PatientID": "Patient ID",
    "PatientBirthDate": "Birth date",
    "PatientSex": "Sex",
    "NumberOfPatientRelatedStudies": "Studies",
    "NumberOfPatientRelatedSeries": "Series",
    "NumberOfPatientRelatedInstances": "Instances",
    "StudyDate": "Study date",
    "StudyTime": "Study time",
    "StudyDescription": "Description",
    "AccessionNumber": "Accession",
    "StudyID": "Study ID",
    "ReferringPhysicianName": "Referring physician",
    "ModalitiesInStudy": "Modalities",
    "NumberOfStudyRelatedSeries": "Series",
    "NumberOfStudyRelatedInstances": "Instances",
    "StudyInstanceUID": "Study UID",
    "SeriesNumber": "Series",
    "Modality": "Modality",
    "SeriesDescription": "Description",
    "Manufacturer": "Manufacturer",
    "BodyPartExamined": "Body part",
    "NumberOfSeriesRelatedInstances": "Instances",
    "SeriesInstanceUID": "Series UID",
    "InstanceNumber": "Number",
    "SOPClassUID": "Kind",
    "ContentDate": "Content date",
    "SOPInstanceUID": "Instance UID",
}
"""Column headings of the pages, by DICOM keyword."""


def label(keyword: str) -> str:
    """The heading of ``keyword`` (the keyword itself when none is known)."""
    return LABELS.get(keyword, keyword)


def person_name(value: Any) -> str:
    """A PN value as people write it: ``Lovelace^Ada^^Dr`` -> ``Lovelace, Ada, Dr``;
    ``Doe^John^Q`` -> ``Doe, John Q``; the alphabetic group only (before ``=``)."""
    text = str(value or "").split("=")[0].strip()
    if not text:
        return ""
    parts = [p.strip() for p in text.split("^")] + [""] * 5
    family, given, middle, prefix, suffix = parts[:5]
    first = " ".join(x for x in (prefix, given, middle) if x)
    name = ", ".join(x for x in (family, first) if x)
    return f"{name}, {suffix}" if suffix else name


def date_text(value: Any) -> str:
    """``20250106`` -> ``2025-01-06``; other text unchanged (a bad date stays visible)."""
    text = str(value or "").strip()
    if len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text


def time_text(value: Any) -> str:
    """``101500.123`` -> ``10:15:00``; ``0915`` -> ``09:15``."""
    text = str(value or "").strip().split(".")[0]
    if text.isdigit() and len(text) in (2, 4, 6):
        return ":".join(text[i : i + 2] for i in range(0, len(text), 2))
    return text


def datetime_text(value: Any) -> str:
    """A DT value (``20250106091500``) or an ISO text as ``2025-01-06 09:15:00``."""
    text = str(value or "").strip()
    if "T" in text or "-" in text[:8]:
        return text.replace("T", " ")
    digits = text.split("+")[0].split(".")[0]
    if digits.isdigit() and len(digits) >= 8:
        rest = time_text(digits[8:]) if len(digits) > 8 else ""
        return f"{date_text(digits[:8])} {rest}".strip()
    return text


def multi_text(value: Any) -> str:
    """A multi-valued attribute (``CT\\SR`` or a list) as ``CT, SR``."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return ", ".join(v for v in str(value).split("\\") if v)


_PN = ("PatientName", "ReferringPhysicianName")
_DA = ("PatientBirthDate", "StudyDate", "SeriesDate", "ContentDate")


def quote_part(value: Any) -> str:
    """``value`` as one URL path segment or query value (everything quoted)."""
    from urllib.parse import quote

    return quote(str(value or ""), safe="")


def sop_class_name(uid: Any) -> str:
    """A SOP Class UID by its name (PS3.6 Annex A), or the UID when it has none."""
    from pydicom.uid import UID

    if not uid:
        return ""
    name = UID(str(uid)).name
    return str(name) if name and name != str(uid) else str(uid)


def cell_text(keyword: str, value: Any) -> str:
    """A database value as the pages show it."""
    if value is None:
        return ""
    if keyword in _PN:
        return person_name(value)
    if keyword in _DA:
        return date_text(value)
    if keyword == "StudyTime":
        return time_text(value)
    if keyword == "SOPClassUID":
        return sop_class_name(value)
    if keyword in ("ModalitiesInStudy",):
        return multi_text(value)
    return str(value)
