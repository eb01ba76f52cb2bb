"""WADO-RS frames and instances as viewers ask for them: 1-bit frames (SEG), the
media type and transfer syntax of each frame, and Accept negotiation (PS3.18
Sections 8.7.3 to 8.7.5), with Orthanc's answers to the same requests as reference."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest

from srkit.net.dicomweb import multipart
from srkit.net.dicomweb.negotiate import choose, parse_accept
from srkit.net.dicomweb.transcode import can_transcode
from tests.conftest import data_path
from tests.net.dicomweb.conftest import SEG_ALIGNED, SEG_UNALIGNED, orthanc_get

pytestmark = pytest.mark.peers  # the reference files are compressed by DCMTK

JPEG_LL = "1.2.840.10008.1.2.4.70"
JLS = "1.2.840.10008.1.2.4.80"
RLE = "1.2.840.10008.1.2.5"
ELE = "1.2.840.10008.1.2.1"
OCTETS_ANY = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
OCTETS = 'multipart/related; type="application/octet-stream"'


def frames_url(ds, frames="1"):
    return (
        f"/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}/frames/{frames}"
    )


def instance_url(ds):
    return (
        f"/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}"
    )


def parts(content_type, body):
    _media, params = multipart.content_type_params(content_type)
    return multipart.parse(body, params["boundary"])


def get(http, url, accept=None):
    headers = {"Accept": accept} if accept else {}
    rsp = http.get("/dicomweb" + url, headers=headers)
    return rsp.status_code, rsp.headers.get("content-type", ""), rsp.content


@pytest.fixture(scope="module")
def compressed(reference_files):
    """The DCMTK-compressed copies of the 3-slice CT: {transfer syntax: dataset}."""
    out = {}
    for path in reference_files:
        ds = pydicom.dcmread(path)
        if ds.file_meta.TransferSyntaxUID.is_compressed:
            out[str(ds.file_meta.TransferSyntaxUID)] = ds
    assert set(out) == {JPEG_LL, JLS}
    return out


# -- 1-bit frames -------------------------------------------------------------------


@pytest.mark.parametrize("name", [SEG_UNALIGNED, SEG_ALIGNED])
def test_one_bit_frames(srkit_http, name):
    ds = pydicom.dcmread(data_path(name))
    pixels = ds.pixel_array
    count = int(ds.NumberOfFrames)
    bits = int(ds.Rows) * int(ds.Columns)
    for n in range(1, count + 1):
        status, ctype, body = get(srkit_http, frames_url(ds, str(n)))
        assert status == 200, (name, n)
        (part,) = parts(ctype, body)
        assert part.headers["content-type"] == f"application/octet-stream; transfer-syntax={ELE}"
        assert len(part.content) == (bits + 7) // 8
        got = np.unpackbits(np.frombuffer(part.content, np.uint8), bitorder="little")[:bits]
        assert np.array_equal(got.reshape(pixels.shape[1:]), pixels[n - 1]), (name, n)
    # several frames in one request, in the order asked
    status, ctype, body = get(srkit_http, frames_url(ds, f"{count},1"))
    assert status == 200
    got = [p.content for p in parts(ctype, body)]
    assert got == [get_one(srkit_http, ds, count), get_one(srkit_http, ds, 1)]


def get_one(http, ds, n):
    _status, ctype, body = get(http, frames_url(ds, str(n)))
    return parts(ctype, body)[0].content


def test_one_bit_frames_as_orthanc(srkit_http, orthanc_ref):
    """Orthanc serves 1-bit frames that start on a byte (it answers 400 on the others)."""
    ds = pydicom.dcmread(data_path(SEG_ALIGNED))
    for n in range(1, int(ds.NumberOfFrames) + 1):
        status, headers, body = orthanc_get(orthanc_ref, frames_url(ds, str(n)), {"Accept": OCTETS})
        assert status == 200
        theirs = parts(headers["Content-Type"], body)[0].content
        assert get_one(srkit_http, ds, n) == theirs


# -- media types of frames ----------------------------------------------------------


def test_frame_media_types(srkit_http, compressed):
    for ts, media in ((JPEG_LL, "image/jpeg"), (JLS, "image/jls")):
        ds = compressed[ts]
        status, ctype, body = get(srkit_http, frames_url(ds), OCTETS_ANY)
        assert status == 200
        (part,) = parts(ctype, body)
        # the real media type with the transfer syntax: no baseline decoder for .70
        assert part.headers["content-type"] == f"{media}; transfer-syntax={ts}"
        assert f'type="{media}"' in ctype
        stored = next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1))
        assert part.content == stored
    native = pydicom.dcmread(data_path("ct/dcmqi_ct-3slice/01.dcm"))
    status, ctype, body = get(srkit_http, frames_url(native), OCTETS_ANY)
    assert (
        parts(ctype, body)[0].headers["content-type"]
        == f"application/octet-stream; transfer-syntax={ELE}"
    )
    assert parts(ctype, body)[0].content == native.PixelData


def test_frame_media_types_as_orthanc(srkit_http, orthanc_ref, compressed):
    for ts in (JPEG_LL, JLS):
        ds = compressed[ts]
        accept = f'multipart/related; type="{"image/jpeg" if ts == JPEG_LL else "image/jls"}"'
        accept += f"; transfer-syntax={ts}"
        status, headers, body = orthanc_get(orthanc_ref, frames_url(ds), {"Accept": accept})
        assert status == 200
        theirs = parts(headers["Content-Type"], body)[0]
        s_status, ctype, s_body = get(srkit_http, frames_url(ds), accept)
        assert s_status == 200
        ours = parts(ctype, s_body)[0]
        assert ours.content == theirs.content
        media, params = multipart.content_type_params(ours.headers["content-type"])
        t_media, t_params = multipart.content_type_params(theirs.headers["content-type"])
        assert (media, params["transfer-syntax"]) == (t_media, t_params["transfer-syntax"])


# -- Accept negotiation -------------------------------------------------------------


def test_frames_decompressed_when_asked(srkit_http, orthanc_ref, compressed):
    """Native frames asked of a JPEG Lossless image: decompressed, the bytes Orthanc
    gives for the same request."""
    ds = compressed[JPEG_LL]
    expected = ds.pixel_array.astype("<i2" if ds.PixelRepresentation else "<u2").tobytes()
    for accept in (OCTETS, f"{OCTETS}; transfer-syntax={ELE}"):
        status, ctype, body = get(srkit_http, frames_url(ds), accept)
        assert status == 200, accept
        (part,) = parts(ctype, body)
        assert part.headers["content-type"] == f"application/octet-stream; transfer-syntax={ELE}"
        assert part.content == expected
    status, headers, body = orthanc_get(orthanc_ref, frames_url(ds), {"Accept": OCTETS})
    assert status == 200
    assert parts(headers["Content-Type"], body)[0].content == expected


def test_frames_compressed_when_an_encoder_exists(srkit_http):
    native = pydicom.dcmread(data_path("ct/dcmqi_ct-3slice/01.dcm"))
    for ts, media in ((RLE, "image/dicom-rle"), (JLS, "image/jls")):
        accept = f'multipart/related; type="{media}"; transfer-syntax={ts}'
        status, ctype, body = get(srkit_http, frames_url(native), accept)
        assert status == 200, ts
        (part,) = parts(ctype, body)
        assert part.headers["content-type"] == f"{media}; transfer-syntax={ts}"
        # lossless: decoding it gives the stored pixels back
        copy = pydicom.dcmread(data_path("ct/dcmqi_ct-3slice/01.dcm"))
        copy.PixelData = pydicom.encaps.encapsulate([part.content])
        copy.file_meta.TransferSyntaxUID = ts
        assert np.array_equal(copy.pixel_array, native.pixel_array)


def test_not_acceptable(srkit_http, compressed):
    native = pydicom.dcmread(data_path("ct/dcmqi_ct-3slice/01.dcm"))
    baseline = 'multipart/related; type="image/jpeg"; transfer-syntax=1.2.840.10008.1.2.4.50'
    # pydicom has no JPEG baseline encoder: 406, not the stored bytes
    assert get(srkit_http, frames_url(native), baseline)[0] == 406
    assert get(srkit_http, frames_url(native), f"{OCTETS}; q=0")[0] == 406
    assert get(srkit_http, frames_url(native), "text/html")[0] == 406
    assert get(srkit_http, instance_url(native), "text/html")[0] == 406
    jpeg = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50'
    assert get(srkit_http, instance_url(compressed[JLS]), jpeg)[0] == 406
    # q-values: the best that can be made wins
    status, ctype, body = get(srkit_http, frames_url(native), f"{baseline}; q=0.9, {OCTETS}; q=0.5")
    assert status == 200
    assert parts(ctype, body)[0].content == native.PixelData


def test_instance_transcoded(srkit_http, orthanc_ref, compressed):
    ds = compressed[JPEG_LL]
    accept = f'multipart/related; type="application/dicom"; transfer-syntax={ELE}'
    status, ctype, body = get(srkit_http, instance_url(ds), accept)
    assert status == 200
    (part,) = parts(ctype, body)
    ours = pydicom.dcmread(io.BytesIO(part.content))
    assert ours.file_meta.TransferSyntaxUID == ELE
    assert np.array_equal(ours.pixel_array, ds.pixel_array)
    status, headers, body = orthanc_get(orthanc_ref, instance_url(ds), {"Accept": accept})
    assert status == 200
    theirs = pydicom.dcmread(io.BytesIO(parts(headers["Content-Type"], body)[0].content))
    assert theirs.file_meta.TransferSyntaxUID == ELE
    assert ours.PixelData == theirs.PixelData
    # no transfer-syntax: Explicit VR Little Endian (PS3.18 Table 8.7.3-5), as Orthanc
    accept = 'multipart/related; type="application/dicom"'
    status, ctype, body = get(srkit_http, instance_url(ds), accept)
    assert pydicom.dcmread(io.BytesIO(parts(ctype, body)[0].content)).PixelData == ours.PixelData
    # stored bytes for transfer-syntax=* (as Orthanc) and for */* or no Accept
    for accept in ('multipart/related; type="application/dicom"; transfer-syntax=*', None):
        status, ctype, body = get(srkit_http, instance_url(ds), accept)
        assert status == 200
        got = pydicom.dcmread(io.BytesIO(parts(ctype, body)[0].content))
        assert got.file_meta.TransferSyntaxUID == JPEG_LL
        assert got.PixelData == ds.PixelData
        if accept is None:
            continue  # Orthanc 1.10 answers */* in Explicit VR Little Endian
        status, headers, body = orthanc_get(orthanc_ref, instance_url(ds), {"Accept": accept})
        assert status == 200
        theirs = pydicom.dcmread(io.BytesIO(parts(headers["Content-Type"], body)[0].content))
        assert theirs.file_meta.TransferSyntaxUID == JPEG_LL, accept


def test_compressed_media_without_transfer_syntax(srkit_http, compressed):
    for ts, media in ((JPEG_LL, "image/jpeg"), (JLS, "image/jls")):
        ds = compressed[ts]
        status, ctype, body = get(srkit_http, frames_url(ds), f'multipart/related; type="{media}"')
        assert status == 200
        (part,) = parts(ctype, body)
        assert part.headers["content-type"] == f"{media}; transfer-syntax={ts}"


def test_choose_rules():
    assert [i.q for i in parse_accept("a/b; q=0.2, c/d, e/f; q=0")] == [1.0, 0.2]
    assert choose(None, JPEG_LL, bare="application/octet-stream", can_make=can_transcode) == (
        "image/jpeg",
        JPEG_LL,
    )
    assert choose(
        'multipart/related; type="image/jpeg"', ELE, bare="application/octet-stream",
        can_make=lambda a, b: False,
    ) is None  # fmt: skip
