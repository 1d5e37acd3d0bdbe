"""Plain values shared by every layer: what an item is, what a signal found, what was decided.

They are frozen dataclasses, not pydantic models, so that Ray can pickle them cheaply
and the pipeline functions stay free of the web layer. The API converts them to and
from its wire schemas in one place (`moderation.api.schemas`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from moderation.errors import InvalidImage
    from moderation.photos.hashing import PhotoHashes


class ItemType(str, enum.Enum):
    TEXT = "text"
    PHOTO = "photo"


class Decision(str, enum.Enum):
    APPROVE = "approve"
    REVIEW = "review"
    REJECT = "reject"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Decision.APPROVE: 0, Decision.REVIEW: 1, Decision.REJECT: 2}


class Source(str, enum.Enum):
    RULE = "rule"
    MODEL = "model"
    HASH = "hash"


# The one documented list of categories (docs/POLICY.md). A reason outside it is a bug.
CATEGORIES: tuple[str, ...] = (
    "contact_info",
    "profanity",
    "sexual",
    "spam_link",
    "spam",
    "banned_match",
    "allowed_match",
    "duplicate",
    "nudity",
    "suggestive",
    "no_face",
    "low_quality",
    "invalid",
)


@dataclass(frozen=True, slots=True)
class Item:
    """One thing to moderate, as the pipeline sees it (already validated by the API)."""

    id: str
    type: ItemType
    context: str
    author_id: str
    text: str | None = None
    image: bytes | None = None
    locale: str | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Items cross to the Ray workers by the hundred: a plain tuple (the type by its
        # value) pickles about ten times faster than a slotted dataclass with an enum.
        return (_item, (self.id, ItemType(self.type).value, self.context, self.author_id, self.text, self.image, self.locale))


def _item(id: str, type: str, context: str, author_id: str, text: str | None, image: bytes | None, locale: str | None) -> Item:
    return Item(id, ItemType(type), context, author_id, text, image, locale)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a signal fired: enough for a moderator to see it and for an engineer to trace it.

    `detector` names what fired: a rule id, a model name with its version, or a bank
    name with the matched entry. `span` is [start, end) in characters of the original
    text; `distance` is a Hamming distance for hash matches.
    """

    source: Source
    category: str
    detector: str
    score: float = 1.0
    span: tuple[int, int] | None = None
    matched: str | None = None
    distance: int | None = None
    entry_id: int | None = None
    detail: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown reason category {self.category!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        # Reasons come back from the workers with every item: see `Item.__reduce__`.
        return (_reason, (self.source.value, self.category, self.detector, self.score, self.span, self.matched,
                          self.distance, self.entry_id, self.detail))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source": self.source.value,
            "category": self.category,
            "detector": self.detector,
            "score": round(float(self.score), 4),
        }
        if self.span is not None:
            out["span"] = [int(self.span[0]), int(self.span[1])]
        if self.matched is not None:
            out["matched"] = self.matched
        if self.distance is not None:
            out["distance"] = int(self.distance)
        if self.entry_id is not None:
            out["entry_id"] = int(self.entry_id)
        if self.detail:
            out["detail"] = self.detail
        return out


def _reason(source: str, *rest: Any) -> Reason:
    return Reason(Source(source), *rest)


@dataclass(slots=True)
class Signals:
    """What the analyzers found on one item, before the policy turns it into a decision.

    `scores` maps a category (or model output) to a value in [0, 1]. The other fields are
    what later stages read: the detected language (rules, storage), a photo's hashes (bank
    lookups, the seen bank) and size, the nudity detector's detections and the faces
    found (the profile check), the decode fault that made a photo unusable, and the
    seconds each stage took per item (metrics).
    """

    reasons: list[Reason] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    language: str | None = None
    language_confidence: float | None = None
    hashes: PhotoHashes | None = None
    size: tuple[int, int] | None = None
    detections: tuple[Any, ...] | None = None
    faces: list[dict[str, Any]] | None = None
    pixel_spread: tuple[float, float] | None = None
    fault: InvalidImage | None = None
    timings: dict[str, float] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (Signals, tuple(getattr(self, f) for f in _SIGNAL_FIELDS))

    def merge(self, other: Signals) -> None:
        """Add another analyzer's findings: reasons appended, the higher score kept per
        category, every field the other one set taken."""
        self.reasons.extend(other.reasons)
        for k, v in other.scores.items():
            self.scores[k] = max(v, self.scores.get(k, 0.0))
        for f in _SIGNAL_FIELDS[2:]:
            value = getattr(other, f)
            if value is not None:
                setattr(self, f, value)


_SIGNAL_FIELDS = tuple(Signals.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The policy's answer for one item."""

    decision: Decision
    reasons: tuple[Reason, ...]
    scores: dict[str, float]
    policy_version: str
    queue: str | None = None
