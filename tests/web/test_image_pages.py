"""The image pages of ``srkit serve``: loadables with their warnings, slice previews
with SEG and SR regions drawn over them (srkit.web.image_pages)."""

from __future__ import annotations

import io
import re
import warnings
from html import unescape

import numpy as np
import pydicom
import pytest
from PIL import Image

from srkit.db import Database
from srkit.load.preview import frame_image, render_frame, slice_order
from srkit.web.app import create_app
from tests.conftest import data_files, data_path
from tests.load.fixtures import axial_positions, make_series
from tests.peers import CHROMIUM_ARGS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette prefers httpx2 (not installed)
    from fastapi.testclient import TestClient

CT3 = "ct/dcmqi_ct-3slice"
LIVER = "seg/dcmqi_liver_seg.dcm"
OVERLAPS = "seg/dcmqi_partial_overlaps_seg.dcm"
CT_SMALL = "ct/pydicom_CT_small.dcm"
SR = "sr-tid1500/highdicom_sr_document_with_multiple_groups.dcm"
MR = "mr/dcm4che_MR"
EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    irregular = make_series(root / "irregular", "irregular", axial_positions([0, 2, 4, 7, 9, 11]))
    missing = make_series(root / "missing", "missing", axial_positions([0, 2, 4, 8, 10, 12]))

    def evil(_: int, ds: pydicom.Dataset) -> None:
        ds.SeriesDescription = EVIL

    escaped = make_series(root / "evil", "evil", axial_positions([0, 2, 4]), edit=evil)
    db = Database(root / "db.sqlite", storage=root / "storage")
    files = [
        *data_files(f"{CT3}/*.dcm"),
        *data_files(f"{MR}/*.dcm"),
        data_path(LIVER),
        data_path(OVERLAPS),
        data_path(CT_SMALL),
        data_path(SR),
        *irregular,
        *missing,
        *escaped,
    ]
    for path in files:
        db.store_dataset(pydicom.dcmread(path))
    series = {
        "irregular": str(pydicom.dcmread(irregular[0]).SeriesInstanceUID),
        "missing": str(pydicom.dcmread(missing[0]).SeriesInstanceUID),
        "evil": str(pydicom.dcmread(escaped[0]).SeriesInstanceUID),
    }
    yield TestClient(create_app(db)), db, series
    db.close()


def _png(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)))


def _thumbnails(html: str) -> list[str]:
    return [unescape(src) for src in re.findall(r'<img class="preview" src="([^"]+)"', html)]


def test_loadables_page_shows_the_warning_codes(archive):
    http, _, series = archive
    page = http.get(f"/series/{series['irregular']}/loadables")
    assert page.status_code == 200
    assert 'data-plugin="scalar"' in page.text
    assert 'data-code="uniform_slice_spacing"' in page.text
    assert "slice_interval_mm=0.2, slice_interval_relative=0.05" in page.text
    assert "max_interval_mm=3" in page.text
    assert '<td class="selected">yes</td>' in page.text
    assert "all 6 images of the series" in page.text
    (src,) = _thumbnails(page.text)
    assert _png(http.get(src)).shape == (32, 32)
    page = http.get(f"/series/{series['missing']}/loadables")
    assert 'data-code="missing_slices"' in page.text


def test_loadables_page_is_escaped(archive):
    http, _, series = archive
    page = http.get(f"/series/{series['evil']}/loadables")
    assert page.status_code == 200
    assert EVIL not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_thumbnail_is_the_middle_slice(archive):
    http, db, _ = archive
    mr = pydicom.dcmread(data_files(f"{MR}/*.dcm")[0])
    page = http.get(f"/series/{mr.SeriesInstanceUID}/loadables")
    (src,) = _thumbnails(page.text)
    ordered = slice_order([str(p) for p in db.instance_paths("SERIES", str(mr.SeriesInstanceUID))])
    middle = pydicom.dcmread(ordered[len(ordered) // 2])
    assert src == f"/preview/{middle.SOPInstanceUID}.png?size=160"
    assert _png(http.get(src)).shape == (160, 160)
    # the series preview: the middle slice by default, slice K in volume order
    whole = _png(http.get(f"/series/{mr.SeriesInstanceUID}/preview.png"))
    assert (whole == np.asarray(frame_image(middle))).all()
    first = pydicom.dcmread(ordered[0])
    got = _png(http.get(f"/series/{mr.SeriesInstanceUID}/preview.png", params={"slice": 0}))
    assert (got == np.asarray(frame_image(first))).all()
    got = _png(
        http.get(f"/series/{mr.SeriesInstanceUID}/preview.png", params={"slice": 15, "size": 64})
    )
    assert got.shape == (64, 64)
    response = http.get(f"/series/{mr.SeriesInstanceUID}/preview.png", params={"slice": 16})
    assert response.status_code == 422
    assert "slice 16 out of range (0..15)" in response.text


def test_seg_series_previews_the_segments_on_the_image(archive):
    import highdicom as hd

    http, _, _ = archive
    seg_ds = pydicom.dcmread(data_path(LIVER))
    page = http.get(f"/series/{seg_ds.SeriesInstanceUID}/loadables")
    assert 'data-plugin="seg"' in page.text
    assert "referenced_series_absent" not in page.text  # examined with its CT series
    (src,) = _thumbnails(page.text)
    assert f"seg={seg_ds.SOPInstanceUID}" in src
    seg = hd.seg.Segmentation.from_dataset(seg_ds)
    for path in data_files(f"{CT3}/*.dcm"):
        ct = pydicom.dcmread(path)
        base = _png(http.get(f"/preview/{ct.SOPInstanceUID}.png"))
        got = _png(
            http.get(f"/preview/{ct.SOPInstanceUID}.png", params={"seg": seg_ds.SOPInstanceUID})
        )
        mask = seg.get_pixels_by_source_instance(
            source_sop_instance_uids=[str(ct.SOPInstanceUID)],
            segment_numbers=[1],
            ignore_spatial_locations=True,
        )[0, :, :, 0].astype(bool)
        assert ((got != base[..., None]).any(axis=-1) == mask).all()
        assert mask.sum() > 1000


def test_one_segment(archive):
    import highdicom as hd

    http, _, _ = archive
    seg_ds = pydicom.dcmread(data_path(OVERLAPS))
    seg = hd.seg.Segmentation.from_dataset(seg_ds)
    ct = pydicom.dcmread(data_files(f"{CT3}/*.dcm")[1])
    url = f"/preview/{ct.SOPInstanceUID}.png"
    base = _png(http.get(url))
    drawn = 0
    for number in range(1, 6):
        got = _png(http.get(url, params={"seg": seg_ds.SOPInstanceUID, "segment": number}))
        mask = seg.get_pixels_by_source_instance(
            source_sop_instance_uids=[str(ct.SOPInstanceUID)],
            segment_numbers=[number],
            ignore_spatial_locations=True,
            assert_missing_frames_are_empty=True,
        )[0, :, :, 0].astype(bool)
        assert ((got != base[..., None]).any(axis=-1) == mask).all()
        drawn += bool(mask.any())
    assert drawn >= 2
    response = http.get(url, params={"seg": seg_ds.SOPInstanceUID, "segment": 6})
    assert response.status_code == 404


def test_sr_regions_drawn_on_the_referenced_image(archive):
    http, _, _ = archive
    sr = pydicom.dcmread(data_path(SR))
    ct = pydicom.dcmread(data_path(CT_SMALL))
    page = http.get(f"/series/{sr.SeriesInstanceUID}/loadables")
    assert 'data-plugin="tid1500"' in page.text
    (src,) = _thumbnails(page.text)
    assert src.startswith(f"/preview/{ct.SOPInstanceUID}.png?")
    assert f"sr={sr.SOPInstanceUID}" in src
    got = _png(http.get(f"/preview/{ct.SOPInstanceUID}.png", params={"sr": sr.SOPInstanceUID}))
    assert (got == np.asarray(Image.open(io.BytesIO(render_frame(ct, sr=sr))))).all()
    yellow = (got == (255, 255, 0)).all(axis=-1)
    # the POLYLINE (25,45) (45,45) (45,65) (25,65): its top edge runs along row 44/45,
    # its left end at column 24/25, and nothing is drawn left of it
    assert yellow[44:46, 26:44].any(axis=0).all()
    assert yellow[46:64, 44:46].any(axis=1).all()
    assert not yellow[:, :23].any()
    assert not yellow[:43].any()


def test_window_query(archive):
    http, _, _ = archive
    ct = pydicom.dcmread(data_files(f"{CT3}/*.dcm")[0])
    url = f"/preview/{ct.SOPInstanceUID}.png"
    bone = _png(http.get(url, params={"window": "300,1500"}))
    assert (bone == _png(http.get(url, params={"window": "300,1500,LINEAR"}))).all()
    assert (bone == np.asarray(frame_image(ct, window=(300, 1500)))).all()
    assert (bone != _png(http.get(url))).any()  # the file's 40/400


def test_errors(archive):
    http, _, series = archive
    ct = pydicom.dcmread(data_files(f"{CT3}/*.dcm")[0])
    url = f"/preview/{ct.SOPInstanceUID}.png"
    cases = [
        ("/preview/1.2.*.png", {}, 400, "not a UID"),
        ("/preview/1.2.3.4.png", {}, 404, "no such instance"),
        (url, {"frame": 2}, 422, "frame 2 out of range (1..1)"),
        (url, {"frame": 0}, 422, "greater than or equal to 1"),
        (url, {"size": 0}, 422, "greater than or equal to 1"),
        (url, {"seg": "1.2.*"}, 400, "not a UID"),
        (url, {"seg": "1.2.3.4"}, 404, "no such instance"),
        (url, {"seg": str(ct.SOPInstanceUID)}, 422, "is not a SEG"),
        (url, {"sr": str(ct.SOPInstanceUID)}, 422, "is not an SR"),
        (url, {"segment": 1}, 400, "segment needs seg"),
        (url, {"window": "40"}, 422, "window must be center,width"),
        (url, {"window": "40,400,sigmoid"}, 422, "window must be center,width"),
        (url, {"window": "40,0"}, 422, "width must be a positive number"),
        ("/series/1.2.3.4/loadables", {}, 404, "no such series"),
        ("/series/1.2.*/loadables", {}, 400, "not a UID"),
        ("/series/1.2.3.4/preview.png", {}, 404, "no such series"),
        (f"/series/{series['irregular']}/preview.png", {"slice": -1}, 422, "greater than"),
    ]
    for path, params, status, text in cases:
        response = http.get(path, params=params)
        assert response.status_code == status, (path, params, response.text)
        assert text in response.text, (path, params, response.text)


def test_bearer_token_guards_the_images(tmp_path):
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    ct = pydicom.dcmread(data_path(CT_SMALL))
    db.store_dataset(ct)
    http = TestClient(create_app(db, token="s3cret"))
    url = f"/preview/{ct.SOPInstanceUID}.png"
    assert http.get(url).status_code == 401
    assert http.get(f"/series/{ct.SeriesInstanceUID}/loadables").status_code == 401
    got = _png(http.get(url, headers={"Authorization": "Bearer s3cret"}))
    assert got.shape == (128, 128)
    db.close()


def _serve(db: Database):
    import threading

    import uvicorn

    from tests.peers import free_port, wait_for_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(db), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.mark.peers
def test_loadables_page_in_chromium(archive, tmp_path):
    from tests.conftest import require_tool, skip_or_fail

    chromium = require_tool("chromium", "/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed (pip install playwright)")
    _, db, _ = archive
    seg = pydicom.dcmread(data_path(LIVER))
    server, thread, base = _serve(db)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=chromium,
                args=CHROMIUM_ARGS,
            )
            page = browser.new_page()
            page.goto(f"{base}/series/{seg.SeriesInstanceUID}/loadables")
            page.wait_for_load_state("networkidle")
            sizes = page.eval_on_selector_all(
                "img.preview", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])"
            )
            assert sizes == [[True, 160, 160]]
            assert page.locator("tr.loadable td.selected").first.inner_text() == "yes"
            shot = tmp_path / "loadables.png"
            page.screenshot(path=str(shot), full_page=True)
            browser.close()
        assert Image.open(shot).size[0] > 0
    finally:
        server.should_exit = True
        thread.join(10)
