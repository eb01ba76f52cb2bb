"""The C-STORE fast path: received bytes are stored as they came and indexed from
srkit's parser; the acceptor's reactor threads wake on events (srkit.net.tuning)."""

from __future__ import annotations

import subprocess
import threading
import time

import pydicom
import pytest

from srkit.net import tuning
from srkit.net.peers import peer_env
from tests.conftest import data_files, require_tool
from tests.test_net_dimse import archive  # noqa: F401  (fixture)


def test_storescu_bytes_stored_as_sent(archive):  # noqa: F811
    """DCMTK sends the files over one association in their own transfer syntax; each
    stored file holds the data set bytes exactly as in the source file."""
    storescu = require_tool("storescu", "/usr/bin/storescu")
    files = sorted(data_files("ct/pydicom_CT2/*.dcm"))
    assert len(files) >= 3
    run = subprocess.run(
        [storescu, "-aec", archive.aet, "127.0.0.1", str(archive.port), *map(str, files)],
        capture_output=True,
        text=True,
        env=peer_env(),
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    for path in files:
        source = pydicom.dcmread(path)
        uid = str(source.SOPInstanceUID)
        stored = archive.db.instance_path(uid).read_bytes()
        # the data set part (after the File Meta Information) is byte-identical
        body = path.read_bytes()
        start = 132 + _meta_length(body)
        assert stored.endswith(body[start:])
        [row] = archive.db.instances(SOPInstanceUID=uid)
        assert row["PatientID"] == str(source.PatientID)
        assert row["InstanceNumber"] == int(source.InstanceNumber)
    assert archive.db.check_integrity() == []


def _meta_length(data: bytes) -> int:
    """Bytes of the File Meta Information group (0002,0000 gives its length)."""
    assert data[128:132] == b"DICM"
    assert data[132:136] == b"\x02\x00\x00\x00"
    return 12 + int.from_bytes(data[140:144], "little")


def test_clock_leaves_other_threads_alone():
    """Threads not tuned by event_driven sleep as with time.sleep."""
    clock = tuning._Clock()
    start = time.perf_counter()
    clock.sleep(0.02)
    assert time.perf_counter() - start >= 0.019
    assert clock.monotonic() > 0  # other names come from the time module


def test_reactor_wait_wakes_on_a_message():
    """The association reactor's 1 ms sleep ends as soon as a message is queued and
    lasts its full time otherwise; other sleeps are unchanged."""
    import queue
    from types import SimpleNamespace

    messages: queue.Queue[object] = queue.Queue()
    wait = tuning._reactor_wait(SimpleNamespace(dimse=SimpleNamespace(msg_queue=messages)))
    start = time.perf_counter()
    wait(tuning._REACTOR_SLEEP)
    assert time.perf_counter() - start >= 0.0009
    messages.put("msg")
    start = time.perf_counter()
    for _ in range(100):
        wait(tuning._REACTOR_SLEEP)
    assert time.perf_counter() - start < 0.05  # a queued message: no sleeping
    start = time.perf_counter()
    wait(0.02)
    assert time.perf_counter() - start >= 0.019


@pytest.mark.parametrize("queued", [False, True])
def test_dul_wait_wakes_on_outgoing_primitive(queued):
    """The DUL's idle wait ends when a primitive is queued for sending."""
    import queue
    import socket
    from types import SimpleNamespace

    left, right = socket.socketpair()
    try:

        class Dul:  # the two attributes of pynetdicom's DULServiceProvider used
            to_provider_queue: queue.Queue[object] = queue.Queue()
            socket = SimpleNamespace(socket=left)

        dul = Dul()
        wait = tuning._dul_wait(dul)
        if queued:
            threading.Timer(0.01, dul.to_provider_queue.put, ["primitive"]).start()
        else:
            threading.Timer(0.01, right.send, [b"x"]).start()
        start = time.perf_counter()
        wait(2.0)
        assert time.perf_counter() - start < 1.0
    finally:
        left.close()
        right.close()
