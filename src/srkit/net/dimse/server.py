"""The listener's server: accepts connections on a listening socket and gives each
association a thread (:class:`srkit.net.dimse.association.Association`).

Abuse bounds before and at association (the association life cycle, PS3.8 Section 9.2):

- A new connection has ``artim`` seconds to deliver its A-ASSOCIATE-RQ (the ARTIM
  timer, PS3.8 Section 9.1.5). Connections that have not done so are limited per
  remote address (``max_pending_per_address``) and in all (``max_pending``), until
  they are associated or closed (a rejected one while it closes): past
  the first limit a new connection is closed at once; at the second one the oldest
  waiting connection of the address holding the most of them makes room, if that
  address holds more than the newcomer's (a known peer's address always gets in,
  at a stranger's expense), else the newcomer is closed. Nothing else waits or is
  locked out.
- Of ``max_associations`` slots, ``reserved_slots`` are kept for known peers
  (:class:`srkit.net.dimse.peers.KnownPeers`): strangers are rejected (2, 3, 2, local
  limit exceeded) once the others are taken.

The server accepts on a listening socket (possibly shared by forked workers, see
:mod:`srkit.net.dimse.workers`) and exposes what :func:`srkit.net.dimse.workers.serve`
needs: ``serve_forever``, ``shutdown`` and ``active_associations`` (each with
``is_established`` and ``abort()``).
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srkit.net.dimse.association import Association
from srkit.net.dimse.messages import Message
from srkit.net.dimse.peers import KnownPeers, normal_address

if TYPE_CHECKING:
    from srkit.db.staging import InFlight

__all__ = ["ARTIM", "Server"]

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())

ARTIM = 10.0
"""Seconds a new connection has to send its A-ASSOCIATE-RQ, however slowly it sends
(the ARTIM timer, PS3.8 Section 9.1.5), unless the server is given another."""
_REFUSAL_LOG = 10.0
"""Seconds between two log lines about connections closed for one address."""
_RESET = struct.pack("ii", 1, 0)
"""SO_LINGER on, 0 s: a refused connection is reset, leaving no TIME_WAIT behind."""


MIN_RATE = 1024.0
"""Bytes per second a message under way must average once past :data:`RATE_GRACE`."""
RATE_GRACE = 30.0
"""Seconds a message may take before :data:`MIN_RATE` applies."""


class Server:
    """Accepts associations on a listening socket; each gets a thread.

    Parameters
    ----------
    sock : socket.socket
        A bound, listening socket (non-blocking when shared with other processes).
    contexts : list of pynetdicom PresentationContext
        The supported contexts (with the roles the requestor may take).
    handlers : dict
        Command Field of a request -> ``handler(association, message)``.
    allowed : callable or None
        ``allowed(calling_ae)``: whether a caller may associate at all.
    accepts : callable or None
        ``accepts(abstract_syntax, command_field)``: whether a request belongs on a
        presentation context of that SOP class (else 0x0122).
    max_associations : int
        More concurrent associations are rejected (local limit exceeded).
    timeout : float
        Seconds an association may stay silent before it is aborted.
    artim : float
        Seconds a new connection has to send its A-ASSOCIATE-RQ.
    max_pending, max_pending_per_address : int
        Connections not associated (yet), in all and from one address (see the
        module docstring).
    known : KnownPeers or None
        The known peers (:meth:`srkit.net.dimse.peers.KnownPeers.from_config`).
    reserved_slots : int
        Association slots only known peers may take (when ``known`` lists any; at
        most ``max_associations - 1``, strangers keep one: refuse them with the
        peers file's ``allow_unknown = false``).
    idle_release : float
        Seconds without a request other than C-ECHO after which the listener
        releases an association (0: never).
    max_lifetime : float
        Seconds after which the listener releases an association between two
        operations (0: never).
    min_rate, rate_grace : float
        A message under way (a C-STORE data set) must average ``min_rate`` bytes per
        second once it has taken ``rate_grace`` seconds, else the association is
        aborted (0: no floor), so that a peer dripping bytes cannot hold a slot.
    max_dataset : int
        Largest data set accepted in one message (the association is aborted
        beyond it, as nothing bounds it in the protocol): 1 GiB.
    staging : Path or None
        The storage folder: C-STORE data sets larger than
        :data:`srkit.net.dimse.messages.MEMORY_MAX` stream to staged files there
        (:class:`Message` ``staged``), smaller ones stay in memory (``fragments``) and
        are written once, whole, when stored; None keeps them all in memory.
    in_flight : InFlight or None
        The counter of bytes in flight C-STORE data sets are reserved in (a data set
        beyond its limit is not staged: ``refusal``); None: the process's
        :data:`srkit.db.staging.IN_FLIGHT`.
    """

    def __init__(
        self,
        sock: socket.socket,
        contexts: list[Any],
        handlers: dict[int, Callable[[Association, Message], None]],
        *,
        allowed: Callable[[str], bool] | None = None,
        accepts: Callable[[str, int], bool] | None = None,
        max_associations: int = 32,
        timeout: float = 60.0,
        max_dataset: int = 1 << 30,
        artim: float = ARTIM,
        max_pending: int = 64,
        max_pending_per_address: int = 8,
        known: KnownPeers | None = None,
        reserved_slots: int = 0,
        idle_release: float = 60.0,
        min_rate: float = MIN_RATE,
        rate_grace: float = RATE_GRACE,
        max_lifetime: float = 0.0,
        staging: Path | None = None,
        in_flight: InFlight | None = None,
    ) -> None:
        from srkit.db.staging import IN_FLIGHT

        self.socket = sock
        self.contexts = contexts
        self.handlers = handlers
        self.allowed = allowed
        self.accepts = accepts or (lambda abstract_syntax, field: True)
        self.max_associations = max_associations
        self.timeout = timeout
        self.max_dataset = max_dataset
        self.artim = artim
        self.max_pending = max_pending
        self.max_pending_per_address = max_pending_per_address
        self.known = known if known else None
        self.reserved_slots = min(reserved_slots, max_associations - 1) if self.known else 0
        self.idle_release = idle_release
        self.min_rate = min_rate
        self.rate_grace = rate_grace
        self.max_lifetime = max_lifetime
        self.staging = staging
        self.in_flight = in_flight if in_flight is not None else IN_FLIGHT
        self.active_associations: list[Association] = []
        self._pending: dict[str, list[Association]] = {}
        self._pending_count = 0
        self._refused: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()

    def busy(self) -> bool:
        """Whether the established associations reach the limit (connections that
        have not associated, or have released, do not count)."""
        with self._lock:
            established = sum(1 for assoc in self.active_associations if assoc.is_established)
        return established >= self.max_associations

    def _claim(self, assoc: Association, calling_ae: str) -> bool:
        """Take an association slot for ``assoc`` (False: none left for it); strangers
        cannot take the last :attr:`reserved_slots`."""
        known = self.known is not None and self.known.peer(calling_ae, assoc.address)
        limit = self.max_associations - (0 if known else self.reserved_slots)
        with self._lock:
            established = sum(1 for other in self.active_associations if other.is_established)
            if established >= limit:
                return False
            assoc.is_established = True
            self._unpend(assoc)
        return True

    def _admit(self, assoc: Association) -> Association | bool:
        """Count a new connection among those not associated yet (under the lock).
        False: refuse it; True: room; an association: room once that one is evicted.

        A connection counts until it is associated or closed (one rejected counts
        while its A-ASSOCIATE-RJ lingers). Beyond ``2 * max_associations +
        max_pending`` connections in all (the rest closing after a release or an
        abort), new ones are refused too.
        """
        if len(self.active_associations) >= 2 * self.max_associations + self.max_pending:
            return False
        address = assoc.address
        count = len(self._pending.get(address, ()))
        if count >= self.max_pending_per_address:
            return False
        victim: Association | bool = True
        if self._pending_count >= self.max_pending:
            known = self.known.addresses if self.known is not None else frozenset()
            candidates = [waiting for other, waiting in self._pending.items() if other not in known]
            if not candidates:
                return False
            waiting = max(candidates, key=len)  # the first of those holding the most
            if address not in known and len(waiting) <= count:
                return False
            victim = waiting[0]  # its oldest
            self._unpend(victim)
        self._pending.setdefault(address, []).append(assoc)
        self._pending_count += 1
        return victim

    def _unpend(self, assoc: Association) -> None:
        """No longer count ``assoc`` among the connections not associated (lock held)."""
        waiting = self._pending.get(assoc.address)
        if waiting is not None and assoc in waiting:
            waiting.remove(assoc)
            self._pending_count -= 1
            if not waiting:
                del self._pending[assoc.address]

    def pending(self) -> dict[str, int]:
        """Connections not associated (yet), by address."""
        with self._lock:
            return {address: len(waiting) for address, waiting in self._pending.items()}

    def _refusal(self, address: str) -> None:
        """Log connections closed at once, at most once per address every
        :data:`_REFUSAL_LOG` seconds (with how many since the last line)."""
        now = time.monotonic()
        count, last = self._refused.get(address, (0, 0.0))
        count += 1
        if now - last < _REFUSAL_LOG and last:
            self._refused[address] = (count, last)
            return
        if len(self._refused) > 4096:
            self._refused.clear()
        self._refused[address] = (0, now)
        LOGGER.info(
            "%d connection(s) from %s closed at once: too many connections not "
            "associated yet (limits: %d per address, %d in all)",
            count,
            address,
            self.max_pending_per_address,
            self.max_pending,
        )

    def associations(self) -> list[Association]:
        """A snapshot of the associations in progress."""
        with self._lock:
            return list(self.active_associations)

    def _forget(self, assoc: Association) -> None:
        with self._lock:
            self._unpend(assoc)
            if assoc in self.active_associations:
                self.active_associations.remove(assoc)

    def serve_forever(self, poll_interval: float = 0.25) -> None:
        """Accept connections until :meth:`shutdown`."""
        self._stopped.clear()
        try:
            while not self._stop.is_set():
                try:
                    ready, _w, _x = select.select([self.socket], [], [], poll_interval)
                except (OSError, ValueError):
                    break  # the socket was closed
                if not ready:
                    continue
                try:
                    conn, peer = self.socket.accept()
                except (BlockingIOError, InterruptedError):
                    continue  # another worker took it
                except OSError as exc:
                    if self._stop.is_set():
                        break
                    # out of descriptors (EMFILE, ENFILE) or memory: the socket stays
                    # readable, so wait rather than spin
                    LOGGER.error("cannot accept a connection: %s", exc)
                    self._stop.wait(poll_interval)
                    continue
                assoc = Association(self, conn, normal_address(str(peer[0])))
                with self._lock:
                    admitted = self._admit(assoc)
                    if admitted:
                        self.active_associations.append(assoc)
                if not admitted:  # over the limits: close it, keep no thread for it
                    self._refusal(assoc.address)
                    with contextlib.suppress(OSError):
                        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
                    conn.close()
                    continue
                if isinstance(admitted, Association):  # made room: logged as refused
                    self._refusal(admitted.address)
                    admitted.evict()
                conn.setblocking(True)
                try:
                    threading.Thread(
                        target=assoc.run, name="srkit-association", daemon=True
                    ).start()
                except RuntimeError as exc:  # no more threads: drop this connection
                    LOGGER.error("cannot serve a connection: %s", exc)
                    self._forget(assoc)
                    conn.close()
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop accepting and close this process's descriptor of the socket (the
        associations in progress go on; abort them with their ``abort()``)."""
        self._stop.set()
        self._stopped.wait(5.0)
        with contextlib.suppress(OSError):
            self.socket.close()

    def start(self) -> Server:
        """Serve in a daemon thread; returns self."""
        thread = threading.Thread(target=self.serve_forever, name="srkit-listener", daemon=True)
        self._stopped.clear()
        thread.start()
        return self
