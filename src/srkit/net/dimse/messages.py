"""Received DIMSE messages (PS3.7 Section 6.3: a command set and maybe a data set)
and the staging of a C-STORE data set to disk as it arrives, behind the File Meta
Information of a received instance (PS3.10 Section 7.1).
"""

from __future__ import annotations

import functools
import logging
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from srkit.errors import SrkitError
from srkit.net.dimse.pdu import IMPLEMENTATION_UID, IMPLEMENTATION_VERSION

if TYPE_CHECKING:
    from srkit.db.staging import InFlight, StagedFile
    from srkit.net.dimse.association import Association

__all__ = ["DataSetStage", "Message", "file_meta"]

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())


MEMORY_MAX = 4 << 20
"""A C-STORE data set up to this many bytes is kept in memory as it arrives (its
fragments, one buffer per P-DATA-TF PDU) and written to its staged file once, whole;
a larger one streams to its staged file from the fragment that crosses the limit
(memory per association stays bounded, whatever the data set's size)."""


@dataclass(slots=True)
class Message:
    """A received DIMSE message: presentation context ID, command elements
    (:func:`srkit.net.dimse.commands.decode_command`) and the data set fragments (``None``
    when there is no data set).

    The data set of a C-STORE-RQ larger than :data:`MEMORY_MAX`, when the server
    stages (``Server(staging=...)``), is not kept in memory: it is in ``staged`` (a
    :class:`srkit.db.staging.StagedFile` holding File Meta Information, PS3.10
    Section 7.1, then the data set as received), ``prefix`` holds the start of that
    file (its first :data:`MEMORY_MAX` bytes or so, for the header parse), ``head``
    the data set's first bytes, and ``refusal`` says why it was not received (too
    many bytes in flight, or the staged file could not be written), if so. A smaller
    one is in ``fragments``, its bytes counted in flight until the message is closed.
    """

    context_id: int
    command: dict[int, Any]
    fragments: list[Any] | None
    staged: StagedFile | None = None
    head: bytes = b""
    refusal: str | None = None
    _reserved: tuple[InFlight, int] | None = None
    prefix: bytes = b""

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
        self.fragments = None


class DataSetStage:
    """A C-STORE data set on its way in, fragment by fragment (PS3.8 Section 9.3.5):
    kept in memory up to :data:`MEMORY_MAX` bytes, beyond that streamed to a staged
    file, so that memory per association stays bounded.

    Each fragment's bytes are reserved in the server's :class:`InFlight` first; once
    that fails (or the file cannot be written) the rest is read and dropped, and the
    message carries the refusal.
    """

    def __init__(self, assoc: Association, context_id: int, command: dict[int, Any]) -> None:
        self.assoc = assoc
        self.context_id = context_id
        self.command = command
        self.staged: StagedFile | None = None
        self.parts: list[Any] = []
        self.size = 0
        self.head = b""
        self.prefix = b""
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
        if self.staged is None and self.size + size <= MEMORY_MAX:
            self.parts.append(data)
            self.size += size
            return
        try:
            if self.staged is None:
                self.staged = self._open()
                self.prefix = b"".join([self._meta(), *self.parts])
                for part in self.parts:
                    self.staged.write(part)
                self.parts = []
            self.staged.write(data)
        except SrkitError as exc:
            LOGGER.error("C-STORE from %s: %s", self.assoc.calling_ae, exc)
            self._refuse("cannot stage the data set")

    def _meta(self) -> bytes:
        context = self.assoc.contexts[self.context_id]
        return file_meta(
            str(self.command.get(0x0002, "")),
            str(self.command.get(0x1000, "")),
            str(context.transfer_syntax[0]),
            self.assoc.calling_ae,
        )

    def _open(self) -> StagedFile:
        from srkit.db.staging import StagedFile

        root = self.assoc.server.staging
        assert root is not None
        staged = StagedFile(root)
        try:
            staged.write(self._meta())
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
        self.parts, self.prefix = [], b""
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
            None if self.staged is not None or self.refusal is not None else self.parts,
            staged=self.staged,
            head=self.head,
            refusal=self.refusal,
            _reserved=(self.in_flight, self.reserved),
            prefix=self.prefix,
        )
        self.staged, self.reserved, self.parts, self.prefix = None, 0, [], b""
        return message


class _Gone(Exception):
    """The association ended (released, aborted or dropped) during an operation."""


_META_TEXT = struct.Struct("<HH2sH")
_META_OB = struct.Struct("<HH2sHI")


@functools.lru_cache(maxsize=256)
def _meta_element(element: int, vr: bytes, text: str) -> bytes:
    raw = text.encode("ascii", "replace")
    if len(raw) % 2:
        raw += b"\0" if vr == b"UI" else b" "
    return _META_TEXT.pack(2, element, vr, len(raw)) + raw


def file_meta(sop_class: str, sop_instance: str, transfer_syntax: str, source_ae: str) -> bytes:
    """Preamble, ``DICM`` and the File Meta Information of a received instance
    (PS3.10 Section 7.1), as pynetdicom wrote it: the data set follows unchanged."""
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
