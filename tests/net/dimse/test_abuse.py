"""The listener under abuse (loopback only, bounded in count and time): floods of
connections that never associate, associations kept open with C-ECHO, and a
supervisor killed with SIGKILL. Known peers (listed in the peers file) are served
throughout; a flooding address locks out nobody but itself."""

from __future__ import annotations

import logging
import os
import re
import select
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydicom.uid import ImplicitVRLittleEndian
from pynetdicom.dsutils import encode

from srkit.cli.main import cli
from srkit.db import Database
from srkit.net.dimse import client as dimse_client
from srkit.net.dimse import services
from srkit.net.dimse.commands import decode_command, encode_command
from srkit.net.dimse.pdu import Connection, read_pdvs
from srkit.net.dimse.peers import KnownPeers, Peer, config_from_mapping
from srkit.net.dimse.workers import bind
from tests.conftest import require_tool
from tests.net.dimse.listeners import Listener, children
from tests.net.dimse.pdus import associate_rq
from tests.peers import peer_env

VERIFICATION = "1.2.840.10008.1.1"
STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
PEERS = {"allow_unknown": True, "peers": {"KNOWN": {"host": "127.0.0.1", "port": 104}}}


@pytest.fixture
def listener(tmp_path):
    """``start(**options)``: an in-process listener on a free port of 127.0.0.1 whose
    peers file lists KNOWN at 127.0.0.1; returns (server, port)."""
    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    config = config_from_mapping(PEERS)
    servers = []

    def start(**options):
        sock = bind("127.0.0.1", 0)
        options.setdefault("known", KnownPeers.from_config(config))
        server = services.make_server(db, sock, config=config, **options).start()
        servers.append(server)
        return server, sock.getsockname()[1]

    yield start
    for server in servers:
        server.shutdown()
        for assoc in server.associations():
            assoc.abort()
    db.close()


def echo(port: int, calling: str, timeout: float = 10.0) -> int:
    """C-ECHO through srkit's client (pynetdicom) from 127.0.0.1."""
    return dimse_client.echo(Peer("SRKIT", "127.0.0.1", port), calling_aet=calling, timeout=timeout)


def flood_from(port: int, sources: list[str]) -> tuple[list[socket.socket], int]:
    """Silent connections from each of ``sources``: those connected, and how many
    were reset before ``connect`` returned (refused at once)."""
    socks, resets = [], 0
    for source in sources:
        try:
            socks.append(silent(port, source))
        except ConnectionResetError:
            resets += 1
    return socks, resets


def silent(port: int, source: str) -> socket.socket:
    """A TCP connection from ``source`` (an address of 127.0.0.0/8) that sends nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    sock.setblocking(False)
    return sock


def closed_by_peer(sock: socket.socket) -> bool:
    """Whether the listener has closed (or reset) ``sock``, without waiting."""
    if not select.select([sock], [], [], 0)[0]:
        return False
    try:
        return sock.recv(1) == b""
    except OSError:
        return True


def refused_at_once(port: int, source: str) -> bool:
    """Whether a new connection from ``source`` is closed (or reset) within 5 s
    without a byte sent (the reset may come before ``connect`` returns)."""
    try:
        sock = silent(port, source)
    except ConnectionResetError:
        return True
    try:
        wait_until(lambda: closed_by_peer(sock), 5)
        return True
    finally:
        sock.close()


def wait_until(condition, timeout: float) -> float:
    """Seconds until ``condition()`` held; fails after ``timeout`` seconds."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "condition not met in time"
        time.sleep(0.02)
    return time.monotonic() - start


class Client:
    """A raw requestor from ``source``: associates, sends C-ECHO or C-FIND requests
    and answers the listener's A-RELEASE-RQ."""

    def __init__(self, port: int, calling: str, source: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection(
            ("127.0.0.1", port), timeout=10, source_address=(source, 0)
        )
        self.conn = Connection(self.sock)
        self.calling = calling
        self.released_at: float | None = None
        self.message_id = 0
        request = associate_rq(
            [(VERIFICATION, ImplicitVRLittleEndian), (STUDY_FIND, ImplicitVRLittleEndian)],
            calling=calling,
        )
        self.sock.sendall(request)
        self.kind, self.body = self.conn.read_pdu()
        self.associated_at = time.monotonic()

    def request(self, find: bool = False) -> int | None:
        """One C-ECHO (or C-FIND for no study) and its final status; None once the
        listener released the association (its A-RELEASE-RQ is answered)."""
        self.message_id += 1
        if find:
            fields = {
                0x0002: STUDY_FIND,
                0x0100: 0x0020,
                0x0110: self.message_id,
                0x0700: 0,
                0x0800: 0,
            }
            query = encode(dimse_client.identifier("STUDY", {}), True, True)
            out = self.conn.p_data(3, encode_command(fields), True)
            out += self.conn.p_data(3, query, False)
        else:
            fields = {0x0002: VERIFICATION, 0x0100: 0x0030, 0x0110: self.message_id}
            out = self.conn.p_data(1, encode_command(fields), True)
        try:
            self.sock.sendall(out)
        except OSError:
            return None
        while True:
            kind, body = self.conn.read_pdu()
            if kind == 5:  # A-RELEASE-RQ from the listener
                self.released_at = time.monotonic()
                self.conn.release_rp()
                return None
            assert kind == 4, f"PDU type {kind}"
            for _cid, flags, value in read_pdvs(body):
                if flags & 3 == 3:
                    command = decode_command(bytes(value))
                    if command[0x0900] != 0xFF00:  # not a pending C-FIND response
                        return int(command[0x0900])

    def close(self) -> None:
        self.sock.close()


# -- connections that never associate ----------------------------------------------------


def test_silent_flood_from_one_address(listener):
    """128 silent connections from 127.0.0.2, renewed as they are closed: 8 are kept
    waiting, the rest closed at once; an association established before, a known
    peer and a stranger from another address are served at once; once the flood
    stops the flooding address is served too."""
    server, port = listener(timeout=30.0, artim=30.0)  # no ARTIM closing during the test
    before = Client(port, "EARLY")
    assert before.kind == 2
    flood, resets = flood_from(port, ["127.0.0.2"] * 128)
    wait_until(lambda: resets + sum(map(closed_by_peer, flood)) >= 120, 10)
    open_ = [s for s in flood if not closed_by_peer(s)]
    assert len(open_) == 8
    assert server.pending() == {"127.0.0.2": 8}
    stop = threading.Event()
    renewed = [0]

    def renew() -> None:  # reconnect as fast as refused, for at most 10 s or 5000 times
        end = time.monotonic() + 10
        while not stop.is_set() and time.monotonic() < end and renewed[0] < 5000:
            try:
                silent(port, "127.0.0.2").close()
            except OSError:
                pass
            renewed[0] += 1
            time.sleep(0.001)

    thread = threading.Thread(target=renew, daemon=True)
    thread.start()
    try:
        start = time.monotonic()
        assert echo(port, "KNOWN") == 0
        assert echo(port, "STRANGER") == 0
        elapsed = time.monotonic() - start
        assert before.request() == 0  # established work goes on
        assert elapsed < 5.0, elapsed
    finally:
        stop.set()
        thread.join(15)
        for sock in flood:
            sock.close()
    assert renewed[0] > 0
    wait_until(lambda: not server.pending(), 5)
    again = Client(port, "STRANGER", source="127.0.0.2")
    assert again.kind == 2
    assert again.request() == 0
    again.close()
    before.close()


def test_silent_flood_from_many_addresses(listener):
    """One silent connection from each of 128 addresses: 64 wait (the total limit),
    the rest are closed; a known peer's address and a new address each make room by
    closing a flooder's connection, an address that has one waiting already does not."""
    server, port = listener(timeout=30.0, artim=30.0)  # no ARTIM closing during the test
    flood, resets = flood_from(port, [f"127.0.1.{n}" for n in range(1, 129)])
    wait_until(lambda: resets + sum(map(closed_by_peer, flood)) >= 64, 10)
    assert sum(server.pending().values()) == 64
    assert set(server.pending().values()) == {1}

    def closed() -> int:
        return resets + sum(map(closed_by_peer, flood))

    def full() -> bool:
        return sum(server.pending().values()) == 64

    try:
        start = time.monotonic()
        assert echo(port, "KNOWN") == 0  # from 127.0.0.1, a known peer's address
        assert time.monotonic() - start < 5.0
        assert closed() == 65  # one flooder made room
        flood.append(silent(port, "127.0.0.4"))  # the limit is reached again
        wait_until(full, 5)
        newcomer = Client(port, "STRANGER", source="127.0.0.3")
        assert newcomer.kind == 2
        assert newcomer.request() == 0
        newcomer.close()
        assert closed() == 66  # one more made room: 1 waiting against none
        flood.append(silent(port, "127.0.0.5"))
        wait_until(full, 5)
        waiting = next(iter(server.pending()))  # an address with one connection waiting
        assert refused_at_once(port, waiting)  # 1 against 1: no room
        assert closed() == 66
        assert full()
    finally:
        for sock in flood:
            sock.close()


def test_silent_connection_closed_at_artim(listener):
    """A connection that sends nothing is closed at the ARTIM time-out, well before
    the association idle time-out."""
    _server, port = listener(timeout=30.0, artim=1.0)
    sock = silent(port, "127.0.0.1")
    try:
        took = wait_until(lambda: closed_by_peer(sock), 10)
    finally:
        sock.close()
    assert 0.8 < took < 4.0, took


# -- associations kept open -------------------------------------------------------------


def test_echo_keepalive_flood_is_released(listener, caplog):
    """36 associations that send a C-ECHO every 0.3 s: 28 get a slot (4 of 32 are
    reserved), 8 are rejected; a known peer is served meanwhile, a stranger is not;
    each is released by the listener about 2 s after it associated, except one
    that does C-FIND; once they are gone a stranger is served."""
    caplog.set_level(logging.INFO, logger="srkit.net.dimse")
    server, port = listener(timeout=30.0, idle_release=2.0, reserved_slots=4)
    clients = [Client(port, "FLOOD") for _ in range(36)]
    accepted = [c for c in clients if c.kind == 2]
    rejected = [c for c in clients if c.kind == 3]
    assert len(accepted) == 28
    assert len(rejected) == 8
    assert {c.body for c in rejected} == {bytes([0, 2, 3, 2])}  # local limit exceeded
    for client in rejected:  # as a peer does; until then they count as not associated
        client.close()
    wait_until(lambda: not server.pending(), 5)
    worker = accepted.pop()  # this one keeps querying: real work, not released
    try:
        assert echo(port, "KNOWN") == 0  # a reserved slot
        with pytest.raises(dimse_client.NetError, match="rejected"):
            echo(port, "STRANGER")
        end = time.monotonic() + 8.0
        while time.monotonic() < end and any(c.released_at is None for c in accepted):
            for client in accepted:
                if client.released_at is None:
                    assert client.request() in (0, None)
            assert worker.request(find=True) == 0
            time.sleep(0.3)
        held = [c.released_at - c.associated_at for c in accepted if c.released_at]
        assert len(held) == 27
        assert min(held) > 1.8
        assert max(held) < 6.0
        assert worker.released_at is None
        assert worker.request(find=True) == 0
        wait_until(lambda: len(server.associations()) <= 2, 5)
        assert echo(port, "STRANGER") == 0
    finally:
        for client in clients:
            client.close()
    lines = [r.getMessage() for r in caplog.records if "released" in r.getMessage()]
    assert (
        lines.count("association from FLOOD at 127.0.0.1 released: only C-ECHO or nothing for 2 s")
        == 27
    )


def test_max_lifetime_releases_a_busy_association(listener, caplog):
    caplog.set_level(logging.INFO, logger="srkit.net.dimse")
    _server, port = listener(timeout=30.0, max_lifetime=1.5)
    client = Client(port, "BUSY")
    try:
        assert client.kind == 2
        end = time.monotonic() + 6.0
        while client.released_at is None and time.monotonic() < end:
            assert client.request(find=True) in (0, None)
            time.sleep(0.2)
        assert client.released_at is not None
        assert 1.4 < client.released_at - client.associated_at < 4.0
    finally:
        client.close()
    assert "association from BUSY at 127.0.0.1 released: open for 1.5 s" in caplog.messages


# -- the CLI: pynetdicom as the peer, workers and SIGKILL ------------------------------------


def test_idle_pynetdicom_association_released_by_cli(tmp_path):
    from pynetdicom import AE

    listener = Listener(tmp_path, "--workers", "1", "--idle-release", "1", "-v")
    ae = AE(ae_title="IDLER")
    ae.add_requested_context(VERIFICATION)
    try:
        listener.ready(0)
        assoc = ae.associate("127.0.0.1", listener.port, ae_title="SRKIT")
        assert assoc.is_established
        assert assoc.send_c_echo().Status == 0
        took = wait_until(lambda: not assoc.is_established, 10)
        assert assoc.is_released
        assert 0.5 < took < 6.0
    finally:
        assert listener.stop() == 0
    assert "association from IDLER at 127.0.0.1 released: only C-ECHO or nothing for 1 s" in (
        listener.stderr()
    )


@pytest.mark.peers
def test_dcmtk_known_peer_served_during_a_flood_of_two_workers(tmp_path):
    """Through ``srkit listen --workers 2``: 128 silent connections from 127.0.0.2
    leave at most 8 waiting in each worker; DCMTK echoscu as a known peer, then as a
    stranger once the flood stops, gets its C-ECHO answered."""
    echoscu = require_tool("echoscu", "/usr/bin/echoscu")
    config = tmp_path / "peers.toml"
    config.write_text('allow_unknown = true\n[peers.KNOWN]\nhost = "127.0.0.1"\nport = 104\n')
    listener = Listener(tmp_path, "--workers", "2", "--config", str(config), "-v")
    try:
        listener.ready(2)
        flood, resets = flood_from(listener.port, ["127.0.0.2"] * 128)
        wait_until(lambda: resets + sum(map(closed_by_peer, flood)) >= 128 - 16, 10)
        base = [echoscu, "-to", "5", "-aec", "SRKIT", "127.0.0.1", str(listener.port)]
        start = time.monotonic()
        known = subprocess.run([*base, "-aet", "KNOWN"], capture_output=True, env=peer_env())
        took = time.monotonic() - start
        assert known.returncode == 0, known.stderr
        assert took < 5.0, took
        for sock in flood:
            sock.close()
        stranger = subprocess.run(
            [*base, "-aet", "STRANGER"], capture_output=True, env=peer_env(), timeout=30
        )
        assert stranger.returncode == 0, stranger.stderr
    finally:
        assert listener.stop() == 0
    assert "from 127.0.0.2 closed at once: too many connections not associated yet" in (
        listener.stderr()
    )


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_sigkill_of_supervisor_ends_workers_and_restart_works(tmp_path):
    first = Listener(tmp_path, "--workers", "2")
    workers = first.ready(2)
    assert echo(first.port, "KNOWN") == 0
    first.proc.kill()
    assert first.proc.wait(10) == -signal.SIGKILL
    gone = wait_until(lambda: not any(map(alive, workers)), 10)
    assert gone < 3.0
    (tmp_path / "again").mkdir()
    start = time.monotonic()
    second = Listener(tmp_path / "again", "--workers", "2", port=first.port)
    try:
        second.ready(2)
        assert echo(second.port, "KNOWN") == 0
        assert time.monotonic() - start < 20
    finally:
        assert second.stop() == 0
    assert "cannot listen" not in second.stderr()


def test_sigkill_right_before_restart(tmp_path):
    """A restart issued the moment the supervisor is killed waits for its workers to
    free the port, then listens."""
    first = Listener(tmp_path, "--workers", "2")
    workers = first.ready(2)
    (tmp_path / "again").mkdir()
    first.proc.kill()
    second = Listener(tmp_path / "again", "--workers", "1", port=first.port)
    try:
        wait_until(lambda: "listening on" in second.stderr() or second.proc.poll(), 30)
        assert echo(second.port, "KNOWN") == 0  # the old workers have let go of the port
    finally:
        assert second.stop() == 0
    assert first.proc.wait(10) == -signal.SIGKILL
    assert not any(map(alive, workers))
    assert f"listening on 127.0.0.1:{first.port}" in second.stderr()


def test_worker_notices_a_new_parent_without_a_signal(tmp_path):
    """Where no parent-death signal comes, a worker whose supervisor pid is no
    longer its parent stops serving by itself (within about a second)."""
    from srkit.net.dimse import workers as listening

    sock = bind("127.0.0.1", 0)
    db_path = tmp_path / "db.sqlite"
    Database(db_path, storage=tmp_path / "storage").close()

    def work() -> None:
        listening._supervisor = os.getppid() + 100000  # as if the parent had changed
        db = Database(db_path, storage=tmp_path / "storage")
        make = lambda: services.make_server(db, sock, config=config_from_mapping({}))  # noqa: E731
        listening.serve(sock, make, grace=0.5)

    start = time.monotonic()
    pid = listening._fork(work, restore=lambda: None)
    sock.close()
    status = None
    while status is None and time.monotonic() - start < 10.0:
        done, code = os.waitpid(pid, os.WNOHANG)
        status = code if done else None
        time.sleep(0.05)
    if status is None:  # still serving: stop it, and fail
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert status is not None, "the worker went on serving"
    assert os.waitstatus_to_exitcode(status) == 0


def test_killed_worker_replaced_after_backoff(tmp_path):
    listener = Listener(tmp_path, "--workers", "2")
    try:
        first, second = listener.ready(2)
        os.kill(second, signal.SIGKILL)
        killed = time.monotonic()
        wait_until(lambda: len(set(children(listener.proc.pid)) - {first, second}) == 1, 10)
        took = time.monotonic() - killed
        assert took > 0.4, took  # the back-off
        # the worker's number is its place in the start order, which PIDs need not
        # follow (they wrap around at pid_max)
        lines = {
            f"srkit: worker {n} (pid {second}) killed by SIGKILL; starting another in 0.5 s"
            for n in (1, 2)
        }
        assert lines & set(listener.stderr().splitlines())
        assert echo(listener.port, "KNOWN") == 0
    finally:
        assert listener.stop() == 0
    assert children(listener.proc.pid) == []


def test_listen_help_documents_the_limits():
    result = CliRunner().invoke(cli, ["listen", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for option, default in [  # each option's help ends with its default
        ("--artim", "10.0"),
        ("--max-pending", "64"),
        ("--max-pending-per-address", "8"),
        ("--reserved-slots", "4"),
        ("--idle-release", "60.0"),
        ("--max-lifetime", "0.0"),
        ("--timeout", "60.0"),
    ]:
        found = re.search(re.escape(option) + r" [^\[]*\[default: ([^\];]+)[;\]]", text)
        assert found is not None, option
        assert found.group(1) == default, option


def test_a_dripping_message_is_aborted_and_frees_its_slot(listener):
    """Review defect 11: a peer that starts a message and then drips it (here a C-FIND
    identifier, one byte every 0.2 s) is aborted once below ``min_rate`` past the
    grace time, and its slot serves the next caller."""
    _server, port = listener(timeout=30.0, max_associations=1, min_rate=1000, rate_grace=1.0)
    drip = Client(port, "DRIPPER")
    try:
        assert drip.kind == 2
        fields = {0x0002: STUDY_FIND, 0x0100: 0x0020, 0x0110: 1, 0x0700: 0, 0x0800: 0}
        drip.sock.sendall(drip.conn.p_data(3, encode_command(fields), True))
        query = encode(dimse_client.identifier("STUDY", {}), True, True)
        start = time.monotonic()
        aborted = None
        for byte in query[:-1]:  # never the last fragment
            try:
                # one P-DATA-TF, one PDV: a data set fragment that is not the last
                pdv = struct.pack(">BBIIBB", 4, 0, 7, 3, 3, 0) + bytes([byte])
                drip.sock.sendall(pdv)
            except OSError:
                aborted = time.monotonic() - start
                break
            if drip.conn.wait_readable(0.2):
                try:
                    kind, _body = drip.conn.read_pdu()
                except Exception:  # the listener closed the connection
                    kind = 7
                assert kind == 7  # A-ABORT
                aborted = time.monotonic() - start
                break
        assert aborted is not None
        assert 0.8 < aborted < 5.0
    finally:
        drip.close()
    other = Client(port, "NEXT")  # the one slot is free again
    try:
        assert other.kind == 2
        assert other.request() == 0
    finally:
        other.close()
