"""The model's shared ``__eq__``, ``__hash__`` and ``__repr__`` (srkit.model.value_object)
behave as the ones :func:`dataclasses.dataclass` generates."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from srkit.model.code import Code
from srkit.model.document import Patient
from srkit.model.items import ContainerContentItem, TextContentItem, UidRefContentItem
from srkit.model.value_object import ValueObject


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Generated:
    name: str | None = None
    size: int = 0
    parts: tuple[str, ...] = ()
    hidden: object | None = dataclasses.field(default=None, compare=False, repr=False)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, eq=False, repr=False)
class Shared(ValueObject):
    name: str | None = None
    size: int = 0
    parts: tuple[str, ...] = ()
    hidden: object | None = dataclasses.field(default=None, compare=False, repr=False)


values = st.fixed_dictionaries(
    {
        "name": st.none() | st.text(max_size=5),
        "size": st.integers(-3, 3),
        "parts": st.tuples(st.text(max_size=2)) | st.just(()),
        "hidden": st.none() | st.integers(),
    }
)


@given(values, values)
def test_equality_hash_and_repr_match_the_generated_methods(a, b):
    ga, gb, sa, sb = Generated(**a), Generated(**b), Shared(**a), Shared(**b)
    assert (sa == sb) is (ga == gb)
    assert (sa != sb) is (ga != gb)
    assert hash(sa) == hash(ga)  # the same tuple of compared fields
    assert repr(sa) == repr(ga).replace("Generated(", "Shared(", 1)


def test_fields_without_compare_are_ignored_and_not_shown():
    code = Code(value="121071", scheme="DCM", meaning="Finding")
    a = TextContentItem(concept=code, value="mass", extra=object())
    b = TextContentItem(concept=code, value="mass", extra=None)
    assert a == b
    assert hash(a) == hash(b)
    assert "extra" not in repr(a)
    assert repr(a).startswith("TextContentItem(relationship=None, concept=Code(")
    assert repr(a).endswith("value='mass')")
    assert a != TextContentItem(concept=code, value="Mass")


def test_another_class_with_the_same_fields_is_not_equal():
    text = TextContentItem(value="1.2.3")
    uid = UidRefContentItem(value="1.2.3")
    assert text != uid
    assert text.__eq__(uid) is NotImplemented
    assert text != "1.2.3"
    assert ContainerContentItem() == ContainerContentItem()
    assert len({ContainerContentItem(), ContainerContentItem(), TextContentItem()}) == 2


def test_model_objects_stay_frozen_and_slotted():
    patient = Patient(name="Doe^Jane", id="")
    try:
        patient.name = "x"  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("Patient is not frozen")
    assert not hasattr(patient, "__dict__")
    assert dataclasses.replace(patient, id="42") == Patient(name="Doe^Jane", id="42")
