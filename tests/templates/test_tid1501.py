"""TID 1501 / 1410 / 1411 measurement groups: the Finding category row (PS3.16).

PS3.16 TID 1501 "Measurement and Qualitative Evaluation Group" row CONTAINS CODE EV
(276214006, SCT, "Finding category"): the reader keeps it as the group's
``finding_category``, never as a qualitative evaluation, and the builder writes that
code (not (130400, DCM), which PS3.16 Annex D defines as "Geometric purpose of region").
"""

from __future__ import annotations

import io
import warnings

from srkit.codec import load_dataset, read, write
from srkit.model import CodeContentItem, Document
from srkit.model.concepts import FINDING_CATEGORY
from srkit.templates.tid1500 import qualitative_rows, read_measurement_report
from srkit.templates.tid1500_builder import ReportSpec, build_measurement_report
from tests.conftest import data_path

TID1500 = "sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm"


def _read(name: str) -> Document:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(data_path(name))


def _roundtrip(doc: Document) -> Document:
    buf = io.BytesIO()
    write(doc, buf)
    buf.seek(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(buf)


def test_finding_category_of_the_highdicom_groups() -> None:
    """dsrdump of the file: groups 2-4 have Finding category (276214006, SCT) =
    Morphologically Abnormal Structure, Anatomical structure, Anatomical structure."""
    report = read_measurement_report(_read(TID1500))
    cats = [g.finding_category for g in report.groups]
    assert cats[0] is None
    assert [(c.value, c.scheme, c.meaning) for c in cats[1:] if c is not None] == [
        ("49755003", "SCT", "Morphologically Abnormal Structure"),
        ("91723000", "SCT", "Anatomical structure"),
        ("91723000", "SCT", "Anatomical structure"),
    ]
    names = [r["quantity"]["value"] for r in qualitative_rows(_read(TID1500))]
    assert "276214006" not in names


def test_builder_writes_the_snomed_finding_category() -> None:
    """Rebuilding the report from its records writes Finding category as (276214006, SCT)."""
    report = read_measurement_report(_read(TID1500))
    image = load_dataset(data_path("ct/pydicom_CT_small.dcm"), stop_before_pixels=True)
    rebuilt = _roundtrip(build_measurement_report(ReportSpec(groups=report.groups), [image]))
    items = [
        p.item
        for p in rebuilt.walk()
        if isinstance(p.item, CodeContentItem) and p.item.concept == FINDING_CATEGORY
    ]
    assert [(i.concept.value, i.concept.scheme, i.concept.meaning) for i in items] == [
        ("276214006", "SCT", "Finding category")
    ] * 3
    again = read_measurement_report(rebuilt)
    assert [g.finding_category for g in again.groups] == [g.finding_category for g in report.groups]
