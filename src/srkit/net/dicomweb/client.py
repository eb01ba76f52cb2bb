"""Pull from and push to a DICOMweb server with the ``dicomweb-client`` package
(QIDO-RS, WADO-RS and STOW-RS, PS3.18 Chapter 10)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srkit.errors import SrkitError

if TYPE_CHECKING:
    from pydicom import Dataset

__all__ = ["PushResult", "client", "pull", "push"]


class DicomwebError(SrkitError):
    """The DICOMweb server could not be reached or refused the request."""


@dataclass(slots=True)
class PushResult:
    """Outcome of :func:`push`: stored and failed SOP Instance UIDs (with reasons)."""

    stored: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def client(url: str, *, token: str | None = None) -> Any:
    """A :class:`dicomweb_client.DICOMwebClient` for ``url`` (with a bearer token)."""
    from dicomweb_client.api import DICOMwebClient

    headers = {"Authorization": f"Bearer {token}"} if token else None
    web = DICOMwebClient(url=url.rstrip("/"), headers=headers)
    # fail at once: the library's default retries an unreachable server for a minute
    web.set_http_retry_params(retry=False)
    return web


def _call(what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    import requests

    try:
        return func(*args, **kwargs)
    except requests.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else "?"
        raise DicomwebError(f"{what}: HTTP {code}") from None
    except requests.RequestException as exc:
        raise DicomwebError(f"{what}: {type(exc).__name__}: {exc}") from None


def _uid(result: dict[str, Any], tag: str) -> str:
    return str(result[tag]["Value"][0])


def pull(
    url: str,
    on_instance: Callable[[Dataset], Any],
    *,
    studies: Sequence[str] = (),
    search: dict[str, str] | None = None,
    token: str | None = None,
) -> list[str]:
    """Retrieve studies (by UID, or all that match ``search``) and hand each instance to
    ``on_instance`` (for example :meth:`Database.store_dataset`). Returns the SOP
    Instance UIDs received."""
    web = client(url, token=token)
    if not studies:
        found = _call("QIDO-RS", web.search_for_studies, search_filters=search or {})
        studies = [_uid(r, "0020000D") for r in found or []]
    received: list[str] = []
    for study in studies:
        for ds in _call(f"WADO-RS study {study}", web.retrieve_study, study):
            on_instance(ds)
            received.append(str(ds.SOPInstanceUID))
    return received


def push(
    url: str,
    datasets: Iterable[Dataset | str | Path],
    *,
    token: str | None = None,
    batch: int = 50,
) -> PushResult:
    """STOW-RS datasets or files in batches; read the per-instance result."""
    from pydicom import dcmread

    web = client(url, token=token)
    result = PushResult()
    pending: list[Dataset] = []

    def flush() -> None:
        if not pending:
            return
        answer = _call("STOW-RS", web.store_instances, list(pending))
        _read_answer(answer, result)
        pending.clear()

    for item in datasets:
        pending.append(item if not isinstance(item, (str, Path)) else dcmread(item))
        if len(pending) >= batch:
            flush()
    flush()
    return result


def _read_answer(answer: Any, result: PushResult) -> None:
    for item in answer.get("ReferencedSOPSequence", []) if answer is not None else []:
        result.stored.append(str(item.ReferencedSOPInstanceUID))
    for item in answer.get("FailedSOPSequence", []) if answer is not None else []:
        reason = item.get("FailureReason")
        result.failed.append(
            (str(item.get("ReferencedSOPInstanceUID", "")), f"failure reason {reason}")
        )
