"""Sequence matching of SR instance keys (PS3.4 C.2.2.2.6, Table C.6-5) in the database,
C-FIND identifiers, QIDO-RS (PS3.18 8.3.4.1) and end to end with DCMTK ``findscu``.

Every expected value is read from the real files with pydicom, never from srkit.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pydicom
import pytest
from pydicom import Dataset

from srkit.db import Database
from srkit.errors import SrkitError
from srkit.net.dimse.identifiers import find_filters
from srkit.web.app import create_app
from tests.conftest import data_files, require_tool, skip_or_fail
from tests.db.fixtures import db_url
from tests.peers import free_port, peer_env, wait_for_port

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette prefers httpx2 (not installed here)
    from fastapi.testclient import TestClient

SR_GLOBS = ("sr-tid1500/*.dcm", "rdsr/*.dcm", "sr-other/*.dcm", "kos/*.dcm")
CT2 = "ct/pydicom_CT2/*.dcm"
CNCS = "ConceptNameCodeSequence"


def all_files() -> list[Path]:
    return [p for g in (*SR_GLOBS, CT2) for p in data_files(g)]


def headers() -> dict[str, Dataset]:
    """SOP Instance UID -> header of the first file holding it (as the import keeps)."""
    found: dict[str, Dataset] = {}
    for path in all_files():
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        found.setdefault(str(ds.SOPInstanceUID), ds)
    return found


def title(ds: Dataset) -> dict[str, str] | None:
    """The document title of an SR header (None for images and untitled SRs)."""
    seq = ds.get(CNCS)
    if not seq:
        return None
    item = seq[0]
    return {
        "CodeValue": str(item.CodeValue),
        "CodingSchemeDesignator": str(item.CodingSchemeDesignator),
        "CodeMeaning": str(item.CodeMeaning),
    }


def template(ds: Dataset) -> str | None:
    seq = ds.get("ContentTemplateSequence")
    return str(seq[0].TemplateIdentifier) if seq else None


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    files = all_files()
    if not files:
        skip_or_fail("test data not found")
    root = tmp_path_factory.mktemp("seq")
    db = Database(root / "db.sqlite", storage=root / "storage")
    report = db.import_paths(files)
    assert not report.rejected
    yield db, root
    db.close()


@pytest.fixture(scope="module")
def files() -> dict[str, Dataset]:
    return headers()


def uids(rows) -> set[str]:
    return {r["SOPInstanceUID"] for r in rows}


def with_title(files, **want) -> set[str]:
    return {
        uid
        for uid, ds in files.items()
        if (t := title(ds)) is not None and all(t[k] == v for k, v in want.items())
    }


# ------------------------------------------------------------------ database


def test_code_value_finds_tid1500_reports(archive, files):
    db, _ = archive
    expected = with_title(files, CodeValue="126000", CodingSchemeDesignator="DCM")
    assert len(expected) == len(data_files("sr-tid1500/*.dcm")) == 5
    rows = db.query("IMAGE", {CNCS: {"CodeValue": "126000"}}, fields=[CNCS])
    assert uids(rows) == expected
    assert all(r[CNCS] == [{"CodeValue": "126000"}] for r in rows)


def test_dose_reports_full_item(archive, files):
    db, _ = archive
    item = {"CodeValue": "113701", "CodingSchemeDesignator": "DCM", "CodeMeaning": ""}
    rows = db.query("IMAGE", {CNCS: item}, fields=[CNCS, "SOPClassUID"])
    dose = {str(pydicom.dcmread(p).SOPInstanceUID) for p in data_files("rdsr/*.dcm")}
    assert uids(rows) == dose == with_title(files, CodeValue="113701")
    for row in rows:
        assert row[CNCS] == [title(files[row["SOPInstanceUID"]])]
        assert row[CNCS][0]["CodeMeaning"] == "X-Ray Radiation Dose Report"


@pytest.mark.parametrize("pattern", ["*Report", "Imaging*", "?-Ray*", "*Title"])
def test_wildcard_code_meaning(archive, files, pattern):
    db, _ = archive
    rows = db.query("IMAGE", {CNCS: {"CodeMeaning": pattern}}, fields=[CNCS])
    expected = {
        uid
        for uid, ds in files.items()
        if (t := title(ds)) and fnmatch.fnmatchcase(t["CodeMeaning"], pattern)
    }
    assert expected
    assert uids(rows) == expected


def test_empty_item_returns_every_title(archive, files):
    db, _ = archive
    rows = db.query("IMAGE", {CNCS: {}}, fields=[CNCS])
    assert uids(rows) == set(files)
    for row in rows:
        t = title(files[row["SOPInstanceUID"]])
        assert row[CNCS] == ([t] if t else [])
    images = {str(pydicom.dcmread(p).SOPInstanceUID) for p in data_files(CT2)}
    assert images
    assert all(r[CNCS] == [] for r in rows if r["SOPInstanceUID"] in images)
    # asked in fields only: the same
    assert db.query("IMAGE", {}, fields=[CNCS]) == rows


def test_flags_and_template(archive, files):
    db, _ = archive
    for flag, value in [("CompletionFlag", "COMPLETE"), ("VerificationFlag", "VERIFIED")]:
        rows = db.query("IMAGE", {flag: value}, fields=[flag])
        expected = {u for u, ds in files.items() if ds.get(flag) == value}
        assert expected
        assert uids(rows) == expected
        assert {r[flag] for r in rows} == {value}
    rows = db.query(
        "IMAGE",
        {"CompletionFlag": "PARTIAL", "ContentTemplateSequence": {"TemplateIdentifier": "1500"}},
        fields=["ContentTemplateSequence"],
    )
    expected = {
        u
        for u, ds in files.items()
        if ds.get("CompletionFlag") == "PARTIAL" and template(ds) == "1500"
    }
    assert expected
    assert uids(rows) == expected
    assert all(r["ContentTemplateSequence"] == [{"TemplateIdentifier": "1500"}] for r in rows)


def test_unindexed_item_key_is_returned_empty(archive, files):
    db, _ = archive
    rows = db.query(
        "IMAGE", {CNCS: {"CodeValue": "113701", "CodingSchemeVersion": "x"}}, fields=[CNCS]
    )
    assert uids(rows) == with_title(files, CodeValue="113701")
    assert all(r[CNCS] == [{"CodeValue": "113701", "CodingSchemeVersion": None}] for r in rows)


def test_bad_sequence_filters(archive):
    db, _ = archive
    two = [{"CodeValue": "126000"}, {"CodeValue": "113701"}]
    with pytest.raises(SrkitError, match="one item"):
        db.query("IMAGE", {CNCS: two})
    with pytest.raises(SrkitError, match="IMAGE level"):
        db.query("STUDY", {CNCS: {"CodeValue": "126000"}})
    with pytest.raises(SrkitError, match="IMAGE level"):
        db.query("SERIES", {"CompletionFlag": "COMPLETE"})
    with pytest.raises(SrkitError, match="unknown item attribute"):
        db.query("IMAGE", {CNCS: {"NoSuchKeyword": "1"}})
    with pytest.raises(SrkitError, match="is a sequence"):
        db.query("IMAGE", {CNCS: "126000"})
    with pytest.raises(SrkitError, match="cannot match"):
        db.query("IMAGE", {"ReferencedStudySequence": {"StudyInstanceUID": "1.2"}})
    # an empty item at a level above IMAGE is no error (nothing to match)
    assert db.query("STUDY", {CNCS: {}}, fields=[CNCS])


@pytest.mark.peers
def test_postgresql_same_answers(archive, tmp_path):
    """The same SQL on PostgreSQL: every answer equals SQLite's."""
    sqlite_db, _ = archive
    queries = [
        ({CNCS: {"CodeValue": "126000"}}, [CNCS]),
        ({CNCS: {"CodeMeaning": "*Dose*", "CodingSchemeDesignator": "DCM"}}, [CNCS]),
        ({CNCS: {}, "CompletionFlag": "COMPLETE\\PARTIAL"}, [CNCS, "CompletionFlag"]),
        ({"ContentTemplateSequence": {"TemplateIdentifier": "100?1"}}, ["VerificationFlag"]),
        ({CNCS: {"CodeValue": "T-D0050", "CodingSchemeDesignator": "SRT"}}, [CNCS]),
    ]
    for url in db_url("postgresql", tmp_path):
        with Database(url, storage=tmp_path / "storage") as pg:
            pg.import_paths(all_files())
            for filters, fields in queries:
                expected = sqlite_db.query("IMAGE", filters, fields=fields)
                assert pg.query("IMAGE", filters, fields=fields) == expected


def test_snomed_rt_title_matches_snomed_ct(tmp_path):
    """A title coded in SNOMED RT (SRT) matches its SNOMED CT (SCT) code and the
    reverse, as srkit.model.Code compares them (pydicom's mapping table)."""
    from pydicom.sr._snomed_dict import mapping

    srt, sct = "T-D0050", mapping["SRT"]["T-D0050"]  # Tissue: 85756007
    ds = pydicom.dcmread(data_files("sr-tid1500/dcmqi_sr-example_sr.dcm")[0])
    ds.ConceptNameCodeSequence[0].CodeValue = srt
    ds.ConceptNameCodeSequence[0].CodingSchemeDesignator = "SRT"
    with Database(tmp_path / "db.sqlite", storage=tmp_path / "storage") as db:
        db.store_dataset(ds)
        for value, scheme in [(sct, "SCT"), (srt, "SRT"), ("", "SCT")]:
            rows = db.query(
                "IMAGE",
                {CNCS: {"CodeValue": value, "CodingSchemeDesignator": scheme}},
                fields=[CNCS],
            )
            assert [r["SOPInstanceUID"] for r in rows] == [str(ds.SOPInstanceUID)]
            assert rows[0][CNCS][0]["CodingSchemeDesignator"] == "SRT"
        wrong = {CNCS: {"CodeValue": sct, "CodingSchemeDesignator": "DCM"}}
        assert db.query("IMAGE", wrong) == []


# ------------------------------------------------------------ C-FIND identifiers


def identifier(level: str, **keys) -> Dataset:
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for keyword, value in keys.items():
        setattr(ds, keyword, value)
    return ds


def code_item(**values) -> Dataset:
    item = Dataset()
    for keyword, value in values.items():
        setattr(item, keyword, value)
    return item


def test_find_filters_sequences():
    ident = identifier(
        "IMAGE",
        SOPInstanceUID="",
        ConceptNameCodeSequence=[code_item(CodeValue="126000", CodeMeaning="")],
        ContentTemplateSequence=[],
        ReferencedStudySequence=[],
        ReferencedSeriesSequence=[code_item(SeriesInstanceUID="1.2.3")],
        CompletionFlag="COMPLETE",
    )
    level, filters, fields = find_filters(ident)
    assert level == "IMAGE"
    assert filters == {
        CNCS: {"CodeValue": "126000", "CodeMeaning": ""},
        "ContentTemplateSequence": {},
        "ReferencedSeriesSequence": {"SeriesInstanceUID": "1.2.3"},
        "CompletionFlag": "COMPLETE",
    }
    assert fields == [
        "SOPInstanceUID",
        "ReferencedStudySequence",
        "ReferencedSeriesSequence",
        CNCS,
        "CompletionFlag",
        "ContentTemplateSequence",
    ]


def test_find_filters_bad_identifiers():
    two = [code_item(CodeValue="126000"), code_item(CodeValue="113701")]
    with pytest.raises(SrkitError, match="2 items"):
        find_filters(identifier("IMAGE", ConceptNameCodeSequence=two))
    with pytest.raises(SrkitError, match="IMAGE level"):
        find_filters(identifier("STUDY", ConceptNameCodeSequence=[code_item(CodeValue="126000")]))
    with pytest.raises(SrkitError, match="IMAGE level"):
        find_filters(identifier("SERIES", VerificationFlag="VERIFIED"))
    with pytest.raises(SrkitError, match="Level"):
        find_filters(identifier("FRAME", ConceptNameCodeSequence=[]))
    level, filters, _ = find_filters(identifier("STUDY", ConceptNameCodeSequence=[]))
    assert (level, filters) == ("STUDY", {CNCS: {}})


# ------------------------------------------------------------------- QIDO-RS


@pytest.fixture(scope="module")
def web(archive):
    db, _ = archive
    return TestClient(create_app(db, public_url="http://testserver"))


def qido(web, query: str, path: str = "/dicomweb/instances"):
    return web.get(f"{path}?{query}")


def test_qido_sequence_path(web, files):
    for query in ("0040A043.00080100=126000", f"{CNCS}.CodeValue=126000"):
        response = qido(web, query + "&includefield=0040A043")
        assert response.status_code == 200, response.text
        body = response.json()
        assert {r["00080018"]["Value"][0] for r in body} == with_title(files, CodeValue="126000")
        assert all(
            r["0040A043"]
            == {"vr": "SQ", "Value": [{"00080100": {"vr": "SH", "Value": ["126000"]}}]}
            for r in body
        )


def test_qido_includefield_sequence(web, files):
    query = "0040A043.00080102=DCM&0040A043.00080104=*Dose*&includefield=0040A491"
    body = qido(web, query).json()
    assert {r["00080018"]["Value"][0] for r in body} == with_title(files, CodeValue="113701")
    for r in body:
        ds = files[r["00080018"]["Value"][0]]
        assert r["0040A043"]["Value"] == [
            {
                "00080102": {"vr": "SH", "Value": ["DCM"]},
                "00080104": {"vr": "LO", "Value": ["X-Ray Radiation Dose Report"]},
            }
        ]
        assert r["0040A491"] == {"vr": "CS", "Value": [str(ds.CompletionFlag)]}
    every = qido(web, "includefield=0040A043&limit=1000").json()
    assert len(every) == len(files)
    for r in every:
        t = title(files[r["00080018"]["Value"][0]])
        if t is None:
            # no value at this level: left out, as Orthanc's QIDO-RS does (issue 16)
            assert "0040A043" not in r
        else:
            assert r["0040A043"]["Value"][0]["00080100"]["Value"] == [t["CodeValue"]]


def test_qido_bad_sequence_keys(web):
    assert qido(web, "0040A043.00080100.00080102=x").status_code == 400
    assert qido(web, "00100010.00080100=x").status_code == 400  # not a sequence
    assert qido(web, "0040A043=126000").status_code == 400  # a sequence needs an item path
    assert qido(web, "0040A043.00080100=126000", "/dicomweb/studies").status_code == 400
    response = qido(web, "00081115.0020000E=1.2.3&limit=1")  # not supported: ignored
    assert response.status_code == 200
    assert "ReferencedSeriesSequence" in response.headers["warning"]


# --------------------------------------------------------- findscu end to end


@pytest.fixture(scope="module")
def listener(archive):
    """``srkit listen`` over the archive's database (whatever engine it runs)."""
    _, root = archive
    port = free_port()
    command = [sys.executable, "-m", "srkit.cli.main", "listen", "--port", str(port)]
    command += ["--aet", "SRKIT", "--db", str(root / "db.sqlite")]
    err = (root / "listen.err").open("wb")
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_for_port(port, timeout=30)
        yield port
    finally:
        proc.terminate()
        proc.wait(30)
        err.close()


def findscu(port: int, *keys: str) -> tuple[list[dict[str, object]], str]:
    """Run ``findscu -S`` and parse its responses: per response, the SOP Instance UID
    and the Concept Name Code Sequence items (tag -> value) as printed."""
    tool = require_tool("findscu", "/usr/bin/findscu")
    args = [tool, "-v", "-S", "-aec", "SRKIT"]
    for key in keys:
        args += ["-k", key]
    run = subprocess.run(
        [*args, "127.0.0.1", str(port)], capture_output=True, text=True, env=peer_env(), timeout=60
    )
    assert run.returncode == 0, run.stderr
    text = run.stdout + run.stderr
    answers = []
    for block in text.split("Find Response: ")[1:]:
        if "(Pending)" not in block.splitlines()[0]:
            continue
        answer: dict[str, object] = {"items": []}
        in_seq = False
        for line in block.splitlines():
            m = re.match(r"I: (\s*)\((\w{4},\w{4})\) (\w\w) (?:\[(.*?)\s*\]|(.*?))\s+#", line)
            if not m:
                continue
            indent, tag, vr, value = len(m[1]), m[2].upper(), m[3], m[4]
            if tag == "0008,0018" and indent == 0:
                answer["SOPInstanceUID"] = value.rstrip("\0")
            elif tag == "0040,A043":
                in_seq = True
                answer["sequence"] = m[5] or ""
            elif tag == "FFFE,E000" and in_seq:
                answer["items"].append({})  # type: ignore[attr-defined]
            elif indent == 0:
                in_seq = False
            elif in_seq and vr != "na":
                answer["items"][-1][tag] = value or ""  # type: ignore[index]
        answers.append(answer)
    return answers, text


@pytest.mark.peers
def test_findscu_sequence_matching(archive, listener, files):
    srs = data_files("sr-tid1500/*.dcm")
    report = pydicom.dcmread(srs[0], stop_before_pixels=True)
    base = [
        "QueryRetrieveLevel=IMAGE",
        f"StudyInstanceUID={report.StudyInstanceUID}",
        f"SeriesInstanceUID={report.SeriesInstanceUID}",
        "SOPInstanceUID",
    ]
    answers, text = findscu(
        listener, *base, "(0040,A043)[0].(0008,0100)=126000", "(0040,A043)[0].(0008,0104)"
    )
    expected = {u for u, ds in files.items() if ds.SeriesInstanceUID == report.SeriesInstanceUID}
    assert {a["SOPInstanceUID"] for a in answers} == expected, text
    for a in answers:
        assert a["items"] == [{"0008,0100": "126000", "0008,0104": "Imaging Measurement Report"}], (
            text
        )
    # the same series with a dose report code: nothing
    answers, text = findscu(listener, *base, "(0040,A043)[0].(0008,0100)=113701")
    assert answers == [], text
    assert "Success" in text
    # an image series with an empty item: every image, empty sequences
    ct = pydicom.dcmread(data_files(CT2)[0], stop_before_pixels=True)
    answers, text = findscu(
        listener,
        "QueryRetrieveLevel=IMAGE",
        f"StudyInstanceUID={ct.StudyInstanceUID}",
        f"SeriesInstanceUID={ct.SeriesInstanceUID}",
        "SOPInstanceUID",
        "(0040,A043)[0]",
    )
    images = {str(pydicom.dcmread(p).SOPInstanceUID) for p in data_files(CT2)}
    assert {a["SOPInstanceUID"] for a in answers} == images, text
    assert all(a["items"] == [] for a in answers), text


@pytest.mark.peers
def test_findscu_bad_sequence_keys(listener):
    answers, text = findscu(
        listener,
        "QueryRetrieveLevel=IMAGE",
        "SOPInstanceUID",
        "(0040,A043)[0].(0008,0100)=126000",
        "(0040,A043)[1].(0008,0100)=113701",
    )
    assert answers == [], text
    assert "DataSetDoesNotMatchSOPClass" in text, text  # 0xA900
    answers, text = findscu(
        listener,
        "QueryRetrieveLevel=STUDY",
        "StudyInstanceUID",
        "(0040,A043)[0].(0008,0100)=126000",
    )
    assert answers == [], text
    assert "DataSetDoesNotMatchSOPClass" in text, text
