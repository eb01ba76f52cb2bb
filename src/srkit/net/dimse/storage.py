"""Storage (PS3.4 Annex B): the C-STORE handler of the listener.

A C-STORE is answered only after the database has written the file and indexed it;
on failure the database leaves nothing behind. With a deferred index (``inbox``,
:mod:`srkit.db.inbox`) a new SOP Instance UID is answered once its file is in the
inbox, and an indexer files it; a known or pending UID is stored the immediate way.
Every outcome is a status of :mod:`srkit.net.status` (PS3.4 Table B.2-1), never an
exception.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import struct
from typing import TYPE_CHECKING, Any

from srkit.codec.diagnostic_codes import ReadCode
from srkit.errors import SrkitError
from srkit.model import Code
from srkit.net.dimse.association import Association
from srkit.net.dimse.commands import Field
from srkit.net.dimse.messages import Message, file_meta
from srkit.net.dimse.peers import PeersConfig
from srkit.net.status import (
    CANNOT_UNDERSTAND,
    NOT_AUTHORIZED,
    NOT_MATCHING,
    OUT_OF_RESOURCES,
    SUCCESS,
    store_status,
)

if TYPE_CHECKING:
    from srkit.db.inbox import Inbox
    from srkit.db.staging import StagedFile

__all__ = ["Storage", "dose_alert_hook", "looks_like_data_set"]

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())

PENDING_WAIT = 30.0
"""Seconds a C-STORE of a UID that is pending in the inbox waits for the indexer
before it is stored the immediate way regardless."""
_HEAD = 1 << 16
"""Bytes of a data set read for its SOP UIDs before it goes to the inbox."""


class Storage:
    """C-STORE (PS3.4 Annex B) into ``db``, for the callers ``config`` allows."""

    def __init__(self, db: Any, config: PeersConfig, inbox: Inbox | None = None) -> None:
        self.db = db
        self.config = config
        self.inbox = inbox

    def __call__(self, assoc: Association, msg: Message) -> None:
        """Write and index the instance, then answer.

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
        stored: list[dict[str, Any]] = []
        status, comment = self._store(assoc, msg, stored)
        extra = {0x0902: comment[:64]} if comment else None
        assoc.respond(msg, Field.C_STORE_RSP, status, extra=extra)
        if self.inbox is not None:  # the next unnamed files, while the peer works
            # by a thread, filled with zeros, only while this process serves one
            # association: with several its cores are busy anyway
            self.inbox.prepare(single=len(assoc.server.active_associations) <= 1)
        for rec in stored:  # a new dose report: its alerts, once the peer has its answer
            dose_alert_hook(self.db, rec)

    def _store(
        self, assoc: Association, msg: Message, stored: list[dict[str, Any]]
    ) -> tuple[int, str]:
        from srkit.db.ingest import parse_received, parse_staged

        caller = assoc.calling_ae
        if not self.config.may(caller, "store"):
            return NOT_AUTHORIZED, "caller may not store"
        context = assoc.contexts[msg.context_id]
        sop_class = str(msg.command.get(0x0002, ""))
        sop_instance = str(msg.command.get(0x1000, ""))
        if sop_class != str(context.abstract_syntax):
            return NOT_MATCHING, "SOP Class differs from the presentation context"
        if msg.refusal is not None:  # not staged: too many bytes in flight, or disk
            LOGGER.warning("C-STORE %s from %s refused: %s", sop_instance, caller, msg.refusal)
            return OUT_OF_RESOURCES, msg.refusal
        head = msg.head if msg.staged is not None else _start(msg.fragments)
        if not looks_like_data_set(head, context.transfer_syntax[0]):
            return CANNOT_UNDERSTAND, "not a DICOM data set"
        if self.inbox is not None:
            answered = self._defer(self.inbox, msg, context, sop_class, sop_instance, caller)
            if answered is not None:
                return answered
        data: bytes | StagedFile
        try:
            if msg.staged is not None:
                data = msg.staged
                _ds, rec = parse_staged(
                    data.path, size=data.size, sha256=data.sha256, prefix=msg.prefix
                )
            else:
                meta = file_meta(sop_class, sop_instance, str(context.transfer_syntax[0]), caller)
                data = b"".join([meta, *(msg.fragments or ())])
                _ds, rec = parse_received(data)
        except SrkitError as exc:
            LOGGER.warning("C-STORE from %s: cannot decode data set: %s", caller, exc.message)
            return CANNOT_UNDERSTAND, (
                "data set cut short" if exc.code == ReadCode.FILE_TRUNCATED else "cannot decode"
            )
        except Exception as exc:  # malformed data set: anything a parser raises
            LOGGER.warning("C-STORE from %s: cannot decode data set: %s", caller, exc)
            return CANNOT_UNDERSTAND, "cannot decode the data set"
        instance = rec["instance"]
        if str(instance["sop_class_uid"]) != sop_class or (
            str(instance["sop_instance_uid"]) != sop_instance
        ):
            return NOT_MATCHING, "UIDs differ from the request"
        return self._commit(rec, data, caller, sop_instance, stored)

    def _defer(
        self,
        inbox: Inbox,
        msg: Message,
        context: Any,
        sop_class: str,
        sop_instance: str,
        caller: str,
    ) -> tuple[int, str] | None:
        """Put a new instance in the inbox and give its status (0x0000, or 0xA900 when
        its UIDs differ from the request); None when the immediate way must store it:
        its UID is indexed or pending already, its UIDs cannot be read without the
        whole parse (another transfer syntax, an unusual start), or the inbox fails."""
        from srkit.db.header import sop_uids
        from srkit.db.staging import StagedFile

        syntax = context.transfer_syntax[0]
        native, implicit = _native(syntax)
        if not native:
            return None
        if msg.staged is not None:  # a large data set: its start is in the prefix
            head: bytes | memoryview = _data_set_start(msg.prefix)
        else:
            head = _start(msg.fragments, _HEAD)
        uids = sop_uids(head, implicit)
        if uids is None:
            return None
        if uids != (sop_class, sop_instance):
            return NOT_MATCHING, "UIDs differ from the request"
        if msg.staged is None and inbox.writes_directly():  # in memory: into the inbox
            return self._deposit(inbox, msg, syntax, sop_class, sop_instance, caller)
        own = msg.staged is None  # in memory: staged here, unhashed (the indexer hashes)
        staged: StagedFile | None = msg.staged
        deposited = False
        try:
            if staged is None:
                staged = StagedFile(self.db.storage, hashed=False)
                meta = file_meta(sop_class, sop_instance, str(syntax), caller)
                staged.write_all([meta, *(msg.fragments or ())])
            deposited = inbox.deposit(staged, sop_instance)
            if not deposited:  # pending: the immediate way, once the indexer is done
                inbox.wait_gone(sop_instance, PENDING_WAIT)
            elif self.db.is_stored(sop_instance):  # known: the immediate way decides
                inbox.withdraw(staged, sop_instance)
                deposited = False
        except Exception as exc:  # the inbox or the lookup failed: the immediate way
            LOGGER.warning("C-STORE %s from %s: inbox: %s", sop_instance, caller, exc)
            if deposited and staged is not None:
                with contextlib.suppress(OSError):
                    inbox.withdraw(staged, sop_instance)
            deposited = False
        if not deposited:
            if own and staged is not None:
                staged.discard()
            return None
        assert staged is not None
        staged.close()  # answered from here on: the indexer may take it
        return SUCCESS, ""

    def _deposit(
        self,
        inbox: Inbox,
        msg: Message,
        syntax: Any,
        sop_class: str,
        sop_instance: str,
        caller: str,
    ) -> tuple[int, str] | None:
        """:meth:`_defer` of a data set in memory, written straight into the inbox
        (:meth:`Inbox.deposit_parts`); None when the immediate way must store it."""
        deposit = None
        try:
            meta = file_meta(sop_class, sop_instance, str(syntax), caller)
            deposit = inbox.deposit_parts([meta, *(msg.fragments or ())], sop_instance)
            if deposit is None:  # pending: the immediate way, once the indexer is done
                inbox.wait_gone(sop_instance, PENDING_WAIT)
                return None
            if self.db.is_stored(sop_instance):  # known: the immediate way decides
                deposit.withdraw()
                return None
        except Exception as exc:  # the inbox or the lookup failed: the immediate way
            LOGGER.warning("C-STORE %s from %s: inbox: %s", sop_instance, caller, exc)
            if deposit is not None:
                with contextlib.suppress(OSError):
                    deposit.withdraw()
            return None
        deposit.close()  # answered from here on: the indexer may take it
        return SUCCESS, ""

    def _commit(
        self, rec: dict[str, Any], data: Any, caller: str, uid: str, stored: list[dict[str, Any]]
    ) -> tuple[int, str]:
        """Store and map the outcome to a status (:func:`srkit.net.status.store_status`:
        0x0111 for a refused conflicting duplicate, 0xB000 for a stored instance whose
        conflicts were recorded); a new instance's record goes to ``stored``."""
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
            stored.append(rec)
        return store_status(outcome)


def _data_set_start(prefix: bytes) -> bytes:
    """The data set bytes of a staged message's ``prefix`` (preamble, ``DICM``, File
    Meta Information of explicit VR little endian with its group length first, then
    the data set's start: PS3.10 Section 7.1)."""
    if len(prefix) < 144 or prefix[128:132] != b"DICM":
        return b""
    (length,) = struct.unpack_from("<I", prefix, 140)
    return prefix[144 + length : 144 + length + _HEAD]


def _start(fragments: list[Any] | None, size: int = 8) -> bytes:
    """The first ``size`` bytes of a data set received as ``fragments``."""
    out = b""
    for fragment in fragments or ():
        out += bytes(fragment[: size - len(out)])
        if len(out) >= size:
            break
    return out


def looks_like_data_set(head: bytes, syntax: Any) -> bool:
    """Whether a received data set starts like one (PS3.5 Section 7.1): its first
    element (``head``, its first 8 bytes) is outside the command group 0000 and, in
    explicit VR, has a VR of two upper-case letters. Rejects junk before the parser
    spends time on it."""
    native, implicit = _native(syntax)
    if not native:
        return bool(head)
    if len(head) < 8:
        return False
    group = int.from_bytes(head[:2], "little")
    if group < 0x0002 or (group % 2 and group < 0x0008):  # 0000-0001, 0003, 0005, 0007
        return False
    return implicit or (65 <= head[4] <= 90 and 65 <= head[5] <= 90)


@functools.lru_cache(maxsize=64)
def _native(syntax: Any) -> tuple[bool, bool]:
    """Whether a transfer syntax (a pydicom ``UID``) is little endian and not deflated,
    and whether it is implicit VR: asked once per syntax, not per C-STORE (pydicom
    works each property out from the UID's name)."""
    return bool(syntax.is_little_endian and not syntax.is_deflated), bool(syntax.is_implicit_VR)


def warm() -> None:
    """Load at start what the first C-STOREs of each kind would otherwise load while
    a peer waits: the parsers and indexers, pydicom's SR concept dictionary and the
    standard meanings built from it (the dose report reader checks meanings), the
    dose alert rules. About a second once per process: ``srkit listen`` pays it
    before it opens its port (and forks its workers), not the first dose report's
    sender."""
    import srkit.codec.fastparse
    import srkit.codec.reader
    import srkit.db.ingest
    import srkit.db.srindex
    import srkit.dose.alerts
    import srkit.dose.drl
    import srkit.templates.dose
    import srkit.templates.registry
    import srkit.templates.tid1500  # noqa: F401
    from srkit.templates.concepts import standard_meaning

    standard_meaning(Code.make("113819", "DCM", "CT Acquisition"))


def dose_alert_hook(db: Any, rec: dict[str, Any]) -> None:
    """Hook (issue 12): log the dose alerts of a stored dose report (logger
    ``srkit.dose.alerts``); never raises, the instance is stored already."""
    from srkit.dose.alerts import after_store

    after_store(db, rec)
