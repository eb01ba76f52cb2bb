"""IOD and template validation on the real files and on deliberately broken ones.

Broken documents are real files changed through the model (``dataclasses.replace``)
and written with ``srkit.codec.write``, or changed as pydicom Datasets; each finding
is expected at the id of the item DCMTK's ``dsrdump`` gives it.
"""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import pydicom
import pytest

from srkit.codec import read, write
from srkit.diagnostics import Severity
from srkit.errors import InvalidDocumentError
from srkit.model import Code, ContainerContentItem, ContentItem, ReferenceContentItem
from srkit.model.document import Document
from srkit.render import dump_lines
from srkit.validate import all_diagnostics, templates_for, validate
from srkit.validate.iod import IODS
from srkit.validate.relationships import allows
from tests.conftest import data_path
from tests.validate import fixtures as vf

CT = "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"
KOS = "kos/nist_IDS-DEPT003-a_kos.dcm"
TID1500 = "sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm"


def _read(path: object) -> Document:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(path)  # type: ignore[arg-type]


def _errors(doc: Document) -> list[tuple[str, str]]:
    return [(d.path, d.message) for d in validate(doc) if d.severity is Severity.ERROR]


def _edit(item: ContentItem, path: list[int], new: ContentItem | None) -> ContentItem:
    """``item`` with the descendant at ``path`` (1-based) replaced, or removed if None."""
    n, rest = path[0], path[1:]
    children = list(item.children)
    if rest:
        children[n - 1] = _edit(children[n - 1], rest, new)
    elif new is None:
        del children[n - 1]
    else:
        children[n - 1] = new
    return dataclasses.replace(item, children=tuple(children))


def _change(doc: Document, item_id: str, new: ContentItem | None, tmp_path: Path) -> Document:
    """Replace (or remove) an item, write the document, read it back."""
    path = [int(p) for p in item_id.split(".")[1:]]
    root = _edit(doc.root, path, new)
    assert isinstance(root, ContainerContentItem)
    out = tmp_path / "broken.dcm"
    write(dataclasses.replace(doc, root=root), out)
    return _read(out)


# -- real files -------------------------------------------------------------------


def test_kos_is_valid_and_follows_tid_2010():
    doc = _read(data_path(KOS))
    assert templates_for(doc) == ["2010"]
    assert validate(doc) == []


def test_highdicom_tid1500_is_valid():
    doc = _read(data_path(TID1500))
    assert templates_for(doc) == ["1500"]
    assert [d for d in validate(doc) if d.severity is Severity.ERROR] == []


def test_ct_dose_report_only_warns_about_unit_spelling():
    # Siemens writes (mGycm, UCUM) where TID 10011 prescribes (mGy.cm, UCUM):
    # dsrdump shows item 1.13.7.3 as DLP "29.67" (mGycm,UCUM,"mGycm")
    doc = _read(data_path(CT))
    found = validate(doc)
    assert _errors(doc) == []
    dlp = [d for d in found if d.path == "1.13.7.3"]
    assert len(dlp) == 1
    assert dlp[0].severity is Severity.WARNING
    assert "(mGycm, UCUM)" in dlp[0].message
    assert "(mGy.cm, UCUM)" in dlp[0].message


def test_test_sr_content_errors_at_dsrdump_ids():
    # dsrdump: 1.3.2 is a SCOORD without SELECTED FROM child; 1.5 an IMAGE of a CT
    # image (single frame) with frames 5,2; 1.4 a COMPOSITE of 9.8.7.6
    doc = _read(data_path("sr-other/pydicom_test-SR.dcm"))
    errors = _errors(doc)
    assert ("1.3.2", "SCOORD has no SELECTED FROM child (IMAGE) (PS3.3 C.18.6)") in errors
    assert any(p == "1.5" and "single-frame" in m for p, m in errors)
    assert any(p == "1.4" and "9.8.7.6" in m for p, m in errors)


def test_vendor_header_gaps_are_reported():
    ge = _read(data_path("rdsr/openrem_CT-ESR-GE_Optima.dcm"))
    assert ("", "PatientSex (0010,0040) missing (type 2, Patient (C.7.1.1))") in _errors(ge)
    axiom = _read(data_path("rdsr/pyskindose_siemens_axiom_example_procedure.dcm"))
    messages = [m for p, m in _errors(axiom) if p == ""]
    assert any(
        m.startswith("ReferencedPerformedProcedureStepSequence (0008,1111)") for m in messages
    )
    assert any(p == "1" and m.startswith("PersonName present") for p, m in _errors(axiom))


def test_relationship_tables_cover_every_sr_class():
    assert len(IODS) == 19
    basic = IODS["1.2.840.10008.5.1.4.1.1.88.11"]
    assert "NUM" not in basic.value_types
    assert not basic.by_reference
    comp = IODS["1.2.840.10008.5.1.4.1.1.88.33"]
    assert allows(comp.relationships, "TEXT", "INFERRED FROM", "NUM", by_reference=True)
    assert not allows(comp.relationships, "CONTAINER", "CONTAINS", "CONTAINER", by_reference=True)
    assert "SCOORD3D" in IODS["1.2.840.10008.5.1.4.1.1.88.34"].value_types
    assert "TABLE" in IODS["1.2.840.10008.5.1.4.1.1.88.35"].value_types


# -- broken documents, one per rule ------------------------------------------------


def test_forbidden_relationship_for_the_sop_class(tmp_path):
    doc = _read(data_path(KOS))
    image = doc.item("1.3")
    broken = _change(doc, "1.3", dataclasses.replace(image, relationship="INFERRED FROM"), tmp_path)
    assert (
        "1.3",
        "CONTAINER INFERRED FROM IMAGE not allowed in Key Object Selection Document "
        "(PS3.3 Table A.35.4-2)",
    ) in _errors(broken)


def test_tid1500_group_without_tracking_identifier(tmp_path):
    doc = _read(data_path(TID1500))
    tracking = doc.item("1.7.2.1")
    assert tracking.concept == Code.make("112039", "DCM")
    broken = _change(doc, "1.7.2.1", None, tmp_path)
    errors = _errors(broken)
    assert any(p == "1.7.2" and '"Tracking Identifier" (112039, DCM)' in m for p, m in errors)
    assert all(p == "1.7.2" for p, _ in errors)


def test_ct_event_without_ctdivol(tmp_path):
    doc = _read(data_path(CT))
    assert doc.item("1.13.7.1").concept == Code.make("113830", "DCM")
    broken = _change(doc, "1.13.7.1", None, tmp_path)
    assert (
        "1.13.7",
        'TID 10013 CT Dose: missing "Mean CTDIvol" (113830, DCM) (at least 1 required, found 0)',
    ) in _errors(broken)


def test_wrong_units(tmp_path):
    doc = _read(data_path(CT))
    dlp = doc.item("1.13.7.3")
    mgy = Code.make("mGy", "UCUM", "mGy")
    broken = _change(doc, "1.13.7.3", dataclasses.replace(dlp, units=mgy), tmp_path)
    assert (
        "1.13.7.3",
        'TID 10013 "DLP" (113838, DCM): wrong units (mGy, UCUM), must be (mGy.cm, UCUM)',
    ) in _errors(broken)


def test_by_reference_where_the_class_forbids_it(tmp_path):
    doc = _read(data_path(CT))  # X-Ray Radiation Dose SR: no by-reference relationships
    dlp_total = doc.item("1.12.2")
    ref = ReferenceContentItem(relationship="INFERRED FROM", ref=(1, 13, 7, 3))
    changed = dataclasses.replace(dlp_total, children=(ref,))
    broken = _change(doc, "1.12.2", changed, tmp_path)
    assert (
        "1.12.2.1",
        "by-reference relationship (INFERRED FROM 1.13.7.3) not allowed in "
        "X-Ray Radiation Dose SR (PS3.3 A.35.8)",
    ) in _errors(broken)


def test_missing_required_header_attributes():
    ds = pydicom.dcmread(data_path(CT))
    del ds.CompletionFlag
    del ds.ContentDate
    ds.SeriesNumber = None
    doc = _read(ds)
    errors = [m for p, m in _errors(doc) if p == ""]
    assert "CompletionFlag (0040,A491) missing (type 1, SR Document General (C.17.2))" in errors
    assert "ContentDate (0008,0023) missing (type 1, SR Document General (C.17.2))" in errors
    assert "SeriesNumber (0020,0011) empty (type 1, SR Document Series (C.17.1))" in errors


def test_missing_root_template_for_kos(tmp_path):
    doc = _read(data_path(KOS))
    root = dataclasses.replace(doc.root, template=None)
    out = tmp_path / "kos.dcm"
    write(dataclasses.replace(doc, root=root), out)
    errors = _errors(_read(out))
    assert any(p == "1" and "requires TID 2010" in m for p, m in errors)


def test_value_type_not_allowed_in_basic_text():
    doc = _read(data_path(CT))
    basic = dataclasses.replace(doc, sop_class_uid="1.2.840.10008.5.1.4.1.1.88.11")
    errors = _errors(basic)
    assert ("1.12.1", "value type NUM not allowed in Basic Text SR") in errors


def test_all_diagnostics_keeps_reader_findings_first():
    doc = _read(data_path("rdsr/pyskindose_philips_allura_clarity_u104.dcm"))
    merged = all_diagnostics(doc)
    assert merged[: len(doc.diagnostics)] == list(doc.diagnostics)
    assert any("empty Text Value" in d.message for d in doc.diagnostics)


@pytest.mark.parametrize("uid", ["1.2.840.10008.5.1.4.1.1.88.3", "1.2.3.4"])
def test_classes_without_rules_get_common_checks_only(uid):
    # no IOD table for a retired or unknown class: no header or relationship
    # findings even with the KO modality; the declared TID 2010 is still checked
    doc = dataclasses.replace(_read(data_path(KOS)), sop_class_uid=uid)
    assert templates_for(doc) == ["2010"]
    assert validate(doc) == []
    root = dataclasses.replace(doc.root, children=doc.root.children[:0])
    found = validate(dataclasses.replace(doc, root=root))
    assert [(d.path, d.severity) for d in found] == [("1", Severity.ERROR)]


# -- rules dciodvfy applies too (issue 11, item 7) ------------------------------------


def _coded(doc: Document) -> list[tuple[str, Severity, str | None, str]]:
    return [(d.path, d.severity, d.code, d.message) for d in all_diagnostics(doc) if d.code]


def test_verified_requires_complete(tmp_path):
    """PS3.3 Table C.17-2, Verification Flag: "A value of VERIFIED shall be used only
    when the value of Completion Flag (0040,A491) is COMPLETE"."""
    assert _read(data_path(vf.TEST_SR)).verification_flag == "VERIFIED"
    assert [c for c in _coded(_read(data_path(vf.TEST_SR))) if c[0] == ""] == []
    found = _coded(_read(vf.verified_partial(tmp_path)))
    assert (
        "",
        Severity.ERROR,
        "verified-not-complete",
        "VerificationFlag (0040,A493) is VERIFIED but CompletionFlag (0040,A491) is PARTIAL: "
        "only a COMPLETE document may be verified (PS3.3 Table C.17-2)",
    ) in found


def test_invalid_uids_one_rule_each(tmp_path):
    """PS3.5 9.1: syntax (components, leading zeros, characters, length) and roots."""
    found = _coded(_read(vf.bad_uids(tmp_path)))
    header = {m.split("'")[1]: c for p, s, c, m in found if p == "" and s is Severity.ERROR}
    assert header == vf.BAD_UIDS  # and none of GOOD_UIDS


def test_invalid_uids_in_real_files():
    test_sr = _coded(_read(data_path(vf.TEST_SR)))
    assert (
        "1.4",
        Severity.ERROR,
        "uid-root",
        "ReferencedSOPInstanceUID (0008,1155) '9.8.7.6' is not a valid UID: "
        "root 9 is not an ISO/ITU-T arc (0, 1 or 2)",
    ) in test_sr
    latin2 = _coded(_read(data_path("sr-other/orthanc_MarekLatin2.dcm")))
    assert latin2 == [
        (
            "",
            Severity.ERROR,
            "uid-syntax",
            "ImplementationClassUID (0002,0012) '1.2.276.0.7230010.3.0.' is not a valid UID: "
            "empty component",
        )
    ]
    artis = _coded(_read(data_path("rdsr/pyskindose_siemens_axiom_artis.dcm")))
    assert [m for p, s, c, m in artis if c == "uid-syntax"] == [
        "MediaStorageSOPInstanceUID (0002,0003) "
        "'1.2.826.0.1.3680043.8.971.00.11663079065389384409952613179158517' "
        "is not a valid UID: component with a leading zero"
    ]


def test_reader_and_validation_report_a_bad_reference_uid_once():
    doc = _read(data_path("sr-other/pydicom_reportsi.dcm"))
    at = [d for d in all_diagnostics(doc) if d.path == "1.5.2" and "UID" in d.message]
    assert [d.message for d in at] == ["IMAGE reference has an invalid UID (0, 0)"]


def test_deprecated_coding_schemes_are_warnings(tmp_path):
    found = _coded(_read(vf.deprecated_schemes(tmp_path)))
    schemes = [(p, s, m.split("'")[1]) for p, s, c, m in found if c == "coding-scheme-deprecated"]
    assert schemes == [
        ("1", Severity.WARNING, "SRT"),
        ("1.1", Severity.WARNING, "SNM3"),
        ("1.3", Severity.WARNING, "99SDM"),
    ]  # SNM (1.3.1) is no designator PS3.16 lists, deprecated or not
    ct = _coded(_read(data_path(CT)))
    assert len([c for c in ct if c[2] == "coding-scheme-deprecated"]) == 32
    assert _errors(_read(data_path(CT))) == []


def test_retired_attributes_are_warnings(tmp_path):
    found = _coded(_read(vf.retired_attributes(tmp_path)))
    assert [(p, s, m) for p, s, c, m in found if c == "retired-attribute"] == [
        ("", Severity.WARNING, "ReasonForStudy (0032,1030) is retired (PS3.6)"),
        ("1.1", Severity.WARNING, "ObservationDateTrial (0040,A192) is retired (PS3.6)"),
    ]
    ge = _coded(_read(data_path("rdsr/openrem_CT-ESR-GE_Optima.dcm")))
    assert sorted(m.split(" ")[0] for p, s, c, m in ge if c == "retired-attribute") == [
        "OtherPatientIDs",
        "StudyPriorityID",
        "StudyStatusID",
    ]


def test_loop_through_references_is_valid(tmp_path):
    """PS3.3 C.17.3.1: "Whether or not relationships by-reference are allowed to
    ancestor Content Items, is specified in the IOD"; the Extensible SR IOD
    (A.35.15.3.1.2) forbids them "to prevent loops", and no IOD forbids more. DCMTK's
    ``mkreport lp`` ("Valid comprehensive report with loop/cycle") loops through two
    references, neither to an ancestor: valid (DCMTK and dciodvfy agree). srkit notes
    the loop as INFO, and reading, walking and rendering it end."""
    path = vf.reference_loop(tmp_path)
    doc = read(path, policy="strict")  # strict raises on any ERROR
    assert [d for d in all_diagnostics(doc) if d.severity is Severity.ERROR] == []
    notes = [(d.path, d.severity, d.message) for d in doc.diagnostics]
    assert notes == [("1.1.1", Severity.INFO, "by-reference relationships form a cycle")]
    assert [p.id for p in doc.walk()] == ["1", "1.1", "1.1.1", "1.2", "1.2.1"]
    assert isinstance(doc.item("1.1.1"), ReferenceContentItem)
    assert doc.item("1.1.1").ref_id == "1.2"
    assert any("Some more text." in line for line in dump_lines(doc))


def test_reference_to_an_ancestor_is_an_error(tmp_path):
    """The other case of PS3.3 C.17.3.1: 1.2.1 referencing its parent 1.2 makes a loop
    of one reference (DCMTK: "to ancestor content item (loop check)")."""
    doc = _read(vf.reference_to_ancestor(tmp_path))
    errors = [(d.path, d.message) for d in all_diagnostics(doc) if d.severity is Severity.ERROR]
    assert errors == [("1.2.1", "by-reference relationship to 1.2 forms a cycle")]
    with pytest.raises(InvalidDocumentError, match=r"1\.2\.1: by-reference relationship"):
        read(vf.reference_to_ancestor(tmp_path), policy="strict")
