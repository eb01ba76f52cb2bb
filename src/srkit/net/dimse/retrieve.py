"""Retrieve (PS3.4 Sections C.4.2 and C.4.3): the C-MOVE and C-GET handlers of the
listener. A C-MOVE sends the instances over a new association to a destination known
in the peers file (pynetdicom as SCU); a C-GET sends them back over the same
association as C-STORE sub-operations. Sub-operation counts and the final status
follow PS3.4 Sections C.4.2.1.4 and C.4.3.1.4.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from srkit.errors import SrkitError
from srkit.net.dimse.association import Association
from srkit.net.dimse.commands import Field
from srkit.net.dimse.identifiers import (
    UNIQUE_KEYS,
    decode_identifier,
    encode_identifier,
    value_text,
)
from srkit.net.dimse.messages import Message
from srkit.net.dimse.peers import PeersConfig
from srkit.net.status import (
    CANCEL,
    MOVE_UNKNOWN_DESTINATION,
    NOT_AUTHORIZED,
    NOT_MATCHING,
    PENDING,
    RETRIEVE_OUT_OF_RESOURCES,
    SUBOPERATIONS_FAILED,
    SUCCESS,
    WARNING,
)

__all__ = ["Retrieve", "SubOperations"]

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())


_PARENT_KEYS = ("PatientID", "IssuerOfPatientID", "StudyInstanceUID", "SeriesInstanceUID")


class Retrieve:
    """C-MOVE and C-GET over ``db`` for the callers ``config`` allows; ``aet`` is the
    calling AE title of C-MOVE sub-associations."""

    def __init__(self, db: Any, config: PeersConfig, aet: str = "SRKIT", inbox: Any = None) -> None:
        self.db = db
        self.config = config
        self.aet = aet
        self.inbox = inbox  # the deferred index's (srkit.db.inbox.Inbox), if any

    def _paths(self, assoc: Association, msg: Message) -> list[tuple[str, Path]]:
        """(SOP Instance UID, file) of the instances a C-MOVE/C-GET identifier names
        (its unique keys); a file that has gone is kept, to count as a failure."""
        ident = decode_identifier(msg.dataset, assoc.contexts[msg.context_id].transfer_syntax[0])
        level = str(ident.get("QueryRetrieveLevel", "")).strip().upper()
        if level not in UNIQUE_KEYS:
            raise SrkitError(f"unknown Query/Retrieve Level {level!r}")
        key = UNIQUE_KEYS[level]
        value = value_text(ident[key]).strip() if key in ident else ""
        if not value:
            raise SrkitError(f"{key} missing from the identifier")
        # the unique keys of the levels above narrow the match (PS3.4 C.4.2.2.1): a
        # Series Instance UID also filed under another study or patient (a conflict)
        # must not bring the other's instances
        within = {k: value_text(ident[k]) for k in _PARENT_KEYS if k in ident and k != key}
        found: list[tuple[str, Path]] = []
        seen: set[str] = set()
        for uid in value.split("\\"):
            for sop_uid, path in self.db.instance_files(level, uid.strip(), within=within):
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
        if self.inbox is not None:  # what was acknowledged before is indexed first
            self.inbox.settle()
        try:
            return self._paths(assoc, msg)
        except Exception as exc:
            code = NOT_MATCHING if isinstance(exc, SrkitError) else RETRIEVE_OUT_OF_RESOURCES
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
            assoc.respond(
                msg, rsp, MOVE_UNKNOWN_DESTINATION, extra={0x0902: "unknown move destination"}
            )
            return
        found = self._retrieve_start(assoc, msg, rsp, "move")
        if found is None:
            return
        files = [path for _uid, path in found if path.is_file()]
        sub = _associate(destination, destination_ae, self.aet, files) if files else None
        if files and sub is None:
            assoc.respond(
                msg, rsp, MOVE_UNKNOWN_DESTINATION, extra={0x0902: "destination not reachable"}
            )
            return
        originator = (assoc.calling_ae, msg.message_id)
        try:
            counts = SubOperations(len(found))
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
        counts = SubOperations(len(found))
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


class SubOperations:
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
        elif status is not None and (status & 0xF000) == WARNING:
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
                status = WARNING
        identifier = None
        if self.failed_uids:
            from pydicom import Dataset

            ds = Dataset()
            ds.FailedSOPInstanceUIDList = self.failed_uids
            syntax = assoc.contexts[msg.context_id].transfer_syntax[0]
            identifier = encode_identifier(ds, syntax)
        assoc.respond(msg, rsp, status, identifier, extra=fields)


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
            data = encode_identifier(dcmread(path), assoc.contexts[cid].transfer_syntax[0])
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

    from srkit.net.dimse.tuning import tune_association

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

    from srkit.net.dimse.tuning import settle

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
