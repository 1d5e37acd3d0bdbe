"""Moderators' log in and out. Credentials: a session cookie (HttpOnly, SameSite=Strict,
Secure over TLS) set by `POST /v1/auth/login`; every state-changing call also sends the
session's CSRF token in `X-CSRF-Token`."""

from __future__ import annotations

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
from moderation.errors import Unauthorized

router = APIRouter(tags=["review"])


@router.post("/v1/auth/login", response_model=SessionOut, **documented(None, 400, 401, 422, 429, 503))
async def login(body: LoginIn, request: Request, service: ServiceDep) -> JSONResponse:
    """Log in; the session cookie is set and the CSRF token returned. Failed logins are
    throttled by account and by client address, counted in the database so that every API
    process counts them (`Accounts.throttle`): 429 with Retry-After."""
    client = _client(request) or "unknown"
    try:
        token, session = await run_in_threadpool(service.accounts.login, body.username, body.password, client)
    except Unauthorized:
        await run_in_threadpool(service.store.audit, f"user:{body.username}", "auth.login_failed", body.username[:256], {"ip": client})
        raise
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
