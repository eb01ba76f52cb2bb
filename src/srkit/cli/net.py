"""``srkit listen``, ``echo``, ``find``, ``move``, ``get``, ``send``: DIMSE networking.

A peer is given as ``AET@HOST:PORT``, ``HOST:PORT`` or an AE title known in the peers
file (``--config``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from srkit.cli.access import exposure_warning, warn
from srkit.cli.common import (
    DB_OPTION,
    POLICY_OPTION,
    db_option,
    fail,
    format_option,
    iter_files,
    report_error,
    user_errors,
)

__all__ = ["listen", "echo", "find", "move", "get", "send"]

LEVEL = click.Choice(["PATIENT", "STUDY", "SERIES", "IMAGE"], case_sensitive=False)
MODEL = click.Choice(["study", "patient"], case_sensitive=False)


def _ae_title(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """An AE title has 1 to 16 characters, no backslash (PS3.5 Table 6.2-1, VR AE)."""
    if value is None:
        return None
    if not value.strip() or len(value) > 16 or "\\" in value or not value.isprintable():
        raise click.BadParameter(f"{value!r} is not an AE title (1-16 printable characters)")
    return value.strip()


def _peer_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--aet", default="SRKIT", show_default=True, callback=_ae_title, help="Our AE title."
    )(func)
    func = click.option(
        "--called", default=None, callback=_ae_title, help="The peer's AE title (overrides PEER)."
    )(func)
    func = click.option("--timeout", default=30.0, show_default=True, help="Seconds.")(func)
    func = click.option(
        "--config", "config_file", type=click.Path(dir_okay=False), help="Peers file."
    )(func)
    return func


def _peer(peer: str, called: str | None, config_file: str | None) -> Any:
    """The :class:`srkit.net.dimse.peers.Peer` that PEER names."""
    from srkit.net.dimse.peers import load_config, resolve_peer

    return resolve_peer(peer, load_config(config_file), called)


def _keys(pairs: tuple[str, ...]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for pair in pairs:
        keyword, sep, value = pair.partition("=")
        if not sep or not keyword:
            raise click.UsageError(f"--key {pair!r}: expected KEYWORD=VALUE")
        keys[keyword.strip()] = value
    return keys


def _process_count(ctx: Any, param: Any, value: Any) -> int:
    """``--workers``, ``--indexers``: a count from 1 to 64, or ``auto`` (given to the
    command as 0)."""
    text = str(value).strip().lower()
    if text == "auto":
        return 0
    if text.isdigit() and 1 <= int(text) <= 64:
        return int(text)
    raise click.BadParameter(f"{value!r} is not a number from 1 to 64 or 'auto'")


def _per_core() -> int:
    """``auto`` processes: one per core this process may run on, at most 8 (1 without
    fork())."""
    import os

    if not hasattr(os, "fork"):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 8))


def _open_db(url: str | None, policy: str = "keep-first") -> Any:
    from srkit.db import Database

    return Database(url, conflict_policy=policy)


@click.command()
@click.option("--port", "-p", type=click.IntRange(0, 65535), default=11112, show_default=True)
@click.option("--aet", default="SRKIT", show_default=True, callback=_ae_title, help="Our AE title.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@DB_OPTION
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Peers file.")
@click.option(
    "--workers",
    "-w",
    metavar="N|auto",
    default="auto",
    callback=_process_count,
    show_default=True,
    help="Listener processes sharing the port, 1 to 64; auto: one per CPU (at most 8).",
)
@click.option(
    "--max-associations",
    type=click.IntRange(1, 1000),
    default=32,
    show_default=True,
    help="Concurrent associations per process; more are rejected (local limit exceeded).",
)
@click.option(
    "--max-size",
    type=click.IntRange(1, 1 << 22),
    default=1024,
    show_default=True,
    help="Largest data set accepted, in MiB (streamed to a staged file, not held in memory).",
)
@click.option(
    "--max-in-flight",
    type=click.IntRange(0, 1 << 22),
    default=2048,
    show_default=True,
    help="MiB of C-STORE data sets being received at once by the listener, shared "
    "equally by its workers (staged on disk); a data set beyond it is refused with "
    "0xA700; 0: no limit.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 86400),
    default=60.0,
    show_default=True,
    help="Seconds an association may stay silent before it is aborted.",
)
@click.option(
    "--artim",
    type=click.FloatRange(0.1, 600),
    default=10.0,
    show_default=True,
    help="Seconds a new connection has to send its A-ASSOCIATE-RQ.",
)
@click.option(
    "--max-pending",
    type=click.IntRange(1, 10000),
    default=64,
    show_default=True,
    help="Connections not associated yet, per process; at the limit the address "
    "with the most makes room if it has more than the newcomer's, else the new "
    "connection is closed.",
)
@click.option(
    "--max-pending-per-address",
    type=click.IntRange(1, 10000),
    default=8,
    show_default=True,
    help="Connections not associated yet from one address, per process; more are closed at once.",
)
@click.option(
    "--reserved-slots",
    type=click.IntRange(0, 999),
    default=4,
    show_default=True,
    help="Of --max-associations, slots only peers listed in --config may take "
    "(their AE title, from their host if given); strangers keep at least one.",
)
@click.option(
    "--idle-release",
    type=click.FloatRange(0, 86400),
    default=60.0,
    show_default=True,
    help="Seconds an association may go on with nothing but C-ECHO before the "
    "listener releases it; 0: never.",
)
@click.option(
    "--max-lifetime",
    type=click.FloatRange(0, 864000),
    default=0.0,
    show_default=True,
    help="Seconds after which the listener releases an association between two "
    "operations; 0: never.",
)
@click.option(
    "--min-rate",
    type=click.FloatRange(0, 1e9),
    default=1024.0,
    show_default=True,
    help="Bytes per second a message under way (a C-STORE data set) must average after "
    "30 s, else the association is aborted; 0: no floor.",
)
@click.option(
    "--index",
    "index_mode",
    type=click.Choice(["immediate", "deferred"]),
    default="immediate",
    show_default=True,
    help="immediate: answer a C-STORE once it is filed and indexed; deferred: once its "
    "file is in the storage folder's inbox, an indexer process indexing it on another "
    "core (faster; conflicts found then are recorded, not answered with 0xB000).",
)
@click.option(
    "--indexers",
    metavar="N|auto",
    default="auto",
    show_default=True,
    callback=_process_count,
    help="With --index deferred: indexer processes, 1 to 64, or auto (one per core, at most "
    "8); one leads and takes every file (at idle priority when there are others), the "
    "others a backlog.",
)
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Log the listener's decisions (associations released, connections closed) on stderr.",
)
@POLICY_OPTION
@user_errors
def listen(
    port: int,
    aet: str,
    host: str,
    db_url: str | None,
    config_file: str | None,
    workers: int,
    max_associations: int,
    max_size: int,
    max_in_flight: int,
    timeout: float,
    artim: float,
    max_pending: int,
    max_pending_per_address: int,
    reserved_slots: int,
    idle_release: float,
    max_lifetime: float,
    min_rate: float,
    index_mode: str,
    indexers: int,
    verbose: bool,
    policy: str,
) -> None:
    """Run a DIMSE SCP: verification, storage into the database, query/retrieve.

    C-STORE statuses: 0x0000 stored (or stored already with the same content);
    0xB000 stored with a conflict recorded (patient attributes that differ within a
    patient or study, a Study or Series Instance UID filed under another patient or
    study; ``srkit ls conflicts``); 0x0111 a known SOP Instance UID with other content
    refused (--on-conflict keep-first); 0x0124 caller not allowed; 0xA700 out of
    resources; 0xA900 data set does not match; 0xC000 cannot understand.

    With --workers N, N processes accept associations on the one port, each with its
    own database connections (one process is bound to one core by Python's interpreter
    lock); a worker that dies is reported and replaced after a back-off, and every
    worker stops when the listener dies, even by SIGKILL. --max-associations and the
    other limits apply to each worker. Ctrl-C or SIGTERM stops them all.

    With --index deferred, a new instance is answered 0x0000 once its file is in
    ``<storage>/.inbox`` and an indexer process (supervised like the workers) files
    and indexes it; a SOP Instance UID indexed or pending already is stored the
    immediate way (so 0x0111 stays exact); C-FIND, C-MOVE and C-GET first wait for
    what was acknowledged before them. What the indexer cannot file is kept in
    ``<storage>/.rejected`` with its reason. Files left in the inbox are indexed when
    a listener starts, in either mode. --indexers N runs N indexer processes (auto:
    one per core): the lead takes every file, the others only files that have waited
    (a backlog), each taking the files no other holds, so that a steady stream is
    indexed by one process and a backlog on every core. With other indexers beside
    it, the lead runs at idle priority: receiving comes first.
    """
    import os

    from srkit.db.staging import IN_FLIGHT, clean_stale
    from srkit.net.dimse.peers import KnownPeers, load_config
    from srkit.net.dimse.workers import BIND_WAIT, bind, serve, supervise

    if workers == 0:  # auto
        workers = _per_core()
    if indexers == 0:
        indexers = _per_core()
    if workers > 1 and not hasattr(os, "fork"):
        raise click.UsageError("--workers above 1 needs fork(), which this system lacks")
    config = load_config(config_file)
    exposed = exposure_warning("listen", host, protected=config.restricted)
    if exposed is not None:
        warn(*exposed)
    if verbose:
        _log_to_stderr()
    db = _open_db(db_url, policy)  # checks the URL and brings the schema up to date, once
    clean_stale(db.storage)  # staged files of dead processes; transfers in progress stay
    # the limit is the listener's: each of its worker processes counts its own share
    IN_FLIGHT.limit = (max_in_flight << 20) // max(1, workers)
    from srkit.net.dimse.storage import warm

    warm()  # before the port opens (and before workers fork): no peer waits for it
    from srkit.net.dimse.services import supported_contexts

    supported_contexts()  # built once here, shared by the forked workers
    from srkit.db.inbox import Inbox

    inbox = Inbox(db.storage)
    left = inbox.index_pending(db, on_stored=_alerts(db))  # a previous deferred listener's
    if left:
        click.echo(f"srkit: indexed {left} instance(s) left in {inbox.folder}", err=True)
    try:
        sock = bind(host, port, wait=BIND_WAIT)
    except OSError as exc:
        db.close()
        fail(f"{host}:{port}: cannot listen: {exc.strerror or exc}")
    bound = sock.getsockname()[1]
    options = {
        "max_associations": max_associations,
        "timeout": timeout,
        "max_dataset": max_size << 20,
        "artim": artim,
        "max_pending": max_pending,
        "max_pending_per_address": max_pending_per_address,
        "known": KnownPeers.from_config(config),
        "reserved_slots": reserved_slots,
        "idle_release": idle_release,
        "max_lifetime": max_lifetime,
        "min_rate": min_rate,
        "inbox": inbox if index_mode == "deferred" else None,
    }
    if workers == 1 and index_mode == "immediate":
        click.echo(f"srkit: listening on {host}:{bound} as {aet}", err=True)
        try:
            _serve_one(db, sock, aet, config, serve, options)
        finally:
            db.close()
            sock.close()
        return
    url, storage = db.url, db.storage
    _release(db)  # no connection may cross the fork

    def work() -> None:
        from srkit.db import Database

        child = Database(url, storage=storage, conflict_policy=policy)
        try:
            _serve_one(child, sock, aet, config, serve, options)
        finally:
            child.close()

    def index() -> None:
        from srkit.db import Database

        child = Database(url, storage=storage, conflict_policy=policy)
        try:
            _run_indexer(child, inbox, idle_lead=indexers > 1)
        finally:
            child.close()

    what = f"{workers} worker{'s' if workers > 1 else ''}"
    if index_mode == "deferred":
        what += f", deferred index ({indexers} indexer{'s' if indexers > 1 else ''})"
    click.echo(f"srkit: listening on {host}:{bound} as {aet} ({what})", err=True)
    code = supervise(
        work,
        workers,
        echo=lambda line: click.echo(line, err=True),
        indexer=index if index_mode == "deferred" else None,
        indexers=indexers,
    )
    sock.close()
    if code:
        raise SystemExit(code)


def _serve_one(
    db: Any, sock: Any, aet: str, config: Any, serve: Any, options: dict[str, Any]
) -> None:
    from srkit.net.dimse.services import serve_socket

    serve(sock, lambda: serve_socket(db, sock, aet=aet, config=config, **options))


def _alerts(db: Any) -> Any:
    """The dose alert hook of an indexed instance (as the immediate C-STORE runs it)."""
    from srkit.net.dimse.storage import dose_alert_hook

    return lambda result: dose_alert_hook(db, result.record)


def _run_indexer(db: Any, inbox: Any, *, idle_lead: bool = False) -> None:
    """The deferred index's process: index the inbox until SIGTERM or SIGINT, then
    what is ready (the rest waits in the inbox for the next listener); with
    ``idle_lead`` (other indexers take a backlog) the lead runs at idle priority."""
    from srkit.net.dimse.stop_signal import StopSignal

    stop = StopSignal()
    stop.install()
    inbox.run(db, stop, on_stored=_alerts(db), idle_lead=idle_lead)


def _log_to_stderr() -> None:
    """INFO lines of :mod:`srkit.net` on stderr, as ``srkit[PID]: message``."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("srkit[%(process)d]: %(message)s"))
    logger = logging.getLogger("srkit.net")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _release(db: Any) -> None:
    """Close every connection of ``db`` before a fork."""
    db.close()


@click.command()
@click.argument("peer")
@_peer_options
@user_errors
def echo(peer: str, aet: str, called: str | None, timeout: float, config_file: str | None) -> None:
    """Send a C-ECHO to PEER."""
    from srkit.net.dimse.client import echo as do_echo
    from srkit.net.status import SUCCESS, describe

    status = do_echo(_peer(peer, called, config_file), calling_aet=aet, timeout=timeout)
    if status != SUCCESS:
        fail(f"{peer}: C-ECHO: {describe(status, 'C-ECHO')}")
    click.echo(f"{peer}: C-ECHO success")


@click.command()
@click.argument("peer")
@click.option("--level", "-L", type=LEVEL, default="STUDY", show_default=True)
@click.option("--key", "-k", "keys", multiple=True, help="KEYWORD=VALUE to match.")
@click.option("--field", "-f", "fields", multiple=True, help="Keyword to return.")
@click.option("--model", type=MODEL, default="study", show_default=True)
@format_option("jsonl", "json", default="jsonl")
@_peer_options
@user_errors
def find(
    peer: str,
    level: str,
    keys: tuple[str, ...],
    fields: tuple[str, ...],
    model: str,
    fmt: str,
    aet: str,
    called: str | None,
    timeout: float,
    config_file: str | None,
) -> None:
    """C-FIND on PEER; prints one JSON object per match (DICOM keyword -> value)."""
    from srkit.net.dimse.client import find as do_find

    default = {
        "PATIENT": ["PatientID", "PatientName"],
        "STUDY": ["StudyInstanceUID", "PatientID", "PatientName", "StudyDate"],
        "SERIES": ["SeriesInstanceUID", "Modality", "SeriesNumber"],
        "IMAGE": ["SOPInstanceUID", "SOPClassUID", "InstanceNumber"],
    }[level.upper()]
    from srkit.cli.faces import check_key_value

    matching = {k: check_key_value(k, v, "--key") for k, v in _keys(keys).items()}
    results = do_find(
        _peer(peer, called, config_file),
        level,
        matching,
        fields=fields or default,
        model=model,
        calling_aet=aet,
        timeout=timeout,
    )
    rows = [_row(ds) for ds in results]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        for row in rows:
            click.echo(json.dumps(row))
    click.echo(f"srkit find: {len(rows)} {level.lower()} matches from {peer}", err=True)


def _row(ds: Any) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for elem in ds:
        if elem.keyword in ("QueryRetrieveLevel", "SpecificCharacterSet") or elem.VR == "SQ":
            continue
        value = elem.value
        if value is None or value == "":
            row[elem.keyword] = None
        elif elem.VM > 1:
            row[elem.keyword] = [str(v) for v in value]
        else:
            row[elem.keyword] = value if isinstance(value, int | float) else str(value)
    return row


def _report_retrieve(peer: str, what: str, result: Any) -> None:
    from srkit.net.status import describe, is_success_or_warning

    click.echo(
        f"{peer}: {what} completed {result.completed}, failed {result.failed}, "
        f"warning {result.warning} ({describe(result.status, what)})",
        err=True,
    )
    if not is_success_or_warning(result.status):
        fail(f"{peer}: {what}: {describe(result.status, what)}")
    for error in result.errors[:5]:
        report_error(error)
    if result.failed:
        fail(f"{peer}: {what}: {result.failed} sub-operation(s) failed")


@click.command()
@click.argument("peer")
@click.argument("destination", callback=_ae_title)
@click.option("--level", "-L", type=LEVEL, default="STUDY", show_default=True)
@click.option("--key", "-k", "keys", multiple=True, help="KEYWORD=VALUE (unique keys).")
@click.option("--model", type=MODEL, default="study", show_default=True)
@_peer_options
@user_errors
def move(
    peer: str,
    destination: str,
    level: str,
    keys: tuple[str, ...],
    model: str,
    aet: str,
    called: str | None,
    timeout: float,
    config_file: str | None,
) -> None:
    """C-MOVE from PEER to the AE title DESTINATION."""
    from srkit.net.dimse.client import move as do_move

    result = do_move(
        _peer(peer, called, config_file),
        destination,
        level,
        _keys(keys),
        model=model,
        calling_aet=aet,
        timeout=timeout,
    )
    _report_retrieve(peer, "C-MOVE", result)


@click.command()
@click.argument("peer")
@click.option("--level", "-L", type=LEVEL, default="STUDY", show_default=True)
@click.option("--key", "-k", "keys", multiple=True, help="KEYWORD=VALUE (unique keys).")
@click.option("--model", type=MODEL, default="study", show_default=True)
@click.option("--out", "-o", type=click.Path(file_okay=False), help="Folder for the files.")
@db_option(role="to store into instead of files.")
@_peer_options
@user_errors
def get(
    peer: str,
    level: str,
    keys: tuple[str, ...],
    model: str,
    out: str | None,
    db_url: str | None,
    aet: str,
    called: str | None,
    timeout: float,
    config_file: str | None,
) -> None:
    """C-GET from PEER into a folder (--out) or the database (--db)."""
    from srkit.net.dimse.client import get as do_get

    if out is None and db_url is None:
        raise click.UsageError("give --out FOLDER or --db URL")
    if out is not None:
        target = Path(out)
        target.mkdir(parents=True, exist_ok=True)
        on_instance: Callable[[Any], None] = lambda ds: _save(ds, target)  # noqa: E731
    else:
        db = _open_db(db_url)
        on_instance = lambda ds: db.store_dataset(ds)  # noqa: E731
    result = do_get(
        _peer(peer, called, config_file),
        level,
        _keys(keys),
        on_instance,
        model=model,
        calling_aet=aet,
        timeout=timeout,
    )
    _report_retrieve(peer, "C-GET", result)


def _save(ds: Any, folder: Path) -> None:
    """Write a received instance as ``folder/<SOPInstanceUID>.dcm`` (UID checked)."""
    from srkit.db.storage import check_uid

    uid = check_uid(str(ds.SOPInstanceUID), "SOP Instance UID")
    ds.save_as(folder / f"{uid}.dcm", enforce_file_format=True)


@click.command()
@click.argument("peer")
@click.argument("paths", nargs=-1, type=click.Path())
@db_option(role="to send the --study/--series selections from.")
@click.option("--study", "studies", multiple=True, help="Study Instance UID (with --db).")
@click.option("--series", "series", multiple=True, help="Series Instance UID (with --db).")
@_peer_options
@user_errors
def send(
    peer: str,
    paths: tuple[str, ...],
    db_url: str | None,
    studies: tuple[str, ...],
    series: tuple[str, ...],
    aet: str,
    called: str | None,
    timeout: float,
    config_file: str | None,
) -> None:
    """C-STORE files (PATHS, folders recursively) or database studies/series to PEER."""
    from srkit.cli.common import progress
    from srkit.net.dimse.client import send as do_send

    files = list(iter_files(paths))
    if studies or series:
        db = _open_db(db_url)
        for level, uids in (("STUDY", studies), ("SERIES", series)):
            for uid in uids:
                files += [Path(p) for p in db.instance_paths(level, uid)]
    if not files:
        raise click.UsageError("nothing to send: give files or --study/--series with --db")
    target = _peer(peer, called, config_file)
    bar = iter(progress(files, "sending"))
    result = do_send(
        target,
        files,
        on_progress=lambda _p, _s: next(bar, None),
        calling_aet=aet,
        timeout=timeout,
    )
    for path, reason in result.failed:
        report_error(f"{path}: not sent: {reason}")
    click.echo(f"{peer}: sent {len(result.sent)} of {len(files)} file(s)", err=True)
    if result.failed:
        raise SystemExit(1)
