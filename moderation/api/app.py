"""`create_app(settings)`: builds the service and the FastAPI app around it.

Every error leaves through one handler as RFC 9457 problem+json. Bad input is a 4xx
with a stable `type`; anything unexpected is logged and answered 500 without leaking
internals (and is a bug to fix).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from moderation.api.middleware import (
    PROBLEM,
    Admission,
    BodyLimit,
    TrustedProxies,
    Utf8FormFields,
)
from moderation.api.routes import ROUTERS
from moderation.api.routes.docs import mount_docs_assets
from moderation.api.routes.ui import mount_static
from moderation.api.schemas import SECURITY_SCHEMES, ItemIn, Problem, documented
from moderation.config import Settings
from moderation.errors import (
    InvalidInput,
    ModerationError,
    Overloaded,
    Unavailable,
)
from moderation.service import Service

log = logging.getLogger(__name__)


def _sendable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def problem_response(exc: ModerationError, instance: str | None = None) -> JSONResponse:
    headers = {}
    if isinstance(exc, (Overloaded, Unavailable)):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(exc.problem(instance), status_code=exc.status, media_type=PROBLEM, headers=headers)


def create_app(settings: Settings | None = None, *, watch_policy: bool = True) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = Service(settings, watch_policy=watch_policy)
        await service.start()
        app.state.service = service
        app.state.key_cache = {}
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(
        title="Moderation service",
        version="1.0",
        summary="Text and photo moderation with explainable decisions and a human review queue.",
        lifespan=lifespan,
        docs_url=None,  # served by routes/docs.py from local files, not a CDN
        redoc_url=None,
    )

    @app.exception_handler(ModerationError)
    async def _moderation_error(request: Request, exc: ModerationError) -> JSONResponse:
        if isinstance(exc, Overloaded):
            request.app.state.service.metrics.rejected_overload.inc()
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        # A location can hold a key of the caller's JSON: escape what UTF-8 cannot carry.
        errors = [
            {"loc": [_sendable(str(p)) for p in e.get("loc", ())], "msg": _sendable(str(e.get("msg"))), "type": e.get("type")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}"
        return problem_response(InvalidInput(detail, errors=errors), request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body: dict[str, Any] = {
            "type": f"https://moderation.local/problems/http-{exc.status_code}",
            "title": str(exc.detail),
            "status": exc.status_code,
            "detail": str(exc.detail),
            "instance": request.url.path,
        }
        return JSONResponse(body, status_code=exc.status_code, media_type=PROBLEM, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        body = {
            "type": "https://moderation.local/problems/internal",
            "title": "Internal error",
            "status": 500,
            "detail": "an unexpected error occurred; it has been logged",
            "instance": request.url.path,
        }
        return JSONResponse(body, status_code=500, media_type=PROBLEM)

    for router in ROUTERS:
        app.include_router(router)
    _document_item_schema(app)
    mount_static(app)
    mount_docs_assets(app)
    app.add_middleware(Utf8FormFields)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)  # bounds what the others read
    app.add_middleware(TrustedProxies, trusted=settings.trusted_proxies)  # who is asking
    app.add_middleware(Admission)  # outermost: an overloaded process reads nothing
    return app


def _document_item_schema(app: FastAPI) -> None:
    """Items of a batch are validated one by one (so one bad item cannot sink the batch),
    which hides their schema from FastAPI: put `ItemIn` into the OpenAPI components by hand.
    So are the security schemes and the problem+json body that routes refer to
    (`schemas.documented`). Every operation that takes a body can answer 400 (bytes the
    parser cannot read), so it is documented on each of them here, not left to each route."""
    unreadable = documented(None, 400)["responses"][400]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            components = spec.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            for model in (ItemIn, Problem):
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            components["securitySchemes"] = SECURITY_SCHEMES
            for operations in spec.get("paths", {}).values():
                for operation in operations.values():
                    if isinstance(operation, dict) and "requestBody" in operation:
                        operation.setdefault("responses", {}).setdefault("400", unreadable)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
