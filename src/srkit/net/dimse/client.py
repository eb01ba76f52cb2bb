"""DIMSE service class user operations (PS3.4 Annexes A-C, PS3.7 Section 9): C-ECHO,
C-FIND, C-MOVE, C-GET, C-STORE.

Each function opens one association (PS3.8 Section 7) to a
:class:`~srkit.net.dimse.peers.Peer` (its AE title is the called AE title), with
``calling_aet`` as the calling AE title and ``timeout`` seconds for the network,
association and DIMSE waits; runs the operation and releases it. Failures of the
network or refusals by the peer raise :class:`NetError`; statuses of individual
operations are returned (PS3.7 Annex C; named by :func:`srkit.net.status.describe`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srkit.errors import SrkitError
from srkit.net.dimse.identifiers import LEVELS, UNIQUE_KEYS
from srkit.net.dimse.peers import Peer
from srkit.net.status import (
    OUT_OF_RESOURCES,
    SUCCESS,
    describe,
    is_pending,
    is_success_or_warning,
)

if TYPE_CHECKING:
    from pydicom import Dataset

__all__ = [
    "LEVELS",
    "NetError",
    "RetrieveResult",
    "SendResult",
    "echo",
    "find",
    "get",
    "identifier",
    "move",
    "send",
    "storage_contexts",
]

CALLING_AET = "SRKIT"
"""The calling AE title unless told otherwise."""
TIMEOUT = 30.0
"""Seconds for each network, association and DIMSE wait unless told otherwise."""


class NetError(SrkitError):
    """The association could not be established, or it was aborted."""


@dataclass(slots=True)
class SendResult:
    """Outcome of :func:`send`: per-file statuses."""

    sent: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)


@dataclass(slots=True)
class RetrieveResult:
    """Outcome of :func:`move` or :func:`get` (PS3.4 Section C.4.2.1.6, C.4.3.1.6)."""

    status: int = 0
    completed: int = 0
    failed: int = 0
    warning: int = 0
    received: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _ae(calling_aet: str, timeout: float) -> Any:
    from pynetdicom import AE

    ae = AE(ae_title=calling_aet)
    ae.acse_timeout = timeout
    ae.dimse_timeout = timeout
    ae.network_timeout = timeout
    return ae


def _associate(ae: Any, peer: Peer, **kwargs: Any) -> Any:
    from pynetdicom import evt

    from srkit.net.dimse.tuning import tune_association

    host, port = peer.address()
    handlers = [*kwargs.pop("evt_handlers", []), (evt.EVT_CONN_OPEN, tune_association)]
    assoc = ae.associate(host, port, ae_title=peer.ae_title, evt_handlers=handlers, **kwargs)
    if not assoc.is_established:
        _close_socket(assoc)
        where = str(peer)
        if assoc.is_rejected:
            raise NetError(f"{where} rejected the association")
        if assoc.is_aborted:
            raise NetError(f"{where} aborted the association")
        raise NetError(f"cannot associate with {where}")
    return assoc


def _close_socket(assoc: Any) -> None:
    """Close the socket of a failed association (pynetdicom leaves it open)."""
    sock = getattr(getattr(assoc, "dul", None), "socket", None)
    raw = getattr(sock, "socket", None)
    if raw is not None:
        raw.close()


def _status(rsp: Any, where: str) -> int:
    if rsp is None or "Status" not in rsp:
        raise NetError(f"{where}: no response (connection lost or timed out)")
    return int(rsp.Status)


def echo(peer: Peer, *, calling_aet: str = CALLING_AET, timeout: float = TIMEOUT) -> int:
    """Send a C-ECHO (PS3.7 Section 9.1.5); returns the status (0 is success)."""
    ae = _ae(calling_aet, timeout)
    ae.add_requested_context("1.2.840.10008.1.1")  # Verification SOP Class
    assoc = _associate(ae, peer)
    try:
        return _status(assoc.send_c_echo(), "C-ECHO")
    finally:
        assoc.release()


def identifier(level: str, keys: Mapping[str, str], fields: Iterable[str] = ()) -> Dataset:
    """A C-FIND/C-MOVE/C-GET identifier (PS3.4 Section C.4.1.1.3).

    ``keys`` maps DICOM keywords to matching values; ``fields`` are return keys asked
    for with an empty value. Raises :class:`NetError` for an unknown keyword or level.
    """
    from pydicom import Dataset
    from pydicom.datadict import dictionary_VR, tag_for_keyword

    level = level.upper()
    if level not in LEVELS:
        raise NetError(f"unknown query level {level!r}; use one of {', '.join(LEVELS)}")
    ds = Dataset()
    ds.QueryRetrieveLevel = level
    for keyword in [UNIQUE_KEYS[level], *fields, *keys]:
        if tag_for_keyword(keyword) is None:
            raise NetError(f"unknown DICOM keyword {keyword!r}")
        value: Any = keys.get(keyword, "")
        if value and dictionary_VR(keyword) in ("US", "UL", "SS", "SL"):
            value = int(value)
        setattr(ds, keyword, value or None)
    return ds


def _find_model(model: str, kind: str) -> Any:
    from pynetdicom import sop_class

    prefix = {"patient": "PatientRoot", "study": "StudyRoot"}.get(model.lower())
    if prefix is None:
        raise NetError(f"unknown information model {model!r}; use 'patient' or 'study'")
    return getattr(sop_class, f"{prefix}QueryRetrieveInformationModel{kind}")


def find(
    peer: Peer,
    level: str,
    keys: Mapping[str, str],
    *,
    fields: Iterable[str] = (),
    model: str = "study",
    calling_aet: str = CALLING_AET,
    timeout: float = TIMEOUT,
) -> list[Dataset]:
    """Send a C-FIND (PS3.4 Section C.4.1) and collect the pending identifiers."""
    query = identifier(level, keys, fields)
    sop = _find_model(model, "Find")
    ae = _ae(calling_aet, timeout)
    ae.add_requested_context(sop)
    assoc = _associate(ae, peer)
    results: list[Dataset] = []
    try:
        for status, ds in assoc.send_c_find(query, sop):
            code = _status(status, "C-FIND")
            if is_pending(code):
                results.append(ds)
            elif code != SUCCESS:
                raise NetError(f"C-FIND failed: {describe(code, 'C-FIND')}")
    finally:
        assoc.release()
    return results


def _retrieve_counts(result: RetrieveResult, status: Any) -> None:
    result.status = int(status.Status)
    for attr, name in (
        ("completed", "NumberOfCompletedSuboperations"),
        ("failed", "NumberOfFailedSuboperations"),
        ("warning", "NumberOfWarningSuboperations"),
    ):
        if name in status and status[name].value is not None:
            setattr(result, attr, int(status[name].value))


def move(
    peer: Peer,
    destination: str,
    level: str,
    keys: Mapping[str, str],
    *,
    model: str = "study",
    calling_aet: str = CALLING_AET,
    timeout: float = TIMEOUT,
) -> RetrieveResult:
    """Send a C-MOVE (PS3.4 Section C.4.2): the peer stores to AE ``destination``."""
    query = identifier(level, keys)
    sop = _find_model(model, "Move")
    ae = _ae(calling_aet, timeout)
    ae.add_requested_context(sop)
    assoc = _associate(ae, peer)
    result = RetrieveResult()
    try:
        for status, _ds in assoc.send_c_move(query, destination, sop):
            _status(status, "C-MOVE")
            _retrieve_counts(result, status)
    finally:
        assoc.release()
    return result


SR_FIRST = ("SR", "Segmentation", "KeyObject", "ParametricMap", "Dose")


def storage_contexts(limit: int = 126) -> list[Any]:
    """Storage presentation contexts for C-GET, SR and SEG classes first (at most
    ``limit``: an association carries at most 128 contexts, PS3.8 Section 9.3.2.2)."""
    from pynetdicom import AllStoragePresentationContexts, StoragePresentationContexts
    from pynetdicom.sop_class import _STORAGE_CLASSES

    wanted = [uid for name, uid in _STORAGE_CLASSES.items() if any(k in name for k in SR_FIRST)]
    by_uid = {str(cx.abstract_syntax): cx for cx in AllStoragePresentationContexts}
    ordered = [by_uid[u] for u in wanted if u in by_uid]
    seen = {cx.abstract_syntax for cx in ordered}
    ordered += [cx for cx in StoragePresentationContexts if cx.abstract_syntax not in seen]
    return ordered[:limit]


def get(
    peer: Peer,
    level: str,
    keys: Mapping[str, str],
    on_instance: Callable[[Dataset], None],
    *,
    model: str = "study",
    calling_aet: str = CALLING_AET,
    timeout: float = TIMEOUT,
) -> RetrieveResult:
    """Send a C-GET (PS3.4 Section C.4.3); each instance received goes to ``on_instance``.

    ``on_instance`` receives the dataset with its ``file_meta``; if it raises, the
    sub-operation is answered with status 0xA700 and counted as failed by the peer.
    """
    from pynetdicom import build_role, evt

    query = identifier(level, keys)
    sop = _find_model(model, "Get")
    ae = _ae(calling_aet, timeout)
    ae.add_requested_context(sop)
    contexts = storage_contexts(127)
    roles = []
    for cx in contexts:
        ae.add_requested_context(cx.abstract_syntax, cx.transfer_syntax)
        roles.append(build_role(cx.abstract_syntax, scp_role=True))
    result = RetrieveResult()

    def on_store(event: Any) -> int:
        try:
            ds = event.dataset
            ds.file_meta = event.file_meta
            on_instance(ds)
        except Exception as exc:  # the peer gets a failure status, never an exception
            result.errors.append(f"{getattr(event.request, 'AffectedSOPInstanceUID', '?')}: {exc}")
            return OUT_OF_RESOURCES
        result.received.append(str(ds.SOPInstanceUID))
        return SUCCESS

    assoc = _associate(ae, peer, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, on_store)])
    try:
        for status, _ds in assoc.send_c_get(query, sop):
            _status(status, "C-GET")
            _retrieve_counts(result, status)
    finally:
        assoc.release()
    return result


def _header(path: Path) -> tuple[str, str]:
    from pydicom import dcmread

    ds = dcmread(path, stop_before_pixels=True, specific_tags=["SOPClassUID"])
    meta = ds.file_meta
    sop = str(meta.get("MediaStorageSOPClassUID") or ds.get("SOPClassUID") or "")
    if not sop:
        raise NetError("no SOP Class UID", source=str(path))
    return sop, str(meta.get("TransferSyntaxUID") or "1.2.840.10008.1.2")


def _chunks(headers: dict[Path, tuple[str, str]]) -> Iterator[list[Path]]:
    """Group files so that each association needs at most 128 presentation contexts."""
    pending: list[Path] = []
    contexts: set[tuple[str, str]] = set()
    for path, (sop, ts) in headers.items():
        needed = {(sop, ts), (sop, "native")} - contexts
        if len(contexts) + len(needed) > 128:
            yield pending
            pending, contexts = [], set()
            needed = {(sop, ts), (sop, "native")}
        contexts |= needed
        pending.append(path)
    if pending:
        yield pending


def send(
    peer: Peer,
    paths: Sequence[str | Path],
    *,
    on_progress: Callable[[Path, int | None], None] | None = None,
    calling_aet: str = CALLING_AET,
    timeout: float = TIMEOUT,
) -> SendResult:
    """C-STORE files (PS3.4 Annex B), each in its own transfer syntax.

    ``on_progress(path, status)`` is called after each file (status None when the
    file could not be sent). Unreadable files are reported in ``failed``; a lost
    association fails the remaining files of its batch.
    """
    from pydicom.errors import InvalidDicomError
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    result = SendResult()
    headers: dict[Path, tuple[str, str]] = {}
    for p in map(Path, paths):
        try:
            headers[p] = _header(p)
        except (OSError, InvalidDicomError, NetError, ValueError) as exc:
            result.failed.append((p, str(getattr(exc, "strerror", None) or exc)))
            if on_progress:
                on_progress(p, None)
    for batch in _chunks(headers):
        ae = _ae(calling_aet, timeout)
        for sop, ts in {headers[p] for p in batch}:
            ae.add_requested_context(sop, [ts])
            ae.add_requested_context(sop, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        _send_batch(ae, peer, batch, result, on_progress)
    return result


def _send_batch(
    ae: Any,
    peer: Peer,
    batch: list[Path],
    result: SendResult,
    on_progress: Callable[[Path, int | None], None] | None,
) -> None:
    from srkit.net.dimse.tuning import settle

    try:
        assoc = _associate(ae, peer)
    except NetError as exc:
        for path in batch:
            result.failed.append((path, str(exc)))
            if on_progress:
                on_progress(path, None)
        return
    try:
        for path in batch:
            if not assoc.is_established:
                result.failed.append((path, "association lost"))
                if on_progress:
                    on_progress(path, None)
                continue
            try:
                settle(assoc)
                rsp = assoc.send_c_store(path)
                code: int | None = _status(rsp, "C-STORE")
            except (NetError, ValueError, OSError) as exc:
                code, reason = None, str(exc)
            else:
                reason = describe(code, "C-STORE") if code is not None else "no status"
            if code is not None and is_success_or_warning(code):
                result.sent.append(path)
            else:
                result.failed.append((path, reason))
            if on_progress:
                on_progress(path, code)
    finally:
        if assoc.is_established:
            assoc.release()
