"""What the review queue reports: queue depths and ages, decisions per moderator and hour,
automation rate, automated precision (QA) and reviewer agreement (second review), and
the audit log."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select

from moderation.review.tasks import QA_QUEUE, SECOND_QUEUE, QueuePart
from moderation.store.repository import aware, utcnow
from moderation.store.tables import (
    appeals,
    audit_log,
    decisions,
    enforcements,
    items,
    review_tasks,
    webhook_outbox,
)

# How long /metrics may reuse the rule rates: they read 8 days of stored reasons.
RULE_RATES_TTL_SECONDS = 60.0


class Reports(QueuePart):
    """Read-only views over the queue and the audit log."""

    _rates_cache: tuple[float, list[dict[str, Any]]] | None = None

    def rule_rates(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Per rule id, the share of text items it fired on in the last 24 h and in the 7
        days before, from the stored reasons (shadow hits count: watching them is what
        shadow is for). `alert` when today's share is at least `review.rule_alert_ratio`
        times the trailing one, on at least `review.rule_alert_min_hits` items; a rule
        that never fired before alerts on its hits alone (`ratio` None). Without `now`,
        an answer younger than RULE_RATES_TTL_SECONDS is reused."""
        if now is None and self._rates_cache is not None and time.monotonic() - self._rates_cache[0] < RULE_RATES_TTL_SECONDS:
            return self._rates_cache[1]
        at = now or utcnow()
        day, week = at - timedelta(hours=24), at - timedelta(days=8)
        hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # rule -> [last 24 h, the 7 days before]
        totals = [0, 0]
        with self._tx() as conn:
            rows = conn.execute(
                select(items.c.created_at, items.c.reasons)
                .where(items.c.created_at >= week, items.c.created_at < at, items.c.type == "text")
                .execution_options(yield_per=5000)
            )
            for created, reasons in rows:
                k = 0 if aware(created) >= day else 1
                totals[k] += 1
                for rule in {r.get("detector") for r in reasons or [] if r.get("source") == "rule"}:
                    hits[rule][k] += 1
        settings = self.policy.review
        out = []
        for rule, (today, before) in sorted(hits.items()):
            rate_today = today / totals[0] if totals[0] else 0.0
            rate_before = before / totals[1] if totals[1] else 0.0
            ratio = rate_today / rate_before if rate_before else None
            jumped = ratio is None or ratio >= settings.rule_alert_ratio
            out.append({
                "rule": rule, "hits_24h": today, "items_24h": totals[0], "rate_24h": round(rate_today, 6),
                "hits_7d": before, "items_7d": totals[1], "rate_7d": round(rate_before, 6),
                "ratio": None if ratio is None else round(ratio, 4),
                "alert": today >= settings.rule_alert_min_hits and jumped,
            })
        if now is None:
            self._rates_cache = (time.monotonic(), out)
        return out

    def audit_entries(
        self, *, limit: int = 100, offset: int = 0, actor: str | None = None, action: str | None = None, target: str | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        """Newest first. `action` matches a prefix (`review.` is every review action);
        `actor` and `target` match exactly."""
        q = select(audit_log)
        n = select(func.count()).select_from(audit_log)
        if actor:
            q, n = q.where(audit_log.c.actor == actor), n.where(audit_log.c.actor == actor)
        if action:
            q, n = q.where(audit_log.c.action.startswith(action, autoescape=True)), n.where(audit_log.c.action.startswith(action, autoescape=True))
        if target:
            q, n = q.where(audit_log.c.target == target), n.where(audit_log.c.target == target)
        with self._tx() as conn:
            total = int(conn.execute(n).scalar_one())
            rows = conn.execute(q.order_by(audit_log.c.id.desc()).limit(limit).offset(offset)).all()
        return total, [{"id": r.id, "at": aware(r.at), "actor": r.actor, "action": r.action, "target": r.target, "detail": r.detail} for r in rows]

    def item_audit(self, item_id: str, limit: int = 200) -> list[dict[str, Any]]:
        """The audit entries about one item, oldest first: those naming it (decisions,
        undos) and those naming one of its review tasks alone (a release, a claim of that
        one task; a claim of several tasks at once is in the whole log only)."""
        with self._tx() as conn:
            pk = conn.execute(select(items.c.pk).where(items.c.id == item_id)).scalar()
            tasks = [] if pk is None else [str(t) for t in conn.execute(select(review_tasks.c.id).where(review_tasks.c.item_pk == pk)).scalars()]
            a = audit_log.c
            named = (a.target == item_id[:256]) & a.action.startswith("review.")
            if tasks:
                named = named | (a.target.in_(tasks) & a.action.in_(("review.claim", "review.release")))
            rows = conn.execute(select(audit_log).where(named).order_by(a.id).limit(limit)).all()
        return [{"id": r.id, "at": aware(r.at), "actor": r.actor, "action": r.action, "target": r.target, "detail": r.detail} for r in rows]

    def stats(self, now: datetime | None = None, hours: int = 24) -> dict[str, Any]:
        given = now
        now = now or utcnow()
        since = now - timedelta(hours=hours)
        t = review_tasks.c
        sla = {q.name: q.sla_minutes for q in self.policy.queues}
        with self._tx() as conn:
            queue_rows = conn.execute(
                select(t.queue, func.count(), func.min(t.created_at), func.sum(case((and_(t.lease_owner.is_not(None), t.lease_expires_at >= now), 1), else_=0)))
                .where(t.status == "open")
                .group_by(t.queue)
            ).all()
            late = Counter()
            for q, m in sla.items():
                late[q] = int(conn.execute(select(func.count()).where(t.status == "open", t.queue == q, t.created_at < now - timedelta(minutes=m))).scalar_one())
            human = conn.execute(
                select(decisions.c.actor, decisions.c.created_at, decisions.c.kind)
                .where(decisions.c.kind.in_(("human", "qa")), decisions.c.undone.is_(False), decisions.c.created_at >= since)
            ).all()
            first_counts = conn.execute(
                select(items.c.first_decision, func.count()).where(items.c.created_at >= since).group_by(items.c.first_decision)
            ).all()
            qa_rows = conn.execute(
                select(review_tasks.c.queue, decisions.c.decision, items.c.first_decision, items.c.human_decision)
                .join(review_tasks, review_tasks.c.id == decisions.c.task_id)
                .join(items, items.c.pk == decisions.c.item_pk)
                .where(decisions.c.kind == "qa", decisions.c.undone.is_(False))
            ).all()
            undone = int(conn.execute(select(func.count()).where(decisions.c.kind == "undo", decisions.c.created_at >= since)).scalar_one())
            outbox = conn.execute(
                select(func.count()).where(webhook_outbox.c.delivered_at.is_(None), webhook_outbox.c.cancelled_at.is_(None))
            ).scalar_one()
        per_hour: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for actor, at, _kind in human:
            at = aware(at)
            per_hour[actor][at.replace(minute=0, second=0, microsecond=0).isoformat()] += 1
        total_items = sum(n for _, n in first_counts)
        auto = sum(n for d, n in first_counts if d != "review")
        qa = [r for r in qa_rows if r.queue == QA_QUEUE]
        second = [r for r in qa_rows if r.queue == SECOND_QUEUE and r.human_decision is not None]
        return {
            "generated_at": now,
            "window_hours": hours,
            "queues": [
                {
                    "queue": q,
                    "depth": int(n),
                    "leased": int(leased or 0),
                    "oldest_age_seconds": round((now - aware(oldest)).total_seconds(), 1) if oldest else None,
                    "sla_minutes": sla.get(q),
                    "past_sla": late.get(q, 0),
                }
                for q, n, oldest, leased in sorted(queue_rows)
            ],
            "decisions_per_moderator_hour": {a: dict(sorted(h.items())) for a, h in sorted(per_hour.items())},
            "decisions": len(human),
            "undone": undone,
            "items": total_items,
            "automation_rate": round(auto / total_items, 4) if total_items else None,
            "automated_precision": _share(sum(r.decision == r.first_decision for r in qa), len(qa)),
            "reviewer_agreement": _share(sum(r.decision == r.human_decision for r in second), len(second)),
            "webhooks_pending": int(outbox),
            "rule_alerts": [r for r in self.rule_rates(given) if r["alert"]],
            "appeals": self.appeal_rates(since),
        }

    def appeal_rates(self, since: datetime) -> dict[str, list[dict[str, Any]]]:
        """The members' measure of decision quality: of the rejections made since `since`
        (automatic ones under `policy`, a moderator's under their name), the share appealed,
        and of the appeals decided, the share overturned; per ground category, per rule
        that fired, per moderator. Account actions (warn, restrict, suspend, ban) are
        appealed too: `by_account_action` counts them per action, automatic ones (a strike
        threshold) and a moderator's apart, their "rejections" being the actions taken."""
        d = decisions.c
        with self._tx() as conn:
            rows = conn.execute(
                select(d.id, d.actor, d.kind, items.c.context, items.c.reasons)
                .join(items, items.c.pk == d.item_pk)
                .where(d.decision == "reject", d.kind.in_(("auto", "human")), d.undone.is_(False), d.created_at >= since)
                .execution_options(yield_per=5000)
            ).all()
            outcome = dict(conn.execute(
                select(appeals.c.decision_id, appeals.c.status).join(decisions, decisions.c.id == appeals.c.decision_id)
                .where(d.created_at >= since)
            ).all())
            e = enforcements.c
            actions = conn.execute(
                select(e.id, e.action, e.source)
                .where(e.action.in_(("warn", "restrict", "suspend", "ban")), e.created_at >= since)
            ).all()
            action_outcome = dict(conn.execute(
                select(appeals.c.enforcement_id, appeals.c.status).join(enforcements, e.id == appeals.c.enforcement_id)
                .where(appeals.c.target_kind == "enforcement", e.created_at >= since)
            ).all())
        groups: dict[str, dict[str, list[int]]] = {"by_category": defaultdict(lambda: [0, 0, 0, 0]),
                                                   "by_rule": defaultdict(lambda: [0, 0, 0, 0]),
                                                   "by_moderator": defaultdict(lambda: [0, 0, 0, 0]),
                                                   "by_account_action": defaultdict(lambda: [0, 0, 0, 0])}

        def count(counts: list[int], status: str | None) -> None:
            # rejections (or actions), appeals, decided, overturned
            counts[0] += 1
            counts[1] += status is not None
            counts[2] += status in ("upheld", "overturned")
            counts[3] += status == "overturned"

        for a in actions:
            who = "automatic" if a.source == "threshold" else "moderator"
            count(groups["by_account_action"][f"{a.action}:{who}"], action_outcome.get(a.id))
        for r in rows:
            status = outcome.get(r.id)
            keys = {"by_category": [self.policy.ground({"context": r.context, "reasons": r.reasons})],
                    "by_rule": sorted({x.get("detector") for x in r.reasons or [] if x.get("source") == "rule" and x.get("detector")}),
                    "by_moderator": [r.actor or "policy"]}
            for group, names in keys.items():
                for name in names:
                    count(groups[group][name], status)
        return {
            group: [
                {"key": name, "rejections": n, "appeals": a, "decided": k, "overturned": o,
                 "appeal_rate": round(a / n, 4) if n else None, "overturn_rate": round(o / k, 4) if k else None}
                for name, (n, a, k, o) in sorted(counts.items())
            ]
            for group, counts in groups.items()
        }


def _share(k: int, n: int) -> dict[str, Any]:
    return {"value": round(k / n, 4) if n else None, "agree": k, "of": n}
