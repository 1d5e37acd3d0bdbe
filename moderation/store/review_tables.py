"""Tables of the review queue (issue 5): moderator accounts, their sessions, the webhook
outbox, bank changes waiting for the undo window, and the QA sampler's cursor.

They live on the same `metadata` as `tables.py`, so one migration history covers both;
`migrations/versions/0002_review.py` creates them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from moderation.store.tables import PK, metadata

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

# Small named cursors, e.g. the last item the QA sampler looked at.
review_cursors = Table(
    "review_cursors",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)
