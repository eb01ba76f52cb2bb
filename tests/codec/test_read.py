"""Reading every real SR under ../shared/data in the default (tolerant) policy."""

from __future__ import annotations

import warnings
from collections import Counter

import pytest

import srkit
from srkit import NonConformanceWarning, read
from srkit.codec.fixups import FIXUPS
from srkit.model import NumContentItem, ReferenceContentItem, ScoordContentItem
from tests.conftest import DATA, SR_FILES, data_path

# Value-type counts of the content items below the root, as PROVENANCE.md lists them
# (counted with pydicom by whoever collected the files, not by srkit).
PROVENANCE_COUNTS = {
    "rdsr/pyskindose_philips_allura_clarity_u104.dcm": dict(
        CODE=279, CONTAINER=152, DATETIME=25, IMAGE=3, NUM=1025, TEXT=132, UIDREF=27
    ),
    "rdsr/pyskindose_philips_allura_clarity_u601.dcm": dict(
        CODE=323, CONTAINER=175, DATETIME=29, IMAGE=2, NUM=1173, TEXT=151, UIDREF=31
    ),
    "rdsr/pyskindose_siemens_axiom_artis.dcm": dict(
        CODE=174, CONTAINER=44, DATETIME=22, IMAGE=2, NUM=430, TEXT=132, UIDREF=23
    ),
    "rdsr/pyskindose_siemens_axiom_example_procedure.dcm": dict(
        CODE=193, CONTAINER=50, DATETIME=25, IMAGE=7, NUM=490, TEXT=150, UIDREF=26
    ),
    "sr-other/dcm4che_report_dfl.dcm": dict(CODE=2, CONTAINER=1, NUM=1, PNAME=5, TEXT=11),
    "sr-other/orthanc_MarekLatin2.dcm": dict(CODE=2, CONTAINER=1, PNAME=1, TEXT=4),
    "sr-other/orthanc_StructuredReports_IM0.dcm": dict(TEXT=1),
    "sr-other/pydicom_reportsi.dcm": dict(CODE=2, CONTAINER=1, IMAGE=2, PNAME=1, TEXT=2),
    "sr-other/pydicom_test-SR.dcm": dict(
        CODE=5,
        COMPOSITE=1,
        CONTAINER=2,
        DATE=1,
        DATETIME=1,
        IMAGE=2,
        NUM=2,
        SCOORD=1,
        TCOORD=1,
        TEXT=7,
        TIME=1,
        UIDREF=1,
        WAVEFORM=1,
        REFERENCE=2,
    ),
    "sr-tid1500/dcmjs_sample-sr.dcm": dict(
        CODE=3, CONTAINER=4, IMAGE=3, NUM=2, PNAME=1, SCOORD=2, TEXT=1, UIDREF=1
    ),
    "sr-tid1500/dcmjs_structured_report.dcm": dict(
        CODE=4, CONTAINER=9, IMAGE=9, NUM=7, PNAME=1, SCOORD=7, TEXT=6, UIDREF=6
    ),
    "sr-tid1500/dcmqi_sr-example_sr.dcm": dict(
        CODE=21,
        COMPOSITE=1,
        CONTAINER=4,
        DATE=3,
        IMAGE=192,
        NUM=24,
        PNAME=1,
        TEXT=3,
        TIME=3,
        UIDREF=3,
    ),
    "sr-tid1500/highdicom_sr_document.dcm": dict(
        CODE=9, CONTAINER=3, IMAGE=1, NUM=1, SCOORD=1, TEXT=2, UIDREF=3
    ),
    "sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm": dict(
        CODE=13, CONTAINER=5, IMAGE=4, NUM=4, PNAME=1, SCOORD=2, SCOORD3D=1, TEXT=4, UIDREF=5
    ),
}

# Every diagnostic srkit reports on the real files: where the file really breaks a rule.
EXPECTED_DIAGNOSTICS = {
    # Philips writes TEXT items with an empty Text Value (type 1); DCMTK: "TextValue empty".
    "rdsr/pyskindose_philips_allura_clarity_u104.dcm": {
        ("ERROR", "TEXT with an empty Text Value (type 1)"): 25,
        ("ERROR", "IMAGE reference without SOP Class or Instance UID"): 3,
    },
    "rdsr/pyskindose_philips_allura_clarity_u601.dcm": {
        ("ERROR", "TEXT with an empty Text Value (type 1)"): 29,
        ("ERROR", "IMAGE reference without SOP Class or Instance UID"): 2,
    },
    # OFFIS test files reference an image with SOP Class and Instance UID "0";
    # DCMTK: "Invalid or unknown image SOP class referenced from IMAGE content item".
    "sr-other/pydicom_reportsi.dcm": {("ERROR", "IMAGE reference has an invalid UID (0, 0)"): 2},
    "sr-other/pydicom_reportsi_with_empty_number_tags.dcm": {
        ("ERROR", "IMAGE reference has an invalid UID (0, 0)"): 2
    },
    # dcmjs leaves out the Measured Value Sequence (type 2) of a NUM; DCMTK: "absent".
    "sr-tid1500/dcmjs_structured_report.dcm": {
        ("ERROR", "NUM without Measured Value Sequence (type 2)"): 1
    },
    # Retired trial SR: the content is in Findings Sequence (Trial); repaired by a fix-up.
    "sr-other/dcm4che_Tag-0040-A170-VR-CS.dcm": {
        ("WARNING", "no root content item: content is in the retired Findings Sequence (Trial)"): 1,
        ("WARNING", "31 trial content item(s) typed from their value attributes"): 1,
    },
    # Müller in Referring Physician's Name without Specific Character Set; DCMTK:
    # "SpecificCharacterSet (0008,0005) element absent but extended characters used".
    "rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm": {
        (
            "WARNING",
            "8-bit characters used but no Specific Character Set declared; read as ISO_IR 100",
        ): 1
    },
}


def _name(path):
    return path.relative_to(DATA).as_posix()


@pytest.mark.parametrize("path", SR_FILES, ids=_name)
def test_every_real_sr_reads_with_exactly_its_diagnostics(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonConformanceWarning)
        doc = read(path)
    found = Counter((d.severity.value, d.message) for d in doc.diagnostics)
    assert dict(found) == EXPECTED_DIAGNOSTICS.get(_name(path), {})
    for diag in doc.diagnostics:
        if diag.fixup:
            assert diag.fixup in FIXUPS
            assert (DATA / FIXUPS[diag.fixup].example).exists()


@pytest.mark.parametrize("name", sorted(PROVENANCE_COUNTS))
def test_item_counts_match_provenance(name):
    doc = read(data_path(name))
    counts = Counter(pos.item.value_type for pos in doc.walk())
    counts["CONTAINER"] -= 1  # the root
    assert +counts == PROVENANCE_COUNTS[name]


def test_tolerant_read_warns_once_per_document():
    with pytest.warns(NonConformanceWarning) as record:
        read(data_path("rdsr/pyskindose_philips_allura_clarity_u104.dcm"))
    assert len(record) == 1
    assert "28 error(s)" in str(record[0].message)


def test_strict_policy_raises_at_first_error_with_item_id():
    with pytest.raises(srkit.InvalidDocumentError, match=r"item 1\.11\.39: TEXT with an empty"):
        read(data_path("rdsr/pyskindose_philips_allura_clarity_u104.dcm"), policy="strict")


def test_strict_policy_reads_a_clean_file():
    doc = read(data_path("sr-tid1500/highdicom_sr_document.dcm"), policy="strict")
    assert doc.diagnostics == ()
    assert doc.template_id == "1500"


def test_header_and_navigation_of_comprehensive_sr():
    doc = read(data_path("sr-other/pydicom_test-SR.dcm"))
    assert doc.sop_class_uid == "1.2.840.10008.5.1.4.1.1.88.33"
    assert doc.patient.name == "Test^S R"
    assert doc.completion_flag == "COMPLETE"
    assert doc.verification_flag == "VERIFIED"
    assert [o.name for o in doc.verifying_observers] == ["Riesmeier^Jörg", "Observer^Verifying"]
    assert doc.verifying_observers[0].identification.meaning == "JR"
    assert doc.predecessors[0].sop_instance_uids() == (
        "1.2.276.0.7230010.3.1.4.2139363186.7819.982086466.1",
    )
    assert len(doc) == 29
    diameter = doc.item("1.2.2")
    assert isinstance(diameter, NumContentItem)
    assert (diameter.number, diameter.units.value, diameter.value) == ("3", "cm", 3.0)
    assert doc.parent("1.2.2").value_type == "CONTAINER"
    ref = doc.item("1.3.3.1")
    assert isinstance(ref, ReferenceContentItem)
    assert ref.ref_id == "1.3.2"
    assert isinstance(doc.item(ref.ref_id), ScoordContentItem)
    found = doc.find(srkit.Code.make("1234", "99_OFFIS_DCMTK"), relationship="HAS CONCEPT MOD")
    assert [p.id for p in found] == ["1.2.1.1", "1.2.1.2", "1.2.2.1", "1.5.1", "1.5.1.1", "1.5.2"]
    with pytest.raises(KeyError):
        doc.item("1.99")


def test_character_sets_decode():
    latin2 = read(data_path("sr-other/orthanc_MarekLatin2.dcm"))
    assert latin2.specific_character_set == "ISO_IR 101"
    meanings = [p.item.concept.meaning for p in latin2.walk()]
    assert "Oddział" in meanings
    assert "Język treści" in meanings
    utf8 = read(data_path("sr-tid1500/dcmjs_sample-sr.dcm"))
    assert utf8.specific_character_set == "ISO_IR 192"


def test_deflated_enhanced_sr():
    doc = read(data_path("sr-other/dcm4che_report_dfl.dcm"))
    assert doc.sop_class_uid == "1.2.840.10008.5.1.4.1.1.88.22"
    assert doc.title.meaning == "Consultation Report"
    assert len(doc) == 21


def test_key_object_selection_evidence():
    doc = read(data_path("kos/nist_IDS-DEPT003-a_kos.dcm"))
    assert doc.title.value == "113030"
    assert doc.template_id == "2010"
    images = [p.item for p in doc.walk() if p.item.value_type == "IMAGE"]
    assert len(images) == 20
    evidence = {uid for study in doc.evidence for uid in study.sop_instance_uids()}
    assert {i.referenced.sop_instance_uid for i in images} <= evidence


def test_scoord3d_in_highdicom_report():
    doc = read(data_path("sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm"))
    scoord3d = [p.item for p in doc.walk() if p.item.value_type == "SCOORD3D"]
    assert len(scoord3d) == 1
    assert scoord3d[0].frame_of_reference_uid
    assert len(scoord3d[0].data) % 3 == 0


def test_read_accepts_a_dataset():
    import pydicom

    ds = pydicom.dcmread(data_path("sr-tid1500/highdicom_sr_document.dcm"))
    assert read(ds) == read(data_path("sr-tid1500/highdicom_sr_document.dcm"))


@pytest.mark.parametrize("path", SR_FILES, ids=_name)
def test_fast_parser_agrees_with_pydicom(path):
    """srkit's own byte parser and pydicom's parser give the same document."""
    import pydicom

    from srkit.codec import load
    from srkit.render.records import document_records

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = read(path)
        slow = read(pydicom.dcmread(path, force=True))
    # the fast path is taken for every real file, the trial file whose (0040,A170) is
    # CS bytes where the dictionary says SQ included (kept as raw bytes)
    assert load(path).fast
    assert fast == slow
    assert list(document_records(fast)) == list(document_records(slow))
    assert [str(d) for d in fast.diagnostics] == [str(d) for d in slow.diagnostics]


def test_big_endian_falls_back_to_pydicom(tmp_path):
    import pydicom
    from pydicom.uid import ExplicitVRBigEndian

    ds = pydicom.dcmread(data_path("sr-other/pydicom_test-SR.dcm"))
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    path = tmp_path / "big.dcm"
    pydicom.dcmwrite(path, ds, implicit_vr=False, little_endian=False, force_encoding=True)
    from srkit.codec import load

    assert not load(path).fast
    assert read(path) == read(data_path("sr-other/pydicom_test-SR.dcm"))


def test_prune_children_cuts_the_image_library_before_reading():
    from srkit.codec import load_dataset, prune_children, read_dataset

    ds = load_dataset(data_path("sr-tid1500/dcmqi_sr-example_sr.dcm"))
    assert prune_children(ds, frozenset({("111028", "DCM")})) == 1
    doc = read_dataset(ds)
    library = doc.find(srkit.Code.make("111028", "DCM"), recursive=False)
    assert [p.id for p in library] == ["1.5"]
    assert library[0].item.children == ()
    assert len(doc) == 256 - 204  # 204 items below the library in the full read
