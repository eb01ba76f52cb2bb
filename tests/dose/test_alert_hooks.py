"""Issue 12, part 3: alerts raised on import (``srkit import``) and on C-STORE.

Fluoroscopy exams are the Siemens AXIOM-Artis RDSR of the shared data with new
patients, dates and doses (``tests/dose_corpus.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.db import Database
from srkit.dose.alerts import AlertConfig, evaluate_new
from tests.conftest import require_tool
from tests.dose.corpus import _xr_dataset, _xr_template
from tests.peers import peer_env

DAY = dt.datetime(2025, 3, 1, 9, 0)


def _fluoro(
    folder: Path, name: str, patient: str, when: dt.datetime, dap: float, rp: float
) -> Path:
    ds = _xr_dataset(_xr_template(), patient, when, dap, rp, "FL1")
    path = folder / f"{name}.dcm"
    ds.save_as(path)
    return path


def test_import_prints_alerts(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    files = tmp_path / "in"
    files.mkdir()
    _fluoro(files, "a", "P1", DAY, 0.05, 0.5)  # DAP 50,000 cGy.cm2: above
    runner = CliRunner()
    first = runner.invoke(cli, ["import", str(files / "a.dcm"), "--db", str(db)])
    assert first.exit_code == 0, first.output
    lines = [line for line in first.stderr.splitlines() if "dose alert" in line]
    assert len(lines) == 1
    assert "[exam-dap]" in lines[0]
    assert "dap 0.05 > 0.02 Gy.m2" in lines[0]
    # a second, small procedure 30 days later: the cumulative sum crosses the threshold
    _fluoro(files, "b", "P1", DAY + dt.timedelta(days=30), 0.004, 1.7)
    second = runner.invoke(cli, ["import", str(files / "b.dcm"), "--db", str(db)])
    assert second.exit_code == 0, second.output
    codes = sorted(
        line.split("[")[1].split("]")[0]
        for line in second.stderr.splitlines()
        if "dose alert" in line
    )
    assert codes == ["cumulative-dap", "cumulative-dose-rp"]  # 0.054 Gy.m2, 2.2 Gy
    # 100 days later the first one is out of the 84-day window: nothing
    _fluoro(files, "c", "P1", DAY + dt.timedelta(days=100), 0.004, 0.1)
    third = runner.invoke(cli, ["import", str(files / "c.dcm"), "--db", str(db)])
    assert third.exit_code == 0, third.output
    assert "dose alert" not in third.stderr
    # a CT image imported alongside raises nothing and costs one query
    with Database(str(db)) as d:
        assert evaluate_new(d, ["1.2.3.4"]) == []


def test_configured_thresholds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "alerts.toml").write_text("[alerts]\ndap_cgycm2 = 60000\ndose_rp_gy = 0.4\n")
    config = AlertConfig.load(tmp_path / "alerts.toml")
    assert config.dap == pytest.approx(0.06)
    assert config.dose_rp == 0.4
    monkeypatch.setenv("SRKIT_DOSE_ALERTS", str(tmp_path / "alerts.toml"))
    _fluoro(tmp_path, "a", "P2", DAY, 0.05, 0.5)
    result = CliRunner().invoke(
        cli, ["import", str(tmp_path / "a.dcm"), "--db", str(tmp_path / "d.sqlite")]
    )
    assert result.exit_code == 0, result.output
    assert "[exam-dose-rp]" in result.stderr
    assert "[exam-dap]" not in result.stderr
    (tmp_path / "bad.toml").write_text("[alerts]\ndap = 1\n")
    monkeypatch.setenv("SRKIT_DOSE_ALERTS", str(tmp_path / "bad.toml"))
    _fluoro(tmp_path, "b", "P3", DAY, 0.05, 0.5)
    bad = CliRunner().invoke(
        cli, ["import", str(tmp_path / "b.dcm"), "--db", str(tmp_path / "d.sqlite")]
    )
    assert bad.exit_code == 0, bad.output  # imported; the alert configuration is named
    assert "dose alerts not evaluated" in bad.stderr
    assert "unknown keys dap" in bad.stderr


@pytest.mark.peers
def test_cstore_logs_alerts(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from tests.net.dimse.archive import Archive

    storescu = require_tool("storescu", "/usr/bin/storescu")
    path = _fluoro(tmp_path, "a", "P9", DAY, 0.03, 2.5)
    arch = Archive(tmp_path / "arch")
    try:
        with caplog.at_level(logging.WARNING, logger="srkit.dose.alerts"):
            run = subprocess.run(
                [storescu, "-aec", arch.aet, "127.0.0.1", str(arch.port), str(path)],
                capture_output=True,
                text=True,
                env=peer_env(),
                timeout=60,
            )
            assert run.returncode == 0, run.stderr
            assert arch.db.counts()["dose_reports"] == 1
    finally:
        arch.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "srkit.dose.alerts"]
    assert any("[exam-dap]" in m and "patient P9" in m for m in messages)
    assert any("[exam-dose-rp]" in m for m in messages)


def test_hook_after_a_large_import(tmp_path: Path) -> None:
    """The hook gets every imported UID: its IN lists are chunked (this SQLite allows 250,000
    parameters per statement)."""
    from srkit.dose.exams import load_exams

    path = _fluoro(tmp_path, "a", "P5", DAY, 0.05, 0.5)
    with Database(str(tmp_path / "db.sqlite")) as db:
        report = db.import_paths([path], workers=1)
        uids = [f"1.2.3.{n}" for n in range(260000)] + report.uids
        (exam,) = load_exams(db, sop_instance_uids=uids)
        assert exam.patient_id == "P5"
        assert [a.code for a in evaluate_new(db, uids)] == ["exam-dap"]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.peers)])
def test_alerts_and_drls_on_each_backend(backend: str, tmp_path: Path) -> None:
    from srkit.dose.drl import local_drls
    from srkit.dose.exams import load_exams
    from tests.db.fixtures import db_url

    files = [
        _fluoro(tmp_path, f"f{n}", "P7", DAY + dt.timedelta(days=10 * n), dap, 0.3)
        for n, dap in enumerate((0.012, 0.009, 0.001))
    ]
    for url in db_url(backend, tmp_path):
        with Database(url, storage=tmp_path / "storage") as db:
            report = db.import_paths(files, workers=1)
            assert report.imported == 3
            exams = load_exams(db)
            assert [e.dap_total for e in exams] == [0.012, 0.009, 0.001]
            (row,) = local_drls(exams)
            assert row["dap_median"] == 0.009
            assert row["dap_p75"] == pytest.approx((0.012 + 0.009) / 2)
            found = evaluate_new(db, report.uids)
            # 0.012 + 0.009 > 0.02 on day 10, and still 0.022 on day 20 (window of 84 days)
            assert sorted(a.date or "" for a in found if a.code == "cumulative-dap") == [
                "2025-03-11",
                "2025-03-21",
            ]
