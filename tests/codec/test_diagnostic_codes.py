"""Every diagnostic the reader emits carries a stable code; programs decide on codes."""

from __future__ import annotations

import dataclasses
import io
import re
import warnings

import pydicom
import pytest
from click.testing import CliRunner
from pydicom.dataset import Dataset

from srkit import read
from srkit.cli.main import cli
from srkit.codec import diagnostic_codes
from srkit.codec.diagnostic_codes import DAMAGE_CODES, ReadCode, damage
from srkit.diagnostics import Diagnostic, Severity
from srkit.validate import all_diagnostics
from tests.conftest import SR_FILES, data_path

PINNED = {
    "FILE_TRUNCATED": "file-truncated",
    "NOT_DICOM": "not-dicom",
    "NOT_STRUCTURED_REPORT": "not-structured-report",
    "ROOT_UNREADABLE": "root-unreadable",
    "ROOT_NOT_CONTAINER": "root-not-container",
    "ROOT_NO_TITLE": "root-no-title",
    "TRIAL_FINDINGS_SEQUENCE": "trial-findings-sequence",
    "TRIAL_ITEMS_TYPED": "trial-items-typed",
    "TRIAL_ITEM_UNTYPED": "trial-item-untyped",
    "SOP_CLASS_NOT_SR": "sop-class-not-sr",
    "SOP_INSTANCE_UID_MISSING": "sop-instance-uid-missing",
    "STUDY_INSTANCE_UID_MISSING": "study-instance-uid-missing",
    "SERIES_INSTANCE_UID_MISSING": "series-instance-uid-missing",
    "CHARSET_UNREADABLE": "charset-unreadable",
    "CHARSET_UNDECLARED_8BIT": "charset-undeclared-8bit",
    "COMPLETION_FLAG_INVALID": "completion-flag-invalid",
    "VERIFICATION_FLAG_INVALID": "verification-flag-invalid",
    "VERIFYING_OBSERVER_MISSING": "verifying-observer-missing",
    "VR_MISMATCH": "vr-mismatch",
    "VALUE_UNREADABLE": "value-unreadable",
    "SEQUENCE_UNREADABLE": "sequence-unreadable",
    "NOT_A_SEQUENCE": "not-a-sequence",
    "CODE_UNREADABLE": "code-unreadable",
    "CODE_INCOMPLETE": "code-incomplete",
    "CODE_MULTIPLE_ITEMS": "code-multiple-items",
    "TREE_TOO_DEEP": "tree-too-deep",
    "ITEM_UNREADABLE": "item-unreadable",
    "RELATIONSHIP_MISSING": "relationship-missing",
    "RELATIONSHIP_UNKNOWN": "relationship-unknown",
    "CONCEPT_NAME_MISSING": "concept-name-missing",
    "VALUE_TYPE_MISSING": "value-type-missing",
    "VALUE_TYPE_UNKNOWN": "value-type-unknown",
    "VALUE_MISSING": "value-missing",
    "VALUE_EMPTY": "value-empty",
    "CONTINUITY_MISSING": "continuity-missing",
    "CONTINUITY_INVALID": "continuity-invalid",
    "MEASURED_VALUE_MISSING": "measured-value-missing",
    "NUM_WITHOUT_VALUE": "num-without-value",
    "MEASURED_VALUE_MULTIPLE": "measured-value-multiple",
    "NUMERIC_VALUE_INVALID": "numeric-value-invalid",
    "UNITS_MISSING": "units-missing",
    "SOP_REFERENCE_MISSING": "sop-reference-missing",
    "SOP_REFERENCE_MULTIPLE": "sop-reference-multiple",
    "SOP_REFERENCE_INCOMPLETE": "sop-reference-incomplete",
    "SOP_REFERENCE_INVALID_UID": "sop-reference-invalid-uid",
    "FRAME_NUMBER_UNREADABLE": "frame-number-unreadable",
    "FRAME_NUMBER_INVALID": "frame-number-invalid",
    "GRAPHIC_TYPE_MISSING": "graphic-type-missing",
    "GRAPHIC_DATA_MISSING": "graphic-data-missing",
    "GRAPHIC_DATA_COUNT": "graphic-data-count",
    "FRAME_OF_REFERENCE_MISSING": "frame-of-reference-missing",
    "TEMPORAL_RANGE_TYPE_MISSING": "temporal-range-type-missing",
    "TEMPORAL_COORDINATES_UNREADABLE": "temporal-coordinates-unreadable",
    "TEMPORAL_COORDINATES_COUNT": "temporal-coordinates-count",
    "TIME_OFFSETS_INVALID": "time-offsets-invalid",
    "REFERENCE_DANGLING": "reference-dangling",
    "REFERENCE_TO_ANCESTOR": "reference-to-ancestor",
    "REFERENCE_CYCLE": "reference-cycle",
}


def _read(source, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read(source, **kw)


def _bytes(ds):
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _ds(name):
    return pydicom.dcmread(data_path(name))


def _codes(doc):
    return [(d.path, d.code) for d in doc.diagnostics]


def test_codes_are_pinned():
    """A published code never changes its spelling; new codes are added to PINNED."""
    assert {c.name: c.value for c in ReadCode} == PINNED
    assert {ReadCode.FILE_TRUNCATED, ReadCode.ROOT_UNREADABLE} == DAMAGE_CODES


def test_the_documented_table_lists_every_code_once():
    doc = diagnostic_codes.__doc__ or ""
    table = re.findall(r"^([a-z0-9-]+)\s+(ERROR|WARNING|INFO)\s", doc, flags=re.MULTILINE)
    assert sorted(code for code, _ in table) == sorted(PINNED.values())


@pytest.mark.parametrize("path", SR_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_diagnostic_of_the_real_files_has_a_code(path):
    doc = _read(path)
    assert all(isinstance(d.code, ReadCode) for d in doc.diagnostics), doc.diagnostics


def test_codes_of_the_real_files():
    assert _codes(_read(data_path("rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"))) == [
        ("", "charset-undeclared-8bit")
    ]
    assert _codes(_read(data_path("sr-other/dcm4che_Tag-0040-A170-VR-CS.dcm"))) == [
        ("1", "trial-findings-sequence"),
        ("1", "trial-items-typed"),
    ]
    assert _codes(_read(data_path("sr-tid1500/dcmjs_structured_report.dcm"))) == [
        ("1.5.1.4", "measured-value-missing")
    ]
    assert _codes(_read(data_path("sr-other/pydicom_reportsi.dcm"))) == [
        ("1.5.1.1", "sop-reference-invalid-uid"),
        ("1.5.2", "sop-reference-invalid-uid"),
    ]
    u104 = _codes(_read(data_path("rdsr/pyskindose_philips_allura_clarity_u104.dcm")))
    assert sorted({c for _, c in u104}) == ["sop-reference-incomplete", "value-empty"]


def _reference(target):
    item = Dataset()
    item.RelationshipType = "INFERRED FROM"
    item.ReferencedContentItemIdentifier = target
    return item


def test_codes_of_broken_content():
    ds = _ds("sr-tid1500/highdicom_sr_document.dcm")
    del ds.ConceptNameCodeSequence
    ds.ContentSequence[2].ValueType = "HOLOGRAM"
    ds.ContentSequence[0].RelationshipType = "IS NEAR"
    del ds.StudyInstanceUID
    ds.CompletionFlag = "DONE"
    codes = _codes(_read(ds))
    assert ("", "study-instance-uid-missing") in codes
    assert ("", "completion-flag-invalid") in codes
    assert ("1", "root-no-title") in codes
    assert ("1.1", "relationship-unknown") in codes
    assert ("1.3", "value-type-unknown") in codes

    sr = _ds("sr-other/pydicom_test-SR.dcm")
    sr.ContentSequence[1].ContentSequence.append(_reference([1, 2]))  # 1.2.5 -> its parent
    sr.ContentSequence[1].ContentSequence.append(_reference([1, 42]))  # 1.2.6 -> nothing
    scoord = sr.ContentSequence[2].ContentSequence[1]
    scoord["GraphicData"].VR = "DS"
    scoord.GraphicData = ["0", "0", "255"]
    doc = _read(io.BytesIO(_bytes(sr)))
    codes = _codes(doc)
    assert ("1.2.5", "reference-to-ancestor") in codes
    assert ("1.2.6", "reference-dangling") in codes
    assert ("1.3.2", "graphic-data-count") in codes
    assert ("", "vr-mismatch") in codes

    loop = _ds("sr-other/pydicom_test-SR.dcm")
    loop.ContentSequence[1].ContentSequence[0].ContentSequence.append(_reference([1, 3]))
    loop.ContentSequence[2].ContentSequence.append(_reference([1, 2]))
    cycle = [d for d in _read(loop).diagnostics if d.code == "reference-cycle"]
    assert [(d.path, d.severity) for d in cycle] == [("1.2.1.3", Severity.INFO)]


def test_truncated_file_is_damage_by_its_code():
    raw = data_path("rdsr/openrem_CT-ESR-GE_Optima.dcm").read_bytes()
    doc = _read(io.BytesIO(raw[: len(raw) // 2]))
    found = damage(doc)
    assert found is not None
    assert found.code == ReadCode.FILE_TRUNCATED
    assert (found.path, found.severity) == ("", Severity.ERROR)
    assert found.message.startswith("file is truncated: element (0040,A730)")


def test_damage_follows_the_code_not_the_message():
    doc = _read(data_path("sr-other/pydicom_test-SR.dcm"))
    reworded = Diagnostic(
        path="1.3", severity=Severity.ERROR, message="the bytes end early", code="file-truncated"
    )
    uncoded = Diagnostic(
        path="1.3", severity=Severity.ERROR, message="file is truncated: element (0040,A730)"
    )
    note = Diagnostic(
        path="1", severity=Severity.WARNING, message="x", code=ReadCode.ROOT_UNREADABLE
    )
    assert damage(dataclasses.replace(doc, diagnostics=(reworded,))) == reworded
    assert damage(dataclasses.replace(doc, diagnostics=(uncoded,))) is None
    assert damage(dataclasses.replace(doc, diagnostics=(note,))) is None  # not an ERROR


def test_dump_exit_code_follows_damage(tmp_path):
    raw = data_path("rdsr/openrem_CT-ESR-GE_Optima.dcm").read_bytes()
    cut = tmp_path / "cut.dcm"
    cut.write_bytes(raw[: len(raw) // 2])
    result = CliRunner().invoke(cli, ["dump", str(cut)])
    assert result.exit_code == 1
    assert "file is truncated" in result.stderr
    assert len(result.stdout.splitlines()) > 10  # what was read is printed
    # errors that are not damage print on stderr but keep exit code 0
    ds = _ds("sr-tid1500/highdicom_sr_document.dcm")
    del ds.ConceptNameCodeSequence
    untitled = tmp_path / "untitled.dcm"
    untitled.write_bytes(_bytes(ds))
    result = CliRunner().invoke(cli, ["dump", str(untitled)])
    assert result.exit_code == 0
    assert "root CONTAINER has no Concept Name" in result.stderr


def test_validation_skips_the_reference_uid_the_reader_reported_by_code():
    doc = _read(data_path("sr-other/pydicom_reportsi.dcm"))
    at = [d for d in all_diagnostics(doc) if d.path == "1.5.2" and "UID" in d.message]
    assert [d.code for d in at] == ["sop-reference-invalid-uid"]
    # reworded by the reader: validation still knows it by its code
    reworded = tuple(dataclasses.replace(d, message="bad reference UIDs") for d in doc.diagnostics)
    again = dataclasses.replace(doc, diagnostics=reworded)
    at = [d for d in all_diagnostics(again) if d.path == "1.5.2" and "UID" in d.message]
    assert [(d.code, d.message) for d in at] == [
        ("sop-reference-invalid-uid", "bad reference UIDs")
    ]
