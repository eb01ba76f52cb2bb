"""Extraction on Dask: a LocalCluster of 2 worker processes, a cluster started as a
user would (``dask scheduler``, ``dask worker``), and a worker killed mid-run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from srkit.extract.run import extract
from tests.conftest import require_module, require_tool
from tests.extract.corpus import BROKEN
from tests.extract.helpers import same_dataset, sql

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _subset(corpus: Path, count: int) -> list[Path]:
    """``count`` SRs of the corpus and its broken files."""
    return [*sorted(corpus.glob("sr*.dcm"))[:count], *(corpus / b for b in BROKEN)]


def test_local_cluster_equals_one_process(tmp_path, corpus):
    require_module("distributed")
    serial, dask = tmp_path / "serial", tmp_path / "dask"
    files = _subset(corpus, 60)
    a = extract(files, kind="quantitative", out=serial, executor="serial", batch_size=8)
    written: list[bool] = []
    b = extract(
        files,
        kind="quantitative",
        out=dask,
        executor="dask:local:2",
        batch_size=8,
        on_batch=lambda batch, summary: written.append(batch.written and not batch.tables),
    )
    assert written
    assert all(written)
    assert a.rows == b.rows
    assert a.errors == b.errors == 3
    same_dataset(serial, dask, ["measurements"])


def test_killed_worker_every_row_once(tmp_path, corpus):
    distributed = require_module("distributed")
    serial, dask = tmp_path / "serial", tmp_path / "dask"
    files = _subset(corpus, 40)
    extract(files, kind="quantitative", out=serial, executor="serial", batch_size=2)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    )
    client = distributed.Client(cluster)
    killed: list[int] = []

    def kill_one() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if len(list((dask / "manifest").glob("part-*"))) >= 3:
                pids = client.run(os.getpid)
                pid = next(iter(pids.values()))
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.02)

    try:
        killer = threading.Thread(target=kill_one)
        killer.start()
        summary = extract(files, kind="quantitative", out=dask, executor=client, batch_size=2)
        killer.join()
    finally:
        client.close()
        cluster.close()
    assert killed, "no worker was killed"
    assert summary.files == len(files)
    same_dataset(serial, dask, ["measurements"])
    uids = sql(f"SELECT count(*), count(DISTINCT path) FROM '{dask}/manifest/*.parquet'")
    assert uids[0][0] == uids[0][1] == summary.files


def test_dask_scheduler_and_worker_processes(tmp_path, corpus):
    require_module("distributed")
    dask = require_tool("dask")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": SRC}
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen(
        [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [
            dask,
            "worker",
            address,
            "--nworkers",
            "2",
            "--nthreads",
            "1",
            "--host",
            "127.0.0.1",
            "--no-dashboard",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import distributed

        client = distributed.Client(address, timeout=30)
        client.wait_for_workers(2, timeout=30)
        client.close()
        out = tmp_path / "m"
        files = [str(p) for p in _subset(corpus, 30)]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "srkit.cli.main",
                "measurements",
                *files,
                "-o",
                f"{out}/",
                "--dask",
                address,
                "--batch-size",
                "8",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1  # the corpus's broken files
        assert "truncated.dcm" in done.stderr
        serial = tmp_path / "serial"
        extract(files, kind="quantitative", out=serial, executor="serial")
        same_dataset(serial, out, ["measurements"])
    finally:
        for proc in (worker, scheduler):
            proc.terminate()
        for proc in (worker, scheduler):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_killed_command_then_resume_equals_a_clean_run(tmp_path, corpus):
    """``--dask local:2`` killed (SIGKILL: driver, scheduler and cluster at once), then
    ``--resume``: every row once, and only the files left are read again."""
    require_module("distributed")
    subset = tmp_path / "in"
    subset.mkdir()
    for p in _subset(corpus, 60):
        os.link(p, subset / p.name)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    extract([subset], kind="quantitative", out=clean, executor="serial", batch_size=4)
    env = {**os.environ, "PYTHONPATH": SRC}
    command = [sys.executable, "-m", "srkit.cli.main", "measurements", str(subset)]
    proc = subprocess.Popen(
        [*command, "-o", f"{killed}/", "--dask", "local:2", "--batch-size", "4"],
        env=env,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the cluster's processes too, by their group
    )
    manifest = killed / "manifest"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if manifest.is_dir() and len(list(manifest.glob("part-*.parquet"))) >= 3:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    done_before = sql(f"SELECT count(*) FROM '{manifest}/*.parquet'")[0][0]
    total = len(list(subset.iterdir()))
    assert 0 < done_before < total
    resumed = subprocess.run(
        [*command, "-o", str(killed), "--resume", "--dask", "local:2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 1, resumed.stderr  # the corpus's broken files
    assert f"srkit: {total - done_before} files read" in resumed.stderr
    same_dataset(clean, killed, ["measurements"])
    counts = sql(f"SELECT count(*), count(DISTINCT path) FROM '{manifest}/*.parquet'")
    assert counts[0][0] == counts[0][1] == total
    leftovers = [p.name for p in killed.rglob("*") if p.is_file() and ".parquet." in p.name]
    assert leftovers == []
