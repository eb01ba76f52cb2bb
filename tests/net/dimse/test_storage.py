"""The C-STORE fast path: received bytes are stored as they came and indexed from
srkit's parser."""

from __future__ import annotations

import subprocess

import pydicom
import pytest

from tests.conftest import data_files, require_tool
from tests.peers import peer_env


@pytest.mark.peers
@pytest.mark.parametrize("pdu", [[], ["--max-send-pdu", "4096"]], ids=["pdu-default", "pdu-4k"])
def test_storescu_bytes_stored_as_sent(archive, pdu):
    """DCMTK sends the files over one association in their own transfer syntax; each
    stored file holds the data set bytes exactly as in the source file."""
    storescu = require_tool("storescu", "/usr/bin/storescu")
    files = sorted(data_files("ct/pydicom_CT2/*.dcm"))
    assert len(files) >= 3
    run = subprocess.run(
        [storescu, *pdu, "-aec", archive.aet, "127.0.0.1", str(archive.port), *map(str, files)],
        capture_output=True,
        text=True,
        env=peer_env(),
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    for path in files:
        source = pydicom.dcmread(path)
        uid = str(source.SOPInstanceUID)
        stored = archive.db.instance_path(uid).read_bytes()
        # the data set part (after the File Meta Information) is byte-identical
        body = path.read_bytes()
        start = 132 + _meta_length(body)
        assert stored.endswith(body[start:])
        meta = pydicom.dcmread(archive.db.instance_path(uid)).file_meta
        assert meta.TransferSyntaxUID == source.file_meta.TransferSyntaxUID
        assert meta.SourceApplicationEntityTitle == "STORESCU"
        [row] = archive.db.instances(SOPInstanceUID=uid)
        assert row["PatientID"] == str(source.PatientID)
        assert row["InstanceNumber"] == int(source.InstanceNumber)
    assert archive.db.check_integrity() == []


def _meta_length(data: bytes) -> int:
    """Bytes of the File Meta Information group (0002,0000 gives its length)."""
    assert data[128:132] == b"DICM"
    assert data[132:136] == b"\x02\x00\x00\x00"
    return 12 + int.from_bytes(data[140:144], "little")
