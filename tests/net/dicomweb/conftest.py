"""One set of real files in srkit and in Orthanc's DICOMweb plugin, to ask both the
same DICOMweb requests (Orthanc's answers are the reference)."""

from __future__ import annotations

import subprocess
import warnings

import pytest

from srkit.db import Database
from srkit.web.app import create_app
from tests.conftest import data_files, data_path, require_tool, skip_or_fail
from tests.peers import ORTHANC, Orthanc, dicomweb_plugin

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

REFERENCE = (
    "ct/pydicom_CT2/*.dcm",
    "ct/dcmqi_23x38x3/*.dcm",
    "ct/dcmqi_ct-3slice/*.dcm",
    "sr-tid1500/*.dcm",
)
SEG_UNALIGNED = "seg/dcmqi_23x38x3_label_seg.dcm"
"""3 frames of 38 x 23 = 874 bits: frames 2 and 3 start inside a byte."""
SEG_ALIGNED = "seg/highdicom_seg_image_ct_binary.dcm"
"""3 frames of 16 x 16 bits."""
CT_3SLICE = "ct/dcmqi_ct-3slice/01.dcm"


def jpeg_lossless(tmp_path, source=CT_3SLICE):
    """A real CT compressed by DCMTK to JPEG Lossless SV1 (1.2.840.10008.1.2.4.70)
    and JPEG-LS Lossless (.80): new SOP Instance UIDs so both can be stored beside
    the original."""
    tool = require_tool("dcmcjpeg", "/usr/bin/dcmcjpeg")
    jls = require_tool("dcmcjpls", "/usr/bin/dcmcjpls")
    out = []
    for name, cmd in (("jpegll.dcm", [tool, "+e1", "+ua"]), ("jls.dcm", [jls, "+ua"])):
        target = tmp_path / name
        subprocess.run([*cmd, str(data_path(source)), str(target)], check=True)
        out.append(target)
    return out


def renamed(paths, tmp_path):
    """Copies with fresh SOP Instance UIDs in the same study and series."""
    import pydicom
    from pydicom.uid import generate_uid

    out = []
    for path in paths:
        ds = pydicom.dcmread(path)
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        target = tmp_path / f"{ds.SOPInstanceUID}.dcm"
        ds.save_as(target, enforce_file_format=True)
        out.append(target)
    return out


@pytest.fixture(scope="session")
def reference_files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reference-files")
    files = [f for pattern in REFERENCE for f in data_files(pattern)]
    files += [data_path(SEG_UNALIGNED), data_path(SEG_ALIGNED)]
    files += renamed(jpeg_lossless(tmp), tmp)
    return files


@pytest.fixture(scope="session")
def srkit_db(tmp_path_factory, reference_files):
    root = tmp_path_factory.mktemp("srkit-reference")
    db = Database(root / "db.sqlite", storage=root / "storage")
    for path in reference_files:
        db.store(path.read_bytes())
    yield db
    db.close()


@pytest.fixture(scope="session")
def srkit_http(srkit_db):
    return TestClient(create_app(srkit_db, public_url="http://srkit.test"))


@pytest.fixture(scope="session")
def orthanc_ref(tmp_path_factory, reference_files):
    require_tool("Orthanc", ORTHANC)
    if dicomweb_plugin() is None:
        skip_or_fail("orthanc-dicomweb is not installed")
    server = Orthanc(tmp_path_factory.mktemp("orthanc-reference"))
    server.start()
    server.upload(reference_files)
    yield server
    server.stop()


def orthanc_get(server, path, headers=None):
    """(status, headers, body bytes) of a GET on Orthanc's DICOMweb root."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(server.dicomweb_url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as rsp:
            return rsp.status, dict(rsp.headers.items()), rsp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), exc.read()
