# ruff: noqa: F811  (pytest fixtures imported from tests.db.fixtures)
"""Migration 0003 (query indexes): an upgrade from 0002 keeps the data, and the usual
C-FIND / QIDO-RS keys (PS3.4 C.6.1.1) are answered through an index, not a scan."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from sqlalchemy import text

import srkit.db.engine as E
from srkit.db import Database
from srkit.db.query import level_query
from tests.conftest import data_path
from tests.db.fixtures import fresh_url  # noqa: F401

FILES = ["ct", "sr-tid1500", "rdsr"]

# (filters at STUDY level, the index its plan must use)
USUAL_KEYS = [
    ({"PatientID": "X1"}, "ix_study_patient_id"),
    ({"PatientName": "Smith*"}, "ix_study_lower_patient_name"),
    ({"PatientName": "smith^john"}, "ix_study_lower_patient_name"),
    ({"StudyDate": "20200101-20200131"}, "ix_study_study_date"),
    ({"AccessionNumber": "A1"}, "ix_study_accession_number"),
    ({"ModalitiesInStudy": "CT"}, "ix_series_modality_study_pk"),
]


def _at_0002(url: str) -> None:
    """An empty database at revision 0002 (alembic, as srkit before 0003 made it)."""
    from alembic import command
    from alembic.config import Config

    _reader, writer = E.make_engines(E.resolve_url(url))
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(E.__file__).with_name("migrations")))
    with writer.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
    writer.dispose()


def _indexes(db: Database) -> set[str]:
    with db._reader.connect() as conn:
        if conn.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'index'"
        else:
            sql = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
        return {r[0] for r in conn.exec_driver_sql(sql)}


def _plan(db: Database, filters: dict) -> str:
    stmt, _keys = level_query("STUDY", filters, limit=100)
    with db._reader.connect() as conn:
        if conn.dialect.name == "sqlite":
            sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
            return "\n".join(str(r[-1]) for r in rows)
        # on an almost empty table PostgreSQL rightly prefers a scan: forbid it, so
        # the plan shows whether an index can answer at all
        conn.exec_driver_sql("SET enable_seqscan = off")
        sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
        return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql}").all())


def test_upgrade_from_0002_keeps_the_data_and_adds_the_indexes(fresh_url, tmp_path, monkeypatch):
    _at_0002(fresh_url)
    with monkeypatch.context() as m:  # srkit as it was at 0002 fills the database
        m.setattr(E, "HEAD", "0002")
        with Database(fresh_url, storage=tmp_path / "st") as db:
            report = db.import_paths([data_path(f) for f in FILES], workers=1)
            assert report.imported > 20
            assert not report.rejected
            before = db.counts()
            studies = db.studies()
            assert not {"ix_study_patient_id", "ix_study_lower_patient_name"} & _indexes(db)
    with Database(fresh_url, storage=tmp_path / "st") as db:
        with db._reader.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        assert version == E.HEAD == "0003"
        assert db.counts() == before
        assert db.studies() == studies
        assert {ix for _f, ix in USUAL_KEYS} <= _indexes(db)
        assert db.check_integrity() == []
        # the usual keys still find what the files say
        ct = pydicom.dcmread(data_path("ct/pydicom_CT_small.dcm"), stop_before_pixels=True)
        [row] = db.studies(PatientID=str(ct.PatientID), StudyInstanceUID=ct.StudyInstanceUID)
        assert row["PatientName"] == str(ct.PatientName)
        family = str(ct.PatientName).split("^")[0]
        by_name = db.studies(PatientName=family.upper()[:3] + "*")
        assert ct.StudyInstanceUID in {r["StudyInstanceUID"] for r in by_name}
        assert all(r["PatientName"].lower().startswith(family.lower()[:3]) for r in by_name)


@pytest.mark.parametrize(("filters", "index"), USUAL_KEYS)
def test_usual_keys_use_an_index(fresh_url, tmp_path, filters, index):
    with Database(fresh_url, storage=tmp_path / "st") as db:
        plan = _plan(db, filters)
    assert index in plan, plan
    if "SCAN study" in plan:  # SQLite: the study table itself is never scanned
        pytest.fail(plan)


def test_name_prefix_range_keeps_case_insensitive_matching(fresh_url, tmp_path):
    ds = pydicom.dcmread(data_path("ct/pydicom_CT_small.dcm"))
    with Database(fresh_url, storage=tmp_path / "st") as db:
        for n, name in enumerate(["Smith^John", "SMITHERS^Ann", "smit^Bo", "Smiti^Cy", "Sm%th^X"]):
            ds.PatientName = name
            ds.PatientID = f"P{n}"
            ds.StudyInstanceUID = f"1.2.826.0.1.3680043.8.498.{n + 1}"
            ds.SeriesInstanceUID = f"1.2.826.0.1.3680043.8.498.{n + 1}.1"
            ds.SOPInstanceUID = f"1.2.826.0.1.3680043.8.498.{n + 1}.1.1"
            db.store(ds)
        names = lambda pattern: sorted(r["PatientName"] for r in db.studies(PatientName=pattern))  # noqa: E731
        assert names("smith*") == ["SMITHERS^Ann", "Smith^John"]
        assert names("SMIT?^*") == ["Smith^John", "Smiti^Cy"]
        assert names("Sm%th*") == ["Sm%th^X"]
        assert names("smith^john") == ["Smith^John"]
        assert [p["PatientName"] for p in db.patients(PatientName="SMITH^*")] == ["Smith^John"]
