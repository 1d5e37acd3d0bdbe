"""What the queue page asks of the review tasks, on a real SQLite file and a real PostgreSQL
server: a fair share of a short queue, filters and orders, skip, the daily exposure
counter, and a decision's reason from the policy's list."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from review_helpers import ALICE, BOB, queue_for, review_item
from sqlalchemy import select, update

from moderation.errors import InvalidInput
from moderation.members.appeals import Appeals, NewAppeal
from moderation.members.reports import MemberReports, NewReport
from moderation.review.tasks import ClaimFilter
from moderation.store.repository import Store, utcnow
from moderation.store.tables import api_keys, items, review_tasks, webhook_outbox

PHONE = [
    {
        "source": "rule",
        "category": "contact_info",
        "detector": "contact.details",
        "score": 1.0,
        "span": [0, 14],
    }
]
NUDE = [
    {"source": "model", "category": "nudity", "detector": "nudenet@3", "score": 0.9}
]


def ids(tasks: list[dict]) -> list[str]:
    return [t["item"]["id"] for t in tasks]


def age(store: Store, item_id: str, minutes: float) -> None:
    """Make the item's task `minutes` old."""
    with store.engine.begin() as conn:
        pk = conn.execute(select(items.c.pk).where(items.c.id == item_id)).scalar_one()
        conn.execute(
            update(review_tasks)
            .where(review_tasks.c.item_pk == pk)
            .values(created_at=utcnow() - timedelta(minutes=minutes))
        )


def test_claim_share_leaves_work_for_a_second_moderator_on_a_short_queue(
    store: Store,
) -> None:
    store.save_items([review_item(f"s-{i}") for i in range(4)])
    q = queue_for(store)
    first = q.tasks.claim(ALICE, limit=12, share=True)
    assert len(first) == 2  # alone on 4 tasks: half, the rest for whoever comes
    second = q.tasks.claim(BOB, limit=12, share=True)
    assert len(second) == 1  # 2 left, alice holds tasks: a third of them, rounded up
    assert len(q.tasks.claim(ALICE, limit=12, share=True)) == 1
    assert q.tasks.claim(BOB, limit=12, share=True) == []  # all held now
    assert not set(ids(first)) & set(ids(second))


def test_claim_without_share_takes_what_it_asks(store: Store) -> None:
    store.save_items([review_item(f"s-{i}") for i in range(4)])
    assert len(queue_for(store).tasks.claim(ALICE, limit=12)) == 4


def test_claim_filters_by_category_context_language_and_reports(store: Store) -> None:
    store.create_api_key("pipeline")
    with store.engine.connect() as conn:
        key_id = conn.execute(
            select(api_keys.c.id).where(api_keys.c.name == "pipeline")
        ).scalar_one()
    store.save_items(
        [
            review_item("fr-phone", reasons=PHONE, language="fr", api_key_id=key_id),
            review_item("en-phone", reasons=PHONE, language="en"),
            review_item(
                "photo",
                image=b"\xff\xd8 not decoded here",
                reasons=NUDE,
                queue="photos-sensitive",
                language=None,
            ),
        ]
    )
    reports = MemberReports(store.engine, lambda: queue_for(store).policy())
    for k in range(2):
        reports.file(
            key_id,
            NewReport(
                id=f"r{k}",
                reporter_id=f"m{k}",
                target_kind="item",
                target_id="fr-phone",
                category="spam",
            ),
        )
    q = queue_for(store)

    def claim(**f: object) -> set[str]:
        got = set(ids(q.tasks.claim(ALICE, limit=20, filters=ClaimFilter(**f))))
        for t in q.tasks.claim(ALICE, limit=20, resume=True):
            q.tasks.release(ALICE, t["task_id"])
        return got

    assert claim(category="nudity") == {"photo"}
    assert claim(category="contact_info") == {"fr-phone", "en-phone"}
    assert claim(context="car_photo") == {"photo"}
    assert claim(language="en") == {"en-phone"}
    assert claim(min_reports=2) == {"fr-phone"}  # its review task and its report case
    assert claim(min_reports=3) == set()
    tasks = q.tasks.claim(ALICE, limit=20, filters=ClaimFilter(category="contact_info"))
    assert {t["item"]["id"]: t["reports"] for t in tasks} == {
        "fr-phone": 2,
        "en-phone": 0,
    }
    with pytest.raises(InvalidInput):
        ClaimFilter(sort="random")


def test_claim_orders_by_priority_age_or_sla_deadline(store: Store) -> None:
    store.save_items(
        [
            review_item(
                "due-soon", queue="contact-info", priority=2
            ),  # SLA 60 min, waited 55
            review_item(
                "urgent-queue",
                image=b"x",
                reasons=NUDE,
                queue="photos-sensitive",
                priority=1,
            ),  # SLA 30, waited 1
            review_item("fresh", queue="contact-info", priority=2),  # SLA 60, waited 10
        ]
    )
    age(store, "due-soon", 55)
    age(store, "urgent-queue", 1)
    age(store, "fresh", 10)
    q = queue_for(store)
    orders = {}
    for sort in ("priority", "age", "sla"):
        orders[sort] = ids(
            q.tasks.claim(ALICE, limit=10, filters=ClaimFilter(sort=sort))
        )
        for t in q.tasks.claim(ALICE, limit=10, resume=True):
            q.tasks.release(ALICE, t["task_id"])
    assert orders["priority"] == ["urgent-queue", "due-soon", "fresh"]
    assert orders["age"] == ["due-soon", "fresh", "urgent-queue"]
    assert orders["sla"] == [
        "due-soon",
        "urgent-queue",
        "fresh",
    ]  # deadlines in 5, 29 and 50 min


def test_skipped_task_goes_to_the_others_not_back_to_the_skipper(store: Store) -> None:
    store.save_items([review_item(f"k-{i}") for i in range(3)])
    q = queue_for(store)
    [skipped] = q.tasks.claim(ALICE, limit=1)
    q.tasks.skip(ALICE, skipped["task_id"])
    assert skipped["item"]["id"] not in ids(q.tasks.claim(ALICE, limit=10))
    assert ids(q.tasks.claim(BOB, limit=1)) == [skipped["item"]["id"]]


def test_released_task_may_come_back_to_the_same_moderator(store: Store) -> None:
    store.save_items([review_item("k-0")])
    q = queue_for(store)
    [task] = q.tasks.claim(ALICE, limit=1)
    q.tasks.release(
        ALICE, task["task_id"]
    )  # an idle page, a changed filter: not a skip
    assert ids(q.tasks.claim(ALICE, limit=1)) == ["k-0"]


def test_exposure_counts_each_sensitive_item_once_a_day(store: Store) -> None:
    store.save_items(
        [
            review_item("nude", image=b"x", reasons=NUDE, queue="photos-sensitive"),
            review_item("text"),
        ]
    )
    q = queue_for(store)
    assert q.tasks.record_exposure(ALICE, "nude") is True
    assert q.tasks.record_exposure(ALICE, "nude") is False  # the same item again today
    assert q.tasks.record_exposure(BOB, "nude") is True
    with pytest.raises(InvalidInput):
        q.tasks.record_exposure(ALICE, "text")  # nothing sensitive to count
    assert q.tasks.exposure_today() == {"user:alice": 1, "user:bob": 1}
    assert q.tasks.exposure_today(now=utcnow() + timedelta(days=1)) == {}


def test_decision_reason_code_goes_to_the_decision_audit_webhook_and_statement(
    store: Store,
) -> None:
    store.save_items(
        [review_item("p-1", reasons=PHONE, callback_url="http://127.0.0.1:9/hook")]
    )
    q = queue_for(store)
    [task] = q.tasks.claim(ALICE, limit=1)
    assert [r["code"] for r in task["decision_reasons"]] == [
        "phone_number",
        "email_or_handle",
        "false_positive",
    ]
    assert (
        task["decision_reasons"][0]["labels"]["fr"] == "Partage un numéro de téléphone"
    )
    q.decisions.decide(
        ALICE,
        task["task_id"],
        "reject",
        note="en toutes lettres",
        reason_code="phone_number",
    )
    [human] = [h for h in store.get_item("p-1")["history"] if h["kind"] == "human"]
    assert (human["reason_code"], human["note"]) == (
        "phone_number",
        "en toutes lettres",
    )
    audit = q.reports.item_audit("p-1")
    assert [
        a["detail"]["reason_code"]
        for a in audit
        if a["action"] == "review.human_decision"
    ] == ["phone_number"]
    with store.engine.connect() as conn:
        body = json.loads(conn.execute(select(webhook_outbox.c.body)).scalar_one())
    assert body["reasons"][0]["reason_code"] == "phone_number"
    statement = body["statement"]
    assert statement["decision_reason"] == {
        "code": "phone_number",
        "label": "Partage un numéro de téléphone",
    }  # the item's locale
    assert (
        statement["text"].endswith("Partage un numéro de téléphone.")
        and statement["note"] == "en toutes lettres"
    )


def test_decision_with_a_reason_code_the_policy_does_not_offer_is_refused_whole(
    store: Store,
) -> None:
    store.save_items([review_item("p-1", reasons=PHONE)])
    q = queue_for(store)
    [task] = q.tasks.claim(ALICE, limit=1)
    with pytest.raises(InvalidInput, match="explicit_nudity"):
        q.decisions.decide(
            ALICE, task["task_id"], "reject", reason_code="explicit_nudity"
        )
    assert store.get_item("p-1")["final_decision"] is None  # nothing half-stored
    assert ids(q.tasks.claim(ALICE, limit=1, resume=True)) == ["p-1"]


def test_appeal_task_says_it_is_an_appeal(store: Store) -> None:
    k, _ = store.create_api_key("pipeline")
    key = store.authenticate(k)
    store.save_items(
        [review_item("ap-1", api_key_id=key.id, author="driver", decision="reject")]
    )
    q = queue_for(store)
    Appeals(store.engine, q.policy).file(
        key.id,
        NewAppeal(
            id="a-1", author_id="driver", statement="my own number", item_id="ap-1"
        ),
    )
    [task] = q.tasks.claim(ALICE, limit=5)
    assert (task["appeal"]["id"], task["report_case"], task["queue"]) == (
        "a-1",
        False,
        "appeals",
    )
