"""Running ``srkit listen``: one process, or several worker processes on one port.

The server (:mod:`srkit.net.dimse.server`) serves each association in a thread of one
Python process, so one process is bound by one interpreter lock (about 1.5 ms of
CPU per C-STORE of a 160 KiB image, database indexing included). With
``workers > 1`` the parent binds the listening socket once and forks
the workers, which all accept from that socket; the kernel hands each new
association to one of them. Binding once (rather than ``SO_REUSEPORT`` in each
worker) keeps a busy port an error ("Address already in use") even when the other
listener is another srkit, and lets no other process join the port.

Every worker serves verification, storage, find, move and get with the same
configuration and the same database (its own connections, opened after the fork:
:meth:`Database.store_record` is safe across processes). The parent supervises:
SIGINT or SIGTERM stops every worker (each finishes its associations for up to
:data:`GRACE` seconds, then aborts them); a worker that dies is reported on stderr
and replaced after a back-off (:data:`BACKOFF` seconds, doubling with each recent
death), unless workers died :data:`MAX_DEATHS` times within :data:`DEATH_WINDOW`
seconds, in which case the listener stops (exit status 1). Associations of a dead
worker are lost (their peers get no acknowledgement for what was in flight);
acknowledged instances are committed already.

Workers die with their supervisor, even when it is killed with SIGKILL and cannot
stop them: on Linux each asks the kernel for a SIGTERM when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), and every worker also checks its parent's pid twice
a second. A worker stopping that way closes its descriptor of the listening socket
at once, so the port is free again within a fraction of a second; :func:`bind`
waits up to :data:`BIND_WAIT` seconds for a port that is still taken, which lets a
restart right after a SIGKILL succeed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from srkit.net.dimse.stop_signal import StopSignal

__all__ = [
    "BACKOFF",
    "BIND_WAIT",
    "DEATH_WINDOW",
    "GRACE",
    "MAX_DEATHS",
    "bind",
    "serve",
    "supervise",
]

GRACE = 5.0
"""Seconds a stopping worker waits for its associations to end before aborting them."""
MAX_DEATHS = 3
"""Worker deaths within :data:`DEATH_WINDOW` seconds that stop the listener."""
DEATH_WINDOW = 60.0
BACKOFF = 0.5
"""Seconds before a dead worker is replaced, doubled for each other death within
:data:`DEATH_WINDOW` (at most :data:`MAX_BACKOFF`)."""
MAX_BACKOFF = 30.0
BIND_WAIT = 2.0
"""Seconds :func:`bind` retries a port in use (the workers of a killed listener
free it within about half a second)."""
_PR_SET_PDEATHSIG = 1
_STOPS = {signal.SIGINT, signal.SIGTERM}
_supervisor: int | None = None
"""In a worker: the pid of the supervising process (it stops when that changes)."""


def bind(host: str, port: int, backlog: int = 128, *, wait: float = 0.0) -> socket.socket:
    """A non-blocking TCP socket listening on ``host:port`` (port 0: any free one).

    ``SO_REUSEADDR`` only, as pynetdicom sets it: on Linux it lets a restarted
    listener take a port whose old connections are in TIME_WAIT or still open
    (those of a killed listener's workers finishing their associations), but not a
    port another socket listens on; that is retried for ``wait`` seconds. Raises
    :class:`OSError` (``Address already in use``, an unknown host name, ...).
    """
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _name, address = infos[0]
    deadline = time.monotonic() + wait
    while True:
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(backlog)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)
            continue
        except BaseException:
            sock.close()
            raise
        return sock


def _orphaned() -> bool:
    """Whether this is a worker whose supervisor has died."""
    return _supervisor is not None and os.getppid() != _supervisor


def _die_with_parent(parent: int) -> bool:
    """In a new worker: have the kernel send SIGTERM when ``parent`` dies (Linux
    ``prctl(PR_SET_PDEATHSIG)``); False if it has died already."""
    global _supervisor
    _supervisor = parent
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):  # no libc to load: the pid check remains
            pass
    return not _orphaned()  # the parent may have died before prctl took effect


def serve(sock: socket.socket, make_server: Callable[[], Any], *, grace: float = GRACE) -> None:
    """Serve associations on ``sock`` in this process until SIGINT or SIGTERM.

    ``make_server()`` returns a server over ``sock`` that is not running
    (:func:`srkit.net.dimse.services.serve_socket`). On a stop signal the server stops accepting,
    the established associations get ``grace`` seconds to end, and whatever is left
    (associations still negotiating too) is aborted.
    """
    stop = StopSignal()
    stop.install()
    server = make_server()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.25}, daemon=True
    )
    thread.start()
    while not stop.wait(0.5) and thread.is_alive():
        if _orphaned():  # the supervisor was killed: free the port
            break
    server.shutdown()
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not any(assoc.is_established for assoc in server.associations()):
            break  # the rest are still negotiating (or idle connections): nothing to lose
        time.sleep(0.05)
    for assoc in server.associations():
        assoc.abort()


def _exit_reason(status: int) -> str:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            return f"killed by {signal.Signals(number).name}"
        except ValueError:
            return f"killed by signal {number}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _fork(work: Callable[[], None], restore: Callable[[], None]) -> int:
    """Run ``work()`` in a child process; its exit status is 0, or 1 if it raised.

    The child first calls ``restore()`` (the supervisor's signal handlers and pipe
    are not the worker's). SIGINT and SIGTERM are blocked across the fork, so one
    sent to the child before it has restored its handlers is not taken by the
    supervisor's handler (and lost) but kills it, as it would any new process."""
    parent = os.getpid()
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
    pid = os.fork()
    if pid:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        return pid
    code = 0
    try:
        restore()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # until the worker sets its own
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if not _die_with_parent(parent):
            os._exit(0)
        work()
    except BaseException:  # the child never returns into the caller's code
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(code)
    return 0  # pragma: no cover - not reached


def supervise(
    work: Callable[[], None],
    workers: int,
    *,
    name: str = "srkit",
    echo: Callable[[str], None] | None = None,
    grace: float = GRACE,
    indexer: Callable[[], None] | None = None,
    indexers: int = 1,
) -> int:
    """Fork ``workers`` processes running ``work()`` (and ``indexers`` running
    ``indexer()``, the deferred index of :mod:`srkit.db.inbox`, when given: each takes
    the inbox files no other holds) and watch them until SIGINT or SIGTERM; returns
    the exit status for the listener (0 stopped, 1 given up).

    A process that dies is reported through ``echo`` and replaced after a back-off,
    unless :data:`MAX_DEATHS` of them died within :data:`DEATH_WINDOW` seconds.
    Call it from a process without threads (``fork`` copies only the calling
    thread). The signal handlers only set a :class:`StopSignal` (SIGCHLD wakes it):
    a stop that arrives at any moment, even inside ``fork``, is seen.
    """
    jobs = dict.fromkeys(range(1, workers + 1), work)
    if indexer is not None:
        jobs.update(dict.fromkeys(range(workers + 1, workers + 1 + indexers), indexer))

    def label(index: int) -> str:
        if index <= workers:
            return f"worker {index}"
        return "indexer" if indexers == 1 else f"indexer {index - workers}"

    say = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    watched = (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD)
    previous = {sig: signal.getsignal(sig) for sig in watched}
    stop = StopSignal()

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop.close()

    stop.install()
    signal.signal(signal.SIGCHLD, lambda signum, frame: stop.wake())
    children: dict[int, int] = {}
    restarts: dict[int, float] = {}  # worker index -> when to start it again
    deaths: list[float] = []
    code = 0
    try:
        for index, job in jobs.items():
            if stop.is_set():
                break
            children[_fork(job, restore)] = index
        while not stop.is_set() and (children or restarts):
            for pid, status in _reaped():
                index = children.pop(pid, 0)
                if not index or code:
                    continue
                now = time.monotonic()
                deaths = [t for t in deaths if now - t < DEATH_WINDOW] + [now]
                if len(deaths) >= MAX_DEATHS:
                    say(
                        f"{name}: {label(index)} (pid {pid}) {_exit_reason(status)}; "
                        f"{len(deaths)} workers died within {DEATH_WINDOW:.0f} s: stopping"
                    )
                    code = 1
                    stop.set()
                    continue
                delay = min(BACKOFF * 2 ** (len(deaths) - 1), MAX_BACKOFF)
                say(
                    f"{name}: {label(index)} (pid {pid}) {_exit_reason(status)}; "
                    f"starting another in {delay:g} s"
                )
                restarts[index] = now + delay
            if stop.is_set():
                break
            now = time.monotonic()
            for index, when in sorted(restarts.items()):
                if when <= now:
                    del restarts[index]
                    children[_fork(jobs[index], restore)] = index
            soonest = min(restarts.values(), default=now + 1.0)
            stop.wait(min(1.0, max(0.0, soonest - time.monotonic())))
    finally:
        _stop_children(children, grace + 5.0)
        restore()
    return code


def _reaped() -> list[tuple[int, int]]:
    """The children that have exited, with their wait statuses (without blocking)."""
    done: list[tuple[int, int]] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        if not pid:
            return done
        done.append((pid, status))


def _stop_children(children: dict[int, int], timeout: float) -> None:
    """SIGTERM every child, wait up to ``timeout`` seconds, then SIGKILL the rest."""
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    pending = set(children)
    while pending:
        for pid in list(pending):
            try:
                done, _status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                pending.discard(pid)
        if not pending:
            break
        if time.monotonic() > deadline:
            for pid in pending:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            for pid in pending:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
            break
        time.sleep(0.05)
