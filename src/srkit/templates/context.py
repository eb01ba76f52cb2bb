"""Observation context: TID 1001 with its observer (TID 1002, 1003, 1004) and subject
(TID 1006, 1007) parts.

See PS3.16 `TID 1001 <https://dicom.nema.org/medical/dicom/current/output/chtml/part16/
chapter_A.html#sect_TID_1001>`_. The observer context is a run of ``HAS OBS CONTEXT``
items among the children of a container; every ``Observer Type`` item (121005, DCM)
starts a new observer, and items before any ``Observer Type`` describe a person (TID
1002: the type defaults to Person when absent).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

from srkit.model.code import Code
from srkit.model.items import (
    CodeContentItem,
    ContentItem,
    PNameContentItem,
    TextContentItem,
    UidRefContentItem,
)

__all__ = [
    "OBSERVER_TYPE",
    "PERSON",
    "DEVICE",
    "ObserverContext",
    "SubjectContext",
    "read_observer_context",
    "observer_context_items",
    "read_subject_context",
    "subject_context_items",
]

_OBS = "HAS OBS CONTEXT"


def _dcm(value: str, meaning: str) -> Code:
    return Code.make(value, "DCM", meaning)


OBSERVER_TYPE = _dcm("121005", "Observer Type")
PERSON = _dcm("121006", "Person")
DEVICE = _dcm("121007", "Device")

# field name -> (concept, value type) for TID 1003 and TID 1004 (PS3.16)
_PERSON_FIELDS: dict[str, tuple[Code, str]] = {
    "person_name": (_dcm("121008", "Person Observer Name"), "PNAME"),
    "person_login_name": (_dcm("128774", "Person Observer's Login Name"), "TEXT"),
    "person_organization": (_dcm("121009", "Person Observer's Organization Name"), "TEXT"),
    "person_role_in_organization": (
        _dcm("121010", "Person Observer's Role in the Organization"),
        "CODE",
    ),
    "person_role_in_procedure": (
        _dcm("121011", "Person Observer's Role in this Procedure"),
        "CODE",
    ),
}
_DEVICE_FIELDS: dict[str, tuple[Code, str]] = {
    "device_observer_uid": (_dcm("121012", "Device Observer UID"), "UIDREF"),
    "device_observer_name": (_dcm("121013", "Device Observer Name"), "TEXT"),
    "device_observer_manufacturer": (_dcm("121014", "Device Observer Manufacturer"), "TEXT"),
    "device_observer_model_name": (_dcm("121015", "Device Observer Model Name"), "TEXT"),
    "device_observer_serial_number": (
        _dcm("121016", "Device Observer Serial Number"),
        "TEXT",
    ),
    "device_observer_physical_location_during_observation": (
        _dcm("121017", "Device Observer Physical Location During Observation"),
        "TEXT",
    ),
    "device_role_in_procedure": (_dcm("113876", "Device Role in Procedure"), "CODE"),
}
_OBSERVER_FIELDS = {**_PERSON_FIELDS, **_DEVICE_FIELDS}

# TID 1006 / 1007 (subject class and patient subject)
_SUBJECT_FIELDS: dict[str, tuple[Code, str]] = {
    "subject_class": (_dcm("121024", "Subject Class"), "CODE"),
    "subject_uid": (_dcm("121028", "Subject UID"), "UIDREF"),
    "subject_name": (_dcm("121029", "Subject Name"), "PNAME"),
    "subject_id": (_dcm("121030", "Subject ID"), "TEXT"),
    "subject_birth_date": (_dcm("121031", "Subject Birth Date"), "DATE"),
    "subject_sex": (_dcm("121032", "Subject Sex"), "CODE"),
    "subject_age": (_dcm("121033", "Subject Age"), "NUM"),
    "subject_species": (_dcm("121034", "Subject Species"), "CODE"),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class ObserverContext:
    """One observer of TID 1002: a person (TID 1003) or a device (TID 1004).

    Parameters
    ----------
    observer_type : Code or None
        Observer Type (121005, DCM): Person (121006) or Device (121007); ``None``
        when the document leaves it out (TID 1002 then means a person).
    person_name, person_login_name, person_organization : str or None
        TID 1003 rows 1-3.
    person_role_in_organization, person_role_in_procedure : Code or None
        TID 1003 rows 4-5.
    device_observer_uid, device_observer_name, device_observer_manufacturer,
    device_observer_model_name, device_observer_serial_number,
    device_observer_physical_location_during_observation : str or None
        TID 1004 rows 1-6.
    device_role_in_procedure : Code or None
        TID 1004 row 7.
    """

    observer_type: Code | None = None
    person_name: str | None = None
    person_login_name: str | None = None
    person_organization: str | None = None
    person_role_in_organization: Code | None = None
    person_role_in_procedure: Code | None = None
    device_observer_uid: str | None = None
    device_observer_name: str | None = None
    device_observer_manufacturer: str | None = None
    device_observer_model_name: str | None = None
    device_observer_serial_number: str | None = None
    device_observer_physical_location_during_observation: str | None = None
    device_role_in_procedure: Code | None = None

    @property
    def is_device(self) -> bool:
        """Whether the observer is a device (TID 1004)."""
        return self.observer_type == DEVICE

    def to_dict(self) -> dict[str, object]:
        """Plain mapping (codes as code objects), for JSON output."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.to_dict() if isinstance(value, Code) else value
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectContext:
    """Subject context of TID 1006 with the patient rows of TID 1007.

    Parameters
    ----------
    subject_class : Code or None
        Subject Class (121024, DCM): Patient, Fetus, Specimen, Device.
    subject_uid, subject_name, subject_id, subject_birth_date : str or None
        TID 1007 rows as stored.
    subject_sex, subject_species : Code or None
        TID 1007 coded rows.
    subject_age : str or None
        Subject Age as its stored decimal string.
    """

    subject_class: Code | None = None
    subject_uid: str | None = None
    subject_name: str | None = None
    subject_id: str | None = None
    subject_birth_date: str | None = None
    subject_sex: Code | None = None
    subject_age: str | None = None
    subject_species: Code | None = None


def _value(item: ContentItem) -> object:
    if isinstance(item, CodeContentItem):
        return item.value
    if isinstance(item, TextContentItem | PNameContentItem | UidRefContentItem):
        return item.value
    if item.value_type == "NUM":
        return getattr(item, "number", None)
    return getattr(item, "value", None)


def _match(item: ContentItem, table: dict[str, tuple[Code, str]]) -> str | None:
    concept = item.concept
    if concept is None:
        return None
    for name, (code, _vt) in table.items():
        if code == concept:
            return name
    return None


def read_observer_context(items: Sequence[ContentItem]) -> list[ObserverContext]:
    """Observers (TID 1002) described by ``items``, in order.

    Parameters
    ----------
    items : sequence of ContentItem
        The children of a container (typically the document root); items other
        than ``HAS OBS CONTEXT`` ones, and unknown concepts, are ignored.

    Returns
    -------
    list of ObserverContext
        One per ``Observer Type`` item, plus one for person rows that come before
        any ``Observer Type``. Empty when there is no observer context.
    """
    found: list[ObserverContext] = []
    current: dict[str, object] | None = None
    for item in items:
        if item.relationship != _OBS or item.concept is None:
            continue
        if item.concept == OBSERVER_TYPE:
            if current is not None:
                found.append(ObserverContext(**current))  # type: ignore[arg-type]
            current = {"observer_type": _value(item)}
            continue
        name = _match(item, _OBSERVER_FIELDS)
        if name is None:
            continue
        if current is None:
            current = {}
        elif name in current:
            # the same row again: a new observer of the same kind begins
            found.append(ObserverContext(**current))  # type: ignore[arg-type]
            current = {"observer_type": current.get("observer_type")}
        current[name] = _value(item)
    if current is not None:
        found.append(ObserverContext(**current))  # type: ignore[arg-type]
    return found


def _make_item(concept: Code, value_type: str, value: object) -> ContentItem:
    if value_type == "CODE":
        assert isinstance(value, Code)
        return CodeContentItem(relationship=_OBS, concept=concept, value=value)
    if value_type == "PNAME":
        return PNameContentItem(relationship=_OBS, concept=concept, value=str(value))
    if value_type == "UIDREF":
        return UidRefContentItem(relationship=_OBS, concept=concept, value=str(value))
    if value_type == "DATE":
        from srkit.model.items import DateContentItem

        return DateContentItem(relationship=_OBS, concept=concept, value=str(value))
    if value_type == "NUM":
        from srkit.model.items import NumContentItem

        years = Code.make("a", "UCUM", "year")
        return NumContentItem(relationship=_OBS, concept=concept, number=str(value), units=years)
    return TextContentItem(relationship=_OBS, concept=concept, value=str(value))


def observer_context_items(ctx: ObserverContext) -> list[ContentItem]:
    """``HAS OBS CONTEXT`` items for one observer (TID 1002 rows, in template order).

    Parameters
    ----------
    ctx : ObserverContext
        The observer; its ``observer_type`` is written when set, and it is
        inferred (Device when any device row is set, else Person) when not.

    Returns
    -------
    list of ContentItem
        Observer Type first, then the rows of TID 1003 or TID 1004 that are set.
    """
    kind = ctx.observer_type
    if kind is None:
        has_device = any(getattr(ctx, n) is not None for n in _DEVICE_FIELDS)
        kind = DEVICE if has_device else PERSON
    out: list[ContentItem] = [CodeContentItem(relationship=_OBS, concept=OBSERVER_TYPE, value=kind)]
    table = _DEVICE_FIELDS if kind == DEVICE else _PERSON_FIELDS
    for name, (concept, value_type) in table.items():
        value = getattr(ctx, name)
        if value is not None:
            out.append(_make_item(concept, value_type, value))
    return out


def read_subject_context(items: Sequence[ContentItem]) -> SubjectContext | None:
    """Subject context (TID 1006/1007) among ``items``; ``None`` when there is none.

    Parameters
    ----------
    items : sequence of ContentItem
        The children of a container.
    """
    values: dict[str, object] = {}
    for item in items:
        if item.relationship != _OBS:
            continue
        name = _match(item, _SUBJECT_FIELDS)
        if name is not None and name not in values:
            values[name] = _value(item)
    if not values:
        return None
    return SubjectContext(**values)  # type: ignore[arg-type]


def subject_context_items(ctx: SubjectContext) -> list[ContentItem]:
    """``HAS OBS CONTEXT`` items for a subject context (TID 1006/1007 order).

    Parameters
    ----------
    ctx : SubjectContext
        The subject; only rows that are set are written.
    """
    out: list[ContentItem] = []
    for name, (concept, value_type) in _SUBJECT_FIELDS.items():
        value = getattr(ctx, name)
        if value is not None:
            out.append(_make_item(concept, value_type, value))
    return out
