"""Read the header modules of an SR document (PS3.3 A.35) into model values."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from srkit.codec import tags as T
from srkit.codec.diagnostic_codes import ReadCode
from srkit.codec.values import charset_value, elements
from srkit.diagnostics import Severity
from srkit.model.document import (
    Equipment,
    Patient,
    Series,
    SeriesReference,
    Study,
    StudyReference,
    VerifyingObserver,
)
from srkit.model.items import SopReference

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["read_header", "read_references"]


def read_header(ds: Dataset, r: Any) -> dict[str, Any]:
    """Document keyword arguments from the header of ``ds``.

    ``r`` is the reader (``safe_string``, ``sequence``, ``code``, ``problem``).
    """

    def s(tag: int, vr: str) -> str | None:
        value: str | None = r.safe_string(ds, tag, vr, "")
        return value if value != "" else None

    sop_instance = s(T.SOP_INSTANCE_UID, "UI")
    if not sop_instance:
        r.problem("", ReadCode.SOP_INSTANCE_UID_MISSING, "no SOP Instance UID")
    study_uid = s(T.STUDY_INSTANCE_UID, "UI")
    if not study_uid:
        r.problem("", ReadCode.STUDY_INSTANCE_UID_MISSING, "no Study Instance UID")
    series_uid = s(T.SERIES_INSTANCE_UID, "UI")
    if not series_uid:
        r.problem("", ReadCode.SERIES_INSTANCE_UID_MISSING, "no Series Instance UID")
    charset = None
    if T.SPECIFIC_CHARACTER_SET in elements(ds):
        try:
            value = charset_value(ds)
            charset = "\\".join(value) if isinstance(value, list | tuple) else (value or None)
        except Exception:
            r.problem("", ReadCode.CHARSET_UNREADABLE, "unreadable Specific Character Set")
    observers = []
    for obs in r.sequence(ds, T.VERIFYING_OBSERVER_SEQUENCE, ""):
        ident = None
        for code_item in r.sequence(obs, T.VERIFYING_OBSERVER_IDENTIFICATION_CODE_SEQUENCE, "")[:1]:
            ident = r.code(code_item, "", "Verifying Observer Identification")
        observers.append(
            VerifyingObserver(
                name=r.safe_string(obs, T.VERIFYING_OBSERVER_NAME, "PN", "") or "",
                organization=r.safe_string(obs, T.VERIFYING_ORGANIZATION, "LO", "") or "",
                datetime=r.safe_string(obs, T.VERIFICATION_DATETIME, "DT", "") or "",
                identification=ident,
            )
        )
    completion = s(T.COMPLETION_FLAG, "CS")
    verification = s(T.VERIFICATION_FLAG, "CS")
    if completion and completion not in ("PARTIAL", "COMPLETE"):
        r.problem("", ReadCode.COMPLETION_FLAG_INVALID, f"invalid Completion Flag {completion!r}")
    if verification and verification not in ("UNVERIFIED", "VERIFIED"):
        r.problem(
            "", ReadCode.VERIFICATION_FLAG_INVALID, f"invalid Verification Flag {verification!r}"
        )
    if verification == "VERIFIED" and not observers:
        r.problem(
            "",
            ReadCode.VERIFYING_OBSERVER_MISSING,
            "VERIFIED document without Verifying Observer Sequence",
            Severity.WARNING,
        )
    return {
        "sop_instance_uid": sop_instance or "",
        "patient": Patient(
            name=s(T.PATIENT_NAME, "PN"),
            id=s(T.PATIENT_ID, "LO"),
            birth_date=s(T.PATIENT_BIRTH_DATE, "DA"),
            sex=s(T.PATIENT_SEX, "CS"),
        ),
        "study": Study(
            instance_uid=study_uid or "",
            date=s(T.STUDY_DATE, "DA"),
            time=s(T.STUDY_TIME, "TM"),
            id=s(T.STUDY_ID, "SH"),
            accession_number=s(T.ACCESSION_NUMBER, "SH"),
            description=s(T.STUDY_DESCRIPTION, "LO"),
            referring_physician_name=s(T.REFERRING_PHYSICIAN_NAME, "PN"),
        ),
        "series": Series(
            instance_uid=series_uid or "",
            number=s(T.SERIES_NUMBER, "IS"),
            modality=s(T.MODALITY, "CS") or "SR",
            description=s(T.SERIES_DESCRIPTION, "LO"),
        ),
        "equipment": Equipment(
            manufacturer=s(T.MANUFACTURER, "LO"),
            model_name=s(T.MANUFACTURER_MODEL_NAME, "LO"),
            station_name=s(T.STATION_NAME, "SH"),
            device_serial_number=s(T.DEVICE_SERIAL_NUMBER, "LO"),
            software_versions=s(T.SOFTWARE_VERSIONS, "LO"),
            institution_name=s(T.INSTITUTION_NAME, "LO"),
        ),
        "instance_number": s(T.INSTANCE_NUMBER, "IS"),
        "content_date": s(T.CONTENT_DATE, "DA"),
        "content_time": s(T.CONTENT_TIME, "TM"),
        "specific_character_set": charset,
        "completion_flag": completion,
        "completion_flag_description": s(T.COMPLETION_FLAG_DESCRIPTION, "LO"),
        "verification_flag": verification,
        "verifying_observers": tuple(observers),
        "predecessors": read_references(ds, T.PREDECESSOR_DOCUMENTS_SEQUENCE, r),
        "evidence": read_references(ds, T.CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE, r),
        "pertinent_other_evidence": read_references(ds, T.PERTINENT_OTHER_EVIDENCE_SEQUENCE, r),
    }


def read_references(ds: Dataset, tag: int, r: Any) -> tuple[StudyReference, ...]:
    """A Hierarchical SOP Instance Reference Macro sequence (Table C.17-3)."""
    studies = []
    for study in r.sequence(ds, tag, ""):
        series_refs = []
        for series in r.sequence(study, T.REFERENCED_SERIES_SEQUENCE, ""):
            instances = tuple(
                SopReference(
                    sop_class_uid=r.safe_string(i, T.REFERENCED_SOP_CLASS_UID, "UI", "") or "",
                    sop_instance_uid=r.safe_string(i, T.REFERENCED_SOP_INSTANCE_UID, "UI", "")
                    or "",
                )
                for i in r.sequence(series, T.REFERENCED_SOP_SEQUENCE, "")
            )
            series_refs.append(
                SeriesReference(
                    series_instance_uid=r.safe_string(series, T.SERIES_INSTANCE_UID, "UI", "")
                    or "",
                    instances=instances,
                    retrieve_ae_title=r.safe_string(series, T.RETRIEVE_AE_TITLE, "AE", "") or None,
                    retrieve_url=r.safe_string(series, T.RETRIEVE_URL, "UR", "") or None,
                )
            )
        studies.append(
            StudyReference(
                study_instance_uid=r.safe_string(study, T.STUDY_INSTANCE_UID, "UI", "") or "",
                series=tuple(series_refs),
            )
        )
    return tuple(studies)
