"""Two work-arounds for pynetdicom's association threads (used by the SCP and the SCU).

- :func:`tune_association` (bound to ``EVT_CONN_OPEN``) turns Nagle's algorithm off
  and shortens the acceptor's DUL polling sleep.
- :func:`settle` waits for a requestor's reactor thread to resume between two
  C-STORE requests on one association.
"""

from __future__ import annotations

import socket
import time
from typing import Any

__all__ = ["DUL_LOOP_DELAY", "settle", "tune_association"]

DUL_LOOP_DELAY = 0.0005
"""Seconds pynetdicom's DUL reactor sleeps when idle. Its default, 1 ms, costs up to
1 ms per message (a bare pynetdicom SCP stores 280 instead of 400 instances/s); much
shorter sleeps make parallel associations fight for the GIL."""


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


def tune_association(event: Any) -> None:
    """EVT_CONN_OPEN: disable Nagle's algorithm and shorten the DUL idle sleep.

    pynetdicom leaves Nagle on, so a response split into several small PDUs waits for
    the peer's delayed ACK (about 40 ms per exchange).
    """
    dul = event.assoc.dul
    if event.assoc.is_acceptor and hasattr(dul, "_run_loop_delay"):
        # the acceptor answers requests; a requestor keeps pynetdicom's default
        dul._run_loop_delay = DUL_LOOP_DELAY
    sock = getattr(getattr(dul, "socket", None), "socket", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
