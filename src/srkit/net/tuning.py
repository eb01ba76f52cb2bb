"""Work-arounds for pynetdicom's association threads (used by the SCP and the SCU).

- :func:`tune_association` (bound to ``EVT_CONN_OPEN``) turns Nagle's algorithm off
  and, for an acceptor, makes its two polling threads wake on events instead of
  sleeping (see :func:`event_driven`).
- :func:`settle` waits for a requestor's reactor thread to resume between two
  C-STORE requests on one association.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
import weakref
from typing import Any

__all__ = ["DUL_LOOP_DELAY", "event_driven", "settle", "tune_association"]

DUL_LOOP_DELAY = 0.0005
"""Seconds pynetdicom's DUL reactor sleeps when idle (its default, 1 ms, costs up to
1 ms per message). An acceptor tuned by :func:`event_driven` waits this long at most
but wakes as soon as the socket is readable or a primitive is queued."""

_REACTOR_SLEEP = 0.001
"""The fixed sleep at the top of pynetdicom's association reactor loop (3.0)."""


def settle(assoc: Any, timeout: float = 0.5) -> None:
    """Wait until an association's reactor thread has resumed after an operation.

    pynetdicom pauses its reactor during ``send_c_store`` and resumes it afterwards;
    a next ``send_c_store`` issued before the reactor has woken up lets the reactor
    take the next response off the queue ("Received unexpected C-STORE service
    message"), and the sender then waits for the DIMSE timeout.
    """
    if assoc is None:
        return
    deadline = time.monotonic() + timeout
    while getattr(assoc, "_is_paused", False) and assoc.is_established:
        if time.monotonic() > deadline:
            return
        time.sleep(0.00005)


class _Clock:
    """Stands in for the ``time`` module inside ``pynetdicom.association`` and
    ``pynetdicom.dul``: a thread that :func:`event_driven` tuned waits on its events
    instead of sleeping; every other call goes to :mod:`time` unchanged."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        wait = getattr(threading.current_thread(), "_srkit_wait", None)
        if wait is None:
            time.sleep(seconds)
        else:
            wait(seconds)


_INSTALLED: list[bool] = []
_INSTALL_LOCK = threading.Lock()


def _install() -> None:
    """Put :class:`_Clock` into pynetdicom's association and DUL modules (once)."""
    with _INSTALL_LOCK:
        if _INSTALLED:
            return
        from pynetdicom import association, dul

        setattr(association, "time", _Clock())  # noqa: B010 - a module attribute
        setattr(dul, "time", _Clock())  # noqa: B010
        _INSTALLED.append(True)


def _reactor_wait(assoc: Any) -> Any:
    """The association reactor's 1 ms sleep becomes a wait for a DIMSE message (at
    most 1 ms, so its release, abort and timeout checks keep their pace)."""
    messages = assoc.dimse.msg_queue

    def wait(seconds: float) -> None:
        if seconds != _REACTOR_SLEEP:  # another loop in pynetdicom: keep its sleep
            time.sleep(seconds)
            return
        with messages.not_empty:
            if not messages._qsize():
                messages.not_empty.wait(seconds)

    return wait


def _dul_wait(dul: Any) -> Any:
    """The DUL reactor's idle sleep becomes a ``select`` on the socket and on a pipe
    written whenever a primitive is queued for sending."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    weakref.finalize(dul, os.close, wake_r)
    weakref.finalize(dul, os.close, wake_w)
    outgoing = dul.to_provider_queue
    put = outgoing.put

    def put_and_wake(item: Any, *args: Any, **kwargs: Any) -> None:
        put(item, *args, **kwargs)
        with contextlib.suppress(OSError):  # a full pipe wakes the reader anyway
            os.write(wake_w, b"\0")

    outgoing.put = put_and_wake
    owner = weakref.ref(dul)  # no cycle: the DUL and its socket go when pynetdicom drops them

    def wait(seconds: float) -> None:
        sock = getattr(getattr(owner(), "socket", None), "socket", None)
        if sock is None or outgoing.queue:
            time.sleep(0 if outgoing.queue else seconds)
            return
        try:
            select.select([sock, wake_r], [], [], seconds)
            with contextlib.suppress(OSError):
                os.read(wake_r, 4096)
        except (OSError, ValueError):  # closed meanwhile: the DUL notices itself
            time.sleep(seconds)

    return wait


def event_driven(assoc: Any) -> None:
    """Make an acceptor's reactor threads wake on events rather than poll.

    pynetdicom's association thread sleeps 1 ms before each look for a decoded
    DIMSE message, and its DUL thread sleeps between socket polls; on one
    association every C-STORE waits for both (about 1 ms). Here the association
    thread waits on its message queue and the DUL thread in ``select`` on the
    socket and a wake-up pipe, with the same time-outs, so the checks they make
    between sleeps keep their pace. Threads not tuned here are unaffected.
    """
    _install()
    dul = assoc.dul
    if hasattr(dul, "to_provider_queue") and hasattr(assoc, "dimse"):
        dul._srkit_wait = _dul_wait(dul)
        assoc._srkit_wait = _reactor_wait(assoc)


def tune_association(event: Any) -> None:
    """EVT_CONN_OPEN: disable Nagle's algorithm; an acceptor's reactors wake on
    events (:func:`event_driven`).

    pynetdicom leaves Nagle on, so a response split into several small PDUs waits for
    the peer's delayed ACK (about 40 ms per exchange).
    """
    dul = event.assoc.dul
    if event.assoc.is_acceptor and hasattr(dul, "_run_loop_delay"):
        # the acceptor answers requests; a requestor keeps pynetdicom's default
        dul._run_loop_delay = DUL_LOOP_DELAY
        event_driven(event.assoc)
    sock = getattr(getattr(dul, "socket", None), "socket", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
