"""Health, readiness and metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from moderation.api.deps import ServiceDep
from moderation.api.schemas import Health, Readiness, documented

router = APIRouter(tags=["ops"])


@router.get("/healthz", response_model=Health, **documented(None))
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=Readiness, response_model_exclude_none=True, **documented(None, 503))
async def readyz(service: ServiceDep) -> dict[str, Any]:
    out: dict[str, Any] = {"status": "ready", **(await service.ready())}
    if service.policy_error:
        out["policy_error"] = service.policy_error
    return out


@router.get("/metrics", response_class=Response, **documented(None, 503))
async def metrics(service: ServiceDep) -> Response:
    depths = await run_in_threadpool(service.store.queue_depths)
    service.metrics.queue_depth.clear()
    for queue, n in depths.items():
        service.metrics.queue_depth.labels(queue).set(n)
    service.metrics.set_rule_rates(await run_in_threadpool(service.review.reports.rule_rates))
    for pool in (service.text_pool, service.photo_pool):
        if pool is not None:
            service.metrics.pool_size.labels(pool.name).set(pool.size)
            service.metrics.worker_replacements.labels(pool.name).set(pool.replaced)
    return Response(service.metrics.render(), media_type="text/plain; version=0.0.4")
