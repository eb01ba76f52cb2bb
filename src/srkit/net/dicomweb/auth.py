"""Who may call the services of ``srkit serve``, and what a URL path may name: the bearer
token (RFC 6750), the browser's session cookie, and UIDs in the path (PS3.5 Section 9.1;
PS3.18 Section 8.2).

A browser logs in once with the token (``POST /login``, :mod:`srkit.web.login`) and gets
a session cookie (``HttpOnly; SameSite=Strict``): a signed value ``v1.<expiry>.<nonce>.
<mac>``, the MAC an HMAC-SHA256 under a key derived from the token, so the cookie never
holds the token, changing the token ends every session, and no server state is needed
(logging out revokes the nonce in this process too).

The pages accept the cookie or the bearer token. DICOMweb accepts the cookie for
reading (GET, HEAD) so a viewer served from the same origin works in a logged-in
browser; writing (STOW-RS, any other method) needs the bearer token, as for every API
client. SameSite=Strict keeps the cookie off cross-site requests.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable

from fastapi import HTTPException, Request

__all__ = [
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "UID_PATTERN",
    "Sessions",
    "bearer_auth",
    "check_path_uids",
    "given_bearer",
]

UID_PATTERN = re.compile(r"[0-9]+(\.[0-9]+)*")
SESSION_COOKIE = "srkit_session"
SESSION_SECONDS = 12 * 3600
"""How long a login lasts."""

_READING = ("GET", "HEAD")
_REVOKED: set[str] = set()
"""Nonces of sessions logged out in this process."""


def check_path_uids(*uids: str | None) -> None:
    """UIDs from the URL path must be UIDs (PS3.5 Section 9.1), never match patterns."""
    for uid in uids:
        if uid is not None and (len(uid) > 64 or not UID_PATTERN.fullmatch(uid)):
            raise HTTPException(400, f"not a UID: {uid[:80]!r}")


class Sessions:
    """Signed session values and their CSRF tokens under one token's key."""

    def __init__(self, token: str) -> None:
        self._key = hmac.new(token.encode(), b"srkit web session v1", hashlib.sha256).digest()

    def _mac(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def issue(self, now: float | None = None) -> str:
        """A new session value, valid for :data:`SESSION_SECONDS`."""
        expires = int((time.time() if now is None else now) + SESSION_SECONDS)
        body = f"v1.{expires}.{secrets.token_hex(16)}"
        return f"{body}.{self._mac(body)}"

    def nonce(self, value: str | None, now: float | None = None) -> str | None:
        """The nonce of a valid, unexpired, not revoked session value; None otherwise."""
        parts = (value or "").split(".")
        if (
            len(parts) != 4
            or parts[0] != "v1"
            or not (parts[1].isascii() and parts[1].isdigit() and len(parts[1]) <= 12)
        ):
            return None
        body = ".".join(parts[:3])
        if not hmac.compare_digest(self._mac(body).encode(), parts[3].encode()):
            return None
        if int(parts[1]) < (time.time() if now is None else now) or parts[2] in _REVOKED:
            return None
        return parts[2]

    def valid(self, value: str | None) -> bool:
        return self.nonce(value) is not None

    def csrf(self, value: str | None) -> str:
        """The CSRF token of the forms of a session (empty without a session)."""
        nonce = self.nonce(value)
        return self._mac(f"csrf.{nonce}")[:32] if nonce else ""

    def check_csrf(self, value: str | None, given: str | None) -> bool:
        expected = self.csrf(value)
        return bool(expected) and hmac.compare_digest(expected.encode(), (given or "").encode())

    def revoke(self, value: str | None) -> None:
        nonce = self.nonce(value)
        if nonce is not None:
            _REVOKED.add(nonce)


def given_bearer(request: Request, token: str) -> bool | None:
    """True for the right bearer token, False for a wrong one, None when none was given."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(
        given.strip().encode(), token.encode()
    )


def bearer_auth(token: str | None, *, cookie: str = "read") -> Callable[[Request], None]:
    """A dependency that requires ``Authorization: Bearer <token>`` when a token is set
    (RFC 6750), compared in constant time, or a valid session cookie: for GET and HEAD
    (``cookie="read"``, DICOMweb), for every method (``"any"``), never (``"never"``).
    401 with ``WWW-Authenticate`` otherwise."""
    if cookie not in ("read", "any", "never"):
        raise ValueError(f"cookie must be read, any or never, not {cookie!r}")
    sessions = Sessions(token) if token is not None else None

    def check(request: Request) -> None:
        if token is None or sessions is None:
            return
        bearer = given_bearer(request, token)
        if bearer:
            return
        if (
            bearer is None
            and cookie != "never"
            and (cookie == "any" or request.method in _READING)
            and sessions.valid(request.cookies.get(SESSION_COOKIE))
        ):
            return
        raise HTTPException(
            401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )

    return check
