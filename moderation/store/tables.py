"""The database tables (SQLAlchemy 2 Core). Migrations in `migrations/` are the truth for
existing databases; these definitions must match them (a test compares the two).

Content lives in the database too (`blobs`), so a service on PostgreSQL needs no
shared disk: every node can show a photo to a moderator.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

PK = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("webhook_url", Text),
    Column("webhook_secret", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    # comma-separated (repository.API_KEY_SCOPES); keys made before scopes existed keep what they could do
    Column("scopes", String(256), nullable=False, server_default="moderate,items:read"),
    # written when a process checks the key (at most once a minute; processes cache keys 30 s)
    Column("last_used_at", DateTime(timezone=True)),
)

blobs = Table(
    "blobs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("media_type", String(64), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

items = Table(
    "items",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("id", String(128), nullable=False, unique=True),
    Column("type", String(8), nullable=False),
    Column("context", String(64), nullable=False),
    Column("author_id", String(128), nullable=False, index=True),
    Column("content_sha256", String(64), nullable=False),
    Column("text", Text),
    Column("blob_sha256", String(64), ForeignKey("blobs.sha256")),
    Column("locale", String(16)),
    Column("language", String(8)),
    Column("metadata", JSON),
    Column("api_key_id", BigInteger),
    Column("callback_url", Text),
    Column("status", String(16), nullable=False),  # decided | pending_review
    Column("first_decision", String(8), nullable=False),
    Column("human_decision", String(8)),
    Column("final_decision", String(8)),
    Column("reasons", JSON, nullable=False),
    Column("scores", JSON, nullable=False),
    Column("features", JSON),
    Column("policy_version", String(64), nullable=False),
    # indexed: the campaign window is rebuilt from the last hour's texts, stats read a day
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The reason categories of each item, one row each: the search's category filter. The
# full-text index of the texts (`item_search`) is not declared here: its shape differs per
# database (an FTS5 table on SQLite, a tsvector table on PostgreSQL), see `search.py`.
item_categories = Table(
    "item_categories",
    metadata,
    Column("category", String(64), primary_key=True),
    Column("item_pk", BigInteger, primary_key=True, autoincrement=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("item_pk", BigInteger, ForeignKey("items.pk"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # auto | human | undo | qa
    Column("decision", String(8), nullable=False),
    Column("reasons", JSON),
    Column("policy_version", String(64)),
    Column("actor", String(128)),
    Column("note", Text),
    Column("task_id", BigInteger),
    Column("undone", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

review_tasks = Table(
    "review_tasks",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("item_pk", BigInteger, ForeignKey("items.pk"), nullable=False, index=True),
    Column("queue", String(64), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # open | done
    Column("lease_owner", String(128)),
    Column("lease_expires_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    # a report case's weight (`moderation.members.reports`): heavier cases first within a
    # priority; null for the other tasks
    Column("weight", Float),
    Index("ix_review_tasks_claim", "status", "queue", "priority", "created_at"),
)

bank_entries = Table(
    "bank_entries",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("bank", String(64), nullable=False, index=True),
    Column("sha256", String(64)),
    Column("phash", String(16)),
    Column("pdq", String(64)),
    Column("pdq_quality", Integer),
    Column("variants", JSON),
    Column("note", Text),
    Column("author_id", String(128)),
    Column("item_id", String(128)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(128)),
    # an entry id is never reused (SQLite would reuse the largest deleted one): the bank log
    # and the index shards name entries by id
    sqlite_autoincrement=True,
)

# Every bank change in commit order of its writer: what the index shards replay to catch up
# (a shard that restarts reloads its entries, then follows this log).
bank_log = Table(
    "bank_log",
    metadata,
    Column("seq", PK, primary_key=True, autoincrement=True),
    Column("entry_id", BigInteger, nullable=False),
    Column("op", String(8), nullable=False),  # add | remove
    Column("at", DateTime(timezone=True), nullable=False, index=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(256), index=True),  # an item's page lists the entries naming it
    Column("detail", JSON),
)


# -- moderators, their sessions, the webhook outbox, bank changes waiting for the undo
# window, and the QA sampler's cursor

users = Table(
    "users",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("role", String(16), nullable=False),  # moderator | admin
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("disabled_at", DateTime(timezone=True)),
)

# The cookie carries a random token; only its SHA-256 is stored, so a database dump
# cannot be replayed as a session.
sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", BigInteger, ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Failed logins of the last minutes (and logins being checked: counted until they succeed),
# shared by every API process: the throttle counts them by account and by client address.
login_failures = Table(
    "login_failures",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, index=True),
    Column("client", String(64), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
)

# At-least-once delivery: an event is written in the same transaction as the decision
# and sent later, so a crash between the two never loses it.
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("item_pk", BigInteger, nullable=False, index=True),
    Column("decision_id", BigInteger, index=True),
    Column("url", Text, nullable=False),
    Column("api_key_id", BigInteger),
    Column("body", Text, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("locked_until", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_webhook_outbox_due", "delivered_at", "cancelled_at", "next_attempt_at"),
)

# A moderator's bank change waits out the undo window before it reaches the index.
bank_changes = Table(
    "bank_changes",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("decision_id", BigInteger, nullable=False, index=True),
    Column("item_pk", BigInteger, nullable=False),
    Column("bank", String(64), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("entry_id", BigInteger),
    Column("applied_at", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Index("ix_bank_changes_due", "applied_at", "cancelled_at", "due_at"),
)

# One row per `moderation backtest`: what a candidate policy would have changed, kept so
# the stats page can show the last ones. The figures an admin compares are columns; the
# rest (decisions by category, shadow rules, examples) is the summary.
backtests = Table(
    "backtests",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("actor", String(128), nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("source", String(256), nullable=False),  # store | file:NAME
    Column("workers", String(16), nullable=False),  # local | ray
    Column("items", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
    Column("automation_before", Float),
    Column("automation_after", Float),
    Column("precision_before", Float),
    Column("precision_after", Float),
    Column("summary", JSON, nullable=False),
)


# -- members' reports (`moderation.members.reports`)

# Reports on one target (an item, or an author) merge into one open case; a decided case
# stays as it was decided, and a later report opens a new one.
_OPEN = text("status = 'open'")
report_cases = Table(
    "report_cases",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("target_kind", String(8), nullable=False),  # item | author
    Column("target_id", String(128), nullable=False),
    # what the moderator's task shows: the reported item, or the reported author's latest item
    Column("item_pk", BigInteger, ForeignKey("items.pk"), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # open | upheld | dismissed | closed
    Column("weight", Float, nullable=False),
    Column("task_id", BigInteger, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", String(128)),
    Column("note", Text),
    Index("uq_report_cases_open_target", "target_kind", "target_id", unique=True, sqlite_where=_OPEN, postgresql_where=_OPEN),
)

member_reports = Table(
    "member_reports",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("id", String(128), nullable=False, unique=True),
    Column("api_key_id", BigInteger, nullable=False, index=True),
    Column("reporter_id", String(128), nullable=False, index=True),
    Column("case_id", BigInteger, ForeignKey("report_cases.id"), nullable=False, index=True),
    Column("category", String(32), nullable=False),
    Column("text", Text),
    Column("context_item_ids", JSON, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("weight", Float, nullable=False),  # the reporter's weight when the report arrived
    Column("status", String(16), nullable=False),  # open | upheld | dismissed | closed
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
)

# Each reporter's record: what their weight is computed from, and the bad-faith mark.
reporters = Table(
    "reporters",
    metadata,
    Column("reporter_id", String(128), primary_key=True),
    Column("upheld", Integer, nullable=False),
    Column("dismissed", Integer, nullable=False),
    Column("bad_faith_at", DateTime(timezone=True)),
    Column("bad_faith_by", String(128)),
    Column("bad_faith_note", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


# -- account enforcement and appeals (`moderation.members.enforcement`, `.appeals`)

# One row per rejection counted against its author (an item has one live strike at most).
# Live: not removed and not expired; removed when the rejection is overturned or undone.
strikes = Table(
    "strikes",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("author_id", String(128), nullable=False),
    Column("item_pk", BigInteger, ForeignKey("items.pk"), nullable=False, index=True),
    Column("decision_id", BigInteger, index=True),  # the rejection that counted it
    Column("category", String(32), nullable=False),
    Column("weight", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("removed_at", DateTime(timezone=True)),
    Column("removed_by", String(128)),
    Column("removed_why", String(256)),
    Index("ix_strikes_author_live", "author_id", "expires_at"),
)

# Every action on an account: a threshold's (source `threshold`, naming the strike that
# crossed it) or a moderator's (`moderator`, with their note); `lift` ends what came before.
# An undone action (an appeal, an undo, its strike removed) stays, marked.
enforcements = Table(
    "enforcements",
    metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("author_id", String(128), nullable=False, index=True),
    Column("action", String(16), nullable=False),  # warn | restrict | suspend | ban | lift
    Column("source", String(16), nullable=False),  # threshold | moderator
    Column("actor", String(128), nullable=False),
    Column("note", Text),
    Column("category", String(32), nullable=False),  # the ground of its statement
    Column("strike_id", BigInteger, index=True),
    Column("threshold", Integer),
    Column("strikes", Integer, nullable=False),  # the live total when it was taken
    Column("until", DateTime(timezone=True)),  # a suspension's end
    Column("item_pk", BigInteger, ForeignKey("items.pk"), nullable=False),  # what its webhook events hang on
    Column("locale", String(16)),
    Column("statement", JSON),
    Column("events", JSON),  # its webhook event ids
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("undone_at", DateTime(timezone=True)),
    Column("undone_by", String(128)),
    Column("undone_why", String(256)),
)

# A member's appeal of one decision: an item's decision in force, or an enforcement. Once
# per decision (`decision_ref` is unique); decided on its review task by another moderator
# than the one whose decision it is.
appeals = Table(
    "appeals",
    metadata,
    Column("pk", PK, primary_key=True, autoincrement=True),
    Column("id", String(128), nullable=False, unique=True),
    Column("api_key_id", BigInteger, nullable=False, index=True),
    Column("author_id", String(128), nullable=False, index=True),
    Column("target_kind", String(16), nullable=False),  # item | enforcement
    Column("item_pk", BigInteger, ForeignKey("items.pk"), nullable=False, index=True),
    Column("enforcement_id", BigInteger),
    Column("decision_id", BigInteger),  # an item's decision under appeal
    Column("decision_ref", String(64), nullable=False, unique=True),  # decision:ID | enforcement:ID
    Column("decision_by", String(128), nullable=False),  # who made it: a moderator, or policy
    Column("category", String(32), nullable=False),  # its ground
    Column("rules", JSON, nullable=False),  # the rule ids among its reasons
    Column("statement", Text, nullable=False),
    Column("content_sha256", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # open | upheld | overturned
    Column("task_id", BigInteger, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True)),
    Column("decided_by", String(128)),
    Column("note", Text),
)
