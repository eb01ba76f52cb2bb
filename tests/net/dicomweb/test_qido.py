"""QIDO-RS answers as viewers read them: an attribute without a value at the level
asked is left out (as Orthanc's DICOMweb plugin does), the Type 2 return keys stay."""

from __future__ import annotations

import json

import pytest

from srkit.net.dicomweb.params import QIDO_REQUIRED
from tests.net.dicomweb.conftest import orthanc_get

pytestmark = pytest.mark.peers  # the reference files are compressed by DCMTK

OHIF_STUDY_LIST = "/studies?includefield=00081030,00080060&limit=101&offset=0"
"""The study list query of OHIF 4 (its default study list)."""

REQUIRED_TAGS = {
    "STUDY": {
        "00080020", "00080030", "00080050", "00080090", "00100010", "00100020",
        "00100030", "00100040", "0020000D", "00200010", "00201206", "00201208",
    },
}  # fmt: skip


def by_uid(answer, tag="0020000D"):
    return {item[tag]["Value"][0]: item for item in answer}


def test_required_tags_match_the_keywords():
    from pydicom.datadict import tag_for_keyword

    tags = {f"{tag_for_keyword(k):08X}" for k in QIDO_REQUIRED["STUDY"]}
    assert tags == REQUIRED_TAGS["STUDY"]


def test_study_list_has_no_valueless_modality(srkit_http):
    rsp = srkit_http.get("/dicomweb" + OHIF_STUDY_LIST)
    assert rsp.status_code == 200
    studies = by_uid(rsp.json())
    ct2 = studies["1.3.6.1.4.1.5962.1.1.0.0.0.1196530851.28319.0.1"]
    # Modality is a series attribute: no value at study level, so left out
    assert "00080060" not in ct2
    # its SEG (highdicom's, on the CT2 series) is a series of its own
    assert ct2["00080061"] == {"vr": "CS", "Value": ["CT", "SEG"]}
    assert ct2["00081030"] == {"vr": "LO", "Value": ["CT, HEAD/BRAIN WO CONTRAST"]}
    for study in studies.values():
        for tag, item in study.items():
            # what OHIF reads: every attribute present has a Value, but the Type 2 keys
            assert "Value" in item or tag in REQUIRED_TAGS["STUDY"], (tag, item)
        assert REQUIRED_TAGS["STUDY"] <= set(study)
    # a study of two series of different modalities (CT and SEG)
    both = studies["1.2.826.0.1.3680043.2.1125.1.99615878007501689887866317012655114"]
    assert both["00080061"]["Value"] == ["CT", "SEG"]


def test_study_list_as_orthanc(srkit_http, orthanc_ref):
    status, _headers, body = orthanc_get(orthanc_ref, OHIF_STUDY_LIST)
    assert status == 200
    theirs = by_uid(json.loads(body))
    ours = by_uid(srkit_http.get("/dicomweb" + OHIF_STUDY_LIST).json())
    assert set(ours) == set(theirs)
    for uid, study in ours.items():
        other = theirs[uid]
        # srkit answers no attribute Orthanc leaves out (Orthanc also answers a
        # Modality it takes from one instance, and its Specific Character Set)
        assert set(study) - {"00081190"} <= set(other), uid
        for tag in REQUIRED_TAGS["STUDY"] | {"00081030"}:
            assert ("Value" in study.get(tag, {})) == ("Value" in other.get(tag, {})), (uid, tag)
        assert sorted(study["00080061"]["Value"]) == sorted(other["00080061"]["Value"])
        for tag in ("00100010", "00100020", "00080020", "00201206", "00201208", "00081030"):
            assert study.get(tag, {}).get("Value") == other.get(tag, {}).get("Value"), (uid, tag)


def test_series_and_instances_as_orthanc(srkit_http, orthanc_ref):
    for path, key in (("/series", "0020000E"), ("/instances", "00080018")):
        status, _headers, body = orthanc_get(orthanc_ref, path)
        assert status == 200
        theirs = by_uid(json.loads(body), key)
        ours = by_uid(srkit_http.get("/dicomweb" + path).json(), key)
        assert set(ours) == set(theirs)
        for uid, item in ours.items():
            valueless = {t for t, v in item.items() if "Value" not in v}
            other = theirs[uid]
            assert valueless <= {t for t, v in other.items() if "Value" not in v}, (path, uid)
            assert set(item) - {"00081190"} <= set(other), (path, uid)
