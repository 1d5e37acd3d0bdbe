"""Admins' routes: policy reload, users and their roles, the audit log, training labels,
backtests (API keys: `routes/keys.py`)."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from moderation.api.deps import AdminDep, ServiceDep
from moderation.api.schemas import (
    MAX_INT64,
    SESSION,
    SESSION_CSRF,
    AuditListing,
    BacktestListing,
    Identifier,
    PolicyReloaded,
    RoleIn,
    UserCreated,
    UserIn,
    UserListing,
    documented,
)
from moderation.errors import Forbidden
from moderation.spreadsheet import safe_cell

router = APIRouter(tags=["admin"])
Username = Annotated[Identifier, Path(min_length=1, max_length=64)]


@router.post("/v1/admin/policy/reload", response_model=PolicyReloaded, **documented(SESSION_CSRF, 422, 503))
async def reload_policy(session: AdminDep, service: ServiceDep) -> dict[str, Any]:
    """Reload the policy file; an invalid one is refused (422) and the running one stays."""
    version = await service.reload_policy(session.user.actor)
    return {"version": version}


@router.get("/v1/admin/users", response_model=UserListing, **documented(SESSION, 503))
async def list_users(session: AdminDep, service: ServiceDep) -> dict[str, Any]:
    return {"users": await run_in_threadpool(service.accounts.list_users)}


@router.post("/v1/admin/users", response_model=UserCreated, status_code=201, **documented(SESSION_CSRF, 400, 409, 422, 503))
async def create_user(body: UserIn, session: AdminDep, service: ServiceDep) -> dict[str, Any]:
    user = await run_in_threadpool(service.accounts.create_user, body.username, body.password, body.role)
    await run_in_threadpool(service.store.audit, session.user.actor, "user.create", user.username, {"role": user.role})
    return {"username": user.username, "role": user.role}


@router.post("/v1/admin/users/{username}/disable", status_code=204, **documented(SESSION_CSRF, 404, 422, 503))
async def disable_user(username: Username, session: AdminDep, service: ServiceDep) -> Response:
    if username == session.user.username:
        raise Forbidden("an admin cannot disable their own account")
    await run_in_threadpool(service.accounts.set_disabled, username, True)
    await run_in_threadpool(service.store.audit, session.user.actor, "user.disable", username, None)
    return Response(status_code=204)


@router.post("/v1/admin/users/{username}/enable", status_code=204, **documented(SESSION_CSRF, 404, 422, 503))
async def enable_user(username: Username, session: AdminDep, service: ServiceDep) -> Response:
    await run_in_threadpool(service.accounts.set_disabled, username, False)
    await run_in_threadpool(service.store.audit, session.user.actor, "user.enable", username, None)
    return Response(status_code=204)


@router.post("/v1/admin/users/{username}/role", status_code=204, **documented(SESSION_CSRF, 400, 404, 422, 503))
async def set_user_role(username: Username, body: RoleIn, session: AdminDep, service: ServiceDep) -> Response:
    """Make a user a moderator or an admin; it applies to their next request. An admin
    cannot change their own role: the last admin would otherwise lock everyone out."""
    if username == session.user.username:
        raise Forbidden("an admin cannot change their own role")
    await run_in_threadpool(service.accounts.set_role, username, body.role)
    await run_in_threadpool(service.store.audit, session.user.actor, "user.role", username, {"role": body.role})
    return Response(status_code=204)


@router.get("/v1/admin/audit", response_model=AuditListing, **documented(SESSION, 422, 503))
async def audit(
    session: AdminDep,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    actor: Annotated[Identifier | None, Query(max_length=128)] = None,
    action: Annotated[Identifier | None, Query(max_length=64, description="An action or its prefix (`review.`)")] = None,
    target: Annotated[Identifier | None, Query(max_length=256, description="An item id, a username, a task or key id")] = None,
) -> dict[str, Any]:
    """The audit log, newest first, paged and filtered by actor, action and target."""
    total, entries = await run_in_threadpool(
        lambda: service.review.reports.audit_entries(limit=limit, offset=offset, actor=actor, action=action, target=target)
    )
    return {"total": total, "entries": entries}


@router.get("/v1/admin/audit.csv", response_class=Response, **documented(SESSION, 422, 503))
async def audit_csv(
    session: AdminDep,
    service: ServiceDep,
    actor: Annotated[Identifier | None, Query(max_length=128)] = None,
    action: Annotated[Identifier | None, Query(max_length=64)] = None,
    target: Annotated[Identifier | None, Query(max_length=256)] = None,
) -> Response:
    """The audit log as CSV. Cells that a spreadsheet would read as a formula are quoted with a leading '."""
    _, entries = await run_in_threadpool(
        lambda: service.review.reports.audit_entries(limit=1_000_000, actor=actor, action=action, target=target)
    )
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["id", "at", "actor", "action", "target", "detail"])
    for e in entries:
        w.writerow([safe_cell(v) for v in (e["id"], e["at"].isoformat(), e["actor"], e["action"], e["target"], json.dumps(e["detail"], default=str) if e["detail"] else "")])
    await run_in_threadpool(service.store.audit, session.user.actor, "audit.export", None, {"rows": len(entries)})
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": 'attachment; filename="audit.csv"'})


@router.get("/v1/admin/labels.jsonl", response_class=Response, **documented(SESSION, 503))
async def export_labels(session: AdminDep, service: ServiceDep) -> StreamingResponse:
    """Human-decided texts as JSON lines (text, label, lang) for `moderation train text`."""
    rows = await run_in_threadpool(lambda: list(service.review.qa.labeled_texts()))
    body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return StreamingResponse(iter([body]), media_type="application/x-ndjson")


@router.get("/v1/admin/backtests", response_model=BacktestListing, **documented(SESSION, 422, 503))
async def list_backtests(
    session: AdminDep, service: ServiceDep, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> dict[str, Any]:
    """The last backtests (`moderation backtest`), newest first."""
    return {"backtests": await run_in_threadpool(service.store.list_backtests, limit)}
