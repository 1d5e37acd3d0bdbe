"""API keys of the upload pipeline, for admins: list, create (the key and its signing
secret shown once), revoke. The CLI's `moderation keys` does the same from a shell."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from moderation.api.deps import AdminDep, ServiceDep
from moderation.api.schemas import (
    MAX_INT64,
    SESSION,
    SESSION_CSRF,
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyListing,
    documented,
)
from moderation.store.repository import API_KEY_SCOPES
from moderation.webhooks import check_receiver_url

router = APIRouter(tags=["admin"])
KeyId = Annotated[int, Path(ge=1, le=MAX_INT64)]


@router.get("/v1/admin/keys", response_model=ApiKeyListing, **documented(SESSION, 503))
async def list_keys(session: AdminDep, service: ServiceDep) -> dict[str, Any]:
    """Every key, revoked ones included, oldest first."""
    return {"keys": await run_in_threadpool(service.store.list_api_keys)}


@router.post(
    "/v1/admin/keys",
    response_model=ApiKeyCreated,
    status_code=201,
    **documented(SESSION_CSRF, 400, 422, 503),
)
async def create_key(
    body: ApiKeyIn, session: AdminDep, service: ServiceDep
) -> JSONResponse:
    """A new key with these scopes. The answer is the only time the key and its webhook
    signing secret are shown: only their hashes (the secret: itself, to sign) are kept."""
    if body.webhook_url is not None:
        check_receiver_url(body.webhook_url, service.settings.webhook_allowed_hosts)
    scopes = [sc for sc in API_KEY_SCOPES if sc in body.scopes]

    def create() -> dict[str, Any]:
        key, secret = service.store.create_api_key(
            body.name, webhook_url=body.webhook_url, scopes=scopes
        )
        created = service.store.authenticate(key)
        assert created is not None
        service.store.audit(
            session.user.actor,
            "api_key.create",
            body.name,
            {"id": created.id, "scopes": scopes, "webhook_url": body.webhook_url},
        )
        row = next(k for k in service.store.list_api_keys() if k["id"] == created.id)
        return {**row, "key": key, "webhook_secret": secret}

    out = await run_in_threadpool(create)
    return JSONResponse(
        ApiKeyCreated(**out).model_dump(mode="json"),
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


@router.post(
    "/v1/admin/keys/{key_id}/revoke",
    status_code=204,
    **documented(SESSION_CSRF, 404, 422, 503),
)
async def revoke_key(
    key_id: KeyId, request: Request, session: AdminDep, service: ServiceDep
) -> Response:
    """Revoke a key: this process refuses it at once; other API processes within their
    key cache's 30 s. Revoking a revoked key changes nothing."""
    if await run_in_threadpool(service.store.revoke_api_key, key_id):
        await run_in_threadpool(
            service.store.audit, session.user.actor, "api_key.revoke", str(key_id), None
        )
    cache = request.app.state.key_cache
    for digest in [d for d, (_, key) in cache.items() if key.id == key_id]:
        cache.pop(digest, None)
    return Response(status_code=204)
