"""Review tasks on a real SQLite file and a real PostgreSQL server: claiming under leases
(never the same task twice), order, what a claim returns, release and resume."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from review_helpers import ALICE, BOB, queue_for, review_item

from moderation.auth import User
from moderation.errors import Conflict, InvalidInput
from moderation.store.repository import Store, utcnow


def test_concurrent_claimers_never_receive_the_same_task(store: Store) -> None:
    store.save_items([review_item(f"c-{i}") for i in range(120)])
    q = queue_for(store)
    got: dict[int, list[int]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(12)

    def claimer(k: int) -> None:
        user = User(100 + k, f"m{k}", "moderator")
        mine: list[int] = []
        try:
            store.ping()  # open this thread's connection before the race starts
            barrier.wait()
            while True:
                batch = q.tasks.claim(user, limit=3)
                if not batch:
                    break
                mine.extend(t["task_id"] for t in batch)
                time.sleep(0.002)  # a moderator looks at the tasks before claiming more
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        got[k] = mine

    threads = [threading.Thread(target=claimer, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    every = [tid for ids in got.values() for tid in ids]
    assert len(every) == 120 and len(set(every)) == 120  # each task to exactly one claimer
    assert sum(1 for ids in got.values() if ids) > 1  # and the work was really shared


def test_claim_orders_by_sla_then_priority_then_age(store: Store) -> None:
    store.save_items([review_item("low-old", queue="texts", priority=3)])
    store.save_items([review_item("high-new", queue="contact-info", priority=2)])
    q = queue_for(store)
    order = [t["item"]["id"] for t in q.tasks.claim(ALICE, limit=5)]
    assert order == ["high-new", "low-old"]
    for tid in [1, 2]:
        q.tasks.release(ALICE, tid)
    # once the texts task is older than its queue's 120 min SLA, it goes first
    from sqlalchemy import update

    from moderation.store.tables import review_tasks

    with store.engine.begin() as conn:
        conn.execute(update(review_tasks).where(review_tasks.c.id == 1).values(created_at=utcnow() - timedelta(minutes=121)))
    order = [t["item"]["id"] for t in q.tasks.claim(ALICE, limit=5)]
    assert order == ["low-old", "high-new"]


def test_claim_returns_item_reasons_lease_and_authors_recent_items(store: Store) -> None:
    store.save_items([review_item("old-1", decision="approve", author="x"), review_item("r-1", author="x", text="<b>06 12 34 56 78</b>")])
    [task] = queue_for(store, review="  lease_seconds: 42\n").tasks.claim(ALICE, limit=1)
    assert task["item"]["id"] == "r-1" and task["item"]["text"] == "<b>06 12 34 56 78</b>"
    assert task["reasons"][0]["category"] == "contact_info"
    assert 40 <= (task["lease_expires_at"] - utcnow()).total_seconds() <= 42
    assert [a["id"] for a in task["author_recent"]] == ["old-1"]
    assert task["author_recent"][0]["decision"] == "approve"


def test_expired_lease_returns_task_to_queue_and_late_decision_is_409(store: Store) -> None:
    store.save_items([review_item("lease-1")])
    q = queue_for(store, review="  lease_seconds: 60\n")
    [task] = q.tasks.claim(ALICE, limit=1)
    assert q.tasks.claim(BOB, limit=1) == []  # leased to Alice
    later = utcnow() + timedelta(seconds=61)
    [again] = q.tasks.claim(BOB, limit=1, now=later)
    assert again["task_id"] == task["task_id"]
    with pytest.raises(Conflict, match="leased to user:bob"):
        q.decisions.decide(ALICE, task["task_id"], "approve", now=later)
    q.decisions.decide(BOB, task["task_id"], "reject", now=later)
    with pytest.raises(Conflict, match="already decided"):
        q.decisions.decide(ALICE, task["task_id"], "approve")


def test_release_puts_task_back_for_others(store: Store) -> None:
    store.save_items([review_item("rel-1")])
    q = queue_for(store)
    [task] = q.tasks.claim(ALICE, limit=1)
    with pytest.raises(Conflict):
        q.tasks.release(BOB, task["task_id"])
    q.tasks.release(ALICE, task["task_id"])
    assert [t["task_id"] for t in q.tasks.claim(BOB, limit=1)] == [task["task_id"]]


def test_resume_returns_tasks_still_held(store: Store) -> None:
    store.save_items([review_item(f"res-{i}") for i in range(4)])
    q = queue_for(store)
    held = {t["task_id"] for t in q.tasks.claim(ALICE, limit=2)}
    assert {t["task_id"] for t in q.tasks.claim(ALICE, limit=2)}.isdisjoint(held)
    assert held <= {t["task_id"] for t in q.tasks.claim(ALICE, limit=4, resume=True)}


def test_claim_limit_is_checked(store: Store) -> None:
    with pytest.raises(InvalidInput):
        queue_for(store).tasks.claim(ALICE, limit=0)
