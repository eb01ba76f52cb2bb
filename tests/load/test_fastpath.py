"""The fast load path (issue 14) against the reference path, on real and synthetic series.

The fast path parses headers with ``codec.fastparse.parse_header``, reads native pixel
data straight into the volume and writes NIfTI data from the array; the reference path
(``load(item, fast=False)``) reads every file with pydicom's ``dcmread`` and pixel
handlers and ``nibabel.save`` writes. Both must give the same elements, arrays, affines
and files.
"""

from __future__ import annotations

import gzip

import numpy as np
import pydicom
import pytest
from pydicom.uid import ImplicitVRLittleEndian

from srkit.codec.fastparse import FastParseError, parse_header
from srkit.errors import SrkitError
from srkit.load import LoadError, examine, load
from srkit.load import pixels as pixels_module
from srkit.load.headers import read_header
from tests.conftest import DATA, data_files, require_module
from tests.load.fixtures import axial_positions, make_series

REAL_SERIES = [
    "ct/dcmqi_ct-3slice/*.dcm",
    "ct/pydicom_CT2/*.dcm",
    "mr/dcm4che_MR/*.dcm",
    "ct/dcmqi_23x38x3/*.dcm",
    "ct/pydicom_CT_small.dcm",
]


def _plain(ds):
    """Every element of a dataset as (VR, value), sequences item by item."""
    out = {}
    for elem in ds:
        value = [_plain(item) for item in elem.value] if elem.VR == "SQ" else elem.value
        out[int(elem.tag)] = (elem.VR, value)
    return out


def _real_files():
    return [p for p in data_files("**/*.dcm") if p.is_file()]


# -- headers ----------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom's value checks, on both sides
def test_header_parser_gives_pydicoms_elements_on_every_real_file():
    files = _real_files()
    assert len(files) > 40
    parsed = declined = 0
    for path in files:
        reference = pydicom.dcmread(path, stop_before_pixels=True)
        try:
            result = parse_header(path.read_bytes(), str(path))
        except FastParseError:
            declined += 1
            continue
        assert result is not None
        ds, where = result
        parsed += 1
        assert _plain(ds) == _plain(reference), path
        assert _plain(ds.file_meta) == _plain(reference.file_meta), path
        assert ds.preamble == reference.preamble
        assert ds.original_encoding == reference.original_encoding
        assert ds.filename == str(path)
        full = pydicom.dcmread(path)
        if "PixelData" in full:
            assert where is not None, path
            assert where.tag == 0x7FE00010
            with open(path, "rb") as fh:
                fh.seek(where.offset)
                assert fh.read(where.length) == full.PixelData, path
        else:
            assert where is None, path
    # the deflated report is left to pydicom; every image, SEG and SR is parsed
    assert declined <= 3
    assert parsed == len(files) - declined
    deflated = DATA / "sr-other/dcm4che_report_dfl.dcm"
    with pytest.raises(FastParseError, match="transfer syntax"):
        parse_header(deflated.read_bytes(), str(deflated))


def test_header_parser_asks_for_more_bytes_until_pixel_data():
    (path,) = data_files("ct/pydicom_CT_small.dcm")
    data = path.read_bytes()
    _, where = parse_header(data, str(path))
    assert parse_header(data[:200], str(path), whole=False) is None
    assert parse_header(data[: where.offset - 20], str(path), whole=False) is None
    ds, again = parse_header(data[: where.offset], str(path), whole=False)
    assert again == where
    assert str(ds.PatientName) == "CompressedSamples^CT1"


def test_read_header_leaves_odd_files_to_pydicom(tmp_path):
    deflated = read_header(str(DATA / "sr-other/dcm4che_report_dfl.dcm"))
    assert deflated.pixels is None
    assert deflated.dataset.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1.99"
    text = tmp_path / "notes.dcm"
    text.write_bytes(b"not a DICOM file at all")
    with pytest.raises(pydicom.errors.InvalidDicomError):
        read_header(str(text))


# -- volumes ----------------------------------------------------------------------------


def _same_volume(fast, ref):
    assert fast.array.dtype == ref.array.dtype
    assert fast.array.shape == ref.array.shape
    assert np.array_equal(fast.array, ref.array)
    assert np.array_equal(fast.affine, ref.affine)
    assert fast.slice_uids == ref.slice_uids
    assert fast.rescale == ref.rescale
    assert fast.units == ref.units
    assert fast.windows == ref.windows
    assert fast.meta == ref.meta
    assert fast.warning_codes == ref.warning_codes
    if ref.displacement is None:
        assert fast.displacement is None
    else:
        assert np.array_equal(fast.displacement, ref.displacement)


def _count_pydicom_decodes(monkeypatch):
    calls = []
    original = pixels_module.read_pixels

    def counting(path):
        calls.append(path)
        return original(path)

    monkeypatch.setattr(pixels_module, "read_pixels", counting)
    return calls


@pytest.mark.parametrize("pattern", REAL_SERIES)
@pytest.mark.parametrize("policy", ["auto", "float32", "raw"])
def test_fast_path_equals_reference_on_real_series(pattern, policy, monkeypatch):
    files = data_files(pattern)
    assert files
    item = next(x for x in examine(files) if x.plugin == "scalar" and x.selected)
    decodes = _count_pydicom_decodes(monkeypatch)
    fast = load(item, dtype=policy)
    assert decodes == []  # every one of these series is native little endian
    ref = load(item, dtype=policy, fast=False)
    assert len(decodes) == len(item.files)
    _same_volume(fast, ref)


def _narrow_bits(signed):
    def edit(i, ds):
        raw = np.frombuffer(ds.PixelData, "<u2").copy()
        raw[i : i + 3] = [0xF000 + i, 0x0FFF, 0x8801]
        ds.PixelData = raw.tobytes()
        ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 12, 11, signed

    return edit


def _implicit(i, ds):
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian


def _trailing_element(i, ds):
    ds.add_new(0x7FE10010, "OB", b"after the pixels")  # private, after Pixel Data


def _fractional(i, ds):
    ds.RescaleSlope = [0.5, 1, 2, 0.25][i]
    ds.RescaleIntercept = -1000


def _unsigned_last(i, ds):
    # the last slice stored unsigned among signed ones (the fixture's datasets share
    # their elements, so an edit holds from its slice on)
    if i == 3:
        ds.PixelRepresentation = 0


SYNTHETIC = {
    "plain": ({}, "none"),
    "bits12_unsigned": ({"edit": _narrow_bits(0)}, "none"),
    "bits12_signed": ({"edit": _narrow_bits(1)}, "none"),
    "implicit_vr": ({"edit": _implicit}, "none"),
    "trailing_element": ({"edit": _trailing_element}, "none"),
    "fractional_rescale": ({"edit": _fractional}, "none"),
    "mixed_signedness": ({"edit": _unsigned_last}, "none"),
    "tilt_resampled": ({"tilt": 10.0}, "resample"),
    "odd_size_reported": ({"size": 31}, "report"),
}


@pytest.mark.parametrize("case", sorted(SYNTHETIC))
def test_fast_path_equals_reference_on_synthetic_series(tmp_path, case, monkeypatch):
    options, regularize = SYNTHETIC[case]
    tilt = options.get("tilt")
    positions = axial_positions([0, 2, 4, 6], tilt_degrees=tilt or 0.0)
    files = make_series(tmp_path, case, positions, **options)
    item = next(x for x in examine(files) if x.plugin == "scalar" and not x.reason)
    decodes = _count_pydicom_decodes(monkeypatch)
    fast = load(item, regularize=regularize)
    # only the unsigned slice is not in the volume's dtype: pydicom decodes it
    assert decodes == ([str(files[3])] if case == "mixed_signedness" else [])
    ref = load(item, regularize=regularize, fast=False)
    _same_volume(fast, ref)
    if case.startswith("bits12"):
        assert fast.array.dtype == np.int16  # rescaled by -1024
        assert not np.array_equal(fast.array, ref.array * 0)  # real values read


def test_fast_path_reads_irregular_files_through_pydicom(tmp_path, monkeypatch):
    files = make_series(tmp_path, "trunc", axial_positions([0, 2, 4]))
    # a truncated slice: both paths name the file
    data = files[1].read_bytes()
    files[1].write_bytes(data[:-100])
    (item,) = examine(files)
    for fast in (True, False):
        with pytest.raises(LoadError) as info:
            load(item, fast=fast)
        assert str(files[1]) in str(info.value)
    # a compressed slice among native ones goes through pydicom's handler, same values
    from pydicom.uid import RLELossless

    def rle_middle(i, ds):
        if i == 1:
            ds.compress(RLELossless)

    files = make_series(tmp_path / "rle", "rle", axial_positions([0, 2, 4]), edit=rle_middle)
    (item,) = examine(files)
    decodes = _count_pydicom_decodes(monkeypatch)
    fast = load(item)
    assert decodes == [str(files[1])]
    _same_volume(fast, load(item, fast=False))


# -- NIfTI ------------------------------------------------------------------------------


def _tilted_volume(tmp_path):
    positions = axial_positions([0, 2, 4, 6], tilt_degrees=12.0)
    files = make_series(tmp_path / "tilt", "tilt", positions, tilt=12.0, size=31)
    item = next(x for x in examine(files) if x.plugin == "scalar" and not x.reason)
    return load(item, regularize="report")


NIFTI_CASES = {
    "ct_auto": ("ct/dcmqi_ct-3slice/*.dcm", "auto"),
    "ct_float32": ("ct/dcmqi_ct-3slice/*.dcm", "float32"),
    "ct_float64": ("ct/pydicom_CT2/*.dcm", "float64"),
    "ct_raw": ("ct/pydicom_CT2/*.dcm", "raw"),
    "mr_auto": ("mr/dcm4che_MR/*.dcm", "auto"),
    "mr_raw": ("mr/dcm4che_MR/*.dcm", "raw"),
    "tilted": (None, "auto"),
}


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("case", sorted(NIFTI_CASES))
def test_direct_nifti_is_the_file_nibabel_writes(tmp_path, monkeypatch, suffix, case):
    require_module("nibabel")
    from srkit.load import nifti

    pattern, policy = NIFTI_CASES[case]
    if pattern is None:
        vol = _tilted_volume(tmp_path)
    else:
        vol = load(examine(data_files(pattern))[0], dtype=policy)
    import nibabel

    direct = vol.to_nifti(tmp_path / f"direct{suffix}")
    descrip = f"srkit {vol.regularization}".encode()
    saved = tmp_path / f"nibabel{suffix}"
    nibabel.save(nifti.nibabel_image(vol.array, nifti.ras_affine(vol), descrip), saved)
    monkeypatch.setattr(nifti, "_write_direct", lambda *a: False)
    fallback = vol.to_nifti(tmp_path / f"fallback{suffix}")  # srkit's nibabel path
    a, b, c = direct.read_bytes(), saved.read_bytes(), fallback.read_bytes()
    if suffix == ".nii.gz":
        a, b, c = gzip.decompress(a), gzip.decompress(b), gzip.decompress(c)
    assert len(a) == 352 + vol.array.nbytes
    assert a == b == c


@pytest.mark.parametrize("deflate", ["zlib", "isal"])
def test_gzip_blocks_on_threads_are_one_stream(tmp_path, monkeypatch, deflate):
    import zlib

    from srkit.load import niftiwrite

    if deflate == "isal":
        isal_zlib = require_module("isal.isal_zlib", "ISA-L deflate (the load extra)")
        monkeypatch.setattr(niftiwrite, "deflate_module", lambda: isal_zlib)
    else:
        monkeypatch.setattr(niftiwrite, "deflate_module", lambda: zlib)

    rng = np.random.default_rng(14)
    array = (rng.normal(0, 300, size=(9, 64, 64)) // 1).astype(np.int16)
    array[3:5] = 0  # runs across block boundaries
    head = b"h" * 352
    monkeypatch.setattr(niftiwrite, "GZIP_BLOCK", 10_000)
    for threads in (1, 2, 3):
        monkeypatch.setattr(niftiwrite, "_threads", lambda n=threads: n)
        path = tmp_path / f"t{threads}.nii.gz"
        niftiwrite.write_image(path, head, array)
        with gzip.open(path) as fh:  # the CRC and size are checked as it reads
            assert fh.read() == head + array.tobytes()
        assert path.read_bytes()[:3] == b"\x1f\x8b\x08"
        assert len(path.read_bytes()) < len(head) + array.nbytes


def test_empty_array_is_a_writable_array():
    from srkit.load.volume import empty_array

    big = empty_array((20, 512, 512), "int16")
    small = empty_array((2, 3), "float32")
    assert big.shape == (20, 512, 512)
    assert big.dtype == np.int16
    assert small.shape == (2, 3)
    assert small.dtype == np.float32
    big[...] = 7
    big[3, 4, 5] = -1
    assert int(big.sum()) == 7 * big.size - 8
    assert big.flags.writeable
    assert big.flags.c_contiguous


def test_a_failed_nifti_write_leaves_no_file(tmp_path, monkeypatch):
    from srkit.load import niftiwrite

    array = np.arange(4 * 8 * 8, dtype=np.int16).reshape(4, 8, 8)
    target = tmp_path / "vol.nii.gz"

    def broken(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(niftiwrite, "_deflate", broken)
    with pytest.raises(SrkitError, match="No space left"):
        niftiwrite.write_image(target, b"h" * 352, array)
    assert list(tmp_path.iterdir()) == []
