"""STOW-RS answers: each Retrieve URL names study, series and instance (PS3.18
Section 10.5.3), as Orthanc's do, and srkit serves every URL it returns."""

from __future__ import annotations

import io
import json
import urllib.request
import warnings
from urllib.parse import urlsplit

import pydicom
import pytest

from srkit.db import Database
from srkit.net.dicomweb import multipart
from srkit.web.app import create_app
from tests.conftest import data_files, require_tool, skip_or_fail
from tests.peers import ORTHANC, Orthanc, dicomweb_plugin

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

FILES = ("ct/pydicom_CT2/*.dcm", "sr-tid1500/*.dcm")


def stow_body(paths):
    boundary = multipart.new_boundary()
    parts = [("application/dicom", p.read_bytes()) for p in paths]
    body = b"".join(multipart.encode(boundary, parts))
    return body, f'multipart/related; type="application/dicom"; boundary={boundary}'


def retrieve_urls(answer):
    return [item["00081190"]["Value"][0] for item in answer["00081199"]["Value"]]


def suffix(url):
    """The URL from its DICOMweb root on (``/studies/...``)."""
    path = urlsplit(url).path
    return path[path.index("/studies/") :]


def expected(paths):
    out = set()
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        out.add(
            f"/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
            f"/instances/{ds.SOPInstanceUID}"
        )
    return out


def test_every_retrieve_url_is_served(tmp_path):
    paths = [p for pattern in FILES for p in data_files(pattern)]
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    http = TestClient(create_app(db))
    body, ctype = stow_body(paths)
    rsp = http.post("/dicomweb/studies", content=body, headers={"content-type": ctype})
    assert rsp.status_code == 200
    urls = retrieve_urls(rsp.json())
    assert {suffix(u) for u in urls} == expected(paths)
    for url in urls:
        got = http.get(urlsplit(url).path)
        assert got.status_code == 200, url
        _media, params = multipart.content_type_params(got.headers["content-type"])
        (part,) = multipart.parse(got.content, params["boundary"])
        ds = pydicom.dcmread(io.BytesIO(part.content), stop_before_pixels=True)
        assert url.endswith(f"/instances/{ds.SOPInstanceUID}")
    # a study named in the path: its URL is the top-level Retrieve URL, served too
    ct2 = data_files(FILES[0])
    study = str(pydicom.dcmread(ct2[0], stop_before_pixels=True).StudyInstanceUID)
    db2 = Database(tmp_path / "db2.sqlite", storage=tmp_path / "storage2")
    http2 = TestClient(create_app(db2))
    body, ctype = stow_body(ct2)
    rsp = http2.post(f"/dicomweb/studies/{study}", content=body, headers={"content-type": ctype})
    assert rsp.status_code == 200
    top = rsp.json()["00081190"]["Value"][0]
    assert suffix(top) == f"/studies/{study}"
    assert http2.get(urlsplit(top).path).status_code == 200
    for url in retrieve_urls(rsp.json()):
        assert http2.get(urlsplit(url).path).status_code == 200
    db.close()
    db2.close()


@pytest.mark.peers
def test_retrieve_urls_as_orthanc(tmp_path):
    require_tool("Orthanc", ORTHANC)
    if dicomweb_plugin() is None:
        skip_or_fail("orthanc-dicomweb is not installed")
    paths = data_files(FILES[0])
    body, ctype = stow_body(paths)
    with Orthanc(tmp_path / "orthanc") as orthanc:
        request = urllib.request.Request(
            orthanc.dicomweb_url + "/studies",
            data=body,
            method="POST",
            headers={"Content-Type": ctype, "Accept": "application/dicom+json"},
        )
        with urllib.request.urlopen(request, timeout=60) as rsp:
            theirs = json.loads(rsp.read())
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    http = TestClient(create_app(db))
    ours = http.post("/dicomweb/studies", content=body, headers={"content-type": ctype}).json()
    assert sorted(map(suffix, retrieve_urls(ours))) == sorted(map(suffix, retrieve_urls(theirs)))
    db.close()
