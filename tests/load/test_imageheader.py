"""The image header read without pydicom (codec/imageheader.py) gives pydicom's values.

Every real file the reader takes is read both ways, every attribute of
``IMAGE_ATTRIBUTES`` compared (value, text, kind, presence); edited files check that
what the reader leaves to pydicom (non-ASCII text, malformed numbers, an unexpected VR,
other attributes) comes from pydicom's dataset of the same bytes.
"""

from __future__ import annotations

import warnings

import pydicom
import pytest
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.multival import MultiValue

from srkit.codec.imageheader import (
    IMAGE_ATTRIBUTES,
    DecimalString,
    IntegerString,
    read_image_header,
)
from tests.conftest import DATA, data_files
from tests.load.fixtures import axial_positions, make_series


def _kind(value):
    """A value as kind and text, the way the load layer reads it."""
    if value is None:
        return ("none",)
    if isinstance(value, (list, MultiValue)):
        return ("list", [_kind(v) for v in value])
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ("other", repr(value))
    return ("int" if isinstance(value, int) else "float", float(value), str(value))


def _same_as_pydicom(header, reference, path):
    for name in IMAGE_ATTRIBUTES:
        assert (name in header) == (name in reference), (path, name)
        if name == "MRDiffusionSequence":
            continue
        mine, theirs = header.get(name), reference.get(name)
        assert _kind(mine) == _kind(theirs), (path, name)
        assert mine == theirs, (path, name)
        assert (getattr(header, name, "absent") == "absent") == (
            getattr(reference, name, "absent") == "absent"
        )


def test_attribute_table_is_the_data_dictionary():
    for name, (tag, vr) in IMAGE_ATTRIBUTES.items():
        assert tag_for_keyword(name) == tag, name
        assert dictionary_VR(tag) == vr, name


def test_every_real_file_gives_pydicoms_values():
    files = [p for p in data_files("**/*.dcm") if p.is_file()]
    assert len(files) > 40
    read = decoded = 0
    for path in files:
        parsed = read_image_header(str(path))
        if parsed is None:
            continue
        header, where = parsed
        read += 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom's value checks
            reference = pydicom.dcmread(path, stop_before_pixels=True)
        _same_as_pydicom(header, reference, path)
        decoded += header.decoded
        if "PixelData" in reference or where is not None:
            full = pydicom.dcmread(path)
            with open(path, "rb") as fh:
                fh.seek(where.offset)
                assert fh.read(where.length) == full.PixelData, path
    assert read >= len(files) - 3  # the deflated report is pydicom's
    assert decoded == read  # none of these needed pydicom for an image attribute


def test_numbers_keep_their_text():
    (path,) = data_files("ct/pydicom_CT_small.dcm")
    header, _ = read_image_header(str(path))
    reference = pydicom.dcmread(path, stop_before_pixels=True)
    assert isinstance(header.RescaleSlope, DecimalString)
    assert isinstance(header.InstanceNumber, IntegerString)
    for name in ("ImagePositionPatient", "PixelSpacing", "SliceThickness", "InstanceNumber"):
        value, ref = header.get(name), reference.get(name)
        if isinstance(ref, MultiValue):
            assert [str(v) for v in value] == [str(v) for v in ref]
        else:
            assert str(value) == str(ref)
    assert header.Rows == reference.Rows == 128
    assert header.decoded


def _edited(tmp_path, edit):
    (path,) = make_series(tmp_path, "edited", axial_positions([0]), edit=lambda i, ds: edit(ds))
    if edit is _unexpected_vr:  # Pixel Spacing written as UN (pydicom writes its VR)
        data = path.read_bytes()
        short = b"\x28\x00\x30\x00DS\x08\x00"
        assert data.count(short) == 1
        path.write_bytes(data.replace(short, b"\x28\x00\x30\x00UN\x00\x00\x08\x00\x00\x00"))
    parsed = read_image_header(str(path))
    assert parsed is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parsed[0], pydicom.dcmread(path, stop_before_pixels=True)


def _latin1(ds):
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SeriesDescription = "Thorax fr\u00fch"
    ds.Manufacturer = ""


def _malformed(ds):
    ds.add_new(0x00281053, "DS", "1_5")  # not a Decimal String (Python reads it)
    ds.add_new(0x00281052, "DS", "-1024.00000000000001")  # longer than 16 characters
    ds.add_new(0x00200012, "IS", "1.0")  # an IS pydicom accepts
    ds.add_new(0x00281050, "DS", None)  # empty


def _unexpected_vr(ds):
    ds.PixelSpacing = ["0.5", "0.5"]  # becomes UN in the file, below
    ds.RescaleType = "HU"


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom's value checks, its reading
@pytest.mark.parametrize(
    ("edit", "names"),
    [
        (_latin1, ["SeriesDescription"]),
        (_malformed, ["RescaleSlope", "RescaleIntercept", "AcquisitionNumber"]),
        (_unexpected_vr, ["PixelSpacing"]),
    ],
)
def test_what_the_reader_leaves_to_pydicom_is_pydicoms(tmp_path, edit, names):
    header, reference = _edited(tmp_path, edit)
    assert header.decoded
    for name in names:  # each of these takes pydicom's dataset
        assert _kind(header.get(name)) == _kind(reference.get(name)), name
    assert not header.decoded
    _same_as_pydicom(header, reference, edit.__name__)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_empty_values_and_other_attributes(tmp_path):
    header, reference = _edited(tmp_path, _malformed)
    assert header.WindowCenter is None
    assert reference.WindowCenter is None
    assert header.get("Manufacturer") == reference.get("Manufacturer")
    assert header.decoded  # so far without pydicom
    assert str(header.PatientName) == str(reference.PatientName)  # not in the table
    assert not header.decoded
    with pytest.raises(AttributeError):
        header.NoSuchKeyword  # noqa: B018
    assert "PatientName" in header
    assert 0x00100010 in header


def test_files_the_reader_leaves_to_pydicom(tmp_path):
    from pydicom.uid import RLELossless

    assert read_image_header(str(DATA / "sr-other/dcm4che_report_dfl.dcm")) is None
    text = tmp_path / "notes.dcm"
    text.write_bytes(b"not a DICOM file at all")
    assert read_image_header(str(text)) is None
    assert read_image_header(str(tmp_path / "missing.dcm")) is None
    (rle,) = make_series(
        tmp_path / "rle", "rle", axial_positions([0]), edit=lambda i, ds: ds.compress(RLELossless)
    )
    assert read_image_header(str(rle)) is None
