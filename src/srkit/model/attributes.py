"""The attributes the index keeps, once: DICOM keyword, information model level
(PS3.4 C.6.1.1, Patient Root), column and VR. Import (:mod:`srkit.db.ingest`) reads
them from each file; queries (:mod:`srkit.db.query`: ``srkit ls``, C-FIND, QIDO-RS)
match and return them; the header index of files (:mod:`srkit.extract.instances`,
``srkit instances``) has them as its columns. Vocabulary, so it lives in the model
(no SQLAlchemy, no pydicom: parsing worker processes import it).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Attribute", "ATTRIBUTES", "BY_LEVEL", "FILE_META", "INTEGER_COLUMNS"]


@dataclass(frozen=True, slots=True)
class Attribute:
    """A queryable DICOM attribute: its level, column and VR."""

    keyword: str
    level: str
    column: str
    vr: str


def _level(level: str, items: list[tuple[str, str, str]]) -> list[Attribute]:
    return [Attribute(kw, level, col, vr) for kw, col, vr in items]


_ALL = [
    *_level(
        "PATIENT",
        [
            ("PatientID", "patient_id", "LO"),
            ("IssuerOfPatientID", "issuer_of_patient_id", "LO"),
            ("PatientName", "patient_name", "PN"),
            ("PatientBirthDate", "patient_birth_date", "DA"),
            ("PatientSex", "patient_sex", "CS"),
        ],
    ),
    *_level(
        "STUDY",
        [
            ("StudyInstanceUID", "study_instance_uid", "UI"),
            ("StudyDate", "study_date", "DA"),
            ("StudyTime", "study_time", "TM"),
            ("AccessionNumber", "accession_number", "SH"),
            ("StudyID", "study_id", "SH"),
            ("StudyDescription", "study_description", "LO"),
            ("ReferringPhysicianName", "referring_physician_name", "PN"),
            ("InstitutionName", "institution_name", "LO"),
        ],
    ),
    *_level(
        "SERIES",
        [
            ("SeriesInstanceUID", "series_instance_uid", "UI"),
            ("Modality", "modality", "CS"),
            ("SeriesNumber", "series_number", "IS"),
            ("SeriesDescription", "series_description", "LO"),
            ("SeriesDate", "series_date", "DA"),
            ("SeriesTime", "series_time", "TM"),
            ("BodyPartExamined", "body_part_examined", "CS"),
            ("Manufacturer", "manufacturer", "LO"),
            ("ManufacturerModelName", "manufacturer_model_name", "LO"),
            ("StationName", "station_name", "SH"),
        ],
    ),
    *_level(
        "IMAGE",
        [
            ("SOPInstanceUID", "sop_instance_uid", "UI"),
            ("SOPClassUID", "sop_class_uid", "UI"),
            ("InstanceNumber", "instance_number", "IS"),
            ("ContentDate", "content_date", "DA"),
            ("ContentTime", "content_time", "TM"),
            ("Rows", "rows", "US"),
            ("Columns", "columns", "US"),
            ("NumberOfFrames", "number_of_frames", "IS"),
            ("TransferSyntaxUID", "transfer_syntax_uid", "UI"),
        ],
    ),
]

ATTRIBUTES: dict[str, Attribute] = {a.keyword: a for a in _ALL}
"""Every attribute the index can match and return, by keyword."""

FILE_META = frozenset({"TransferSyntaxUID"})
"""Attributes read from the File Meta Information (PS3.10 7.1), not the data set."""

BY_LEVEL: dict[str, dict[str, str]] = {
    level: {a.column: a.keyword for a in _ALL if a.level == level and a.keyword not in FILE_META}
    for level in ("PATIENT", "STUDY", "SERIES", "IMAGE")
}
"""Per level, column -> keyword of the attributes read from a file's data set."""

INTEGER_COLUMNS = frozenset(a.column for a in _ALL if a.vr in ("IS", "US"))
"""Columns holding integers (IS and US values)."""
