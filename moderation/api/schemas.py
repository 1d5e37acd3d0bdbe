"""Wire schemas (pydantic), request and response families, and the URLs answers carry.
The pipeline's own types never go on the wire directly."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from moderation.moderate import ItemResult

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or bad API key (problem+json)"},
    413: {"description": "Body over the limit (problem+json)"},
    422: {"description": "Invalid request (problem+json)"},
    429: {"description": "Overloaded; retry after Retry-After seconds (problem+json)"},
}


class ItemIn(BaseModel):
    """One item to moderate. `text` for texts, `image_b64` (standard base64) for photos."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128, description="The client's id; resubmitting it is idempotent.")
    type: Literal["text", "photo"]
    context: str = Field(min_length=1, max_length=64, description="A context the policy defines, e.g. message.")
    author_id: str = Field(min_length=1, max_length=128)
    text: str | None = None
    image_b64: str | None = None
    locale: str | None = Field(default=None, max_length=16)
    metadata: dict[str, Any] | None = Field(default=None, description="Stored and returned as is.")
    callback_url: str | None = Field(default=None, max_length=2048, description="Webhook for the final decision.")


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
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    username: str
    role: str
    csrf_token: str
    expires_at: Any


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=10, ge=1, le=100)
    queue: str | None = Field(default=None, max_length=64)
    resume: bool = Field(default=False, description="Return the tasks you still hold first.")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    note: str | None = Field(default=None, max_length=2000)
    label: str | None = Field(default=None, description="Training label of a text, overriding the one derived from its reasons.")
    apply_to_duplicates: bool = False


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_ids: list[int] = Field(min_length=1, max_length=200)
    decision: Literal["approve", "reject"]
    note: str | None = Field(default=None, max_length=2000)


class UndoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    why: str | None = Field(default=None, max_length=2000)


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=8, max_length=1024)
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
