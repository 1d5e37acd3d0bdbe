"""`create_app(settings)`: builds the service and the FastAPI app around it.

Every error leaves through one handler as RFC 9457 problem+json. Bad input is a 4xx
with a stable `type`; anything unexpected is logged and answered 500 without leaking
internals (and is a bug to fix).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moderation.config import Settings
from moderation.errors import (
    ModerationError,
    Overloaded,
    PayloadTooLarge,
    PolicyError,
    Unavailable,
)
from moderation.service import Service

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"
REVIEW_UI = Path(__file__).resolve().parent.parent.parent / "review_ui"


def problem_response(exc: ModerationError, instance: str | None = None) -> JSONResponse:
    headers = {}
    if isinstance(exc, (Overloaded, Unavailable)):
        headers["Retry-After"] = str(exc.retry_after)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(exc.problem(instance), status_code=exc.status, media_type=PROBLEM, headers=headers)


class BodyLimit:
    """Refuses bodies over `limit` bytes with 413, by Content-Length or while streaming,
    before any of it is parsed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    await _send_problem(send, PayloadTooLarge(f"body of {declared} bytes is over the limit of {self.limit}"))
                    return
        seen = 0
        too_large = False
        replaced = False

        async def limited() -> Message:
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.request", "body": b"", "more_body": False}
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    # Stop reading here; whatever the app answers is replaced by a 413 below.
                    too_large = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return msg

        async def guarded_send(msg: Message) -> None:
            nonlocal replaced
            if not too_large:
                await send(msg)
                return
            if not replaced:
                replaced = True
                await _send_problem(send, PayloadTooLarge(f"body is over the limit of {self.limit} bytes"))

        await self.app(scope, limited, guarded_send)


class Utf8FormFields:
    """Refuses multipart fields (not files) whose bytes are not UTF-8, with a 422 naming
    the field. Starlette would decode them as Latin-1 and store mojibake silently.

    The body is read once here (BodyLimit, outside, has already bounded it), checked with
    python-multipart's own parser, and replayed to the app unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"") if scope["type"] == "http" else b""
        if not content_type.startswith(b"multipart/form-data"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            msg = await receive()
            if msg["type"] != "http.request":
                break
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body"):
                break
        body = b"".join(chunks)
        bad = _non_utf8_fields(content_type, body)
        if bad:
            from moderation.errors import InvalidInput

            await _send_problem(send, InvalidInput(f"form field {bad!r} is not valid UTF-8", fault="bad_encoding"))
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _non_utf8_fields(content_type: bytes, body: bytes) -> str | None:
    """The name of the first non-file part whose bytes do not decode as UTF-8, if any.
    A malformed body is left to the app's own parser, which answers 400."""
    from python_multipart import MultipartParser
    from python_multipart.multipart import parse_options_header

    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        return None
    state: dict[str, Any] = {"headers": b"", "data": bytearray(), "bad": None, "field": b"", "value": b""}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        if state["field"].lower() == b"content-disposition":
            state["headers"] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_part_begin() -> None:
        state["headers"], state["data"] = b"", bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if b"filename" not in state["headers"]:
            state["data"] += data[start:end]

    def on_part_end() -> None:
        if state["bad"] is None and b"filename" not in state["headers"]:
            try:
                bytes(state["data"]).decode("utf-8")
            except UnicodeDecodeError:
                _, opts = parse_options_header(state["headers"])
                state["bad"] = opts.get(b"name", b"?").decode("latin-1")

    parser = MultipartParser(
        boundary,
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception:  # noqa: BLE001 - malformed multipart: the app's parser says so (400)
        return None
    return state["bad"]


async def _send_problem(send: Send, exc: ModerationError) -> None:
    import json

    body = json.dumps(exc.problem()).encode()
    await send(
        {
            "type": "http.response.start",
            "status": exc.status,
            "headers": [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _watched_mtime(service: Service) -> int:
    """The newest modification time of the policy file and the word lists its rules read."""
    from moderation.rules.keywords import word_list_paths

    paths = [service.settings.policy_path, *word_list_paths(service.policy.rules)]
    newest = 0
    for path in paths:
        try:
            newest = max(newest, path.stat().st_mtime_ns)
        except OSError:
            continue
    return newest


async def _watch_policy(app: FastAPI, service: Service, interval: float = 2.0) -> None:
    """Reload the policy when its file or one of its word lists changes; an invalid
    file is logged and the running policy stays."""
    last = _watched_mtime(service)
    while True:
        await asyncio.sleep(interval)
        mtime = _watched_mtime(service)
        if mtime == last:
            continue
        last = mtime
        try:
            version = await service.reload_policy("file-watch")
            app.state.policy_error = None
            log.info("policy reloaded: %s", version)
        except PolicyError as exc:
            app.state.policy_error = exc.detail
            log.error("policy file refused, keeping %s: %s", service.policy.version, exc.detail)


def create_app(settings: Settings | None = None, *, watch_policy: bool = True) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = Service(settings)
        await service.start()
        app.state.service = service
        app.state.key_cache = {}
        app.state.login_failures = {}  # username -> monotonic times of failed logins
        app.state.policy_error = None
        watcher = asyncio.create_task(_watch_policy(app, service)) if watch_policy else None
        try:
            yield
        finally:
            if watcher:
                watcher.cancel()
            await service.stop()

    app = FastAPI(
        title="Moderation service",
        version="1.0",
        summary="Text and photo moderation with explainable decisions and a human review queue.",
        lifespan=lifespan,
    )

    @app.exception_handler(ModerationError)
    async def _moderation_error(request: Request, exc: ModerationError) -> JSONResponse:
        if isinstance(exc, Overloaded):
            request.app.state.service.metrics.rejected_overload.inc()
        return problem_response(exc, request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        detail = f"{'.'.join(first['loc'])}: {first['msg']}"
        from moderation.errors import InvalidInput

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

    from moderation.api.routes import router

    app.include_router(router)
    _document_item_schema(app)
    _mount_review_ui(app)
    app.add_middleware(Utf8FormFields)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)  # outermost: bounds what the others read
    return app


def _document_item_schema(app: FastAPI) -> None:
    """Items of a batch are validated one by one (so one bad item cannot sink the batch),
    which hides their schema from FastAPI: put `ItemIn` into the OpenAPI components by hand."""
    from fastapi.openapi.utils import get_openapi

    from moderation.api.schemas import ItemIn

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            schemas["ItemIn"] = ItemIn.model_json_schema(ref_template="#/components/schemas/{model}")
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _mount_review_ui(app: FastAPI) -> None:
    from fastapi.staticfiles import StaticFiles

    static = REVIEW_UI / "static"
    if static.is_dir():
        app.mount("/review/static", StaticFiles(directory=static), name="review-static")
    from moderation.api.review import router as review_router

    app.include_router(review_router)
