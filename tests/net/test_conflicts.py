"""Patient identity and UID clashes through the network faces (issue 11): C-STORE by
DCMTK ``storescu`` and STOW-RS in, C-FIND by DCMTK ``findscu`` and QIDO-RS out, with
Orthanc answering the same probes as the reference.

The corpora are those of :mod:`tests.db.test_identity`, made from the shared files.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pydicom
import pytest

from srkit.net.dicomweb import multipart
from tests.conftest import require_tool, skip_or_fail
from tests.db.test_identity import (
    _changed,
    _header,
    check_clash_set,
    check_empty_id_corpus,
    clash_set,
    empty_id_corpus,
)
from tests.net.dimse.archive import Archive, dcmtk
from tests.peers import ORTHANC, Orthanc, dicomweb_plugin

pytestmark = pytest.mark.peers


def _stow_body(paths: list[Path]) -> tuple[bytes, str]:
    boundary = multipart.new_boundary()
    parts = [("application/dicom", p.read_bytes()) for p in paths]
    body = b"".join(multipart.encode(boundary, parts))
    return body, f'multipart/related; type="application/dicom"; boundary={boundary}'


def _client(db):
    from fastapi.testclient import TestClient

    from srkit.web.app import create_app

    return TestClient(create_app(db))


def _qido_query(http, prefix="/dicomweb"):
    """``query(level, filters)`` over QIDO-RS (PS3.18 10.6), rows keyed by keyword."""
    from pydicom.datadict import keyword_for_tag

    paths = {"STUDY": "studies", "SERIES": "series", "IMAGE": "instances"}
    fields = {
        "STUDY": ["00100010", "00100020", "00201208"],
        "SERIES": ["00100010", "00100020", "0020000D"],
        "IMAGE": ["00100010", "00100020", "0020000D", "0020000E"],
    }

    def query(level, filters):
        params = [(k, v) for k, v in filters.items()] + [("includefield", f) for f in fields[level]]
        rsp = http.get(f"{prefix}/{paths[level]}", params=params)
        assert rsp.status_code in (200, 204), rsp.text
        rows = []
        for item in rsp.json() if rsp.status_code == 200 else []:
            row = {}
            for tag, attr in item.items():
                value = (attr.get("Value") or [None])[0]
                if isinstance(value, dict):  # PN
                    value = value.get("Alphabetic")
                row[keyword_for_tag(int(tag, 16))] = value
            rows.append(row)
        return rows

    return query


def _findscu(port: int, tmp_path: Path, level: str, keys: dict[str, str]) -> list[pydicom.Dataset]:
    out = tmp_path / f"rsp-{level}-{len(list(tmp_path.glob('rsp-*')))}"
    out.mkdir()
    args = ["-S", "-aec", "SRKIT", "-X", "-od", str(out), "-k", f"QueryRetrieveLevel={level}"]
    for key, value in keys.items():
        args += ["-k", f"{key}={value}" if value else key]
    run = dcmtk("findscu", *args, "127.0.0.1", str(port))
    assert run.returncode == 0, run.stderr
    return [pydicom.dcmread(p) for p in sorted(out.glob("rsp*.dcm"))]


def _storescu(port: int, paths: list[Path]) -> str:
    run = dcmtk(
        "storescu",
        "-R",
        "-aet",
        "STORESCU",
        "-aec",
        "SRKIT",
        "127.0.0.1",
        str(port),
        *map(str, paths),
    )
    assert run.returncode == 0, run.stderr
    return run.stderr + run.stdout


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    require_tool("Orthanc", ORTHANC)
    if dicomweb_plugin() is None:
        skip_or_fail("orthanc-dicomweb is not installed")
    server = Orthanc(tmp_path_factory.mktemp("orthanc-clash"))
    server.start()
    yield server
    server.stop()


def _orthanc_qido(orthanc: Orthanc, query: str) -> list[dict]:
    with urllib.request.urlopen(f"{orthanc.dicomweb_url}/studies?{query}", timeout=10) as rsp:
        body = rsp.read()
    return json.loads(body) if body else []


def test_clash_set_through_storescu_findscu_and_qido(tmp_path, orthanc):
    files = clash_set(tmp_path / "in")
    arch = Archive(tmp_path / "arch")
    try:
        _storescu(arch.port, [files[k] for k in "ABCD"])
        check_clash_set(arch.db.query, files)  # the index itself
        check_clash_set(_qido_query(_client(arch.db)), files)  # QIDO-RS
        s1 = str(_header(files["A"]).StudyInstanceUID)
        answers = _findscu(
            arch.port,
            tmp_path,
            "STUDY",
            {"StudyInstanceUID": s1, "PatientID": "", "PatientName": ""},
        )
        assert sorted((a.PatientID, str(a.PatientName)) for a in answers) == [
            ("P1", "Alpha^Ann"),
            ("P2", "Beta^Bob"),
        ]
        [p2] = _findscu(
            arch.port,
            tmp_path,
            "STUDY",
            {"PatientID": "P2", "StudyInstanceUID": "", "NumberOfStudyRelatedInstances": ""},
        )
        assert (p2.StudyInstanceUID, int(p2.NumberOfStudyRelatedInstances)) == (s1, 1)
        conflicts = arch.db.conflicts()
        assert sorted((c["kind"], c["source"], c["calling_ae"]) for c in conflicts) == [
            ("series-other-study", "c-store", "STORESCU"),
            ("study-other-patient", "c-store", "STORESCU"),
        ]
    finally:
        arch.close()
    # the reference: Orthanc files the clash set the same way
    for path in files.values():
        orthanc.post("/instances", path.read_bytes())
    ours = sorted(
        (r["PatientID"], r["PatientName"])
        for r in _qido_query(_client(arch.db))("STUDY", {"StudyInstanceUID": s1})
    )
    theirs = sorted(
        (r["00100020"]["Value"][0], r["00100010"]["Value"][0]["Alphabetic"])
        for r in _orthanc_qido(orthanc, f"StudyInstanceUID={s1}&includefield=00100010")
    )
    assert ours == theirs == [("P1", "Alpha^Ann"), ("P2", "Beta^Bob")]
    assert len(orthanc.get("/patients")) >= 3


def test_storescu_gets_a_warning_for_a_clash(tmp_path):
    files = clash_set(tmp_path / "in")
    arch = Archive(tmp_path / "arch")
    try:
        _storescu(arch.port, [files["A"]])
        log = dcmtk("storescu", "-d", "-aec", "SRKIT", "127.0.0.1", str(arch.port), str(files["B"]))
        assert log.returncode == 0, log.stderr
        text = log.stderr + log.stdout
        # a warning status (PS3.4 B.2.3 defines no other for C-STORE than B000, B006 and
        # B007; srkit.net.status), and the Error Comment says what was recorded
        assert "DIMSE Status                  : 0xb000: Warning" in text, text
        assert "(0000,0902) LO [conflict recorded: study-other-patient]" in text, text
    finally:
        arch.close()


def test_empty_patient_ids_through_storescu_findscu_and_qido(tmp_path):
    paths = empty_id_corpus(tmp_path / "in")
    arch = Archive(tmp_path / "arch")
    try:
        _storescu(arch.port, paths)
        check_empty_id_corpus(arch.db.query, paths)
        http = _client(arch.db)
        check_empty_id_corpus(_qido_query(http), paths)
        [hit] = _findscu(
            arch.port, tmp_path, "STUDY", {"PatientName": "Osterman*", "StudyInstanceUID": ""}
        )
        first = _header(paths[0])
        assert (hit.StudyInstanceUID, str(hit.PatientName)) == (
            first.StudyInstanceUID,
            "Osterman^Olle",
        )
        # the study's metadata says what QIDO matched
        meta = http.get(f"/dicomweb/studies/{first.StudyInstanceUID}/metadata").json()
        assert [m["00100010"]["Value"][0]["Alphabetic"] for m in meta] == ["Osterman^Olle"]
        for i, path in enumerate(paths[:5]):
            head = _header(path)
            [row] = _findscu(
                arch.port,
                tmp_path,
                "STUDY",
                {"StudyInstanceUID": str(head.StudyInstanceUID), "PatientName": ""},
            )
            assert str(row.PatientName) == str(head.PatientName), i
    finally:
        arch.close()


def test_clash_set_and_duplicates_through_stow(tmp_path):
    from srkit.db import Database

    files = clash_set(tmp_path / "in")
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    try:
        http = _client(db)
        body, ctype = _stow_body([files[k] for k in "ABCD"])
        rsp = http.post("/dicomweb/studies", content=body, headers={"content-type": ctype})
        assert rsp.status_code == 202  # stored, with warnings (PS3.18 10.5.3)
        items = {
            i["00081155"]["Value"][0]: i.get("00081196", {}).get("Value")
            for i in rsp.json()["00081199"]["Value"]
        }
        heads = {k: _header(p) for k, p in files.items()}
        assert items == {
            heads["A"].SOPInstanceUID: None,
            heads["B"].SOPInstanceUID: [0xB000],
            heads["C"].SOPInstanceUID: None,
            heads["D"].SOPInstanceUID: [0xB000],
        }
        check_clash_set(_qido_query(http), files)
        assert sorted(c["source"] for c in db.conflicts()) == ["stow-rs", "stow-rs"]
        # a known SOP Instance UID with other content: 409, Failure Reason 0x0111
        first, second = _changed(tmp_path / "dup")
        body, ctype = _stow_body([first])
        assert (
            http.post(
                "/dicomweb/studies", content=body, headers={"content-type": ctype}
            ).status_code
            == 200
        )
        body, ctype = _stow_body([second])
        rsp = http.post("/dicomweb/studies", content=body, headers={"content-type": ctype})
        assert rsp.status_code == 409
        assert rsp.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0x0111]
        assert [c["resolution"] for c in db.conflicts(kind="instance-content")] == ["refused"]
    finally:
        db.close()


def test_c_store_conflicting_duplicate_is_refused_with_0111(tmp_path):
    from pynetdicom import AE

    first, second = _changed(tmp_path / "dup")
    arch = Archive(tmp_path / "arch")
    try:
        ae = AE(ae_title="SENDER")
        ae.add_requested_context(_header(first).SOPClassUID)
        assoc = ae.associate("127.0.0.1", arch.port, ae_title="SRKIT")
        assert assoc.is_established
        try:
            statuses = [
                int(assoc.send_c_store(pydicom.dcmread(p)).Status) for p in (first, first, second)
            ]
        finally:
            assoc.release()
        # stored; the same again (a duplicate, success); other content: refused
        assert statuses == [0x0000, 0x0000, 0x0111]
        [conflict] = arch.db.conflicts()
        assert (conflict["calling_ae"], conflict["resolution"]) == ("SENDER", "refused")
    finally:
        arch.close()


def test_cli_ls_conflicts(tmp_path):
    from click.testing import CliRunner

    from srkit.cli.main import cli

    files = clash_set(tmp_path / "in")
    db = str(tmp_path / "db.sqlite")
    runner = CliRunner()
    result = runner.invoke(cli, ["import", str(tmp_path / "in"), "--db", db])
    assert result.exit_code == 0, result.output
    assert "2 filed with a conflict" in result.output
    assert f"warning: {files['B']}: study-other-patient" in result.output
    result = runner.invoke(cli, ["ls", "conflicts", "--db", db, "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert sorted(r["kind"] for r in rows) == ["series-other-study", "study-other-patient"]
    result = runner.invoke(cli, ["ls", "conflicts", "--db", db, "-k", "kind=series-other-study"])
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["detected_at", "kind", "resolution"]
    assert len(lines) == 2
    assert "series-other-study" in lines[1]
    bad = runner.invoke(cli, ["ls", "conflicts", "--db", db, "-k", "kind=nonsense"])
    assert bad.exit_code == 2
    assert "kind=KIND" in bad.output


def test_web_interface_lists_conflicts(tmp_path):
    from srkit.db import Database

    files = clash_set(tmp_path / "in")
    with Database(tmp_path / "db.sqlite", storage=tmp_path / "storage") as db:
        db.import_paths([tmp_path / "in"], workers=1)
        page = _client(db).get("/conflicts")
    assert page.status_code == 200
    assert "Conflicts (2)" in page.text
    assert "study-other-patient" in page.text
    assert "series-other-study" in page.text
    b = str(_header(files["B"]).SOPInstanceUID)
    assert f'href="/instances/{b}"' in page.text


def test_retrieval_never_crosses_a_clash(tmp_path):
    """WADO-RS, C-GET and rm of the clash set (review defect 1): a Series Instance UID
    filed in two studies of two patients is retrieved within the study named; a Study
    Instance UID filed under two patients is refused (409, 0xA900) rather than handing
    one patient's images for the other's."""
    from srkit.net.dimse import client

    files = clash_set(tmp_path / "in")
    heads = {k: _header(p) for k, p in files.items()}
    s1, s2, s3 = (str(heads[k].StudyInstanceUID) for k in "ACD")
    x3 = str(heads["C"].SeriesInstanceUID)
    arch = Archive(tmp_path / "arch")
    try:
        _storescu(arch.port, [files[k] for k in "ABCD"])
        http = _client(arch.db)
        for study, expected in ((s3, "D"), (s2, "C")):
            meta = http.get(f"/dicomweb/studies/{study}/series/{x3}/metadata").json()
            assert [m["00080018"]["Value"][0] for m in meta] == [heads[expected].SOPInstanceUID]
            rsp = http.get(f"/dicomweb/studies/{study}/series/{x3}")
            assert rsp.status_code == 200
            assert rsp.content.count(str(heads[expected].SOPInstanceUID).encode()) >= 1
            other = "C" if expected == "D" else "D"
            assert str(heads[other].SOPInstanceUID).encode() not in rsp.content
        rsp = http.get(f"/dicomweb/studies/{s1}")
        assert rsp.status_code == 409
        assert "filed under 2 patients" in rsp.json()["detail"]
        # C-GET at SERIES level (Study Root: the study's unique key names the study)
        got: list[str] = []
        result = client.get(
            arch.peer,
            "SERIES",
            {"StudyInstanceUID": s3, "SeriesInstanceUID": x3},
            lambda ds: got.append(str(ds.PatientID)),
        )
        assert (result.status, got) == (0, ["P3"])
        refused = client.get(arch.peer, "STUDY", {"StudyInstanceUID": s1}, lambda ds: None)
        assert refused.status == 0xA900
        # Patient Root names the patient: that one is retrieved
        got = []
        result = client.get(
            arch.peer,
            "STUDY",
            {"PatientID": "P2", "StudyInstanceUID": s1},
            lambda ds: got.append(str(ds.PatientName)),
            model="patient",
        )
        assert (result.status, got) == (0, ["Beta^Bob"])
    finally:
        arch.close()
    from click.testing import CliRunner

    from srkit.cli.main import cli

    db = str(tmp_path / "arch" / "db.sqlite")
    runner = CliRunner()
    bad = runner.invoke(cli, ["rm", "series", x3, "--db", db])
    assert bad.exit_code == 1
    assert "filed under 2 patients" in bad.output
    ok = runner.invoke(cli, ["rm", "series", x3, "--db", db, "--study", s3])
    assert ok.exit_code == 0, ok.output
    assert "1 instance(s) removed" in ok.output
