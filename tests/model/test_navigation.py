"""Walking content trees: the cheap pass (all_items) against walk(), and the
reference check's pass over documents without by-reference items."""

from __future__ import annotations

from hypothesis import given, settings

from srkit.codec.diagnostic_codes import ReadCode
from srkit.codec.references import check_references
from srkit.model.items import ContainerContentItem, ReferenceContentItem, TextContentItem
from srkit.model.navigation import all_items, walk
from tests.codec.strategies import documents


@settings(max_examples=60, deadline=None)
@given(documents())
def test_all_items_are_walks_items_in_document_order(doc):
    assert [id(i) for i in all_items(doc.root)] == [id(p.item) for p in walk(doc.root)]
    assert len(doc) == sum(1 for _ in walk(doc.root))


@settings(max_examples=60, deadline=None)
@given(documents())
def test_a_document_without_references_has_no_reference_problems(doc):
    refs = [i for i in all_items(doc.root) if isinstance(i, ReferenceContentItem)]
    problems = check_references(doc.root)
    if not refs:
        assert problems == []
    else:  # the strategy's one reference points at item 1.1, which exists
        assert all(code is not ReadCode.REFERENCE_DANGLING for _, code, _ in problems)


def _tree(*children):
    return ContainerContentItem(concept=None, continuity="SEPARATE", children=children)


def test_a_dangling_reference_is_found_after_the_cheap_pass():
    text = TextContentItem(relationship="CONTAINS", value="x")
    root = _tree(text, _tree(ReferenceContentItem(relationship="INFERRED FROM", ref=(1, 7))))
    assert check_references(root) == [
        ("1.2.1", ReadCode.REFERENCE_DANGLING, "by-reference target 1.7 does not exist")
    ]
    assert check_references(_tree(text, _tree(text))) == []
    assert len(all_items(root)) == 4
