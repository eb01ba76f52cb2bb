"""read(write(doc)) == doc and from_json(to_json(doc)) == doc, generated and real."""

from __future__ import annotations

import io
import json
import warnings

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings

from srkit import from_json, read, to_dataset, to_json, write
from srkit.render.records import document_records
from tests.codec.strategies import documents
from tests.conftest import DATA, SR_FILES, data_path


def _rewrite(doc):
    buf = io.BytesIO()
    write(doc, buf)
    buf.seek(0)
    return read(buf)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_binary_round_trip(doc):
    again = _rewrite(doc)
    assert again == doc
    # equality ignores code meanings (as pydicom's Code does): compare records too
    assert list(document_records(again)) == list(document_records(doc))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_generated_json_round_trip(doc):
    text = json.dumps(to_json(doc))
    again = from_json(text)
    assert again == doc
    assert list(document_records(again)) == list(document_records(doc))


@pytest.mark.parametrize("path", SR_FILES, ids=lambda p: p.relative_to(DATA).as_posix())
def test_real_file_round_trips(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = read(path)
        again = _rewrite(doc)
        via_json = from_json(json.dumps(to_json(doc)))
    assert again == doc
    assert via_json == doc
    assert list(document_records(again)) == list(document_records(doc))
    assert list(document_records(via_json)) == list(document_records(doc))
    errors_before = [d.path for d in doc.diagnostics if d.severity == "ERROR"]
    if any(d.fixup == "trial_findings_sequence" for d in doc.diagnostics):
        # the repaired trial document is written in today's layout, where its root
        # has no title: now that is reported as what it is
        errors_before = ["1", *errors_before]
    errors_after = [d.path for d in again.diagnostics if d.severity == "ERROR"]
    # the writer never makes new errors; it writes absent type 2 attributes empty
    # (dcmjs' NUM without Measured Value Sequence comes back valid)
    assert set(errors_after) <= set(errors_before)


@pytest.mark.parametrize("path", SR_FILES, ids=lambda p: p.relative_to(DATA).as_posix())
def test_unknown_and_private_attributes_survive(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = pydicom.dcmread(path, force=True)
        rewritten = to_dataset(read(path))
    # every top-level attribute survives with its value (the content tree is compared above)
    for elem in original:
        if elem.tag in (0x0040A730, 0x0040A020) or elem.tag.group == 0x0002:
            continue
        assert elem.tag in rewritten, f"{elem.tag} lost"
        if elem.VR != "SQ":
            assert rewritten[elem.tag].value == elem.value, f"{elem.tag} changed"
    private = [e.tag for e in original if e.tag.is_private]
    assert all(tag in rewritten for tag in private)


def test_item_level_private_attributes_survive():
    path = data_path("sr-other/dcm4che_Tag-0040-A170-VR-CS.dcm")
    doc = read(path)
    first = doc.item("1.1")
    assert first.concept.value == "00092210"
    ds = to_dataset(doc)
    item = ds.ContentSequence[0]
    # Purpose of Reference, Observation Date (Trial) and the code's mapping resource survive
    assert "PurposeOfReferenceCodeSequence" in item
    assert item.ConceptNameCodeSequence[0].MappingResource == "PRIVATE"
