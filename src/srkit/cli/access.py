"""Access control options of the commands that serve or call servers.

Bearer tokens (RFC 6750 Section 2.1) come from ``$SRKIT_TOKEN`` or ``--token-file``:
``--token`` on the command line still works but any local user sees it in ``ps``, so it
prints a warning. A server bound beyond loopback without access control (``srkit serve``
without a token, ``srkit listen`` without a peers file restricting callers by AE title,
PS3.8 Section 7.1) prints a warning too: both stay one line on stderr with a stable code.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from srkit.cli.common import fail

__all__ = [
    "TOKEN_ENV",
    "cleartext_warning",
    "exposure_warning",
    "is_loopback",
    "resolve_token",
    "token_options",
    "warn",
]

TOKEN_ENV = "SRKIT_TOKEN"
"""The environment variable holding the bearer token."""

TOKEN_IN_ARGV = "token-in-argv"
EXPOSED_WITHOUT_TOKEN = "exposed-without-token"
EXPOSED_OPEN_LISTENER = "exposed-open-listener"
TOKEN_IN_CLEAR = "token-in-clear"
"""Stable codes of the warnings (the text may change, the codes do not)."""


def warn(code: str, message: str) -> None:
    """One warning line on stderr: ``srkit: warning [code]: message``."""
    click.echo(f"srkit: warning [{code}]: {message}", err=True)


def token_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--token`` and ``--token-file`` (the command calls :func:`resolve_token`)."""
    func = click.option(
        "--token-file",
        type=click.Path(dir_okay=False),
        default=None,
        help="Read the bearer token from this file (its first line).",
    )(func)
    return click.option(
        "--token",
        default=None,
        help=f"Bearer token (visible in ps: prefer ${TOKEN_ENV} or --token-file).",
    )(func)


def _checked(token: str, source: str) -> str:
    """A token fit for an ``Authorization`` header: visible ASCII, no spaces."""
    if not token or not all("!" <= c <= "~" for c in token):
        fail(f"{source}: the token must be visible ASCII characters without spaces")
    return token


def resolve_token(token: str | None, token_file: str | None) -> str | None:
    """The bearer token: ``--token-file``, else ``--token`` (with a warning that it is
    visible in ``ps``), else ``$SRKIT_TOKEN``; None when none is set (or it is empty).

    Parameters
    ----------
    token : str, optional
        The value of ``--token``.
    token_file : str, optional
        The value of ``--token-file``: a file whose first line is the token.

    Returns
    -------
    str or None
        The token, checked to be visible ASCII without spaces.
    """
    if token is not None and token_file is not None:
        raise click.UsageError("give --token or --token-file, not both")
    if token_file is not None:
        try:
            lines = Path(token_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            fail(f"{token_file}: cannot read the token: {reason}")
        return _checked(lines[0].strip() if lines else "", token_file)
    if token is not None:
        warn(
            TOKEN_IN_ARGV,
            f"--token is visible to every local user (ps); set ${TOKEN_ENV} or use --token-file",
        )
        return _checked(token, "--token")
    from_env = os.environ.get(TOKEN_ENV, "").strip()
    return _checked(from_env, f"${TOKEN_ENV}") if from_env else None


def is_loopback(host: str) -> bool:
    """True when binding ``host`` only reaches this machine: a loopback address
    (127.0.0.0/8, ::1, IPv4-mapped loopback), ``localhost``, or a name that resolves
    to loopback addresses only. ``""``, ``0.0.0.0`` and ``::`` (every interface) are not."""
    name = host.strip().strip("[]")
    if not name:
        return False
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        pass
    else:
        mapped = getattr(address, "ipv4_mapped", None)
        return bool((mapped or address).is_loopback)
    if name.lower() == "localhost" or name.lower().endswith(".localhost"):
        return True  # RFC 6761 Section 6.3
    try:
        found = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    return bool(found) and all(is_loopback(str(info[4][0])) for info in found)


def exposure_warning(server: str, host: str, *, protected: bool) -> tuple[str, str] | None:
    """The warning to print before ``server`` (``"serve"`` or ``"listen"``) binds
    ``host``, as ``(code, message)``; None on loopback or with access control.

    Parameters
    ----------
    server : str
        ``"serve"`` (protected means a bearer token is required) or ``"listen"``
        (protected means the peers file refuses unknown calling AE titles).
    host : str
        The address to bind.
    protected : bool
        Whether callers are restricted.
    """
    if protected or is_loopback(host):
        return None
    where = host or "every interface"
    if server == "serve":
        return EXPOSED_WITHOUT_TOKEN, (
            f"serving on {where}, beyond this machine, without a token: whoever reaches "
            f"the port can read and store studies; set ${TOKEN_ENV} (or --token-file)"
        )
    return EXPOSED_OPEN_LISTENER, (
        f"listening on {where}, beyond this machine, accepting any calling AE title: "
        "whoever reaches the port can store, query and retrieve; give a peers file "
        "(--config) that lists the callers"
    )


def cleartext_warning(url: str, token: str | None) -> tuple[str, str] | None:
    """The warning before a client sends ``token`` to ``url`` over plain HTTP beyond
    loopback (anyone on the path reads it), as ``(code, message)``; None otherwise."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if token is None or parts.scheme.lower() != "http" or is_loopback(parts.hostname or ""):
        return None
    return TOKEN_IN_CLEAR, (
        f"the token goes to {parts.hostname} over plain http: whoever is on the way can read "
        "it; use https"
    )
