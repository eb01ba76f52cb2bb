"""The listener's own Upper Layer and DIMSE code (srkit.net.dimse: .pdu, .commands,
.messages, .association, .server):
command sets as pydicom encodes them, PDU fragmentation, protocol errors, release,
time-outs, the association limit, C-CANCEL, and C-GET transcoding, over raw sockets,
pynetdicom and DCMTK."""

from __future__ import annotations

import socket
import struct
import time

import pydicom
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom.dsutils import encode

from srkit.net.dimse import client as dimse_client
from srkit.net.dimse import retrieve, services
from srkit.net.dimse.commands import CommandError, Field, decode_command, encode_command
from srkit.net.dimse.messages import file_meta
from srkit.net.dimse.pdu import Connection, ProtocolError, read_pdvs
from srkit.net.dimse.peers import Peer, PeersConfig
from srkit.net.dimse.server import Server
from srkit.net.dimse.workers import bind
from tests.conftest import data_files, data_path
from tests.net.dimse.pdus import associate_rq

VERIFICATION = "1.2.840.10008.1.1"
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
STUDY_FIND = "1.2.840.10008.5.1.4.1.2.2.1"
STUDY_GET = "1.2.840.10008.5.1.4.1.2.2.3"


# -- command sets ---------------------------------------------------------------------


def pydicom_command(fields: dict[str, object]) -> bytes:
    """The command set as pydicom encodes it (Implicit VR Little Endian, PS3.7 6.3.1),
    with its Command Group Length."""
    ds = Dataset()
    for keyword, value in fields.items():
        setattr(ds, keyword, value)
    body = encode(ds, True, True)
    assert body is not None
    return struct.pack("<HHII", 0, 0, 4, len(body)) + body


KEYWORDS = {
    0x0002: "AffectedSOPClassUID",
    0x0100: "CommandField",
    0x0110: "MessageID",
    0x0120: "MessageIDBeingRespondedTo",
    0x0600: "MoveDestination",
    0x0700: "Priority",
    0x0800: "CommandDataSetType",
    0x0900: "Status",
    0x0902: "ErrorComment",
    0x1000: "AffectedSOPInstanceUID",
    0x1020: "NumberOfRemainingSuboperations",
    0x1021: "NumberOfCompletedSuboperations",
    0x1030: "MoveOriginatorApplicationEntityTitle",
    0x1031: "MoveOriginatorMessageID",
}


def test_command_set_as_pydicom_encodes_it():
    fields = {
        0x0002: CT_IMAGE,
        0x0100: Field.C_STORE_RQ,
        0x0110: 7,
        0x0700: 2,
        0x0800: 0x0000,
        0x1000: "1.2.3.4.5",  # odd length: padded with NUL
        0x1030: "MOVER",  # odd length: padded with a space
        0x1031: 3,
    }
    data = encode_command(fields)
    assert data == pydicom_command({KEYWORDS[k]: v for k, v in fields.items()})
    decoded = decode_command(data)
    assert decoded.pop(0x0000) == len(data) - 12
    assert decoded == fields


@settings(max_examples=100, deadline=None)
@given(
    message_id=st.integers(0, 0xFFFF),
    status=st.integers(0, 0xFFFF),
    counts=st.tuples(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF)),
    comment=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ abc0123456789", max_size=64),
    destination=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789", min_size=1, max_size=16),
)
def test_command_round_trip(message_id, status, counts, comment, destination):
    fields = {
        0x0002: generate_uid(),
        0x0100: Field.C_MOVE_RSP,
        0x0120: message_id,
        0x0600: destination,
        0x0800: 0x0101,
        0x0900: status,
        0x1020: counts[0],
        0x1021: counts[1],
    }
    if comment.strip():
        fields[0x0902] = comment.strip()
    data = encode_command(fields)
    assert data == pydicom_command({KEYWORDS[k]: v for k, v in fields.items()})
    decoded = decode_command(data)
    del decoded[0x0000]
    assert decoded == fields


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x00\x00\x00\x04\x00",  # header cut short
        b"\x00\x00\x00\x01\x10\x00\x00\x00abc",  # value runs past the end
        b"\x08\x00\x18\x00\x02\x00\x00\x001\x00",  # not group 0000
    ],
)
def test_bad_command_sets(data):
    with pytest.raises(CommandError):
        decode_command(data)


# -- PDUs -----------------------------------------------------------------------------


def test_p_data_split_by_peer_maximum():
    left, right = socket.socketpair()
    try:
        conn = Connection(left, peer_max=100)
        payload = bytes(range(256)) * 4
        out = conn.p_data(5, payload, command=False)
        pdus, pos = [], 0
        while pos < len(out):
            kind, _r, length = struct.unpack_from(">BBI", out, pos)
            assert kind == 4
            assert length <= 100
            pdus.append(out[pos + 6 : pos + 6 + length])
            pos += 6 + length
        items = [item for pdu in pdus for item in read_pdvs(pdu)]
        assert len(items) == 11  # 1024 bytes in 94-byte fragments
        assert [flags for _cid, flags, _d in items] == [0] * 10 + [2]
        assert {cid for cid, _f, _d in items} == {5}
        assert b"".join(bytes(d) for _c, _f, d in items) == payload
        command = Connection(left).p_data(1, b"cmd!", command=True)
        assert read_pdvs(command[6:]) == [(1, 3, memoryview(b"cmd!"))]
    finally:
        left.close()
        right.close()


@pytest.mark.parametrize("body", [b"\x00\x00\x00\x10\x01\x03ab", b"\x00\x00\x00\x01\x01"])
def test_bad_pdv_items(body):
    with pytest.raises(ProtocolError):
        read_pdvs(body)


def test_file_meta_is_what_pydicom_reads():
    meta = file_meta(CT_IMAGE, "1.2.3.4", ExplicitVRLittleEndian, "PEER")
    ds = Dataset()
    ds.SOPInstanceUID = "1.2.3.4"
    data = meta + encode(ds, False, True)
    read = pydicom.dcmread(pydicom.filebase.DicomBytesIO(data))
    assert read.file_meta.MediaStorageSOPClassUID == CT_IMAGE
    assert read.file_meta.MediaStorageSOPInstanceUID == "1.2.3.4"
    assert read.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert read.file_meta.SourceApplicationEntityTitle == "PEER"
    assert read.file_meta.FileMetaInformationGroupLength == len(meta) - 132 - 12
    assert read.SOPInstanceUID == "1.2.3.4"


# -- a raw client ---------------------------------------------------------------------


class Raw:
    """A client speaking PDUs by hand to a listener."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.conn = Connection(self.sock)

    def associate(self, contexts, **kwargs) -> tuple[int, bytes]:
        self.sock.sendall(associate_rq(contexts, **kwargs))
        return self.conn.read_pdu()

    def command(self, context_id, fields, dataset=None) -> bytes:
        out = self.conn.p_data(context_id, encode_command(fields), True)
        if dataset is not None:
            out += self.conn.p_data(context_id, dataset, False)
        return out

    def response(self) -> tuple[dict, bytes]:
        """The next DIMSE message: (command, data set bytes)."""
        command, data = None, b""
        while True:
            kind, body = self.conn.read_pdu()
            assert kind == 4, f"PDU type {kind}"
            for _cid, flags, value in read_pdvs(body):
                if flags & 1:
                    command = decode_command(bytes(value))
                    if flags & 2 and command.get(0x0800) == 0x0101:
                        return command, b""
                else:
                    data += bytes(value)
                    if flags & 2:
                        return command, data

    def closed(self) -> bool:
        try:
            return self.sock.recv(1) == b""
        except OSError:
            return True

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw(archive):
    clients: list[Raw] = []

    def connect(port: int | None = None) -> Raw:
        client = Raw(port or archive.port)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


def test_associate_release_and_unknown_command(raw):
    client = raw()
    kind, _body = client.associate(
        [(VERIFICATION, ImplicitVRLittleEndian), ("1.2.3.4", ImplicitVRLittleEndian)]
    )
    assert kind == 2  # A-ASSOCIATE-AC
    # N-GET (0x0110) is not a service of the listener: 0x0211 Unrecognized operation
    client.sock.sendall(client.command(1, {0x0003: VERIFICATION, 0x0100: 0x0110, 0x0110: 9}))
    command, _ = client.response()
    assert command[0x0100] == 0x8110
    assert command[0x0120] == 9
    assert command[0x0900] == 0x0211
    # the association goes on: C-ECHO
    client.sock.sendall(client.command(1, {0x0002: VERIFICATION, 0x0100: 0x0030, 0x0110: 10}))
    command, _ = client.response()
    assert (command[0x0100], command[0x0120], command[0x0900]) == (0x8030, 10, 0)
    client.conn.send_pdu(5, b"\0" * 4)  # A-RELEASE-RQ
    assert client.conn.read_pdu() == (6, b"\0" * 4)  # A-RELEASE-RP
    assert client.closed()


def test_rejections_and_aborts(raw):
    client = raw()
    kind, body = client.associate([(VERIFICATION, ImplicitVRLittleEndian)], app="1.2.3.4")
    assert (kind, body) == (3, bytes([0, 1, 1, 2]))  # application context not supported
    client = raw()
    client.conn.send_pdu(4, b"\x00\x00\x00\x02\x01\x03")  # P-DATA before associating
    assert client.conn.read_pdu()[0] == 7  # A-ABORT
    assert client.closed()
    client = raw()
    assert client.associate([(VERIFICATION, ImplicitVRLittleEndian)])[0] == 2
    client.sock.sendall(client.command(3, {0x0002: VERIFICATION, 0x0100: 0x0030, 0x0110: 1}))
    kind, body = client.conn.read_pdu()  # context 3 was not proposed
    assert kind == 7
    assert body[2] == 2
    assert client.closed()


def test_idle_timeout_and_association_limit(tmp_path):
    from srkit.db import Database

    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    sock = bind("127.0.0.1", 0)
    server = Server(
        sock,
        services.supported_contexts(),
        services.Services(db, PeersConfig()).handlers(),
        max_associations=1,
        timeout=0.5,
    ).start()
    port = sock.getsockname()[1]
    try:
        first = Raw(port)
        start = time.monotonic()  # the idle time counts from the A-ASSOCIATE-AC
        assert first.associate([(VERIFICATION, ImplicitVRLittleEndian)])[0] == 2
        second = Raw(port)
        assert second.associate([(VERIFICATION, ImplicitVRLittleEndian)]) == (
            3,
            bytes([0, 2, 3, 2]),
        )
        second.close()
        assert first.conn.read_pdu()[0] == 7  # silent for 0.5 s: aborted
        assert 0.4 < time.monotonic() - start < 5
        first.close()
        deadline = time.monotonic() + 5
        while server.active_associations and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.active_associations == []
        third = Raw(port)  # the slot is free again
        assert third.associate([(VERIFICATION, ImplicitVRLittleEndian)])[0] == 2
        third.close()
    finally:
        server.shutdown()
        db.close()


@pytest.mark.peers
def test_cancel_before_the_first_match(loaded, raw):
    client = raw(loaded.port)
    assert client.associate([(STUDY_FIND, ImplicitVRLittleEndian)])[0] == 2
    query = Dataset()
    query.QueryRetrieveLevel = "IMAGE"
    query.SOPInstanceUID = ""
    find = {0x0002: STUDY_FIND, 0x0100: Field.C_FIND_RQ, 0x0110: 5, 0x0700: 0, 0x0800: 0}
    cancel = {0x0100: Field.C_CANCEL_RQ, 0x0120: 5, 0x0800: 0x0101}
    # the request and its cancel in one send: the listener sees the cancel before
    # its first pending response
    client.sock.sendall(
        client.command(1, find, encode(query, True, True)) + client.command(1, cancel)
    )
    command, data = client.response()
    assert (command[0x0100], command[0x0120], command[0x0900]) == (0x8020, 5, 0xFE00)
    assert data == b""
    # a cancel that arrives after the end is ignored; the next query gets every match
    find[0x0110] = 6
    client.sock.sendall(client.command(1, find, encode(query, True, True)))
    statuses = []
    while True:
        command, data = client.response()
        statuses.append(command[0x0900])
        if command[0x0900] != 0xFF00:
            break
    assert statuses[-1] == 0
    assert len(statuses) - 1 == len(loaded.db.query("IMAGE", {}))


@pytest.mark.peers
def test_find_with_a_small_peer_pdu(loaded):
    """Identifiers are split into PDUs no longer than the requestor accepts."""
    from pynetdicom import AE

    ae = AE(ae_title="SMALLPDU")
    ae.maximum_pdu_size = 256
    ae.add_requested_context(STUDY_FIND)
    assoc = ae.associate("127.0.0.1", loaded.port, ae_title="SRKIT")
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel = "IMAGE"
    query.SOPInstanceUID = ""
    query.StudyInstanceUID = ""
    query.SeriesDescription = ""
    try:
        found = [
            (str(ds.SOPInstanceUID), str(ds.StudyInstanceUID))
            for status, ds in assoc.send_c_find(query, STUDY_FIND)
            if status and status.Status == 0xFF00
        ]
    finally:
        assoc.release()
    rows = loaded.db.query("IMAGE", {}, fields=["StudyInstanceUID"])
    assert sorted(found) == sorted((r["SOPInstanceUID"], r["StudyInstanceUID"]) for r in rows)


def test_get_transcodes_to_the_accepted_syntax(archive):
    """The stored file is Explicit VR Little Endian; the requestor accepts only
    Implicit VR: the C-GET sub-operation sends the same data set, re-encoded."""
    path = data_path("ct/pydicom_CT_small.dcm")
    source = pydicom.dcmread(path)
    assert source.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert dimse_client.send(archive.peer, [path]).failed == []
    responses, received = _get(
        archive.port, source.StudyInstanceUID, CT_IMAGE, [ImplicitVRLittleEndian]
    )
    statuses = [status.Status for status, _ds in responses]
    assert statuses[-1] == 0x0000
    assert len(received) == 1
    syntax, ds = received[0]
    assert syntax == ImplicitVRLittleEndian
    assert ds.SOPInstanceUID == source.SOPInstanceUID
    assert ds.PixelData == source.PixelData
    assert ds.PatientName == source.PatientName


def _get(port: int, study_uid: str, sop_class: str, syntaxes: list[str]):
    """C-GET a study as a pynetdicom requestor taking the Storage SCP role for
    ``sop_class`` in ``syntaxes``: (statuses with their responses, received data sets)."""
    from pynetdicom import AE, build_role, evt

    received: list[tuple[str, Dataset]] = []

    def on_store(event):
        received.append((str(event.context.transfer_syntax), event.dataset))
        return 0x0000

    ae = AE(ae_title="GETTER")
    ae.add_requested_context(STUDY_GET)
    ae.add_requested_context(sop_class, syntaxes)
    assoc = ae.associate(
        "127.0.0.1",
        port,
        ae_title="SRKIT",
        ext_neg=[build_role(sop_class, scp_role=True)],
        evt_handlers=[(evt.EVT_C_STORE, on_store)],
    )
    assert assoc.is_established
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    query.StudyInstanceUID = study_uid
    try:
        responses = list(assoc.send_c_get(query, STUDY_GET))
    finally:
        assoc.release()
    return responses, received


def test_get_deflated_file_as_explicit(archive):
    """A stored Deflated Explicit VR file goes to a requestor that accepts only
    Explicit VR Little Endian: inflated and re-encoded, the same content."""
    path = data_path("sr-other/dcm4che_report_dfl.dcm")
    source = pydicom.dcmread(path)
    assert source.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1.99"
    assert dimse_client.send(archive.peer, [path]).failed == []
    responses, received = _get(
        archive.port, source.StudyInstanceUID, source.SOPClassUID, [ExplicitVRLittleEndian]
    )
    assert responses[-1][0].Status == 0x0000
    assert responses[-1][0].NumberOfCompletedSuboperations == 1
    [(syntax, ds)] = received
    assert syntax == ExplicitVRLittleEndian
    assert ds.SOPInstanceUID == source.SOPInstanceUID
    assert len(ds.ContentSequence) == len(source.ContentSequence) > 0
    assert ds.ContentSequence == source.ContentSequence
    assert ds.ConceptNameCodeSequence[0].CodeValue == source.ConceptNameCodeSequence[0].CodeValue


def test_get_without_a_usable_context_fails_each_instance(archive):
    """The requestor takes CT images only as JPEG Baseline; the stored files are
    uncompressed and srkit does not compress: every sub-operation fails, the final
    status is 0xA702 with the failed SOP Instance UIDs (PS3.4 C.4.3.1.3.1)."""
    files = data_files("ct/pydicom_CT2/*.dcm")
    assert dimse_client.send(archive.peer, files).failed == []
    sources = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    responses, received = _get(
        archive.port, sources[0].StudyInstanceUID, CT_IMAGE, ["1.2.840.10008.1.2.4.50"]
    )
    assert received == []
    final, identifier = responses[-1]
    assert final.Status == 0xA702
    assert final.NumberOfFailedSuboperations == len(files)
    assert final.NumberOfCompletedSuboperations == 0
    assert sorted(identifier.FailedSOPInstanceUIDList) == sorted(
        str(s.SOPInstanceUID) for s in sources
    )


@settings(max_examples=40, deadline=None)
@given(
    first=st.binary(min_size=0, max_size=300),
    later=st.binary(min_size=1, max_size=300),
)
def test_random_bytes_never_stop_the_listener(running_listener, first, later):
    """Garbage before or after associating ends that connection only: the listener
    answers the next association."""
    port = running_listener
    for prefix in (b"", associate_rq([(VERIFICATION, ImplicitVRLittleEndian)])):
        client = Raw(port)
        try:
            client.sock.sendall(prefix + (first if not prefix else later))
            client.sock.shutdown(socket.SHUT_WR)
            client.sock.settimeout(5)
            while client.sock.recv(65536):
                pass  # whatever the listener answers, it closes the connection
        except OSError:
            pass
        finally:
            client.close()
    assert dimse_client.echo(Peer("SRKIT", "127.0.0.1", port), timeout=5) == 0


@pytest.fixture(scope="module")
def running_listener(tmp_path_factory):
    from srkit.db import Database

    root = tmp_path_factory.mktemp("fuzz")
    db = Database(root / "db.sqlite", storage=root / "storage")
    sock = bind("127.0.0.1", 0)
    server = services.make_server(db, sock, config=PeersConfig(), timeout=5).start()
    yield sock.getsockname()[1]
    server.shutdown()
    db.close()


def test_move_cancelled_before_the_first_instance(tmp_path):
    """A C-CANCEL sent with the C-MOVE: the listener associates with the destination
    but sends nothing; the final status is 0xFE00 with every instance remaining."""
    from tests.net.dimse.archive import Archive

    destination = Archive(tmp_path / "dest", aet="DEST")
    config = f'allow_unknown = true\n[peers.DEST]\nhost = "127.0.0.1"\nport = {destination.port}\n'
    source = Archive(tmp_path / "source", config_text=config)
    client = None
    try:
        files = data_files("ct/pydicom_CT2/*.dcm")
        assert dimse_client.send(source.peer, files).failed == []
        study = str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
        client = Raw(source.port)
        move_model = "1.2.840.10008.5.1.4.1.2.2.2"
        assert client.associate([(move_model, ImplicitVRLittleEndian)])[0] == 2
        query = Dataset()
        query.QueryRetrieveLevel = "STUDY"
        query.StudyInstanceUID = study
        move = {0x0002: move_model, 0x0100: Field.C_MOVE_RQ, 0x0110: 3, 0x0600: "DEST"}
        move.update({0x0700: 0, 0x0800: 0})
        cancel = {0x0100: Field.C_CANCEL_RQ, 0x0120: 3, 0x0800: 0x0101}
        client.sock.sendall(
            client.command(1, move, encode(query, True, True)) + client.command(1, cancel)
        )
        command, _data = client.response()
        assert (command[0x0100], command[0x0120], command[0x0900]) == (0x8021, 3, 0xFE00)
        assert command[0x1020] == len(files)  # remaining
        assert (command[0x1021], command[0x1022], command[0x1023]) == (0, 0, 0)
        assert destination.db.query("IMAGE", {}) == []
        # without the cancel, every instance arrives
        move[0x0110] = 4
        client.sock.sendall(client.command(1, move, encode(query, True, True)))
        while True:
            command, _data = client.response()
            if command[0x0900] != 0xFF00:
                break
        assert command[0x0900] == 0x0000
        assert command[0x1021] == len(files)
        assert len(destination.db.query("IMAGE", {})) == len(files)
    finally:
        if client is not None:
            client.close()
        source.close()
        destination.close()


# -- protocol and robustness (found in review) ----------------------------------------


def test_two_messages_in_one_pdu(raw):
    """A P-DATA-TF may carry several messages (PS3.8 9.3.5): both are answered."""
    client = raw()
    assert client.associate([(VERIFICATION, ImplicitVRLittleEndian)])[0] == 2
    first = encode_command({0x0002: VERIFICATION, 0x0100: 0x0030, 0x0110: 1, 0x0800: 0x0101})
    second = encode_command({0x0002: VERIFICATION, 0x0100: 0x0030, 0x0110: 2, 0x0800: 0x0101})
    items = b"".join(struct.pack(">IBB", len(cmd) + 2, 1, 3) + cmd for cmd in (first, second))
    client.conn.send_pdu(4, items)
    answered = [client.response()[0][0x0120] for _ in range(2)]
    assert answered == [1, 2]


@pytest.mark.peers
def test_request_on_another_services_context(loaded, raw):
    """A C-FIND on the Verification context gets 0x0122, not matches; a stray
    C-STORE-RSP is not answered."""
    client = raw(loaded.port)
    assert client.associate([(VERIFICATION, ImplicitVRLittleEndian)])[0] == 2
    query = Dataset()
    query.QueryRetrieveLevel = "STUDY"
    find = {0x0002: VERIFICATION, 0x0100: Field.C_FIND_RQ, 0x0110: 7, 0x0700: 0, 0x0800: 0}
    client.sock.sendall(client.command(1, find, encode(query, True, True)))
    command, data = client.response()
    assert (command[0x0100], command[0x0120], command[0x0900]) == (0x8020, 7, 0x0122)
    assert data == b""
    stray = {0x0002: VERIFICATION, 0x0100: Field.C_STORE_RSP, 0x0120: 99, 0x0900: 0}
    stray[0x0800] = 0x0101
    echo = {0x0002: VERIFICATION, 0x0100: 0x0030, 0x0110: 8, 0x0800: 0x0101}
    client.sock.sendall(client.command(1, stray) + client.command(1, echo))
    command, _ = client.response()
    assert (command[0x0100], command[0x0120]) == (0x8030, 8)


def test_oversized_command_set_is_aborted(raw):
    client = raw()
    assert client.associate([(VERIFICATION, ImplicitVRLittleEndian)])[0] == 2
    fragment = struct.pack(">IBB", 4096 + 2, 1, 1) + b"\0" * 4096  # command, not last
    for _ in range(17):  # 68 KiB of command set: more than 64 KiB
        client.conn.send_pdu(4, fragment)
    kind, body = client.conn.read_pdu()
    assert kind == 7
    assert body[3] == 6  # invalid PDU parameter value


def test_protocol_version_zero_is_rejected(raw):
    request = bytearray(associate_rq([(VERIFICATION, ImplicitVRLittleEndian)]))
    request[6:8] = b"\0\0"
    client = raw()
    client.sock.sendall(bytes(request))
    assert client.conn.read_pdu() == (3, bytes([0, 1, 2, 2]))


def test_slow_request_meets_the_artim_deadline(tmp_path):
    """A connection that sends its A-ASSOCIATE-RQ a byte at a time, each within the
    idle time-out, is still cut off at the ARTIM deadline."""
    from srkit.db import Database

    db = Database(tmp_path / "db.sqlite", storage=tmp_path / "storage")
    sock = bind("127.0.0.1", 0)
    server = services.make_server(db, sock, config=PeersConfig(), timeout=0.6).start()
    client = Raw(sock.getsockname()[1])
    request = associate_rq([(VERIFICATION, ImplicitVRLittleEndian)])
    try:
        assert _trickle(client.sock, request, 0.2) < 3.0
    finally:
        client.close()
        server.shutdown()
        db.close()


def _trickle(sock: socket.socket, data: bytes, pause: float) -> float:
    """Send ``data`` a byte every ``pause`` seconds until the peer closes; the seconds
    it took (the whole time if the peer never closed)."""
    start = time.monotonic()
    try:
        for byte in data:
            sock.sendall(bytes([byte]))
            time.sleep(pause)
    except OSError:
        pass
    return time.monotonic() - start


def test_storage_scu_and_scp_roles_on_one_association(archive):
    """A requestor proposing both roles for CT Image Storage may send (and could be
    sent to by C-GET) on one association."""
    from pynetdicom import AE, build_role

    path = data_path("ct/pydicom_CT_small.dcm")
    ds = pydicom.dcmread(path)
    ae = AE(ae_title="BOTH")
    ae.add_requested_context(CT_IMAGE, ds.file_meta.TransferSyntaxUID)
    assoc = ae.associate(
        "127.0.0.1",
        archive.port,
        ae_title="SRKIT",
        ext_neg=[build_role(CT_IMAGE, scu_role=True, scp_role=True)],
    )
    assert assoc.is_established
    try:
        [context] = assoc.accepted_contexts
        assert context.as_scu
        assert context.as_scp
        assert assoc.send_c_store(ds).Status == 0x0000
    finally:
        assoc.release()
    assert archive.db.instance_path(str(ds.SOPInstanceUID)) is not None


def test_junk_data_set_answered_at_once(archive, raw):
    client = raw()
    assert client.associate([(CT_IMAGE, ImplicitVRLittleEndian)])[0] == 2
    store = {0x0002: CT_IMAGE, 0x0100: Field.C_STORE_RQ, 0x0110: 1, 0x0700: 0, 0x0800: 0}
    store[0x1000] = "1.2.3.4"
    client.conn.peer_max = 1 << 20  # the listener's Maximum Length Received
    start = time.monotonic()
    client.sock.sendall(client.command(1, store, b"\0" * (4 << 20)))
    command, _ = client.response()
    assert command[0x0900] == 0xC000
    assert time.monotonic() - start < 5
    assert archive.db.query("IMAGE", {}) == []


def test_retrieve_counts_a_missing_file_as_failed(archive):
    files = data_files("ct/pydicom_CT2/*.dcm")
    assert dimse_client.send(archive.peer, files).failed == []
    sources = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    gone = str(sources[1].SOPInstanceUID)
    archive.db.instance_path(gone).unlink()
    responses, received = _get(
        archive.port, sources[0].StudyInstanceUID, CT_IMAGE, [ExplicitVRLittleEndian]
    )
    final, identifier = responses[-1]
    assert final.Status == 0xB000
    assert (final.NumberOfCompletedSuboperations, final.NumberOfFailedSuboperations) == (
        len(files) - 1,
        1,
    )
    assert identifier.FailedSOPInstanceUIDList == gone  # one value
    assert sorted(str(ds.SOPInstanceUID) for _ts, ds in received) == sorted(
        str(s.SOPInstanceUID) for s in sources if str(s.SOPInstanceUID) != gone
    )


def test_counts_above_65535_are_capped():
    counts = retrieve.SubOperations(70000)
    counts.add("1.2.3", 0)
    fields = counts._fields(False)
    assert fields[0x1020] == 0xFFFF
    assert fields[0x1021] == 1
    assert decode_command(encode_command({0x0100: 0x8010, **fields}))[0x1020] == 0xFFFF


def test_at_value_of_bad_length():
    with pytest.raises(CommandError):
        decode_command(struct.pack("<HHI", 0, 0x0901, 6) + b"\x10\x00\x20\x00\x30\x00")


@pytest.mark.peers
def test_release_during_a_query_waits_for_its_end(loaded, raw):
    """An A-RELEASE-RQ sent right after a C-FIND: every match and the final status
    come first, then the A-RELEASE-RP."""
    client = raw(loaded.port)
    assert client.associate([(STUDY_FIND, ImplicitVRLittleEndian)])[0] == 2
    query = Dataset()
    query.QueryRetrieveLevel = "IMAGE"
    query.SOPInstanceUID = ""
    find = {0x0002: STUDY_FIND, 0x0100: Field.C_FIND_RQ, 0x0110: 1, 0x0700: 0, 0x0800: 0}
    release = struct.pack(">BBI", 5, 0, 4) + b"\0" * 4
    client.sock.sendall(client.command(1, find, encode(query, True, True)) + release)
    statuses = []
    while not statuses or statuses[-1] == 0xFF00:
        statuses.append(client.response()[0][0x0900])
    assert statuses[-1] == 0x0000
    assert len(statuses) - 1 == len(loaded.db.query("IMAGE", {}))
    assert client.conn.read_pdu() == (6, b"\0" * 4)
    assert client.closed()
