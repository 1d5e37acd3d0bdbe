"""Moderators' log in and out. Credentials: a session cookie (HttpOnly, SameSite=Strict,
Secure over TLS) set by `POST /v1/auth/login`; every state-changing call also sends the
session's CSRF token in `X-CSRF-Token`."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from moderation.api.deps import COOKIE, ServiceDep, SessionDep
from moderation.api.schemas import (
    SESSION,
    SESSION_CSRF,
    LoginIn,
    SessionOut,
    documented,
)
from moderation.auth import Session
from moderation.errors import Overloaded, Unauthorized

router = APIRouter(tags=["review"])
LOGIN_WINDOW_S, LOGIN_MAX_FAILURES = 300.0, 10


def throttle(failures: dict[str, list[float]], username: str) -> None:
    """Refuse a username with too many failed logins in the window. `failures` lives on
    app.state (one per app); names whose failures all left the window are dropped, so it
    holds only the last few minutes' attempts."""
    now = time.monotonic()
    for name in [n for n, times in failures.items() if now - times[-1] >= LOGIN_WINDOW_S]:
        del failures[name]
    recent = [t for t in failures.get(username, []) if now - t < LOGIN_WINDOW_S]
    if recent:
        failures[username] = recent  # a name failing slowly keeps only its last window
    if len(recent) >= LOGIN_MAX_FAILURES:
        raise Overloaded(f"too many failed logins for {username!r}; wait a few minutes", retry_after=int(LOGIN_WINDOW_S))


@router.post("/v1/auth/login", response_model=SessionOut, **documented(None, 400, 401, 422, 429, 503))
async def login(body: LoginIn, request: Request, service: ServiceDep) -> JSONResponse:
    """Log in; the session cookie is set and the CSRF token returned."""
    failures: dict[str, list[float]] = request.app.state.login_failures
    throttle(failures, body.username)
    try:
        token, session = await run_in_threadpool(service.accounts.login, body.username, body.password)
    except Unauthorized:
        failures.setdefault(body.username, []).append(time.monotonic())
        await run_in_threadpool(service.store.audit, f"user:{body.username}", "auth.login_failed", body.username[:256], {"ip": _client(request)})
        raise
    failures.pop(body.username, None)
    await run_in_threadpool(service.store.audit, session.user.actor, "auth.login", session.user.username, {"ip": _client(request)})
    resp = JSONResponse(_session_out(session))
    resp.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
        max_age=int(service.policy.review.session_max_hours * 3600),
    )
    return resp


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _session_out(session: Session) -> dict[str, Any]:
    return {
        "username": session.user.username,
        "role": session.user.role,
        "csrf_token": session.csrf_token,
        "expires_at": session.expires_at.isoformat(),
    }


@router.post("/v1/auth/logout", status_code=204, **documented(SESSION_CSRF, 503))
async def logout(request: Request, session: SessionDep, service: ServiceDep) -> Response:
    await run_in_threadpool(service.accounts.logout, request.cookies[COOKIE])
    await run_in_threadpool(service.store.audit, session.user.actor, "auth.logout", session.user.username, None)
    resp = Response(status_code=204)
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


@router.get("/v1/auth/session", response_model=SessionOut, **documented(SESSION, 503))
async def whoami(session: SessionDep) -> dict[str, Any]:
    """The logged-in user and the CSRF token (readable only by same-origin pages)."""
    return _session_out(session)
