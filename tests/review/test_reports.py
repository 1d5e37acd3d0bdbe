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
