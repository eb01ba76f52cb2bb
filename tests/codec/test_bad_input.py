"""Bad input: a clear error or diagnostic naming the item, never a traceback or a hang."""

from __future__ import annotations

import io
import warnings

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.dataset import Dataset

import srkit
from srkit import (
    InvalidDocumentError,
    NotDicomError,
    NotStructuredReportError,
    ReferenceContentItem,
    SrkitError,
    UnknownContentItem,
    read,
)
from tests.conftest import data_path


def _ds(name):
    return pydicom.dcmread(data_path(name))


def _bytes(ds):
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _errors(doc):
    return [(d.path, d.message) for d in doc.diagnostics if d.severity == "ERROR"]


def test_not_dicom(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("this is not DICOM\n" * 20)
    with pytest.raises(NotDicomError) as info:
        read(path)
    assert str(path) in str(info.value)
    empty = tmp_path / "empty.dcm"
    empty.write_bytes(b"")
    with pytest.raises(NotDicomError):
        read(empty)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(SrkitError, match="no such file"):
        read(tmp_path / "nope.dcm")
    with pytest.raises(SrkitError, match="is a directory"):
        read(tmp_path)


@pytest.mark.parametrize(
    "name", ["rdsr/openrem_CT-ESR-GE_Optima.dcm", "rdsr/pyskindose_siemens_axiom_artis.dcm"]
)
def test_truncated_file_keeps_what_was_read(name):
    raw = data_path(name).read_bytes()
    doc = read(io.BytesIO(raw[: len(raw) // 2]))
    full = read(data_path(name))
    errors = [d for d in doc.diagnostics if "truncated" in d.message]
    assert len(errors) == 1
    assert "(0040,A730)" in errors[0].message
    assert 1 < len(doc) < len(full)
    # what was read before the cut is the same as in the whole file
    ids = [p.id for p in doc.walk()]
    for item_id in ids[:-5]:
        assert doc.item(item_id).concept == full.item(item_id).concept


def test_truncated_in_undefined_length_sequence():
    raw = data_path("sr-tid1500/dcmqi_sr-example_sr.dcm").read_bytes()
    with pytest.raises(NotDicomError, match="truncated or corrupt"):
        read(io.BytesIO(raw[: len(raw) // 2]))


def test_image_instead_of_sr():
    with pytest.raises(
        NotStructuredReportError,
        match=r"not an SR document \(SOP class 1\.2\.840\.10008\.5\.1\.4\.1\.1\.2\)",
    ):
        read(data_path("ct/pydicom_CT_small.dcm"))


def test_missing_concept_name_on_root():
    ds = _ds("sr-tid1500/highdicom_sr_document.dcm")
    del ds.ConceptNameCodeSequence
    doc = read(ds)
    assert ("1", "root CONTAINER has no Concept Name (document title)") in _errors(doc)
    assert len(doc) == 21
    with pytest.raises(InvalidDocumentError, match="item 1: root CONTAINER has no Concept Name"):
        read(ds, policy="strict")


def test_unknown_value_type_by_policy():
    ds = _ds("sr-tid1500/highdicom_sr_document.dcm")
    ds.ContentSequence[2].ValueType = "HOLOGRAM"
    tolerant = read(ds)
    assert ("1.3", "unknown Value Type 'HOLOGRAM'") in _errors(tolerant)
    assert len(tolerant) == 20  # the item is dropped
    permissive = read(ds, policy="permissive")
    kept = permissive.item("1.3")
    assert isinstance(kept, UnknownContentItem)
    assert kept.declared_value_type == "HOLOGRAM"
    assert len(permissive) == 21
    # and it is written back as it was
    again = read(io.BytesIO(_bytes(srkit.to_dataset(permissive))), policy="permissive")
    assert again.item("1.3").declared_value_type == "HOLOGRAM"
    with pytest.raises(InvalidDocumentError, match=r"1\.3: unknown Value Type"):
        read(ds, policy="strict")


def _reference(target):
    item = Dataset()
    item.RelationshipType = "INFERRED FROM"
    item.ReferencedContentItemIdentifier = target
    return item


def test_by_reference_cycle_and_dangling_target():
    ds = _ds("sr-other/pydicom_test-SR.dcm")
    container = ds.ContentSequence[1]  # item 1.2
    container.ContentSequence.append(_reference([1, 2]))  # 1.2.5 -> its own parent
    container.ContentSequence.append(_reference([1, 42]))  # 1.2.6 -> nothing
    doc = read(ds)
    errors = _errors(doc)
    assert ("1.2.5", "by-reference relationship to 1.2 forms a cycle") in errors
    assert ("1.2.6", "by-reference target 1.42 does not exist") in errors
    assert isinstance(doc.item("1.2.5"), ReferenceContentItem)
    assert len(list(doc.walk())) == 31  # walking terminates


def test_longer_by_reference_cycle():
    ds = _ds("sr-other/pydicom_test-SR.dcm")
    # 1.2.1 -> 1.3 and 1.3.4 -> 1.2: a loop through two references
    ds.ContentSequence[1].ContentSequence[0].ContentSequence.append(_reference([1, 3]))
    ds.ContentSequence[2].ContentSequence.append(_reference([1, 2]))
    doc = read(ds)
    assert [(p, m) for p, m in _errors(doc) if "cycle" in m] == []  # allowed: PS3.3 C.17.3.1
    cycles = [(d.path, d.severity, d.message) for d in doc.diagnostics if "cycle" in d.message]
    assert cycles == [("1.2.1.3", "INFO", "by-reference relationships form a cycle")]
    assert len(list(doc.walk())) == 31  # walking terminates


def test_num_without_units():
    ds = _ds("sr-tid1500/highdicom_sr_document.dcm")
    num = next(
        i for i in ds.ContentSequence[-1].ContentSequence[0].ContentSequence if i.ValueType == "NUM"
    )
    del num.MeasuredValueSequence[0].MeasurementUnitsCodeSequence
    doc = read(ds)
    bad = [p for p, m in _errors(doc) if m == "NUM without Measurement Units"]
    assert len(bad) == 1
    item = doc.item(bad[0])
    assert item.units is None
    assert item.value == float(num.MeasuredValueSequence[0].NumericValue)


def test_wrong_vr_is_reported_and_value_still_read():
    ds = _ds("sr-other/pydicom_test-SR.dcm")
    scoord = ds.ContentSequence[2].ContentSequence[1]
    assert scoord.ValueType == "SCOORD"
    scoord["GraphicData"].VR = "DS"
    scoord.GraphicData = ["0", "0", "255", "255"]
    ds.ContentSequence[1].ContentSequence[1]["ValueType"].VR = "LO"
    raw = _bytes(ds)
    doc = read(io.BytesIO(raw))
    messages = [m for _, m in _errors(doc)]
    assert "element (0070,0022) has VR DS, should be FL" in messages
    assert "element (0040,A040) has VR LO, should be CS" in messages
    assert doc.item("1.3.2").data == (0.0, 0.0, 255.0, 255.0)


def test_deep_tree_does_not_exhaust_recursion():
    ds = _ds("sr-tid1500/highdicom_sr_document.dcm")
    leaf = ds
    for _ in range(400):
        child = Dataset()
        child.RelationshipType = "CONTAINS"
        child.ValueType = "CONTAINER"
        child.ContinuityOfContent = "SEPARATE"
        leaf.ContentSequence = [child]
        leaf = child
    doc = read(ds)
    assert any("deeper than 200 levels" in m for _, m in _errors(doc))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_bytes_raise_only_srkit_errors(data):
    raw = bytearray(data_path("sr-other/pydicom_test-SR.dcm").read_bytes())
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(132, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(200, len(raw)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            doc = read(io.BytesIO(bytes(raw[:cut])))
        except SrkitError:
            return
    assert len(list(doc.walk())) >= 1
