"""The OHIF viewer in Chromium against a real ``srkit serve --viewer``: the study list,
a CT series opened through srkit's DICOMweb, scrolled with the mouse wheel, rendered
(a canvas of many grey levels), with no failed request and no console error."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest

from srkit.db import Database
from tests.conftest import data_files, require_module, require_tool
from tests.peers import CHROMIUM_ARGS, free_port, wait_for_port
from tests.web.test_viewer import installed_viewer

pytestmark = pytest.mark.peers

CT = "ct/dcmqi_ct-3slice/*.dcm"
SRC = Path(__file__).resolve().parents[2] / "src"
SCREENSHOTS = (
    Path(os.environ.get("SRKIT_SCREENSHOTS", "")) if os.environ.get("SRKIT_SCREENSHOTS") else None
)

CANVAS_STATS = """(canvas) => {
  const ctx = canvas.getContext('2d');
  const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const levels = new Set();
  for (let i = 0; i < data.length; i += 4) levels.add(data[i]);
  return {width: canvas.width, height: canvas.height, levels: levels.size};
}"""


@contextlib.contextmanager
def serving(folder, files):
    """``srkit serve --viewer`` in a process of its own, on a new database in
    ``folder`` holding ``files``; yields its URL."""
    dist = installed_viewer()
    folder.mkdir(parents=True, exist_ok=True)
    db = Database(folder / "db.sqlite")
    for path in files:
        db.store(path.read_bytes())
    db.close()
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    env.pop("SRKIT_TOKEN", None)
    log = (folder / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from srkit.cli.main import cli; cli()", "serve", "--viewer",
         "--viewer-dir", str(dist), "--db", str(folder / "db.sqlite"), "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.fixture
def served(tmp_path):
    """srkit serving the 3-slice CT of /work/shared/data, with the viewer."""
    files = data_files(CT)
    assert len(files) == 3
    with serving(tmp_path / "native", files) as url:
        yield url, files, tmp_path


def test_ohif_opens_and_scrolls_a_ct_series(served):
    url, files, tmp_path = served
    chromium = require_tool("chromium", "/usr/bin/chromium")
    sync_api = require_module("playwright.sync_api", "browser tests")
    ct = pydicom.dcmread(files[0], stop_before_pixels=True)
    failed: list[str] = []
    errors: list[str] = []
    dicomweb: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
            page.on("requestfailed", lambda r: failed.append(f"{r.failure} {r.url}"))
            page.on("request", lambda r: "/dicomweb/" in r.url and dicomweb.append(r.url))
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url + "/viewer/")
            # the study list: the patient as the file has it, its modality
            row = page.get_by_text(str(ct.PatientName))
            row.wait_for(timeout=30_000)
            assert page.get_by_text(str(ct.PatientID)).count() >= 1
            page.screenshot(path=str(shot(tmp_path, "ohif-study-list.png")))
            row.click()
            # the series opens in a Cornerstone viewport
            page.wait_for_selector(".viewport-element canvas", timeout=30_000)
            overlay = page.get_by_text(re.compile(r"Img: \d+ \d+/3"))
            overlay.wait_for(timeout=30_000)
            assert page.url == f"{url}/viewer/viewer/{ct.StudyInstanceUID}"
            canvas = page.locator(".viewport-element canvas").first
            wait_rendered(page, canvas)
            before = overlay.inner_text()
            box = canvas.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.wheel(0, 200)
            deadline = time.monotonic() + 20
            while overlay.inner_text() == before and time.monotonic() < deadline:
                page.mouse.wheel(0, 200)
                page.wait_for_timeout(300)
            after = overlay.inner_text()
            assert after != before, "the mouse wheel did not change the slice"
            stats = wait_rendered(page, canvas)
            page.screenshot(path=str(shot(tmp_path, "ohif-ct-scrolled.png")))
        finally:
            browser.close()
    assert stats["width"] > 100
    assert stats["height"] > 100
    assert stats["levels"] > 50, stats  # a CT slice, not a blank or uniform canvas
    # everything came from srkit's DICOMweb: the study list, the series, its frames
    assert any("/studies?" in u and "includefield=" in u for u in dicomweb)
    assert any(str(ct.StudyInstanceUID) in u and "/metadata" in u for u in dicomweb)
    assert any("/frames/" in u for u in dicomweb)
    assert failed == []
    assert errors == []


def wait_rendered(page, canvas, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        stats = canvas.evaluate(CANVAS_STATS)
        if stats["levels"] > 50 or time.monotonic() > deadline:
            return stats
        page.wait_for_timeout(200)


def shot(tmp_path, name):
    folder = SCREENSHOTS or tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def viewport_picture(page, url, route=None, patient="JANCT000", slices=3):
    """Open the series of ``patient`` in OHIF's study list at ``url`` and return the
    viewport's pixels (RGBA), once rendered and settled."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    if route is not None:
        page.route("**/dicomweb/**", route)
    page.goto(url + "/viewer/")
    row = page.get_by_text(patient)
    row.wait_for(timeout=30_000)
    row.click()
    page.wait_for_selector(".viewport-element canvas", timeout=30_000)
    page.get_by_text(re.compile(rf"Img: \d+ \d+/{slices}")).wait_for(timeout=30_000)
    canvas = page.locator(".viewport-element canvas").first
    wait_rendered(page, canvas)
    page.wait_for_timeout(1500)  # prefetching done, nothing repainting
    data = canvas.evaluate("(c) => c.toDataURL('image/png')")
    png = base64.b64decode(data.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_ohif_pixels_as_on_orthanc(served):
    """The same viewer, the same study: the CT slice OHIF draws from srkit's DICOMweb
    is pixel for pixel the one it draws from Orthanc's (its requests to /dicomweb
    answered by Orthanc's /dicom-web, the browser seeing one origin)."""
    from tests.conftest import skip_or_fail
    from tests.peers import ORTHANC, Orthanc, dicomweb_plugin

    url, files, tmp_path = served
    chromium = require_tool("chromium", "/usr/bin/chromium")
    require_tool("Orthanc", ORTHANC)
    if dicomweb_plugin() is None:
        skip_or_fail("orthanc-dicomweb is not installed")
    sync_api = require_module("playwright.sync_api", "browser tests")
    with Orthanc(tmp_path / "orthanc") as orthanc:
        orthanc.upload(files)
        answered: list[str] = []

        def to_orthanc(route):
            target = route.request.url.replace(url + "/dicomweb", orthanc.dicomweb_url, 1)
            answered.append(target)
            response = route.fetch(url=target)
            route.fulfill(response=response)

        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                ours = viewport_picture(
                    browser.new_page(viewport={"width": 1280, "height": 900}), url
                )
                theirs = viewport_picture(
                    browser.new_page(viewport={"width": 1280, "height": 900}), url, to_orthanc
                )
            finally:
                browser.close()
    assert any("/frames/" in u for u in answered)  # Orthanc served the pixels
    assert ours.shape == theirs.shape
    assert len(np.unique(ours[..., 0])) > 50
    assert np.array_equal(ours, theirs), int(np.abs(ours.astype(int) - theirs).max())


def test_ohif_shows_a_jpeg_lossless_series(served):
    """The same CT compressed by DCMTK to JPEG Lossless (1.2.840.10008.1.2.4.70): the
    viewer asks for native frames (srkit's app-config.js), srkit decompresses them,
    and the slice drawn is pixel for pixel the uncompressed one's."""
    url, files, tmp_path = served
    chromium = require_tool("chromium", "/usr/bin/chromium")
    dcmcjpeg = require_tool("dcmcjpeg", "/usr/bin/dcmcjpeg")
    sync_api = require_module("playwright.sync_api", "browser tests")
    compressed = []
    for path in files:
        out = tmp_path / "jpeg" / path.name
        out.parent.mkdir(exist_ok=True)
        subprocess.run([dcmcjpeg, "+e1", "+ua", str(path), str(out)], check=True)
        assert pydicom.dcmread(out).file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.70"
        compressed.append(out)
    frames: list[tuple[str, str]] = []
    failed: list[str] = []

    def watch(page):
        def on_response(rsp):
            if rsp.status >= 400:
                failed.append(f"{rsp.status} {rsp.url}")
            if "/frames/" in rsp.url:
                frames.append((rsp.request.headers.get("accept", ""), rsp.headers["content-type"]))

        page.on("response", on_response)
        page.on("requestfailed", lambda r: failed.append(f"{r.failure} {r.url}"))
        return page

    with serving(tmp_path / "jpeg-db", compressed) as jpeg_url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            size = {"width": 1280, "height": 900}
            native = viewport_picture(browser.new_page(viewport=size), url)
            page = watch(browser.new_page(viewport=size))
            lossless = viewport_picture(page, jpeg_url)
            page.screenshot(path=str(shot(tmp_path, "ohif-ct-jpeg-lossless.png")))
        finally:
            browser.close()
    assert failed == []
    assert frames
    for accept, ctype in frames:
        assert "transfer-syntax=1.2.840.10008.1.2.1" in accept
        assert 'type="application/octet-stream"' in ctype
    assert len(np.unique(lossless[..., 0])) > 50
    assert np.array_equal(native, lossless)


def test_ohif_opens_and_scrolls_an_mr_series(tmp_path):
    """The 16-slice MR series of /work/shared/data: opened, rendered, scrolled."""
    files = data_files("mr/dcm4che_MR/*")
    assert len(files) == 16
    chromium = require_tool("chromium", "/usr/bin/chromium")
    sync_api = require_module("playwright.sync_api", "browser tests")
    mr = pydicom.dcmread(files[0], stop_before_pixels=True)
    failed: list[str] = []
    with serving(tmp_path / "mr", files) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
            page.on("requestfailed", lambda r: failed.append(f"{r.failure} {r.url}"))
            first = viewport_picture(page, url, patient=str(mr.PatientName), slices=16)
            overlay = page.get_by_text(re.compile(r"Img: \d+ \d+/16"))
            before = overlay.inner_text()
            box = page.locator(".viewport-element canvas").first.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            deadline = time.monotonic() + 20
            while overlay.inner_text() == before and time.monotonic() < deadline:
                page.mouse.wheel(0, 200)
                page.wait_for_timeout(300)
            assert overlay.inner_text() != before
            canvas = page.locator(".viewport-element canvas").first
            stats = wait_rendered(page, canvas)
            page.wait_for_timeout(500)
            page.screenshot(path=str(shot(tmp_path, "ohif-mr-scrolled.png")))
        finally:
            browser.close()
    assert len(np.unique(first[..., 0])) > 50
    assert stats["levels"] > 50
    assert failed == []
