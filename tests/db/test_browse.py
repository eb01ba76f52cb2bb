"""srkit.db.browse: one sorted page of a level query and the number of all matches."""

from __future__ import annotations

import pytest

from srkit.db import Database
from srkit.db.browse import browse, modalities, sortable
from srkit.errors import SrkitError
from tests.conftest import data_files, data_path


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    root = tmp_path_factory.mktemp("browse")
    db = Database(root / "db.sqlite", storage=root / "storage")
    paths = [
        *data_files("ct/pydicom_CT2/*.dcm"),
        data_path("ct/pydicom_CT_small.dcm"),
        data_path("sr-tid1500/dcmqi_sr-example_sr.dcm"),
        data_path("rdsr/openrem_CT-ESR-GE_Optima.dcm"),
    ]
    db.import_paths(paths)
    yield db
    db.close()


def test_sorted_pages_and_total(db):
    every = db.query("STUDY", {})
    fields = ["PatientName", "StudyDate", "NumberOfStudyRelatedInstances", "ModalitiesInStudy"]
    page = browse(db, "STUDY", {}, fields=fields, sort="PatientName", limit=2)
    assert page.total == len(every) == 4
    names = sorted((r["PatientName"] for r in every), key=str.lower)
    assert [r["PatientName"] for r in page.rows] == names[:2]
    rest = browse(db, "STUDY", {}, fields=fields, sort="PatientName", limit=2, offset=2)
    assert [r["PatientName"] for r in rest.rows] == names[2:]
    # by a count, largest first: the CT2 series' study has the most instances
    most = browse(
        db, "STUDY", {}, fields=fields, sort="NumberOfStudyRelatedInstances", descending=True
    )
    counts = [r["NumberOfStudyRelatedInstances"] for r in most.rows]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] == len(data_files("ct/pydicom_CT2/*.dcm"))
    assert most.rows[0]["ModalitiesInStudy"] == "CT"
    # filters are the DICOM matching of srkit.db.query
    ct = browse(db, "STUDY", {"ModalitiesInStudy": "CT"}, fields=fields, sort="StudyDate")
    assert ct.total == 2
    assert [r["StudyDate"] for r in ct.rows] == ["19950903", "20040119"]
    assert modalities(db) == ["CT", "SR"]


def test_refuses_what_cannot_sort(db):
    assert sortable("STUDY", "PatientName")
    assert not sortable("PATIENT", "StudyDate")  # a lower level
    assert not sortable("STUDY", "ModalitiesInStudy")  # computed after the query
    with pytest.raises(SrkitError, match="cannot sort"):
        browse(db, "STUDY", {}, fields=["PatientName"], sort="ModalitiesInStudy")
    with pytest.raises(SrkitError, match="date range"):
        browse(db, "STUDY", {"StudyDate": "2020-2021"}, fields=["StudyDate"])
