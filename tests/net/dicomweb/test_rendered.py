"""``/rendered`` and ``/thumbnail`` (PS3.18 Sections 10.4.1.1.3 and 10.8) and WADO-URI
(PS3.18 Chapter 9) on real images, against srkit's renderer and Orthanc's answers."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from PIL import Image

from srkit.load.preview import render_frame
from tests.conftest import data_files, data_path
from tests.net.dicomweb.conftest import SEG_UNALIGNED, orthanc_get

pytestmark = pytest.mark.peers  # the reference files are compressed by DCMTK

CT = "ct/dcmqi_ct-3slice/*.dcm"


def inst(ds):
    return (
        f"/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}"
    )


def picture(body):
    return np.asarray(Image.open(io.BytesIO(body)))


def get(http, url, accept=None):
    rsp = http.get(url, headers={"Accept": accept} if accept else {})
    return rsp


@pytest.fixture(scope="module")
def ct():
    return [pydicom.dcmread(p) for p in data_files(CT)]


def test_instance_rendered(srkit_http, ct):
    ds = ct[0]
    rsp = get(srkit_http, f"/dicomweb{inst(ds)}/rendered")
    assert rsp.status_code == 200
    assert rsp.headers["content-type"] == "image/jpeg"  # the default
    assert Image.open(io.BytesIO(rsp.content)).size == (512, 512)
    png = get(srkit_http, f"/dicomweb{inst(ds)}/rendered", "image/png")
    assert png.headers["content-type"] == "image/png"
    assert np.array_equal(picture(png.content), picture(render_frame(ds, fmt="png")))
    # the same frame at frame level; multipart/related; type=image/png picks PNG too
    frame = get(srkit_http, f"/dicomweb{inst(ds)}/frames/1/rendered", "image/png")
    assert frame.content == png.content
    many = get(srkit_http, f"/dicomweb{inst(ds)}/rendered", 'multipart/related; type="image/png"')
    assert many.headers["content-type"] == "image/png"
    # ?accept= wins over the header (PS3.18 Section 8.3.3.1)
    assert get(srkit_http, f"/dicomweb{inst(ds)}/rendered?accept=image/png").content == png.content


def test_rendering_parameters(srkit_http, ct):
    ds = ct[1]
    url = f"/dicomweb{inst(ds)}/rendered"
    full = picture(get(srkit_http, url, "image/png").content)
    # window: center, width, function
    win = picture(get(srkit_http, url + "?window=40,400,linear", "image/png").content)
    assert np.array_equal(win, picture(render_frame(ds, window=(40, 400), fmt="png")))
    assert not np.array_equal(
        win, picture(get(srkit_http, url + "?window=300,1500,linear", "image/png").content)
    )
    # viewport: fit, aspect kept; a source region cropped first
    assert Image.open(io.BytesIO(get(srkit_http, url + "?viewport=100,50").content)).size == (
        50,
        50,
    )
    quarter = picture(get(srkit_http, url + "?viewport=256,256,0,0,256,256", "image/png").content)
    assert np.array_equal(quarter, full[:256, :256])
    flipped = picture(
        get(srkit_http, url + "?viewport=512,512,512,0,-512,512", "image/png").content
    )
    assert np.array_equal(flipped, full[:, ::-1])
    # quality: a smaller JPEG at a lower quality
    small = get(srkit_http, url + "?quality=10").content
    large = get(srkit_http, url + "?quality=95").content
    assert len(small) < len(large) / 2
    for bad in ("window=40,0,linear", "window=40,400,sigmoid", "window=a,b,linear",
                "viewport=0,10", "viewport=1,2,3", "quality=0", "quality=101"):  # fmt: skip
        rsp = get(srkit_http, f"{url}?{bad}")
        assert rsp.status_code == 400, bad
        assert rsp.json()["parameter"] == bad.split("=")[0]
    assert get(srkit_http, url, "image/gif").status_code == 406
    assert get(srkit_http, f"/dicomweb{inst(ds)}/frames/2/rendered").status_code == 400


def test_hostile_rendering_parameters(srkit_http, ct):
    """A viewport far larger than the image enlarges it to MAX_ENLARGED at most (the
    security review's 8192 x 8192 PNG of an 8 x 8 image); numbers too long for int()
    and source regions that overflow are 400, never 500."""
    from srkit.net.dicomweb.rendered import MAX_ENLARGED

    ds = ct[0]
    url = f"/dicomweb{inst(ds)}/rendered"
    big = get(srkit_http, url + "?viewport=8192,8192", "image/png")
    assert big.status_code == 200
    assert Image.open(io.BytesIO(big.content)).size == (MAX_ENLARGED, MAX_ENLARGED)
    crop = get(srkit_http, url + "?viewport=8192,8192,0,0,1,1", "image/png")
    assert Image.open(io.BytesIO(crop.content)).size == (MAX_ENLARGED, MAX_ENLARGED)
    nines = "9" * 5000
    for bad in (f"quality={nines}", "viewport=1,1,1e308,0,1e308,1", f"viewport={nines},1"):
        assert get(srkit_http, f"{url}?{bad}").status_code == 400, bad
    wado = (
        f"/wado?requestType=WADO&studyUID={ds.StudyInstanceUID}&seriesUID="
        f"{ds.SeriesInstanceUID}&objectUID={ds.SOPInstanceUID}&contentType=image/png"
    )
    assert srkit_http.get(wado + f"&frameNumber={nines}").status_code == 400
    assert srkit_http.get(wado + f"&rows={nines}").status_code == 400


def test_series_and_study_rendered(srkit_http):
    ct2 = [pydicom.dcmread(p) for p in data_files("ct/pydicom_CT2/*.dcm")]
    by_number = sorted(ct2, key=lambda d: int(d.InstanceNumber))
    middle = by_number[1]  # the middle of 4: the second
    series = f"/dicomweb/studies/{middle.StudyInstanceUID}/series/{middle.SeriesInstanceUID}"
    assert (
        get(srkit_http, series + "/rendered", "image/png").content
        == get(srkit_http, f"/dicomweb{inst(middle)}/rendered", "image/png").content
    )
    # a study of a CT series and a SEG on it: rendered by the CT
    seg = pydicom.dcmread(data_path(SEG_UNALIGNED))
    image = pydicom.dcmread(data_files("ct/dcmqi_23x38x3/*.dcm")[1])
    got = get(srkit_http, f"/dicomweb/studies/{seg.StudyInstanceUID}/rendered", "image/png")
    assert got.status_code == 200
    assert np.array_equal(picture(got.content), picture(render_frame(image, fmt="png")))


def test_one_bit_frame_rendered(srkit_http):
    seg = pydicom.dcmread(data_path(SEG_UNALIGNED))
    rsp = get(srkit_http, f"/dicomweb{inst(seg)}/frames/2/rendered", "image/png")
    assert rsp.status_code == 200
    got = picture(rsp.content)
    assert set(np.unique(got)) <= {0, 255}
    assert np.array_equal(got > 0, seg.pixel_array[1] > 0)


def test_not_renderable(srkit_http):
    sr = pydicom.dcmread(data_path("sr-tid1500/highdicom_sr_document.dcm"))
    assert get(srkit_http, f"/dicomweb{inst(sr)}/rendered").status_code == 404
    assert get(srkit_http, "/dicomweb/studies/1.2.3/rendered").status_code == 404


def test_thumbnails(srkit_http, ct):
    ds = ct[0]
    series = f"/dicomweb/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
    for url in (series + "/thumbnail", f"/dicomweb/studies/{ds.StudyInstanceUID}/thumbnail",
                f"/dicomweb{inst(ds)}/thumbnail", f"/dicomweb{inst(ds)}/frames/1/thumbnail"):  # fmt: skip
        rsp = get(srkit_http, url)
        assert rsp.status_code == 200, url
        assert rsp.headers["content-type"] == "image/jpeg"
        assert max(Image.open(io.BytesIO(rsp.content)).size) == 128, url
    rsp = get(srkit_http, series + "/thumbnail?viewport=64,64", "image/png")
    assert Image.open(io.BytesIO(rsp.content)).size == (64, 64)
    # the middle frame of a multi-frame instance
    seg = pydicom.dcmread(data_path(SEG_UNALIGNED))
    thumb = get(srkit_http, f"/dicomweb{inst(seg)}/thumbnail?viewport=23,38", "image/png")
    frame = get(srkit_http, f"/dicomweb{inst(seg)}/frames/2/rendered", "image/png")
    assert thumb.content == frame.content


def srkit_files(http):
    db = http.app.state.db
    return [db.instance_path(r["SOPInstanceUID"]) for r in db.query("IMAGE", {"Modality": "CT"})]


def wado_uri(ds, content, **extra):
    query = {
        "requestType": "WADO",
        "studyUID": ds.StudyInstanceUID,
        "seriesUID": ds.SeriesInstanceUID,
        "objectUID": ds.SOPInstanceUID,
        "contentType": content,
        **extra,
    }
    return "/wado?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_wado_uri(srkit_http, ct):
    ds = ct[2]
    path = next(p for p in data_files(CT) if pydicom.dcmread(p).SOPInstanceUID == ds.SOPInstanceUID)
    for root in ("", "/dicomweb"):
        rsp = srkit_http.get(root + wado_uri(ds, "application/dicom"))
        assert rsp.status_code == 200
        assert rsp.headers["content-type"] == "application/dicom"
        assert rsp.content == path.read_bytes()
    png = srkit_http.get(wado_uri(ds, "image/png"))
    assert png.headers["content-type"] == "image/png"
    assert png.content == get(srkit_http, f"/dicomweb{inst(ds)}/rendered", "image/png").content
    jpeg = srkit_http.get(wado_uri(ds, "image/jpeg", rows=64))
    assert jpeg.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(jpeg.content)).size == (64, 64)
    win = srkit_http.get(wado_uri(ds, "image/png", windowCenter=40, windowWidth=400))
    assert np.array_equal(
        picture(win.content), picture(render_frame(ds, window=(40, 400), fmt="png"))
    )
    ele = srkit_http.get(wado_uri(ds, "application/dicom", transferSyntax="1.2.840.10008.1.2.1"))
    copy = pydicom.dcmread(io.BytesIO(ele.content))
    assert copy.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert np.array_equal(copy.pixel_array, ds.pixel_array)
    assert (
        srkit_http.get(
            wado_uri(ds, "image/png").replace("requestType=WADO", "requestType=X")
        ).status_code
        == 400
    )
    assert (
        srkit_http.get(wado_uri(ds, "image/png").replace("&objectUID=", "&x=")).status_code == 400
    )
    assert srkit_http.get(wado_uri(ds, "text/html")).status_code == 400
    assert srkit_http.get(wado_uri(ds, "image/png", frameNumber=2)).status_code == 400


def test_rendered_as_orthanc(srkit_http, orthanc_ref, ct):
    """The same pixels as Orthanc's for the same window; WADO-URI gives the same file.
    (Without ``window`` srkit applies the file's window, where Orthanc 1.10 stretches
    the frame's minimum to maximum.)"""
    ds = ct[0]
    for window in ("40,400,linear", "300,1500,linear"):
        url = f"{inst(ds)}/rendered?window={window}"
        status, headers, body = orthanc_get(orthanc_ref, url, {"Accept": "image/png"})
        assert status == 200
        assert headers["Content-Type"] == "image/png"
        theirs = picture(body)
        ours = picture(get(srkit_http, f"/dicomweb{url}", "image/png").content)
        assert np.array_equal(ours, theirs), window
    # and a JPEG Lossless frame, decoded by both
    jpeg = next(
        d
        for d in [pydicom.dcmread(p) for p in srkit_files(srkit_http)]
        if d.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.70"
    )
    url = f"{inst(jpeg)}/rendered?window=40,400,linear"
    status, _headers, body = orthanc_get(orthanc_ref, url, {"Accept": "image/png"})
    assert status == 200
    assert np.array_equal(
        picture(get(srkit_http, f"/dicomweb{url}", "image/png").content), picture(body)
    )
    import urllib.request

    with urllib.request.urlopen(
        orthanc_ref.url + wado_uri(ds, "application/dicom"), timeout=30
    ) as rsp:
        assert srkit_http.get(wado_uri(ds, "application/dicom")).content == rsp.read()
