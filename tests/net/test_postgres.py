"""The listener and DICOMweb over PostgreSQL: the same handlers, another backend."""

from __future__ import annotations

import subprocess

import pydicom
import pytest

from srkit.db import Database
from srkit.net.dimse import client, services
from srkit.net.dimse.peers import Peer
from tests.conftest import data_files, require_tool
from tests.db.fixtures import db_url
from tests.peers import free_port, peer_env

pytestmark = pytest.mark.peers


@pytest.fixture
def pg_db(tmp_path):
    for url in db_url("postgresql", tmp_path):
        db = Database(url, storage=tmp_path / "storage")
        yield db
        db.close()


def test_store_find_get_over_postgresql(pg_db, tmp_path):
    storescu = require_tool("storescu", "/usr/bin/storescu")
    files = [*data_files("ct/pydicom_CT2/*.dcm"), *data_files("sr-tid1500/*.dcm")]
    port = free_port()
    server = services.start(pg_db, port=port)
    try:
        procs = [
            subprocess.Popen(
                [storescu, "-R", "-aec", "SRKIT", "127.0.0.1", str(port), *map(str, files[k::2])],
                env=peer_env(),
                stderr=subprocess.PIPE,
            )
            for k in range(2)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
        peer = Peer("SRKIT", "127.0.0.1", port)
        found = client.find(peer, "SERIES", {"Modality": "SR"}, fields=["Modality"])
        srs = [pydicom.dcmread(p) for p in data_files("sr-tid1500/*.dcm")]
        assert sorted(str(d.SeriesInstanceUID) for d in found) == sorted(
            {str(d.SeriesInstanceUID) for d in srs}
        )
        study = str(pydicom.dcmread(files[0]).StudyInstanceUID)
        got = []
        result = client.get(peer, "STUDY", {"StudyInstanceUID": study}, got.append)
        assert (result.status, result.completed) == (0, len(data_files("ct/pydicom_CT2/*.dcm")))
        assert sorted(str(d.PatientName) for d in got) == ["Doe^Archibald"] * len(got)
    finally:
        server.shutdown()
