"""The services of the DIMSE listener over the database (PS3.4): which presentation
contexts it accepts, which handler answers each request, and the server that serves
them (:class:`srkit.net.dimse.server.Server`).

Services: Verification (Annex A, :mod:`~srkit.net.dimse.verification`), Storage of
every storage SOP class (Annex B, :mod:`~srkit.net.dimse.storage`), Patient Root and
Study Root Query/Retrieve FIND (:mod:`~srkit.net.dimse.find`), MOVE and GET
(Annex C, :mod:`~srkit.net.dimse.retrieve`). Each handler answers one request message
with DIMSE statuses (:mod:`srkit.net.status`), never with an exception.
"""

from __future__ import annotations

import functools
import socket
import time
from typing import Any

from srkit.net.dimse.commands import Field
from srkit.net.dimse.find import STUDY_ROOT, Find
from srkit.net.dimse.peers import PeersConfig
from srkit.net.dimse.retrieve import Retrieve
from srkit.net.dimse.server import Server
from srkit.net.dimse.storage import Storage
from srkit.net.dimse.verification import VERIFICATION, Verification

__all__ = [
    "Services",
    "accepts",
    "make_server",
    "serve_socket",
    "start",
    "supported_contexts",
]


def supported_contexts(config: PeersConfig | None = None) -> list[Any]:
    """The presentation contexts the listener accepts (pynetdicom ``PresentationContext``).

    Verification; every storage SOP class with every transfer syntax (files are kept
    as sent), letting the requestor take the SCP role for C-GET sub-operations (PS3.4
    Section C.4.3.2, negotiated per PS3.7 Annex D.3.3.4); Patient and Study Root FIND,
    MOVE and GET. Built once per process (``srkit listen`` builds them before it forks
    its workers, which share them); negotiation only reads them.
    """
    return list(_all_contexts())


@functools.lru_cache(maxsize=1)
def _all_contexts() -> tuple[Any, ...]:
    """:func:`supported_contexts`, built: about 9,000 transfer syntax entries, each a
    checked pydicom UID (a third of a second of CPU)."""
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
    return tuple(contexts)


class Services:
    """The request handlers of one listener (database, peers configuration, and the
    listener's AE title, the calling title of its C-MOVE sub-associations)."""

    def __init__(self, db: Any, config: PeersConfig, aet: str = "SRKIT", inbox: Any = None) -> None:
        self.db = db
        self.config = config
        self.aet = aet
        self.inbox = inbox  # srkit.db.inbox.Inbox: the deferred index, if any

    def handlers(self) -> dict[int, Any]:
        """Command Field -> handler, for :class:`srkit.net.dimse.server.Server`."""
        retrieve = Retrieve(self.db, self.config, self.aet, self.inbox)
        return {
            Field.C_ECHO_RQ: Verification(self.config),
            Field.C_STORE_RQ: Storage(self.db, self.config, self.inbox),
            Field.C_FIND_RQ: Find(self.db, self.config, self.inbox),
            Field.C_MOVE_RQ: retrieve.move,
            Field.C_GET_RQ: retrieve.get,
        }


def make_server(
    db: Any,
    sock: socket.socket,
    *,
    config: PeersConfig,
    aet: str = "SRKIT",
    inbox: Any = None,
    **options: Any,
) -> Server:
    """A listener over ``sock`` (bound and listening, possibly shared with other
    processes, see :mod:`srkit.net.dimse.workers`). Not started: run ``serve_forever()``
    or ``start()``; ``shutdown()`` closes this process's descriptor of ``sock``.
    Associations are not refused by called AE title; ``aet`` is the calling title of
    C-MOVE sub-associations. ``options``: ``max_associations``, ``timeout``,
    ``max_dataset`` of :class:`srkit.net.dimse.server.Server`. ``inbox``
    (:class:`srkit.db.inbox.Inbox`): the deferred index, whose indexer runs elsewhere
    (:func:`srkit.db.inbox.Inbox.run`)."""
    allowed = (lambda title: title in config.peers) if config.restricted else None
    options.setdefault("staging", getattr(db, "storage", None))  # C-STORE data sets on disk
    return Server(
        sock,
        supported_contexts(config),
        Services(db, config, aet, inbox).handlers(),
        allowed=allowed,
        accepts=accepts,
        **options,
    )


def serve_socket(
    db: Any, sock: socket.socket, *, aet: str, config: PeersConfig, **options: Any
) -> Server:
    """:func:`make_server` for :func:`srkit.net.dimse.workers.serve`."""
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
    from srkit.net.dimse.workers import bind

    server = make_server(db, bind(host, port), config=config or PeersConfig(), aet=aet, **options)
    server.start()
    if not block:
        return server
    try:
        while True:
            time.sleep(3600)
    finally:
        server.shutdown()
