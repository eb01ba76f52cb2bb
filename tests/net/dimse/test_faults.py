"""Faults: a peer that drops the association mid-transfer, a malformed data set, an SOP
class not offered, a path-traversal UID. Each gets the right status; the database and
the storage folder stay consistent."""

from __future__ import annotations

import io
import subprocess
import time

import pydicom
import pytest
from pydicom.uid import generate_uid
from pynetdicom import AE, _config

from srkit.net.dimse import client
from tests.conftest import data_path, require_tool
from tests.peers import peer_env

CT = "ct/pydicom_CT_small.dcm"


def stored_files(arch):
    root = arch.root / "storage"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_consistent(arch, expected_uids):
    """The index lists exactly ``expected_uids``, each with its file; no other files."""
    rows = arch.db.query("IMAGE", {})
    assert sorted(r["SOPInstanceUID"] for r in rows) == sorted(expected_uids)
    paths = sorted(arch.db.instance_path(uid) for uid in expected_uids)
    assert stored_files(arch) == paths
    # conflicts recorded are reported too; nothing else may be wrong
    problems = arch.db.check_integrity()
    assert [p for p in problems if not p.endswith("recorded (srkit ls conflicts)")] == []


def test_peer_drops_mid_transfer(archive):
    ds = pydicom.dcmread(data_path(CT))
    ae = AE(ae_title="DROPPER")
    ae.dimse_timeout = ae.network_timeout = 5
    ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
    ae.maximum_pdu_size = 0
    assoc = ae.associate("127.0.0.1", archive.port, ae_title="SRKIT")
    assert assoc.is_established
    sock = assoc.dul.socket
    real_send = sock.send
    sent = {"pdata": 0}

    def send_half_then_drop(data):
        if data[:1] == b"\x04":  # P-DATA-TF
            sent["pdata"] += 1
            if sent["pdata"] == 2:  # the first carries the command, the second the data set
                real_send(data[: len(data) // 2])
                sock.socket.shutdown(2)  # the peer sees the connection end mid-PDU
                return None
        return real_send(data)

    sock.send = send_half_then_drop
    raw = sock.socket
    rsp = assoc.send_c_store(ds)
    assert "Status" not in rsp  # no answer: the association died
    assoc.abort()
    if raw is not None:
        raw.close()  # pynetdicom leaves the half-shut socket to the garbage collector
    time.sleep(0.3)
    assert_consistent(archive, [])
    # the listener still works and stores the same instance afterwards
    assert client.send(archive.peer, [data_path(CT)]).failed == []
    assert_consistent(archive, [str(ds.SOPInstanceUID)])


def test_malformed_data_set(archive, tmp_path, monkeypatch):
    data = io.BytesIO()
    pydicom.dcmread(data_path(CT)).save_as(data, enforce_file_format=True)
    bad = tmp_path / "cut.dcm"
    bad.write_bytes(data.getvalue()[:-3000])  # Pixel Data cut short
    # send the file's bytes as they are, without pynetdicom decoding them first
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)
    result = client.send(archive.peer, [bad])
    assert result.sent == []
    assert result.failed == [(bad, "cannot understand (0xC000)")]
    assert_consistent(archive, [])


def test_sop_class_not_offered(archive, tmp_path):
    ds = pydicom.dcmread(data_path(CT))
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.826.0.1.3680043.8.498.999"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    path = tmp_path / "private.dcm"
    ds.save_as(path, enforce_file_format=True)
    result = client.send(archive.peer, [path])
    assert result.sent == []
    assert "aborted" in result.failed[0][1]  # no context accepted: pynetdicom aborts
    # with an image of an offered class in the same association, only it is stored
    result = client.send(archive.peer, [path, data_path(CT)])
    assert result.sent == [data_path(CT)]
    assert result.failed[0][0] == path
    assert "presentation context" in result.failed[0][1].lower()
    assert_consistent(archive, [str(pydicom.dcmread(data_path(CT)).SOPInstanceUID)])


@pytest.mark.peers
@pytest.mark.parametrize("field", ["SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"])
def test_path_traversal_uid(archive, tmp_path, field):
    ds = pydicom.dcmread(data_path(CT))
    setattr(ds, field, "../../../../tmp/escaped")
    if field == "SOPInstanceUID":
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    path = tmp_path / "evil.dcm"
    ds.save_as(path, enforce_file_format=True)
    storescu = require_tool("storescu", "/usr/bin/storescu")
    run = subprocess.run(
        [storescu, "-v", "-aec", "SRKIT", "127.0.0.1", str(archive.port), str(path)],
        capture_output=True,
        text=True,
        env=peer_env(),
        timeout=30,
    )
    assert "Received Store Response (Error: CannotUnderstand)" in run.stderr
    assert_consistent(archive, [])
    assert not list(archive.root.parent.rglob("escaped*"))


def test_duplicate_keeps_first_copy(archive, tmp_path):
    ds = pydicom.dcmread(data_path(CT))
    assert client.send(archive.peer, [data_path(CT)]).failed == []
    ds.PatientName = "Someone^Else"
    path = tmp_path / "changed.dcm"
    ds.save_as(path, enforce_file_format=True)
    result = client.send(archive.peer, [path])
    # refused, and said so (0x0111: the default policy keeps the first; Orthanc would
    # acknowledge and drop it); the conflict is on record
    assert result.failed == [(path, "duplicate SOP instance with other content (0x0111)")]
    assert_consistent(archive, [str(ds.SOPInstanceUID)])
    stored = pydicom.dcmread(archive.db.instance_path(str(ds.SOPInstanceUID)))
    assert str(stored.PatientName) == "CompressedSamples^CT1"
    [conflict] = archive.db.conflicts()
    assert (conflict["kind"], conflict["resolution"]) == ("instance-content", "refused")


def test_uid_mismatch_between_command_and_data_set(archive):
    """pynetdicom takes the command's UIDs from the data set; DCMTK does too. Send
    another instance UID in the command by storing under a changed dataset copy."""
    ds = pydicom.dcmread(data_path(CT))
    ae = AE(ae_title="MISMATCH")
    ae.add_requested_context(ds.SOPClassUID, ds.file_meta.TransferSyntaxUID)
    assoc = ae.associate("127.0.0.1", archive.port, ae_title="SRKIT")
    assert assoc.is_established
    from pynetdicom.dimse_primitives import C_STORE

    original = C_STORE.AffectedSOPInstanceUID.fset

    def other_uid(self, value):
        original(self, generate_uid() if value else value)

    try:
        C_STORE.AffectedSOPInstanceUID = property(C_STORE.AffectedSOPInstanceUID.fget, other_uid)
        rsp = assoc.send_c_store(ds)
    finally:
        C_STORE.AffectedSOPInstanceUID = property(C_STORE.AffectedSOPInstanceUID.fget, original)
        assoc.release()
    assert rsp.Status == 0xA900
    assert_consistent(archive, [])
