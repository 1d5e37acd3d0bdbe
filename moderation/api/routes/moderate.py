"""The upload pipeline's moderation routes: batches, single photos, an item's state."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, UploadFile
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from pydantic_core import PydanticCustomError
from starlette.concurrency import run_in_threadpool

from moderation.api.deps import ItemsReadKeyDep, ModerateKeyDep, ServiceDep, read_upload
from moderation.api.schemas import (
    FAULTS,
    KEY,
    METADATA_MAX_DEPTH,
    Identifier,
    ItemIn,
    ItemResultOut,
    ItemState,
    ModerateRequest,
    ModerateResponse,
    check_metadata,
    documented,
    is_identifier,
    result_out,
)
from moderation.errors import (
    ImageTooLarge,
    InvalidImage,
    InvalidInput,
    InvalidText,
    ModerationError,
    NotFound,
    PayloadTooLarge,
)
from moderation.moderate import ItemRequest, ItemResult, Moderation
from moderation.service import Service
from moderation.types import ItemType
from moderation.webhooks import check_receiver_url

router = APIRouter(tags=["moderation"])


def moderation_of(service: Service) -> Moderation:
    assert service.moderation is not None
    return service.moderation


def parse_item(raw: Any, service: Service) -> ItemRequest:
    """One item of a batch -> ItemRequest, or a ModerationError naming the fault."""
    if not isinstance(raw, dict):
        raise InvalidInput("an item must be a JSON object")
    try:
        item = ItemIn.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ()))
        fault = {"fault": FAULTS[err["type"]]} if err["type"] in FAULTS else {}
        raise InvalidInput(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")), **fault) from None
    s = service.settings
    check_routing(service, item.context, ItemType(item.type), item.callback_url)
    if item.type == "text":
        if item.image_b64 is not None:
            raise InvalidInput("a text item has no image_b64")
        if item.text is None:
            raise InvalidText("a text item needs text", fault="missing")
        return ItemRequest(
            id=item.id,
            type=ItemType.TEXT,
            context=item.context,
            author_id=item.author_id,
            text=check_text(item.text, s.max_text_chars),
            locale=item.locale,
            metadata=item.metadata,
            callback_url=item.callback_url,
        )
    if item.text is not None:
        raise InvalidInput("a photo item has no text")
    if not item.image_b64:
        raise InvalidImage("a photo item needs image_b64", fault="empty")
    if len(item.image_b64) > (s.max_image_bytes * 4) // 3 + 8:
        raise ImageTooLarge(f"image is over {s.max_image_bytes} bytes", fault="too_many_bytes")
    try:
        data = base64.b64decode(item.image_b64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidImage("image_b64 is not valid base64", fault="bad_base64") from None
    return photo_request(item.id, item.context, item.author_id, data, service, item.locale, item.metadata, item.callback_url)


_CALLBACK_URL = re.compile(r"https?://\S+")


def check_routing(service: Service, context: str, type_: ItemType, callback_url: str | None) -> None:
    """The checks every way in shares: the context exists and takes this type, the callback is http(s)."""
    ctx = service.policy.contexts.get(context)
    if ctx is None:
        raise InvalidInput(f"unknown context {context!r}; known: {', '.join(sorted(service.policy.contexts))}")
    if ctx.type is not type_:
        raise InvalidInput(f"context {context!r} takes {ctx.type.value} items, not {type_.value}")
    if callback_url is not None and not _CALLBACK_URL.fullmatch(callback_url):
        raise InvalidInput("callback_url must be an http(s) URL")


async def check_receiver(service: Service, callback_url: str | None) -> None:
    """A callback URL must not reach inside our network (`webhooks.check_receiver_url`); the
    name is resolved in a thread, never on the event loop."""
    if callback_url is not None:
        await run_in_threadpool(check_receiver_url, callback_url, service.settings.webhook_allowed_hosts)


def check_text(text: str, max_chars: int) -> str:
    if not text.strip():
        raise InvalidText("text is empty", fault="empty")
    if len(text) > max_chars:
        raise InvalidText(f"text has {len(text)} characters, the limit is {max_chars}", fault="too_long")
    if "\x00" in text:
        raise InvalidText("text contains NUL characters", fault="nul")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidText("text contains unpaired surrogates (invalid UTF-16 escapes)", fault="bad_encoding") from None
    return text


def photo_request(
    item_id: str,
    context: str,
    author_id: str,
    data: bytes,
    service: Service,
    locale: str | None = None,
    metadata: dict[str, Any] | None = None,
    callback_url: str | None = None,
) -> ItemRequest:
    if not data:
        raise InvalidImage("the image is empty (0 bytes)", fault="empty")
    if len(data) > service.settings.max_image_bytes:
        raise ImageTooLarge(
            f"image has {len(data)} bytes, the limit is {service.settings.max_image_bytes}", fault="too_many_bytes"
        )
    return ItemRequest(
        id=item_id,
        type=ItemType.PHOTO,
        context=context,
        author_id=author_id,
        image=data,
        media_type=_sniff_media_type(data),
        locale=locale,
        metadata=metadata,
        callback_url=callback_url,
    )


def _sniff_media_type(data: bytes) -> str:
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return "application/octet-stream"


@router.post("/v1/moderate", response_model=ModerateResponse, **documented(KEY, 400, 422, 429, 503))
async def moderate(body: ModerateRequest, service: ServiceDep, key: ModerateKeyDep) -> JSONResponse:
    """Decide a batch of texts and photos. Results come back in input order; an invalid
    item gets its own `error` (a problem+json body) and the others are still decided."""
    limit = service.settings.max_batch_items
    if len(body.items) > limit:
        raise PayloadTooLarge(f"{len(body.items)} items in one request, the limit is {limit}", max_batch_items=limit)
    parsed: list[ItemRequest] = []
    errors: dict[int, ItemResult] = {}
    seen: set[str] = set()
    for k, raw in enumerate(body.items):
        # An id that cannot be sent back (unpaired surrogate, control character) is named by its position.
        rid = raw.get("id") if isinstance(raw, dict) and is_identifier(raw.get("id")) else f"#{k}"
        try:
            req = parse_item(raw, service)
            if req.id in seen:
                raise InvalidInput(f"id {req.id!r} appears twice in this batch")
            await check_receiver(service, req.callback_url)
            seen.add(req.id)
            parsed.append(req)
        except ModerationError as exc:
            errors[k] = ItemResult(id=rid, error=exc.problem())
            service.metrics.errors.labels(exc.type_).inc()
    decided = iter(await moderation_of(service).moderate(parsed, key))
    results = [errors[k] if k in errors else next(decided) for k in range(len(body.items))]
    return JSONResponse({"results": [result_out(r, service.settings.public_url) for r in results]})


@router.post("/v1/photos", response_model=ItemResultOut, **documented(KEY, 400, 409, 422, 429, 503))
async def moderate_photo(
    service: ServiceDep,
    key: ModerateKeyDep,
    id: Annotated[Identifier, Form(min_length=1, max_length=128)],
    context: Annotated[Identifier, Form(min_length=1, max_length=64)],
    author_id: Annotated[Identifier, Form(min_length=1, max_length=128)],
    image: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF")],
    locale: Annotated[Identifier | None, Form(max_length=16)] = None,
    metadata: Annotated[str | None, Form(description="A JSON object, stored and returned, with the limits of ItemIn.metadata")] = None,
    callback_url: Annotated[Identifier | None, Form(max_length=2048)] = None,
) -> JSONResponse:
    """One photo as a multipart upload: no base64 overhead. A photo that cannot be used
    is answered with its problem+json (422, or 413 for too many bytes or pixels)."""
    data = await read_upload(image, service.settings.max_image_bytes)
    meta = _parse_metadata(metadata)
    check_routing(service, context, ItemType.PHOTO, callback_url)
    await check_receiver(service, callback_url)
    req = photo_request(id, context, author_id, data, service, locale, meta, callback_url)
    [result] = await moderation_of(service).moderate([req], key)
    if result.error is not None:
        status = int(result.error.get("status", 422))
        return JSONResponse(result.error | {"id": id, "reasons": result.reasons}, status_code=status, media_type="application/problem+json")
    return JSONResponse(result_out(result, service.settings.public_url))


def _parse_metadata(metadata: str | None) -> dict[str, Any] | None:
    """The multipart `metadata` field, held to the limits of `ItemIn.metadata`."""
    if metadata is None:
        return None
    try:
        value = json.loads(metadata)
    except ValueError:
        raise InvalidInput("metadata must be a JSON object", fault="metadata") from None
    except RecursionError:  # nested deeper than the parser's stack: far over the depth limit
        raise InvalidInput(f"metadata is nested deeper than {METADATA_MAX_DEPTH} levels", fault="metadata") from None
    if not isinstance(value, dict):
        raise InvalidInput("metadata must be a JSON object", fault="metadata")
    try:
        return check_metadata(value)
    except PydanticCustomError as exc:
        raise InvalidInput(exc.message(), fault=exc.type) from None


@router.get("/v1/items/{item_id}", response_model=ItemState, **documented(KEY, 404, 422, 503))
async def get_item(item_id: Annotated[Identifier, Path(min_length=1, max_length=128)], service: ServiceDep, key: ItemsReadKeyDep) -> dict[str, Any]:
    """The item's current state: first decision, any human decision, final decision, history.
    A key reads only the items it submitted; another key's item is unknown to it."""
    if not await run_in_threadpool(service.store.key_owns_item, key.id, item_id):
        raise NotFound(f"no item with id {item_id!r}")
    state = await run_in_threadpool(service.store.get_item, item_id)
    return state | {"statement": service.policy.item_statement(state)}
