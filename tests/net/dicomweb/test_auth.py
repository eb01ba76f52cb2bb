"""srkit.net.dicomweb.auth: signed session values of the browser's login."""

from __future__ import annotations

import time

from srkit.net.dicomweb.auth import SESSION_SECONDS, Sessions


def test_session_values_are_signed_expire_and_revoke():
    sessions = Sessions("tok-1")
    value = sessions.issue()
    assert sessions.valid(value)
    assert "tok-1" not in value
    version, expires, nonce, mac = value.split(".")
    assert version == "v1"
    assert abs(int(expires) - time.time() - SESSION_SECONDS) < 5
    # another token's key, a changed expiry or nonce, a cut value: no session
    assert not Sessions("tok-2").valid(value)
    assert not sessions.valid(f"v1.{int(expires) + 1}.{nonce}.{mac}")
    assert not sessions.valid(f"v1.{expires}.{nonce[::-1]}.{mac}")
    assert not sessions.valid(value[:-1])
    assert not sessions.valid(None)
    # expired
    old = sessions.issue(now=time.time() - SESSION_SECONDS - 1)
    assert not sessions.valid(old)
    # the CSRF token belongs to its session
    other = sessions.issue()
    assert sessions.check_csrf(value, sessions.csrf(value))
    assert not sessions.check_csrf(value, sessions.csrf(other))
    assert not sessions.check_csrf(value, "")
    sessions.revoke(value)
    assert not sessions.valid(value)
    assert sessions.csrf(value) == ""
    assert sessions.valid(other)


def test_non_ascii_session_and_csrf_values_are_refused_not_500(tmp_path):
    """hmac.compare_digest on str raises TypeError for non-ASCII text: the values are
    compared as bytes (security review)."""
    from fastapi.testclient import TestClient

    from srkit.db import Database
    from srkit.web.app import create_app

    app = create_app(db=Database(tmp_path / "db.sqlite"), token="secret-token-123")
    client = TestClient(app, base_url="http://127.0.0.1")
    raw = [(b"cookie", "srkit_session=v1.1.a.\u00e9".encode())]
    page = client.get("/", headers=raw, follow_redirects=False)
    assert page.status_code == 401  # not a browser (no text/html asked): no redirect
    login = client.post("/login", data={"csrf": "\u00e9", "token": "x"}, follow_redirects=False)
    assert login.status_code == 403
