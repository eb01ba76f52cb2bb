"""The checked-in tables of srkit.codec.dictionary agree with pydicom's dictionaries."""

from __future__ import annotations

from pydicom._uid_dict import UID_dictionary
from pydicom.datadict import DicomDictionary, RepeatersDictionary, dictionary_VR
from pydicom.uid import UID

from srkit.codec.dictionary import SEQUENCE_TAGS, UID_NAMES, is_sequence_tag
from srkit.codec.sopclass import sop_class_name


def test_the_sequence_tags_are_pydicoms():
    assert {tag for tag, entry in DicomDictionary.items() if entry[0] == "SQ"} == SEQUENCE_TAGS
    assert len(SEQUENCE_TAGS) > 1200
    # the one repeating-group sequence, (50xx,2600), for every even group of the range
    assert [k for k, e in RepeatersDictionary.items() if e[0] == "SQ"] == ["50xx2600"]
    for group in range(0x5000, 0x5100, 2):
        tag = group << 16 | 0x2600
        assert is_sequence_tag(tag)
        assert dictionary_VR(tag) == "SQ"
    assert not is_sequence_tag(0x50012600)  # private group
    assert is_sequence_tag(0x0040A730)  # Content Sequence
    assert not is_sequence_tag(0x0040A040)  # Value Type
    assert not is_sequence_tag(0x00291008)  # private


def _pydicoms_uid_file() -> dict[str, tuple[str, ...]]:
    """pydicom's UID dictionary as its file has it: plugins may add transfer syntaxes
    to the live one at run time (JPEG XL, seen in a full test run)."""
    import importlib.util

    spec = importlib.util.find_spec("pydicom._uid_dict")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table: dict[str, tuple[str, ...]] = module.UID_dictionary
    return table


def test_the_uid_names_are_pydicoms():
    pristine = _pydicoms_uid_file()
    assert {uid: entry[0] for uid, entry in pristine.items()} == UID_NAMES
    for uid in pristine:
        assert UID_NAMES[uid] == UID(uid).name
    # what the live dictionary holds beyond the file came at run time, not from PS3.6's
    # table as pydicom ships it
    assert set(UID_NAMES) <= set(UID_dictionary)


def test_sop_class_names_without_pydicom_are_the_same():
    assert sop_class_name("1.2.840.10008.5.1.4.1.1.2") == "CT Image"
    assert sop_class_name("1.2.840.10008.5.1.4.1.1.88.67") == "X-Ray Radiation Dose SR"
    assert sop_class_name("1.2.3.4") == "1.2.3.4"
    for uid, entry in UID_dictionary.items():
        if entry[1] == "SOP Class" and not uid.startswith("1.2.840.10008.5.1.4.1.1.88"):
            name = UID(uid).name
            assert sop_class_name(uid) == (name.removesuffix(" Storage") if name else uid)
