"""Large instances made on the fly from a real shared CT, and senders that stream them
(DIMSE C-STORE PDU by PDU, STOW-RS over HTTP) without holding them in memory.

The CT (dcmqi ct-3slice, 512 x 512, 16 bits, Implicit VR Little Endian) keeps its
attributes; it gets fresh UIDs and ``frames`` copies of its own Pixel Data as frames.
"""

from __future__ import annotations

import hashlib
import http.client
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pydicom
from pydicom.uid import ImplicitVRLittleEndian, generate_uid
from pynetdicom.dsutils import encode

from srkit.net.dimse.commands import decode_command, encode_command
from srkit.net.dimse.messages import file_meta
from srkit.net.dimse.pdu import Connection, read_pdvs
from tests.conftest import data_path
from tests.net.dimse.pdus import associate_rq

CT = "ct/dcmqi_ct-3slice/01.dcm"
CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
FRAME = 512 * 512 * 2


@dataclass
class BigCT:
    """One large CT instance: its data set is ``head`` then ``frames`` frames."""

    sop_instance_uid: str
    study_instance_uid: str
    head: bytes
    frame: bytes
    frames: int

    @property
    def dataset_size(self) -> int:
        return len(self.head) + 8 + self.frames * len(self.frame)

    def dataset_chunks(self, size: int = 1 << 18) -> Iterator[bytes]:
        """The data set (Implicit VR Little Endian), in chunks of about ``size``."""
        yield self.head
        yield struct.pack("<HHI", 0x7FE0, 0x0010, self.frames * len(self.frame))
        per = max(1, size // len(self.frame))
        block = self.frame * per
        left = self.frames
        while left:
            n = min(per, left)
            yield block if n == per else self.frame * n
            left -= n

    def part10_chunks(self, source_ae: str = "") -> Iterator[bytes]:
        """A Part 10 file of the instance (the File Meta Information srkit writes)."""
        yield file_meta(CT_STORAGE, self.sop_instance_uid, ImplicitVRLittleEndian, source_ae)
        yield from self.dataset_chunks()

    def part10_size(self, source_ae: str = "") -> int:
        meta = file_meta(CT_STORAGE, self.sop_instance_uid, ImplicitVRLittleEndian, source_ae)
        return len(meta) + self.dataset_size

    def part10_sha256(self, source_ae: str = "") -> str:
        digest = hashlib.sha256()
        for chunk in self.part10_chunks(source_ae):
            digest.update(chunk)
        return digest.hexdigest()


def big_ct(megabytes: int) -> BigCT:
    """A CT of about ``megabytes`` MB with fresh UIDs."""
    ds = pydicom.dcmread(data_path(CT))
    frame = bytes(ds.PixelData)
    assert len(frame) == FRAME
    for tag in [elem.tag for elem in ds if elem.tag >= 0x7FE00000]:
        del ds[tag]
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    frames = max(1, megabytes * 1_000_000 // FRAME)
    ds.NumberOfFrames = frames
    head = encode(ds, True, True)  # Implicit VR Little Endian, as the source
    assert head is not None
    return BigCT(str(ds.SOPInstanceUID), str(ds.StudyInstanceUID), head, frame, frames)


class DimseSender:
    """A C-STORE requestor that streams a :class:`BigCT` PDU by PDU; it can pause
    after ``pause_after`` data set bytes until :attr:`resume` is set."""

    def __init__(self, port: int, calling: str = "BIGSCU") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = Connection(self.sock)
        self.calling = calling
        self.sent = 0
        self.associated = False
        self.message_id = 0
        self.paused = threading.Event()
        self.resume = threading.Event()

    def store(self, ct: BigCT, *, pause_after: int | None = None, pdu: int = 1 << 18) -> int:
        """Associate (the first time), send the C-STORE-RQ, return the response status."""
        if not self.associated:
            self.sock.sendall(
                associate_rq([(CT_STORAGE, ImplicitVRLittleEndian)], calling=self.calling)
            )
            kind, _body = self.conn.read_pdu()
            assert kind == 2, f"association not accepted (PDU type {kind})"
            self.associated = True
        self.message_id += 1
        fields = {0x0002: CT_STORAGE, 0x0100: 0x0001, 0x0110: self.message_id, 0x0700: 0}
        fields[0x0800] = 0
        fields[0x1000] = ct.sop_instance_uid
        self.sock.sendall(self.conn.p_data(1, encode_command(fields), True))
        pending = b""
        chunks = ct.dataset_chunks(pdu)
        for chunk in chunks:
            pending += chunk
            while len(pending) > pdu:
                self._pdv(pending[:pdu], last=False)
                pending = pending[pdu:]
                if (
                    pause_after is not None
                    and self.sent >= pause_after
                    and not self.paused.is_set()
                ):
                    self.paused.set()
                    assert self.resume.wait(120), "never resumed"
        self._pdv(pending, last=True)
        while True:
            kind, body = self.conn.read_pdu()
            assert kind == 4, f"PDU type {kind}"
            for _cid, flags, value in read_pdvs(body):
                if flags & 1 and flags & 2:
                    return int(decode_command(bytes(value))[0x0900])

    def _pdv(self, data: bytes, *, last: bool) -> None:
        header = struct.pack(">BBIIBB", 4, 0, len(data) + 6, len(data) + 2, 1, 2 if last else 0)
        self.sock.sendall(header + data)
        self.sent += len(data)

    def release(self) -> None:
        self.sock.sendall(struct.pack(">BBI", 5, 0, 4) + b"\0" * 4)
        self.conn.read_pdu()
        self.sock.close()

    def close(self) -> None:
        self.sock.close()


def stow(port: int, ct: BigCT, *, path: str = "/dicomweb/studies") -> tuple[int, bytes]:
    """POST one part holding ``ct`` (streamed, with its Content-Length); returns the
    HTTP status and body."""
    boundary = "bigct-" + ct.sop_instance_uid.replace(".", "")[-20:]
    head = f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from ct.part10_chunks()
        yield tail

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    length = len(head) + ct.part10_size() + len(tail)
    conn.request(
        "POST",
        path,
        body=body(),
        headers={
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Content-Length": str(length),
        },
    )
    rsp = conn.getresponse()
    data = rsp.read()
    conn.close()
    return rsp.status, data
