"""``srkit listen --workers N``: several processes on one port, supervised; port errors."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner

from srkit.cli.main import cli
from srkit.db import Database
from srkit.net.dimse import client
from srkit.net.dimse.peers import Peer
from tests.conftest import data_files, data_path, require_tool
from tests.net.dimse.archive import acknowledged
from tests.net.dimse.listeners import Listener, children
from tests.peers import fresh_copies, peer_env

pytestmark = pytest.mark.peers

SOURCES = [  # a CT image and a TID 1500 report (the tests add an MR image)
    "ct/pydicom_CT_small.dcm",
    "sr-tid1500/dcmjs_sample-sr.dcm",
]


def storescu_parallel(port: int, files: list[Path], parallel: int) -> list[tuple[int, str]]:
    storescu = require_tool("storescu", "/usr/bin/storescu")
    procs = [
        subprocess.Popen(
            [storescu, "-v", "-R", "-aec", "SRKIT", "127.0.0.1", str(port)]
            + [str(p) for p in files[k::parallel]],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=peer_env(),
        )
        for k in range(parallel)
    ]
    logs = [proc.communicate(timeout=120)[1] for proc in procs]
    return [(proc.returncode, log) for proc, log in zip(procs, logs, strict=True)]


def check_acknowledged(db_path: Path, sent: list[Path]) -> None:
    """Every acknowledged file is indexed, stored under the storage folder, and the
    stored copy has the same SOP Instance UID and patient."""
    with Database(db_path) as db:
        indexed = {r["SOPInstanceUID"] for r in db.query("IMAGE", {}, fields=["SOPInstanceUID"])}
        for path in sent:
            src = pydicom.dcmread(path, stop_before_pixels=True)
            uid = str(src.SOPInstanceUID)
            assert uid in indexed
            stored = db.instance_path(uid)
            assert stored is not None
            assert stored.is_file()
            copy = pydicom.dcmread(stored, stop_before_pixels=True)
            assert copy.SOPInstanceUID == uid
            assert copy.PatientName == src.PatientName


def test_workers_auto_by_default(tmp_path):
    """Without --workers the listener runs one worker per CPU (at most 8)."""
    expected = min(os.cpu_count() or 1, 8)
    listener = Listener(tmp_path)
    try:
        workers = listener.ready(expected)
        assert len(workers) == expected
        assert client.echo(Peer("SRKIT", "127.0.0.1", listener.port)) == 0
    finally:
        assert listener.stop() == 0
    suffix = f" ({expected} workers)" if expected > 1 else ""
    assert f"listening on 127.0.0.1:{listener.port} as SRKIT{suffix}\n" in listener.stderr()


def test_two_workers_four_associations(tmp_path):
    files = fresh_copies(
        [data_path(p) for p in SOURCES] + data_files("mr/dcm4che_MR/*.dcm")[:1],
        400,
        tmp_path / "files",
        per_series=25,
    )
    listener = Listener(tmp_path, "--workers", "2")
    try:
        workers = listener.ready(2)
        assert len(workers) == 2
        results = storescu_parallel(listener.port, files, 4)
        sent: list[Path] = []
        for code, log in results:
            ok, other = acknowledged(log)
            assert code == 0, log[-500:]
            assert other == []
            sent += ok
        assert sorted(sent) == sorted(files)
        # the same database answers C-FIND in every worker
        for _ in range(4):
            studies = client.find(Peer("SRKIT", "127.0.0.1", listener.port), "STUDY", {})
            assert len(studies) == 400 // 50
    finally:
        assert listener.stop() == 0
    assert f"listening on 127.0.0.1:{listener.port} as SRKIT (2 workers)" in listener.stderr()
    assert children(listener.proc.pid) == []
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    check_acknowledged(listener.db_path, sent)
    with Database(listener.db_path) as db:
        assert len(db.query("IMAGE", {})) == 400


def test_killed_worker_is_replaced_and_acknowledged_kept(tmp_path):
    files = fresh_copies([data_path(SOURCES[0])], 300, tmp_path / "files", per_series=50)
    listener = Listener(tmp_path, "--workers", "2")
    try:
        first, second = listener.ready(2)
        storescu = require_tool("storescu", "/usr/bin/storescu")
        procs = [
            subprocess.Popen(
                [storescu, "-v", "-aec", "SRKIT", "127.0.0.1", str(listener.port)]
                + [str(p) for p in files[k::2]],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env=peer_env(),
            )
            for k in range(2)
        ]
        time.sleep(0.5)
        os.kill(second, signal.SIGKILL)
        logs = [proc.communicate(timeout=120)[1] for proc in procs]
        deadline = time.monotonic() + 20
        while "starting another" not in listener.stderr():
            assert time.monotonic() < deadline, listener.stderr()
            time.sleep(0.05)
        # the worker's number is its place in the start order, which PIDs need not
        # follow (they wrap around at pid_max)
        lines = {
            f"srkit: worker {n} (pid {second}) killed by SIGKILL; starting another in 0.5 s"
            for n in (1, 2)
        }
        assert lines & set(listener.stderr().splitlines())
        pids = listener.ready(2)
        assert first in pids
        assert second not in pids
        assert client.echo(Peer("SRKIT", "127.0.0.1", listener.port)) == 0
    finally:
        assert listener.stop(signal.SIGINT) == 0
    sent = [path for log in logs for path in acknowledged(log)[0]]
    assert sent  # the worker that lived acknowledged its share at least
    check_acknowledged(listener.db_path, sent)


def test_workers_keep_dying_stops_listener(tmp_path):
    listener = Listener(tmp_path, "--workers", "2")
    for _ in range(3):
        pids = listener.ready(2)
        os.kill(pids[0], signal.SIGKILL)
        deadline = time.monotonic() + 20
        while pids[0] in children(listener.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if listener.proc.poll() is not None:
            break
        time.sleep(0.3)  # let the replacement start
    assert listener.proc.wait(30) == 1
    last = listener.stderr().splitlines()[-1]
    assert last.endswith("3 workers died within 60 s: stopping"), last
    assert children(listener.proc.pid) == []


def test_access_control_in_workers(tmp_path):
    echoscu = require_tool("echoscu", "/usr/bin/echoscu")
    config = tmp_path / "peers.toml"
    config.write_text('[peers.FRIEND]\nhost = "127.0.0.1"\nport = 104\nallow = ["echo"]\n')
    listener = Listener(tmp_path, "--workers", "2", "--config", str(config))
    try:
        listener.ready(2)
        for _ in range(3):  # whichever worker answers
            base = [echoscu, "-aec", "SRKIT", "127.0.0.1", str(listener.port)]
            friend = subprocess.run([*base, "-aet", "FRIEND"], capture_output=True, env=peer_env())
            assert friend.returncode == 0, friend.stderr
            other = subprocess.run([*base, "-aet", "STRANGER"], capture_output=True, text=True)
            assert other.returncode != 0
            assert "Association Rejected" in other.stderr
    finally:
        listener.stop()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_busy_port(tmp_path, workers):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        listener = Listener(tmp_path, "--workers", workers, port=port)
        assert listener.proc.wait(30) == 1
    assert listener.stderr() == f"srkit: 127.0.0.1:{port}: cannot listen: Address already in use\n"


def test_port_taken_by_another_srkit_listener(tmp_path):
    first = Listener(tmp_path, "--workers", "2")
    try:
        first.ready(2)
        (tmp_path / "second").mkdir()
        second = Listener(tmp_path / "second", "--workers", "2", port=first.port)
        assert second.proc.wait(30) == 1
        assert "cannot listen: Address already in use" in second.stderr()
        assert "listening on" not in second.stderr()
    finally:
        first.stop()


@pytest.mark.parametrize(
    "args",
    [["--port", "99999"], ["--port", "-1"], ["--workers", "0"], ["--workers", "two"]],
)
def test_bad_usage(tmp_path, args):
    result = CliRunner().invoke(cli, ["listen", "--db", str(tmp_path / "x.sqlite"), *args])
    assert result.exit_code == 2
    assert "Invalid value" in result.output


def test_stop_lets_established_association_finish(tmp_path):
    from pynetdicom import AE
    from pynetdicom.sop_class import CTImageStorage

    listener = Listener(tmp_path, "--workers", "2")
    ds = pydicom.dcmread(data_path(SOURCES[0]))
    ae = AE(ae_title="TESTER")
    ae.add_requested_context(CTImageStorage, ds.file_meta.TransferSyntaxUID)
    try:
        listener.ready(2)
        assoc = ae.associate("127.0.0.1", listener.port, ae_title="SRKIT")
        assert assoc.is_established
        listener.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the workers stop accepting; this association may go on
        status = assoc.send_c_store(ds)
        assert status.Status == 0x0000
        assoc.release()
    finally:
        code = listener.stop()
    assert code == 0
    assert children(listener.proc.pid) == []
    with Database(listener.db_path) as db:
        stored = db.instance_path(str(ds.SOPInstanceUID))
        assert stored is not None
        assert pydicom.dcmread(stored).PatientID == ds.PatientID


@pytest.mark.parametrize("mode", ["immediate", "deferred"])
def test_stop_while_workers_are_starting(tmp_path, mode):
    """SIGTERM sent the moment the port opens (while the supervisor forks its workers,
    or before a worker has its own handlers) stops the listener and every worker
    promptly; it was once lost inside fork and left the listener running."""
    for attempt in range(12):
        root = tmp_path / str(attempt)
        root.mkdir()
        listener = Listener(root, "--workers", "2", "--index", mode)
        try:
            listener.ready(0)
            time.sleep(0.002 * (attempt % 4))  # a slightly different moment each time
            listener.proc.send_signal(signal.SIGTERM)
            started = time.monotonic()
            code = listener.proc.wait(30)
            took = time.monotonic() - started
        finally:
            if listener.proc.poll() is None:
                listener.proc.kill()
        assert code in (0, -signal.SIGTERM), listener.stderr()
        assert took < 4.0, (attempt, took, listener.stderr())  # not a worker's SIGKILL at 10 s
        assert "Traceback" not in listener.stderr()
        assert children(listener.proc.pid) == []
