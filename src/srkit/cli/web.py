"""``srkit serve`` (DICOMweb and web pages) and ``srkit dicomweb pull|push``.

The bearer token of all three comes from ``$SRKIT_TOKEN`` or ``--token-file``
(:mod:`srkit.cli.access`); serving beyond loopback without one prints a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from srkit.cli.access import (
    cleartext_warning,
    exposure_warning,
    resolve_token,
    token_options,
    warn,
)
from srkit.cli.common import (
    DB_OPTION,
    POLICY_OPTION,
    db_option,
    fail,
    iter_files,
    report_error,
    user_errors,
)
from srkit.errors import SrkitError

__all__ = ["serve", "dicomweb"]


@click.command()
@click.option("--port", "-p", type=click.IntRange(0, 65535), default=8700, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@DB_OPTION
@token_options
@click.option(
    "--max-upload",
    type=int,
    default=512 * 1024 * 1024,
    show_default=True,
    help="Largest STOW-RS body in bytes (413 beyond it; parts stream to staged files).",
)
@click.option(
    "--max-in-flight",
    type=click.IntRange(0, 1 << 22),
    default=2048,
    show_default=True,
    help="MiB of STOW-RS bodies being received at once (staged on disk); an upload "
    "beyond it gets 503 with Retry-After; 0: no limit.",
)
@click.option("--public-url", default=None, help="URL clients use (default: from Host).")
@click.option(
    "--cors-origin",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Let pages from ORIGIN (http://host:port, or *) call the server (CORS); "
    "repeatable. Default: no cross-origin access.",
)
@click.option(
    "--viewer",
    is_flag=True,
    help="Serve the OHIF viewer under /viewer, configured for this server's DICOMweb "
    "(needs --viewer-dir or $SRKIT_VIEWER_DIR).",
)
@click.option(
    "--viewer-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where @ohif/viewer is installed: its dist folder, the package, or an npm "
    "prefix holding node_modules/@ohif/viewer (default: $SRKIT_VIEWER_DIR).",
)
@POLICY_OPTION
@user_errors
def serve(
    port: int,
    host: str,
    db_url: str | None,
    token: str | None,
    token_file: str | None,
    max_upload: int,
    max_in_flight: int,
    public_url: str | None,
    cors_origins: tuple[str, ...],
    viewer: bool,
    viewer_dir: str | None,
    policy: str,
) -> None:
    """Serve DICOMweb under /dicomweb and the web interface at /.

    The port is 8700 by default (not Orthanc's 8042, so that both can run side by
    side). With a token ($SRKIT_TOKEN, or --token-file) every request needs
    ``Authorization: Bearer <token>``; a browser logs in once at /login with it and
    holds a session cookie instead (DICOMweb accepts that cookie for GET and HEAD).

    STOW-RS answers 200 when every instance was stored, 202 when some were refused or
    stored with a conflict recorded (Warning Reason 0xB000: ``srkit ls conflicts``), 409
    when none was stored (Failure Reason 0x0111 for a known SOP Instance UID with other
    content under --on-conflict keep-first).
    """
    import uvicorn

    from srkit.db import Database
    from srkit.db.staging import IN_FLIGHT, clean_stale
    from srkit.web.app import create_app
    from srkit.web.cors import check_origin
    from srkit.web.viewer import find_viewer

    for origin in cors_origins:
        try:
            check_origin(origin)
        except SrkitError as exc:
            raise click.BadParameter(exc.message, param_hint="--cors-origin") from None
    dist = find_viewer(viewer_dir) if viewer or viewer_dir else None
    IN_FLIGHT.limit = max_in_flight << 20
    token = resolve_token(token, token_file)
    exposed = exposure_warning("serve", host, protected=token is not None)
    if exposed is not None:
        warn(*exposed)
    db = Database(db_url, conflict_policy=policy)
    app = create_app(
        db,
        token=token,
        max_upload=max_upload,
        public_url=public_url,
        cors_origins=cors_origins,
        viewer_dir=dist,
    )
    clean_stale(db.storage)  # staged files of dead processes only
    sock = _bind(host, port)
    where = "DICOMweb at /dicomweb" + (", OHIF viewer at /viewer" if dist else "")
    click.echo(f"srkit: serving http://{host}:{sock.getsockname()[1]}/ ({where})", err=True)
    config = uvicorn.Config(app, log_level="warning")
    escape_logs()
    uvicorn.Server(config).run(sockets=[sock])


def escape_logs() -> None:
    """Log lines of the server on stderr with control characters escaped: uvicorn's
    handlers (configured by ``uvicorn.Config``) and one for srkit's own loggers, which
    name UIDs and values of received data sets (STOW-RS)."""
    import logging

    from srkit.render.log_format import EscapingFormatter

    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        for handler in logging.getLogger(name).handlers:
            if not isinstance(handler.formatter, EscapingFormatter):
                handler.setFormatter(EscapingFormatter(handler.formatter))
    srkit = logging.getLogger("srkit")
    if not any(isinstance(h.formatter, EscapingFormatter) for h in srkit.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(EscapingFormatter(logging.Formatter("srkit: %(message)s")))
        handler.setLevel(logging.WARNING)
        srkit.addHandler(handler)


def _bind(host: str, port: int) -> Any:
    """The listening socket, bound before anything is announced (a busy port is a
    one-line error, not uvicorn's exit code 3)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        fail(f"{host}:{port}: cannot listen: {exc.strerror}")
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _client_token(url: str, token: str | None, token_file: str | None) -> str | None:
    """The client's token (:func:`resolve_token`), with a warning for plain HTTP."""
    token = resolve_token(token, token_file)
    clear = cleartext_warning(url, token)
    if clear is not None:
        warn(*clear)
    return token


@click.group()
def dicomweb() -> None:
    """Pull from or push to a DICOMweb server."""


def _open_db(url: str | None) -> Any:
    from srkit.db import Database

    return Database(url)


@dicomweb.command()
@click.argument("url")
@click.option("--study", "studies", multiple=True, help="Study Instance UID (default: all).")
@db_option(role="to store into (instead of --out).")
@click.option("--out", "-o", type=click.Path(file_okay=False), help="Write files here instead.")
@token_options
@user_errors
def pull(
    url: str,
    studies: tuple[str, ...],
    db_url: str | None,
    out: str | None,
    token: str | None,
    token_file: str | None,
) -> None:
    """Retrieve studies from URL (WADO-RS) into the database or a folder."""
    from srkit.db.storage import check_uid
    from srkit.net.dicomweb.client import pull as do_pull

    token = _client_token(url, token, token_file)

    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)

        def on_instance(ds: Any) -> None:
            name = check_uid(str(ds.SOPInstanceUID), "SOP Instance UID")
            ds.save_as(folder / f"{name}.dcm", enforce_file_format=True)
    else:
        db = _open_db(db_url)

        def on_instance(ds: Any) -> None:
            db.store_dataset(ds)

    received = do_pull(url, on_instance, studies=studies, token=token)
    click.echo(f"{url}: received {len(received)} instance(s)", err=True)


@dicomweb.command()
@click.argument("url")
@click.argument("paths", nargs=-1, type=click.Path())
@db_option(role="to push the --study selections from.")
@click.option("--study", "studies", multiple=True, help="Study Instance UID (with --db).")
@token_options
@user_errors
def push(
    url: str,
    paths: tuple[str, ...],
    db_url: str | None,
    studies: tuple[str, ...],
    token: str | None,
    token_file: str | None,
) -> None:
    """Store files (PATHS) or database studies at URL (STOW-RS)."""
    from srkit.net.dicomweb.client import push as do_push

    token = _client_token(url, token, token_file)

    files = list(iter_files(paths))
    if studies:
        db = _open_db(db_url)
        for uid in studies:
            files += [Path(p) for p in db.instance_paths("STUDY", uid)]
    if not files:
        raise click.UsageError("nothing to push: give files or --study with --db")
    result = do_push(url, files, token=token)
    for uid, reason in result.failed:
        report_error(f"{uid or '(unknown instance)'}: not stored: {reason}")
    click.echo(f"{url}: stored {len(result.stored)} of {len(files)}", err=True)
    if result.failed:
        raise SystemExit(1)
