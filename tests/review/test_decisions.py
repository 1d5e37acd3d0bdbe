"""Human decisions on both databases: final decisions with history, leases, undo, bulk,
near-duplicate clusters, and bank changes after the undo window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from review_helpers import ADMIN, ALICE, BOB, queue_for, review_item

from moderation.errors import Conflict, Forbidden
from moderation.store.repository import Store, utcnow


def test_decision_on_expired_lease_nobody_took_is_accepted(store: Store) -> None:
    store.save_items([review_item("lease-2")])
    q = queue_for(store, review="  lease_seconds: 1\n")
    [task] = q.tasks.claim(ALICE, limit=1)
    [d] = q.decisions.decide(ALICE, task["task_id"], "approve", now=utcnow() + timedelta(seconds=5))
    assert d.item_id == "lease-2"


def test_human_decision_becomes_final_with_history(store: Store) -> None:
    store.save_items([review_item("final-1")])
    q = queue_for(store)
    [task] = q.tasks.claim(ALICE, limit=1)
    q.decisions.decide(ALICE, task["task_id"], "reject", note="phone number")
    state = store.get_item("final-1")
    assert state["first_decision"] == "review"
    assert state["human_decision"] == "reject" and state["final_decision"] == "reject"
    assert state["status"] == "decided"
    assert [h["kind"] for h in state["history"]] == ["auto", "human"]
    assert state["history"][1]["actor"] == "user:alice" and state["history"][1]["note"] == "phone number"


def test_undo_within_window_restores_item_and_reopens_task(store: Store) -> None:
    store.save_items([review_item("undo-1")])
    q = queue_for(store, review="  undo_seconds: 10\n")
    [task] = q.tasks.claim(ALICE, limit=1)
    [d] = q.decisions.decide(ALICE, task["task_id"], "approve")
    with pytest.raises(Forbidden):
        q.decisions.undo(BOB, d.decision_id)
    q.decisions.undo(ALICE, d.decision_id)
    state = store.get_item("undo-1")
    assert state["final_decision"] is None and state["human_decision"] is None and state["status"] == "pending_review"
    assert [h["kind"] for h in state["history"]] == ["auto", "human", "undo"] and state["history"][1]["undone"]
    with pytest.raises(Conflict, match="already undone"):
        q.decisions.undo(ALICE, d.decision_id)
    # the task is back, leased to Alice, and can be decided again
    [d2] = q.decisions.decide(ALICE, task["task_id"], "reject")
    assert store.get_item("undo-1")["final_decision"] == "reject"
    # after the window only an admin can undo
    with pytest.raises(Conflict, match="undo window"):
        q.decisions.undo(ALICE, d2.decision_id, now=utcnow() + timedelta(seconds=11))
    q.decisions.undo(ADMIN, d2.decision_id, now=utcnow() + timedelta(hours=1), why="wrong call")
    assert store.get_item("undo-1")["final_decision"] is None


def test_apply_to_duplicates_decides_the_cluster(store: Store) -> None:
    from images import make_jpeg

    img = make_jpeg(seed=1)
    store.save_items([
        review_item("dup-a", image=img, phash="ffff0000ffff0000", queue="photos-sensitive", priority=1),
        review_item("dup-b", image=make_jpeg(seed=2), phash="ffff0000ffff0001", author="other", queue="photos-sensitive", priority=1),
        review_item("dup-far", image=make_jpeg(seed=3), phash="0000ffff0000ffff", queue="photos-sensitive", priority=1),
    ])
    q = queue_for(store)
    [task] = q.tasks.claim(ALICE, limit=1)
    assert task["item"]["id"] == "dup-a" and task["sensitive"]
    assert [(d["item_id"], d["distance"]) for d in task["duplicates"]] == [("dup-b", 1)]
    out = q.decisions.decide(ALICE, task["task_id"], "reject", apply_to_duplicates=True)
    assert [d.item_id for d in out] == ["dup-a", "dup-b"]
    assert store.get_item("dup-b")["final_decision"] == "reject"
    assert store.get_item("dup-far")["final_decision"] is None


def test_bulk_decide_reports_refused_tasks(store: Store) -> None:
    store.save_items([review_item(f"bulk-{i}") for i in range(3)])
    q = queue_for(store)
    mine = [t["task_id"] for t in q.tasks.claim(ALICE, limit=2)]
    [bobs] = [t["task_id"] for t in q.tasks.claim(BOB, limit=1)]
    res = q.decisions.bulk_decide(ALICE, mine + [bobs], "approve")
    assert sorted(d.task_id for d in res["decided"]) == sorted(mine)
    assert [r["task_id"] for r in res["refused"]] == [bobs] and res["refused"][0]["status"] == 409


def test_a_claimed_bank_change_is_retried_until_recorded_and_an_undo_cancels_it(store: Store) -> None:
    from images import make_jpeg

    store.save_items([review_item(f"bc-{k}", image=make_jpeg(seed=40 + k), phash=f"{k:016x}", queue="photos-sensitive") for k in range(2)])
    q = queue_for(store)
    tasks = {t["item"]["id"]: t["task_id"] for t in q.tasks.claim(ALICE, limit=2)}
    first = q.decisions.decide(ALICE, tasks["bc-0"], "reject")[0]
    q.decisions.decide(ALICE, tasks["bc-1"], "reject")
    later = utcnow() + timedelta(seconds=30)  # past the undo window
    claimed = store.claim_due_bank_changes(now=later)
    assert sorted(c["item_id"] for c in claimed) == ["bc-0", "bc-1"]
    assert store.claim_due_bank_changes(now=later) == []  # leased
    # The node died before recording them: after the lease they come back.
    retry = {c["item_id"]: c for c in store.claim_due_bank_changes(now=later + timedelta(seconds=61))}
    assert sorted(retry) == ["bc-0", "bc-1"]
    assert store.set_bank_entry(retry["bc-1"]["id"], 7)
    # An undo while bc-0 is being applied cancels it: recording it then says so.
    q.decisions.undo(ADMIN, first.decision_id, why="wrong call")
    assert not store.set_bank_entry(retry["bc-0"]["id"], 8)
    assert store.claim_due_bank_changes(now=later + timedelta(hours=1)) == []
