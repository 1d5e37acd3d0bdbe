"""Queue stats: depth, age, decisions per moderator."""

from __future__ import annotations

from review_helpers import ALICE, queue_for, review_item

from moderation.store.repository import Store


def test_stats_report_queue_depth_age_and_decisions_per_moderator(store: Store) -> None:
    store.save_items([review_item(f"st-{i}") for i in range(5)])
    q = queue_for(store)
    for t in q.tasks.claim(ALICE, limit=2):
        q.decisions.decide(ALICE, t["task_id"], "approve")
    s = q.reports.stats()
    [row] = [r for r in s["queues"] if r["queue"] == "contact-info"]
    assert row["depth"] == 3 and row["oldest_age_seconds"] >= 0 and row["sla_minutes"] == 60
    [(actor, hours)] = s["decisions_per_moderator_hour"].items()
    assert actor == "user:alice" and sum(hours.values()) == 2


def test_a_rule_whose_firing_rate_jumps_today_raises_an_alert(store: Store) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from moderation.store.repository import utcnow
    from moderation.store.tables import items

    phone = [{"source": "rule", "category": "contact_info", "detector": "contact.details", "score": 1.0}]
    links = [{"source": "rule", "category": "spam_link", "detector": "links", "score": 1.0}]
    # the week before: 100 texts, 2 with a phone, 10 with a link; today: 40 texts, 12 with a phone, 4 with a link
    old = [review_item(f"old-{i}", decision="approve", reasons=phone if i < 2 else links if i < 12 else []) for i in range(100)]
    new = [review_item(f"new-{i}", decision="approve", reasons=phone if i < 12 else links if i < 16 else []) for i in range(40)]
    store.save_items(old + new)
    now = utcnow()
    with store.engine.begin() as conn:
        conn.execute(update(items).where(items.c.id.startswith("old-")).values(created_at=now - timedelta(days=3)))
    q = queue_for(store)
    rates = {r["rule"]: r for r in q.reports.rule_rates(now + timedelta(seconds=1))}
    assert rates["contact.details"]["ratio"] == 15.0 and rates["contact.details"]["alert"]  # 30 % against 2 %
    assert rates["links"]["ratio"] == 1.0 and not rates["links"]["alert"]  # 10 % both times
    stats = q.reports.stats(now=now + timedelta(seconds=1))
    assert [r["rule"] for r in stats["rule_alerts"]] == ["contact.details"]
    # too few hits: 12 is under a minimum of 20, whatever the ratio
    assert queue_for(store, review="  rule_alert_min_hits: 20\n").reports.rule_rates(now + timedelta(seconds=1))[0]["alert"] is False
    from moderation.metrics import Metrics

    m = Metrics()
    m.set_rule_rates(list(rates.values()))
    text = m.render().decode()
    assert 'moderation_rule_alert{rule="contact.details"} 1.0' in text and 'moderation_rule_alert{rule="links"} 0.0' in text
    assert 'moderation_rule_rate_ratio{rule="contact.details"} 15.0' in text
