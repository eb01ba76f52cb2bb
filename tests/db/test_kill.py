# ruff: noqa: F811  (pytest fixtures imported from tests.db.fixtures)
"""Crash safety and concurrency: SIGKILL in the middle of ``srkit import``, readers
querying while an import writes (SQLite WAL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid

from tests.conftest import data_path
from tests.db.fixtures import fresh_url  # noqa: F401

N_FILES = 1500


@pytest.fixture(scope="module")
def many_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Copies of a real small CT with fresh UIDs: 30 series of 50 instances."""
    out = tmp_path_factory.mktemp("many")
    template = pydicom.dcmread(data_path("ct/pydicom_CT2/17106.dcm"))
    study = series = ""
    for n in range(N_FILES):
        if n % 300 == 0:
            study = generate_uid()
        if n % 50 == 0:
            series = generate_uid()
        template.StudyInstanceUID = study
        template.SeriesInstanceUID = series
        template.SOPInstanceUID = generate_uid()
        template.InstanceNumber = n % 50 + 1
        template.save_as(out / f"{n:05d}.dcm")
    return out


def _import(url: str, folder: Path, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [sys.executable, "-m", "srkit.cli.main", "import", str(folder), "--db", url, *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def _count(url: str) -> int:
    from srkit.db import Database

    with Database(url) as db:
        return db.counts()["instances"]


def test_sigkill_mid_import_then_resume(fresh_url, many_files):
    from srkit.db import Database

    assert _count(fresh_url) == 0  # creates the schema before the race
    proc = _import(fresh_url, many_files, "--workers", "1")
    deadline = time.monotonic() + 120
    seen = 0
    while time.monotonic() < deadline and proc.poll() is None:
        seen = _count(fresh_url)
        if seen >= 250:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the import finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    with Database(fresh_url) as db:
        assert db.check_integrity() == []
        partial = db.counts()["instances"]
        assert seen <= partial < N_FILES
        assert partial % 250 == 0  # whole batches only
        report = db.import_paths([many_files], workers=1)
        assert report.imported == N_FILES - partial
        assert report.skipped == partial
        assert not report.rejected
        assert not report.conflicts
        counts = db.counts()
        assert (counts["instances"], counts["series"], counts["studies"]) == (N_FILES, 30, 5)
        assert counts["patients"] == 1
        assert db.check_integrity() == []


def test_readers_query_while_an_import_writes(tmp_path, many_files):
    url = str(tmp_path / "wal.sqlite")
    assert _count(url) == 0
    proc = _import(url, many_files, "--workers", "1")
    from srkit.db import Database

    counts = []
    with Database(url) as db:
        while proc.poll() is None:
            counts.append(len(db.instances(fields=["SOPInstanceUID"])))
            time.sleep(0.01)
        _, err = proc.communicate()
        assert proc.returncode == 0, err
        counts.append(len(db.instances(fields=["SOPInstanceUID"])))
        with db._reader.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert counts == sorted(counts)  # readers see whole batches, growing
    assert counts[-1] == N_FILES
    assert len(set(counts)) > 2  # reads happened during the import, between commits
