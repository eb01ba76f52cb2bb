"""Logging in with a browser when ``srkit serve`` has a token.

``GET /login`` shows a form; ``POST /login`` with the right token sets the session
cookie (:class:`srkit.net.dicomweb.auth.Sessions`: signed, ``HttpOnly``,
``SameSite=Strict``, ``Secure`` over HTTPS; never the token itself) and goes back to the
page asked for; ``POST /logout`` ends the session. Forms are CSRF-safe: the login form
carries a double-submit value (its cookie and its field must agree), every other POST
form the session's CSRF token, and a POST whose ``Origin`` is another site is refused.

Pages (:func:`page_auth`) accept the cookie or the bearer token; a browser without
either is sent to ``/login?next=<page>``, any other client gets 401.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from srkit.net.dicomweb.auth import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    Sessions,
    bearer_auth,
)

__all__ = ["LOGIN_COOKIE", "LoginRequired", "csrf_of", "login_routes", "page_auth", "safe_next"]

LOGIN_COOKIE = "srkit_login"
"""The double-submit value of the login form."""


class LoginRequired(Exception):
    """A browser asked for a page without a session: redirect it to the login form."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def page_auth(token: str | None) -> Callable[[Request], None]:
    """The dependency of the pages: the session cookie or the bearer token."""
    check = bearer_auth(token, cookie="any")

    def dependency(request: Request) -> None:
        try:
            check(request)
        except HTTPException:
            if (
                request.method in ("GET", "HEAD")
                and "authorization" not in request.headers
                and _wants_html(request)
            ):
                path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise LoginRequired(path) from None
            raise

    return dependency


def safe_next(value: str | None) -> str:
    """A local path to go back to after login (never another site)."""
    text = (value or "").strip()
    parts = urlsplit(text)
    if not text.startswith("/") or text.startswith("//") or parts.scheme or parts.netloc:
        return "/"
    if "\\" in text or any(ord(c) < 32 for c in text):
        return "/"
    return text


def csrf_of(token: str | None, request: Request) -> str:
    """The CSRF token of the request's session ("" without a token or session)."""
    if token is None:
        return ""
    return Sessions(token).csrf(request.cookies.get(SESSION_COOKIE))


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > 16384:
        raise HTTPException(413, "form too large")
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[0] for k, v in fields.items()}


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def login_routes(app: FastAPI, token: str | None, render: Callable[..., str]) -> None:
    """Add ``/login`` and ``/logout`` to ``app``; ``render(template, **context)`` makes
    a page's HTML."""
    sessions = Sessions(token) if token is not None else None

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='')}", status_code=303)

    def form_page(request: Request, next_url: str, error: str = "", status: int = 200) -> Response:
        value = secrets.token_urlsafe(24)
        html = render(
            "login.html",
            title="Log in",
            login_page=True,
            next_url=next_url,
            login_csrf=value,
            error=error,
            logged_in=False,
            csrf="",
        )
        response = HTMLResponse(html, status_code=status)
        response.set_cookie(
            LOGIN_COOKIE,
            value,
            max_age=600,
            httponly=True,
            samesite="strict",
            secure=_secure(request),
            path="/login",
        )
        return response

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:
        target = safe_next(next)
        if sessions is None or sessions.valid(request.cookies.get(SESSION_COOKIE)):
            return RedirectResponse(target, status_code=303)
        return form_page(request, target)

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await _form(request)
        target = safe_next(form.get("next"))
        if sessions is None or token is None:
            return RedirectResponse(target, status_code=303)
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if (
            not _same_origin(request)
            or not expected
            or not hmac.compare_digest(expected.encode(), form.get("csrf", "").encode())
        ):
            return form_page(request, target, "The form expired: please log in again.", 403)
        if not secrets.compare_digest(form.get("token", "").strip().encode(), token.encode()):
            await asyncio.sleep(0.5)  # slows guessing
            return form_page(request, target, "Wrong token.", 401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            sessions.issue(),
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="strict",
            secure=_secure(request),
            path="/",
        )
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        form = await _form(request)
        value = request.cookies.get(SESSION_COOKIE)
        if sessions is not None:
            if not _same_origin(request) or not sessions.check_csrf(value, form.get("csrf")):
                raise HTTPException(403, "missing or wrong CSRF token")
            sessions.revoke(value)
        response = RedirectResponse("/login" if sessions is not None else "/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
        return response

    @app.get("/logout", response_class=HTMLResponse)
    def logout_form(request: Request) -> Any:
        """A confirmation form (logging out changes state: POST with the CSRF token)."""
        return HTMLResponse(
            render(
                "logout.html",
                title="Log out",
                csrf=csrf_of(token, request),
                logged_in=sessions is not None
                and sessions.valid(request.cookies.get(SESSION_COOKIE)),
            )
        )
