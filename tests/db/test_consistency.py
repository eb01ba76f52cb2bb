"""The database answers what the file commands answer: `query dose` rows are the rows of
`srkit dose --summary`, `query measurements` rows are the rows of `srkit measurements`."""

from __future__ import annotations

import warnings

import pytest

from srkit import read
from srkit.db import Database
from srkit.templates.dose import dose_report, dose_summary
from srkit.templates.tid1500 import QUANTITATIVE_COLUMNS, measurement_rows
from tests.conftest import data_files, data_path

CONTEXT = {
    "procedure_reported",
    "patient_id",
    "patient_name",
    "study_date",
    "accession_number",
    "series_manufacturer",
    "series_modality",
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    root = tmp_path_factory.mktemp("consistency")
    db = Database(root / "db.sqlite")
    report = db.import_paths([data_path("rdsr"), data_path("sr-tid1500")], workers=1)
    assert report.rejected == []
    yield db
    db.close()


def test_query_dose_rows_are_the_dose_summary_rows(loaded):
    rows = {r["sop_instance_uid"]: r for r in loaded.query_dose()}
    assert len(rows) == 7
    for path in data_files("rdsr/*.dcm"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            summary = dose_summary(dose_report(read(path)).to_dict())
        row = rows[summary["sop_instance_uid"]]
        assert {k: v for k, v in row.items() if k not in CONTEXT} == summary
        assert row["procedure_reported"]["scheme"] in ("SRT", "SCT", "DCM")
        assert row["series_modality"] == "SR"


def test_query_measurement_rows_are_the_measurement_rows(loaded):
    found = [{k: r[k] for k in QUANTITATIVE_COLUMNS} for r in loaded.query_measurements()]
    expected = []
    for path in data_files("sr-tid1500/*.dcm"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected += measurement_rows(read(path))
    key = lambda r: (r["sop_instance_uid"], r["measurement_group_number"], str(r["quantity"]))  # noqa: E731
    assert sorted(found, key=key) == sorted(expected, key=key)
