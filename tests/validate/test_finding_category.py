"""Finding category in a measurement group: (276214006, SCT), PS3.16 TID 1501 / 1410 / 1411.

PS3.16 TID 1501 "Measurement and Qualitative Evaluation Group" (and TID 1410, TID 1411)
has a row CONTAINS CODE EV (276214006, SCT, "Finding category"), the code highdicom
writes and the shared file highdicom_sr_document_with_multiple_groups.dcm carries in
three groups. With the Finding row (121071, DCM) it says *what* was measured and is
neither a measurement nor a qualitative evaluation, of which a group needs at least
one. The validator used to skip (130400, DCM) instead, a different concept: PS3.16
Annex D defines it as "Geometric purpose of region" (pydicom's dictionary, generated
from PS3.16, agrees), so a group holding only a finding and its category passed.
"""

from __future__ import annotations

import dataclasses
import warnings

from srkit.codec import read
from srkit.model import ContainerContentItem, Document
from srkit.model.concepts import FINDING, FINDING_CATEGORY, MEASUREMENT_GROUP
from srkit.validate import validate
from tests.conftest import data_path

TID1500 = "sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm"
NO_EVALUATION = "Measurement Group has no measurement (NUM) and no qualitative evaluation"


def _read(name: str) -> Document:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(data_path(name))


def _group_without_evaluations(doc: Document, number: int) -> Document:
    """``doc`` with measurement group ``number`` of Imaging Measurements (1.7) cut down
    to its observation context, Finding category, Finding, finding site and region."""
    measurements = doc.root.children[6]
    assert isinstance(measurements, ContainerContentItem)
    groups = list(measurements.children)
    group = groups[number - 1]
    assert group.concept == MEASUREMENT_GROUP
    kept = tuple(
        c
        for c in group.children
        if c.value_type != "NUM"
        and not (
            c.value_type == "CODE"
            and c.relationship == "CONTAINS"
            and c.concept not in (FINDING, FINDING_CATEGORY)
        )
    )
    groups[number - 1] = dataclasses.replace(group, children=kept)
    root_children = list(doc.root.children)
    root_children[6] = dataclasses.replace(measurements, children=tuple(groups))
    return dataclasses.replace(
        doc, root=dataclasses.replace(doc.root, children=tuple(root_children))
    )


def test_finding_category_is_not_a_qualitative_evaluation() -> None:
    """Group 2 of the highdicom report (Lung nodule, dsrdump 1.7.2) keeps Finding category
    (276214006, SCT) = Morphologically Abnormal Structure and Finding = Nodule but loses
    its Diameter (NUM) and Level of Significance (CODE): TID 1501/1410 requires a
    measurement or an evaluation, and the category is neither."""
    doc = _read(TID1500)
    assert [d.message for d in validate(doc) if d.message == NO_EVALUATION] == []
    cut = _group_without_evaluations(doc, 2)
    group = cut.item("1.7.2")
    assert [
        (c.concept.value, c.concept.scheme)
        for c in group.children
        if c.concept is not None and c.value_type == "CODE" and c.relationship == "CONTAINS"
    ] == [
        ("276214006", "SCT"),
        ("121071", "DCM"),
    ]
    found = [(d.path, d.severity.value) for d in validate(cut) if d.message == NO_EVALUATION]
    assert found == [("1.7.2", "ERROR")]


def test_a_group_with_an_evaluation_beside_the_category_is_valid() -> None:
    """Group 3 (Aorta, 1.7.3) has Finding category and a Diameter: no finding about it."""
    doc = _read(TID1500)
    group = doc.item("1.7.3")
    assert any(c.concept == FINDING_CATEGORY for c in group.children)
    assert [
        d for d in validate(doc) if d.path.startswith("1.7.3") and d.severity.value == "ERROR"
    ] == []
