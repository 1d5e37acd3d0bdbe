"""Members' reports: the pipeline files them and reads their state (API key); moderators read
a report task's case and reporters' records, and mark a reporter in bad faith (session).
Cases are decided through the review decision route (`uphold` / `dismiss`)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from moderation.api.deps import (
    ItemsReadKeyDep,
    ModerateKeyDep,
    ServiceDep,
    SessionDep,
    banks_of,
)
from moderation.api.routes.moderate import check_receiver, moderation_of, parse_item
from moderation.api.schemas import (
    KEY,
    MAX_INT64,
    SESSION,
    SESSION_CSRF,
    BadFaithIn,
    BadFaithOut,
    Identifier,
    ReportCaseView,
    ReporterOut,
    ReportIn,
    ReportOut,
    UndoIn,
    UndoneCaseOut,
    documented,
    task_out,
)
from moderation.errors import (
    Conflict,
    InvalidInput,
    ModerationError,
    NotFound,
    PayloadTooLarge,
)
from moderation.members.reports import CaseUndo, MemberReports, NewReport
from moderation.moderate import ItemRequest
from moderation.service import Service

log = logging.getLogger(__name__)
router = APIRouter(tags=["reports"])
ReportId = Annotated[Identifier, Path(min_length=1, max_length=128)]
ReporterId = Annotated[Identifier, Path(min_length=1, max_length=128)]
TaskId = Annotated[int, Path(ge=1, le=MAX_INT64)]
CaseId = Annotated[int, Path(ge=1, le=MAX_INT64)]
# The status of a refused inline context item -> the error that refuses the report.
_REFUSAL = {409: Conflict, 413: PayloadTooLarge}


def member_reports(service: Service) -> MemberReports:
    """Reports over the service's engine and its current policy (cheap: nothing is loaded)."""
    return MemberReports(service.engine, lambda: service.policy)


def _filed_doc() -> dict[str, Any]:
    doc = documented(KEY, 400, 409, 422, 429, 503)
    doc["responses"][200] = {"model": ReportOut, "description": "The report was filed before with this content: its current state."}
    return doc


@router.post("/v1/reports", response_model=ReportOut, status_code=201, **_filed_doc())
async def file_report(body: ReportIn, service: ServiceDep, key: ModerateKeyDep) -> JSONResponse:
    """File a member's report on an item or an author (201), merged into the target's open
    case. Refused whole (422, nothing stored): an unknown category, a target or context
    item this key did not send, a member reporting themselves, a refused inline item."""
    inline: list[ItemRequest] = []
    for k, raw in enumerate(body.context_items):
        try:
            req = parse_item(raw, service)
            await check_receiver(service, req.callback_url)
        except ModerationError as exc:
            raise type(exc)(f"context_items[{k}]: {exc.detail}", **exc.extra) from None
        if req.id in {i.id for i in inline}:
            raise InvalidInput(f"context_items[{k}]: id {req.id!r} appears twice")
        inline.append(req)
    target = body.target
    report = NewReport(
        id=body.id,
        reporter_id=body.reporter_id,
        target_kind="item" if target.item_id is not None else "author",
        target_id=target.item_id if target.item_id is not None else str(target.author_id),
        category=body.category,
        text=body.text,
        context_item_ids=tuple(dict.fromkeys([*body.context_item_ids, *(i.id for i in inline)])),
    )
    reports = member_reports(service)
    await run_in_threadpool(reports.check, key.id, report, {i.id: i.author_id for i in inline})
    if inline:
        for k, result in enumerate(await moderation_of(service).moderate(inline, key)):
            if result.error is not None:
                status = int(result.error.get("status", 422))
                raise _REFUSAL.get(status, InvalidInput)(f"context_items[{k}]: {result.error.get('detail')}", fault="context_item")
    state, replayed = await run_in_threadpool(reports.file, key.id, report)
    return JSONResponse(jsonable_encoder(ReportOut.model_validate(state)), status_code=200 if replayed else 201)


@router.get("/v1/reports/{report_id}", response_model=ReportOut, **documented(KEY, 404, 422, 503))
async def get_report(report_id: ReportId, service: ServiceDep, key: ItemsReadKeyDep) -> dict[str, Any]:
    """A report and its case: open, upheld, dismissed or closed. A key reads only its own reports."""
    return await run_in_threadpool(member_reports(service).report, key.id, report_id)


@router.get("/v1/review/tasks/{task_id}/report", response_model=ReportCaseView, **documented(SESSION, 404, 422, 503))
async def report_case(task_id: TaskId, session: SessionDep, service: ServiceDep) -> dict[str, Any]:
    """The case of a report task: target, reports with their reporters' records, conversation."""
    return await run_in_threadpool(member_reports(service).case_of_task, task_id)


@router.get("/v1/review/reporters/{reporter_id}", response_model=ReporterOut, **documented(SESSION, 404, 422, 503))
async def reporter(reporter_id: ReporterId, session: SessionDep, service: ServiceDep) -> dict[str, Any]:
    return await run_in_threadpool(member_reports(service).reporter, reporter_id)


@router.post("/v1/review/reporters/{reporter_id}/bad-faith", response_model=BadFaithOut, **documented(SESSION_CSRF, 422, 503))
async def mark_bad_faith(reporter_id: ReporterId, session: SessionDep, service: ServiceDep, body: BadFaithIn | None = None) -> dict[str, Any]:
    """Mark a reporter as reporting in bad faith: their open reports close, later ones weigh nothing."""
    note = body.note if body else None
    return await run_in_threadpool(lambda: member_reports(service).mark_bad_faith(session.user, reporter_id, note=note))


@router.post("/v1/review/report-cases/{case_id}/undo", response_model=UndoneCaseOut, **documented(SESSION_CSRF, 403, 404, 409, 422, 503))
async def undo_case(case_id: CaseId, session: SessionDep, service: ServiceDep, body: UndoIn | None = None) -> dict[str, Any]:
    """Take back an uphold or a dismissal: your own within the undo window, any for an admin.
    The case and its reports open again, its task comes back to you, an uphold's rejection
    of the item is undone with it."""
    why = body.why if body else None
    done = await run_in_threadpool(lambda: CaseUndo(service.engine, lambda: service.policy).undo(session.user, case_id, why=why))
    for bank, entry_id in done.item_decision.bank_entries_to_remove if done.item_decision else []:
        try:
            await banks_of(service).remove_entry(bank, entry_id, session.user.actor)
        except NotFound:  # already removed by hand: nothing left to undo
            log.info("undo of case %s: bank entry %s/%s was already gone", case_id, bank, entry_id)
    tasks = await run_in_threadpool(service.review.tasks.describe, [done.task_id]) if done.task_id is not None else []
    return {"case_id": case_id, "item_decision_id": done.item_decision.decision_id if done.item_decision else None,
            "task": task_out(tasks[0]) if tasks else None}
