"""Documents made from real files for the validation rules the shared data lack.

Each builder starts from a file of /work/shared/data, changes what the rule is
about with pydicom, writes the result under ``folder`` and returns its path.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from tests.conftest import data_path

TEST_SR = "sr-other/pydicom_test-SR.dcm"  # Comprehensive SR, COMPLETE and VERIFIED

BAD_UIDS = {
    "1.2.03.4": "uid-syntax",  # leading zero
    "1.2..3": "uid-syntax",  # empty component
    "1.2.3.": "uid-syntax",  # empty last component
    "1.2.a.3": "uid-syntax",  # not a digit
    "1." + "1" * 64: "uid-syntax",  # 66 characters
    "0.0": "uid-syntax",  # nothing but zeros
    "0.1.2.3": "uid-root",
    "3.1.2": "uid-root",
    "2.999.1": "uid-root",  # the example arc
}
"""UIDs that break PS3.5 9.1 and the rule srkit (like dciodvfy) finds."""

GOOD_UIDS = ("1.2.3.4", "2.25.123", "1.0.3", "1.2.840.10008.5.1.4.1.1.2")


def _save(ds: Dataset, folder: Path, name: str) -> Path:
    out = folder / name
    ds.save_as(out, enforce_file_format=True)
    return out


def verified_partial(folder: Path) -> Path:
    """The test SR (VERIFIED) with Completion Flag PARTIAL."""
    ds = pydicom.dcmread(data_path(TEST_SR))
    ds.CompletionFlag = "PARTIAL"
    return _save(ds, folder, "verified_partial.dcm")


def deprecated_schemes(folder: Path) -> Path:
    """The concept names of the root, item 1.1 and item 1.3 coded with SRT, SNM3 and
    99SDM; item 1.3.1 with SNM (which PS3.16 does not list at all, so not deprecated)."""
    ds = pydicom.dcmread(data_path(TEST_SR))
    names = (
        ds,
        ds.ContentSequence[0],
        ds.ContentSequence[2],
        ds.ContentSequence[2].ContentSequence[0],
    )
    for item, scheme in zip(names, ("SRT", "SNM3", "99SDM", "SNM"), strict=True):
        item.ConceptNameCodeSequence[0].CodingSchemeDesignator = scheme
    return _save(ds, folder, "deprecated_schemes.dcm")


def retired_attributes(folder: Path) -> Path:
    """Reason for Study (0032,1030) in the header and Observation Date (Trial)
    (0040,A192) on item 1.1, both retired (PS3.6)."""
    ds = pydicom.dcmread(data_path(TEST_SR))
    ds.add_new(0x00321030, "LO", "follow-up")
    ds.ContentSequence[0].add_new(0x0040A192, "DA", "20200101")
    return _save(ds, folder, "retired_attributes.dcm")


def bad_uids(folder: Path) -> Path:
    """Referenced Performed Procedure Step Sequence items, one per UID of
    :data:`BAD_UIDS` then :data:`GOOD_UIDS`."""
    ds = pydicom.dcmread(data_path(TEST_SR))
    items = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about each invalid UI value
        for uid in (*BAD_UIDS, *GOOD_UIDS):
            item = Dataset()
            item.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.3"
            item.ReferencedSOPInstanceUID = uid
            items.append(item)
        ds.ReferencedPerformedProcedureStepSequence = Sequence(items)
        return _save(ds, folder, "bad_uids.dcm")


def _text(meaning: str, value: str) -> Dataset:
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "TEXT"
    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "121071", "DCM", meaning
    item.ConceptNameCodeSequence = Sequence([code])
    item.TextValue = value
    return item


def _reference(target: list[int]) -> Dataset:
    item = Dataset()
    item.RelationshipType = "INFERRED FROM"
    item.ReferencedContentItemIdentifier = target
    return item


def reference_loop(folder: Path) -> Path:
    """DCMTK's ``mkreport lp`` ("Valid comprehensive report with loop/cycle") on the
    test SR's header: two TEXT items, 1.1 INFERRED FROM 1.2 and 1.2 INFERRED FROM 1.1,
    both by reference; neither target is an ancestor of its source."""
    ds = pydicom.dcmread(data_path(TEST_SR))
    first, second = _text("Finding", "Some text."), _text("Finding", "Some more text.")
    first.ContentSequence = Sequence([_reference([1, 2])])
    second.ContentSequence = Sequence([_reference([1, 1])])
    ds.ContentSequence = Sequence([first, second])
    return _save(ds, folder, "reference_loop.dcm")


def reference_to_ancestor(folder: Path) -> Path:
    """The loop report with item 1.2.1 pointing at its own parent 1.2 instead."""
    ds = pydicom.dcmread(reference_loop(folder))
    ds.ContentSequence[1].ContentSequence[0].ReferencedContentItemIdentifier = [1, 2]
    return _save(ds, folder, "reference_to_ancestor.dcm")


BUILDERS = {
    "verified_partial": verified_partial,
    "deprecated_schemes": deprecated_schemes,
    "retired_attributes": retired_attributes,
    "bad_uids": bad_uids,
    "reference_loop": reference_loop,
    "reference_to_ancestor": reference_to_ancestor,
}
