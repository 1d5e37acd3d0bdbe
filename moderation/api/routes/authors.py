"""Members' accounts: an author's state and history (the pipeline's keys with `items:read`,
and moderators), moderators' actions on an account and their undo (session)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool

from moderation.api.deps import (
    COOKIE,
    ServiceDep,
    SessionDep,
    check_scope,
    current_session,
    require_api_key,
)
from moderation.api.schemas import (
    KEY,
    MAX_INT64,
    SESSION,
    SESSION_CSRF,
    AuthorActionIn,
    AuthorActionOut,
    AuthorOut,
    EnforcementUndoOut,
    Identifier,
    UndoIn,
    documented,
)
from moderation.members.enforcement import Enforcement
from moderation.service import Service

router = APIRouter(tags=["authors"])
AuthorId = Annotated[Identifier, Path(min_length=1, max_length=128)]
EnforcementId = Annotated[int, Path(ge=1, le=MAX_INT64)]


def enforcement_of(service: Service) -> Enforcement:
    """Account enforcement over the service's engine and its current policy (cheap: nothing is loaded)."""
    return Enforcement(service.engine, lambda: service.policy)


@router.get("/v1/authors/{author_id}", response_model=AuthorOut, **documented(KEY + SESSION, 404, 422, 503))
async def author(author_id: AuthorId, request: Request, service: ServiceDep) -> dict[str, Any]:
    """An author's account state (live strikes, next threshold) and history: items and their
    decisions, strikes, reports made and received, account actions, appeals. An API key
    (scope `items:read`) reads what concerns the items it sent and the reports and appeals
    it filed, and the account's state and actions; a moderator reads everything."""
    if request.headers.get("authorization") or not request.cookies.get(COOKIE):
        key = check_scope(await require_api_key(request, service), "items:read")
        key_id: int | None = key.id
    else:
        await current_session(request, service)
        key_id = None
    return await run_in_threadpool(lambda: enforcement_of(service).author(author_id, api_key_id=key_id))


@router.post("/v1/review/authors/{author_id}/actions", response_model=AuthorActionOut, status_code=201, **documented(SESSION_CSRF, 404, 422, 503))
async def act(author_id: AuthorId, body: AuthorActionIn, session: SessionDep, service: ServiceDep) -> dict[str, Any]:
    """Warn, restrict, suspend (for `days`), ban or lift an account, with a note saying why.
    Audited; the pipeline gets an `enforcement.taken` event once the undo window has passed."""
    return await run_in_threadpool(
        lambda: enforcement_of(service).act(session.user, author_id, body.action, note=body.note, days=body.days, category=body.category)
    )


@router.post("/v1/review/enforcements/{enforcement_id}/undo", response_model=EnforcementUndoOut, **documented(SESSION_CSRF, 404, 409, 422, 503))
async def undo_action(enforcement_id: EnforcementId, session: SessionDep, service: ServiceDep, body: UndoIn | None = None) -> dict[str, Any]:
    """Undo a moderator's account action: your own within the undo window; an admin's, any."""
    why = body.why if body else None
    return await run_in_threadpool(lambda: enforcement_of(service).undo(session.user, enforcement_id, why=why))
