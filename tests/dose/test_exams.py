"""Exams read back from the index (srkit.dose.exams.load_exams), and those kept between
calls (``cached=True``, what the dose alert hook uses at each new dose report).

The exams are the Siemens AXIOM-Artis RDSR of the shared data with new patients, dates
and doses (``tests/dose/corpus.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from srkit.db import Database
from srkit.dose import exams as exams_module
from srkit.dose.exams import load_exams
from tests.dose.corpus import _xr_dataset, _xr_template

DAY = dt.datetime(2025, 3, 1, 9, 0)


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    exams_module._CACHE.clear()
    yield
    exams_module._CACHE.clear()


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SOP Instance UIDs whose stored report is read into an exam, in order."""
    seen: list[str] = []
    original = exams_module.exam_from_report

    def counting(report, context):
        exam = original(report, context)
        seen.append(exam.sop_instance_uid)
        return exam

    monkeypatch.setattr(exams_module, "exam_from_report", counting)
    return seen


def _fluoro(folder: Path, name: str, patient: str, days: int, dap: float) -> Path:
    ds = _xr_dataset(_xr_template(), patient, DAY + dt.timedelta(days=days), dap, 0.5, "FL1")
    path = folder / f"{name}.dcm"
    ds.save_as(path)
    return path


def _archive(tmp_path: Path) -> tuple[Database, list[Path]]:
    folder = tmp_path / "in"
    folder.mkdir()
    paths = [
        _fluoro(folder, "a", "P1", 0, 0.01),
        _fluoro(folder, "b", "P1", 10, 0.02),
        _fluoro(folder, "c", "P2", 5, 0.03),
    ]
    db = Database(str(tmp_path / "db.sqlite"))
    db.import_paths(paths, workers=1)
    return db, paths


def _plain(exams):
    return [exam.to_dict() for exam in exams]


def test_kept_exams_are_the_exams_read_afresh(tmp_path: Path) -> None:
    db, _ = _archive(tmp_path)
    with db:
        fresh = load_exams(db, patient_ids=["P1"])
        assert [e.dap_total for e in fresh] == [0.01, 0.02]  # Gy.m2, by date
        assert _plain(load_exams(db, patient_ids=["P1"], cached=True)) == _plain(fresh)
        assert _plain(load_exams(db, patient_ids=["P1"], cached=True)) == _plain(fresh)
        every = load_exams(db, cached=True)
        assert _plain(every) == _plain(load_exams(db))
        assert [e.patient_id for e in every] == ["P1", "P2", "P1"]


def test_each_report_is_read_once_while_kept(tmp_path: Path, decodes: list[str]) -> None:
    db, paths = _archive(tmp_path)
    with db:
        first = load_exams(db, patient_ids=["P1"], cached=True)
        assert len(decodes) == 2
        again = load_exams(db, patient_ids=["P1", "P2"], cached=True)
        assert len(decodes) == 3  # only P2's exam was read
        assert decodes[-1] == again[1].sop_instance_uid
        assert [e.sop_instance_uid for e in again if e.patient_id == "P1"] == [
            e.sop_instance_uid for e in first
        ]
        new = _fluoro(paths[0].parent, "d", "P1", 20, 0.04)
        db.import_paths([new], workers=1)
        latest = load_exams(db, patient_ids=["P1"], cached=True)
        assert len(decodes) == 4  # the new report only
        assert [e.dap_total for e in latest] == [0.01, 0.02, 0.04]


def test_a_report_stored_again_or_a_renamed_patient_is_read_afresh(
    tmp_path: Path, decodes: list[str]
) -> None:
    db, paths = _archive(tmp_path)
    with db:
        (before,) = load_exams(db, patient_ids=["P2"], cached=True)
        assert before.dap_total == 0.03
        # the same SOP Instance UID stored again with another dose
        db.remove("instance", before.sop_instance_uid)
        changed = _xr_dataset(_xr_template(), "P2", DAY + dt.timedelta(days=5), 0.09, 0.5, "FL1")
        changed.SOPInstanceUID = before.sop_instance_uid
        changed.file_meta.MediaStorageSOPInstanceUID = before.sop_instance_uid
        changed.save_as(paths[2])
        db.import_paths([paths[2]], workers=1)
        (after,) = load_exams(db, patient_ids=["P2"], cached=True)
        assert after.sop_instance_uid == before.sop_instance_uid
        assert after.dap_total == 0.09
        assert len(decodes) == 2
        # the patient's name changed in the index: the exam says so
        with db._writer.begin() as conn:
            conn.execute(
                text("UPDATE patient SET patient_name = 'Doe^Jane' WHERE patient_id = 'P2'")
            )
        (renamed,) = load_exams(db, patient_ids=["P2"], cached=True)
        assert renamed.patient_name == "Doe^Jane"
        assert renamed.dap_total == 0.09
        assert len(decodes) == 3


def test_a_caller_changing_its_exams_does_not_change_the_kept_ones(tmp_path: Path) -> None:
    db, _ = _archive(tmp_path)
    with db:
        (mine, _) = load_exams(db, patient_ids=["P1"], cached=True)
        mine.standard_name = "Renamed"
        mine.dose_checks.append({"kind": "made up"})
        (theirs, _) = load_exams(db, patient_ids=["P1"], cached=True)
        assert theirs.standard_name is None
        assert theirs.dose_checks == []
        assert theirs is not mine


def test_at_most_exam_cache_size_exams_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, decodes: list[str]
) -> None:
    monkeypatch.setattr(exams_module, "EXAM_CACHE_SIZE", 2)
    db, _ = _archive(tmp_path)
    with db:
        every = load_exams(db, cached=True)
        assert len(every) == 3
        assert len(exams_module._CACHE) == 2
        load_exams(db, cached=True)
        assert len(decodes) == 3 + 1  # the one dropped is read again
