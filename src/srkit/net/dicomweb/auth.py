"""Who may call the DICOMweb services, and what a URL path may name: the bearer
token (RFC 6750) and UIDs in the path (PS3.5 Section 9.1; PS3.18 Section 8.2).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

from fastapi import HTTPException, Request

__all__ = ["UID_PATTERN", "bearer_auth", "check_path_uids"]

UID_PATTERN = re.compile(r"[0-9]+(\.[0-9]+)*")


def check_path_uids(*uids: str | None) -> None:
    """UIDs from the URL path must be UIDs (PS3.5 Section 9.1), never match patterns."""
    for uid in uids:
        if uid is not None and (len(uid) > 64 or not UID_PATTERN.fullmatch(uid)):
            raise HTTPException(400, f"not a UID: {uid[:80]!r}")


def bearer_auth(token: str | None) -> Callable[[Request], None]:
    """A dependency that requires ``Authorization: Bearer <token>`` when a token is set
    (RFC 6750); compares in constant time; 401 with ``WWW-Authenticate`` otherwise."""

    def check(request: Request) -> None:
        if token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            given.strip().encode(), token.encode()
        ):
            raise HTTPException(
                401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
            )

    return check
