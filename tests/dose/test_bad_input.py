"""Bad dose reports: each problem is a clear diagnostic; everything else is read."""

from __future__ import annotations

import dataclasses

from srkit.codec import read
from srkit.model.code import Code
from srkit.model.document import Document
from srkit.model.items import ContentItem, NumContentItem
from srkit.templates.dose import dose_report
from tests.conftest import data_path

SIEMENS_CT = "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"
ARTIS = "rdsr/pyskindose_siemens_axiom_artis.dcm"


def _edit(doc: Document, path: tuple[int, ...], new: ContentItem | None) -> Document:
    """The document with the item at ``path`` (root children numbered from 1) replaced."""

    def walk(item: ContentItem, rest: tuple[int, ...]) -> ContentItem:
        kids = list(item.children)
        if len(rest) == 1:
            if new is None:
                del kids[rest[0] - 1]
            else:
                kids[rest[0] - 1] = new
        else:
            kids[rest[0] - 1] = walk(kids[rest[0] - 1], rest[1:])
        return dataclasses.replace(item, children=tuple(kids))

    root = walk(doc.root, path)
    return dataclasses.replace(doc, root=root)  # type: ignore[arg-type]


def _messages(doc: Document) -> list[str]:
    report = dose_report(doc)
    assert report is not None
    return [str(d) for d in report.diagnostics]


def test_unknown_unit_is_a_diagnostic_not_a_number() -> None:
    doc = read(data_path(SIEMENS_CT))
    dlp = doc.item("1.13.7.3")
    assert isinstance(dlp, NumContentItem)
    bad = dataclasses.replace(dlp, units=Code.make("furlong.Gy", "UCUM", "furlong gray"))
    doc = _edit(doc, (13, 7, 3), bad)
    report = dose_report(doc)
    assert report is not None
    # kept with its number and original unit, never dropped (issue 12)
    assert report.events[0]["ct_dose"]["dlp"] == {
        "value": 29.67,
        "unit": "furlong.Gy",
        "scheme": "UCUM",
        "normalised": False,
    }
    assert report.events[0]["ct_dose"]["mean_ctdivol"] == 15.45  # the rest is read
    assert report.events[1]["ct_dose"]["dlp"] == 84.28
    (error,) = [d for d in report.diagnostics if d.severity == "ERROR"]
    assert error.path == "1.13.7.3"
    assert error.message.startswith("[dose-unit-unknown] DLP (113838, DCM)")
    assert "unknown unit 'furlong.Gy'" in error.message
    assert "expected mGy.cm" in error.message
    assert "not normalised" in error.message
    strict = dose_report(doc, strict_units=True)
    assert strict is not None
    assert strict.events[0]["ct_dose"]["dlp"] is None
    (error,) = [d for d in strict.diagnostics if d.severity == "ERROR"]
    assert error.message.endswith("null (--strict-units)")


def test_wrong_dimension_unit() -> None:
    doc = read(data_path(SIEMENS_CT))
    ctdi = doc.item("1.13.7.1")
    assert isinstance(ctdi, NumContentItem)
    doc = _edit(doc, (13, 7, 1), dataclasses.replace(ctdi, units=Code.make("mGy.cm", "UCUM")))
    report = dose_report(doc)
    assert report is not None
    kept = report.events[0]["ct_dose"]["mean_ctdivol"]
    assert kept == {"value": 15.45, "unit": "mGy.cm", "scheme": "UCUM", "normalised": False}
    assert any(
        "[dose-unit-not-convertible]" in str(d) and "cannot be converted to mGy" in str(d)
        for d in report.diagnostics
    )
    strict = dose_report(doc, strict_units=True)
    assert strict is not None
    assert strict.events[0]["ct_dose"]["mean_ctdivol"] is None


def test_missing_accumulated_container() -> None:
    doc = _edit(read(data_path(SIEMENS_CT)), (12,), None)  # 1.12 CT Accumulated Dose Data
    report = dose_report(doc)
    assert report is not None
    assert report.accumulated == []
    assert len(report.events) == 9
    assert report.events[8]["ct_dose"]["dlp"] == 369.34
    assert any(
        d.severity == "ERROR" and "no CT Accumulated Dose Data" in d.message
        for d in report.diagnostics
    )


def test_event_without_ctdivol() -> None:
    doc = read(data_path(SIEMENS_CT))
    dose = doc.item("1.14.7")
    doc = _edit(doc, (14, 7), dataclasses.replace(dose, children=dose.children[1:]))
    report = dose_report(doc)
    assert report is not None
    assert "mean_ctdivol" not in report.events[1]["ct_dose"]
    assert report.events[1]["ct_dose"]["dlp"] == 84.28
    found = [d for d in report.diagnostics if "no Mean CTDIvol" in d.message]
    assert [d.path for d in found] == ["1.14"]
    assert "event 2" in found[0].message


def test_xray_report_of_unknown_modality() -> None:
    doc = read(data_path(ARTIS))
    procedure = doc.item("1.1")
    unknown = Code.make("99001", "99LOCAL", "Dental cone beam")
    doc = _edit(doc, (1,), dataclasses.replace(procedure, value=unknown))
    doc = dataclasses.replace(doc, root=dataclasses.replace(doc.root, template=None))
    report = dose_report(doc)
    assert report is not None
    assert report.template == "10001"  # told by its containers
    assert report.to_dict()["procedure_reported"]["meaning"] == "Dental cone beam"
    assert len(report.events) == 21
    assert report.accumulated[0]["dose_area_product_total"] == 9.37e-06
    assert any("not a modality srkit knows" in d.message for d in report.diagnostics)


def test_no_template_no_procedure_no_containers() -> None:
    doc = read(data_path(ARTIS))
    kept = tuple(c for c in doc.root.children if c.value_type != "CONTAINER")[1:]
    doc = dataclasses.replace(doc, root=dataclasses.replace(doc.root, template=None, children=kept))
    messages = _messages(doc)
    assert any("neither TID 10011 nor TID 10001" in m for m in messages)
    assert any("no Accumulated X-Ray Dose Data" in m for m in messages)
