# ruff: noqa: F811  (pytest fixtures imported from tests.db.fixtures)
"""The database on the real shared data: counts, SR rows, DICOM matching, idempotence.

Expected values were checked against DCMTK's ``dsrdump -Ee`` output of the files
(CT Dose Length Product Total, number of CT Acquisition / Irradiation Event X-Ray
Data containers, number of ``contains NUM`` items in TID 1500 measurement groups).
"""

from __future__ import annotations

import subprocess
import warnings
from collections import Counter
from pathlib import Path

import pydicom
import pytest

from srkit.errors import SrkitError
from tests.conftest import DATA, data_path, require_tool
from tests.db.fixtures import fresh_db, fresh_url, loaded_db  # noqa: F401


def _dicom_files() -> list[Path]:
    return sorted(DATA.rglob("*.dcm"))


def _uids() -> dict[str, set[str]]:
    """Distinct UIDs per level among the shared .dcm files, read with pydicom."""
    out: dict[str, set] = {
        "study": set(),
        "series": set(),
        "instance": set(),
        "pid": set(),
        "patients": set(),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in _dicom_files():
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            out["study"].add(ds.StudyInstanceUID)
            out["series"].add(ds.SeriesInstanceUID)
            out["instance"].add(ds.SOPInstanceUID)
            pid = str(ds.get("PatientID") or "").strip()
            out["pid"].add(pid)
            # PS3.3 C.7.1.1: a patient is its ID within the ID's issuer; an empty ID
            # names nobody, so such a study is a patient of its own
            issuer = str(ds.get("IssuerOfPatientID") or "").strip()
            out["patients"].add((pid, issuer) if pid else ("study", ds.StudyInstanceUID))
    return out


def test_import_counts_per_level(loaded_db):
    db, report = loaded_db
    uids = _uids()
    counts = db.counts()
    assert counts["studies"] == len(uids["study"]) == 24
    assert counts["series"] == len(uids["series"]) == 36
    assert counts["instances"] == len(uids["instance"]) == 59
    assert len(uids["pid"]) == 20  # with the empty ID, which 4 studies share
    assert counts["patients"] == len(uids["patients"]) == 23
    assert report.imported == 59
    assert counts["sr_documents"] == 19  # 5 TID 1500, 7 RDSR/dose, 6 other SR, 1 KOS
    assert counts["measurements"] == 22 + 7 + 4 + 2 + 1
    assert counts["qualitative"] == 2
    assert counts["dose_reports"] == 7
    assert counts["dose_events"] == 6 + 9 + 2 + 25 + 29 + 21 + 24


def test_import_report_names_rejected_and_conflicting_files(loaded_db):
    _db, report = loaded_db
    rejected = {Path(p).name: reason for p, reason in report.rejected}
    assert "PROVENANCE.md" in rejected
    assert len([n for n in rejected if n.endswith(".json")]) == 26
    assert len(report.rejected) == 27
    assert all("not a DICOM file" in r for r in rejected.values())
    conflicts = sorted(Path(p).name for p, _ in report.conflicts)
    # same SOP Instance UID as pydicom_reportsi.dcm / dcmqi_sparse-labelmap-noppv.dcm
    assert conflicts == [
        "dcmqi_sparse-labelmap-ppv5.dcm",
        "pydicom_reportsi_with_empty_number_tags.dcm",
    ]
    assert all("different content" in reason for _, reason in report.conflicts)


def test_dose_rows(loaded_db):
    db, _ = loaded_db
    reports = {r["manufacturer"]: r for r in db.query_dose(template="10011")}
    assert set(reports) == {"SIEMENS", "GE Medical Systems", "TOSHIBA"}
    assert reports["SIEMENS"]["dlp_total"] == pytest.approx(1590)
    assert reports["GE Medical Systems"]["dlp_total"] == pytest.approx(415.82)
    assert reports["TOSHIBA"]["dlp_total"] == pytest.approx(502.40)
    assert [
        reports[m]["number_of_events"] for m in ("SIEMENS", "GE Medical Systems", "TOSHIBA")
    ] == [
        9,
        6,
        2,
    ]
    fluoro = db.query_dose(template="10001")
    assert sorted(r["number_of_events"] for r in fluoro) == [21, 24, 25, 29]
    assert all(r["dap_total"] > 0 and r["dlp_total"] is None for r in fluoro)


def test_dose_filters(loaded_db):
    db, _ = loaded_db
    over = db.query_dose(min_total_dlp=1000)
    assert [r["manufacturer"] for r in over] == ["SIEMENS"]
    assert [r["manufacturer"] for r in db.query_dose(max_total_dlp=450)] == ["GE Medical Systems"]
    assert len(db.query_dose(manufacturer="philips")) == 2
    assert len(db.query_dose(date_from="20200101", date_to="20201231")) == 3
    events = db.query_dose(level="event", manufacturer="SIEMENS", template="10011")
    assert len(events) == 9
    assert [e["event_number"] for e in events] == list(range(1, 10))
    assert all(e["study_instance_uid"] == events[0]["study_instance_uid"] for e in events)
    with pytest.raises(SrkitError, match="unknown"):
        db.query_dose(min_colour=3)
    with pytest.raises(SrkitError, match="number"):
        db.query_dose(min_total_dlp="lots")


def test_measurement_rows(loaded_db):
    db, _ = loaded_db
    rows = db.query_measurements()
    per_doc = Counter(r["sop_instance_uid"] for r in rows)
    assert sorted(per_doc.values()) == [1, 2, 4, 7, 22]
    area = db.query_measurements(finding="Spinal cord")
    assert len(area) == 1
    assert area[0]["value"] == pytest.approx(1.7)
    assert area[0]["units"]["value"] == "cm2"
    assert area[0]["finding_site"]["meaning"] == "Cervico-thoracic spine"
    assert area[0]["study_instance_uid"] == "1.3.6.1.4.1.5962.1.2.1.20040119072730.12322"
    volume = db.query_measurements(quantity="Volume")
    assert [(r["value"], r["units"]["value"]) for r in volume] == [
        (pytest.approx(33.5824), "ml"),
        (pytest.approx(200.0), "mm3"),
    ]
    big = db.query_measurements(quantity="*volume*", min_value=10, units="ml")
    assert [r["value"] for r in big] == [pytest.approx(33.5824)]
    suv = db.query_measurements(quantity="*SUVbw*", min_value=10)
    assert sorted(round(r["value"], 4) for r in suv) == [10.3814, 10.3814]
    qual = db.query_measurements(kind="qualitative")
    assert {r["value"]["meaning"] for r in qual} == {
        "Level of T4/T5 intervertebral disc",
        "Not significant",
    }


def test_measurements_agree_with_dsrdump(loaded_db):
    dsrdump = require_tool("dsrdump", "/usr/bin/dsrdump")
    db, _ = loaded_db
    rows = Counter(r["sop_instance_uid"] for r in db.query_measurements())
    for path in sorted((DATA / "sr-tid1500").glob("*.dcm")):
        out = subprocess.run([dsrdump, "-Ee", str(path)], capture_output=True, text=True).stdout
        uid = pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID
        assert rows[uid] == out.count("<contains NUM:"), path.name


def test_sr_documents(loaded_db):
    db, _ = loaded_db
    docs = db.sr_documents()
    kinds = Counter(d["kind"] for d in docs)
    assert kinds == {
        "measurement_report": 5,
        "dose_report": 7,
        "other": 6,
        "key_object_selection": 1,
    }
    trial = db.sr_documents(
        sop_instance_uid=pydicom.dcmread(
            data_path("sr-other/dcm4che_Tag-0040-A170-VR-CS.dcm"), stop_before_pixels=True
        ).SOPInstanceUID
    )
    assert [d["diagnostics"][0]["fixup"] for d in trial] == ["trial_findings_sequence"]
    assert {d["template"] for d in db.sr_documents(kind="dose_report")} == {"10011", "10001"}


def test_patient_matching(loaded_db):
    db, _ = loaded_db
    names = [p["PatientName"] for p in db.patients(PatientName="doe*")]
    assert sorted(names) == ["DOE^J1", "Doe^Archibald"]
    assert [p["PatientID"] for p in db.patients(PatientID="?CT1")] == ["1CT1"]
    assert db.patients(PatientName="DOE^ARCHIBALD")[0]["PatientID"] == "77654033"
    mr = db.patients(PatientID="583295")[0]
    assert mr["NumberOfPatientRelatedStudies"] == 1
    assert mr["NumberOfPatientRelatedInstances"] == 16
    assert [p["PatientID"] for p in db.patients(PatientName="archi", fuzzy=True)] == ["77654033"]
    assert db.patients(PatientID="1ct1") == []  # LO matching is case-sensitive


def test_study_matching(loaded_db):
    db, _ = loaded_db
    dates = [s["StudyDate"] for s in db.studies(StudyDate="20040101-20061231")]
    assert dates == ["20040119", "20060101", "20060101", "20060823"]
    assert [s["StudyDate"] for s in db.studies(StudyDate="-19951231")] == ["19860311", "19950903"]
    assert len(db.studies(StudyDate="20200101-")) == 3
    assert [s["StudyDate"] for s in db.studies(StudyDate="20130611")] == ["20130611"]
    mr = db.studies(ModalitiesInStudy="MR")
    assert len(mr) == 1
    assert mr[0]["NumberOfStudyRelatedInstances"] == 16
    assert mr[0]["NumberOfStudyRelatedSeries"] == 1
    assert mr[0]["ModalitiesInStudy"] == "MR"
    ct = db.studies(ModalitiesInStudy="CT")
    assert len(ct) == 4
    assert all("CT" in s["ModalitiesInStudy"].split("\\") for s in ct)
    uids = [s["StudyInstanceUID"] for s in ct[:2]]
    assert [s["StudyInstanceUID"] for s in db.studies(StudyInstanceUID="\\".join(uids))] == uids
    assert len(db.studies(Modality="KO")) == 1
    assert db.studies(AccessionNumber="IDC003-?")[0]["PatientID"] == "IDS-DEPT003-a"
    with pytest.raises(SrkitError, match="date range"):
        db.studies(StudyDate="2004-2005")
    with pytest.raises(SrkitError, match="not indexed"):
        db.studies(PatientWeight="80")


def test_series_and_instance_matching(loaded_db):
    db, _ = loaded_db
    series = db.series(Modality="MR")
    assert len(series) == 1
    assert series[0]["NumberOfSeriesRelatedInstances"] == 16
    images = db.instances(SeriesInstanceUID=series[0]["SeriesInstanceUID"])
    assert [i["InstanceNumber"] for i in images] == sorted(i["InstanceNumber"] for i in images)
    assert len(images) == 16
    page = db.instances(SeriesInstanceUID=series[0]["SeriesInstanceUID"], limit=5, offset=5)
    assert page == images[5:10]
    dose = db.instances(SOPClassUID="1.2.840.10008.5.1.4.1.1.88.67")
    assert len(dose) == 6  # the GE report is an Enhanced SR
    assert (
        db.query("IMAGE", {"SOPInstanceUID": dose[0]["SOPInstanceUID"]}, fields=["Rows"])[0][
            "SOPInstanceUID"
        ]
        == dose[0]["SOPInstanceUID"]
    )
    assert len(db.series(StudyDate="19950903")) == 5


def test_instance_paths(loaded_db):
    db, _ = loaded_db
    study = db.studies(ModalitiesInStudy="MR")[0]["StudyInstanceUID"]
    paths = db.instance_paths("STUDY", study)
    assert [p.name for p in paths] == [f"MR{n:02d}.dcm" for n in range(1, 17)]
    uid = pydicom.dcmread(
        data_path("ct/pydicom_CT_small.dcm"), stop_before_pixels=True
    ).SOPInstanceUID
    assert db.instance_path(uid) == data_path("ct/pydicom_CT_small.dcm")
    assert db.instance_path("1.2.3.4") is None
    assert db.instance_paths("SERIES", "1.2.3") == []


def test_reimport_changes_nothing(fresh_db):
    first = fresh_db.import_paths([data_path("ct"), data_path("sr-tid1500")], workers=1)
    before = fresh_db.counts()
    again = fresh_db.import_paths([data_path("ct"), data_path("sr-tid1500")], workers=1)
    assert first.imported == 16
    assert again.imported == 0
    assert again.skipped == 16
    assert not again.rejected
    assert not again.conflicts
    assert fresh_db.counts() == before
    assert fresh_db.check_integrity() == []


def test_schema_version(fresh_url):
    from sqlalchemy import text

    from srkit.db import Database

    with Database(fresh_url) as db, db._reader.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0003"
    with Database(fresh_url) as db:  # opening again runs no migration and keeps the data
        assert db.counts()["instances"] == 0


def test_bad_urls(tmp_path):
    from srkit.db.engine import resolve_url

    assert resolve_url("postgresql://u@h:1/d") == "postgresql+psycopg://u@h:1/d"
    assert resolve_url(tmp_path) == f"sqlite:///{tmp_path.resolve()}/srkit.sqlite"
    with pytest.raises(SrkitError, match="unsupported"):
        resolve_url("mysql://x")
    from srkit.db.query import normalise_level

    with pytest.raises(SrkitError, match="level"):
        normalise_level("FRAME")
