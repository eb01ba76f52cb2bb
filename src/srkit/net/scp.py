"""The DIMSE listener: verification, storage and query/retrieve over the database.

Services (PS3.4): Verification (Annex A), Storage of every storage SOP class
(Annex B), Patient Root and Study Root Query/Retrieve FIND, MOVE and GET (Annex C).
Associations are accepted by :mod:`srkit.net.acceptor` (negotiation through
pynetdicom's presentation-context rules); each handler here answers one request
message with DIMSE statuses (PS3.7 Annex C), never with an exception. A C-STORE is
answered only after the database has written the file and indexed it; on failure the
database leaves nothing behind.
"""

from __future__ import annotations

import io
import logging
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srkit.errors import SrkitError
from srkit.net.acceptor import Association, Message, Server, file_meta
from srkit.net.command import Field
from srkit.net.config import PeersConfig
from srkit.net.dicomjson import split_filters
from srkit.net.findrsp import ResponseBuilder
from srkit.net.querykeys import find_filters
from srkit.net.querykeys import value_text as _value_text
from srkit.net.status import store_status

if TYPE_CHECKING:
    from pydicom import Dataset

__all__ = [
    "DB_LEVELS",
    "Services",
    "find_filters",
    "make_server",
    "serve_socket",
    "start",
    "supported_contexts",
]

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())

DB_LEVELS = {"PATIENT": "PATIENT", "STUDY": "STUDY", "SERIES": "SERIES", "IMAGE": "IMAGE"}
UNIQUE_KEYS = {
    "PATIENT": "PatientID",
    "STUDY": "StudyInstanceUID",
    "SERIES": "SeriesInstanceUID",
    "IMAGE": "SOPInstanceUID",
}

# Statuses (PS3.7 Annex C; PS3.4 Tables B.2-1, C.4-1, C.4-2, C.4-3)
VERIFICATION = "1.2.840.10008.1.1"
"""Verification SOP Class (PS3.4 Annex A)."""
SUCCESS = 0x0000
PENDING = 0xFF00
CANCEL = 0xFE00
WARNING_SUBOPERATIONS = 0xB000
NOT_AUTHORIZED = 0x0124
OUT_OF_RESOURCES = 0xA700
STORE_NOT_MATCHING = 0xA900
CANNOT_UNDERSTAND = 0xC000
FIND_UNABLE = 0xC000
IDENTIFIER_MISMATCH = 0xA900
MOVE_UNKNOWN_DEST = 0xA801
RETRIEVE_OUT_OF_RESOURCES = 0xA701
SUBOPERATIONS_FAILED = 0xA702
STUDY_ROOT = "1.2.840.10008.5.1.4.1.2.2."
"""Prefix of the Study Root Query/Retrieve SOP classes (PS3.4 Section C.6.2)."""


def supported_contexts(config: PeersConfig | None = None) -> list[Any]:
    """The presentation contexts the listener accepts (pynetdicom ``PresentationContext``).

    Verification; every storage SOP class with every transfer syntax (files are kept
    as sent), letting the requestor take the SCP role for C-GET sub-operations (PS3.4
    Section C.4.3.2, negotiated per PS3.7 Annex D.3.3.4); Patient and Study Root FIND,
    MOVE and GET.
    """
    from pynetdicom import ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts, build_context
    from pynetdicom import sop_class as sc

    contexts = [build_context(VERIFICATION, ALL_TRANSFER_SYNTAXES)]
    for cx in AllStoragePresentationContexts:
        context = build_context(str(cx.abstract_syntax), ALL_TRANSFER_SYNTAXES)
        context.scp_role, context.scu_role = True, True
        contexts.append(context)
    for root in ("PatientRoot", "StudyRoot"):
        for kind in ("Find", "Move", "Get"):
            uid = getattr(sc, f"{root}QueryRetrieveInformationModel{kind}")
            contexts.append(build_context(uid))
    return contexts


class Services:
    """The request handlers of one listener (database, peers configuration, and the
    listener's AE title, the calling title of its C-MOVE sub-associations)."""

    def __init__(self, db: Any, config: PeersConfig, aet: str = "SRKIT") -> None:
        self.db = db
        self.config = config
        self.aet = aet

    def handlers(self) -> dict[int, Any]:
        """Command Field -> handler, for :class:`srkit.net.acceptor.Server`."""
        return {
            Field.C_ECHO_RQ: self.echo,
            Field.C_STORE_RQ: self.store,
            Field.C_FIND_RQ: self.find,
            Field.C_MOVE_RQ: self.move,
            Field.C_GET_RQ: self.get,
        }

    # -- verification and storage -----------------------------------------------------

    def echo(self, assoc: Association, msg: Message) -> None:
        """C-ECHO (PS3.4 Annex A): success, or 0x0124 if the caller may not echo."""
        allowed = self.config.may(assoc.calling_ae, "echo")
        assoc.respond(msg, Field.C_ECHO_RSP, SUCCESS if allowed else NOT_AUTHORIZED)

    def store(self, assoc: Association, msg: Message) -> None:
        """C-STORE (PS3.4 Annex B): write and index the instance, then answer.

        The received bytes are stored as they came (:meth:`Database.store_outcome`),
        behind File Meta Information naming the context's transfer syntax. Status
        0x0000 after the database has written the file and committed its index rows
        (also when the SOP Instance UID is stored already with the same bytes);
        0xB000 when it was stored with a conflict recorded (Error Comment names the
        kinds, ``srkit ls conflicts`` the details); 0x0111 when the UID is stored
        with other bytes and the policy keeps the first; 0x0124 when the caller may
        not store; 0xA900 when the data set's SOP Class or
        Instance UID does not match the request; 0xC000 when it cannot be decoded, is
        cut short, or the database refuses it (bad UIDs); 0xA700 when the disk or
        database fails.
        """
        status, comment = self._store(assoc, msg)
        extra = {0x0902: comment[:64]} if comment else None
        assoc.respond(msg, Field.C_STORE_RSP, status, extra=extra)

    def _store(self, assoc: Association, msg: Message) -> tuple[int, str]:
        from srkit.db.ingest import parse_received, parse_staged
        from srkit.db.staging import StagedFile

        caller = assoc.calling_ae
        if not self.config.may(caller, "store"):
            return NOT_AUTHORIZED, "caller may not store"
        context = assoc.contexts[msg.context_id]
        sop_class = str(msg.command.get(0x0002, ""))
        sop_instance = str(msg.command.get(0x1000, ""))
        if sop_class != str(context.abstract_syntax):
            return STORE_NOT_MATCHING, "SOP Class differs from the presentation context"
        if msg.refusal is not None:  # not staged: too many bytes in flight, or disk
            LOGGER.warning("C-STORE %s from %s refused: %s", sop_instance, caller, msg.refusal)
            return OUT_OF_RESOURCES, msg.refusal
        head = msg.head if msg.staged is not None else bytes((msg.fragments or [b""])[0][:8])
        if not _looks_like_data_set(head, context.transfer_syntax[0]):
            return CANNOT_UNDERSTAND, "not a DICOM data set"
        data: bytes | StagedFile
        try:
            if msg.staged is not None:
                data = msg.staged
                _ds, rec = parse_staged(data.path, size=data.size, sha256=data.sha256)
            else:
                meta = file_meta(sop_class, sop_instance, str(context.transfer_syntax[0]), caller)
                data = b"".join([meta, *(msg.fragments or ())])
                _ds, rec = parse_received(data)
        except SrkitError as exc:
            LOGGER.warning("C-STORE from %s: cannot decode data set: %s", caller, exc.message)
            return CANNOT_UNDERSTAND, (
                "data set cut short" if "truncated" in exc.message else "cannot decode"
            )
        except Exception as exc:  # malformed data set: anything a parser raises
            LOGGER.warning("C-STORE from %s: cannot decode data set: %s", caller, exc)
            return CANNOT_UNDERSTAND, "cannot decode the data set"
        instance = rec["instance"]
        if str(instance["sop_class_uid"]) != sop_class or (
            str(instance["sop_instance_uid"]) != sop_instance
        ):
            return STORE_NOT_MATCHING, "UIDs differ from the request"
        return self._commit(rec, data, caller, sop_instance)

    def _commit(self, rec: dict[str, Any], data: Any, caller: str, uid: str) -> tuple[int, str]:
        """Store and map the outcome to a status (:func:`srkit.net.status.store_status`:
        0x0111 for a refused conflicting duplicate, 0xB000 for a stored instance whose
        conflicts were recorded)."""
        try:
            outcome = self.db.store_outcome(rec, data, calling_ae=caller, source="c-store")
        except SrkitError as exc:
            LOGGER.warning("C-STORE %s from %s refused: %s", uid, caller, exc)
            return CANNOT_UNDERSTAND, str(exc)
        except OSError as exc:
            LOGGER.error("C-STORE %s from %s: %s", uid, caller, exc)
            return OUT_OF_RESOURCES, "cannot write the instance"
        except Exception as exc:  # the peer gets a status, never an exception
            LOGGER.exception("C-STORE %s from %s failed", uid, caller)
            return OUT_OF_RESOURCES, type(exc).__name__
        if outcome.conflicts:
            LOGGER.warning("C-STORE %s from %s: %s", uid, caller, outcome.warning)
        if outcome.status in ("stored", "replaced"):  # a new instance: its dose alerts
            _dose_alert_hook(self.db, rec)
        return store_status(outcome)

    # -- query ------------------------------------------------------------------------

    def find(self, assoc: Association, msg: Message) -> None:
        """C-FIND (PS3.4 Section C.4.1) at PATIENT, STUDY, SERIES or IMAGE level.

        One pending response (0xFF00) per match with its identifier, then success;
        0x0124 when the caller may not query; 0xA900 for an identifier without a
        valid level (or PATIENT level in the Study Root model); 0xC000 when the
        database fails; 0xFE00 after a C-CANCEL.
        """
        rsp = Field.C_FIND_RSP
        if not self.config.may(assoc.calling_ae, "find"):
            assoc.respond(msg, rsp, NOT_AUTHORIZED, extra={0x0902: "caller may not query"})
            return
        context = assoc.contexts[msg.context_id]
        syntax = context.transfer_syntax[0]
        try:
            ident = _decode(msg.dataset, syntax)
            level, filters, fields = find_filters(ident)
            if level == "PATIENT" and str(context.abstract_syntax).startswith(STUDY_ROOT):
                raise SrkitError("no PATIENT level in Study Root")
        except Exception as exc:
            assoc.respond(msg, rsp, IDENTIFIER_MISMATCH, extra={0x0902: str(exc)[:64]})
            return
        filters, ignored = split_filters(filters)
        if ignored:
            LOGGER.info("C-FIND: no matching on %s (treated as universal)", ", ".join(ignored))
        try:
            rows = self.db.query(DB_LEVELS[level], filters, fields=fields)
        except Exception as exc:
            LOGGER.warning("C-FIND %s %s failed: %s", level, filters, exc)
            assoc.respond(msg, rsp, FIND_UNABLE, extra={0x0902: str(exc)[:64]})
            return
        specs = [(kw, ident[kw].tag, str(ident[kw].VR).split(" or ")[0]) for kw in fields]
        builder = ResponseBuilder(level, specs, syntax)
        for row in rows:
            if assoc.cancelled(msg.message_id):
                assoc.respond(msg, rsp, CANCEL)
                return
            if syntax.is_deflated:  # rare: pydicom deflates the identifier
                identifier = _encode(builder.build(row), syntax)
            else:
                identifier = builder.encode(row)
            assoc.respond(msg, rsp, PENDING, identifier)
        assoc.respond(msg, rsp, SUCCESS)

    # -- retrieve ---------------------------------------------------------------------

    def _paths(self, assoc: Association, msg: Message) -> list[tuple[str, Path]]:
        """(SOP Instance UID, file) of the instances a C-MOVE/C-GET identifier names
        (its unique keys); a file that has gone is kept, to count as a failure."""
        ident = _decode(msg.dataset, assoc.contexts[msg.context_id].transfer_syntax[0])
        level = str(ident.get("QueryRetrieveLevel", "")).strip().upper()
        if level not in UNIQUE_KEYS:
            raise SrkitError(f"unknown Query/Retrieve Level {level!r}")
        key = UNIQUE_KEYS[level]
        value = _value_text(ident[key]).strip() if key in ident else ""
        if not value:
            raise SrkitError(f"{key} missing from the identifier")
        found: list[tuple[str, Path]] = []
        seen: set[str] = set()
        for uid in value.split("\\"):
            for sop_uid, path in self.db.instance_files(DB_LEVELS[level], uid.strip()):
                if sop_uid not in seen:
                    seen.add(sop_uid)
                    found.append((sop_uid, path))
        return found

    def _retrieve_start(
        self, assoc: Association, msg: Message, rsp: int, service: str
    ) -> list[tuple[str, Path]] | None:
        """The files to send, or None after answering a refusal."""
        if not self.config.may(assoc.calling_ae, service):
            assoc.respond(msg, rsp, NOT_AUTHORIZED, extra={0x0902: "caller may not retrieve"})
            return None
        try:
            return self._paths(assoc, msg)
        except Exception as exc:
            code = IDENTIFIER_MISMATCH if isinstance(exc, SrkitError) else RETRIEVE_OUT_OF_RESOURCES
            assoc.respond(msg, rsp, code, extra={0x0902: str(exc)[:64]})
            return None

    def move(self, assoc: Association, msg: Message) -> None:
        """C-MOVE (PS3.4 Section C.4.2) to a destination known in the peers file.

        The instances go over a new association to the destination (pynetdicom as
        SCU). An unknown destination, or a caller not allowed to move, gets 0xA801;
        a bad identifier 0xA900; a database failure 0xA701; a destination that cannot
        be reached 0xA801.
        """
        rsp = Field.C_MOVE_RSP
        destination_ae = str(msg.command.get(0x0600, ""))
        destination = self.config.destination(destination_ae)
        if destination is None or not self.config.may(assoc.calling_ae, "move"):
            assoc.respond(msg, rsp, MOVE_UNKNOWN_DEST, extra={0x0902: "unknown move destination"})
            return
        found = self._retrieve_start(assoc, msg, rsp, "move")
        if found is None:
            return
        files = [path for _uid, path in found if path.is_file()]
        sub = _associate(destination, destination_ae, self.aet, files) if files else None
        if files and sub is None:
            assoc.respond(msg, rsp, MOVE_UNKNOWN_DEST, extra={0x0902: "destination not reachable"})
            return
        originator = (assoc.calling_ae, msg.message_id)
        try:
            counts = _Counts(len(found))
            for uid, path in found:
                if assoc.cancelled(msg.message_id):
                    counts.respond_final(assoc, msg, rsp, cancelled=True)
                    return
                counts.add(uid, _move_one(sub, path, originator))
                counts.respond_pending(assoc, msg, rsp)
            counts.respond_final(assoc, msg, rsp)
        finally:
            if sub is not None:
                sub.release()

    def get(self, assoc: Association, msg: Message) -> None:
        """C-GET (PS3.4 Section C.4.3): instances go back over the same association, as
        C-STORE sub-operations on a context where the requestor took the SCP role."""
        rsp = Field.C_GET_RSP
        found = self._retrieve_start(assoc, msg, rsp, "get")
        if found is None:
            return
        counts = _Counts(len(found))
        for uid, path in found:
            if assoc.cancelled(msg.message_id):
                counts.respond_final(assoc, msg, rsp, cancelled=True)
                return
            status, cancel = _get_one(assoc, msg, path)
            counts.add(uid, status)
            if cancel:
                counts.respond_final(assoc, msg, rsp, cancelled=True)
                return
            counts.respond_pending(assoc, msg, rsp)
        counts.respond_final(assoc, msg, rsp)


class _Counts:
    """Sub-operation counts of a C-MOVE or C-GET (PS3.4 Sections C.4.2.1.4, C.4.3.1.4)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.completed = self.failed = self.warning = 0
        self.failed_uids: list[str] = []

    @property
    def remaining(self) -> int:
        return self.total - self.completed - self.failed - self.warning

    def add(self, uid: str, status: int | None) -> None:
        if status == SUCCESS:
            self.completed += 1
        elif status is not None and (status & 0xF000) == 0xB000:
            self.warning += 1
        else:
            self.failed += 1
            self.failed_uids.append(uid)

    def _fields(self, final: bool) -> dict[int, int]:
        """The counts (US: a count above 65535 is sent as 65535)."""
        fields = {0x1021: self.completed, 0x1022: self.failed, 0x1023: self.warning}
        if not final:
            fields[0x1020] = self.remaining
        return {key: min(value, 0xFFFF) for key, value in fields.items()}

    def respond_pending(self, assoc: Association, msg: Message, rsp: int) -> None:
        assoc.respond(msg, rsp, PENDING, extra=self._fields(False))

    def respond_final(
        self, assoc: Association, msg: Message, rsp: int, *, cancelled: bool = False
    ) -> None:
        """Success, 0xB000 (some failed), 0xA702 (all failed) or 0xFE00 (cancelled);
        a Failed SOP Instance UID List (0008,0058) when any failed."""
        if cancelled:
            status = CANCEL
            fields = {**self._fields(False)}
        else:
            fields = self._fields(True)
            if not self.failed and not self.warning:
                status = SUCCESS
            elif self.failed == self.total:
                status = SUBOPERATIONS_FAILED
            else:
                status = WARNING_SUBOPERATIONS
        identifier = None
        if self.failed_uids:
            from pydicom import Dataset

            ds = Dataset()
            ds.FailedSOPInstanceUIDList = self.failed_uids
            syntax = assoc.contexts[msg.context_id].transfer_syntax[0]
            identifier = _encode(ds, syntax)
        assoc.respond(msg, rsp, status, identifier, extra=fields)


def _looks_like_data_set(head: bytes, syntax: Any) -> bool:
    """Whether a received data set starts like one (PS3.5 Section 7.1): its first
    element (``head``, its first 8 bytes) is outside the command group 0000 and, in
    explicit VR, has a VR of two upper-case letters. Rejects junk before the parser
    spends time on it."""
    if syntax.is_deflated or not syntax.is_little_endian:
        return bool(head)
    if len(head) < 8:
        return False
    group = int.from_bytes(head[:2], "little")
    if group < 0x0002 or (group % 2 and group < 0x0008):  # 0000-0001, 0003, 0005, 0007
        return False
    return syntax.is_implicit_VR or (65 <= head[4] <= 90 and 65 <= head[5] <= 90)


def _decode(data: bytes, syntax: Any) -> Dataset:
    """An identifier received in ``syntax`` (PS3.5 Section 10)."""
    from pynetdicom.dsutils import decode

    return decode(
        io.BytesIO(data), syntax.is_implicit_VR, syntax.is_little_endian, syntax.is_deflated
    )


def _encode(ds: Dataset, syntax: Any) -> bytes:
    from pynetdicom.dsutils import encode

    data = encode(ds, syntax.is_implicit_VR, syntax.is_little_endian, syntax.is_deflated)
    if data is None:
        raise SrkitError("cannot encode the identifier")
    return data


def _read_meta(path: Path) -> tuple[str, str, str, bytes] | None:
    """(SOP Class UID, SOP Instance UID, transfer syntax, data set bytes) of a stored
    file, the data set exactly as stored (PS3.10 Section 7.1), or None if unreadable."""
    from srkit.codec.fastparse import FastParseError, split_file_meta

    try:
        data = path.read_bytes()
        meta, start = split_file_meta(data)
    except FileNotFoundError:
        LOGGER.warning("cannot retrieve %s: the file has gone", path)
        return None
    except (OSError, FastParseError) as exc:
        LOGGER.error("cannot read %s for retrieval: %s", path, exc)
        return None
    return (
        str(meta.get("MediaStorageSOPClassUID", "")),
        str(meta.get("MediaStorageSOPInstanceUID", "")),
        str(meta.get("TransferSyntaxUID", "")),
        data[start:],
    )


def _get_context(assoc: Association, sop_class: str, syntax: str) -> tuple[int, bool] | None:
    """A context for a C-GET sub-operation: (ID, whether the data set must be
    transcoded); the stored transfer syntax first, else a native one."""
    from pydicom.uid import UID

    choices = [
        (cid, str(cx.transfer_syntax[0]))
        for cid, cx in assoc.contexts.items()
        if str(cx.abstract_syntax) == sop_class and cx.as_scu
    ]
    for cid, ts in choices:
        if ts == syntax:
            return cid, False
    if UID(syntax).is_compressed:
        return None
    for cid, ts in choices:
        if not UID(ts).is_compressed:
            return cid, True
    return None


def _get_one(assoc: Association, msg: Message, path: Path) -> tuple[int | None, bool]:
    """One C-GET sub-operation: (status, or None if it failed here; cancel seen)."""
    found = _read_meta(path)
    if found is None:
        return None, False
    sop_class, sop_instance, syntax, data = found
    context = _get_context(assoc, sop_class, syntax)
    if context is None:
        LOGGER.warning("C-GET: no accepted context for %s in %s", sop_class, syntax)
        return None, False
    cid, transcode = context
    if transcode:
        from pydicom import dcmread

        try:
            data = _encode(dcmread(path), assoc.contexts[cid].transfer_syntax[0])
        except Exception as exc:
            LOGGER.error("cannot transcode %s: %s", path, exc)
            return None, False
    message_id = assoc.next_message_id(msg.message_id)
    return assoc.request_store(cid, sop_class, sop_instance, data, message_id, msg.message_id)


def _store_contexts(paths: Sequence[Path]) -> list[Any]:
    """Presentation contexts for C-STORE sub-operations to a move destination."""
    from pydicom import dcmread
    from pydicom.filereader import read_file_meta_info
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
    from pynetdicom import build_context

    pairs: dict[str, set[str]] = {}
    for path in paths:
        try:  # the meta group only: a stored SR's header is its whole content tree
            meta = read_file_meta_info(path)
            sop = str(meta.get("MediaStorageSOPClassUID", ""))
            if not sop:
                sop = str(dcmread(path, specific_tags=["SOPClassUID"]).get("SOPClassUID", ""))
        except Exception:
            continue
        ts = str(meta.get("TransferSyntaxUID", ImplicitVRLittleEndian))
        pairs.setdefault(sop, set()).add(ts)
    contexts = []
    for sop, syntaxes in sorted(pairs.items()):
        native: list[str] = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
        contexts.append(build_context(sop, list(native)))
        contexts += [build_context(sop, ts) for ts in sorted(syntaxes) if ts not in native]
    return contexts[:128]


def _associate(
    destination: tuple[str, int], ae_title: str, own_title: str, paths: Sequence[Path]
) -> Any:
    """An association to a C-MOVE destination (pynetdicom SCU, calling AE title
    ``own_title``), or None."""
    from pynetdicom import AE, evt

    from srkit.net.tuning import tune_association

    ae = AE(ae_title=own_title)
    ae.requested_contexts = _store_contexts(paths)
    host, port = destination
    try:
        sub = ae.associate(
            host, port, ae_title=ae_title, evt_handlers=[(evt.EVT_CONN_OPEN, tune_association)]
        )
    except Exception as exc:
        LOGGER.warning("C-MOVE: cannot associate with %s: %s", ae_title, exc)
        return None
    return sub if sub.is_established else None


def _move_one(sub: Any, path: Path, originator: tuple[str, int]) -> int | None:
    """One C-MOVE sub-operation over ``sub`` with the Move Originator AE Title and
    Message ID (PS3.7 Section 9.1.1.1): the C-STORE status, None if it failed."""
    from pydicom import dcmread

    from srkit.net.tuning import settle

    if sub is None:
        return None
    try:
        ds = dcmread(path)
    except Exception as exc:
        LOGGER.error("cannot read %s for retrieval: %s", path, exc)
        return None
    settle(sub)
    try:
        status = sub.send_c_store(ds, originator_aet=originator[0], originator_id=originator[1])
    except Exception as exc:
        LOGGER.warning("C-MOVE sub-operation %s failed: %s", path.name, exc)
        return None
    return int(status.Status) if status and "Status" in status else None


def make_server(
    db: Any, sock: socket.socket, *, config: PeersConfig, aet: str = "SRKIT", **options: Any
) -> Server:
    """A listener over ``sock`` (bound and listening, possibly shared with other
    processes, see :mod:`srkit.net.listener`). Not started: run ``serve_forever()``
    or ``start()``; ``shutdown()`` closes this process's descriptor of ``sock``.
    Associations are not refused by called AE title; ``aet`` is the calling title of
    C-MOVE sub-associations. ``options``: ``max_associations``, ``timeout``,
    ``max_dataset`` of :class:`srkit.net.acceptor.Server`."""
    allowed = (lambda title: title in config.peers) if config.restricted else None
    options.setdefault("staging", getattr(db, "storage", None))  # C-STORE data sets on disk
    return Server(
        sock,
        supported_contexts(config),
        Services(db, config, aet).handlers(),
        allowed=allowed,
        accepts=accepts,
        **options,
    )


def serve_socket(
    db: Any, sock: socket.socket, *, aet: str, config: PeersConfig, **options: Any
) -> Server:
    """:func:`make_server` for :func:`srkit.net.listener.serve`."""
    return make_server(db, sock, config=config, aet=aet, **options)


_QR_FIELDS = {"1": Field.C_FIND_RQ, "2": Field.C_MOVE_RQ, "3": Field.C_GET_RQ}


def accepts(abstract_syntax: str, field: int) -> bool:
    """Whether a request belongs on a context of ``abstract_syntax``: C-ECHO on
    Verification, C-FIND/C-MOVE/C-GET on the matching Query/Retrieve SOP class
    (PS3.4 Table C.6-1, C.6-2), C-STORE on any other (storage) SOP class."""
    if abstract_syntax == VERIFICATION:
        return field == Field.C_ECHO_RQ
    for root in ("1.2.840.10008.5.1.4.1.2.1.", STUDY_ROOT):
        if abstract_syntax.startswith(root):
            return _QR_FIELDS.get(abstract_syntax[len(root) :]) == field
    return field == Field.C_STORE_RQ


def start(
    db: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 11112,
    aet: str = "SRKIT",
    config: PeersConfig | None = None,
    block: bool = False,
    **options: Any,
) -> Server:
    """Listen on ``host:port`` (127.0.0.1 unless told otherwise).

    Returns the running server (``block=False``; stop it with ``.shutdown()``), or
    serves until interrupted (``block=True``). ``options`` as for :func:`make_server`.
    """
    from srkit.net.listener import bind

    server = make_server(db, bind(host, port), config=config or PeersConfig(), aet=aet, **options)
    server.start()
    if not block:
        return server
    try:
        while True:
            time.sleep(3600)
    finally:
        server.shutdown()


def _dose_alert_hook(db: Any, rec: dict[str, Any]) -> None:
    """Hook (issue 12): log the dose alerts of a stored dose report (logger
    ``srkit.dose.alerts``); never raises, the instance is stored already."""
    from srkit.dose.alerts import after_store

    after_store(db, rec)
