"""Wire schemas (pydantic). The pipeline's own types never go on the wire directly."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema


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
