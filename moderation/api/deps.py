"""FastAPI dependencies as `Annotated` aliases: the service, and the caller's identity."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from moderation.errors import Unauthorized
from moderation.service import Service
from moderation.store.repository import ApiKey, hash_secret

_KEY_CACHE_SECONDS = 30.0


def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


async def require_api_key(request: Request, service: ServiceDep) -> ApiKey:
    """Bearer API key of the upload pipeline. Verified keys are cached briefly (by hash,
    never the key itself) so a busy pipeline does not pay a database read per request."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer <api key>")
    digest = hash_secret(token.strip())
    cache: dict[str, tuple[float, ApiKey]] = request.app.state.key_cache
    hit = cache.get(digest)
    now = time.monotonic()
    if hit and now - hit[0] < _KEY_CACHE_SECONDS:
        return hit[1]
    key = await run_in_threadpool(service.store.authenticate, token.strip())
    if key is None:
        cache.pop(digest, None)
        raise Unauthorized("unknown or revoked API key")
    cache[digest] = (now, key)
    return key


ApiKeyDep = Annotated[ApiKey, Depends(require_api_key)]
