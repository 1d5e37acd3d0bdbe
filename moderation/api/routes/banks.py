"""Banks of photo hashes over the API: add, list, remove, export and import CSV."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from moderation.api.deps import (
    BanksReaderDep,
    BanksWriterDep,
    ServiceDep,
    banks_of,
    read_upload,
)
from moderation.api.schemas import (
    KEY_OR_ADMIN,
    KEY_OR_ADMIN_CSRF,
    MAX_INT64,
    BankEntryOut,
    BankImported,
    BankListing,
    BankNames,
    Identifier,
    StorableText,
    documented,
)
from moderation.errors import NotFound
from moderation.service import Service

router = APIRouter(tags=["banks"])
_BANK_NAME = re.compile(r"^[a-z0-9_-]{1,64}$")
# A bank the policy defines (the default policy's are banned, allowed and seen).
BankName = Annotated[str, Path(description="A bank the policy defines.", openapi_examples={"banned": {"value": "banned"}})]


def _check_bank(bank: str, service: Service) -> None:
    if not _BANK_NAME.match(bank) or bank not in service.policy.banks:
        raise NotFound(f"unknown bank {bank!r}; the policy defines {', '.join(sorted(service.policy.banks))}")


@router.post("/v1/banks/{bank}/photos", response_model=BankEntryOut, status_code=201, **documented(KEY_OR_ADMIN_CSRF, 400, 404, 422, 429, 503))
async def add_bank_photo(
    bank: BankName,
    service: ServiceDep,
    actor: BanksWriterDep,
    image: Annotated[UploadFile, File()],
    id: Annotated[Identifier | None, Form(max_length=128)] = None,
    context: Annotated[Identifier | None, Form(max_length=64)] = None,
    author_id: Annotated[Identifier | None, Form(max_length=128)] = None,
    note: Annotated[StorableText | None, Form(max_length=2000)] = None,
) -> JSONResponse:
    """Add a photo's hashes (SHA-256, pHash, PDQ and their variants) to a bank."""
    _check_bank(bank, service)
    data = await read_upload(image, service.settings.max_image_bytes)
    entry = await banks_of(service).add_photo(
        bank, data, note=note, author_id=author_id, item_id=id, actor=actor
    )
    return JSONResponse({k: entry.get(k) for k in BankEntryOut.model_fields}, status_code=201)


@router.get("/v1/banks", response_model=BankNames, **documented(KEY_OR_ADMIN, 503))
async def list_banks(service: ServiceDep, actor: BanksReaderDep) -> dict[str, Any]:
    """The banks the policy defines, with their number of entries."""

    def count() -> list[dict[str, Any]]:
        return [{"bank": b, "entries": service.store.list_bank(b, 1)[0]} for b in sorted(service.policy.banks)]

    return {"banks": await run_in_threadpool(count)}


@router.get("/v1/banks/{bank}", response_model=BankListing, **documented(KEY_OR_ADMIN, 404, 422, 503))
async def list_bank(
    bank: BankName,
    service: ServiceDep,
    actor: BanksReaderDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    q: Annotated[
        Identifier | None,
        Query(max_length=200, description="Keep entries whose note contains it, whose hash starts with it, or whose item or author id it is"),
    ] = None,
) -> dict[str, Any]:
    """A page of the bank, oldest entry first."""
    _check_bank(bank, service)
    total, entries = await run_in_threadpool(service.store.list_bank, bank, limit, offset, q)
    return {"bank": bank, "total": total, "entries": entries}


@router.delete("/v1/banks/{bank}/entries/{entry_id}", status_code=204, **documented(KEY_OR_ADMIN_CSRF, 404, 422, 503))
async def delete_bank_entry(bank: BankName, entry_id: Annotated[int, Path(ge=1, le=MAX_INT64)], service: ServiceDep, actor: BanksWriterDep) -> Response:
    _check_bank(bank, service)
    await banks_of(service).remove_entry(bank, entry_id, actor=actor)
    return Response(status_code=204)


@router.get("/v1/banks/{bank}/export.csv", response_class=Response, **documented(KEY_OR_ADMIN, 404, 503))
async def export_bank(bank: BankName, service: ServiceDep, actor: BanksReaderDep) -> Response:
    """The bank as exchange CSV: hash_type, hash_hex, note, quality, entry_id."""
    _check_bank(bank, service)
    body = await run_in_threadpool(banks_of(service).export, bank)
    headers = {"Content-Disposition": f'attachment; filename="{bank}.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/v1/banks/{bank}/import", response_model=BankImported, status_code=201, **documented(KEY_OR_ADMIN_CSRF, 400, 404, 422, 503))
async def import_bank(
    bank: BankName,
    service: ServiceDep,
    actor: BanksWriterDep,
    file: Annotated[UploadFile, File(description="CSV: hash_type (sha256|phash|pdq), hash_hex, note, quality")],
) -> JSONResponse:
    """Import hashes from another system (e.g. a PDQ hex list). The whole file is
    validated first; a bad line refuses the file (422 naming the line) and stores nothing.
    Then all rows are stored in one transaction: all or nothing."""
    _check_bank(bank, service)
    ids = await banks_of(service).import_csv(bank, await file.read(), actor)
    return JSONResponse({"bank": bank, "imported": len(ids), "first_entry_id": ids[0], "last_entry_id": ids[-1]}, status_code=201)
