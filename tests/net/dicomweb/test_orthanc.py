"""srkit's DICOMweb client (dicomweb-client) against Orthanc's DICOMweb plugin, and
``srkit dicomweb pull|push``."""

from __future__ import annotations

import pydicom
import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.db import Database
from srkit.net.dicomweb.client import DicomwebError, pull, push
from tests.conftest import data_files, data_path, require_tool, skip_or_fail
from tests.peers import ORTHANC, Orthanc, dicomweb_plugin, free_port

pytestmark = pytest.mark.peers


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory):
    require_tool("Orthanc", ORTHANC)
    if dicomweb_plugin() is None:
        skip_or_fail("orthanc-dicomweb is not installed")
    server = Orthanc(tmp_path_factory.mktemp("orthanc-web"))
    server.start()
    yield server
    server.stop()


def stored_uids(orthanc):
    return {
        orthanc.get(f"/instances/{i}/simplified-tags")["SOPInstanceUID"]
        for i in orthanc.get("/instances")
    }


def uids(paths):
    return sorted(str(pydicom.dcmread(p, stop_before_pixels=True).SOPInstanceUID) for p in paths)


def test_push_to_orthanc(orthanc):
    files = data_files("sr-tid1500/*.dcm")
    result = push(orthanc.dicomweb_url, files)
    assert sorted(result.stored) == uids(files)
    assert result.failed == []
    assert set(uids(files)) <= stored_uids(orthanc)


def test_pull_from_orthanc(orthanc, tmp_path):
    files = data_files("ct/dcmqi_ct-3slice/*.dcm")
    orthanc.upload(files)
    study = str(pydicom.dcmread(files[0]).StudyInstanceUID)
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    received = pull(orthanc.dicomweb_url, db.store_dataset, studies=[study])
    assert sorted(received) == uids(files)
    for path in files:
        src = pydicom.dcmread(path)
        copy = pydicom.dcmread(db.instance_path(str(src.SOPInstanceUID)))
        assert copy.PixelData == src.PixelData
    db.close()


def test_pull_by_search(orthanc, tmp_path):
    path = data_path("ct/pydicom_CT_small.dcm")
    orthanc.upload([path])
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    received = pull(orthanc.dicomweb_url, db.store_dataset, search={"PatientID": "1CT1"})
    assert str(pydicom.dcmread(path).SOPInstanceUID) in received
    db.close()


def test_cli_push_and_pull(orthanc, tmp_path):
    runner = CliRunner()
    files = data_files("ct/pydicom_CT2/*.dcm")
    result = runner.invoke(cli, ["dicomweb", "push", orthanc.dicomweb_url, str(files[0].parent)])
    assert result.exit_code == 0, result.output
    assert set(uids(files)) <= stored_uids(orthanc)
    study = str(pydicom.dcmread(files[0]).StudyInstanceUID)
    out = tmp_path / "pulled"
    result = runner.invoke(
        cli, ["dicomweb", "pull", orthanc.dicomweb_url, "--study", study, "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.stem for p in out.iterdir()) == uids(files)


def test_client_errors(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/dicom-web"
    with pytest.raises(DicomwebError, match="QIDO-RS"):
        pull(url, lambda ds: None)
    result = CliRunner().invoke(cli, ["dicomweb", "pull", url, "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["dicomweb", "push", url])
    assert result.exit_code == 2
