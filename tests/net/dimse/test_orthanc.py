"""DIMSE against Orthanc: srkit sends to it, queries it and pulls from it by C-MOVE;
Orthanc sends to srkit, queries it and retrieves from it by C-MOVE."""

from __future__ import annotations

import pydicom
import pytest

from srkit.net.dimse import client
from srkit.net.dimse.peers import Peer
from tests.conftest import data_files, require_tool
from tests.net.dimse.archive import Archive
from tests.peers import ORTHANC, Orthanc, free_port

pytestmark = pytest.mark.peers

CT2 = "ct/pydicom_CT2/*.dcm"
CT3 = "ct/dcmqi_ct-3slice/*.dcm"
SR = "sr-tid1500/*.dcm"


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    """An Orthanc that knows the AE SRKIT at a port reserved for the archive."""
    require_tool("Orthanc", ORTHANC)
    srkit_port = free_port()
    server = Orthanc(
        tmp_path_factory.mktemp("orthanc"), modalities={"SRKIT": ("127.0.0.1", srkit_port)}
    )
    server.start()
    server.srkit_port = srkit_port  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture
def archive(orthanc, tmp_path):
    """An srkit archive on the port Orthanc knows, with ORTHANC as a known peer."""
    config = (
        f'allow_unknown = true\n[peers.ORTHANC]\nhost = "127.0.0.1"\nport = {orthanc.dicom_port}\n'
    )
    arch = Archive(tmp_path, config_text=config, port=orthanc.srkit_port)
    yield arch
    arch.close()


def peer(orthanc):
    return Peer("ORTHANC", "127.0.0.1", orthanc.dicom_port)


def uids(paths, keyword="SOPInstanceUID"):
    return sorted({str(pydicom.dcmread(p, stop_before_pixels=True)[keyword].value) for p in paths})


def test_send_to_orthanc_and_query_it(orthanc):
    files = data_files(SR)
    assert client.echo(peer(orthanc)) == 0
    result = client.send(peer(orthanc), files)
    assert result.failed == []
    assert len(result.sent) == len(files)
    stored = {
        orthanc.get(f"/instances/{i}/simplified-tags")["SOPInstanceUID"]
        for i in orthanc.get("/instances")
    }
    assert set(uids(files)) <= stored
    found = client.find(peer(orthanc), "SERIES", {"Modality": "SR"}, fields=["Modality"])
    assert set(uids(files, "SeriesInstanceUID")) <= {str(d.SeriesInstanceUID) for d in found}
    ds = pydicom.dcmread(files[2])
    found = client.find(
        peer(orthanc), "STUDY", {"PatientID": str(ds.PatientID)}, fields=["PatientName"]
    )
    assert [str(d.StudyInstanceUID) for d in found] == [str(ds.StudyInstanceUID)]
    assert str(found[0].PatientName) == str(ds.PatientName)


def test_move_from_orthanc_into_srkit(orthanc, archive):
    files = data_files(CT2)
    orthanc.upload(files)
    study = uids(files, "StudyInstanceUID")[0]
    result = client.move(peer(orthanc), "SRKIT", "STUDY", {"StudyInstanceUID": study})
    assert (result.status, result.completed, result.failed) == (0, len(files), 0)
    for uid in uids(files):
        path = archive.db.instance_path(uid)
        assert path is not None
        assert path.is_file()
        assert str(pydicom.dcmread(path).PatientName) == "Doe^Archibald"


def test_orthanc_stores_to_srkit(orthanc, archive):
    files = data_files(CT3)
    ids = orthanc.upload(files)
    job = orthanc.post("/modalities/SRKIT/store", {"Resources": ids, "Synchronous": True})
    assert job["FailedInstancesCount"] == 0
    assert sorted(r["SOPInstanceUID"] for r in archive.db.query("IMAGE", {})) == uids(files)


def test_orthanc_queries_and_retrieves_from_srkit(orthanc, archive):
    files = data_files(CT2)
    assert not client.send(archive.peer, files).failed
    # Orthanc already holds them from another test? it must get them back from srkit
    for instance in orthanc.get("/instances"):
        orthanc.delete(f"/instances/{instance}")
    query = orthanc.post(
        "/modalities/SRKIT/query",
        {"Level": "Study", "Query": {"PatientName": "Doe*", "StudyDescription": ""}},
    )
    answers = orthanc.get(f"/queries/{query['ID']}/answers?expand")
    study = uids(files, "StudyInstanceUID")[0]
    assert [a["0020,000d"]["Value"] for a in answers] == [study]
    orthanc.post(f"/queries/{query['ID']}/retrieve", {"TargetAet": "ORTHANC", "Synchronous": True})
    got = {
        orthanc.get(f"/instances/{i}/simplified-tags")["SOPInstanceUID"]
        for i in orthanc.get("/instances")
    }
    assert got == set(uids(files))
