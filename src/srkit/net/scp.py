"""The DIMSE listener: verification, storage and query/retrieve over the database.

Services (PS3.4): Verification (Annex A), Storage of every storage SOP class
(Annex B), Patient Root and Study Root Query/Retrieve FIND, MOVE and GET (Annex C).
Handlers are plain functions: every error becomes a DIMSE status (PS3.7 Annex C),
nothing is raised to the peer. A C-STORE is answered only after the database has
written the file and indexed it; on failure the database leaves nothing behind.
"""

from __future__ import annotations

import copy
import logging
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srkit.errors import SrkitError
from srkit.net.config import PeersConfig
from srkit.net.dicomjson import split_filters
from srkit.net.findrsp import ResponseBuilder
from srkit.net.tuning import settle, tune_association

if TYPE_CHECKING:
    from pydicom import Dataset

__all__ = [
    "DB_LEVELS",
    "find_filters",
    "handle_echo",
    "handle_find",
    "handle_get",
    "handle_move",
    "handle_store",
    "make_ae",
    "serve_socket",
    "start",
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
SKIP_KEYS = {"QueryRetrieveLevel", "SpecificCharacterSet", "TimezoneOffsetFromUTC"}

# Statuses (PS3.7 Annex C; PS3.4 Tables B.2-1, C.4-1, C.4-2, C.4-3)
VERIFICATION = "1.2.840.10008.1.1"
"""Verification SOP Class (PS3.4 Annex A)."""
SUCCESS = 0x0000
PENDING = 0xFF00
CANCEL = 0xFE00
NOT_AUTHORIZED = 0x0124
OUT_OF_RESOURCES = 0xA700
STORE_NOT_MATCHING = 0xA900
CANNOT_UNDERSTAND = 0xC000
FIND_UNABLE = 0xC000
IDENTIFIER_MISMATCH = 0xA900
MOVE_UNKNOWN_DEST = 0xA801
RETRIEVE_OUT_OF_RESOURCES = 0xA701


def _caller(event: Any) -> str:
    return str(event.assoc.requestor.ae_title).strip()


def _status(code: int, comment: str) -> Dataset:
    from pydicom import Dataset

    ds = Dataset()
    ds.Status = code
    ds.ErrorComment = comment[:64]
    return ds


def handle_echo(event: Any, config: PeersConfig) -> int:
    """C-ECHO (PS3.4 Annex A): success, or 0x0124 if the caller may not echo."""
    return SUCCESS if config.may(_caller(event), "echo") else NOT_AUTHORIZED


def _received(event: Any) -> tuple[bytes, dict[str, Any]]:
    """The received instance as Part 10 file bytes (PS3.10 Section 7.1: preamble, File
    Meta Information, the data set exactly as it arrived) and its index record.

    The bytes are parsed once, by srkit's fast parser (pydicom for anything unusual);
    pynetdicom's own decoding is skipped. :class:`SrkitError` when they are not a
    complete data set (cut short, not DICOM, a UID missing).
    """
    from srkit.db.ingest import parse_received

    try:
        data = event.encoded_dataset(include_meta=True)
    except Exception as exc:  # no usable File Meta Information
        raise SrkitError(f"cannot encode the File Meta Information ({exc})") from None
    _ds, rec = parse_received(data)
    return data, rec


def handle_store(event: Any, db: Any, config: PeersConfig) -> int | Dataset:
    """C-STORE (PS3.4 Annex B): write and index the instance, then answer.

    The received bytes are stored as they came (:meth:`Database.store_record`).
    Returns 0x0000 after the database has written the file and committed its index
    rows (also when the SOP Instance UID is stored already: the first copy is kept);
    0x0124 when the caller may not store; 0xA900 when the data set's SOP Class or
    Instance UID does not match the request; 0xC000 when it cannot be decoded, is cut
    short, or the database refuses it (bad UIDs); 0xA700 when the disk or database
    fails.
    """
    caller = _caller(event)
    if not config.may(caller, "store"):
        return _status(NOT_AUTHORIZED, "caller may not store")
    request = event.request
    try:
        data, rec = _received(event)
    except SrkitError as exc:
        LOGGER.warning("C-STORE from %s: cannot decode data set: %s", caller, exc.message)
        reason = "data set cut short" if "truncated" in exc.message else "cannot decode"
        return _status(CANNOT_UNDERSTAND, reason)
    except Exception as exc:  # malformed data set: anything a parser raises
        LOGGER.warning("C-STORE from %s: cannot decode data set: %s", caller, exc)
        return _status(CANNOT_UNDERSTAND, "cannot decode the data set")
    sop_class = str(rec["instance"]["sop_class_uid"])
    sop_instance = str(rec["instance"]["sop_instance_uid"])
    if sop_class != str(request.AffectedSOPClassUID).rstrip("\x00 ") or sop_instance != str(
        request.AffectedSOPInstanceUID
    ).rstrip("\x00 "):
        return _status(STORE_NOT_MATCHING, "UIDs differ from the request")
    try:
        db.store_record(rec, data, calling_ae=caller)
    except SrkitError as exc:
        if type(exc).__name__ == "DuplicateInstanceError":
            # stored already (bytes differ: another encoder, transfer syntax or edit);
            # like Orthanc, keep the first copy and acknowledge
            LOGGER.warning("C-STORE %s from %s: kept the stored copy", sop_instance, caller)
            return SUCCESS
        LOGGER.warning("C-STORE %s from %s refused: %s", sop_instance, caller, exc)
        return _status(CANNOT_UNDERSTAND, str(exc))
    except OSError as exc:
        LOGGER.error("C-STORE %s from %s: %s", sop_instance, caller, exc)
        return _status(OUT_OF_RESOURCES, "cannot write the instance")
    except Exception as exc:  # the peer gets a status, never an exception
        LOGGER.exception("C-STORE %s from %s failed", sop_instance, caller)
        return _status(OUT_OF_RESOURCES, f"{type(exc).__name__}")
    return SUCCESS


def _value_text(elem: Any) -> str:
    value = elem.value
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def find_filters(ident: Dataset) -> tuple[str, dict[str, str], list[str]]:
    """Split a query identifier (PS3.4 Section C.2.2.1) into level, matching keys
    (non-empty values, as DICOM strings) and return keys (every keyword asked for).

    Sequence attributes are returned empty (sequence matching is not supported).
    Raises :class:`SrkitError` for a missing or unknown level.
    """
    level = str(ident.get("QueryRetrieveLevel", "")).strip().upper()
    if level not in DB_LEVELS:
        raise SrkitError(f"unknown Query/Retrieve Level {level!r}")
    filters: dict[str, str] = {}
    fields: list[str] = []
    for elem in ident:
        keyword = elem.keyword
        if not keyword or keyword in SKIP_KEYS:
            continue
        fields.append(keyword)
        if elem.VR == "SQ":
            continue
        text = _value_text(elem).strip()
        if text and text != "*":
            filters[keyword] = text
    return level, filters, fields


def _transfer_syntax(event: Any) -> Any:
    """The transfer syntax of the request's presentation context (None if unknown)."""
    try:
        return event.context.transfer_syntax
    except Exception:  # no context: the builder falls back to plain elements
        return None


def _study_root(event: Any) -> bool:
    """Whether the request uses the Study Root model (PS3.4 Section C.6.2)."""
    return str(event.request.AffectedSOPClassUID).startswith("1.2.840.10008.5.1.4.1.2.2.")


def handle_find(event: Any, db: Any, config: PeersConfig) -> Iterator[tuple[Any, Any]]:
    """C-FIND (PS3.4 Section C.4.1) at PATIENT, STUDY, SERIES or IMAGE level.

    Yields ``(0xFF00, identifier)`` per match, then success; 0x0124 when the caller may
    not query; 0xA900 for an identifier without a valid level (or PATIENT level in
    the Study Root model); 0xC000 when the database fails; 0xFE00 on C-CANCEL.
    """
    if not config.may(_caller(event), "find"):
        yield _status(NOT_AUTHORIZED, "caller may not query"), None
        return
    try:
        ident = event.identifier
        level, filters, fields = find_filters(ident)
    except Exception as exc:
        yield _status(IDENTIFIER_MISMATCH, str(exc)), None
        return
    if level == "PATIENT" and _study_root(event):
        yield _status(IDENTIFIER_MISMATCH, "no PATIENT level in Study Root"), None
        return
    filters, ignored = split_filters(filters)
    if ignored:
        LOGGER.info("C-FIND: no matching on %s (treated as universal)", ", ".join(ignored))
    try:
        rows = db.query(DB_LEVELS[level], filters, fields=fields)
    except Exception as exc:
        LOGGER.warning("C-FIND %s %s failed: %s", level, filters, exc)
        yield _status(FIND_UNABLE, str(exc)), None
        return
    specs = [(kw, ident[kw].tag, str(ident[kw].VR).split(" or ")[0]) for kw in fields]
    builder = ResponseBuilder(level, specs, _transfer_syntax(event))
    for row in rows:
        if event.is_cancelled:
            yield CANCEL, None
            return
        yield PENDING, builder.build(row)
    yield SUCCESS, None


def _retrieve_paths(event: Any, db: Any) -> list[Path]:
    """Files of the instances a C-MOVE/C-GET identifier names (its unique keys)."""
    ident = event.identifier
    level = str(ident.get("QueryRetrieveLevel", "")).strip().upper()
    if level not in UNIQUE_KEYS:
        raise SrkitError(f"unknown Query/Retrieve Level {level!r}")
    key = UNIQUE_KEYS[level]
    value = _value_text(ident[key]).strip() if key in ident else ""
    if not value:
        raise SrkitError(f"{key} missing from the identifier")
    paths: list[Path] = []
    seen: set[Path] = set()
    for uid in value.split("\\"):
        for path in db.instance_paths(DB_LEVELS[level], uid.strip()):
            if path not in seen and Path(path).is_file():
                seen.add(path)
                paths.append(Path(path))
    return paths


def _read(path: Path) -> Dataset | None:
    from pydicom import dcmread

    try:
        return dcmread(path)
    except Exception as exc:
        LOGGER.error("cannot read %s for retrieval: %s", path, exc)
        return None


def _store_contexts(paths: Sequence[Path]) -> list[Any]:
    """Presentation contexts for C-STORE sub-operations to a move destination."""
    from pydicom import dcmread
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
    from pynetdicom import build_context

    pairs: dict[str, set[str]] = {}
    for path in paths:
        try:
            ds = dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"])
        except Exception:
            continue
        sop = str(ds.file_meta.get("MediaStorageSOPClassUID") or ds.get("SOPClassUID", ""))
        ts = str(ds.file_meta.get("TransferSyntaxUID", ImplicitVRLittleEndian))
        pairs.setdefault(sop, set()).add(ts)
    contexts = []
    for sop, syntaxes in sorted(pairs.items()):
        native: list[str] = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
        contexts.append(build_context(sop, list(native)))
        contexts += [build_context(sop, ts) for ts in sorted(syntaxes) if ts not in native]
    return contexts[:128]


def handle_move(event: Any, db: Any, config: PeersConfig) -> Iterator[Any]:
    """C-MOVE (PS3.4 Section C.4.2) to a destination known in the peers file.

    An unknown destination, or a caller not allowed to move, gets 0xA801; a bad
    identifier 0xA900; a database failure 0xA701.
    """
    destination = config.destination(str(event.move_destination))
    if destination is None or not config.may(_caller(event), "move"):
        yield None, None
        return
    from pynetdicom import build_context, evt

    store: dict[str, Any] = {}

    def remember(store_event: Any) -> None:
        store["assoc"] = store_event.assoc

    options: dict[str, Any] = {
        "contexts": [build_context(VERIFICATION)],
        "evt_handlers": [(evt.EVT_CONN_OPEN, tune_association), (evt.EVT_ESTABLISHED, remember)],
    }
    try:
        paths = _retrieve_paths(event, db)
    except Exception as exc:
        # pynetdicom associates with the destination before it sends any status
        yield (*destination, options)
        yield 1
        code = IDENTIFIER_MISMATCH if isinstance(exc, SrkitError) else RETRIEVE_OUT_OF_RESOURCES
        yield _status(code, str(exc)), None
        return
    options["contexts"] = _store_contexts(paths) or options["contexts"]
    yield (*destination, options)
    yield len(paths)
    yield from _sub_operations(event, paths, lambda: settle(store.get("assoc")))


def _sub_operations(
    event: Any, paths: Sequence[Path], before: Any = None
) -> Iterator[tuple[Any, Any]]:
    for path in paths:
        if event.is_cancelled:
            yield CANCEL, None
            return
        ds = _read(path)
        if before is not None:
            before()
        if ds is None:
            yield PENDING, None
        else:
            yield PENDING, ds


def handle_get(event: Any, db: Any, config: PeersConfig) -> Iterator[Any]:
    """C-GET (PS3.4 Section C.4.3): instances go back over the same association."""
    if not config.may(_caller(event), "get"):
        yield 1
        yield _status(NOT_AUTHORIZED, "caller may not retrieve"), None
        return
    try:
        paths = _retrieve_paths(event, db)
    except SrkitError as exc:
        yield 1
        yield _status(IDENTIFIER_MISMATCH, str(exc)), None
        return
    except Exception as exc:
        yield 1
        yield _status(RETRIEVE_OUT_OF_RESOURCES, type(exc).__name__), None
        return
    yield len(paths)
    yield from _sub_operations(event, paths)


def quiet_identifiers() -> None:
    """Stop pynetdicom formatting messages nobody reads, for every server started later.

    ``pynetdicom._config.LOG_RESPONSE_IDENTIFIERS`` (on by default) makes the service
    class print each pending response element by element even when nothing logs at
    debug level: about a third of the listener's time per C-FIND match. Unless the
    ``pynetdicom`` logger shows INFO messages, ``LOG_HANDLER_LEVEL = "none"`` also
    leaves out its standard handlers of every PDU and DIMSE message sent and received
    (they only log, at INFO and DEBUG level).
    """
    from pynetdicom import _config

    _config.LOG_RESPONSE_IDENTIFIERS = False
    if not logging.getLogger("pynetdicom").isEnabledFor(logging.INFO):
        _config.LOG_HANDLER_LEVEL = "none"


def make_ae(aet: str, config: PeersConfig) -> Any:
    """A pynetdicom AE offering the services of this module.

    Every storage SOP class with every transfer syntax (so compressed files are kept
    as sent), with the SCP role for C-GET sub-operations (PS3.4 Section C.4.3.2).
    """
    from pynetdicom import AE, ALL_TRANSFER_SYNTAXES, AllStoragePresentationContexts
    from pynetdicom import sop_class as sc

    ae = AE(ae_title=aet)
    ae.maximum_pdu_size = 0
    ae.add_supported_context(VERIFICATION, ALL_TRANSFER_SYNTAXES)
    for cx in AllStoragePresentationContexts:
        ae.add_supported_context(
            str(cx.abstract_syntax), ALL_TRANSFER_SYNTAXES, scp_role=True, scu_role=False
        )
    for root in ("PatientRoot", "StudyRoot"):
        for kind in ("Find", "Move", "Get"):
            ae.add_supported_context(getattr(sc, f"{root}QueryRetrieveInformationModel{kind}"))
    if config.restricted:
        ae.require_calling_aet = list(config.peers)
    return ae


def _handlers(db: Any, config: PeersConfig) -> list[Any]:
    """The event handlers of :func:`start` and :func:`serve_socket`."""
    from pynetdicom import evt

    return [
        (evt.EVT_CONN_OPEN, tune_association),
        (evt.EVT_C_ECHO, handle_echo, [config]),
        (evt.EVT_C_STORE, handle_store, [db, config]),
        (evt.EVT_C_FIND, handle_find, [db, config]),
        (evt.EVT_C_MOVE, handle_move, [db, config]),
        (evt.EVT_C_GET, handle_get, [db, config]),
    ]


def start(
    db: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 11112,
    aet: str = "SRKIT",
    config: PeersConfig | None = None,
    block: bool = False,
) -> Any:
    """Listen on ``host:port`` (127.0.0.1 unless told otherwise).

    Returns the pynetdicom server (``block=False``; stop it with ``.shutdown()``), or
    serves until interrupted (``block=True``).
    """
    config = config or PeersConfig()
    quiet_identifiers()
    ae = make_ae(aet, config)
    server = ae.start_server((host, port), block=False, evt_handlers=_handlers(db, config))
    server.contexts = _SharedContexts(server.contexts)
    if not block:
        return server
    try:
        while True:
            time.sleep(3600)
    finally:
        server.shutdown()


def serve_socket(db: Any, sock: socket.socket, *, aet: str, config: PeersConfig) -> Any:
    """A pynetdicom server accepting associations on ``sock``, a listening socket bound
    by the caller (and possibly shared with other processes, see
    :mod:`srkit.net.listener`). Not started: run its ``serve_forever()``; stop it with
    ``.shutdown()``, which closes this process's descriptor of ``sock`` only.
    """
    quiet_identifiers()
    ae = make_ae(aet, config)
    server_class = type("SharedSocketServer", (_shared_server_class(),), {"listening": sock})
    server = ae.make_server(
        sock.getsockname(), evt_handlers=_handlers(db, config), server_class=server_class
    )
    server.contexts = _SharedContexts(server.contexts)
    return server


def _shared_server_class() -> type:
    """pynetdicom's threaded server over a socket bound and listening already.

    ``server_bind`` and ``server_activate`` adopt the class's ``listening`` socket
    (non-blocking: another process may take a connection first, and ``accept`` then
    fails quietly); ``server_close`` closes this process's descriptor without
    ``shutdown()``, which would stop the socket for every process sharing it, and
    does not wait for the association threads (the caller does, with a time limit);
    ``shutdown`` stops ``serve_forever`` and closes (the server is not registered
    with the AE, unlike one from ``AE.start_server``).
    """
    import socketserver

    from pynetdicom.transport import ThreadedAssociationServer

    class SharedSocketServer(ThreadedAssociationServer):
        listening: socket.socket
        block_on_close = False

        def server_bind(self) -> None:
            if self.socket is not None:  # the one TCPServer made: not used
                self.socket.close()
            self.socket = self.listening
            self.server_address = self.socket.getsockname()

        def server_activate(self) -> None:
            pass

        def server_close(self) -> None:
            if self.socket is not None:
                self.socket.close()

        def shutdown(self) -> None:
            # not registered with the AE (ae.start_server does that), so only stop
            # the serve_forever() loop and close the descriptor
            socketserver.TCPServer.shutdown(self)
            self.server_close()

    return SharedSocketServer


class _SharedContexts(list):  # type: ignore[type-arg]
    """The server's supported contexts, copied shallowly for each association.

    pynetdicom deep-copies the acceptor's contexts for every association; with every
    storage SOP class times every transfer syntax that costs about 50 ms per
    association (an echo took 83 ms instead of 33 ms). Negotiation builds new result
    contexts, so a shallow copy of each context is enough.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedContexts:
        return _SharedContexts(copy.copy(cx) for cx in self)
