"""The vocabulary of ``srkit.model`` (concept codes, SOP classes, Query/Retrieve levels) and
the template registry's one ``detect(doc)``, pinned on every SR of the shared data.

Codes are checked against pydicom's concept dictionary (generated from PS3.16 Annex D
and the SNOMED tables), SOP classes against its UID dictionary (PS3.6 Annex A), levels
against PS3.4 C.6; ``detect`` against the template each real file declares, and again
with the declaration removed (so that the title, content and SOP class rules decide).
"""

from __future__ import annotations

import ast
import dataclasses
import re
import warnings
from pathlib import Path

import pytest

import srkit.model.concepts as concepts
from srkit.codec import read
from srkit.db.srindex import document_row
from srkit.errors import SrkitError
from srkit.model import Code, Document, TemplateId
from srkit.model import levels as lv
from srkit.model import sopclass as sc
from srkit.templates import dose, registry, tid1500
from srkit.templates.concepts import standard_meaning
from srkit.templates.registry import Rule, detect, detect_id, detection, document_kind
from srkit.validate.templates import TEMPLATES, templates_for
from tests.conftest import DATA, SR_FILES, data_path

MODEL = Path(concepts.__file__).parent


def _read(path: Path) -> Document:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(path)


def _loose(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.lower())


# ------------------------------------------------------------------ purity


@pytest.mark.parametrize("module", ["concepts.py", "levels.py", "sopclass.py"])
def test_vocabulary_modules_import_no_pydicom_and_do_no_io(module: str) -> None:
    """model/ knows no pydicom, no files (architecture.md): only stdlib and srkit.model /
    srkit.errors are imported, and nothing opens a file."""
    tree = ast.parse((MODEL / module).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id != "open"
    allowed = {"__future__", "dataclasses", "enum", "srkit.model.code", "srkit.errors"}
    assert imported <= allowed, imported - allowed


# ------------------------------------------------------------------ concept codes


def test_every_concept_is_the_standards_code_with_its_meaning() -> None:
    """Each constant's (value, scheme) is a PS3.16 code whose standard meaning is the
    meaning srkit writes (case and punctuation aside); UMLS and NCIt codes, which
    pydicom's dictionary does not hold, are pinned by value."""
    unknown = []
    for name in concepts.__all__:
        code = getattr(concepts, name)
        assert isinstance(code, Code), name
        standard = standard_meaning(code)
        if standard is None:
            unknown.append((name, code.scheme, code.value))
            continue
        if name in ("FINDING_CATEGORY", "CT_PROCEDURE"):
            continue  # SNOMED's fully specified names differ; pinned below
        assert _loose(standard) == _loose(code.meaning), (name, standard, code.meaning)
    assert sorted(unknown) == [
        ("ACTIVITY_SESSION", "NCIt", "C67447"),
        ("QUALITATIVE_EVALUATIONS", "UMLS", "C0034375"),
        ("TIME_POINT", "UMLS", "C2348792"),
    ]
    assert standard_meaning(concepts.CT_PROCEDURE) == "Computed tomography"
    defined = {n for n, v in vars(concepts).items() if isinstance(v, Code)}
    assert defined == set(concepts.__all__)
    assert len(concepts.__all__) == len(defined) == 47


def test_concepts_are_distinct_codes() -> None:
    """No two names for one code (one meaning, one name)."""
    keys = [getattr(concepts, n).key for n in concepts.__all__]
    assert len(keys) == len(set(keys))


def test_finding_category_is_the_snomed_code_not_dcm_130400() -> None:
    """PS3.16 TID 1501 (and TID 1410, 1411) Measurement Group: the Finding category row
    is CONTAINS CODE EV (276214006, SCT, "Finding category"). (130400, DCM) is another
    concept of PS3.16 Annex D, "Geometric purpose of region"; CID 7464 ("General Region
    of Interest Measurement Modifier": Mean, Maximum ...) is the value set of the
    Derivation row of TID 1419, not of Finding category."""
    assert concepts.FINDING_CATEGORY.key == ("SCT", "276214006")
    assert concepts.FINDING_CATEGORY.meaning == "Finding category"
    assert standard_meaning(concepts.FINDING_CATEGORY) == "Findings category type"
    other = Code.make("130400", "DCM", "Finding Category")
    assert standard_meaning(other) == "Geometric purpose of region"
    assert other != concepts.FINDING_CATEGORY
    from srkit.validate.templates.engine import cid_keys

    assert ("SCT", "276214006") not in cid_keys(7464)
    assert concepts.DERIVATION.key == ("DCM", "121401")
    assert {("SCT", "255619001"), ("SCT", "56851009")} <= cid_keys(7464)  # Mean, Maximum


def test_template_modules_use_the_vocabulary_objects() -> None:
    """templates/ and validate/ hold the vocabulary's codes, not copies."""
    from srkit.render import html
    from srkit.templates import tid1419, tid1501
    from srkit.validate.templates import dose as vdose
    from srkit.validate.templates import tid1500 as vt

    assert tid1501.FINDING_CATEGORY is concepts.FINDING_CATEGORY
    assert tid1501.MEASUREMENT_GROUP is vt.MEASUREMENT_GROUP is html.MEASUREMENT_GROUP
    assert tid1500.MEASUREMENT_REPORT is concepts.IMAGING_MEASUREMENT_REPORT
    assert tid1419.FINDING_SITE is vt.FINDING_SITE is concepts.FINDING_SITE
    assert vdose.DOSE_REPORT is concepts.XRAY_RADIATION_DOSE_REPORT
    assert html.EVENTS == (concepts.CT_ACQUISITION, concepts.IRRADIATION_EVENT_XRAY_DATA)


# ------------------------------------------------------------------ SOP classes


def test_sop_class_names_agree_with_the_uid_dictionary() -> None:
    """Every class srkit names has pydicom's (PS3.6 Annex A) name and retired state."""
    from pydicom.uid import UID

    def norm(text: str) -> str:
        for word in ("Storage", "SOP Class", "(retired)"):
            text = text.replace(word, "")
        return " ".join(text.split())

    for uid, entry in sc.SOP_CLASSES.items():
        assert entry.uid == uid
        known = UID(uid)
        if known.name == uid:  # newer than pydicom's dictionary
            assert uid == sc.LABEL_MAP_SEGMENTATION
            continue
        assert norm(entry.name) == norm(known.name), uid
        assert entry.retired == known.is_retired, uid


def test_sr_classes_and_single_frame_classes() -> None:
    """PS3.4 B.5: 24 SR storage classes (4 retired trial classes); KOS and the dose SR are SR
    classes; the single-frame image classes are those validate/ checked by hand."""
    assert len(sc.SR_SOP_CLASSES) == 24
    assert all(uid.startswith(sc.SR_PREFIX) for uid in sc.SR_SOP_CLASSES)
    assert sum(c.retired for c in sc.SOP_CLASSES.values()) == 4
    assert sc.SR_SOP_CLASSES[sc.KEY_OBJECT_SELECTION] == "Key Object Selection Document"
    assert sc.SR_SOP_CLASSES[sc.XRAY_RADIATION_DOSE_SR] == "X-Ray Radiation Dose SR"
    assert sc.is_sr_sop_class(sc.COMPREHENSIVE_3D_SR)
    assert not sc.is_sr_sop_class(sc.CT_IMAGE)
    assert not sc.is_sr_sop_class(sc.SEGMENTATION)
    assert sc.known_sop_class_name(sc.REAL_WORLD_VALUE_MAPPING) == "Real World Value Mapping"
    assert sc.known_sop_class_name("1.2.3") is None
    # PS3.4 C.6.1 / C.6.2: FIND, MOVE, GET of both Query/Retrieve roots
    qr = [c.uid for c in sc.SOP_CLASSES.values() if "Query/Retrieve" in c.name]
    assert qr == [sc.PATIENT_ROOT_QR + x for x in "123"] + [sc.STUDY_ROOT_QR + x for x in "123"]
    assert sc.STUDY_ROOT_QR_MOVE == "1.2.840.10008.5.1.4.1.2.2.2"
    prefix = "1.2.840.10008.5.1.4.1.1."
    assert (
        frozenset(
            prefix + s
            for s in (
                "1",
                "1.1",
                "1.1.1",
                "1.2",
                "1.2.1",
                "1.3",
                "1.3.1",
                "2",
                "4",
                "6.1",
                "7",
                "128",
                "77.1.4",
            )
        )
        == sc.SINGLE_FRAME_IMAGE_CLASSES
    )
    from srkit.codec import sopclass as codec_sopclass
    from srkit.validate.content import SINGLE_FRAME_CLASSES

    assert SINGLE_FRAME_CLASSES is sc.SINGLE_FRAME_IMAGE_CLASSES
    assert codec_sopclass.SR_SOP_CLASSES is sc.SR_SOP_CLASSES
    assert codec_sopclass.sop_class_name(sc.CT_IMAGE) == "CT Image"
    assert codec_sopclass.sop_class_name(sc.BASIC_TEXT_SR) == "Basic Text SR"


def test_every_sr_file_has_an_sr_sop_class_srkit_names() -> None:
    names = {p.relative_to(DATA).as_posix(): _read(p).sop_class_uid for p in SR_FILES}
    assert all(sc.is_sr_sop_class(uid) for uid in names.values())
    assert names["sr-other/dcm4che_Tag-0040-A170-VR-CS.dcm"] == sc.SR_PREFIX + "3"
    assert sc.SOP_CLASSES[sc.SR_PREFIX + "3"].retired


# ------------------------------------------------------------------ levels


def test_levels_and_unique_keys() -> None:
    """PS3.4 C.6: PATIENT > STUDY > SERIES > IMAGE, unique keys Patient ID, Study Instance
    UID, Series Instance UID, SOP Instance UID."""
    assert lv.LEVELS == ("PATIENT", "STUDY", "SERIES", "IMAGE")
    assert lv.UNIQUE_KEYS == {
        "PATIENT": "PatientID",
        "STUDY": "StudyInstanceUID",
        "SERIES": "SeriesInstanceUID",
        "IMAGE": "SOPInstanceUID",
    }
    assert [lv.normalise_level(x) for x in ("study", " Series ", "instances", "IMAGES")] == [
        "STUDY",
        "SERIES",
        "IMAGE",
        "IMAGE",
    ]
    assert lv.unique_key("instance") == "SOPInstanceUID"
    assert lv.levels_above("SERIES") == ("PATIENT", "STUDY")
    assert lv.levels_above("patient") == ()
    with pytest.raises(SrkitError, match=r"unknown query level 'FRAME' \(PATIENT, STUDY"):
        lv.normalise_level("FRAME")


# ------------------------------------------------------------------ registry

EXPECTED = {
    "kos/nist_IDS-DEPT003-a_kos.dcm": ("2010", "2010"),
    "rdsr/openrem_CT-ESR-GE_Optima.dcm": ("10011", "10011"),
    "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm": ("10011", "10011"),
    "rdsr/openrem_CT-RDSR-Toshiba_DoseCheck.dcm": ("10011", "10011"),
    "rdsr/pyskindose_philips_allura_clarity_u104.dcm": ("10001", "10001"),
    "rdsr/pyskindose_philips_allura_clarity_u601.dcm": ("10001", "10001"),
    "rdsr/pyskindose_siemens_axiom_artis.dcm": ("10001", "10001"),
    "rdsr/pyskindose_siemens_axiom_example_procedure.dcm": ("10001", "10001"),
    "sr-other/dcm4che_Tag-0040-A170-VR-CS.dcm": (None, None),
    "sr-other/dcm4che_report_dfl.dcm": (None, None),
    "sr-other/orthanc_MarekLatin2.dcm": (None, None),
    "sr-other/orthanc_StructuredReports_IM0.dcm": (None, None),
    "sr-other/pydicom_reportsi.dcm": (None, None),
    "sr-other/pydicom_reportsi_with_empty_number_tags.dcm": (None, None),
    "sr-other/pydicom_test-SR.dcm": (None, None),
    "sr-tid1500/dcmjs_sample-sr.dcm": ("1500", "1500"),
    "sr-tid1500/dcmjs_structured_report.dcm": ("1500", "1500"),
    "sr-tid1500/dcmqi_sr-example_sr.dcm": ("1500", "1500"),
    "sr-tid1500/highdicom_sr_document.dcm": ("1500", "1500"),
    "sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm": ("1500", "1500"),
}
"""File -> (template detected as stored, template detected with the declaration removed)."""

UNDECLARED_RULE = {"1500": Rule.TITLE, "10011": Rule.DOSE_CONTENT, "10001": Rule.DOSE_CONTENT}
KIND = {
    "1500": "measurement_report",
    "10011": "dose_report",
    "10001": "dose_report",
    "2010": "key_object_selection",
    None: "other",
}


def _undeclared(doc: Document) -> Document:
    return dataclasses.replace(doc, root=dataclasses.replace(doc.root, template=None))


@pytest.fixture(scope="module")
def documents() -> dict[str, Document]:
    return {p.relative_to(DATA).as_posix(): _read(p) for p in SR_FILES}


def test_detect_on_every_sr_file(documents: dict[str, Document]) -> None:
    """Every SR of the shared data: the declared template (rule 1), and with the Content
    Template Sequence removed the template its title, content or SOP class show."""
    if not documents:
        data_path("sr-tid1500")  # skips (or fails under CI) without the data
    assert set(documents) == set(EXPECTED)
    for name, doc in documents.items():
        declared, undeclared = EXPECTED[name]
        found = detection(doc)
        assert found.identifier == declared, name
        assert found.rule == (Rule.DECLARED if declared else Rule.NONE), name
        if declared is not None:
            assert detect(doc) is doc.template  # the declaration itself
            assert found.template is not None
            assert found.template.mapping_resource == "DCMR"
        bare = detection(_undeclared(doc))
        assert bare.identifier == undeclared, name
        if undeclared is not None:
            assert bare.rule == UNDECLARED_RULE.get(undeclared, Rule.SOP_CLASS), name
            assert bare.template == TemplateId(identifier=undeclared, mapping_resource="DCMR")


def test_every_layer_agrees_with_detect(documents: dict[str, Document]) -> None:
    """templates (TID 1500 and dose readers), validate and the archive index answer
    "which template" as detect does, declared or not."""
    if not documents:
        data_path("sr-tid1500")
    for name, stored in documents.items():
        for doc in (stored, _undeclared(stored)):
            tid = detect_id(doc)
            assert tid1500.is_measurement_report(doc) == (tid == "1500"), name
            assert templates_for(doc) == ([tid] if tid in TEMPLATES else []), name
            assert document_row(doc)["kind"] == document_kind(doc) == KIND[tid], name
            if dose.is_dose_report(doc):
                assert dose.dose_template(doc) == tid, name


def test_a_declaration_from_another_mapping_resource_is_passed_over(
    documents: dict[str, Document],
) -> None:
    """Rule 1 takes only DCMR templates (PS3.3 C.18.8.1.1: the identifier is meaningful
    within its Mapping Resource)."""
    if not documents:
        data_path("sr-tid1500")
    report = documents["sr-tid1500/dcmjs_sample-sr.dcm"]
    private = TemplateId(identifier="1", mapping_resource="99PRIVATE")
    moved = dataclasses.replace(report, root=dataclasses.replace(report.root, template=private))
    assert detection(moved) == registry.Detection(
        TemplateId(identifier="1500", mapping_resource="DCMR"), Rule.TITLE
    )
    other = documents["sr-other/pydicom_test-SR.dcm"]
    claimed = TemplateId(identifier="1500", mapping_resource="99PRIVATE")
    other = dataclasses.replace(other, root=dataclasses.replace(other.root, template=claimed))
    assert detect(other) is None
    assert not tid1500.is_measurement_report(other)


def test_a_declared_template_wins_over_the_title(documents: dict[str, Document]) -> None:
    """Rule 1 before rule 2: a report titled Imaging Measurement Report that declares TID
    2000 is a TID 2000 document for every layer (the TID 1500 reader refuses it)."""
    if not documents:
        data_path("sr-tid1500")
    report = documents["sr-tid1500/highdicom_sr_document.dcm"]
    t2000 = TemplateId(identifier="2000")
    doc = dataclasses.replace(report, root=dataclasses.replace(report.root, template=t2000))
    assert detect_id(doc) == "2000"
    assert templates_for(doc) == ["2000"]
    assert not tid1500.is_measurement_report(doc)
    assert document_kind(doc) == "other"
    message = tid1500.read_measurement_report(doc).diagnostics[0].message
    assert message == (
        'not a TID 1500 Measurement Report (root (126000, DCM, "Imaging Measurement Report"), '
        "TID 2000)"
    )


def test_dose_report_without_evidence_has_no_template_but_stays_a_dose_report(
    documents: dict[str, Document],
) -> None:
    """Rule 3: with no procedure and no accumulated or event container neither TID 10011
    nor TID 10001 can be told; the archive still calls it a dose report."""
    if not documents:
        data_path("rdsr")
    ct = _undeclared(documents["rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"])
    from srkit.model.concepts import (
        CT_ACCUMULATED_DOSE_DATA,
        CT_ACQUISITION,
        PROCEDURE_REPORTED,
    )

    drop = (CT_ACCUMULATED_DOSE_DATA, CT_ACQUISITION, PROCEDURE_REPORTED)
    kept = tuple(c for c in ct.root.children if c.concept not in drop)
    assert len(kept) < len(ct.root.children)
    bare = dataclasses.replace(ct, root=dataclasses.replace(ct.root, children=kept))
    assert detection(bare) == registry.Detection(None, Rule.NONE)
    assert document_kind(bare) == "dose_report"
    assert templates_for(bare) == []
