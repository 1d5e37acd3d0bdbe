"""Campaign copies flagged after the fact, on a real SQLite file and a real PostgreSQL server:
the earlier approved copies (exact or near) get the campaign's reason and the policy's
action for spam; other texts, old ones and a moderator's approvals are left alone."""

from __future__ import annotations

import json
from datetime import timedelta

from review_helpers import ALICE, policy, policy_text, queue_for, review_item
from sqlalchemy import select, update

from moderation.members.campaigns import Campaigns, Crossing
from moderation.members.enforcement import Enforcement
from moderation.policy import parse_policy
from moderation.store.repository import Store, utcnow
from moderation.store.tables import items, review_tasks, webhook_outbox

# a text whose one-word edit stays within the shipped policy's SimHash distance (tests/api/test_campaigns.py)
SPAM = (
    "Offre nearcase: gagnez de l'argent facilement chaque semaine en partageant vos trajets avec nos clients "
    "fidèles, inscription gratuite et paiement rapide garanti pour tous les conducteurs motivés de la région"
)


def approved(item_id: str, text: str, author: str, key: int) -> object:
    return review_item(item_id, text=text, author=author, decision="approve", reasons=[], api_key_id=key)


def test_earlier_copies_go_to_review_and_others_stay(store: Store, key: int) -> None:
    store.save_items(
        [
            approved("copy-1", SPAM, "a1", key),
            approved("copy-2", SPAM.replace("région", "ville"), "a2", key),  # a near copy
            approved("plain", "Départ demain 8h de Lyon, deux places libres dans la voiture", "a3", key),
            approved("old", SPAM, "a4", key),
            review_item("human", text=SPAM, author="a5", api_key_id=key, reasons=[]),
        ]
    )
    with store.engine.begin() as conn:
        conn.execute(update(items).where(items.c.id == "old").values(created_at=utcnow() - timedelta(hours=2)))
    q = queue_for(store)
    [task] = q.tasks.claim(ALICE, limit=5)
    q.decisions.decide(ALICE, task["task_id"], "approve")
    p = policy()
    flagged = Campaigns(store.engine, lambda: p).flag_earlier([Crossing("copy-3", SPAM, "exact")])
    assert sorted(flagged) == ["copy-1", "copy-2"]
    for item_id in flagged:
        item = store.get_item(item_id)
        assert (item["status"], item["final_decision"]) == ("pending_review", None)
        assert item["reasons"][-1]["detail"]["campaign_item"] == "copy-3"
    for item_id in ("plain", "old", "human"):
        assert store.get_item(item_id)["final_decision"] == "approve"
    with store.engine.connect() as conn:
        queues = conn.execute(select(review_tasks.c.queue).where(review_tasks.c.status == "open")).scalars().all()
        bodies = [json.loads(b) for b in conn.execute(select(webhook_outbox.c.body)).scalars()]
    assert queues == ["contact-info", "contact-info"]
    assert sorted(b["item_id"] for b in bodies if b["type"] == "item.flagged") == ["copy-1", "copy-2"]
    # flagged once: a second crossing finds nothing approved left
    assert Campaigns(store.engine, lambda: p).flag_earlier([Crossing("copy-4", SPAM, "exact")]) == []


def test_where_the_policy_rejects_spam_earlier_copies_are_rejected_with_a_strike(store: Store, key: int) -> None:
    text = policy_text().replace("\n  spam: review\n", "\n  spam: reject\n", 1)
    p = parse_policy(text, "<spam rejects>")
    store.save_items([approved("rej-1", SPAM, "spammer", key)])
    assert Campaigns(store.engine, lambda: p).flag_earlier([Crossing("rej-2", SPAM, "exact")]) == ["rej-1"]
    item = store.get_item("rej-1")
    assert (item["final_decision"], item["status"]) == ("reject", "decided")
    state = Enforcement(store.engine, lambda: p).states(["spammer"])["spammer"]
    assert state.strikes == p.enforcement.strikes["spam"].weight
