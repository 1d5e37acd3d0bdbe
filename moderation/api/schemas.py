"""Wire schemas (pydantic), request and response families, and the URLs answers carry.
The pipeline's own types never go on the wire directly."""

from __future__ import annotations

import json
import math
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from moderation.moderate import ItemResult

# -- strings and metadata that can be stored and sent back --------------------------------
#
# JSON may carry a lone UTF-16 surrogate ("\ud800"): Python holds it, but it cannot be
# encoded as UTF-8, so the row it lands in can never be sent back (and PostgreSQL refuses
# it, like NUL). Metadata is stored as JSON and returned on every read of the item, review
# claims included: depth and size are bounded so that every reader can serialize it.

METADATA_MAX_DEPTH = 8  # nested objects and arrays, the metadata object itself included
METADATA_MAX_KEYS = 64  # keys per object
METADATA_MAX_BYTES = 16 * 1024  # serialized as compact UTF-8 JSON
# Error types of these validators (and pydantic's own for an unpaired surrogate in a str
# field) -> the problem's `fault`.
FAULTS = {t: t for t in ("bad_encoding", "nul", "control_character", "metadata")} | {"string_unicode": "bad_encoding"}


def storable_text(value: str) -> str:
    """Free text (a note, a password): any character but NUL and lone surrogates."""
    if "\x00" in value:
        raise PydanticCustomError("nul", "contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("bad_encoding", "contains an unpaired surrogate (an invalid \\u escape)") from None
    return value


def identifier(value: str) -> str:
    """An id, a name, a context, a locale: storable text without control characters, which
    would corrupt logs, CSV exports and the review UI."""
    storable_text(value)
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise PydanticCustomError("control_character", "contains a control character")
    return value


def is_identifier(value: Any) -> bool:
    try:
        return isinstance(value, str) and identifier(value) == value
    except PydanticCustomError:
        return False


def check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    """At most METADATA_MAX_DEPTH levels, METADATA_MAX_KEYS keys per object and
    METADATA_MAX_BYTES serialized; strings (keys included) storable; numbers finite.
    Walked without recursion: the input may be nested far deeper than the limit."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)) and depth > METADATA_MAX_DEPTH:
            raise _bad_metadata(f"is nested deeper than {METADATA_MAX_DEPTH} levels")
        if isinstance(node, dict):
            if len(node) > METADATA_MAX_KEYS:
                raise _bad_metadata(f"has an object of more than {METADATA_MAX_KEYS} keys")
            for k, v in node.items():
                if not isinstance(k, str):
                    raise _bad_metadata("has a key that is not a string")
                _metadata_text(k)
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            _metadata_text(node)
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise _bad_metadata("has a number that is not finite (NaN or Infinity)")
        elif node is not None and not isinstance(node, (bool, int)):
            raise _bad_metadata(f"has a value of type {type(node).__name__}, not JSON")
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > METADATA_MAX_BYTES:
        raise _bad_metadata(f"is {size} bytes serialized, over the limit of {METADATA_MAX_BYTES}")
    return value


def _metadata_text(text: str) -> None:
    try:
        storable_text(text)
    except PydanticCustomError as exc:
        raise _bad_metadata(f"has a string that {exc.message()}") from None


def _bad_metadata(why: str) -> PydanticCustomError:
    return PydanticCustomError("metadata", "metadata {why}", {"why": why})


# Every integer the API takes fits a signed 64-bit column (SQLite INTEGER, PostgreSQL BIGINT).
MAX_INT64 = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_INT64)]

Identifier = Annotated[str, AfterValidator(identifier)]
StorableText = Annotated[str, AfterValidator(storable_text)]
Metadata = Annotated[dict[str, Any], AfterValidator(check_metadata)]

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or bad API key (problem+json)"},
    413: {"description": "Body over the limit (problem+json)"},
    422: {"description": "Invalid request (problem+json)"},
    429: {"description": "Overloaded; retry after Retry-After seconds (problem+json)"},
}


class ItemIn(BaseModel):
    """One item to moderate. `text` for texts, `image_b64` (standard base64) for photos."""

    model_config = ConfigDict(extra="forbid")

    id: Identifier = Field(min_length=1, max_length=128, description="The client's id; resubmitting it is idempotent.")
    type: Literal["text", "photo"]
    context: Identifier = Field(min_length=1, max_length=64, description="A context the policy defines, e.g. message.")
    author_id: Identifier = Field(min_length=1, max_length=128)
    text: str | None = None
    image_b64: str | None = None
    locale: Identifier | None = Field(default=None, max_length=16)
    metadata: Metadata | None = Field(
        default=None,
        description=f"Stored and returned as is: a JSON object of at most {METADATA_MAX_DEPTH} levels, "
        f"{METADATA_MAX_KEYS} keys per object and {METADATA_MAX_BYTES} bytes serialized; strings without NUL "
        "or unpaired surrogates, numbers finite.",
    )
    callback_url: Identifier | None = Field(default=None, max_length=2048, description="Webhook for the final decision.")


_ITEMS_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "items": {"$ref": "#/components/schemas/ItemIn"},
    "description": "1 to max_batch_items items; each is validated on its own, so one bad item "
    "gets an error result and the others are still decided.",
}


class ModerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: Annotated[list[Any], WithJsonSchema(_ITEMS_SCHEMA)] = Field(min_length=1)


class ReasonOut(BaseModel):
    source: Literal["rule", "model", "hash"]
    category: str
    detector: str = Field(description="Rule id, model name@version, or bank:<bank>/<hash type>.")
    score: float
    span: list[int] | None = Field(default=None, description="[start, end) character offsets into the text.")
    matched: str | None = None
    distance: int | None = Field(default=None, description="Hamming distance of a hash match.")
    entry_id: int | None = None
    detail: dict[str, Any] | None = None


class ItemResultOut(BaseModel):
    id: str
    decision: Literal["approve", "reject", "review"] | None = None
    reasons: list[ReasonOut] = []
    scores: dict[str, float] = {}
    policy_version: str | None = None
    status_url: str | None = None
    error: dict[str, Any] | None = Field(default=None, description="A problem+json body when this item was refused.")


class ModerateResponse(BaseModel):
    results: list[ItemResultOut]


class HistoryEntry(BaseModel):
    decision_id: int
    kind: str
    decision: str
    actor: str | None
    note: str | None
    policy_version: str | None
    undone: bool
    at: datetime


class ItemState(BaseModel):
    id: str
    type: str
    context: str
    author_id: str
    status: str
    first_decision: str
    human_decision: str | None
    final_decision: str | None
    reasons: list[ReasonOut]
    scores: dict[str, float]
    policy_version: str
    language: str | None
    locale: str | None
    metadata: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    human_decided_at: datetime | None
    history: list[HistoryEntry]
    review: list[dict[str, Any]]


class BankEntryOut(BaseModel):
    entry_id: int
    bank: str
    sha256: str | None
    phash: str | None
    pdq: str | None
    pdq_quality: int | None
    note: str | None
    author_id: str | None
    item_id: str | None


class BankListing(BaseModel):
    bank: str
    total: int
    entries: list[BankEntryOut]


# -- moderators and admins ------------------------------------------------------------


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Identifier = Field(min_length=1, max_length=64)
    password: StorableText = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    username: str
    role: str
    csrf_token: str
    expires_at: Any


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=10, ge=1, le=100)
    queue: Identifier | None = Field(default=None, max_length=64)
    resume: bool = Field(default=False, description="Return the tasks you still hold first.")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    note: StorableText | None = Field(default=None, max_length=2000)
    label: Identifier | None = Field(
        default=None, max_length=64, description="Training label of a text, overriding the one derived from its reasons."
    )
    apply_to_duplicates: bool = False


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_ids: list[RowId] = Field(min_length=1, max_length=200)
    decision: Literal["approve", "reject"]
    note: StorableText | None = Field(default=None, max_length=2000)


class UndoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    why: StorableText | None = Field(default=None, max_length=2000)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Identifier = Field(min_length=2, max_length=64)
    password: StorableText = Field(min_length=8, max_length=1024)
    role: Literal["moderator", "admin"] = "moderator"


# -- URLs: built here, in the API layer, from ids the domain returns --------------------


def status_url(public_url: str, item_id: str) -> str:
    return f"{public_url}/v1/items/{quote(item_id, safe='')}"


def image_url(item_id: str) -> str:
    return f"/v1/review/items/{quote(item_id, safe='')}/image"


def task_out(task: dict[str, Any]) -> dict[str, Any]:
    """A review task as the UI gets it: photo and near-duplicate image links added."""
    item = task["item"]
    item["image_url"] = image_url(item["id"]) if item["type"] == "photo" else None
    for d in task["duplicates"]:
        d["image_url"] = image_url(d["item_id"])
    return task


def result_out(r: ItemResult, public_url: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.id,
        "decision": r.decision,
        "reasons": r.reasons,
        "scores": r.scores,
        "policy_version": r.policy_version,
        "status_url": status_url(public_url, r.id),
    }
    if r.error is not None:
        out["error"] = r.error
    return out
