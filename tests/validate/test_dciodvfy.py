"""srkit's findings against dciodvfy's on every SR file of the shared data and on
documents made from them for the rules the files lack (tests/validate/fixtures.py).

``dciodvfy -new`` prints ``Error - </ContentSequence(0040,a730)[5]/...> - message``;
the ContentSequence indices give the item id as DCMTK numbers it ("1.5...").
Each message is sorted into a kind; errors of the same kind must be found at the same
item by srkit (reader diagnostics plus :func:`srkit.validate.validate`), and the
warnings of the kinds both check (retired attributes, deprecated coding schemes) the
same number of times at the same item. What differs is listed below with the reason.
"""

from __future__ import annotations

import re
import subprocess
import warnings
from collections import Counter
from functools import cache

import pydicom
import pytest

from srkit.codec import ReadCode, read
from srkit.diagnostics import Diagnostic, Severity
from srkit.validate import all_diagnostics
from tests.conftest import DATA, SR_FILES, data_path, require_tool
from tests.validate import fixtures as vf

pytestmark = pytest.mark.peers  # every test runs dciodvfy (or DCMTK)

# dciodvfy message -> kind (None: not an SR content or SR module check)
_DCIODVFY_KINDS = (
    ("not listed in CurrentRequestedProcedureEvidence", "evidence"),
    ("not multi-frame", "frames"),
    ("present when condition unsatisfied", "stray-value"),
    ("Only permitted to be VERIFIED if CompletionFlag is COMPLETE", "verified-not-complete"),
    ("Illegal root for UID", "uid-root"),
    ("Inappropriate example root for UID", "uid-root"),
)
_DCIODVFY_WARNINGS = (
    ("Retired attribute", "retired-attribute"),
    ("CodingSchemeDesignator is deprecated", "coding-scheme-deprecated"),
)
_PRIVATE = re.compile(r"\(([0-9a-f]{3}[13579bdf]),[0-9a-f]{4},")

SRKIT_ONLY = {
    "template": "dciodvfy (dicom3tools 2022) checks no TID rules: see "
    "test_dciodvfy_is_silent_on_template_and_relationship_breakage",
    "relationship": "dciodvfy checks no relationship content constraints (same test)",
}

EXPLAINED: dict[tuple[str, str, str], str] = {}
"""(file, item id, kind) of srkit errors dciodvfy lacks, with the reason."""

NOT_CHECKED_BY_SRKIT = {
    "private-uid": "a UID value in a private element ((0029,1017) of the Siemens CT RDSR "
    "holds a 0x01 byte): dciodvfy knows its VR from a private dictionary; srkit does "
    "not judge private elements, whose content their creator defines (PS3.5 7.8)",
}


def _dciodvfy_kind(path: str, message: str) -> str | None:
    for needle, kind in _DCIODVFY_KINDS:
        if needle in message:
            return kind
    last = path.split("/")[-1].split("(")[0]
    if "Empty attribute" in message and last == "TextValue":
        return "empty-text"
    if "Missing attribute" in message and last == "MeasuredValueSequence":
        return "num-value"
    if "Empty attribute" in message and last == "ReferencedSOPInstanceUID":
        return "empty-uid"
    if "Length invalid" in message and last == "CodeValue":
        return "code-length"
    if "Value invalid for this VR [UI]" in message:
        return "private-uid" if _PRIVATE.search(path.split("/")[-1]) else "uid-syntax"
    if "Missing attribute" in message and "ContentSequence" not in path:
        return f"header:{last}"
    return None


def _item_id(path: str, kind: str) -> str:
    indices = re.findall(r"ContentSequence\(0040,a730\)\[(\d+)\]", path)
    if indices:
        return "1." + ".".join(indices)
    # the root item's own Document Content Macro attributes belong to item 1
    root_item = path.startswith(("ConceptNameCodeSequence", "ContentTemplateSequence"))
    return "1" if kind == "stray-value" or root_item else ""


@cache
def dciodvfy_output(exe: str, path: str) -> str:
    """dciodvfy's messages on a file (run once per file)."""
    run = subprocess.run([exe, "-new", path], capture_output=True, timeout=120)
    return (run.stdout + run.stderr).decode("latin-1")


def dciodvfy_warnings(exe: str, path: str) -> Counter[tuple[str, str]]:
    """(item id, kind) of dciodvfy's warnings of the kinds srkit checks too."""
    found: Counter[tuple[str, str]] = Counter()
    for line in dciodvfy_output(exe, path).splitlines():
        match = re.match(r"^Warning - </([^>]*)> - (.*)$", line)
        if not match:
            continue
        kind = next((k for needle, k in _DCIODVFY_WARNINGS if needle in match.group(2)), None)
        if kind is not None and not _PRIVATE.search(match.group(1).split("/")[-1]):
            found[_item_id(match.group(1), kind), kind] += 1
    return found


def dciodvfy_errors(exe: str, path: str) -> set[tuple[str | None, str]]:
    """(item id, kind) of dciodvfy's SR errors on a file."""
    text = dciodvfy_output(exe, path)
    found: set[tuple[str | None, str]] = set()
    for line in text.splitlines():
        match = re.match(r"^(?:Error - </([^>]*)> - (.*)|Error - (Only permitted .*))$", line)
        if match and match.group(3):  # printed without its path: a header attribute
            found.add(("", "verified-not-complete"))
            continue
        if match:
            kind = _dciodvfy_kind(match.group(1), match.group(2))
            if kind is not None:
                found.add((_item_id(match.group(1), kind), kind))
    if "for SCOORD = <no child>" in text:  # printed without its path
        found.add((None, "coordinates"))
    return found


_SRKIT_KINDS = (
    ("is not listed in Current Requested", "evidence"),
    ("single-frame", "frames"),
    ("empty Text Value", "empty-text"),
    ("NUM without Measured Value Sequence", "num-value"),
    ("reference without SOP Class or Instance UID", "empty-uid"),
    ("reference has an invalid UID", "uid-syntax"),
    ("forms a cycle", "reference-loop"),
    ("longer than 16 characters", "code-length"),
    ("present on a", "stray-value"),
    ("SELECTED FROM child", "coordinates"),
    ("TID ", "template"),
    ("not allowed in", "relationship"),
    ("requires TID", "template"),
)


_READER_KINDS = {
    ReadCode.VALUE_EMPTY: "empty-text",
    ReadCode.MEASURED_VALUE_MISSING: "num-value",
    ReadCode.SOP_REFERENCE_INCOMPLETE: "empty-uid",
    ReadCode.SOP_REFERENCE_INVALID_UID: "uid-syntax",
    ReadCode.REFERENCE_TO_ANCESTOR: "reference-loop",
}
"""The reader's codes (srkit.codec.diagnostic_codes) of the kinds dciodvfy reports too;
the reader's other errors are classified by message, like the validator's uncoded ones."""


@cache
def _srkit_diagnostics(path: str) -> tuple[Diagnostic, ...]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tuple(all_diagnostics(read(path)))


def srkit_warnings(path: str) -> Counter[tuple[str, str]]:
    """(item id, code) of srkit's warnings of the kinds dciodvfy checks too."""
    kinds = {k for _, k in _DCIODVFY_WARNINGS}
    return Counter(
        (d.path, d.code)
        for d in _srkit_diagnostics(path)
        if d.severity is Severity.WARNING and d.code in kinds
    )


def srkit_errors(path: str) -> set[tuple[str | None, str]]:
    found: set[tuple[str | None, str]] = set()
    for diag in _srkit_diagnostics(path):
        if diag.severity is not Severity.ERROR:
            continue
        kind = (
            _READER_KINDS.get(diag.code)
            or (None if isinstance(diag.code, ReadCode) else diag.code)
            or next((k for n, k in _SRKIT_KINDS if n in diag.message), "other")
        )
        if diag.path == "" and kind == "other":
            match = re.match(r"^(?:\w+\[\d+\] )?(\w+) \(", diag.message)
            kind = f"header:{match.group(1)}" if match else "other"
        found.add((diag.path, kind))
        if kind == "coordinates":
            found.add((None, kind))
    return found


def _readable_by_dciodvfy(path: str) -> bool:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    # dciodvfy cannot read deflated files and has no IOD for the retired trial classes
    return ds.file_meta.TransferSyntaxUID != "1.2.840.10008.1.2.1.99" and not str(
        ds.SOPClassUID
    ).endswith(".88.3")


_READABLE = [p for p in SR_FILES if _readable_by_dciodvfy(str(p))]
_UNREADABLE = [p for p in SR_FILES if not _readable_by_dciodvfy(str(p))]


@pytest.mark.parametrize("path", _UNREADABLE, ids=lambda p: p.relative_to(DATA).as_posix())
def test_files_dciodvfy_cannot_check(path):
    """No comparison is possible: dciodvfy cannot read the deflated file and has no IOD
    for the retired trial class; srkit reads and checks both."""
    exe = require_tool("dciodvfy", "/usr/bin/dciodvfy")
    proc = subprocess.run([exe, str(path)], capture_output=True, text=True, check=False)
    output = proc.stdout + proc.stderr
    assert (
        "Error - Dicom dataset read failed" in output
        or "Error - Information Object Not found" in output
    )


@pytest.mark.parametrize("path", _READABLE, ids=lambda p: p.relative_to(DATA).as_posix())
def test_errors_agree_with_dciodvfy(path):
    exe = require_tool("dciodvfy", "/usr/bin/dciodvfy")
    name = path.relative_to(DATA).as_posix()
    theirs = dciodvfy_errors(exe, str(path))
    ours = srkit_errors(str(path))
    missing = {(i, k) for i, k in theirs if k not in NOT_CHECKED_BY_SRKIT and (i, k) not in ours}
    assert missing == set(), f"{name}: dciodvfy errors srkit lacks"
    extra = {
        (i, k)
        for i, k in ours
        if (i, k) not in theirs
        and k not in SRKIT_ONLY
        and (name, str(i), k) not in EXPLAINED
        and i is not None
        and not (k == "coordinates" and (None, k) in theirs)  # dciodvfy prints no path
    }
    assert extra == set(), f"{name}: srkit errors dciodvfy lacks (undocumented)"


@pytest.mark.parametrize("path", _READABLE, ids=lambda p: p.relative_to(DATA).as_posix())
def test_warnings_agree_with_dciodvfy(path):
    """Retired attributes (PS3.6) and deprecated coding schemes (PS3.16 Table 8-1):
    the same count at the same item, WARNING in both tools."""
    exe = require_tool("dciodvfy", "/usr/bin/dciodvfy")
    assert srkit_warnings(str(path)) == dciodvfy_warnings(exe, str(path))


EXPLAINED_FIXTURES: dict[tuple[str, str, str], str] = {
    ("reference_to_ancestor", "1.2.1", "reference-loop"): "dciodvfy checks no by-reference "
    "targets; DCMTK's dsrdump warns 'to ancestor content item (loop check)': see "
    "test_dcmtk_on_the_reference_loops",
}
"""(fixture, item id, kind) of srkit errors dciodvfy lacks on the made documents."""


@pytest.mark.parametrize("name", sorted(vf.BUILDERS))
def test_fixtures_agree_with_dciodvfy(name, tmp_path):
    """Each rule on a document made for it: the errors and warnings of both tools match
    (the UID fixture's header findings are compared value by value below)."""
    exe = require_tool("dciodvfy", "/usr/bin/dciodvfy")
    path = str(vf.BUILDERS[name](tmp_path))
    theirs, ours = dciodvfy_errors(exe, path), srkit_errors(path)
    if name == "bad_uids":
        theirs = {e for e in theirs if e[0] != "" or not e[1].startswith("uid-")}
        ours = {e for e in ours if e[0] != "" or not e[1].startswith("uid-")}
    assert {e for e in theirs if e not in ours and e[0] is not None} == set()
    extra = {
        (i, k)
        for i, k in ours
        if (i, k) not in theirs
        and k not in SRKIT_ONLY
        and (name, str(i), k) not in EXPLAINED_FIXTURES
        and not (k == "coordinates" and (None, k) in theirs)
    }
    assert extra == set()
    assert srkit_warnings(path) == dciodvfy_warnings(exe, path)


def test_uid_rules_agree_value_by_value(tmp_path):
    """PS3.5 9.1 on the values of vf.BAD_UIDS and vf.GOOD_UIDS. Known difference: for
    "0.0" dciodvfy reports both an illegal root and "nothing but zero components";
    srkit reports the second alone (a value of zeros has no root to judge)."""
    exe = require_tool("dciodvfy", "/usr/bin/dciodvfy")
    path = str(vf.bad_uids(tmp_path))
    theirs: dict[str, set[str]] = {}
    for line in dciodvfy_output(exe, path).splitlines():
        match = re.match(r"^Error - </ReferencedPerformedProcedureStep[^>]*> - (.*)$", line)
        if match:
            uid = re.search(r"= <([^>]*)>", match.group(1))
            kind = _dciodvfy_kind("ReferencedSOPInstanceUID", match.group(1))
            assert uid is not None, line
            assert kind is not None, line
            theirs.setdefault(uid.group(1), set()).add(kind)
    ours: dict[str, set[str]] = {}
    for diag in _srkit_diagnostics(path):
        if diag.path == "" and diag.code in ("uid-syntax", "uid-root"):
            ours.setdefault(diag.message.split("'")[1], set()).add(diag.code)
    assert set(ours) == set(theirs) == set(vf.BAD_UIDS)
    for uid, kinds in ours.items():
        assert kinds == {vf.BAD_UIDS[uid]}
        expected = kinds | ({"uid-root"} if uid == "0.0" else set())
        assert theirs[uid] == expected, uid


def test_dcmtk_on_the_reference_loops(tmp_path):
    """PS3.3 C.17.3.1 leaves references to ancestors to the IOD (the Extensible SR IOD,
    A.35.15.3.1.2, forbids them "to prevent loops"). DCMTK reads the loop through two
    references (its own ``mkreport lp``) without a word and warns about a reference to
    an ancestor, as srkit reports INFO and ERROR."""
    dsrdump = require_tool("dsrdump", "/usr/bin/dsrdump")
    loop = subprocess.run(
        [dsrdump, str(vf.reference_loop(tmp_path))],
        capture_output=True,
        encoding="latin-1",
        timeout=60,
    )
    assert loop.returncode == 0
    assert "W:" not in loop.stdout + loop.stderr
    ancestor = subprocess.run(
        [dsrdump, str(vf.reference_to_ancestor(tmp_path))],
        capture_output=True,
        encoding="latin-1",
        timeout=60,
    )
    assert (
        'By-reference relationship from "1.2.1" to ancestor content item "1.2" (loop check)'
        in ancestor.stdout + ancestor.stderr
    )


def test_comparison_sees_the_known_errors():
    exe = require_tool("dciodvfy", "/usr/bin/dciodvfy")
    path = str(data_path("sr-other/pydicom_test-SR.dcm"))
    theirs = dciodvfy_errors(exe, path)
    assert {("1.4", "evidence"), ("1.5", "frames"), (None, "coordinates")} <= theirs
    assert ("1.4", "uid-root") in theirs & srkit_errors(path)  # 9.8.7.6
    assert ("1.3.2", "coordinates") in srkit_errors(path)
    ct = str(data_path("rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"))
    assert ("", "private-uid") in dciodvfy_errors(exe, ct)
    assert dciodvfy_warnings(exe, ct)[("1.13.4", "coding-scheme-deprecated")] == 2
    assert sum(srkit_warnings(ct).values()) == 32


def test_comparison_sees_the_fixture_rules(tmp_path):
    exe = require_tool("dciodvfy", "/usr/bin/dciodvfy")
    for name, error in (
        ("verified_partial", ("", "verified-not-complete")),
        ("bad_uids", ("", "uid-root")),
    ):
        path = str(vf.BUILDERS[name](tmp_path))
        assert error in dciodvfy_errors(exe, path) & srkit_errors(path), name
    schemes = str(vf.deprecated_schemes(tmp_path))
    assert set(dciodvfy_warnings(exe, schemes)) == {
        ("1", "coding-scheme-deprecated"),
        ("1.1", "coding-scheme-deprecated"),
        ("1.3", "coding-scheme-deprecated"),
    }
    retired = str(vf.retired_attributes(tmp_path))
    assert set(srkit_warnings(retired)) == {("", "retired-attribute"), ("1.1", "retired-attribute")}
    assert ("1.2.1", "reference-loop") in srkit_errors(str(vf.reference_to_ancestor(tmp_path)))


def test_dciodvfy_is_silent_on_template_and_relationship_breakage(tmp_path):
    """Why srkit's template and relationship errors have no dciodvfy counterpart."""
    exe = require_tool("dciodvfy", "/usr/bin/dciodvfy")
    ds = pydicom.dcmread(data_path("rdsr/openrem_CT-RDSR-Siemens_Flash-QA-DS.dcm"))
    event = ds.ContentSequence[12]  # item 1.13, CT Acquisition
    del event.ContentSequence[6].ContentSequence[0]  # 1.13.7.1 Mean CTDIvol
    event.ContentSequence[0].RelationshipType = "INFERRED FROM"  # 1.13.1
    out = tmp_path / "broken.dcm"
    ds.save_as(out)
    theirs = subprocess.run([exe, "-new", str(out)], capture_output=True, timeout=120)
    text = (theirs.stdout + theirs.stderr).decode("latin-1")
    errors = [x for x in text.splitlines() if x.startswith("Error")]
    assert [x for x in errors if "a730)[13]" in x] == []  # nothing about 1.13 or below
    ours = srkit_errors(str(out))
    assert ("1.13.7", "template") in ours
    assert ("1.13.1", "relationship") in ours
