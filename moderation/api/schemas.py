"""Wire schemas (pydantic), request and response families, and the URLs answers carry.
The pipeline's own types never go on the wire directly."""

from __future__ import annotations

import json
import math
import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
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

# -- who may call a route, and every problem it can answer (OpenAPI) ----------------------

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "ApiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key of the upload pipeline (`moderation keys create NAME [--scope S]...`); "
        "scopes: moderate, items:read (the key's own items), banks:read, banks:write.",
    },
    "Session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "moderation_session",
        "description": "A moderator's or admin's session, set by POST /v1/auth/login.",
    },
    "CsrfToken": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": "The session's CSRF token (from the login or GET /v1/auth/session); every "
        "state-changing call with a session sends it.",
    },
}
KEY = [{"ApiKey": []}]
SESSION = [{"Session": []}]
SESSION_CSRF = [{"Session": [], "CsrfToken": []}]
KEY_OR_ADMIN = [{"ApiKey": []}, {"Session": []}]
KEY_OR_ADMIN_CSRF = [{"ApiKey": []}, {"Session": [], "CsrfToken": []}]

_PROBLEMS = {
    400: "Body that cannot be parsed (bytes that are not UTF-8 JSON, malformed multipart)",
    401: "Missing, unknown, revoked or expired credentials",
    403: "Authenticated but not allowed: a scope the key lacks, a role, a missing CSRF token",
    404: "Unknown resource",
    409: "Conflict: the same id with other content, a lost lease, an existing name",
    413: "Body, image or batch over its limit",
    422: "Invalid request: the fault is named in `detail`, `errors` and sometimes `fault`",
    429: "Overloaded; retry after Retry-After seconds",
    503: "The database or Ray is not reachable; retry after Retry-After seconds",
}


def documented(security: list[dict[str, list[str]]] | None, *statuses: int) -> dict[str, Any]:
    """A route's decorator arguments: who may call it (None: no credentials) and the
    problem+json answers it can give besides success. Credentials add 401 and 403; every
    route can answer 413 (the body limit runs before routing)."""
    codes = set(statuses) | {413}
    extra: dict[str, Any] = {}
    if security is not None:
        codes |= {401, 403}
        extra["openapi_extra"] = {"security": security}
    responses: dict[int | str, dict[str, Any]] = {
        c: {
            "description": _PROBLEMS[c],
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for c in sorted(codes)
    }
    return {"responses": responses, **extra}


PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """RFC 9457 problem details; some problems carry more members (`fault`, `scope`, `errors`)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


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
    source: Literal["rule", "model", "hash", "account"] = Field(
        description="account: the author's account is restricted (or suspended, banned), so the item goes to review."
    )
    category: str
    detector: str = Field(description="Rule id, model name@version, or bank:<bank>/<hash type>.")
    score: float
    span: list[int] | None = Field(default=None, description="[start, end) character offsets into the text.")
    matched: str | None = None
    distance: int | None = Field(default=None, description="Hamming distance of a hash match.")
    entry_id: int | None = None
    detail: dict[str, Any] | None = None


class AppealOut(BaseModel):
    possible: bool
    until: str = Field(description="The last moment to appeal, ISO 8601 in UTC.")
    how: str


class GroundOut(BaseModel):
    category: str = Field(description="The reason category whose rule was broken (or `other`).")
    rule: str = Field(description="The platform's rule, in the member's language (the policy's `statements.grounds`).")


class StatementOut(BaseModel):
    """What the member is told about a refusal: the decision, its ground, whether it was
    automated, and how to appeal (EU DSA Article 17), in French or English after the
    item's locale."""

    text: str
    locale: Literal["en", "fr"]
    ground: GroundOut
    automated: bool
    appeal: AppealOut


class ThresholdOut(BaseModel):
    strikes: int = Field(description="The live strike total that takes the action.")
    action: Literal["warn", "restrict", "suspend", "ban"]
    days: int | None = Field(description="A suspension's length.")


class AuthorStateOut(BaseModel):
    """The author's account: its state, live (unexpired) strike total and next threshold."""

    author_id: str
    state: Literal["active", "warned", "restricted", "suspended", "banned"] = Field(
        description="restricted (and worse): every new item of the author goes to review, whatever its scores."
    )
    suspended_until: datetime | None
    strikes: int
    next_threshold: ThresholdOut | None


class ItemResultOut(BaseModel):
    id: str
    decision: Literal["approve", "reject", "review"] | None = None
    reasons: list[ReasonOut] = []
    scores: dict[str, float] = {}
    policy_version: str | None = None
    status_url: str | None = None
    statement: StatementOut | None = Field(default=None, description="For a rejection: what the member is told.")
    author: AuthorStateOut | None = Field(default=None, description="The author's account state after this item.")
    error: dict[str, Any] | None = Field(default=None, description="A problem+json body when this item was refused.")


class ModerateResponse(BaseModel):
    results: list[ItemResultOut]


class HistoryEntry(BaseModel):
    decision_id: int
    kind: str
    decision: str
    actor: str | None
    note: str | None
    reason_code: str | None = None
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
    review: list[ReviewTaskRef]
    statement: StatementOut | None = Field(default=None, description="For a rejection: what the member is told.")


class ReviewTaskRef(BaseModel):
    task_id: int
    queue: str
    status: str


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
    created_at: datetime | None = None
    created_by: str | None = Field(default=None, description="Who added it: an admin, a key, a moderator's decision")


class BankListing(BaseModel):
    bank: str
    total: int
    entries: list[BankEntryOut]


class BankCount(BaseModel):
    bank: str
    entries: int


class BankNames(BaseModel):
    banks: list[BankCount]


class BankImported(BaseModel):
    bank: str
    imported: int
    first_entry_id: int
    last_entry_id: int


# -- operations -------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready"]
    database: str
    ray: str
    policy: str = Field(description="The running policy's version.")
    policy_error: str | None = Field(default=None, description="Why the policy file on disk was refused, if it was.")


# -- moderators and admins ------------------------------------------------------------


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Identifier = Field(min_length=1, max_length=64)
    password: StorableText = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    username: str
    role: str
    csrf_token: str
    expires_at: str = Field(description="ISO 8601, UTC.")


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=10, ge=1, le=100)
    queue: Identifier | None = Field(default=None, max_length=64)
    resume: bool = Field(default=False, description="Return the tasks you still hold first.")
    share: bool = Field(
        default=False,
        description="Claim a fair share of a short queue: at most the available tasks over the moderators holding "
        "tasks, you, and one more, so a second moderator on a short queue still gets work.",
    )
    category: Identifier | None = Field(default=None, max_length=64, description="Only items with a reason of this category.")
    context: Identifier | None = Field(default=None, max_length=64)
    language: Identifier | None = Field(default=None, max_length=16)
    min_reports: int = Field(default=0, ge=0, le=1_000_000, description="Only items members reported at least this many times.")
    sort: Literal["priority", "age", "sla"] = Field(
        default="priority", description="priority: past SLA, then priority (the default); age: oldest first; sla: nearest SLA deadline first."
    )


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject", "uphold", "dismiss", "overturn"] = Field(
        description="approve or reject an item's task; uphold or dismiss a members' report case; uphold or "
        "overturn an appeal (these two take no label and no apply_to_duplicates)."
    )
    note: StorableText | None = Field(default=None, max_length=2000)
    reason_code: Identifier | None = Field(
        default=None, max_length=64, description="One of the policy's `review.decision_reasons` for the item's categories."
    )
    label: Identifier | None = Field(
        default=None, max_length=64, description="Training label of a text, overriding the one derived from its reasons."
    )
    apply_to_duplicates: bool = False
    ban: bool | None = Field(
        default=None,
        description="Photos: true = reject and ban the image (every later copy is rejected), false = reject "
        "without banning; unset = the policy's rule for the photo's categories (`review.ban_rejected_photos`).",
    )


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_ids: list[RowId] = Field(min_length=1, max_length=200)
    decision: Literal["approve", "reject"]
    note: StorableText | None = Field(default=None, max_length=2000)
    reason_code: Identifier | None = Field(default=None, max_length=64, description="As in a single decision.")
    ban: bool | None = Field(default=None, description="As in a single decision.")


class UndoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    why: StorableText | None = Field(default=None, max_length=2000)


class TaskItem(BaseModel):
    id: str
    type: str
    context: str
    author_id: str
    text: str | None
    language: str | None
    locale: str | None
    metadata: dict[str, Any] | None
    created_at: datetime | None
    first_decision: str | None = Field(description="Hidden (null) in blind queues.")
    size: Any = None
    image_url: str | None = None


class AuthorRecent(BaseModel):
    id: str
    type: str
    context: str
    decision: str | None
    status: str
    created_at: datetime | None
    excerpt: str | None


class NearDuplicate(BaseModel):
    task_id: int
    item_id: str
    author_id: str
    distance: int
    image_url: str | None = None


class OriginalOut(BaseModel):
    """A stored photo a task's hash reason names (the original of a near-copy)."""

    author_id: str
    created_at: datetime | None
    sensitive: bool
    image_url: str | None = None


class DecisionReasonOut(BaseModel):
    code: str
    labels: dict[str, str] = Field(description="The label in each language (en, fr).")


class AppealTaskOut(BaseModel):
    """The appeal an appeal task decides: the member's own words and the decision they contest."""

    id: str
    target_kind: str = Field(description="item | enforcement")
    statement: str
    category: str = Field(description="The contested decision's ground.")
    decision_by: str = Field(description="Who made it: a moderator, or `policy` for the automation.")
    created_at: datetime | None


class TaskOut(BaseModel):
    """A leased review task as the UI shows it."""

    task_id: int
    queue: str
    kind: Literal["review", "qa", "second"]
    priority: int
    created_at: datetime | None
    age_seconds: float | None
    sla_minutes: int | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    item: TaskItem
    reasons: list[dict[str, Any]] | None
    scores: dict[str, float] | None
    sensitive: bool
    author_recent: list[AuthorRecent]
    duplicates: list[NearDuplicate]
    reports: int = Field(default=0, description="Members' reports on the item.")
    report_case: bool = Field(default=False, description="The task is a members' report case: uphold or dismiss it.")
    appeal: AppealTaskOut | None = Field(default=None, description="The task is a member's appeal: uphold or overturn the decision.")
    originals: dict[str, OriginalOut] = Field(default={}, description="The stored photos the hash reasons name, by item id.")
    decision_reasons: list[DecisionReasonOut] = Field(default=[], description="The reasons a decision on this item may give.")


class ClaimOut(BaseModel):
    tasks: list[TaskOut]
    lease_seconds: float
    undo_seconds: float


class DecidedOut(BaseModel):
    decision_id: int
    task_id: int
    item_id: str
    decision: str
    undo_until: datetime
    banned: bool = Field(default=False, description="The photo joins the banned bank once the undo window has passed.")


class ItemBanOut(BaseModel):
    bank: str
    entry_id: int
    decision_id: int | None
    actor: str | None
    applied_at: datetime | None


class ItemBansOut(BaseModel):
    item_id: str
    entries: list[ItemBanOut]


class DecisionOut(DecidedOut):
    also: list[DecidedOut] = Field(description="Near-duplicates decided the same way (apply_to_duplicates).")


class ReportTargetOut(BaseModel):
    item_id: str | None
    author_id: str | None


class ReportDecisionOut(BaseModel):
    """A members' report case decided: its reports' outcome goes to each reporting key's webhook."""

    case_id: int
    task_id: int
    decision: Literal["uphold", "dismiss"]
    target: ReportTargetOut
    reports: int = Field(description="Open reports the decision closed.")
    item_decision_id: int | None = Field(
        description="The reported item's human rejection an uphold made (undoable like any decision); null otherwise."
    )
    undo_until: datetime


class UndoneCaseOut(BaseModel):
    case_id: int
    item_decision_id: int | None = Field(description="The item's rejection the uphold made, undone with it.")
    task: TaskOut | None = Field(description="The case's task, open again and leased to you.")


class RefusedTask(BaseModel):
    task_id: int
    status: int
    detail: str


class BulkOut(BaseModel):
    decided: list[DecidedOut]
    refused: list[RefusedTask]


class ExposureOut(BaseModel):
    item_id: str
    counted: bool = Field(description="False when the item was already counted for you today.")


class UndoOut(BaseModel):
    decision_id: int
    item_id: str
    task: TaskOut | None


class QueueStats(BaseModel):
    queue: str
    depth: int
    leased: int
    oldest_age_seconds: float | None
    sla_minutes: int | None
    past_sla: int


class Share(BaseModel):
    value: float | None
    agree: int
    of: int


class RuleRate(BaseModel):
    """A rule's share of the text items it fired on: the last 24 h against the 7 days before."""

    rule: str
    hits_24h: int
    items_24h: int
    rate_24h: float
    hits_7d: int
    items_7d: int
    rate_7d: float
    ratio: float | None = Field(description="rate_24h / rate_7d; null when the rule did not fire in the 7 days before")
    alert: bool


class AppealRate(BaseModel):
    key: str = Field(description="A ground category, a rule id, a moderator (`policy` for the automation), or an "
                                 "account action and who took it (`ban:moderator`, `restrict:automatic`).")
    rejections: int = Field(description="Rejections made in the window; account actions taken, in `by_account_action`.")
    appeals: int
    decided: int = Field(description="Appeals upheld or overturned.")
    overturned: int
    appeal_rate: float | None = Field(description="appeals / rejections")
    overturn_rate: float | None = Field(description="overturned / decided")


class AppealRates(BaseModel):
    """Of the window's rejections, the share appealed and, of the appeals decided, the share overturned."""

    by_category: list[AppealRate]
    by_rule: list[AppealRate]
    by_moderator: list[AppealRate]
    by_account_action: list[AppealRate] = Field(default_factory=list, description="Warnings, restrictions, suspensions and bans.")


class Rate(BaseModel):
    value: float | None = Field(description="count / of; null when `of` is 0")
    count: int
    of: int


class DecisionQuality(BaseModel):
    """Automation and its precision for one category ("all": every item) over the window;
    the truth is the item's human decision, else its QA decision."""

    category: str
    items: int
    automated: int
    automation_rate: float | None
    approve_precision: Rate
    reject_precision: Rate
    harm_approved: Rate


class StatsOut(BaseModel):
    generated_at: datetime
    window_hours: int
    queues: list[QueueStats]
    decisions_per_moderator_hour: dict[str, dict[str, int]]
    decisions: int
    undone: int
    items: int
    automation_rate: float | None
    automated_precision: Share
    reviewer_agreement: Share
    webhooks_pending: int
    rule_alerts: list[RuleRate] = Field(description="Rules whose firing rate jumped (policy `review.rule_alert_ratio`)")
    appeals: AppealRates
    exposure_today: dict[str, int] = Field(default={}, description="Sensitive items each moderator was shown since UTC midnight.")
    decision_quality: list[DecisionQuality] = Field(default_factory=list, description="Automation rate, precision of automatic approvals and rejections and harm approved, over all items and per category")


class SeriesPoint(BaseModel):
    hour: datetime = Field(description="The hour's start (UTC); the last point is the current, partial hour.")
    items: int = Field(description="Items received in the hour")
    automated: int = Field(description="Of them, decided without a human")
    automation_rate: float | None
    human_decisions: int = Field(description="Moderators' decisions (QA included) not undone")
    open_tasks: int = Field(description="Review tasks waiting at the hour's end (now for the current hour)")
    oldest_open_seconds: float | None = Field(description="Age of the oldest of them then")


class StatsSeriesOut(BaseModel):
    """The queue hour by hour, from the stored items, decisions and tasks."""

    generated_at: datetime
    hours: int
    points: list[SeriesPoint]


class BacktestOut(BaseModel):
    """One `moderation backtest`: a candidate policy replayed over stored items or a labeled
    file; `summary` holds decisions by category, transitions, shadow rules and examples."""

    id: int
    created_at: datetime
    actor: str
    policy_version: str
    source: str
    workers: str
    items: int
    changed: int
    automation_before: float | None
    automation_after: float | None
    precision_before: float | None
    precision_after: float | None
    summary: dict[str, Any]


class BacktestListing(BaseModel):
    backtests: list[BacktestOut]


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any] | None


class ReviewItemOut(ItemState):
    """An item as a moderator's item page shows it: its content and its audit trail too."""

    text: str | None
    image_url: str | None = Field(description="The photo, through the authenticated image route.")
    author_url: str = Field(description="The author's page in the review UI.")
    audit: list[AuditEntry] = Field(description="Audit entries naming the item or one of its review tasks, oldest first.")
    reports: list[AuthorReport] = Field(default=[], description="Members' reports on the item, newest first.")
    appeals: list[AppealState] = Field(default=[], description="Appeals of the item's decisions, newest first.")


class TaskRef(BaseModel):
    queue: str
    status: str


class SearchHit(BaseModel):
    id: str
    type: str
    context: str
    author_id: str
    status: str
    first_decision: str
    human_decision: str | None
    final_decision: str | None
    categories: list[str] = Field(description="The categories of the item's reasons.")
    review: list[TaskRef] = Field(description="The item's review tasks (queue and status), oldest first.")
    created_at: datetime
    excerpt: str | None = Field(description="Up to 200 characters of the text around its first match; null for a photo.")
    highlights: list[Annotated[list[int], Field(min_length=2, max_length=2)]] = Field(
        description="[start, end) character offsets of the matched words in `excerpt`."
    )
    url: str = Field(description="The item's page in the review UI.")


class SearchOut(BaseModel):
    hits: list[SearchHit]
    more: bool = Field(description="Another page follows (offset + limit).")
    limit: int
    offset: int


class AuditListing(BaseModel):
    total: int
    entries: list[AuditEntry]


class UserOut(BaseModel):
    username: str
    role: str
    created_at: datetime
    disabled: bool


class UserListing(BaseModel):
    users: list[UserOut]


class UserCreated(BaseModel):
    username: str
    role: str


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["moderator", "admin"]


ApiKeyScope = Literal["moderate", "items:read", "banks:read", "banks:write"]


class ApiKeyOut(BaseModel):
    """A key as admins see it: never the key itself nor its signing secret."""

    id: int
    name: str
    prefix: str = Field(description="The key's first characters, to tell keys apart")
    scopes: list[str]
    webhook_url: str | None
    created_at: datetime
    last_used_at: datetime | None = Field(description="When a service process last checked it (to the minute); null: never")
    revoked_at: datetime | None


class ApiKeyListing(BaseModel):
    keys: list[ApiKeyOut]


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Identifier = Field(min_length=1, max_length=128)
    scopes: list[ApiKeyScope] = Field(default=["moderate", "items:read"], min_length=1, max_length=4)
    webhook_url: StorableText | None = Field(default=None, max_length=2000)


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="Send as 'Authorization: Bearer <key>'. Shown once, never again.")
    webhook_secret: str = Field(description="Signs webhooks (X-Moderation-Signature). Shown once.")


class PolicyReloaded(BaseModel):
    version: str


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Identifier = Field(min_length=2, max_length=64)
    password: StorableText = Field(min_length=8, max_length=1024)
    role: Literal["moderator", "admin"] = "moderator"


# -- members' reports ----------------------------------------------------------------

REPORT_TEXT_MAX_CHARS = 4000
MAX_CONTEXT_ITEM_IDS = 50
MAX_CONTEXT_ITEMS = 20
ItemId = Annotated[Identifier, Field(min_length=1, max_length=128)]
ReportStatus = Literal["open", "upheld", "dismissed", "closed"]

_CONTEXT_ITEMS_SCHEMA = {
    "type": "array",
    "maxItems": MAX_CONTEXT_ITEMS,
    "items": {"$ref": "#/components/schemas/ItemIn"},
    "description": "Messages of the conversation not sent to /v1/moderate yet: moderated as they would be "
    "there, then part of the report's context. One refused item refuses the report.",
}


class ReportTargetIn(BaseModel):
    """Exactly one of an item this key sent to /v1/moderate, or the author of such items."""

    model_config = ConfigDict(extra="forbid")
    item_id: ItemId | None = None
    author_id: ItemId | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ReportTargetIn:
        if (self.item_id is None) == (self.author_id is None):
            raise ValueError("target names exactly one of item_id and author_id")
        return self


class ReportIn(BaseModel):
    """A member's report. Resubmitting the same id with the same content is idempotent."""

    model_config = ConfigDict(extra="forbid")
    id: ItemId = Field(description="The client's id of the report.")
    reporter_id: ItemId = Field(description="The reporting member; never the target's author.")
    target: ReportTargetIn
    category: Identifier = Field(
        min_length=1, max_length=32,
        description="One of the policy's `reports.categories`; shipped: contact_info, profanity, sexual, "
        "spam_link, spam, nudity, suggestive, other.",
    )
    text: StorableText | None = Field(default=None, max_length=REPORT_TEXT_MAX_CHARS, description="The reporter's words.")
    context_item_ids: list[ItemId] = Field(
        default_factory=list, max_length=MAX_CONTEXT_ITEM_IDS,
        description="The surrounding messages, already sent to /v1/moderate with this key.",
    )
    context_items: Annotated[list[Any], WithJsonSchema(_CONTEXT_ITEMS_SCHEMA)] = Field(default_factory=list, max_length=MAX_CONTEXT_ITEMS)


class ReportCaseOut(BaseModel):
    id: int
    status: ReportStatus
    weight: float = Field(description="The sum of its open reports' weights, each reporter counted once.")
    reports: int
    reporters: int
    in_review: bool = Field(description="Waiting for a moderator.")
    decided_at: datetime | None


class ReportOut(BaseModel):
    id: str
    reporter_id: str
    target: ReportTargetOut
    category: str
    text: str | None
    context_item_ids: list[str]
    status: ReportStatus = Field(description="upheld or dismissed once a moderator decided; closed: its reporter was found in bad faith.")
    weight: float = Field(description="The reporter's weight when the report arrived.")
    created_at: datetime
    decided_at: datetime | None
    case: ReportCaseOut


class ReporterRecord(BaseModel):
    upheld: int
    dismissed: int
    bad_faith: bool
    weight: float


class CaseReport(BaseModel):
    id: str
    reporter_id: str
    category: str
    text: str | None
    weight: float
    status: ReportStatus
    created_at: datetime
    reporter: ReporterRecord


class CaseContextItem(BaseModel):
    id: str
    type: str
    context: str
    author_id: str
    text: str | None
    final_decision: str | None
    created_at: datetime | None


class ReportCaseView(BaseModel):
    """A report task's case, as a moderator reads it to decide."""

    case_id: int
    task_id: int
    status: ReportStatus
    weight: float
    target: ReportTargetOut
    item_id: str = Field(description="The item the task shows: the reported item, or the reported author's latest.")
    created_at: datetime
    reports: list[CaseReport]
    context: list[CaseContextItem]


class ReporterOut(BaseModel):
    reporter_id: str
    upheld: int
    dismissed: int
    weight: float = Field(description="What their next report weighs.")
    bad_faith: bool
    bad_faith_at: datetime | None
    bad_faith_by: str | None
    open_reports: int


class BadFaithIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: StorableText | None = Field(default=None, max_length=2000)


class BadFaithOut(ReporterOut):
    closed_reports: int = Field(description="Open reports this mark closed.")


# -- account enforcement and appeals -----------------------------------------------------

APPEAL_TEXT_MAX_CHARS = 4000


class AuthorActionIn(BaseModel):
    """A moderator's action on an account; `note` (why) is mandatory, `days` goes with suspend."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["warn", "restrict", "suspend", "ban", "lift"]
    note: StorableText = Field(min_length=1, max_length=2000)
    days: int | None = Field(default=None, ge=1, le=3650, description="How long a suspension lasts.")
    category: Identifier = Field(default="other", max_length=32, description="The ground of its statement of reasons: a category, or other.")


class AuthorActionOut(BaseModel):
    enforcement_id: int
    author: AuthorStateOut
    undo_until: datetime = Field(description="Its webhook event waits until then; you can undo it until then.")


class EnforcementUndoOut(BaseModel):
    enforcement_id: int
    author: AuthorStateOut


class EnforcementOut(BaseModel):
    id: int
    action: Literal["warn", "restrict", "suspend", "ban", "lift"]
    source: Literal["threshold", "moderator"]
    actor: str
    note: str | None
    category: str
    threshold: int | None
    strikes: int = Field(description="The live strike total when it was taken.")
    until: datetime | None
    statement: StatementOut | None
    created_at: datetime
    undone_at: datetime | None
    undone_by: str | None
    undone_why: str | None


class StrikeOut(BaseModel):
    id: int
    item_id: str | None
    decision_id: int | None
    category: str
    weight: int
    created_at: datetime
    expires_at: datetime
    live: bool = Field(description="Counted now: neither expired nor removed.")
    removed_at: datetime | None
    removed_why: str | None


class AuthorDecision(BaseModel):
    decision_id: int
    kind: str
    decision: str
    actor: str | None
    undone: bool
    at: datetime | None


class AuthorItem(BaseModel):
    id: str
    type: str
    context: str
    status: str
    first_decision: str
    human_decision: str | None
    final_decision: str | None
    created_at: datetime | None
    decisions: list[AuthorDecision]


class AuthorReport(BaseModel):
    id: str
    reporter_id: str
    category: str
    status: str
    case_id: int
    created_at: datetime | None
    decided_at: datetime | None


class AppealIn(BaseModel):
    """A member's appeal of the refusal of their item or of an action on their account.
    Resubmitting the same id with the same content is idempotent."""

    model_config = ConfigDict(extra="forbid")
    id: ItemId = Field(description="The client's id of the appeal.")
    item_id: ItemId | None = Field(default=None, description="The refused item (its decision in force is appealed).")
    enforcement_id: RowId | None = Field(default=None, description="The account action appealed.")
    author_id: ItemId = Field(description="The member appealing: the item's author, or the account's.")
    statement: StorableText = Field(min_length=1, max_length=APPEAL_TEXT_MAX_CHARS, description="The member's words.")

    @model_validator(mode="after")
    def _exactly_one(self) -> AppealIn:
        if (self.item_id is None) == (self.enforcement_id is None):
            raise ValueError("an appeal names exactly one of item_id and enforcement_id")
        return self


class AppealState(BaseModel):
    id: str
    author_id: str
    target_kind: Literal["item", "enforcement"]
    item_id: str | None
    enforcement_id: int | None
    decision_id: int | None = Field(description="The item's decision under appeal.")
    decision_by: str = Field(description="Who made the decision under appeal: a moderator, or policy (the automation).")
    category: str = Field(description="The ground of the decision under appeal.")
    statement: str
    status: Literal["open", "upheld", "overturned"]
    in_review: bool
    task_id: int | None
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    note: str | None


class AppealTaskView(AppealState):
    enforcement: dict[str, Any] | None = None


class AppealDecisionOut(BaseModel):
    """An appeal decided: its outcome goes to the filing key's webhook (`appeal.decided`)."""

    appeal_id: str
    task_id: int
    decision: Literal["uphold", "overturn"]
    item_id: str
    enforcement_id: int | None
    final_decision: str | None = Field(description="The item's decision in force now.")
    strikes_removed: list[int]
    enforcements_undone: list[int]
    bank_entries_removed: list[list[Any]] = Field(description="[bank, entry id] of each entry the overturned ban had created.")


class AuthorOut(BaseModel):
    """An author's account and history. For an API key: the items it sent and the reports
    and appeals it filed; strikes on those items; the account's state and actions, whole."""

    author_id: str
    author: AuthorStateOut
    items: list[AuthorItem]
    strikes: list[StrikeOut]
    enforcements: list[EnforcementOut]
    reports_made: list[AuthorReport]
    reports_received: list[AuthorReport]
    appeals: list[AppealState]


# -- URLs: built here, in the API layer, from ids the domain returns --------------------


def status_url(public_url: str, item_id: str) -> str:
    return f"{public_url}/v1/items/{quote(item_id, safe='')}"


def image_url(item_id: str) -> str:
    return f"/v1/review/items/{quote(item_id, safe='')}/image"


def item_page_url(item_id: str) -> str:
    return f"/review/items/{quote(item_id, safe='')}"


def author_page_url(author_id: str) -> str:
    return f"/review/authors/{quote(author_id, safe='')}"


def task_out(task: dict[str, Any]) -> dict[str, Any]:
    """A review task as the UI gets it: photo and near-duplicate image links added."""
    item = task["item"]
    item["image_url"] = image_url(item["id"]) if item["type"] == "photo" else None
    for d in task["duplicates"]:
        d["image_url"] = image_url(d["item_id"])
    for item_id, o in task.get("originals", {}).items():
        o["image_url"] = image_url(item_id) if o.pop("has_photo", False) else None
    return task


def result_out(r: ItemResult, public_url: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": r.id,
        "decision": r.decision,
        "reasons": r.reasons,
        "scores": r.scores,
        "policy_version": r.policy_version,
        "status_url": status_url(public_url, r.id),
        "statement": r.statement,
        "author": r.author,
    }
    if r.error is not None:
        out["error"] = r.error
    return out
