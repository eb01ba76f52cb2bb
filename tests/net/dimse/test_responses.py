"""C-FIND identifiers from raw elements: the same bytes' meaning as pydicom's elements."""

from __future__ import annotations

import pydicom
import pytest
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom.dsutils import decode, encode

from srkit.net.dimse.responses import ResponseBuilder
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


# -- encode(row): the identifier's bytes without pydicom ------------------------------

SR_SPECS = [
    *SPECS,
    ("SOPInstanceUID", 0x00080018, "UI"),
    ("ConceptNameCodeSequence", 0x0040A043, "SQ"),
    ("CompletionFlag", 0x0040A491, "CS"),
    ("ContentTemplateSequence", 0x0040A504, "SQ"),
]


def sr_rows() -> list[dict[str, object]]:
    """Rows shaped like ``Database.query`` rows, from real files: an SR with its
    title and template, the CT with empty sequences, a non-ASCII name and meaning."""
    sr = pydicom.dcmread(data_path("sr-tid1500/dcmqi_sr-example_sr.dcm"))
    title = sr.ConceptNameCodeSequence[0]  # (126000, DCM, "Imaging Measurement Report")
    report = {
        "PatientName": str(sr.PatientName),
        "PatientID": sr.PatientID,
        "StudyInstanceUID": sr.StudyInstanceUID,
        "SOPInstanceUID": sr.SOPInstanceUID,
        "ConceptNameCodeSequence": [
            {
                "CodeValue": title.CodeValue,
                "CodingSchemeDesignator": title.CodingSchemeDesignator,
                "CodeMeaning": title.CodeMeaning,
            }
        ],
        "CompletionFlag": sr.CompletionFlag,  # PARTIAL
        "ContentTemplateSequence": [
            {"TemplateIdentifier": sr.ContentTemplateSequence[0].TemplateIdentifier}
        ],
        "Rows": None,
    }
    image = {**ct_row(), "ConceptNameCodeSequence": [], "ContentTemplateSequence": None}
    accented = {
        **report,
        "PatientName": "Müller^Jürgen",
        "ConceptNameCodeSequence": [{"CodeMeaning": "Rapport d'évaluation", "CodeValue": None}],
        "PatientWeight": 72.5,
        "NumberOfStudyRelatedInstances": 12,
    }
    return [report, image, accented, {}]


def pydicom_bytes(ds: pydicom.Dataset, syntax: pydicom.uid.UID) -> bytes:
    fp = pydicom.filebase.DicomBytesIO()
    fp.is_implicit_VR = syntax.is_implicit_VR
    fp.is_little_endian = True
    pydicom.filewriter.write_dataset(fp, ds)
    return fp.getvalue()


@pytest.mark.parametrize("syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian])
def test_encode_equals_pydicom(syntax):
    builder = ResponseBuilder("IMAGE", SR_SPECS, syntax)
    for row in sr_rows():
        assert builder.encode(row) == pydicom_bytes(builder.build(row), syntax)
        assert builder.encode(row) == pydicom_bytes(builder._plain(pydicom.Dataset(), row), syntax)


@pytest.mark.parametrize("syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian])
def test_encode_values(syntax):
    report, image, accented, empty = sr_rows()
    builder = ResponseBuilder("IMAGE", SR_SPECS, syntax)
    got = decode_bytes(builder.encode(report), syntax)
    assert got.QueryRetrieveLevel == "IMAGE"
    code = got.ConceptNameCodeSequence[0]
    assert (code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning) == (
        "126000",
        "DCM",
        "Imaging Measurement Report",
    )
    assert got.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert got.CompletionFlag == "PARTIAL"
    assert "SpecificCharacterSet" not in got
    assert [e.tag for e in got] == sorted(e.tag for e in got)
    got = decode_bytes(builder.encode(image), syntax)
    assert list(got.ConceptNameCodeSequence) == []
    assert list(got.ContentTemplateSequence) == []
    assert got.Rows == 128
    got = decode_bytes(builder.encode(accented), syntax)
    assert got.SpecificCharacterSet == "ISO_IR 192"
    assert got.PatientName == "Müller^Jürgen"
    assert got.ConceptNameCodeSequence[0].CodeMeaning == "Rapport d'évaluation"
    assert got.ConceptNameCodeSequence[0].CodeValue == ""
    assert got.PatientWeight == 72.5
    got = decode_bytes(builder.encode(empty), syntax)
    assert len(got) == len(SR_SPECS) + 1
    assert got.PatientID == ""


def decode_bytes(data: bytes, syntax: pydicom.uid.UID) -> pydicom.Dataset:
    return decode(pydicom.filebase.DicomBytesIO(data), syntax.is_implicit_VR, True)


def test_encode_bad_values():
    syntax = ExplicitVRLittleEndian
    builder = ResponseBuilder("IMAGE", SR_SPECS, syntax)
    row = {**sr_rows()[0], "Rows": 70000, "ReferencedStudySequence": "not items"}
    row["ContentTemplateSequence"] = ["not an item"]
    assert builder.encode(row) == pydicom_bytes(builder.build(row), syntax)
    got = decode_bytes(builder.encode(row), syntax)
    assert got.Rows is None
    assert list(got.ReferencedStudySequence) == []
    assert len(got.ContentTemplateSequence) == 1
    assert len(got.ContentTemplateSequence[0]) == 0
    with pytest.raises(KeyError):
        builder.encode({"ConceptNameCodeSequence": [{"NoSuchKeyword": "1"}]})


def test_encode_big_endian_uses_pydicom():
    syntax = ExplicitVRBigEndian
    builder = ResponseBuilder("IMAGE", SR_SPECS, syntax)
    row = sr_rows()[0]
    got = decode(pydicom.filebase.DicomBytesIO(builder.encode(row)), False, False)
    assert got.ConceptNameCodeSequence[0].CodeValue == "126000"


def test_encode_faster_than_pydicom():
    """40 matches (a typical answer): encode beats building and encoding with pydicom."""
    import time

    syntax = ExplicitVRLittleEndian
    builder = ResponseBuilder("IMAGE", SR_SPECS, syntax)
    rows = sr_rows()[:3] * 14

    def best(fn) -> float:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            for row in rows:
                fn(row)
            times.append(time.perf_counter() - start)
        return min(times)

    fast = best(builder.encode)
    slow = best(lambda row: encode(builder.build(row), False, True))
    assert fast * 3 < slow, (fast, slow)
