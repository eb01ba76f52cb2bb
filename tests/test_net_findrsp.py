"""C-FIND identifiers from raw elements: the same bytes' meaning as pydicom's elements."""

from __future__ import annotations

import pydicom
import pytest
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom.dsutils import decode, encode

from srkit.net.findrsp import ResponseBuilder
from tests.conftest import data_path

SPECS = [
    ("PatientName", 0x00100010, "PN"),
    ("PatientID", 0x00100020, "LO"),
    ("StudyDate", 0x00080020, "DA"),
    ("StudyInstanceUID", 0x0020000D, "UI"),
    ("NumberOfStudyRelatedInstances", 0x00201208, "IS"),
    ("Rows", 0x00280010, "US"),
    ("AccessionNumber", 0x00080050, "SH"),
    ("ReferencedStudySequence", 0x00081110, "SQ"),
    ("PatientWeight", 0x00101030, "DS"),
]


def ct_row() -> dict[str, object]:
    ds = pydicom.dcmread(data_path("ct/pydicom_CT_small.dcm"))
    return {
        "PatientName": str(ds.PatientName),  # CompressedSamples^CT1
        "PatientID": ds.PatientID,  # 1CT1
        "StudyDate": ds.StudyDate,  # 20040119
        "StudyInstanceUID": ds.StudyInstanceUID,
        "NumberOfStudyRelatedInstances": 3,
        "Rows": ds.Rows,  # 128
        "AccessionNumber": "",
        "PatientWeight": None,
    }


def roundtrip(ds: pydicom.Dataset, syntax: pydicom.uid.UID) -> pydicom.Dataset:
    data = encode(ds, syntax.is_implicit_VR, syntax.is_little_endian)
    assert data
    return decode(
        pydicom.filebase.DicomBytesIO(data), syntax.is_implicit_VR, syntax.is_little_endian
    )


@pytest.mark.parametrize("syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian])
def test_raw_identifier_values(syntax):
    row = ct_row()
    got = roundtrip(ResponseBuilder("STUDY", SPECS, syntax).build(row), syntax)
    assert got.QueryRetrieveLevel == "STUDY"
    assert got.PatientName == "CompressedSamples^CT1"
    assert got.PatientID == "1CT1"
    assert got.StudyDate == "20040119"
    assert got.StudyInstanceUID == row["StudyInstanceUID"]
    assert got.NumberOfStudyRelatedInstances == 3
    assert got.Rows == 128
    assert got.AccessionNumber == ""
    assert got.PatientWeight is None
    assert list(got.ReferencedStudySequence) == []
    assert "SpecificCharacterSet" not in got
    assert len(got) == len(SPECS) + 1


@pytest.mark.parametrize("syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian])
def test_raw_matches_plain_elements(syntax):
    """Raw and pydicom-built identifiers encode to the same bytes."""
    row = ct_row()
    builder = ResponseBuilder("STUDY", SPECS, syntax)
    plain = builder._plain(pydicom.Dataset(), row)
    raw = builder.build(row)
    assert encode(raw, syntax.is_implicit_VR, True) == encode(plain, syntax.is_implicit_VR, True)


def test_non_ascii_name_gets_utf8():
    row = {**ct_row(), "PatientName": "Müller^Jürgen"}
    got = roundtrip(
        ResponseBuilder("STUDY", SPECS, ExplicitVRLittleEndian).build(row), ExplicitVRLittleEndian
    )
    assert got.SpecificCharacterSet == "ISO_IR 192"
    assert got.PatientName == "Müller^Jürgen"


def test_bad_values_become_empty():
    row = {**ct_row(), "Rows": 70000}
    syntax = ExplicitVRLittleEndian
    got = roundtrip(ResponseBuilder("STUDY", SPECS, syntax).build(row), syntax)
    assert got.Rows is None  # out of range for US
    assert got.PatientID == "1CT1"


def test_big_endian_uses_plain_elements():
    row = ct_row()
    syntax = ExplicitVRBigEndian
    got = roundtrip(ResponseBuilder("SERIES", SPECS, syntax).build(row), syntax)
    assert got.QueryRetrieveLevel == "SERIES"
    assert got.Rows == 128
    assert got.PatientName == "CompressedSamples^CT1"
