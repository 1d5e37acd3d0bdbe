"""FastAPI dependencies as `Annotated` aliases: the service and its parts, and the caller's
identity (an API key, a moderator's session, an admin's session)."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from moderation.auth import Session, check_csrf, require_admin
from moderation.banks import Banks
from moderation.errors import Forbidden, ImageTooLarge, InvalidImage, Unauthorized
from moderation.service import Service
from moderation.store.repository import ApiKey, hash_secret

_KEY_CACHE_SECONDS = 30.0
COOKIE = "moderation_session"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


def banks_of(service: Service) -> Banks:
    """The bank write path; it exists once the service has started."""
    assert service.banks is not None
    return service.banks


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


def check_scope(key: ApiKey, scope: str) -> ApiKey:
    if scope not in key.scopes:
        raise Forbidden(f"this API key lacks the scope {scope!r}", scope=scope)
    return key


def key_with(scope: str) -> Any:
    """A dependency: the caller's API key, which must hold `scope`."""

    async def dependency(key: ApiKeyDep) -> ApiKey:
        return check_scope(key, scope)

    return Depends(dependency)


def key_or_admin(scope: str) -> Any:
    """A dependency for the bank routes: an API key holding `scope`, or an admin's session
    (cookie, and the CSRF token on writes). Answers the actor recorded in the audit log."""

    async def dependency(request: Request, service: ServiceDep) -> str:
        if request.headers.get("authorization") or not request.cookies.get(COOKIE):
            key = check_scope(await require_api_key(request, service), scope)
            return f"api-key:{key.name}"
        session = await current_session(request, service)
        require_admin(session.user)
        return session.user.actor

    return Depends(dependency)


ModerateKeyDep = Annotated[ApiKey, key_with("moderate")]
ItemsReadKeyDep = Annotated[ApiKey, key_with("items:read")]
BanksReaderDep = Annotated[str, key_or_admin("banks:read")]
BanksWriterDep = Annotated[str, key_or_admin("banks:write")]


async def read_upload(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ImageTooLarge(f"image is over the limit of {limit} bytes", fault="too_many_bytes")
    if not data:
        raise InvalidImage("the image is empty (0 bytes)", fault="empty")
    return data
