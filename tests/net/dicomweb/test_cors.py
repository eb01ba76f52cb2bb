"""CORS for a viewer on another origin: off by default (no header, OPTIONS 405),
``--cors-origin`` answers preflights and labels answers for the origins named."""

from __future__ import annotations

import warnings

import pydicom
import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.db import Database
from srkit.errors import SrkitError
from srkit.web.app import create_app
from srkit.web.cors import check_origin
from tests.conftest import data_path

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

VIEWER = "http://127.0.0.1:3000"
PREFLIGHT = {
    "Origin": VIEWER,
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "accept, authorization",
}


@pytest.fixture
def db(tmp_path):
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    db.store(data_path("ct/pydicom_CT_small.dcm").read_bytes())
    yield db
    db.close()


def test_no_cors_by_default(db):
    http = TestClient(create_app(db))
    rsp = http.options("/dicomweb/studies", headers=PREFLIGHT)
    assert rsp.status_code == 405
    rsp = http.get("/dicomweb/studies", headers={"Origin": VIEWER})
    assert rsp.status_code == 200
    assert not [h for h in rsp.headers if h.lower().startswith("access-control-")]


def test_preflight_and_answers(db):
    http = TestClient(create_app(db, cors_origins=[VIEWER], token="tok"))
    # the preflight carries no token, and is answered all the same
    rsp = http.options("/dicomweb/studies", headers=PREFLIGHT)
    assert rsp.status_code in (200, 204)
    assert rsp.headers["access-control-allow-origin"] == VIEWER
    assert "GET" in rsp.headers["access-control-allow-methods"]
    allowed = rsp.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed
    assert "accept" in allowed
    ds = pydicom.dcmread(data_path("ct/pydicom_CT_small.dcm"), stop_before_pixels=True)
    rsp = http.get(
        f"/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}/instances",
        headers={"Origin": VIEWER, "Authorization": "Bearer tok"},
    )
    assert rsp.status_code == 200
    assert rsp.headers["access-control-allow-origin"] == VIEWER
    assert "content-type" in rsp.headers["access-control-expose-headers"].lower()
    # another origin gets no grant
    rsp = http.options("/dicomweb/studies", headers={**PREFLIGHT, "Origin": "http://evil.test"})
    assert rsp.status_code == 400
    assert "access-control-allow-origin" not in rsp.headers
    # STOW-RS preflight
    rsp = http.options(
        "/dicomweb/studies",
        headers={**PREFLIGHT, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
    )  # fmt: skip
    assert rsp.status_code == 200
    assert "POST" in rsp.headers["access-control-allow-methods"]


def test_origins_checked():
    assert check_origin("https://viewer.example:8443/") == "https://viewer.example:8443"
    assert check_origin("*") == "*"
    for bad in ("viewer.example", "ftp://x", "http://x/path", "http://u@x"):
        with pytest.raises(SrkitError, match="not an origin"):
            check_origin(bad)
    result = CliRunner().invoke(cli, ["serve", "--cors-origin", "example.org", "--port", "0"])
    assert result.exit_code == 2
    assert "--cors-origin" in result.output
    assert "not an origin" in result.output
