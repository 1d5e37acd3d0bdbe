"""Webhooks of final decisions: a durable outbox, signed deliveries, exponential backoff.

An event is written to `webhook_outbox` in the same transaction as the decision that
causes it, and sent later by `deliver_due` (run by the service's review loop). A crash
anywhere loses nothing: an event is only marked delivered after the receiver answered
2xx, so delivery is at-least-once and receivers deduplicate on `event_id` (in the body
and in `X-Moderation-Event-Id`).

The body is signed with the API key's secret: `X-Moderation-Signature: sha256=<hex>` is
HMAC-SHA256 over the exact body bytes. Failed attempts are retried after
`base * 2**(attempts-1)` seconds (capped, with +-20% jitter so that a receiver coming
back is not hit by every event at once), and given up after `max_attempts`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, and_, insert, or_, select, update
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool

from moderation.store.repository import Transaction, claim_rows, utcnow
from moderation.store.tables import api_keys, webhook_outbox

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Moderation-Signature"
EVENT_HEADER = "X-Moderation-Event-Id"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does: recompute the HMAC over the raw body and compare in constant time."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header or "")


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 2.0
    max_seconds: float = 600.0
    max_attempts: int = 25
    timeout_seconds: float = 10.0

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `attempts`-th failure."""
        raw = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return raw * (rng or random).uniform(0.8, 1.2)


def enqueue(
    conn: Connection,
    *,
    item_pk: int,
    decision_id: int | None,
    url: str,
    api_key_id: int | None,
    payload: dict[str, Any],
    not_before: datetime,
) -> str:
    """Write one event in the caller's transaction; returns its event id."""
    event_id = uuid.uuid4().hex
    body = json.dumps({"event_id": event_id, **payload}, default=_json_default, separators=(",", ":"), sort_keys=True)
    conn.execute(
        insert(webhook_outbox).values(
            event_id=event_id,
            item_pk=item_pk,
            decision_id=decision_id,
            url=url,
            api_key_id=api_key_id,
            body=body,
            attempts=0,
            next_attempt_at=not_before,
            created_at=utcnow(),
        )
    )
    return event_id


def cancel_for_decision(conn: Connection, decision_id: int) -> int:
    """Cancel the undelivered events of an undone decision; returns how many were already delivered."""
    now = utcnow()
    conn.execute(
        update(webhook_outbox)
        .where(
            webhook_outbox.c.decision_id == decision_id,
            webhook_outbox.c.delivered_at.is_(None),
            webhook_outbox.c.cancelled_at.is_(None),
        )
        .values(cancelled_at=now, last_error="decision undone")
    )
    delivered = conn.execute(
        select(webhook_outbox.c.id).where(
            webhook_outbox.c.decision_id == decision_id, webhook_outbox.c.delivered_at.is_not(None)
        )
    ).all()
    return len(delivered)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        v = value if value.tzinfo else value.replace(tzinfo=UTC)
        return v.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


@dataclass(frozen=True)
class Due:
    id: int
    event_id: str
    url: str
    body: str
    attempts: int
    secret: str | None


class Outbox:
    """The outbox's reads and writes outside a decision's transaction."""

    def __init__(self, engine: Engine, lock_seconds: float = 60.0) -> None:
        self.engine = engine
        self.lock_seconds = lock_seconds

    def claim_due(self, limit: int = 50, now: datetime | None = None) -> list[Due]:
        """Lock due events for this sender (for `lock_seconds`), so several service nodes
        do not send the same event at the same moment."""
        now = now or utcnow()

        def due(t: Any) -> Any:
            return and_(t.c.delivered_at.is_(None), t.c.cancelled_at.is_(None), t.c.next_attempt_at <= now,
                        or_(t.c.locked_until.is_(None), t.c.locked_until < now))

        w = webhook_outbox.alias("candidate")
        sub = select(w.c.id).where(due(w)).order_by(w.c.next_attempt_at).limit(limit)
        with Transaction(self.engine) as conn:
            ids = claim_rows(conn, webhook_outbox, sub, w, due(webhook_outbox),
                             {"locked_until": now + timedelta(seconds=self.lock_seconds)})
        if not ids:
            return []
        with Transaction(self.engine) as conn:
            rows = conn.execute(
                select(webhook_outbox, api_keys.c.webhook_secret)
                .select_from(webhook_outbox.outerjoin(api_keys, api_keys.c.id == webhook_outbox.c.api_key_id))
                .where(webhook_outbox.c.id.in_(ids))
                .order_by(webhook_outbox.c.id)
            ).all()
        return [Due(r.id, r.event_id, r.url, r.body, r.attempts, r.webhook_secret) for r in rows]

    def mark_delivered(self, event_id: int) -> None:
        with Transaction(self.engine) as conn:
            conn.execute(
                update(webhook_outbox)
                .where(webhook_outbox.c.id == event_id)
                .values(delivered_at=utcnow(), locked_until=None, attempts=webhook_outbox.c.attempts + 1, last_error=None)
            )

    def mark_failed(self, due: Due, error: str, backoff: Backoff) -> None:
        attempts = due.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "locked_until": None, "last_error": error[:1000]}
        if attempts >= backoff.max_attempts:
            values["cancelled_at"] = utcnow()
            log.error("webhook %s to %s given up after %d attempts: %s", due.event_id, due.url, attempts, error)
        else:
            values["next_attempt_at"] = utcnow() + timedelta(seconds=backoff.delay(attempts))
        with Transaction(self.engine) as conn:
            conn.execute(update(webhook_outbox).where(webhook_outbox.c.id == due.id).values(**values))


async def deliver_due(outbox: Outbox, client: httpx.AsyncClient, backoff: Backoff, limit: int = 50) -> int:
    """Send every due event once; returns how many were delivered."""
    batch: Sequence[Due] = await run_in_threadpool(outbox.claim_due, limit)
    delivered = 0
    for due in batch:
        body = due.body.encode()
        headers = {"Content-Type": "application/json", EVENT_HEADER: due.event_id, "User-Agent": "moderation-webhooks/1"}
        if due.secret:
            headers[SIGNATURE_HEADER] = sign(due.secret, body)
        try:
            resp = await client.post(due.url, content=body, headers=headers, timeout=backoff.timeout_seconds)
            ok = 200 <= resp.status_code < 300
            error = "" if ok else f"HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"
        if ok:
            await run_in_threadpool(outbox.mark_delivered, due.id)
            delivered += 1
        else:
            await run_in_threadpool(outbox.mark_failed, due, error, backoff)
    return delivered
