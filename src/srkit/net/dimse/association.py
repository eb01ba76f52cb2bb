"""The listener's association acceptor: one thread per association, DIMSE messages in
and out over :mod:`srkit.net.upper`.

An association thread negotiates (PS3.8 Section 7.1), then reads one DIMSE message at
a time (a command set and, unless its Command Data Set Type is 0x0101, a data set;
PS3.7 Section 6.3, PS3.8 Annex E) and hands it to the services (:mod:`srkit.net.scp`),
which answer through :meth:`Association.respond`. Asynchronous operations are not
negotiated (window 1/1, PS3.7 Annex D.3.3.3), so requests are served in order; a
C-CANCEL (PS3.7 Section 9.3.2.3) is noticed between the responses of a C-FIND,
C-MOVE or C-GET (:meth:`Association.cancelled`). An A-RELEASE-RQ is answered at once;
a protocol error, an idle connection (``timeout`` seconds) or a dropped connection
ends the association with an A-ABORT.

Abuse bounds (the association life cycle, PS3.8 Section 9.2):

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
  (:class:`srkit.net.config.KnownPeers`): strangers are rejected (2, 3, 2, local
  limit exceeded) once the others are taken.
- An association that has served no request but C-ECHO for ``idle_release``
  seconds, or that has lasted ``max_lifetime`` seconds, is released by the
  listener between two operations (A-RELEASE-RQ, PS3.8 Section 7.2; an A-ABORT if
  no A-RELEASE-RP comes).

The server accepts on a listening socket (possibly shared by forked workers, see
:mod:`srkit.net.listener`) and exposes what :func:`srkit.net.listener.serve` needs:
``serve_forever``, ``shutdown`` and ``active_associations`` (each with
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
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srkit.errors import SrkitError
from srkit.net.command import ABSENT, CommandError, Field, decode_command, encode_command
from srkit.net.config import KnownPeers, normal_address
from srkit.net.upper import (
    MAX_PDU,
    Connection,
    PduType,
    PeerClosed,
    ProtocolError,
    negotiate,
    read_pdvs,
)

if TYPE_CHECKING:
    from srkit.db.staging import InFlight, StagedFile

__all__ = ["Association", "Message", "Server", "file_meta"]

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())

UNRECOGNIZED_OPERATION = 0x0211
"""Status for a command the listener does not provide (PS3.7 Annex C.5.5)."""
SOP_CLASS_NOT_SUPPORTED = 0x0122
"""Status for a request on a presentation context of another service (PS3.7 C.5.9)."""
ARTIM = 10.0
"""Seconds a new connection has to send its A-ASSOCIATE-RQ, however slowly it sends
(the ARTIM timer, PS3.8 Section 9.1.5), unless the server is given another."""
RELEASE_WAIT = 5.0
"""Seconds the peer has to answer an A-RELEASE-RQ of the listener."""
_REFUSAL_LOG = 10.0
"""Seconds between two log lines about connections closed for one address."""
_RESET = struct.pack("ii", 1, 0)
"""SO_LINGER on, 0 s: a refused connection is reset, leaving no TIME_WAIT behind."""
MAX_COMMAND = 1 << 16
"""Largest command set accepted (real ones are under 1 KiB)."""


@dataclass(slots=True)
class Message:
    """A received DIMSE message: presentation context ID, command elements
    (:func:`srkit.net.command.decode_command`) and the data set fragments (``None``
    when there is no data set).

    The data set of a C-STORE-RQ, when the server stages (``Server(staging=...)``),
    is not kept in memory: it is in ``staged`` (a :class:`srkit.db.staging.StagedFile`
    holding File Meta Information, PS3.10 Section 7.1, then the data set as received),
    ``head`` holds its first bytes, and ``refusal`` says why it was not staged (too
    many bytes in flight, or the staged file could not be written), if so.
    """

    context_id: int
    command: dict[int, Any]
    fragments: list[Any] | None
    staged: StagedFile | None = None
    head: bytes = b""
    refusal: str | None = None
    _reserved: tuple[InFlight, int] | None = None

    @property
    def dataset(self) -> bytes:
        """The data set bytes, as they arrived (empty if there is none or it is staged)."""
        return b"".join(self.fragments) if self.fragments else b""

    @property
    def message_id(self) -> int:
        return int(self.command.get(0x0110, 0))

    @property
    def field(self) -> int:
        return int(self.command.get(0x0100, 0))

    def close(self) -> None:
        """Discard the staged data set unless it was stored, and release its bytes in
        flight (after the message is handled, or when it never will be)."""
        if self.staged is not None:
            self.staged.discard()  # a no-op for a file renamed into place and closed
        if self._reserved is not None:
            counter, size = self._reserved
            counter.release(size)
            self._reserved = None


class _DataSetStage:
    """A C-STORE data set on its way to a staged file, fragment by fragment, so that
    memory per association stays bounded by the PDU size (PS3.8 Section 9.3.5).

    Each fragment's bytes are reserved in the server's :class:`InFlight` first; once
    that fails (or the file cannot be written) the rest is read and dropped, and the
    message carries the refusal.
    """

    def __init__(self, assoc: Association, context_id: int, command: dict[int, Any]) -> None:
        self.assoc = assoc
        self.context_id = context_id
        self.command = command
        self.staged: StagedFile | None = None
        self.head = b""
        self.refusal: str | None = None
        self.reserved = 0
        self.in_flight = assoc.server.in_flight

    def add(self, data: Any) -> None:
        if len(self.head) < 8:
            self.head += bytes(data[: 8 - len(self.head)])
        if self.refusal is not None:
            return
        size = len(data)
        if not self.in_flight.reserve(size):
            self._refuse("too many bytes in flight")
            return
        self.reserved += size
        try:
            if self.staged is None:
                self.staged = self._open()
            self.staged.write(data)
        except SrkitError as exc:
            LOGGER.error("C-STORE from %s: %s", self.assoc.calling_ae, exc)
            self._refuse("cannot stage the data set")

    def _open(self) -> StagedFile:
        from srkit.db.staging import StagedFile

        root = self.assoc.server.staging
        assert root is not None
        context = self.assoc.contexts[self.context_id]
        staged = StagedFile(root)
        try:
            staged.write(
                file_meta(
                    str(self.command.get(0x0002, "")),
                    str(self.command.get(0x1000, "")),
                    str(context.transfer_syntax[0]),
                    self.assoc.calling_ae,
                )
            )
        except BaseException:
            staged.discard()
            raise
        return staged

    def _refuse(self, reason: str) -> None:
        self.refusal = reason
        self.discard()

    def discard(self) -> None:
        if self.staged is not None:
            self.staged.discard()
            self.staged = None
        self.in_flight.release(self.reserved)
        self.reserved = 0

    def message(self) -> Message:
        if self.staged is not None:
            try:
                self.staged.finish()
            except SrkitError as exc:  # the last bytes could not be written
                LOGGER.error("C-STORE from %s: %s", self.assoc.calling_ae, exc)
                self._refuse("cannot stage the data set")
        message = Message(
            self.context_id,
            self.command,
            None,
            staged=self.staged,
            head=self.head,
            refusal=self.refusal,
            _reserved=(self.in_flight, self.reserved),
        )
        self.staged, self.reserved = None, 0
        return message


class _Gone(Exception):
    """The association ended (released, aborted or dropped) during an operation."""


_META_TEXT = struct.Struct("<HH2sH")
_META_OB = struct.Struct("<HH2sHI")


def _meta_element(element: int, vr: bytes, text: str) -> bytes:
    raw = text.encode("ascii", "replace")
    if len(raw) % 2:
        raw += b"\0" if vr == b"UI" else b" "
    return _META_TEXT.pack(2, element, vr, len(raw)) + raw


def file_meta(sop_class: str, sop_instance: str, transfer_syntax: str, source_ae: str) -> bytes:
    """Preamble, ``DICM`` and the File Meta Information of a received instance
    (PS3.10 Section 7.1), as pynetdicom wrote it: the data set follows unchanged."""
    from srkit.net.upper import IMPLEMENTATION_UID, IMPLEMENTATION_VERSION

    body = b"".join(
        [
            _META_OB.pack(2, 0x0001, b"OB", 0, 2) + b"\0\1",
            _meta_element(0x0002, b"UI", sop_class),
            _meta_element(0x0003, b"UI", sop_instance),
            _meta_element(0x0010, b"UI", transfer_syntax),
            _meta_element(0x0012, b"UI", IMPLEMENTATION_UID),
            _meta_element(0x0013, b"SH", IMPLEMENTATION_VERSION),
            _meta_element(0x0016, b"AE", source_ae) if source_ae else b"",
        ]
    )
    length = _META_TEXT.pack(2, 0x0000, b"UL", 4) + struct.pack("<I", len(body))
    return b"\0" * 128 + b"DICM" + length + body


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
        stage: _DataSetStage | None = None
        items = self._items
        try:
            while True:
                while items:
                    cid, flags, data = items.popleft()
                    if context_id is None:
                        if cid not in self.contexts:
                            raise ProtocolError(f"presentation context {cid} was not accepted", 6)
                        context_id = cid
                    elif cid != context_id:
                        raise ProtocolError("a message switched presentation contexts", 6)
                    size += len(data)
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
                                stage = _DataSetStage(self, context_id, command)
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
                kind, length = self.conn.read_header()
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
                return int(message.command.get(0x0900, 0xC000)), cancel
            if message.field == Field.C_CANCEL_RQ:
                if message.command.get(0x0120) == base_id:
                    cancel = True
                continue
            if message.field & 0x8000:
                LOGGER.info("C-GET: unexpected response 0x%04X ignored", message.field)
                continue
            self._queue(message)


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
        The known peers (:meth:`srkit.net.config.KnownPeers.from_config`).
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
    max_dataset : int
        Largest data set accepted in one message (the association is aborted
        beyond it, as nothing bounds it in the protocol): 1 GiB.
    staging : Path or None
        The storage folder: C-STORE data sets stream to staged files there
        (:class:`Message` ``staged``); None keeps them in memory (``fragments``).
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
