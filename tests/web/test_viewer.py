"""``srkit serve --viewer``: the OHIF viewer's files under /viewer, the app-config.js
srkit writes for its own DICOMweb, and the fallback to index.html."""

from __future__ import annotations

import os
import warnings

import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.db import Database
from srkit.errors import SrkitError
from srkit.web.app import create_app
from srkit.web.viewer import ENV, app_config, find_viewer
from tests.conftest import skip_or_fail

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def installed_viewer():
    """The OHIF viewer .ci/run installs (``$SRKIT_VIEWER_DIR``)."""
    try:
        return find_viewer(os.environ.get(ENV) or None)
    except SrkitError as exc:
        skip_or_fail(f"OHIF viewer: {exc}")


def test_not_installed(tmp_path, monkeypatch):
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(SrkitError, match=r"OHIF viewer is not installed.*npm"):
        find_viewer()
    with pytest.raises(SrkitError, match="no OHIF viewer there"):
        find_viewer(tmp_path)
    result = CliRunner().invoke(
        cli, ["serve", "--viewer", "--viewer-dir", str(tmp_path), "--db", str(tmp_path / "x")]
    )
    assert result.exit_code == 1
    assert "no OHIF viewer there" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x").exists()


def test_app_config():
    text = app_config()
    assert 'routerBasename: "/viewer"' in text
    assert 'window.location.origin + "/dicomweb"' in text
    for root in ("qidoRoot: srkitRoot", "wadoRoot: srkitRoot", 'wadoUriRoot: srkitRoot + "/wado"'):
        assert root in text


def test_viewer_routes(tmp_path):
    dist = installed_viewer()
    assert find_viewer(dist) == dist
    assert find_viewer(dist.parent) == dist  # the package folder
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    http = TestClient(create_app(db, viewer_dir=dist))
    page = http.get("/viewer/")
    assert page.status_code == 200
    assert '<script type="text/javascript" src="/viewer/app-config.js">' in page.text
    assert 'src="/viewer/index.umd.js"' in page.text
    assert "polyfill.io" not in page.text  # nothing from the internet
    config = http.get("/viewer/app-config.js")
    assert config.status_code == 200
    assert config.text == app_config()
    umd = http.get("/viewer/index.umd.js")
    assert umd.status_code == 200
    assert umd.content == (dist / "index.umd.js").read_bytes()
    # the viewer's own routes get its page; a missing asset is a 404
    study = http.get("/viewer/1.2.826.0.1.3680043.2.1125.1")
    assert study.status_code == 200
    assert study.text == page.text
    assert http.get("/viewer/viewer/1.2.3").text == page.text
    assert http.get("/viewer/nothing.js").status_code == 404
    assert http.get("/viewer/..%2F..%2Fetc%2Fpasswd").text == page.text
    assert http.get("/viewer", follow_redirects=False).headers["location"] == "/viewer/"
    # without --viewer, no /viewer
    assert TestClient(create_app(db)).get("/viewer/").status_code == 404
    db.close()
