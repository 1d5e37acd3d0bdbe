"""Appeals: the pipeline files a member's appeal and reads its state (API key); moderators read
an appeal task. Appeals are decided through the review decision route (`uphold` / `overturn`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from moderation.api.deps import ItemsReadKeyDep, ModerateKeyDep, ServiceDep, SessionDep
from moderation.api.schemas import (
    KEY,
    MAX_INT64,
    SESSION,
    AppealIn,
    AppealState,
    AppealTaskView,
    Identifier,
    documented,
)
from moderation.members.appeals import Appeals, NewAppeal
from moderation.service import Service

router = APIRouter(tags=["appeals"])
AppealId = Annotated[Identifier, Path(min_length=1, max_length=128)]
TaskId = Annotated[int, Path(ge=1, le=MAX_INT64)]


def appeals_of(service: Service) -> Appeals:
    """Appeals over the service's engine and its current policy (cheap: nothing is loaded)."""
    return Appeals(service.engine, lambda: service.policy)


def _filed_doc() -> dict[str, Any]:
    doc = documented(KEY, 400, 404, 409, 422, 503)
    doc["responses"][200] = {"model": AppealState, "description": "The appeal was filed before with this content: its current state."}
    return doc


@router.post("/v1/appeals", response_model=AppealState, status_code=201, **_filed_doc())
async def file_appeal(body: AppealIn, service: ServiceDep, key: ModerateKeyDep) -> JSONResponse:
    """File a member's appeal (201) of their refused item or of an action on their account,
    for a moderator other than the one who decided. Refused whole, nothing stored, the
    reason named in `fault`: an unknown item or action (404), another member's (403), an
    item approved or still in review, a decision already appealed, a closed window (409)."""
    appeal = NewAppeal(id=body.id, author_id=body.author_id, statement=body.statement, item_id=body.item_id, enforcement_id=body.enforcement_id)
    state, replayed = await run_in_threadpool(appeals_of(service).file, key.id, appeal)
    return JSONResponse(jsonable_encoder(AppealState.model_validate(state)), status_code=200 if replayed else 201)


@router.get("/v1/appeals/{appeal_id}", response_model=AppealState, **documented(KEY, 404, 422, 503))
async def get_appeal(appeal_id: AppealId, service: ServiceDep, key: ItemsReadKeyDep) -> dict[str, Any]:
    """An appeal: open, upheld or overturned. A key reads only its own appeals."""
    return await run_in_threadpool(appeals_of(service).appeal, key.id, appeal_id)


@router.get("/v1/review/tasks/{task_id}/appeal", response_model=AppealTaskView, **documented(SESSION, 404, 422, 503))
async def appeal_task(task_id: TaskId, session: SessionDep, service: ServiceDep) -> dict[str, Any]:
    """The appeal of an appeal task, with the account action it contests."""
    return await run_in_threadpool(appeals_of(service).of_task, task_id)
