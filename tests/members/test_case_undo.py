"""Undoing a members' report case decision on a real SQLite file and a real PostgreSQL
server: the case, its reports and the reporters' records go back to open, the item's
rejection and its strike are taken back, undelivered outcome events are cancelled."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from review_helpers import ADMIN, ALICE, BOB, policy, queue_for, review_item
from sqlalchemy import select, update

from moderation.errors import Conflict, Forbidden, NotFound
from moderation.members.enforcement import Enforcement
from moderation.members.reports import CaseUndo, MemberReports, NewReport
from moderation.store.repository import Store, utcnow
from moderation.store.tables import webhook_outbox


def parts(store: Store) -> tuple[MemberReports, CaseUndo]:
    p = policy()
    return MemberReports(store.engine, lambda: p), CaseUndo(store.engine, lambda: p)


def filed_case(store: Store, key: int, item_id: str) -> int:
    store.save_items([review_item(item_id, api_key_id=key, author="driver", decision="approve")])
    m, _ = parts(store)
    for k in range(3):
        m.file(key, NewReport(id=f"{item_id}-rep-{k}", reporter_id=f"r{k}", target_kind="item", target_id=item_id, category="profanity"))
    [task] = queue_for(store).tasks.claim(ALICE, limit=5, queue="reports")
    return int(task["task_id"])


def test_undoing_an_uphold_reopens_the_case_and_takes_back_the_rejection_and_its_strike(store: Store, key: int) -> None:
    task_id = filed_case(store, key, "cu-1")
    m, undo = parts(store)
    done = m.decide(ALICE, task_id, "uphold", note="insults")
    assert Enforcement(store.engine, policy).states(["driver"])["driver"].strikes == 2
    with pytest.raises(Forbidden):
        undo.undo(BOB, done.case_id)
    undone = undo.undo(ALICE, done.case_id, why="wrong message")
    assert undone.item_decision is not None and undone.item_decision.decision_id == done.item_decision_id
    assert store.get_item("cu-1")["final_decision"] == "approve"
    assert Enforcement(store.engine, policy).states(["driver"])["driver"].strikes == 0
    state = m.report(key, "cu-1-rep-0")
    assert (state["status"], state["case"]["status"], state["case"]["in_review"]) == ("open", "open", True)
    assert m.reporter("r0")["upheld"] == 0
    with store.engine.connect() as conn:
        pending = [
            json.loads(b)["type"] for b in conn.execute(select(webhook_outbox.c.body).where(webhook_outbox.c.cancelled_at.is_(None))).scalars()
        ]
    assert "report.decided" not in pending and "item.decided" not in pending  # nothing left the building
    with pytest.raises(Conflict, match="no decision to undo"):
        undo.undo(ALICE, done.case_id)
    again = m.decide(ALICE, task_id, "dismiss")  # the task came back, leased to the one who undid
    assert again.case_id == done.case_id and m.reporter("r1")["dismissed"] == 1


def test_undoing_a_delivered_dismissal_is_for_admins_and_corrects_the_events(store: Store, key: int) -> None:
    task_id = filed_case(store, key, "cu-2")
    m, undo = parts(store)
    done = m.decide(ALICE, task_id, "dismiss", now=utcnow() - timedelta(minutes=5))
    with store.engine.begin() as conn:
        conn.execute(update(webhook_outbox).values(delivered_at=utcnow()))
    with pytest.raises(Conflict, match="undo window"):
        undo.undo(ALICE, done.case_id)
    with pytest.raises(NotFound):
        undo.undo(ADMIN, 999_999)
    undo.undo(ADMIN, done.case_id, why="reports were right")
    assert m.reporter("r2")["dismissed"] == 0
    with store.engine.connect() as conn:
        bodies = [json.loads(b) for b in conn.execute(select(webhook_outbox.c.body)).scalars()]
    assert sorted(b["report_id"] for b in bodies if b["type"] == "report.decision_undone") == ["cu-2-rep-0", "cu-2-rep-1", "cu-2-rep-2"]
