"""Observer and subject context (TID 1002/1003/1004, TID 1006) on real reports."""

from __future__ import annotations

from srkit.codec import read
from srkit.model import Code
from srkit.templates.context import (
    DEVICE,
    PERSON,
    ObserverContext,
    SubjectContext,
    observer_context_items,
    read_observer_context,
    read_subject_context,
    subject_context_items,
)
from tests.conftest import data_path


def test_person_and_device_observers_of_highdicom_report() -> None:
    # dsrdump: Observer Type=Person, Person Observer Name="Foo", Observer Type=Device,
    # Device Observer UID="1.2.826.0.1.3680043.8.498.2194...5166"
    doc = read(data_path("sr-tid1500/highdicom_sr_document.dcm"))
    person, device = read_observer_context(doc.root.children)
    assert person.observer_type == PERSON
    assert person.person_name == "Foo"
    assert not person.is_device
    assert device.is_device
    assert device.device_observer_uid == (
        "1.2.826.0.1.3680043.8.498.21942475928007893653780457882384425166"
    )
    assert device.person_name is None


def test_person_without_observer_type_is_read_as_person() -> None:
    # dcmjs writes only Person Observer Name="unknown^unknown" (no Observer Type)
    doc = read(data_path("sr-tid1500/dcmjs_sample-sr.dcm"))
    (obs,) = read_observer_context(doc.root.children)
    assert obs.observer_type is None
    assert obs.person_name == "unknown^unknown"


def test_no_observer_context_gives_empty_list() -> None:
    doc = read(data_path("rdsr/openrem_CT-RDSR-Toshiba_DoseCheck.dcm"))
    group = [c for c in doc.root.children if c.relationship != "HAS OBS CONTEXT"]
    assert read_observer_context(group) == []
    assert read_subject_context(group) is None


def test_device_round_trip() -> None:
    ctx = ObserverContext(
        observer_type=DEVICE,
        device_observer_uid="1.2.3.4",
        device_observer_name="SecretSauceGenerator",
        device_observer_manufacturer="The friends of friends",
        device_observer_model_name="M1",
        device_observer_serial_number="42",
        device_observer_physical_location_during_observation="Room 1",
    )
    items = observer_context_items(ctx)
    assert items[0].value == DEVICE  # type: ignore[attr-defined]
    assert [i.concept.value for i in items] == [  # type: ignore[union-attr]
        "121005",
        "121012",
        "121013",
        "121014",
        "121015",
        "121016",
        "121017",
    ]
    assert read_observer_context(items) == [ctx]


def test_person_type_inferred_and_two_observers() -> None:
    a = ObserverContext(person_name="Doe^Jane", person_organization="Hospital")
    b = ObserverContext(device_observer_uid="1.2.3")
    items = observer_context_items(a) + observer_context_items(b)
    got = read_observer_context(items)
    assert [o.observer_type for o in got] == [PERSON, DEVICE]
    assert got[0].person_organization == "Hospital"
    assert got[1].to_dict()["observer_type"] == {
        "value": "121007",
        "scheme": "DCM",
        "meaning": "Device",
    }


def test_subject_context_round_trip() -> None:
    ctx = SubjectContext(
        subject_class=Code.make("121025", "DCM", "Patient"),
        subject_name="Doe^John",
        subject_id="ID1",
        subject_age="42",
    )
    assert read_subject_context(subject_context_items(ctx)) == ctx
