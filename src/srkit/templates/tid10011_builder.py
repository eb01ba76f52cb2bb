"""Build a TID 10011 CT Radiation Dose report from the record ``srkit dose`` emits.

The input is the contract's report object (``contract.md``, "Radiation dose"): the
keys of ``accumulated`` and ``events`` are those the reader produces, so that reading
what was built gives back the same record. The report-level content follows what each
manufacturer writes (``ct-dose-sr-content-by-manufacturer.txt``): the order of the
root rows, the Device Role in Procedure observer row (GE, Medtronic) and the device's
physical location (Siemens). PS3.16 TID 10011-10015; PS3.3 A.35.8 (X-Ray Radiation
Dose SR IOD).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from srkit.codec.sopclass import XRAY_RADIATION_DOSE_SR
from srkit.errors import SrkitError
from srkit.model.code import Code
from srkit.model.document import Document, Equipment, Patient, Series, Study
from srkit.model.items import (
    CodeContentItem,
    ContainerContentItem,
    ContentItem,
    DateTimeContentItem,
    NumContentItem,
    PNameContentItem,
    TemplateId,
    TextContentItem,
    UidRefContentItem,
)
from srkit.templates.concepts import concept_key
from srkit.templates.context import ObserverContext, observer_context_items
from srkit.templates.dose_common import (
    END,
    OBSERVER_KEYS,
    PROCEDURE_REPORTED,
    SCOPE,
    SOURCE_OF_DOSE,
    START,
    XRAY_DOSE_REPORT,
    dcm,
    iso_to_dt,
)
from srkit.templates.tid10011 import CT_ACCUMULATED_DOSE_DATA, CT_ACQUISITION, CT_PROCEDURE
from srkit.templates.units import STANDARD_SPELLINGS, UNIT_MEANINGS, prescribed_unit

__all__ = [
    "FLAVOURS",
    "Flavour",
    "build_ct_dose_report",
    "DoseBuildError",
    "sct_record",
    "record_patient",
]


class DoseBuildError(SrkitError):
    """The record cannot be turned into a TID 10011 report (unknown key, bad value)."""


@dataclass(frozen=True, slots=True)
class _Row:
    """One template row: concept, value type, property rows written as its children."""

    concept: Code
    value_type: str
    unit: str | None = None
    children: tuple[_Row, ...] = ()
    properties: tuple[_Row, ...] = ()


def _num(value: str, meaning: str, unit: str | None = None) -> _Row:
    return _Row(dcm(value, meaning), "NUM", unit)


def _row(value: str, meaning: str, value_type: str, *props: _Row) -> _Row:
    return _Row(dcm(value, meaning), value_type, properties=props)


def _box(value: str, meaning: str, *children: _Row) -> _Row:
    return _Row(dcm(value, meaning), "CONTAINER", children=children)


_PERSON = _row("113870", "Person Name", "PNAME", _row("113875", "Person Role in Procedure", "CODE"))
_DEVICE_ROLE = _row(
    "113876",
    "Device Role in Procedure",
    "CODE",
    _row("113877", "Device Name", "TEXT"),
    _row("113878", "Device Manufacturer", "TEXT"),
    _row("113879", "Device Model Name", "TEXT"),
    _row("113880", "Device Serial Number", "TEXT"),
)
_SOURCE = _box(
    "113831",
    "CT X-Ray Source Parameters",
    _row("113832", "Identification of the X-Ray Source", "TEXT"),
    _num("113733", "KVP"),
    _num("113833", "Maximum X-Ray Tube Current"),
    _num("113734", "X-Ray Tube Current"),
    _num("113834", "Exposure Time per Rotation"),
    _num("113821", "X-Ray Filter Aluminum Equivalent"),
)
_PARAMETERS = _box(
    "113822",
    "CT Acquisition Parameters",
    _num("113824", "Exposure Time"),
    _num("113825", "Scanning Length"),
    _num("113893", "Length of Reconstructable Volume"),
    _num("113899", "Exposed Range"),
    _num("113895", "Top Z Location of Reconstructable Volume"),
    _num("113896", "Bottom Z Location of Reconstructable Volume"),
    _num("113897", "Top Z Location of Scanning Length"),
    _num("113898", "Bottom Z Location of Scanning Length"),
    _row("112227", "Frame of Reference UID", "UIDREF"),
    _num("113826", "Nominal Single Collimation Width"),
    _num("113827", "Nominal Total Collimation Width"),
    _num("113828", "Pitch Factor", "{ratio}"),
    _num("113823", "Number of X-Ray Sources", "{X-Ray sources}"),
    _SOURCE,
)
_ALERT = _box(
    "113900",
    "Dose Check Alert Details",
    _row("113901", "DLP Alert Value Configured", "CODE"),
    _row("113902", "CTDIvol Alert Value Configured", "CODE"),
    _num("113903", "DLP Alert Value"),
    _num("113904", "CTDIvol Alert Value"),
    _num("113905", "Accumulated DLP Forward Estimate"),
    _num("113906", "Accumulated CTDIvol Forward Estimate"),
    _row("113907", "Reason for Proceeding", "TEXT"),
    _PERSON,
)
_NOTIFICATION = _box(
    "113908",
    "Dose Check Notification Details",
    _row("113909", "DLP Notification Value Configured", "CODE"),
    _row("113910", "CTDIvol Notification Value Configured", "CODE"),
    _num("113911", "DLP Notification Value"),
    _num("113912", "CTDIvol Notification Value"),
    _num("113913", "DLP Forward Estimate"),
    _num("113914", "CTDIvol Forward Estimate"),
    _row("113907", "Reason for Proceeding", "TEXT"),
    _PERSON,
)
_DOSE = _box(
    "113829",
    "CT Dose",
    _num("113830", "Mean CTDIvol"),
    _row("113835", "CTDIw Phantom Type", "CODE"),
    _num("113836", "CTDIfreeair Calculation Factor"),
    _num("113837", "Mean CTDIfreeair"),
    _num("113838", "DLP"),
    _num("113839", "Effective Dose"),
    _num("113840", "Effective Dose Conversion Factor"),
    _num("113930", "Size Specific Dose Estimate"),
    _ALERT,
    _NOTIFICATION,
)
_EVENT = _Row(
    CT_ACQUISITION,
    "CONTAINER",
    children=(
        _row("125203", "Acquisition Protocol", "TEXT"),
        _row("123014", "Target Region", "CODE"),
        _row("113820", "CT Acquisition Type", "CODE"),
        _Row(Code.make("408730004", "SCT", "Procedure Context"), "CODE"),
        _row("113769", "Irradiation Event UID", "UIDREF"),
        _PARAMETERS,
        _DOSE,
        _row("113842", "X-Ray Modulation Type", "TEXT"),
        _row("121106", "Comment", "TEXT"),
        _DEVICE_ROLE,
    ),
)
_ACCUMULATED = _Row(
    CT_ACCUMULATED_DOSE_DATA,
    "CONTAINER",
    children=(
        _num("113812", "Total Number of Irradiation Events", "{events}"),
        _num("113813", "CT Dose Length Product Total"),
        _num("113814", "CT Effective Dose Total"),
    ),
)

IRRADIATING_DEVICE = dcm("113859", "Irradiating Device")
_HAS_INTENT = Code.make("363703001", "SCT", "Has Intent")
_STUDY_UID = dcm("110180", "Study Instance UID")


def _format_number(value: float) -> str:
    """A Decimal String (at most 16 characters) that reads back as ``value``."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    if len(text) <= 16:
        return text
    for digits in range(15, 5, -1):
        text = f"{value:.{digits}g}"
        if len(text) <= 16:
            return text
    return text[:16]


def _units(row: _Row) -> Code:
    unit = row.unit or prescribed_unit(row.concept.scheme, row.concept.value, "10011") or "1"
    spelled = STANDARD_SPELLINGS.get(unit, unit)
    meaning = UNIT_MEANINGS.get(spelled, UNIT_MEANINGS.get(unit, spelled.strip("{}")))
    return Code.make(spelled, "UCUM", meaning)


def _code(value: Any, where: str) -> Code:
    if not isinstance(value, Mapping) or "value" not in value or "scheme" not in value:
        raise DoseBuildError(f"{where}: expected a code object {{value, scheme, meaning}}")
    return Code.from_dict(sct_record(dict(value)))


def sct_record(value: Any) -> Any:
    """``value`` (a record, a list or a code object) with every retired SNOMED RT code
    (``SRT``, PS3.16 Annex O) replaced by its SNOMED CT (``SCT``) equivalent.

    The builder writes SCT codes, never SRT: a report read from a file that has
    ``(T-D0010, SRT, "Entire body")`` is created with ``(38266002, SCT, "Entire body")``;
    the code meaning is kept. SRT codes without an SCT equivalent stay as they are.
    """
    from pydicom.sr._snomed_dict import mapping

    table: dict[str, str] = mapping["SRT"]
    if isinstance(value, Mapping):
        if value.get("scheme") == "SRT" and isinstance(value.get("value"), str):
            mapped = table.get(value["value"])
            if mapped is not None:
                out = {k: v for k, v in value.items() if k != "version"}
                return {**out, "value": mapped, "scheme": "SCT"}
        return {k: sct_record(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sct_record(v) for v in value]
    return value


def _leaf(row: _Row, value: Any, rel: str, where: str) -> ContentItem:
    kind = row.value_type
    if kind == "NUM":
        if isinstance(value, Mapping) and value.get("normalised") is False:
            raise DoseBuildError(
                f"{where}: {value.get('value')!r} in unit {value.get('unit')!r} was not "
                "normalised when read; give it in the template unit "
                f"({prescribed_unit(row.concept.scheme, row.concept.value, '10011')})"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DoseBuildError(f"{where}: expected a number, got {value!r}")
        return NumContentItem(
            relationship=rel,
            concept=row.concept,
            number=_format_number(float(value)),
            units=_units(row),
        )
    if kind == "CODE":
        return CodeContentItem(relationship=rel, concept=row.concept, value=_code(value, where))
    if not isinstance(value, str):
        raise DoseBuildError(f"{where}: expected text, got {value!r}")
    if kind == "UIDREF":
        return UidRefContentItem(relationship=rel, concept=row.concept, value=value)
    if kind == "PNAME":
        return PNameContentItem(relationship=rel, concept=row.concept, value=value)
    if kind == "DATETIME":
        return DateTimeContentItem(relationship=rel, concept=row.concept, value=iso_to_dt(value))
    return TextContentItem(relationship=rel, concept=row.concept, value=value)


def _container(row: _Row, record: Any, where: str) -> ContainerContentItem:
    """The container of ``row`` holding ``record``'s keys in template order."""
    if not isinstance(record, Mapping):
        raise DoseBuildError(f"{where}: expected an object")
    rows = {concept_key(r.concept): r for r in row.children}
    props = {concept_key(p.concept) for r in row.children for p in r.properties}
    unknown = sorted(set(record) - set(rows) - props)
    if unknown:
        raise DoseBuildError(
            f"{where}: {', '.join(unknown)} not in TID 10011 for "
            f"{row.concept.meaning} (known: {', '.join(rows)})"
        )
    children: list[ContentItem] = []
    for key, child in rows.items():
        value = record.get(key)
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for n, v in enumerate(values):
            here = f"{where}.{key}" + (f"[{n}]" if isinstance(value, list) else "")
            if child.value_type == "CONTAINER":
                children.append(_container(child, v, here))
                continue
            item = _leaf(child, v, "CONTAINS", here)
            if child.properties and n == len(values) - 1:
                item = _with_properties(item, child.properties, record, here)
            children.append(item)
    return ContainerContentItem(
        relationship="CONTAINS", concept=row.concept, children=tuple(children)
    )


def _with_properties(
    item: ContentItem, props: tuple[_Row, ...], record: Mapping[str, Any], where: str
) -> ContentItem:
    kids: list[ContentItem] = []
    for p in props:
        value = record.get(concept_key(p.concept))
        if value is not None:
            kids.append(_leaf(p, value, "HAS PROPERTIES", f"{where}.{concept_key(p.concept)}"))
    if not kids:
        return item
    return dataclasses.replace(item, children=tuple(kids))


# -- report level ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flavour:
    """What one manufacturer writes at report level.

    Parameters
    ----------
    name : str
        ``ge``, ``siemens`` or ``medtronic``.
    manufacturer : str
        Manufacturer written when the record has none.
    order : tuple of str
        Report-level parts in the manufacturer's order.
    device_role : bool
        Whether the observer context has Device Role in Procedure (Irradiating Device).
    location : bool
        Whether the manufacturer writes the device's physical location (srkit writes
        it whenever the record has one, so that reading gives the record back).

    Notes
    -----
    No flavour reproduces a vendor's retired SNOMED RT (``SRT``) codes: every flavour
    writes SNOMED CT (``SCT``) codes (see :func:`sct_record`), as PS3.16 requires of
    new reports, even where the vendor's own reports still carry SRT.
    """

    name: str
    manufacturer: str
    order: tuple[str, ...]
    device_role: bool
    location: bool


_TAIL = ("start", "end", "scope")
FLAVOURS: dict[str, Flavour] = {
    "ge": Flavour(
        "ge",
        "GE MEDICAL SYSTEMS",
        ("procedure", "observer", *_TAIL, "accumulated", "events", "source"),
        device_role=True,
        location=False,
    ),
    "medtronic": Flavour(
        "medtronic",
        "Medtronic Navigation",
        ("observer", "procedure", *_TAIL, "source", "accumulated", "events"),
        device_role=True,
        location=False,
    ),
    "siemens": Flavour(
        "siemens",
        "SIEMENS",
        ("procedure", "observer", *_TAIL, "accumulated", "events", "source"),
        device_role=False,
        location=True,
    ),
}
"""The report-level content of each manufacturer (background document, "Elements used by")."""


def _procedure(report: Mapping[str, Any]) -> list[ContentItem]:
    procedure = report.get("procedure_reported")
    code = _code(procedure, "procedure_reported") if procedure is not None else CT_PROCEDURE
    kids: tuple[ContentItem, ...] = ()
    if report.get("has_intent") is not None:
        intent = _code(report["has_intent"], "has_intent")
        kids = (CodeContentItem(relationship="HAS CONCEPT MOD", concept=_HAS_INTENT, value=intent),)
    return [
        CodeContentItem(
            relationship="HAS CONCEPT MOD", concept=PROCEDURE_REPORTED, value=code, children=kids
        )
    ]


def _observer(report: Mapping[str, Any], flavour: Flavour) -> list[ContentItem]:
    data = dict(report.get("observer") or {})
    unknown = set(data) - set(OBSERVER_KEYS)
    if unknown:
        raise DoseBuildError(f"observer: unknown keys {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {k: v for k, v in data.items() if v is not None}
    if "observer_type" in values:
        values["observer_type"] = _code(values["observer_type"], "observer.observer_type")
    if flavour.device_role:
        values["device_role_in_procedure"] = IRRADIATING_DEVICE
    return observer_context_items(ObserverContext(**values))


def _report_parts(
    report: Mapping[str, Any], flavour: Flavour, study_uid: str
) -> dict[str, Callable[[], list[ContentItem]]]:
    def when(key: str, concept: Code) -> list[ContentItem]:
        value = report.get(key)
        if value is None:
            return []
        rel = "HAS OBS CONTEXT"
        return [DateTimeContentItem(relationship=rel, concept=concept, value=iso_to_dt(value))]

    def scope() -> list[ContentItem]:
        value = report.get("scope_of_accumulation") or dcm("113014", "Study").to_dict()
        uid = UidRefContentItem(relationship="HAS PROPERTIES", concept=_STUDY_UID, value=study_uid)
        code = _code(value, "scope_of_accumulation")
        return [
            CodeContentItem(
                relationship="HAS OBS CONTEXT", concept=SCOPE, value=code, children=(uid,)
            )
        ]

    def source() -> list[ContentItem]:
        value = report.get("source_of_dose_information")
        if value is None:
            return []
        code = _code(value, "source_of_dose_information")
        return [CodeContentItem(relationship="CONTAINS", concept=SOURCE_OF_DOSE, value=code)]

    def listed(key: str, row: _Row) -> list[ContentItem]:
        records = report.get(key) or []
        if not isinstance(records, list):
            raise DoseBuildError(f"{key}: expected a list of objects")
        return [_container(row, r, f"{key}[{n}]") for n, r in enumerate(records)]

    return {
        "procedure": lambda: _procedure(report),
        "observer": lambda: _observer(report, flavour),
        "start": lambda: when("start_of_xray_irradiation", START),
        "end": lambda: when("end_of_xray_irradiation", END),
        "scope": scope,
        "source": source,
        "accumulated": lambda: listed("accumulated", _ACCUMULATED),
        "events": lambda: listed("events", _EVENT),
    }


_PATIENT_KEYS = {"name": "patient_name", "id": "patient_id", "birth_date": "patient_birth_date",
                 "sex": "patient_sex"}  # fmt: skip


def record_patient(report: Mapping[str, Any]) -> Patient:
    """The Patient Module of a record: its ``patient`` object (``{"name", "id",
    "birth_date", "sex"}``) or the ``patient_name``/``patient_id``/``patient_birth_date``/
    ``patient_sex`` keys that ``srkit query dose`` rows carry; empty when it has none."""
    nested = report.get("patient")
    values: dict[str, str | None] = {}
    for field_name, flat in _PATIENT_KEYS.items():
        value = nested.get(field_name) if isinstance(nested, Mapping) else None
        if value is None:
            value = report.get(flat)
        if value is not None and not isinstance(value, str):
            raise DoseBuildError(f"patient {field_name}: expected text, got {value!r}")
        values[field_name] = value or None
    return Patient(**values)


def _uid() -> str:
    from pydicom.uid import generate_uid

    return str(generate_uid())


def build_ct_dose_report(
    report: Mapping[str, Any],
    *,
    flavour: str = "siemens",
    patient: Patient | None = None,
    now: _dt.datetime | None = None,
) -> Document:
    """A TID 10011 X-Ray Radiation Dose SR document from a dose record.

    Parameters
    ----------
    report : mapping
        The contract's report object (``DoseReport.to_dict()``); ``events`` is
        required, everything else optional. UIDs missing from it are generated.
    flavour : {"ge", "siemens", "medtronic"}
        Whose report-level content to write (see :data:`FLAVOURS`).
    patient : Patient, optional
        Patient Module values; when omitted, those of the record
        (:func:`record_patient`), else empty (type 2).
    now : datetime, optional
        Content date and time when the record has no end of irradiation.

    Raises
    ------
    DoseBuildError
        For a key TID 10011 has no row for, or a value of the wrong kind.
    """
    if flavour not in FLAVOURS:
        raise DoseBuildError(f"unknown flavour {flavour!r} (one of {', '.join(FLAVOURS)})")
    if not isinstance(report.get("events"), list):
        raise DoseBuildError("the record has no 'events' list")
    style = FLAVOURS[flavour]
    study_uid = str(report.get("study_instance_uid") or _uid())
    parts = _report_parts(report, style, study_uid)
    children = [item for part in style.order for item in parts[part]()]
    root = ContainerContentItem(
        concept=XRAY_DOSE_REPORT,
        children=tuple(children),
        template=TemplateId(identifier="10011", mapping_resource="DCMR"),
    )
    stamp = iso_to_dt(str(report.get("end_of_xray_irradiation") or "")) or (
        now or _dt.datetime.now()
    ).strftime("%Y%m%d%H%M%S")
    observer = report.get("observer") or {}
    equipment = Equipment(
        manufacturer=report.get("manufacturer") or style.manufacturer,
        model_name=report.get("manufacturer_model_name")
        or observer.get("device_observer_model_name")
        or "unknown",
        station_name=report.get("station_name"),
        device_serial_number=observer.get("device_observer_serial_number") or "unknown",
        software_versions="srkit",
    )
    return Document(
        sop_class_uid=XRAY_RADIATION_DOSE_SR,
        sop_instance_uid=str(report.get("sop_instance_uid") or _uid()),
        root=root,
        patient=patient or record_patient(report),
        study=Study(instance_uid=study_uid, date=stamp[:8], time=stamp[8:14] or None),
        series=Series(instance_uid=_uid(), number="997", modality="SR"),
        equipment=equipment,
        instance_number="1",
        content_date=stamp[:8],
        content_time=stamp[8:14] or "000000",
        specific_character_set="ISO_IR 192",
        completion_flag="COMPLETE",
        verification_flag="UNVERIFIED",
    )
