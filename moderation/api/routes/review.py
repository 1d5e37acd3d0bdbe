"""The review queue's routes, for logged-in moderators: claim, decide, release, undo,
stats, search, an item and its photo. The upload pipeline's API keys open none of them (403)."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from moderation.api.deps import AdminDep, ServiceDep, SessionDep, banks_of
from moderation.api.routes.appeals import appeals_of
from moderation.api.routes.authors import enforcement_of
from moderation.api.routes.reports import member_reports
from moderation.api.schemas import (
    MAX_INT64,
    SESSION,
    SESSION_CSRF,
    AppealDecisionOut,
    BulkIn,
    BulkOut,
    ClaimIn,
    ClaimOut,
    DecisionIn,
    DecisionOut,
    ExposureOut,
    Identifier,
    ItemBansOut,
    ReportDecisionOut,
    ReviewItemOut,
    SearchOut,
    StatsOut,
    StatsSeriesOut,
    StorableText,
    UndoIn,
    UndoOut,
    author_page_url,
    documented,
    image_url,
    item_page_url,
    task_out,
)
from moderation.errors import InvalidInput, NotFound
from moderation.members.appeals import APPEAL_DECISIONS
from moderation.members.reports import REPORT_DECISIONS
from moderation.review import Decided
from moderation.review.series import MAX_SERIES_HOURS
from moderation.review.tasks import ClaimFilter
from moderation.store.search import MAX_LIMIT, MAX_OFFSET, SearchQuery

log = logging.getLogger(__name__)
router = APIRouter(tags=["review"])

# A photo is never a document: no scripts, no plugins, even if opened directly.
IMAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
_IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif"}
TaskId = Annotated[int, Path(ge=1, le=MAX_INT64)]
DecisionId = Annotated[int, Path(ge=1, le=MAX_INT64)]
EntryId = Annotated[int, Path(ge=1, le=MAX_INT64)]
ItemId = Annotated[Identifier, Path(min_length=1, max_length=128)]


def _decided(d: Decided) -> dict[str, Any]:
    return asdict(d)


@router.post("/v1/review/claim", response_model=ClaimOut, **documented(SESSION_CSRF, 400, 422, 503))
async def claim(body: ClaimIn, session: SessionDep, service: ServiceDep) -> dict[str, Any]:
    """Lease up to `limit` tasks, most urgent first (past SLA, then priority, then oldest)."""
    filters = ClaimFilter(category=body.category, context=body.context, language=body.language, min_reports=body.min_reports, sort=body.sort)
    tasks = await run_in_threadpool(
        lambda: service.review.tasks.claim(session.user, body.limit, body.queue, resume=body.resume, filters=filters, share=body.share)
    )
    return {"tasks": [task_out(t) for t in tasks], "lease_seconds": service.policy.review.lease_seconds, "undo_seconds": service.policy.review.undo_seconds}


@router.post(
    "/v1/review/tasks/{task_id}/decision", response_model=DecisionOut | ReportDecisionOut | AppealDecisionOut,
    **documented(SESSION_CSRF, 400, 403, 404, 409, 422, 503)
)
async def decide(task_id: TaskId, body: DecisionIn, session: SessionDep, service: ServiceDep) -> dict[str, Any]:
    """Approve or reject an item's task; uphold or dismiss a members' report case; uphold or
    overturn an appeal (403 for the moderator whose decision it contests). 409 when the
    lease was lost to another moderator or the task is decided."""
    appeals = appeals_of(service)
    if await run_in_threadpool(appeals.is_appeal_task, task_id):
        if body.label is not None or body.apply_to_duplicates or body.ban is not None:
            raise InvalidInput("an appeal takes no label, no apply_to_duplicates and no ban")
        a = await run_in_threadpool(lambda: appeals.decide(session.user, task_id, body.decision, note=body.note))
        for bank, entry_id in a.bank_entries_to_remove:
            try:
                await banks_of(service).remove_entry(bank, entry_id, session.user.actor)
            except NotFound:  # already removed by hand: nothing left to undo
                log.info("appeal %s: bank entry %s/%s was already gone", a.appeal_id, bank, entry_id)
        out = asdict(a)
        return out | {"bank_entries_removed": [list(e) for e in out.pop("bank_entries_to_remove")]}
    if body.decision in APPEAL_DECISIONS and body.decision != "uphold":
        raise InvalidInput(f"{body.decision} decides appeals; task {task_id} is no appeal")
    reports = member_reports(service)
    if await run_in_threadpool(reports.is_case_task, task_id):
        if body.label is not None or body.apply_to_duplicates or body.reason_code is not None:
            raise InvalidInput("a members' report case takes no label, no reason_code and no apply_to_duplicates")
        d = await run_in_threadpool(lambda: reports.decide(session.user, task_id, body.decision, note=body.note))
        return asdict(d) | {"target": {"item_id": d.target_id if d.target_kind == "item" else None,
                                       "author_id": d.target_id if d.target_kind == "author" else None}}
    if body.decision in REPORT_DECISIONS:
        raise InvalidInput(f"{body.decision} decides members' report cases; task {task_id} is approved or rejected")
    out = await run_in_threadpool(
        lambda: service.review.decisions.decide(
            session.user, task_id, body.decision, note=body.note, label=body.label,
            apply_to_duplicates=body.apply_to_duplicates, ban=body.ban, reason_code=body.reason_code,
        )
    )
    first = _decided(out[0])
    return first | {"also": [_decided(d) for d in out[1:]]}


@router.post("/v1/review/bulk", response_model=BulkOut, **documented(SESSION_CSRF, 400, 422, 503))
async def bulk(body: BulkIn, session: SessionDep, service: ServiceDep) -> dict[str, Any]:
    res = await run_in_threadpool(
        lambda: service.review.decisions.bulk_decide(session.user, body.task_ids, body.decision, body.note, ban=body.ban, reason_code=body.reason_code)
    )
    return {"decided": [_decided(d) for d in res["decided"]], "refused": res["refused"]}


@router.post("/v1/review/tasks/{task_id}/release", status_code=204, **documented(SESSION_CSRF, 404, 409, 422, 503))
async def release(
    task_id: TaskId,
    session: SessionDep,
    service: ServiceDep,
    skip: Annotated[bool, Query(description="Skip: the task goes to the other moderators; your claims pass over it for the lease time.")] = False,
) -> Response:
    tasks = service.review.tasks
    await run_in_threadpool(tasks.skip if skip else tasks.release, session.user, task_id)
    return Response(status_code=204)


@router.post("/v1/review/items/{item_id}/exposure", response_model=ExposureOut, **documented(SESSION_CSRF, 400, 404, 422, 503))
async def record_exposure(item_id: ItemId, session: SessionDep, service: ServiceDep) -> dict[str, Any]:
    """Count a sensitive photo the moderator revealed: once per item and day, towards
    their daily exposure (`exposure_today` in the stats). 400 for an item that is not sensitive."""
    counted = await run_in_threadpool(service.review.tasks.record_exposure, session.user, item_id)
    return {"item_id": item_id, "counted": counted}


@router.post("/v1/review/decisions/{decision_id}/undo", response_model=UndoOut, **documented(SESSION_CSRF, 400, 404, 409, 422, 503))
async def undo(decision_id: DecisionId, session: SessionDep, service: ServiceDep, body: UndoIn | None = None) -> dict[str, Any]:
    """Undo your own decision within the undo window; an admin undoes any decision."""
    res = await run_in_threadpool(lambda: service.review.decisions.undo(session.user, decision_id, why=body.why if body else None))
    for bank, entry_id in res.bank_entries_to_remove:
        try:
            await banks_of(service).remove_entry(bank, entry_id, session.user.actor)
        except NotFound:  # already removed by hand: nothing left to undo
            log.info("undo of decision %s: bank entry %s/%s was already gone", decision_id, bank, entry_id)
    tasks = await run_in_threadpool(service.review.tasks.describe, [res.task_id]) if res.task_id is not None else []
    return {"decision_id": decision_id, "item_id": res.item_id, "task": task_out(tasks[0]) if tasks else None}


@router.get("/v1/review/stats", response_model=StatsOut, **documented(SESSION, 422, 503))
async def stats(session: SessionDep, service: ServiceDep, hours: Annotated[int, Query(ge=1, le=24 * 31)] = 24) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        return service.review.reports.stats(hours=hours) | {
            "exposure_today": service.review.tasks.exposure_today(),
            "decision_quality": service.review.qa.decision_quality(hours=hours),
        }

    return await run_in_threadpool(run)


@router.get("/v1/review/stats/series", response_model=StatsSeriesOut, **documented(SESSION, 422, 503))
async def stats_series(
    session: SessionDep, service: ServiceDep, hours: Annotated[int, Query(ge=1, le=MAX_SERIES_HOURS)] = 48
) -> dict[str, Any]:
    """The queue hour by hour (items, automation, decisions, depth and oldest task): the
    dashboard's charts."""
    return await run_in_threadpool(lambda: service.review.series.hourly(hours=hours))


@router.get("/v1/review/search", response_model=SearchOut, **documented(SESSION, 422, 503))
async def search(
    session: SessionDep,
    service: ServiceDep,
    q: Annotated[StorableText | None, Query(min_length=1, max_length=200, description="Words, each found in the text (accents and case ignored; three letters or more match as a prefix).")] = None,
    item_id: Annotated[Identifier | None, Query(min_length=1, max_length=128)] = None,
    author_id: Annotated[Identifier | None, Query(min_length=1, max_length=128)] = None,
    category: Annotated[Identifier | None, Query(min_length=1, max_length=64, description="A reason category, e.g. contact_info.")] = None,
    decision: Annotated[Literal["approve", "reject", "review"] | None, Query(description="The decision in force; review: still waiting for a moderator.")] = None,
    queue: Annotated[Identifier | None, Query(min_length=1, max_length=64, description="A review queue the item went to.")] = None,
    since: Annotated[datetime | None, Query(description="Created at or after (ISO 8601 with a time zone).")] = None,
    until: Annotated[datetime | None, Query(description="Created before (ISO 8601 with a time zone).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> dict[str, Any]:
    """Find stored items, newest first: full text over their texts and filters, all combined."""

    def run() -> dict[str, Any]:
        query = SearchQuery(text=q, item_id=item_id, author_id=author_id, category=category, decision=decision,
                            queue=queue, since=since, until=until, limit=limit, offset=offset)
        page = service.store.search(query)
        return {"hits": [h | {"url": item_page_url(h["id"])} for h in page.hits], "more": page.more, "limit": limit, "offset": offset}

    return await run_in_threadpool(run)


@router.get("/v1/review/items/{item_id}", response_model=ReviewItemOut, **documented(SESSION, 404, 422, 503))
async def review_item(item_id: ItemId, session: SessionDep, service: ServiceDep) -> dict[str, Any]:
    """The item with its text (or photo link), every decision and its audit trail."""
    item = await run_in_threadpool(service.store.get_item, item_id)
    audit = await run_in_threadpool(service.review.reports.item_audit, item_id)
    cases = await run_in_threadpool(enforcement_of(service).item_cases, item_id)
    return item | cases | {
        "statement": service.policy.item_statement(item),
        "image_url": image_url(item_id) if item["has_photo"] else None,
        "author_url": author_page_url(item["author_id"]),
        "audit": audit,
    }


@router.get("/v1/review/items/{item_id}/bank-entries", response_model=ItemBansOut, **documented(SESSION, 404, 422, 503))
async def item_bank_entries(item_id: ItemId, session: SessionDep, service: ServiceDep) -> dict[str, Any]:
    """The bank entries moderators' decisions on this item created: what an unban removes."""
    entries = await run_in_threadpool(service.store.bank_entries_for_item, item_id)
    return {"item_id": item_id, "entries": entries}


@router.delete("/v1/review/items/{item_id}/bans/{entry_id}", status_code=204, **documented(SESSION_CSRF, 403, 404, 422, 503))
async def unban_item(item_id: ItemId, entry_id: EntryId, session: AdminDep, service: ServiceDep) -> Response:
    """Unban (admins): the banned entry this item's rejection created leaves the bank, and
    later copies are no longer rejected for it. Audited."""
    entries = await run_in_threadpool(lambda: service.store.bank_entries_for_item(item_id, bank="banned"))
    if entry_id not in {e["entry_id"] for e in entries}:
        raise NotFound(f"item {item_id!r} has no banned entry {entry_id}")
    await banks_of(service).remove_entry("banned", entry_id, session.user.actor)
    return Response(status_code=204)


@router.get("/v1/review/items/{item_id}/image", response_class=Response, **documented(SESSION, 404, 422, 503))
async def item_image(item_id: ItemId, session: SessionDep, service: ServiceDep) -> Response:
    """The photo's bytes, for logged-in moderators only, never interpretable as a document."""
    sha = await run_in_threadpool(service.review.tasks.item_blob, item_id)
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
