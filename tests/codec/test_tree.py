"""The content tree builder (srkit.codec._tree), compiled and pure Python, and the JSON
lines ``srkit dump --format jsonl`` writes from the documents it builds.

The conftest runs every test here on both readers (``parser`` fixture).
"""

from __future__ import annotations

import dataclasses
import json
import warnings

import pytest

from srkit.codec import read
from srkit.codec.content import tree as tree_builder
from srkit.model.code import Code, CodeValueKind
from srkit.model.items import ContainerContentItem, NumContentItem, TextContentItem
from srkit.render.records import document_jsonl, document_records
from tests.conftest import DATA, SR_FILES


def _fields(obj):
    return tuple(getattr(obj, f.name) for f in dataclasses.fields(obj))


def test_the_tree_builder_goes_with_the_parser(parser):
    tree = tree_builder()
    assert (parser == "compiled") == tree.COMPILED
    assert tree.__name__ == ("srkit.codec._tree_c" if parser == "compiled" else "srkit.codec._tree")


def test_items_and_codes_are_made_with_every_field_of_the_model(parser):
    tree = tree_builder()
    # the model's fields are the ones the builder sets (else it falls back to __init__)
    assert tree._FAST_ITEMS
    assert tree._FAST_CODES
    extra = object()
    made = tree._new_code("121071", "DCM", "Finding", None, CodeValueKind.SHORT, extra)
    expected = Code(value="121071", scheme="DCM", meaning="Finding", extra=extra)
    assert _fields(made) == _fields(expected)
    assert made.extra is extra
    common = {
        "relationship": "CONTAINS",
        "concept": expected,
        "children": (),
        "observation_datetime": "20240101",
        "observation_uid": None,
        "extra": None,
    }
    num = tree._new_item(NumContentItem, common, (None, None, expected))
    assert _fields(num) == _fields(NumContentItem(qualifier=expected, **common))
    assert (num.number, num.units, num.float_value, num.rational) == (None, None, None, None)
    text = tree._new_item(TextContentItem, common, ("a finding",))
    assert _fields(text) == _fields(TextContentItem(value="a finding", **common))
    container = tree._new_item(ContainerContentItem, common, ("SEPARATE", None))
    assert container.template is None
    assert container.continuity == "SEPARATE"
    with pytest.raises(dataclasses.FrozenInstanceError):
        text.value = "changed"  # type: ignore[misc]


@pytest.mark.parametrize("path", SR_FILES, ids=lambda p: p.relative_to(DATA).as_posix())
def test_jsonl_lines_are_the_records_as_json(path, parser):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        doc = read(path)
    records = list(document_records(doc))
    expected = "".join(
        json.dumps(rec, ensure_ascii=False, separators=(", ", ": ")) + "\n" for rec in records
    )
    text = document_jsonl(doc)
    assert text == expected
    assert len(text.splitlines()) == len(records) > 0


def test_messages_shorten_errors_as_the_loader_does(parser):
    from srkit.codec.loader import short_error

    for exc in (ValueError("first line\nsecond"), KeyError(), OSError("x" * 300)):
        assert tree_builder()._short_error(exc) == short_error(exc)


# -- codes read once per document -------------------------------------------------------

FLASH = DATA / "rdsr" / "openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"


def _content_items(ds):
    for item in getattr(ds, "ContentSequence", []):
        yield item
        yield from _content_items(item)


def _quiet_read(data):
    import io

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(io.BytesIO(data))


def _flash_with(change):
    """The Siemens RDSR's bytes after ``change(concept name items)`` of its items
    named (113830, DCM) Mean CTDIvol, one per event."""
    import io

    import pydicom

    ds = pydicom.dcmread(FLASH)
    names = [
        item.ConceptNameCodeSequence[0]
        for item in _content_items(ds)
        if "ConceptNameCodeSequence" in item
        and item.ConceptNameCodeSequence[0].CodeValue == "113830"
    ]
    change(names)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue(), len(names)


def test_a_repeated_code_is_one_object_equal_to_each_place(parser):
    doc = _quiet_read(FLASH.read_bytes())
    ctdi = [
        p.item.concept for p in doc.walk() if p.item.concept and p.item.concept.value == "113830"
    ]
    assert len(ctdi) == 9  # one per irradiation event
    assert len({id(c) for c in ctdi}) == 1
    assert ctdi[0] == Code(value="113830", scheme="DCM", meaning="Mean CTDIvol")
    units = {
        id(p.item.units) for p in doc.walk() if isinstance(p.item, NumContentItem) and p.item.units
    }
    nums = [p.item for p in doc.walk() if isinstance(p.item, NumContentItem) and p.item.units]
    assert len(units) < len(nums)  # mGy, mGy.cm, s... are read once each


def test_a_repeated_broken_code_is_reported_at_each_place(parser):
    def drop_scheme(names):
        for name in names:
            name.CodingSchemeDesignator = ""

    data, count = _flash_with(drop_scheme)
    doc = _quiet_read(data)
    found = [d for d in doc.diagnostics if d.code == "code-incomplete"]
    assert count == 9
    assert len(found) == count
    assert len({d.path for d in found}) == count


def test_a_repeated_code_of_the_wrong_vr_is_reported_at_each_place(parser):
    def meaning_as_short_string(names):
        for name in names:
            name["CodeMeaning"].VR = "SH"

    data, count = _flash_with(meaning_as_short_string)
    doc = _quiet_read(data)
    wrong = [d for d in doc.diagnostics if d.code == "vr-mismatch" and "(0008,0104)" in d.message]
    assert len(wrong) == count == 9
    ctdi = [
        p.item.concept for p in doc.walk() if p.item.concept and p.item.concept.value == "113830"
    ]
    assert {c.meaning for c in ctdi} == {"Mean CTDIvol"}
