"""Copy-paste campaigns, retroactively: the copies approved before the count was reached.

The campaign window (`moderation.text.campaigns`) flags a text once `min_authors`
authors wrote it; the copies before that one were approved, each alone being nobody's
campaign. When a text crosses the count (`crossings`: its campaign reason counts exactly
`min_authors`), `Campaigns.flag_earlier` finds the automatically approved texts of the
window that are the same text (exact key) or a near one (SimHash within the policy's
distance), the window's own test, and gives each the campaign's `spam` reason: it goes to
review or is rejected as the policy's action for `spam` in its context says (a rejection
counts its strike), with a decision row, an audit row and an `item.flagged` webhook event
to the item's receiver. A moderator's approval stands.

Later copies do not look back again: each is caught by the window itself. A copy stored
after the crossing copy looked back, though counted before it, is missed (two batches in
flight at once); the window keeps its texts, not their ids, so nothing else can find it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import Connection

from moderation import webhooks
from moderation.members.enforcement import count_strike
from moderation.policy import Policy
from moderation.store.repository import Repository, aware, utcnow
from moderation.store.tables import (
    api_keys,
    audit_log,
    decisions,
    item_categories,
    items,
    review_tasks,
)
from moderation.text.campaigns import fingerprints, hamming
from moderation.text.normalize import normalize
from moderation.types import Reason, Source

# How many of the window's latest approved texts a crossing compares: a campaign's copies
# are recent, and a wave must not cost each crossing a scan of the whole hour.
SCAN_LIMIT = 5000


@dataclass(frozen=True)
class Crossing:
    """A text that made its campaign reach `min_authors`."""

    item_id: str
    text: str
    match: str  # exact | near


def crossings(new: Sequence[Any], policy: Policy) -> list[Crossing]:
    """The items of a batch (`NewItem`s) whose campaign reason counts exactly `min_authors`."""
    settings = policy.campaigns
    if settings is None:
        return []
    out = []
    for i in new:
        for r in i.reasons:
            detail = r.get("detail") or {}
            if r.get("detector") == "campaign" and detail.get("authors") == settings.min_authors and i.text:
                out.append(Crossing(i.id, i.text, str(detail.get("match", "exact"))))
    return out


class Campaigns(Repository):
    """Flagging the copies of a campaign approved before it was detected."""

    def __init__(self, engine: Engine, policy: Callable[[], Policy]) -> None:
        super().__init__(engine)
        self._policy = policy

    def flag_earlier(self, found: Sequence[Crossing], *, now: datetime | None = None) -> list[str]:
        """Flag the earlier approved copies of each crossing text; returns their ids."""
        policy = self._policy()
        settings = policy.campaigns
        if not found or settings is None:
            return []
        now = now or utcnow()
        contexts = [n for n, c in policy.contexts.items() if "spam" in c.checks]
        i = items.c
        with self._tx() as conn:
            rows = conn.execute(
                select(items)
                .where(
                    i.type == "text",
                    i.context.in_(contexts),
                    i.created_at >= now - timedelta(seconds=settings.window_seconds),
                    i.final_decision == "approve",
                    i.human_decision.is_(None),
                    i.id.not_in([c.item_id for c in found]),
                )
                .order_by(i.created_at.desc(), i.pk.desc())
                .limit(SCAN_LIMIT)
            ).all()
            if not rows:
                return []
            prints = fingerprints([normalize(r.text or "").text for r in rows])
            flagged: list[str] = []
            for c, (key, h) in zip(found, fingerprints([normalize(c.text).text for c in found])):
                for row, (k, g) in zip(rows, prints):
                    same = k == key or hamming(g, h) <= settings.simhash_max_distance
                    if same and len(k) >= settings.min_chars and row.id not in flagged and self._flag(conn, policy, row, c, now):
                        flagged.append(row.id)
        return flagged

    def _flag(self, conn: Connection, policy: Policy, row: Any, crossing: Crossing, now: datetime) -> bool:
        detail = {
            "retroactive": True,
            "campaign_item": crossing.item_id,
            "match": crossing.match,
            "window_seconds": policy.campaigns.window_seconds if policy.campaigns else None,
        }
        reason = Reason(source=Source.RULE, category="spam", detector="campaign", score=1.0, detail=detail)
        action = policy.action_for(row.context, reason)
        if action not in ("review", "reject"):
            return False
        reasons = [*(row.reasons or []), reason.to_dict()]
        # the write first, guarded: a copy flagged meanwhile (another crossing) is left alone
        done = conn.execute(
            update(items)
            .where(items.c.pk == row.pk, items.c.final_decision == "approve", items.c.human_decision.is_(None))
            .values(
                reasons=reasons,
                final_decision="reject" if action == "reject" else None,
                status="decided" if action == "reject" else "pending_review",
                updated_at=now,
            )
        )
        if done.rowcount != 1:
            return False
        decision_id = int(
            conn.execute(
                insert(decisions).values(
                    item_pk=row.pk,
                    kind="auto",
                    decision=action,
                    reasons=[reason.to_dict()],
                    policy_version=policy.version,
                    actor="campaign",
                    undone=False,
                    created_at=now,
                )
            ).inserted_primary_key[0]
        )
        if (
            conn.execute(select(item_categories.c.item_pk).where(item_categories.c.item_pk == row.pk, item_categories.c.category == "spam")).first()
            is None
        ):
            conn.execute(insert(item_categories).values(category="spam", item_pk=row.pk))
        task_id = None
        if action == "review":
            queue = policy.queue_for("text", {"spam"})
            task_id = int(
                conn.execute(
                    insert(review_tasks).values(
                        item_pk=row.pk, queue=queue, priority=policy.queue_rule(queue).priority, status="open", created_at=now
                    )
                ).inserted_primary_key[0]
            )
        else:
            count_strike(conn, policy, item=row, decision_id=decision_id, category="spam", actor="policy", now=now, not_before=now)
        state = {
            "type": row.type,
            "context": row.context,
            "first_decision": row.first_decision,
            "human_decision": None,
            "final_decision": "reject" if action == "reject" else None,
            "reasons": reasons,
            "locale": row.locale,
            "created_at": aware(row.created_at),
            "updated_at": now,
        }
        url = row.callback_url or (
            conn.execute(select(api_keys.c.webhook_url).where(api_keys.c.id == row.api_key_id)).scalar() if row.api_key_id is not None else None
        )
        event = None
        if url:
            event = webhooks.enqueue(
                conn,
                item_pk=row.pk,
                decision_id=decision_id,
                url=url,
                api_key_id=row.api_key_id,
                not_before=now,
                payload={
                    "type": "item.flagged",
                    "item_id": row.id,
                    "first_decision": row.first_decision,
                    "final_decision": state["final_decision"],
                    "status": "decided" if action == "reject" else "pending_review",
                    "reasons": reasons,
                    "statement": policy.item_statement(state),
                    "decided_by": "policy",
                    "decided_at": now,
                    "created_at": aware(row.created_at),
                    "policy_version": policy.version,
                },
            )
        conn.execute(
            insert(audit_log).values(
                at=now,
                actor="policy",
                action="campaign.flagged",
                target=row.id[:256],
                detail={
                    "decision_id": decision_id,
                    "decision": action,
                    "campaign_item": crossing.item_id,
                    "task_id": task_id,
                    "webhook_event": event,
                },
            )
        )
        return True
