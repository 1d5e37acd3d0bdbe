"""The moderators' routes: log in, work the review queue, and the admin's tools; and the
review UI at /review.

Credentials: a session cookie (HttpOnly, SameSite=Strict, Secure over TLS) set by
`POST /v1/auth/login`; every state-changing call also sends the session's CSRF token
in `X-CSRF-Token`. The upload pipeline's API keys open none of these routes (403), and
a moderator none of the admin routes (403).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import time
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from moderation.api.app import REVIEW_UI
from moderation.api.deps import ServiceDep
from moderation.auth import Session, check_csrf, require_admin
from moderation.errors import Forbidden, NotFound, Overloaded, Unauthorized
from moderation.review import Decided

log = logging.getLogger(__name__)
router = APIRouter()

COOKIE = "moderation_session"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_LOGIN_WINDOW_S, _LOGIN_MAX_FAILURES = 300.0, 10

# The UI is same-origin only: scripts and styles from /review/static, images from the
# authenticated image route, nothing inline.
UI_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# A photo is never a document: no scripts, no plugins, even if opened directly.
IMAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
_IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}


# -- schemas -----------------------------------------------------------------------------


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    username: str
    role: str
    csrf_token: str
    expires_at: Any


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=10, ge=1, le=100)
    queue: str | None = Field(default=None, max_length=64)
    resume: bool = Field(default=False, description="Return the tasks you still hold first.")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    note: str | None = Field(default=None, max_length=2000)
    label: str | None = Field(default=None, description="Training label of a text, overriding the one derived from its reasons.")
    apply_to_duplicates: bool = False


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_ids: list[int] = Field(min_length=1, max_length=200)
    decision: Literal["approve", "reject"]
    note: str | None = Field(default=None, max_length=2000)


class UndoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    why: str | None = Field(default=None, max_length=2000)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=8, max_length=1024)
    role: Literal["moderator", "admin"] = "moderator"


# -- dependencies ------------------------------------------------------------------------


async def current_session(request: Request, service: ServiceDep) -> Session:
    """The caller's moderator session; state-changing calls also need the CSRF token."""
    token = request.cookies.get(COOKIE)
    if not token:
        if request.headers.get("authorization", "").lower().startswith("bearer "):
            raise Forbidden("API keys cannot use the review or admin routes; log in as a moderator")
        raise Unauthorized("not logged in")
    session = await run_in_threadpool(service.accounts.session, token)
    if request.method not in _SAFE_METHODS:
        check_csrf(session, request.headers.get("x-csrf-token"))
    return session


SessionDep = Annotated[Session, Depends(current_session)]


async def admin_session(session: SessionDep) -> Session:
    require_admin(session.user)
    return session


AdminDep = Annotated[Session, Depends(admin_session)]


def _decided(d: Decided) -> dict[str, Any]:
    return asdict(d)


# -- auth --------------------------------------------------------------------------------


def _throttle(failures: dict[str, list[float]], username: str) -> None:
    """Refuse a username with too many failed logins in the window. `failures` lives on
    app.state (one per app); names whose failures all left the window are dropped, so it
    holds only the last few minutes' attempts."""
    now = time.monotonic()
    for name in [n for n, times in failures.items() if now - times[-1] >= _LOGIN_WINDOW_S]:
        del failures[name]
    recent = [t for t in failures.get(username, []) if now - t < _LOGIN_WINDOW_S]
    if recent:
        failures[username] = recent  # a name failing slowly keeps only its last window
    if len(recent) >= _LOGIN_MAX_FAILURES:
        raise Overloaded(f"too many failed logins for {username!r}; wait a few minutes", retry_after=int(_LOGIN_WINDOW_S))


@router.post("/v1/auth/login", tags=["review"], response_model=SessionOut)
async def login(body: LoginIn, request: Request, service: ServiceDep) -> JSONResponse:
    """Log in; the session cookie is set and the CSRF token returned."""
    failures: dict[str, list[float]] = request.app.state.login_failures
    _throttle(failures, body.username)
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
        max_age=int(service.review.settings.session_max_hours * 3600),
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


@router.post("/v1/auth/logout", tags=["review"], status_code=204)
async def logout(request: Request, session: SessionDep, service: ServiceDep) -> Response:
    await run_in_threadpool(service.accounts.logout, request.cookies[COOKIE])
    await run_in_threadpool(service.store.audit, session.user.actor, "auth.logout", session.user.username, None)
    resp = Response(status_code=204)
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


@router.get("/v1/auth/session", tags=["review"], response_model=SessionOut)
async def whoami(session: SessionDep) -> dict[str, Any]:
    """The logged-in user and the CSRF token (readable only by same-origin pages)."""
    return _session_out(session)


# -- review ------------------------------------------------------------------------------


@router.post("/v1/review/claim", tags=["review"])
async def claim(body: ClaimIn, session: SessionDep, service: ServiceDep) -> dict[str, Any]:
    """Lease up to `limit` tasks, most urgent first (past SLA, then priority, then oldest)."""
    tasks = await run_in_threadpool(service.review.claim, session.user, body.limit, body.queue, resume=body.resume)
    return {"tasks": tasks, "lease_seconds": service.review.settings.lease_seconds, "undo_seconds": service.review.settings.undo_seconds}


@router.post("/v1/review/tasks/{task_id}/decision", tags=["review"])
async def decide(task_id: int, body: DecisionIn, session: SessionDep, service: ServiceDep) -> dict[str, Any]:
    """Approve or reject. 409 when the lease was lost to another moderator or the task is decided."""
    out = await run_in_threadpool(
        lambda: service.review.decide(
            session.user, task_id, body.decision, note=body.note, label=body.label, apply_to_duplicates=body.apply_to_duplicates
        )
    )
    first = _decided(out[0])
    return first | {"also": [_decided(d) for d in out[1:]]}


@router.post("/v1/review/bulk", tags=["review"])
async def bulk(body: BulkIn, session: SessionDep, service: ServiceDep) -> dict[str, Any]:
    res = await run_in_threadpool(service.review.bulk_decide, session.user, body.task_ids, body.decision, body.note)
    return {"decided": [_decided(d) for d in res["decided"]], "refused": res["refused"]}


@router.post("/v1/review/tasks/{task_id}/release", tags=["review"], status_code=204)
async def release(task_id: int, session: SessionDep, service: ServiceDep) -> Response:
    await run_in_threadpool(service.review.release, session.user, task_id)
    return Response(status_code=204)


@router.post("/v1/review/decisions/{decision_id}/undo", tags=["review"])
async def undo(decision_id: int, session: SessionDep, service: ServiceDep, body: UndoIn | None = None) -> dict[str, Any]:
    """Undo your own decision within the undo window; an admin undoes any decision."""
    res = await run_in_threadpool(lambda: service.review.undo(session.user, decision_id, why=body.why if body else None))
    for bank, entry_id in res.bank_entries_to_remove:
        try:
            await service.remove_bank_entry(bank, entry_id, session.user.actor)
        except NotFound:  # already removed by hand: nothing left to undo
            log.info("undo of decision %s: bank entry %s/%s was already gone", decision_id, bank, entry_id)
    tasks = await run_in_threadpool(service.review.describe, [res.task_id]) if res.task_id is not None else []
    return {"decision_id": decision_id, "item_id": res.item_id, "task": tasks[0] if tasks else None}


@router.get("/v1/review/stats", tags=["review"])
async def stats(session: SessionDep, service: ServiceDep, hours: Annotated[int, Query(ge=1, le=24 * 31)] = 24) -> dict[str, Any]:
    return await run_in_threadpool(lambda: service.review.stats(hours=hours))


@router.get("/v1/review/items/{item_id}", tags=["review"])
async def review_item(item_id: str, session: SessionDep, service: ServiceDep) -> dict[str, Any]:
    return await run_in_threadpool(service.store.get_item, item_id)


@router.get("/v1/review/items/{item_id}/image", tags=["review"], response_class=Response)
async def item_image(item_id: str, session: SessionDep, service: ServiceDep) -> Response:
    """The photo's bytes, for logged-in moderators only, never interpretable as a document."""
    sha = await run_in_threadpool(service.review.item_blob, item_id)
    data, media_type = await run_in_threadpool(service.store.get_blob, sha)
    headers = {
        "Content-Security-Policy": IMAGE_CSP,
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if media_type not in _IMAGE_TYPES:
        media_type = "application/octet-stream"
        headers["Content-Disposition"] = "attachment"
    return Response(data, media_type=media_type, headers=headers)


# -- admin -------------------------------------------------------------------------------


@router.post("/v1/admin/policy/reload", tags=["admin"])
async def reload_policy(session: AdminDep, service: ServiceDep) -> dict[str, Any]:
    """Reload the policy file; an invalid one is refused (422) and the running one stays."""
    version = await service.reload_policy(session.user.actor)
    return {"version": version}


@router.get("/v1/admin/users", tags=["admin"])
async def list_users(session: AdminDep, service: ServiceDep) -> dict[str, Any]:
    return {"users": await run_in_threadpool(service.accounts.list_users)}


@router.post("/v1/admin/users", tags=["admin"], status_code=201)
async def create_user(body: UserIn, session: AdminDep, service: ServiceDep) -> dict[str, Any]:
    user = await run_in_threadpool(service.accounts.create_user, body.username, body.password, body.role)
    await run_in_threadpool(service.store.audit, session.user.actor, "user.create", user.username, {"role": user.role})
    return {"username": user.username, "role": user.role}


@router.post("/v1/admin/users/{username}/disable", tags=["admin"], status_code=204)
async def disable_user(username: str, session: AdminDep, service: ServiceDep) -> Response:
    if username == session.user.username:
        raise Forbidden("an admin cannot disable their own account")
    await run_in_threadpool(service.accounts.set_disabled, username, True)
    await run_in_threadpool(service.store.audit, session.user.actor, "user.disable", username, None)
    return Response(status_code=204)


@router.post("/v1/admin/users/{username}/enable", tags=["admin"], status_code=204)
async def enable_user(username: str, session: AdminDep, service: ServiceDep) -> Response:
    await run_in_threadpool(service.accounts.set_disabled, username, False)
    await run_in_threadpool(service.store.audit, session.user.actor, "user.enable", username, None)
    return Response(status_code=204)


@router.get("/v1/admin/audit", tags=["admin"])
async def audit(
    session: AdminDep,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    actor: str | None = None,
    action: str | None = None,
) -> dict[str, Any]:
    total, entries = await run_in_threadpool(lambda: service.review.audit_entries(limit=limit, offset=offset, actor=actor, action=action))
    return {"total": total, "entries": entries}


@router.get("/v1/admin/audit.csv", tags=["admin"], response_class=Response)
async def audit_csv(session: AdminDep, service: ServiceDep, actor: str | None = None, action: str | None = None) -> Response:
    """The audit log as CSV. Cells that a spreadsheet would read as a formula are quoted with a leading '."""
    _, entries = await run_in_threadpool(lambda: service.review.audit_entries(limit=1_000_000, actor=actor, action=action))
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "at", "actor", "action", "target", "detail"])
    for e in entries:
        w.writerow([_cell(v) for v in (e["id"], e["at"].isoformat(), e["actor"], e["action"], e["target"], json.dumps(e["detail"], default=str) if e["detail"] else "")])
    await run_in_threadpool(service.store.audit, session.user.actor, "audit.export", None, {"rows": len(entries)})
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": 'attachment; filename="audit.csv"'})


def _cell(value: Any) -> str:
    s = "" if value is None else str(value)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s


@router.get("/v1/admin/labels.jsonl", tags=["admin"], response_class=Response)
async def export_labels(session: AdminDep, service: ServiceDep) -> StreamingResponse:
    """Human-decided texts as JSON lines (text, label, lang) for `moderation train text`."""
    rows = await run_in_threadpool(lambda: list(service.review.labeled_texts()))
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return StreamingResponse(iter([body]), media_type="application/x-ndjson")


# -- the UI ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _review_html() -> str:
    """The page is a shipped file: read once per process, not per request."""
    return (REVIEW_UI / "index.html").read_text(encoding="utf-8")


@router.get("/review", response_class=HTMLResponse, include_in_schema=False)
async def review_page() -> HTMLResponse:
    return HTMLResponse(
        _review_html(),
        headers={
            "Content-Security-Policy": UI_CSP,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )
