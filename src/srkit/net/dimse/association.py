"""One accepted association, served by its own thread: DIMSE messages in and out
over :mod:`srkit.net.dimse.pdu` (PS3.8 Sections 7 and 9, PS3.7 Section 6.3).

An association thread negotiates (PS3.8 Section 7.1), then reads one DIMSE message at
a time (a command set and, unless its Command Data Set Type is 0x0101, a data set;
PS3.7 Section 6.3, PS3.8 Annex E) and hands it to the handler of its Command Field
(the services, :mod:`srkit.net.dimse.services`), which answers through
:meth:`Association.respond`. Asynchronous operations are not negotiated (window 1/1,
PS3.7 Annex D.3.3.3), so requests are served in order; a C-CANCEL (PS3.7 Section
9.3.2.3) is noticed between the responses of a C-FIND, C-MOVE or C-GET
(:meth:`Association.cancelled`). An A-RELEASE-RQ is answered at once; a protocol
error, an idle connection (``timeout`` seconds) or a dropped connection ends the
association with an A-ABORT.

An association that has served no request but C-ECHO for ``idle_release`` seconds,
or that has lasted ``max_lifetime`` seconds, is released by the listener between two
operations (A-RELEASE-RQ, PS3.8 Section 7.2; an A-ABORT if no A-RELEASE-RP comes).
The limits on connections that have not associated yet are the server's
(:mod:`srkit.net.dimse.server`).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from srkit.net.dimse.commands import ABSENT, CommandError, Field, decode_command, encode_command
from srkit.net.dimse.messages import DataSetStage, Message
from srkit.net.dimse.pdu import (
    MAX_PDU,
    Connection,
    PduType,
    PeerClosed,
    ProtocolError,
    negotiate,
    read_pdvs,
)
from srkit.net.status import CANNOT_UNDERSTAND, SOP_CLASS_NOT_SUPPORTED, UNRECOGNIZED_OPERATION

if TYPE_CHECKING:
    from srkit.net.dimse.server import Server

__all__ = ["Association"]

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())

RELEASE_WAIT = 5.0
"""Seconds the peer has to answer an A-RELEASE-RQ of the listener."""
MAX_COMMAND = 1 << 16
"""Largest command set accepted (real ones are under 1 KiB)."""


class _Gone(Exception):
    """The association ended (released, aborted or dropped) during an operation."""


class Association:
    """One accepted connection, served by its own thread (:meth:`run`).

    Parameters
    ----------
    server : Server
        The server that accepted the connection.
    sock : socket.socket
        The connected socket.
    """

    def __init__(self, server: Server, sock: socket.socket, address: str = "") -> None:
        self.server = server
        self.conn = Connection(sock)
        self.address = address
        """The peer's IP address."""
        self.calling_ae = ""
        self.contexts: dict[int, Any] = {}
        self.is_established = False
        self.is_aborted = False
        self._waiting: Message | None = None
        self._items: deque[tuple[int, int, Any]] = deque()
        self._ended = False
        self._release = False
        self._next_id = 0
        self._since = self._last_work = 0.0

    # -- life cycle -------------------------------------------------------------------

    def run(self) -> None:
        """Negotiate, then serve messages until release, abort or error."""
        sock = self.conn.sock
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conn.set_timeout(self.server.timeout)
            if self._negotiate():
                self._serve()
        except PeerClosed:
            if not self.is_aborted and self.is_established:
                LOGGER.info("association from %s: the peer closed the connection", self.calling_ae)
        except (ProtocolError, CommandError) as exc:
            if not self.is_aborted:
                LOGGER.warning("association from %s aborted: %s", self.calling_ae or "?", exc)
                reason = exc.reason if isinstance(exc, ProtocolError) else 6
                self.conn.abort(reason=reason)
        except _Gone:
            pass
        except (OSError, ValueError) as exc:  # reset, timed out, or closed by abort()
            if not self.is_aborted:
                LOGGER.info("association from %s ended: %s", self.calling_ae or "?", exc)
                self.conn.abort()
        except Exception:  # a bug: abort this association, keep serving others
            LOGGER.exception("association from %s failed", self.calling_ae or "?")
            self.conn.abort()
        finally:
            self.is_established = False
            if self._waiting is not None:  # a request that will never be served
                self._waiting.close()
            with contextlib.suppress(OSError):
                self.conn.close(linger=0.0 if self.is_aborted else 1.0)
            self.server._forget(self)

    def abort(self) -> None:
        """A-ABORT the association (from another thread, e.g. on shutdown): the PDU
        goes out only between two PDUs of the association and only if the socket
        takes it at once; the connection is shut down either way."""
        self.is_aborted = True
        self.conn.abort(source=0, wait=False)
        with contextlib.suppress(OSError):
            self.conn.sock.shutdown(socket.SHUT_RDWR)

    def evict(self) -> None:
        """Close a connection that has not associated, to make room (from the
        accepting thread): its own thread sees the end of the stream and ends."""
        self.is_aborted = True
        with contextlib.suppress(OSError):
            self.conn.sock.shutdown(socket.SHUT_RDWR)

    def _negotiate(self) -> bool:
        self.conn.deadline = time.monotonic() + min(self.server.artim, self.server.timeout)
        kind, body = self.conn.read_pdu()
        self.conn.deadline = None
        if kind != PduType.ASSOCIATE_RQ:
            reason = 2 if 1 <= kind <= 7 else 1  # unexpected / unrecognized PDU
            raise ProtocolError(f"expected an A-ASSOCIATE-RQ, got PDU type {kind}", reason)
        reply, result = negotiate(
            body,
            self.server.contexts,
            allowed=self.server.allowed,
            busy=lambda calling: not self.server._claim(self, calling),
        )
        self.conn.send(reply)
        if result is None:
            return False
        self.calling_ae = result.calling_ae
        self.contexts = result.contexts
        self.conn.peer_max = result.peer_max
        self.is_established = True
        return True

    def _serve(self) -> None:
        self._since = self._last_work = time.monotonic()
        while True:
            if self._release:  # after the operation the request came during, if any
                self.is_established = False  # before the peer can associate again
                self.conn.release_rp()
                return
            if self._waiting is None and not self._items and not self._await_request():
                return  # released by the listener
            message, self._waiting = self._waiting or self.read_message(), None
            if message is None and not self._release:
                return  # aborted
            if message is not None:
                self._dispatch(message)
                if message.field != Field.C_ECHO_RQ and message.field in self.server.handlers:
                    self._last_work = time.monotonic()

    def _await_request(self) -> bool:
        """Wait for the next request while the idle and lifetime bounds allow; past
        them release the association (False)."""
        server = self.server
        bounds = []
        if server.idle_release > 0:
            bounds.append((self._last_work + server.idle_release, "idle"))
        if server.max_lifetime > 0:
            bounds.append((self._since + server.max_lifetime, "lifetime"))
        if not bounds:
            return True
        deadline, why = min(bounds)
        left = deadline - time.monotonic()
        if left > server.timeout:
            return True  # the socket's idle time-out comes first
        if left > 0 and self.conn.wait_readable(left):
            return True
        if why == "idle":
            reason = f"only C-ECHO or nothing for {server.idle_release:g} s"
        else:
            reason = f"open for {server.max_lifetime:g} s"
        self._release_by_listener(reason)
        return False

    def _release_by_listener(self, reason: str) -> None:
        """A-RELEASE-RQ to the peer, then wait (at most :data:`RELEASE_WAIT`
        seconds) for its A-RELEASE-RP; requests that cross it are not answered."""
        LOGGER.info("association from %s at %s released: %s", self.calling_ae, self.address, reason)
        self.is_established = False  # the slot is free from now on
        conn = self.conn
        conn.release_rq()
        conn.deadline = time.monotonic() + min(RELEASE_WAIT, self.server.timeout)
        conn.deadline_reason = f"no A-RELEASE-RP within {RELEASE_WAIT:g} s"
        while True:
            kind, length = conn.read_header()
            if length > MAX_PDU:
                raise ProtocolError(f"PDU of {length} bytes (type {kind}) exceeds {MAX_PDU}")
            conn.read_exact(length)
            if kind == PduType.RELEASE_RQ:  # both asked at once (PS3.8 Section 9.2.5)
                conn.release_rp()
                return
            if kind in (PduType.RELEASE_RP, PduType.ABORT):
                return
            if kind != PduType.P_DATA:
                raise ProtocolError(f"unexpected PDU type {kind}", 2 if 1 <= kind <= 7 else 1)

    def _dispatch(self, message: Message) -> None:
        try:
            self._handle(message)
        finally:
            message.close()

    def _handle(self, message: Message) -> None:
        field = message.field
        if field == Field.C_CANCEL_RQ:
            return  # a cancel for an operation that has ended already
        if field & 0x8000:  # a response nobody asked for: not answered
            LOGGER.info("association from %s: stray response 0x%04X", self.calling_ae, field)
            return
        handler = self.server.handlers.get(field)
        if handler is None:
            self.respond(message, field | 0x8000, UNRECOGNIZED_OPERATION)
            return
        abstract = str(self.contexts[message.context_id].abstract_syntax)
        if not self.server.accepts(abstract, field):
            self.respond(message, field | 0x8000, SOP_CLASS_NOT_SUPPORTED)
            return
        handler(self, message)

    # -- reading ----------------------------------------------------------------------

    def read_message(self) -> Message | None:
        """The next DIMSE message; ``None`` once the peer released or aborted.

        Data items left in a P-DATA-TF after a message ends start the next one (a PDU
        may carry several, PS3.8 Section 9.3.5).
        """
        parts: list[Any] = []
        size = 0
        command: dict[int, Any] | None = None
        context_id: int | None = None
        stage: DataSetStage | None = None
        items = self._items
        began: float | None = None  # when the message's first fragment arrived
        got = 0  # its bytes so far
        rate = self.server.min_rate
        try:
            while True:
                while items:
                    cid, flags, data = items.popleft()
                    if context_id is None:
                        if cid not in self.contexts:
                            raise ProtocolError(f"presentation context {cid} was not accepted", 6)
                        context_id = cid
                        began = time.monotonic()
                    elif cid != context_id:
                        raise ProtocolError("a message switched presentation contexts", 6)
                    size += len(data)
                    got += len(data)
                    if flags & 1:
                        if command is not None:
                            raise ProtocolError("a command fragment after the command set", 6)
                        if size > MAX_COMMAND:
                            raise ProtocolError(f"command set longer than {MAX_COMMAND} bytes", 6)
                        parts.append(data)
                        if flags & 2:
                            command = decode_command(b"".join(parts))
                            parts, size = [], 0
                            if command.get(0x0800, ABSENT) == ABSENT:
                                return Message(context_id, command, None)
                            if self.server.staging is not None and (
                                command.get(0x0100) == Field.C_STORE_RQ
                            ):
                                stage = DataSetStage(self, context_id, command)
                    else:
                        if command is None:
                            raise ProtocolError("a data set fragment before the command set", 6)
                        if size > self.server.max_dataset:
                            raise ProtocolError(
                                f"data set larger than {self.server.max_dataset} bytes"
                            )
                        if stage is not None:
                            stage.add(data)
                        else:
                            parts.append(data)
                        if flags & 2:
                            if stage is not None:
                                message, stage = stage.message(), None
                                return message
                            return Message(context_id, command, parts)
                if began is not None and rate > 0:
                    # a message under way must keep arriving at ``min_rate`` on average
                    # once past the grace time: a peer dripping a data set (or a
                    # PDU) cannot hold its association slot forever
                    self.conn.deadline = began + self.server.rate_grace + got / rate
                    self.conn.deadline_reason = (
                        f"message arriving slower than {rate:g} bytes/s (--min-rate)"
                    )
                kind, length = self.conn.read_header()
                if began is not None and rate > 0:
                    self.conn.deadline = began + self.server.rate_grace + (got + length) / rate
                if kind != PduType.P_DATA:
                    self.conn.read_exact(min(length, 1 << 16))
                    if kind == PduType.RELEASE_RQ and context_id is None:
                        self._release = True  # answered once the operation in hand ends
                        return None
                    if kind == PduType.ABORT:
                        self.is_established = False
                        return None
                    raise ProtocolError(f"unexpected PDU type {kind}", 2 if 1 <= kind <= 7 else 1)
                if length > MAX_PDU:
                    raise ProtocolError(f"P-DATA-TF of {length} bytes exceeds {MAX_PDU}")
                items.extend(read_pdvs(self.conn.read_exact(length)))
        finally:
            if began is not None:
                self.conn.deadline = None
            if stage is not None:  # the message never completed
                stage.discard()

    def cancelled(self, message_id: int) -> bool:
        """Whether a C-CANCEL for ``message_id`` has arrived (without waiting).

        Other messages that arrived meanwhile are kept for later; an A-RELEASE-RQ is
        answered after the operation's last response; an abort ends the operation
        (:class:`_Gone` at the next response).
        """
        while not self._release and self.conn.pending():
            message = self.read_message()
            if message is None:
                if self._release:
                    return False
                self._ended = True
                return True
            if message.field == Field.C_CANCEL_RQ:
                if int(message.command.get(0x0120, -1)) == message_id:
                    return True
                continue
            self._queue(message)
        return False

    def _queue(self, message: Message) -> None:
        """Keep a request that arrived during an operation, for after it. Without an
        asynchronous operations window (PS3.7 Annex D.3.3.3) a peer may not send
        requests meanwhile; one is tolerated, more end the association."""
        if self._waiting is not None:
            raise ProtocolError("requests during an operation (no asynchronous window)", 2)
        self._waiting = message

    # -- writing ----------------------------------------------------------------------

    def send_message(self, context_id: int, fields: dict[int, Any], dataset: bytes | None) -> None:
        """Send a command (and its data set) on a presentation context."""
        if self._ended or not self.is_established:
            raise _Gone
        fields[0x0800] = ABSENT if dataset is None else 0x0000
        out = self.conn.p_data(context_id, encode_command(fields), True)
        if dataset is not None:
            out += self.conn.p_data(context_id, dataset, False)
        self.conn.send(out)

    def respond(
        self,
        request: Message,
        field: int,
        status: int,
        dataset: bytes | None = None,
        extra: Mapping[int, Any] | None = None,
    ) -> None:
        """Answer ``request``: its context, Message ID Being Responded To, Affected
        SOP Class (and Instance) UID; ``extra`` holds further command elements by
        element number (0x0902 Error Comment, 0x1020... sub-operation counts)."""
        fields: dict[int, Any] = {
            0x0002: request.command.get(0x0002)
            or self.contexts[request.context_id].abstract_syntax,
            0x0100: field,
            0x0120: request.message_id,
            0x0900: status,
        }
        if 0x1000 in request.command and field in (Field.C_STORE_RSP, Field.C_ECHO_RSP):
            fields[0x1000] = request.command[0x1000]
        if extra:
            fields.update(extra)
        self.send_message(request.context_id, fields, dataset)

    def next_message_id(self, base: int) -> int:
        """A Message ID for a request the listener sends (C-GET sub-operations)."""
        self._next_id += 1
        return (base + self._next_id) % 0x10000 or 1

    def request_store(
        self,
        context_id: int,
        sop_class: str,
        sop_instance: str,
        data: bytes,
        message_id: int,
        base_id: int,
    ) -> tuple[int, bool]:
        """Send a C-STORE-RQ (a C-GET sub-operation, PS3.4 Section C.4.3.3.1) and wait for
        its response; returns (status, whether a C-CANCEL of the C-GET ``base_id``
        arrived meanwhile)."""
        fields = {0x0002: sop_class, 0x0100: Field.C_STORE_RQ, 0x0110: message_id}
        fields.update({0x0700: 0, 0x1000: sop_instance})
        self.send_message(context_id, fields, data)
        cancel = False
        while True:
            message = self.read_message()
            if message is None:
                self._ended = True
                raise _Gone
            if message.field == Field.C_STORE_RSP and message.command.get(0x0120) == message_id:
                return int(message.command.get(0x0900, CANNOT_UNDERSTAND)), cancel
            if message.field == Field.C_CANCEL_RQ:
                if message.command.get(0x0120) == base_id:
                    cancel = True
                continue
            if message.field & 0x8000:
                LOGGER.info("C-GET: unexpected response 0x%04X ignored", message.field)
                continue
            self._queue(message)
