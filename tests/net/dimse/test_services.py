"""DIMSE: the srkit listener against DCMTK tools and srkit's own client commands."""

from __future__ import annotations

import subprocess
import sys

import pydicom
import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.db import Database
from srkit.net.dimse import client, services
from srkit.net.dimse.peers import Peer
from tests.conftest import data_files, data_path
from tests.net.dimse.archive import CT2, CT3, Archive, dcmtk, sample_files
from tests.peers import free_port, wait_for_port

pytestmark = pytest.mark.peers


def test_echoscu(archive):
    run = dcmtk("echoscu", "-aec", "SRKIT", "127.0.0.1", str(archive.port))
    assert run.returncode == 0, run.stderr


def test_storescu_writes_and_indexes(loaded):
    files = sample_files()
    for path in files:
        src = pydicom.dcmread(path)
        stored = loaded.db.instance_path(str(src.SOPInstanceUID))
        assert stored is not None
        assert stored.is_file()
        assert stored.resolve().is_relative_to((loaded.root / "storage").resolve())
        copy = pydicom.dcmread(stored)
        assert copy.PatientName == src.PatientName
        assert copy.SOPClassUID == src.SOPClassUID
    assert len(loaded.db.query("IMAGE", {})) == len(files)


def test_findscu_study_root_wildcard(loaded, tmp_path):
    run = dcmtk(
        "findscu",
        "-S",
        "-aec",
        "SRKIT",
        "-X",
        "-od",
        str(tmp_path),
        "-k",
        "QueryRetrieveLevel=STUDY",
        "-k",
        "PatientName=Doe*",
        "-k",
        "StudyInstanceUID",
        "-k",
        "NumberOfStudyRelatedInstances",
        "127.0.0.1",
        str(loaded.port),
    )
    assert run.returncode == 0, run.stderr
    answers = [pydicom.dcmread(p) for p in sorted(tmp_path.glob("rsp*.dcm"))]
    src = pydicom.dcmread(data_files(f"{CT2}/*.dcm")[0])
    assert [str(a.StudyInstanceUID) for a in answers] == [str(src.StudyInstanceUID)]
    assert answers[0].PatientName == "Doe^Archibald"
    assert int(answers[0].NumberOfStudyRelatedInstances) == len(data_files(f"{CT2}/*.dcm"))


def test_findscu_patient_root_series_level(loaded, tmp_path):
    ct3 = data_files(f"{CT3}/*.dcm")
    src = pydicom.dcmread(ct3[0])
    run = dcmtk(
        "findscu",
        "-P",
        "-aec",
        "SRKIT",
        "-X",
        "-od",
        str(tmp_path),
        "-k",
        "QueryRetrieveLevel=SERIES",
        "-k",
        f"PatientID={src.PatientID}",
        "-k",
        f"StudyInstanceUID={src.StudyInstanceUID}",
        "-k",
        "SeriesInstanceUID",
        "-k",
        "Modality",
        "127.0.0.1",
        str(loaded.port),
    )
    assert run.returncode == 0, run.stderr
    answers = [pydicom.dcmread(p) for p in tmp_path.glob("rsp*.dcm")]
    assert [(str(a.SeriesInstanceUID), a.Modality) for a in answers] == [
        (str(src.SeriesInstanceUID), "CT")
    ]


def test_find_uid_list_and_date_range(loaded):
    srs = [pydicom.dcmread(p) for p in data_files("sr-tid1500/*.dcm")]
    uids = sorted({str(d.SOPInstanceUID) for d in srs[:2]})
    found = client.find(
        loaded.peer,
        "IMAGE",
        {"SOPInstanceUID": "\\".join(uids)},
        fields=["SOPClassUID"],
        model="patient",
    )
    assert sorted(str(d.SOPInstanceUID) for d in found) == uids
    ct = pydicom.dcmread(data_path("ct/pydicom_CT_small.dcm"))
    found = client.find(
        loaded.peer, "STUDY", {"StudyDate": f"{ct.StudyDate}-"}, fields=["StudyInstanceUID"]
    )
    assert str(ct.StudyInstanceUID) in {str(d.StudyInstanceUID) for d in found}


def test_unindexed_key_matches_universally(loaded):
    ct3 = [pydicom.dcmread(p) for p in data_files(f"{CT3}/*.dcm")]
    found = client.find(
        loaded.peer,
        "IMAGE",
        {"SeriesInstanceUID": str(ct3[0].SeriesInstanceUID), "ImageComments": "whatever"},
        fields=["ImageComments"],
    )
    assert sorted(str(d.SOPInstanceUID) for d in found) == sorted(
        str(d.SOPInstanceUID) for d in ct3
    )


def test_patient_level_refused_in_study_root(loaded):
    with pytest.raises(client.NetError, match="0xA900"):
        client.find(loaded.peer, "PATIENT", {"PatientID": "*"}, model="study")
    found = client.find(
        loaded.peer, "PATIENT", {"PatientID": "77654033"}, model="patient", fields=["PatientName"]
    )
    assert [str(d.PatientName) for d in found] == ["Doe^Archibald"]


def test_getscu_study(loaded, tmp_path):
    files = data_files(f"{CT3}/*.dcm")
    src = pydicom.dcmread(files[0])
    run = dcmtk(
        "getscu",
        "-S",
        "-aec",
        "SRKIT",
        "-od",
        str(tmp_path),
        "-k",
        "QueryRetrieveLevel=STUDY",
        "-k",
        f"StudyInstanceUID={src.StudyInstanceUID}",
        "127.0.0.1",
        str(loaded.port),
    )
    assert run.returncode == 0, run.stderr
    got = sorted(str(pydicom.dcmread(p).SOPInstanceUID) for p in tmp_path.iterdir())
    assert got == sorted(str(pydicom.dcmread(p).SOPInstanceUID) for p in files)


def test_movescu_to_known_destination(tmp_path):
    move_port = free_port()
    config = f'[peers.MOVESCU]\nhost = "127.0.0.1"\nport = {move_port}\n'
    arch = Archive(
        tmp_path / "a", config_text=config.replace("[peers", "allow_unknown = true\n[peers", 1)
    )
    try:
        files = data_files(f"{CT2}/*.dcm")
        assert not client.send(arch.peer, files).failed
        src = pydicom.dcmread(files[0])
        out = tmp_path / "moved"
        out.mkdir()
        run = dcmtk(
            "movescu",
            "-S",
            "-aet",
            "MOVESCU",
            "-aec",
            "SRKIT",
            "-aem",
            "MOVESCU",
            "+P",
            str(move_port),
            "-od",
            str(out),
            "-k",
            "QueryRetrieveLevel=SERIES",
            "-k",
            f"StudyInstanceUID={src.StudyInstanceUID}",
            "-k",
            f"SeriesInstanceUID={src.SeriesInstanceUID}",
            "127.0.0.1",
            str(arch.port),
        )
        assert run.returncode == 0, run.stderr
        got = sorted(str(pydicom.dcmread(p).SOPInstanceUID) for p in out.iterdir())
        assert got == sorted(str(pydicom.dcmread(p).SOPInstanceUID) for p in files)
        # an unknown destination gets 0xA801
        result = client.move(
            arch.peer, "NOWHERE", "STUDY", {"StudyInstanceUID": str(src.StudyInstanceUID)}
        )
        assert result.status == 0xA801
    finally:
        arch.close()


def test_access_control(tmp_path):
    config = (
        '[peers.VIEWER]\nhost = "127.0.0.1"\nport = 11113\nallow = ["echo", "find"]\n'
        '[peers.MODALITY]\nallow = ["echo", "store"]\n'
    )
    arch = Archive(tmp_path, config_text=config)
    try:
        assert (
            dcmtk(
                "echoscu", "-aet", "STRANGER", "-aec", "SRKIT", "127.0.0.1", str(arch.port)
            ).returncode
            != 0
        )
        assert (
            dcmtk(
                "echoscu", "-aet", "VIEWER", "-aec", "SRKIT", "127.0.0.1", str(arch.port)
            ).returncode
            == 0
        )
        file = data_path("ct/pydicom_CT_small.dcm")
        srkit = Peer("SRKIT", "127.0.0.1", arch.port)
        result = client.send(srkit, [file], calling_aet="VIEWER")
        assert result.sent == []
        assert "0x0124" in result.failed[0][1]
        assert client.send(srkit, [file], calling_aet="MODALITY").sent == [file]
        assert (
            len(client.find(srkit, "IMAGE", {}, fields=["SOPInstanceUID"], calling_aet="VIEWER"))
            == 1
        )
        with pytest.raises(client.NetError, match="0x0124"):
            client.find(srkit, "IMAGE", {}, fields=["SOPInstanceUID"], calling_aet="MODALITY")
        with pytest.raises(client.NetError, match="rejected"):
            client.echo(srkit, calling_aet="STRANGER")
    finally:
        arch.close()


def test_cli_echo_send_find_get(archive, tmp_path):
    runner = CliRunner()
    address = archive.address()
    result = runner.invoke(cli, ["echo", address])
    assert result.exit_code == 0
    assert "success" in result.output
    files = data_files(f"{CT3}/*.dcm")
    result = runner.invoke(cli, ["send", address, str(data_path(CT3))])
    assert result.exit_code == 0, result.output
    src = pydicom.dcmread(files[0])
    result = runner.invoke(
        cli,
        [
            "find",
            address,
            "-L",
            "SERIES",
            "-k",
            f"StudyInstanceUID={src.StudyInstanceUID}",
            "-f",
            "Modality",
        ],
    )
    assert result.exit_code == 0, result.output
    assert '"Modality": "CT"' in result.stdout
    assert str(src.SeriesInstanceUID) in result.stdout
    out = tmp_path / "got"
    result = runner.invoke(
        cli,
        [
            "get",
            address,
            "-L",
            "SERIES",
            "-k",
            f"SeriesInstanceUID={src.SeriesInstanceUID}",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{pydicom.dcmread(p).SOPInstanceUID}.dcm" for p in files
    )


# pynetdicom drops (without closing) the socket of a refused connection
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_cli_errors(archive, tmp_path):
    runner = CliRunner()
    port = free_port()
    result = runner.invoke(cli, ["echo", f"X@127.0.0.1:{port}", "--timeout", "2"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output
    result = runner.invoke(cli, ["echo", "no-port-here"])
    assert result.exit_code == 1
    assert "AET@HOST:PORT" in result.output
    result = runner.invoke(cli, ["find", archive.address(), "-k", "NotAKeyword=1"])
    assert result.exit_code == 1
    assert "NotAKeyword" in result.output
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(b"not dicom at all")
    result = runner.invoke(cli, ["send", archive.address(), str(bad)])
    assert result.exit_code == 1
    assert str(bad) in result.output
    result = runner.invoke(cli, ["get", archive.address(), "-k", "StudyInstanceUID=1.2"])
    assert result.exit_code == 2


def test_listen_command(tmp_path):
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "srkit.cli.main",
        "listen",
        "--port",
        str(port),
        "--aet",
        "LISTENER",
        "--db",
        str(tmp_path / "l.sqlite"),
        "--workers",
        "1",
        "--max-associations",
        "1",
        "--timeout",
        "30",
    ]
    file = data_path("ct/pydicom_CT_small.dcm")
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
        try:
            wait_for_port(port, timeout=30)
            assert client.echo(Peer("LISTENER", "127.0.0.1", port)) == 0
            assert client.send(Peer("LISTENER", "127.0.0.1", port), [file]).sent == [file]
            # one association at a time: a second one is rejected while the first lasts
            from pynetdicom import AE

            ae = AE(ae_title="FIRST")
            ae.add_requested_context("1.2.840.10008.1.1")
            first = ae.associate("127.0.0.1", port, ae_title="LISTENER")
            assert first.is_established
            with pytest.raises(client.NetError, match="rejected"):
                client.echo(Peer("LISTENER", "127.0.0.1", port))
            first.release()
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=10)
    assert b"listening on 127.0.0.1" in err
    db = Database(tmp_path / "l.sqlite")
    uid = str(pydicom.dcmread(file).SOPInstanceUID)
    assert db.instance_path(uid) is not None
    db.close()


def test_move_and_get_errors(tmp_path):
    port = free_port()
    config = f'allow_unknown = true\n[peers.SELF]\nhost = "127.0.0.1"\nport = {port}\n'
    arch = Archive(tmp_path, config_text=config, port=port)
    try:
        file = data_path("ct/pydicom_CT_small.dcm")
        assert client.send(arch.peer, [file]).failed == []
        # no unique key: the identifier does not match (PS3.4 C.4.2.1.4)
        assert client.move(arch.peer, "SELF", "STUDY", {}).status == 0xA900
        # unknown UIDs: nothing to move, success with no sub-operations
        result = client.move(arch.peer, "SELF", "SERIES", {"SeriesInstanceUID": "1.2.3"})
        assert (result.status, result.completed) == (0, 0)
        # moving to ourselves stores the same instance again: accepted, no duplicate
        study = str(pydicom.dcmread(file).StudyInstanceUID)
        result = client.move(arch.peer, "SELF", "STUDY", {"StudyInstanceUID": study})
        assert (result.status, result.completed, result.failed) == (0, 1, 0)
        assert len(arch.db.query("IMAGE", {})) == 1
        got = client.get(arch.peer, "IMAGE", {}, lambda ds: None)
        assert got.status == 0xA900
        runner = CliRunner()
        result = runner.invoke(
            cli, ["move", arch.address(), "SELF", "-k", f"StudyInstanceUID={study}"]
        )
        assert result.exit_code == 0, result.output
        assert "completed 1, failed 0" in result.output
        result = runner.invoke(
            cli, ["move", arch.address(), "NOWHERE", "-k", f"StudyInstanceUID={study}"]
        )
        assert result.exit_code == 1
        assert "0xA801" in result.output
    finally:
        arch.close()


def test_cli_send_and_get_with_databases(tmp_path):
    source = Archive(tmp_path / "source")
    target = Archive(tmp_path / "target")
    try:
        files = data_files(f"{CT2}/*.dcm")
        assert client.send(source.peer, files).failed == []
        study = str(pydicom.dcmread(files[0]).StudyInstanceUID)
        runner = CliRunner()
        result = runner.invoke(
            cli,
            ["send", target.address(), "--db", str(source.root / "db.sqlite"), "--study", study],
        )
        assert result.exit_code == 0, result.output
        assert sorted(r["SOPInstanceUID"] for r in target.db.query("IMAGE", {})) == sorted(
            str(pydicom.dcmread(p).SOPInstanceUID) for p in files
        )
        third = tmp_path / "third.sqlite"
        result = runner.invoke(
            cli, ["get", source.address(), "-k", f"StudyInstanceUID={study}", "--db", str(third)]
        )
        assert result.exit_code == 0, result.output
        db = Database(third)
        assert len(db.query("IMAGE", {"StudyInstanceUID": study})) == len(files)
        db.close()
    finally:
        source.close()
        target.close()


def test_every_storage_class_offered(archive, tmp_path):
    from pynetdicom import AllStoragePresentationContexts

    from srkit.net.dimse.peers import PeersConfig

    offered = {str(cx.abstract_syntax) for cx in services.supported_contexts(PeersConfig())}
    assert {str(cx.abstract_syntax) for cx in AllStoragePresentationContexts} <= offered
    # a SEG, a key object selection and dose reports of three makers, by DCMTK
    files = [
        data_path("seg/dcmqi_liver_seg.dcm"),
        data_path("kos/nist_IDS-DEPT003-a_kos.dcm"),
        *data_files("rdsr/openrem_*.dcm"),
    ]
    run = dcmtk("storescu", "-R", "-aec", "SRKIT", "127.0.0.1", str(archive.port), *map(str, files))
    assert run.returncode == 0, run.stderr
    rows = archive.db.query("IMAGE", {}, fields=["SOPClassUID"])
    assert sorted((r["SOPInstanceUID"], r["SOPClassUID"]) for r in rows) == sorted(
        (str(d.SOPInstanceUID), str(d.SOPClassUID)) for d in map(pydicom.dcmread, files)
    )


def test_the_contexts_are_built_once_per_process():
    """srkit listen builds them before it forks its workers, which then share them."""
    first, second = services.supported_contexts(), services.supported_contexts()
    assert first is not second  # each server gets its own list to keep ...
    assert all(a is b for a, b in zip(first, second, strict=True))  # ... of shared contexts
    ct = next(cx for cx in first if str(cx.abstract_syntax) == "1.2.840.10008.5.1.4.1.1.2")
    assert "1.2.840.10008.1.2.1" in [str(ts) for ts in ct.transfer_syntax]
    assert ct.scp_role
    assert ct.scu_role
