"""The upload pipeline's API v1, plus health and metrics."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from moderation.api.deps import ApiKeyDep, ServiceDep
from moderation.api.schemas import (
    BankEntryOut,
    BankListing,
    ItemIn,
    ItemResultOut,
    ItemState,
    ModerateRequest,
    ModerateResponse,
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
from moderation.service import ItemRequest, ItemResult, Service
from moderation.types import ItemType

router = APIRouter()

_BANK_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")
_PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or bad API key (problem+json)"},
    413: {"description": "Body over the limit (problem+json)"},
    422: {"description": "Invalid request (problem+json)"},
    429: {"description": "Overloaded; retry after Retry-After seconds (problem+json)"},
}


# -- health -----------------------------------------------------------------------------


@router.get("/healthz", tags=["ops"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["ops"], responses={503: {"description": "Ray or the database is down"}})
async def readyz(request: Request, service: ServiceDep) -> dict[str, Any]:
    out: dict[str, Any] = {"status": "ready", **(await service.ready())}
    if request.app.state.policy_error:
        out["policy_error"] = request.app.state.policy_error
    return out


@router.get("/metrics", tags=["ops"], response_class=Response)
async def metrics(service: ServiceDep) -> Response:
    depths = await run_in_threadpool(service.store.queue_depths)
    service.metrics.queue_depth.clear()
    for queue, n in depths.items():
        service.metrics.queue_depth.labels(queue).set(n)
    for pool in (service.text_pool, service.photo_pool):
        if pool is not None:
            service.metrics.pool_size.labels(pool.name).set(pool.size)
            service.metrics.worker_replacements.labels(pool.name).set(pool.replaced)
    return Response(service.metrics.render(), media_type="text/plain; version=0.0.4")


# -- item validation ----------------------------------------------------------------------


def parse_item(raw: Any, service: Service) -> ItemRequest:
    """One item of a batch -> ItemRequest, or a ModerationError naming the fault."""
    if not isinstance(raw, dict):
        raise InvalidInput("an item must be a JSON object")
    try:
        item = ItemIn.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err.get("loc", ()))
        raise InvalidInput(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg"))) from None
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


def _result_out(r: ItemResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.id,
        "decision": r.decision,
        "reasons": r.reasons,
        "scores": r.scores,
        "policy_version": r.policy_version,
        "status_url": r.status_url,
    }
    if r.error is not None:
        out["error"] = r.error
    return out


# -- moderation ---------------------------------------------------------------------------


@router.post("/v1/moderate", tags=["moderation"], response_model=ModerateResponse, responses=_PROBLEM_RESPONSES)
async def moderate(body: ModerateRequest, service: ServiceDep, key: ApiKeyDep) -> JSONResponse:
    """Decide a batch of texts and photos. Results come back in input order; an invalid
    item gets its own `error` (a problem+json body) and the others are still decided."""
    limit = service.settings.max_batch_items
    if len(body.items) > limit:
        raise PayloadTooLarge(f"{len(body.items)} items in one request, the limit is {limit}", max_batch_items=limit)
    parsed: list[ItemRequest] = []
    errors: dict[int, ItemResult] = {}
    seen: set[str] = set()
    for k, raw in enumerate(body.items):
        rid = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"#{k}"
        try:
            req = parse_item(raw, service)
            if req.id in seen:
                raise InvalidInput(f"id {req.id!r} appears twice in this batch")
            seen.add(req.id)
            parsed.append(req)
        except ModerationError as exc:
            errors[k] = ItemResult(id=rid, error=exc.problem())
            service.metrics.errors.labels(exc.type_).inc()
    decided = iter(await service.moderate(parsed, key))
    results = [errors[k] if k in errors else next(decided) for k in range(len(body.items))]
    return JSONResponse({"results": [_result_out(r) for r in results]})


@router.post("/v1/photos", tags=["moderation"], response_model=ItemResultOut, responses=_PROBLEM_RESPONSES)
async def moderate_photo(
    service: ServiceDep,
    key: ApiKeyDep,
    id: Annotated[str, Form(min_length=1, max_length=128)],
    context: Annotated[str, Form(min_length=1, max_length=64)],
    author_id: Annotated[str, Form(min_length=1, max_length=128)],
    image: Annotated[UploadFile, File(description="JPEG, PNG, WebP or GIF")],
    locale: Annotated[str | None, Form(max_length=16)] = None,
    metadata: Annotated[str | None, Form(description="A JSON object, stored and returned")] = None,
    callback_url: Annotated[str | None, Form(max_length=2048)] = None,
) -> JSONResponse:
    """One photo as a multipart upload: no base64 overhead. A photo that cannot be used
    is answered with its problem+json (422, or 413 for too many bytes or pixels)."""
    data = await _read_upload(image, service.settings.max_image_bytes)
    meta = _parse_metadata(metadata)
    check_routing(service, context, ItemType.PHOTO, callback_url)
    req = photo_request(id, context, author_id, data, service, locale, meta, callback_url)
    [result] = await service.moderate([req], key)
    if result.error is not None:
        status = int(result.error.get("status", 422))
        return JSONResponse(result.error | {"id": id, "reasons": result.reasons}, status_code=status, media_type="application/problem+json")
    return JSONResponse(_result_out(result))


async def _read_upload(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise ImageTooLarge(f"image is over the limit of {limit} bytes", fault="too_many_bytes")
    if not data:
        raise InvalidImage("the image is empty (0 bytes)", fault="empty")
    return data


def _parse_metadata(metadata: str | None) -> dict[str, Any] | None:
    if metadata is None:
        return None
    try:
        value = json.loads(metadata)
    except ValueError:
        raise InvalidInput("metadata must be a JSON object") from None
    if not isinstance(value, dict):
        raise InvalidInput("metadata must be a JSON object")
    return value


@router.get("/v1/items/{item_id}", tags=["moderation"], response_model=ItemState, responses={404: {"description": "Unknown id"}})
async def get_item(item_id: str, service: ServiceDep, key: ApiKeyDep) -> dict[str, Any]:
    """The item's current state: first decision, any human decision, final decision, history."""
    return await run_in_threadpool(service.store.get_item, item_id)


# -- banks --------------------------------------------------------------------------------


def _check_bank(bank: str, service: Service) -> None:
    if not _BANK_NAME.match(bank) or bank not in service.policy.banks:
        raise NotFound(f"unknown bank {bank!r}; the policy defines {', '.join(sorted(service.policy.banks))}")


@router.post("/v1/banks/{bank}/photos", tags=["banks"], response_model=BankEntryOut, status_code=201, responses=_PROBLEM_RESPONSES)
async def add_bank_photo(
    bank: str,
    service: ServiceDep,
    key: ApiKeyDep,
    image: Annotated[UploadFile, File()],
    id: Annotated[str | None, Form(max_length=128)] = None,
    context: Annotated[str | None, Form(max_length=64)] = None,
    author_id: Annotated[str | None, Form(max_length=128)] = None,
    note: Annotated[str | None, Form(max_length=2000)] = None,
) -> JSONResponse:
    """Add a photo's hashes (SHA-256, pHash, PDQ and their variants) to a bank."""
    _check_bank(bank, service)
    data = await _read_upload(image, service.settings.max_image_bytes)
    entry = await service.add_bank_photo(
        bank, data, note=note, author_id=author_id, item_id=id, actor=f"api-key:{key.name}"
    )
    return JSONResponse({k: entry.get(k) for k in BankEntryOut.model_fields}, status_code=201)


@router.get("/v1/banks/{bank}", tags=["banks"], response_model=BankListing)
async def list_bank(
    bank: str,
    service: ServiceDep,
    key: ApiKeyDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    _check_bank(bank, service)
    total, entries = await run_in_threadpool(service.store.list_bank, bank, limit, offset)
    return {"bank": bank, "total": total, "entries": entries}


@router.delete("/v1/banks/{bank}/entries/{entry_id}", tags=["banks"], status_code=204)
async def delete_bank_entry(bank: str, entry_id: int, service: ServiceDep, key: ApiKeyDep) -> Response:
    _check_bank(bank, service)
    await service.remove_bank_entry(bank, entry_id, actor=f"api-key:{key.name}")
    return Response(status_code=204)


@router.get("/v1/banks/{bank}/export.csv", tags=["banks"], response_class=Response)
async def export_bank(bank: str, service: ServiceDep, key: ApiKeyDep) -> Response:
    """The bank as exchange CSV: hash_type, hash_hex, note, quality, entry_id."""
    from moderation.photos.banks import bank_csv

    _check_bank(bank, service)

    def all_entries() -> list[dict[str, Any]]:
        return [e for batch in service.store.iter_bank_entries(bank=bank) for e in batch]

    body = bank_csv(await run_in_threadpool(all_entries))
    headers = {"Content-Disposition": f'attachment; filename="{bank}.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/v1/banks/{bank}/import", tags=["banks"], status_code=201, responses=_PROBLEM_RESPONSES)
async def import_bank(
    bank: str,
    service: ServiceDep,
    key: ApiKeyDep,
    file: Annotated[UploadFile, File(description="CSV: hash_type (sha256|phash|pdq), hash_hex, note, quality")],
) -> JSONResponse:
    """Import hashes from another system (e.g. a PDQ hex list). The whole file is
    validated first; a bad line refuses the file (422 naming the line) and stores nothing."""
    from moderation.photos.banks import parse_bank_csv
    from moderation.store.repository import NewBankEntry

    _check_bank(bank, service)
    raw = await file.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("the CSV must be UTF-8") from None
    rows = parse_bank_csv(text)
    actor = f"api-key:{key.name}"
    entries = [
        NewBankEntry(
            bank=bank,
            sha256=r.hash_hex if r.hash_type == "sha256" else None,
            phash=r.hash_hex if r.hash_type == "phash" else None,
            pdq=r.hash_hex if r.hash_type == "pdq" else None,
            pdq_quality=(r.quality if r.quality is not None else 100) if r.hash_type == "pdq" else None,
            variants=None,
            note=r.note,
            author_id=None,
            item_id=None,
            created_by=actor,
        )
        for r in rows
    ]
    ids = await service.store_bank_entries(entries)
    await run_in_threadpool(service.store.audit, actor, "bank.import", bank, {"rows": len(ids)})
    return JSONResponse({"bank": bank, "imported": len(ids), "first_entry_id": ids[0], "last_entry_id": ids[-1]}, status_code=201)
