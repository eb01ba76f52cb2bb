"""The database schema (SQLAlchemy Core): the DICOM information model and SR content.

Four tables follow the Patient Root information model of the Query/Retrieve service
(PS3.4 C.6.1): ``patient``, ``study``, ``series``, ``instance``; each row keeps the
attributes that a browser and a C-FIND need (PS3.4 C.6.1.1 keys).

Identity (see :mod:`srkit.db.hierarchy`): a patient is its Patient ID with the Issuer
of Patient ID (PS3.3 C.7.1.1, both type 2/3); an instance with an empty Patient ID is
never merged with others by that empty value: its patient is keyed by its study. A
study row is unique per (patient, Study Instance UID) and a series row per (study,
Series Instance UID), so an instance whose UIDs clash with another patient's or
study's rows is still filed under its own patient, study and series (the clash is a
``conflict`` row). The study row also keeps the patient attributes its own files
carry, which is what study-level queries return. Five tables hold
the SR content found at import: ``sr_document`` (PS3.3 C.17.2 flags, template,
diagnostics), ``measurement`` and ``qualitative`` (TID 1500 rows, PS3.16), and
``dose_report`` / ``dose_event`` (TID 10011 / TID 10001 rows).

The migrations in :mod:`srkit.db.migrations` create exactly these tables; change
both together (``alembic revision --autogenerate`` compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)

__all__ = [
    "metadata",
    "patient",
    "study",
    "series",
    "instance",
    "sr_document",
    "measurement",
    "qualitative",
    "dose_report",
    "dose_event",
    "conflict",
    "SR_TABLES",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

UID = String(64)
"""A UI value (PS3.5 6.2: at most 64 characters)."""


def _code(prefix: str) -> list[Column[str]]:
    """Three columns for a code: value, scheme and meaning."""
    return [
        Column(f"{prefix}_value", Text),
        Column(f"{prefix}_scheme", Text),
        Column(f"{prefix}_meaning", Text),
    ]


patient = Table(
    "patient",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("patient_key", Text, nullable=False, unique=True),
    Column("patient_id", Text),
    Column("issuer_of_patient_id", Text),
    Column("patient_name", Text),
    Column("patient_birth_date", Text),
    Column("patient_sex", Text),
    Index(None, "patient_id"),
)
Index(
    "ix_patient_lower_patient_name",
    func.lower(patient.c.patient_name).label("lower_patient_name"),
    postgresql_ops={"lower_patient_name": "text_pattern_ops"},
)

study = Table(
    "study",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("patient_pk", Integer, ForeignKey("patient.pk", ondelete="CASCADE"), nullable=False),
    Column("study_instance_uid", UID, nullable=False),
    Column("patient_id", Text),
    Column("issuer_of_patient_id", Text),
    Column("patient_name", Text),
    Column("patient_birth_date", Text),
    Column("patient_sex", Text),
    Column("study_date", Text),
    Column("study_time", Text),
    Column("accession_number", Text),
    Column("study_id", Text),
    Column("study_description", Text),
    Column("referring_physician_name", Text),
    Column("institution_name", Text),
    UniqueConstraint("patient_pk", "study_instance_uid", name="uq_study_patient_uid"),
    Index(None, "patient_pk"),
    Index(None, "study_date"),
    Index(None, "study_instance_uid"),
    Index(None, "patient_id"),
    Index(None, "accession_number"),
)
Index(
    "ix_study_lower_patient_name",
    func.lower(study.c.patient_name).label("lower_patient_name"),
    postgresql_ops={"lower_patient_name": "text_pattern_ops"},
)

series = Table(
    "series",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("study_pk", Integer, ForeignKey("study.pk", ondelete="CASCADE"), nullable=False),
    Column("series_instance_uid", UID, nullable=False),
    Column("modality", Text),
    Column("series_number", Integer),
    Column("series_description", Text),
    Column("series_date", Text),
    Column("series_time", Text),
    Column("body_part_examined", Text),
    Column("manufacturer", Text),
    Column("manufacturer_model_name", Text),
    Column("station_name", Text),
    UniqueConstraint("study_pk", "series_instance_uid", name="uq_series_study_uid"),
    Index(None, "study_pk"),
    Index(None, "modality"),
    Index(None, "series_instance_uid"),
    Index(None, "modality", "study_pk"),
)

instance = Table(
    "instance",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("series_pk", Integer, ForeignKey("series.pk", ondelete="CASCADE"), nullable=False),
    Column("sop_instance_uid", UID, nullable=False, unique=True),
    Column("sop_class_uid", UID, nullable=False),
    Column("instance_number", Integer),
    Column("content_date", Text),
    Column("content_time", Text),
    Column("rows", Integer),
    Column("columns", Integer),
    Column("number_of_frames", Integer),
    Column("transfer_syntax_uid", Text),
    Column("path", Text, nullable=False),
    Column("source_path", Text),
    Column("copied", Boolean, nullable=False, default=False),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger),
    Column("content_hash", Text, nullable=False),
    Column("calling_ae", Text),
    Column("imported_at", Text, nullable=False),
    Index(None, "series_pk"),
    Index(None, "sop_class_uid"),
    Index(None, "source_path"),
)

sr_document = Table(
    "sr_document",
    metadata,
    Column(
        "instance_pk",
        Integer,
        ForeignKey("instance.pk", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("kind", Text, nullable=False),
    Column("template", Text),
    *_code("title"),
    Column("completion_flag", Text),
    Column("verification_flag", Text),
    Column("item_count", Integer, nullable=False),
    Column("error_count", Integer, nullable=False),
    Column("warning_count", Integer, nullable=False),
    Column("diagnostics", Text, nullable=False),
    Index(None, "template"),
)

measurement = Table(
    "measurement",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("instance_pk", Integer, ForeignKey("instance.pk", ondelete="CASCADE"), nullable=False),
    Column("measurement_group_number", Integer),
    Column("tracking_identifier", Text),
    Column("tracking_unique_identifier", Text),
    *_code("finding"),
    *_code("finding_site"),
    *_code("quantity"),
    Column("value", Float),
    *_code("units"),
    Column("segmentation_sop_instance_uid", Text),
    Column("segment_number", Integer),
    Column("row", Text, nullable=False),
    Index(None, "instance_pk"),
    Index(None, "quantity_value"),
    Index(None, "finding_value"),
)

qualitative = Table(
    "qualitative",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("instance_pk", Integer, ForeignKey("instance.pk", ondelete="CASCADE"), nullable=False),
    Column("measurement_group_number", Integer),
    Column("tracking_identifier", Text),
    Column("tracking_unique_identifier", Text),
    *_code("finding"),
    *_code("finding_site"),
    *_code("quantity"),
    *_code("answer"),
    Column("row", Text, nullable=False),
    Index(None, "instance_pk"),
)

dose_report = Table(
    "dose_report",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column(
        "instance_pk",
        Integer,
        ForeignKey("instance.pk", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    Column("template", Text),
    Column("manufacturer", Text),
    Column("manufacturer_model_name", Text),
    Column("station_name", Text),
    *_code("procedure"),
    Column("start_of_xray_irradiation", Text),
    Column("end_of_xray_irradiation", Text),
    Column("total_dlp", Float),
    Column("total_dap", Float),
    Column("total_dose_rp", Float),
    Column("event_count", Integer, nullable=False),
    Column("summary", Text),
    Column("report", Text, nullable=False),
)

dose_event = Table(
    "dose_event",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column(
        "dose_report_pk",
        Integer,
        ForeignKey("dose_report.pk", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_number", Integer, nullable=False),
    Column("irradiation_event_uid", Text),
    Column("acquisition_protocol", Text),
    Column("datetime_started", Text),
    *_code("target_region"),
    Column("mean_ctdivol", Float),
    Column("dlp", Float),
    Column("dose_area_product", Float),
    Column("dose_rp", Float),
    Column("kvp", Float),
    Column("row", Text, nullable=False),
    Index(None, "dose_report_pk"),
)

conflict = Table(
    "conflict",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("sop_instance_uid", UID, nullable=False),
    Column("study_instance_uid", UID),
    Column("series_instance_uid", UID),
    Column("patient_id", Text),
    Column("message", Text, nullable=False),
    Column("detail", Text, nullable=False),
    Column("resolution", Text, nullable=False),
    Column("path", Text),
    Column("source", Text),
    Column("calling_ae", Text),
    Column("detected_at", Text, nullable=False),
    Index(None, "sop_instance_uid"),
    Index(None, "kind"),
)
"""Conflicts found while filing instances (:mod:`srkit.db.hierarchy`): one row per
instance and kind, with what was found (``detail``, JSON) and what srkit did
(``resolution``). Never deleted by srkit except with the instance's removal."""

SR_TABLES = (dose_event, dose_report, qualitative, measurement, sr_document)
"""The SR content tables, children first (the order to delete in)."""
