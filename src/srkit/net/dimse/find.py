"""Query (PS3.4 Section C.4.1): the C-FIND handler of the listener, Patient Root and
Study Root at PATIENT, STUDY, SERIES or IMAGE level, answered from the database's
index (identifiers encoded by :mod:`srkit.net.dimse.responses`).
"""

from __future__ import annotations

import logging
from typing import Any

from srkit.errors import SrkitError
from srkit.net.dimse.association import Association
from srkit.net.dimse.commands import Field
from srkit.net.dimse.identifiers import decode_identifier, encode_identifier, find_filters
from srkit.net.dimse.messages import Message
from srkit.net.dimse.peers import PeersConfig
from srkit.net.dimse.responses import ResponseBuilder
from srkit.net.matching import split_filters
from srkit.net.status import (
    CANCEL,
    NOT_AUTHORIZED,
    NOT_MATCHING,
    PENDING,
    SUCCESS,
    UNABLE_TO_PROCESS,
)

__all__ = ["STUDY_ROOT", "Find"]

LOGGER = logging.getLogger(__name__)
LOGGER.addHandler(logging.NullHandler())

STUDY_ROOT = "1.2.840.10008.5.1.4.1.2.2."
"""Prefix of the Study Root Query/Retrieve SOP classes (PS3.4 Section C.6.2)."""


class Find:
    """C-FIND (PS3.4 Section C.4.1) over ``db``, for the callers ``config`` allows."""

    def __init__(self, db: Any, config: PeersConfig, inbox: Any = None) -> None:
        self.db = db
        self.config = config
        self.inbox = inbox  # the deferred index's (srkit.db.inbox.Inbox), if any

    def __call__(self, assoc: Association, msg: Message) -> None:
        """One pending response (0xFF00) per match with its identifier, then success;
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
            ident = decode_identifier(msg.dataset, syntax)
            level, filters, fields = find_filters(ident)
            if level == "PATIENT" and str(context.abstract_syntax).startswith(STUDY_ROOT):
                raise SrkitError("no PATIENT level in Study Root")
        except Exception as exc:
            assoc.respond(msg, rsp, NOT_MATCHING, extra={0x0902: str(exc)[:64]})
            return
        filters, ignored = split_filters(filters)
        if ignored:
            LOGGER.info("C-FIND: no matching on %s (treated as universal)", ", ".join(ignored))
        if self.inbox is not None:  # what was acknowledged before is indexed first
            self.inbox.settle()
        try:
            rows = self.db.query(level, filters, fields=fields)
        except Exception as exc:
            LOGGER.warning("C-FIND %s %s failed: %s", level, filters, exc)
            assoc.respond(msg, rsp, UNABLE_TO_PROCESS, extra={0x0902: str(exc)[:64]})
            return
        specs = [(kw, ident[kw].tag, str(ident[kw].VR).split(" or ")[0]) for kw in fields]
        builder = ResponseBuilder(level, specs, syntax)
        for row in rows:
            if assoc.cancelled(msg.message_id):
                assoc.respond(msg, rsp, CANCEL)
                return
            if syntax.is_deflated:  # rare: pydicom deflates the identifier
                identifier = encode_identifier(builder.build(row), syntax)
            else:
                identifier = builder.encode(row)
            assoc.respond(msg, rsp, PENDING, identifier)
        assoc.respond(msg, rsp, SUCCESS)
