"""The DICOM Upper Layer for the listener: PDU framing and association negotiation.

PS3.8 Section 9.3 defines the PDUs. Here a connection reads and writes them on a
blocking socket: every PDU is a 6-byte header (type, reserved, big-endian length) and
a variable field. P-DATA-TF PDUs (type 4) carry presentation data value items
(PS3.8 Section 9.3.5.1: 4-byte length, context ID, message control header with bit 0
"command" and bit 1 "last fragment", PS3.8 Annex E.2).

Association negotiation (PS3.8 Section 7.1, PS3.7 Annex D) reuses pynetdicom: its PDU
classes decode the A-ASSOCIATE-RQ and encode the answer, and
:func:`pynetdicom.presentation.negotiate_as_acceptor` picks the transfer syntax and
the SCP/SCU roles of each presentation context. Only what runs per message (P-DATA)
is written here, because pynetdicom's per-message machinery (state machine, queues,
two polling threads per association, pydicom-encoded command sets) cost more CPU per
C-STORE than storing the instance.
"""

from __future__ import annotations

import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from srkit.errors import SrkitError

__all__ = [
    "APPLICATION_CONTEXT",
    "IMPLEMENTATION_UID",
    "IMPLEMENTATION_VERSION",
    "MAX_PDU",
    "Connection",
    "Negotiated",
    "PduType",
    "ProtocolError",
    "negotiate",
]

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
"""The DICOM Application Context Name (PS3.7 Annex A.2.1)."""
IMPLEMENTATION_UID = "1.2.826.0.1.3680043.8.498.10187395381466316498734812276403427"
"""srkit's Implementation Class UID (PS3.7 Annex D.3.3.2), fixed under pydicom's root
(``generate_uid(entropy_srcs=["srkit implementation class"])``)."""
IMPLEMENTATION_VERSION = "SRKIT_010"
"""Implementation Version Name (SH, at most 16 characters)."""
MAX_PDU = 1 << 20
"""Maximum Length Received that the listener announces (PS3.8 Section D.1): 1 MiB, so
a typical image arrives in a few PDUs."""
_MAX_ASSOCIATE = 1 << 20
"""Largest A-ASSOCIATE-RQ accepted (its length is not bounded by the protocol)."""

_READ_AHEAD = 1 << 16
_HEADER = struct.Struct(">BBI")
_PDV = struct.Struct(">IBB")
_PREFIX = struct.Struct(">BBIIBB")


class PduType:
    """PDU types (PS3.8 Table 9-1 and Section 9.3)."""

    ASSOCIATE_RQ = 0x01
    ASSOCIATE_AC = 0x02
    ASSOCIATE_RJ = 0x03
    P_DATA = 0x04
    RELEASE_RQ = 0x05
    RELEASE_RP = 0x06
    ABORT = 0x07


class ProtocolError(SrkitError):
    """The peer broke the Upper Layer protocol (the association is aborted).

    ``reason`` is the A-ABORT reason of PS3.8 Table 9-26 (0 not specified,
    1 unrecognized PDU, 2 unexpected PDU, 4 unrecognized PDU parameter, 6 invalid
    PDU parameter value)."""

    def __init__(self, message: str, reason: int = 0) -> None:
        super().__init__(message)
        self.reason = reason


class PeerClosed(ProtocolError):
    """The peer closed the connection (no A-ABORT is sent back: PS3.8 action AA-4)."""


class Connection:
    """One TCP connection: PDUs in and out.

    Small reads are served from a read-ahead buffer (one ``recv`` often brings a
    PDU header, a whole command PDU and the start of the next PDU); a large PDU body
    is read with one ``recv_into(..., MSG_WAITALL)`` into its own buffer, so a data
    set costs a system call or two rather than one per 64 KiB. The socket is
    blocking, with ``SO_RCVTIMEO``/``SO_SNDTIMEO`` for the idle time-out (a read
    that times out raises :class:`OSError`); a peer that closes raises
    :class:`ProtocolError`.
    """

    def __init__(self, sock: socket.socket, peer_max: int = 0) -> None:
        self.sock = sock
        self.peer_max = peer_max
        self.deadline: float | None = None
        """While set (``time.monotonic()`` value), reads fail after it: the ARTIM
        timer while waiting for the A-ASSOCIATE-RQ or the A-RELEASE-RP (PS3.8
        Section 9.1.5)."""
        self.deadline_reason = "no A-ASSOCIATE-RQ within the ARTIM time-out"
        """The :class:`ProtocolError` message when :attr:`deadline` passes."""
        self._pending = b""
        self._send_lock = threading.Lock()

    def set_timeout(self, seconds: float) -> None:
        """Blocking socket; reads and writes fail after ``seconds`` without progress."""
        self.sock.settimeout(None)
        whole = int(seconds)
        value = struct.pack("ll", whole, int((seconds - whole) * 1e6))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)

    def close(self, linger: float = 0.0) -> None:
        """Close the socket; with ``linger``, first stop sending and read until the
        peer closes (at most ``linger`` seconds), so that a last PDU (A-ABORT,
        A-ASSOCIATE-RJ, A-RELEASE-RP) is not lost to a reset when unread data
        remain (PS3.8 state Sta13: wait for the transport to close)."""
        try:
            if linger > 0:
                self.sock.shutdown(socket.SHUT_WR)
                deadline = time.monotonic() + linger
                while (left := deadline - time.monotonic()) > 0 and _readable(self.sock, left):
                    if not self.sock.recv(_READ_AHEAD):
                        break
        except OSError:
            pass
        finally:
            self.sock.close()

    def _wait(self) -> None:
        """Wait for data until the deadline (only while a deadline is set)."""
        if self.deadline is None:
            return
        left = self.deadline - time.monotonic()
        if left <= 0 or not _readable(self.sock, left):
            raise ProtocolError(self.deadline_reason)

    def _late(self) -> None:
        """Raise once the deadline has passed (bytes that were waiting are read
        without a ``poll`` first; the deadline still holds)."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise ProtocolError(self.deadline_reason)

    def _recv(self) -> bytes:
        try:  # what has arrived already, without waiting (no poll needed)
            chunk = self.sock.recv(_READ_AHEAD, socket.MSG_DONTWAIT)
            self._late()
        except BlockingIOError:
            self._wait()
            chunk = self.sock.recv(_READ_AHEAD)
        if not chunk:
            raise PeerClosed("the peer closed the connection")
        return chunk

    def read_exact(self, size: int) -> bytes | bytearray:
        """``size`` bytes; :class:`ProtocolError` if the peer closed first."""
        pending = self._pending
        if len(pending) >= size:
            self._pending = pending[size:]
            return pending[:size]
        if size - len(pending) < _READ_AHEAD:
            parts = [pending]
            have = len(pending)
            while have < size:
                chunk = self._recv()
                parts.append(chunk)
                have += len(chunk)
            data = b"".join(parts)
            self._pending = data[size:]
            return data[:size]
        buffer = bytearray(size)
        buffer[: len(pending)] = pending
        self._pending = b""
        view = memoryview(buffer)
        have = len(pending)
        try:  # what has arrived already, without waiting
            have += self.sock.recv_into(view[have:], size - have, socket.MSG_DONTWAIT)
            self._late()
        except BlockingIOError:
            pass
        while have < size:
            self._wait()
            got = self.sock.recv_into(view[have:], size - have, socket.MSG_WAITALL)
            if not got:
                raise PeerClosed("the peer closed the connection")
            have += got
        return buffer

    def read_header(self) -> tuple[int, int]:
        """The next PDU's type and length."""
        kind, _reserved, length = _HEADER.unpack(self.read_exact(6))
        return kind, length

    def read_pdu(self, limit: int = _MAX_ASSOCIATE) -> tuple[int, bytes]:
        """The next PDU's type and variable field (at most ``limit`` bytes)."""
        kind, length = self.read_header()
        if length > limit:
            raise ProtocolError(f"PDU of {length} bytes (type {kind}) is too long")
        return kind, bytes(self.read_exact(length))

    def pending(self) -> bool:
        """Whether bytes have arrived (buffered or on the socket), without waiting."""
        return self.wait_readable(0)

    def wait_readable(self, timeout: float) -> bool:
        """Whether bytes (or the end of the stream) arrive within ``timeout`` seconds;
        at once when some are buffered already."""
        if self._pending:
            return True
        return _readable(self.sock, timeout)

    def send(self, data: bytes) -> None:
        """Send one or more encoded PDUs (whole, even with another thread sending)."""
        with self._send_lock:
            self.sock.sendall(data)

    def send_pdu(self, kind: int, body: bytes) -> None:
        self.send(_HEADER.pack(kind, 0, len(body)) + body)

    def p_data(self, context_id: int, data: bytes, command: bool) -> bytes:
        """P-DATA-TF PDUs carrying ``data`` as one message part, split so that no PDU
        is longer than the peer's Maximum Length Received (PS3.8 Annex D.1)."""
        flags = 1 if command else 0
        step = self.peer_max - 6 if self.peer_max > 6 else len(data) or 1
        if len(data) <= step:
            return _PREFIX.pack(4, 0, len(data) + 6, len(data) + 2, context_id, flags | 2) + data
        parts = []
        for start in range(0, len(data), step):
            chunk = data[start : start + step]
            last = 2 if start + step >= len(data) else 0
            parts.append(
                _PREFIX.pack(4, 0, len(chunk) + 6, len(chunk) + 2, context_id, flags | last)
            )
            parts.append(chunk)
        return b"".join(parts)

    def release_rp(self) -> None:
        """A-RELEASE-RP (PS3.8 Section 9.3.7)."""
        self.send_pdu(PduType.RELEASE_RP, b"\0" * 4)

    def release_rq(self) -> None:
        """A-RELEASE-RQ (PS3.8 Section 9.3.6)."""
        self.send_pdu(PduType.RELEASE_RQ, b"\0" * 4)

    def abort(self, source: int = 2, reason: int = 0, *, wait: bool = True) -> None:
        """A-ABORT (PS3.8 Section 9.3.8): source 0 service user, 2 service provider.

        With ``wait=False`` (another thread aborting) the PDU is sent only if it
        goes out at once, between two PDUs of the association's own thread.
        """
        pdu = _HEADER.pack(PduType.ABORT, 0, 4) + bytes([0, 0, source, reason])
        try:
            if wait:
                self.send(pdu)
            elif self._send_lock.acquire(timeout=0.5):
                try:
                    self.sock.send(pdu, socket.MSG_DONTWAIT)
                finally:
                    self._send_lock.release()
        except OSError:
            pass


def _readable(sock: socket.socket, timeout: float) -> bool:
    """Whether ``sock`` has data (or end of file) within ``timeout`` seconds."""
    poller = select.poll()
    try:
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(max(0, int(timeout * 1000))))
    except (OSError, ValueError):
        return False


def read_pdvs(body: bytes | bytearray) -> list[tuple[int, int, memoryview]]:
    """The PDV items of a P-DATA-TF variable field: (context ID, flags, data)."""
    view = memoryview(body)
    items = []
    pos, end = 0, len(view)
    while pos < end:
        if pos + 6 > end:
            raise ProtocolError("P-DATA-TF item cut short", 6)
        length, context_id, flags = _PDV.unpack_from(view, pos)
        if length < 2 or pos + 4 + length > end:
            raise ProtocolError("bad P-DATA-TF item length", 6)
        items.append((context_id, flags, view[pos + 6 : pos + 4 + length]))
        pos += 4 + length
    return items


@dataclass(slots=True)
class Negotiated:
    """An accepted association: the calling AE title, the peer's PDU limit, and the accepted
    presentation contexts by ID (pynetdicom ``PresentationContext`` objects with one
    transfer syntax and the acceptor's roles ``as_scu``/``as_scp``)."""

    calling_ae: str
    peer_max: int
    contexts: dict[int, Any] = field(default_factory=dict)


def _reject(result: int, source: int, reason: int) -> bytes:
    """A-ASSOCIATE-RJ (PS3.8 Section 9.3.4)."""
    return _HEADER.pack(PduType.ASSOCIATE_RJ, 0, 4) + bytes([0, result, source, reason])


def _user_information(roles: list[Any]) -> list[Any]:
    from pynetdicom.pdu_primitives import (
        ImplementationClassUIDNotification,
        ImplementationVersionNameNotification,
        MaximumLengthNotification,
    )

    max_length = MaximumLengthNotification()
    max_length.maximum_length_received = MAX_PDU
    uid = ImplementationClassUIDNotification()
    uid.implementation_class_uid = IMPLEMENTATION_UID
    version = ImplementationVersionNameNotification()
    version.implementation_version_name = IMPLEMENTATION_VERSION
    return [max_length, uid, version, *roles]


def negotiate(
    body: bytes,
    supported: list[Any],
    *,
    allowed: Any = None,
    busy: bool | Callable[[str], bool] = False,
) -> tuple[bytes, Negotiated | None]:
    """Answer an A-ASSOCIATE-RQ variable field: the encoded A-ASSOCIATE-AC or -RJ PDU,
    and the negotiated association (``None`` when rejected).

    Rejections (PS3.8 Section 9.3.4): an unsupported application context (1, 1, 2); a
    calling AE title ``allowed(title)`` refuses (1, 1, 3); ``busy`` (2, 3, 2, local
    limit exceeded), a flag or ``busy(title)``, asked last (it may take a slot). Raises :class:`ProtocolError` for a PDU that cannot be decoded.
    """
    from pynetdicom.pdu import A_ASSOCIATE_AC, A_ASSOCIATE_RQ
    from pynetdicom.pdu_primitives import A_ASSOCIATE, SCP_SCU_RoleSelectionNegotiation
    from pynetdicom.presentation import negotiate_as_acceptor

    pdu = A_ASSOCIATE_RQ()
    try:
        pdu.decode(_HEADER.pack(PduType.ASSOCIATE_RQ, 0, len(body)) + body)
        request = pdu.to_primitive()
    except Exception as exc:  # any decoding failure of a malformed request
        raise ProtocolError(f"cannot decode the A-ASSOCIATE-RQ: {exc}", 6) from None
    if not pdu.protocol_version & 1:  # PS3.8 Section 9.3.2: bit 0 is version 1
        return _reject(1, 2, 2), None
    calling = str(request.calling_ae_title).strip()
    if str(request.application_context_name) != APPLICATION_CONTEXT:
        return _reject(1, 1, 2), None
    if allowed is not None and not allowed(calling):
        return _reject(1, 1, 3), None
    if busy(calling) if callable(busy) else busy:
        return _reject(2, 3, 2), None
    roles: dict[Any, tuple[bool | None, bool | None]] = {
        item.sop_class_uid: (item.scu_role, item.scp_role)
        for item in request.user_information
        if isinstance(item, SCP_SCU_RoleSelectionNegotiation)
    }
    try:
        results, role_replies = negotiate_as_acceptor(
            request.presentation_context_definition_list, supported, roles
        )
    except Exception as exc:  # e.g. a presentation context without transfer syntax
        raise ProtocolError(f"cannot negotiate the presentation contexts: {exc}", 6) from None
    reply = A_ASSOCIATE()
    reply.application_context_name = APPLICATION_CONTEXT
    reply.calling_ae_title = request.calling_ae_title
    reply.called_ae_title = request.called_ae_title
    reply.result = 0
    reply.result_source = 1
    reply.presentation_context_definition_results_list = results
    reply.user_information = _user_information(role_replies)
    ac = A_ASSOCIATE_AC()
    ac.from_primitive(reply)
    accepted = {int(cx.context_id or 0): cx for cx in results if cx.result == 0}
    peer_max = int(request.maximum_length_received or 0)
    return ac.encode(), Negotiated(calling, peer_max, accepted)
