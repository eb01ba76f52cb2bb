"""Work-arounds for pynetdicom's requestor associations (srkit's SCU commands and the
listener's C-MOVE sub-associations).

- :func:`tune_association` (bound to ``EVT_CONN_OPEN``) turns Nagle's algorithm off.
- :func:`settle` waits for a requestor's reactor thread to resume between two
  C-STORE requests on one association.

The listener itself does not use pynetdicom's association threads (see
:mod:`srkit.net.dimse.association`).
"""

from __future__ import annotations

import socket
import time
from typing import Any

__all__ = ["settle", "tune_association"]


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
    """EVT_CONN_OPEN: disable Nagle's algorithm.

    pynetdicom leaves Nagle on, so a request split into several small PDUs waits for
    the peer's delayed ACK (about 40 ms per exchange).
    """
    sock = getattr(getattr(event.assoc.dul, "socket", None), "socket", None)
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
