"""Appeals on a real SQLite file and a real PostgreSQL server: who may appeal what and when
(each refusal named, nothing stored), four-eyes on the claim and the decision, what an
overturn undoes (the strike, the account actions it caused, the ban), and appeal rates."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from review_helpers import ALICE, BOB, policy, queue_for, review_item
from sqlalchemy import func, select

from moderation.errors import Conflict, Forbidden, InvalidInput, NotFound
from moderation.members.appeals import Appeals, NewAppeal
from moderation.members.enforcement import Enforcement
from moderation.store.repository import Store, utcnow
from moderation.store.tables import (
    appeals,
    audit_log,
    bank_changes,
    review_tasks,
    strikes,
    webhook_outbox,
)

JPEG = b"\xff\xd8\xff" + b"appeal-photo" * 10


def appeals_of(store: Store) -> Appeals:
    p = policy()
    return Appeals(store.engine, lambda: p)


def appeal(aid: str, item: str | None = "ap-1", author: str = "driver", **kw: Any) -> NewAppeal:
    return NewAppeal(id=aid, author_id=author, statement=kw.pop("statement", "It was my own number, for the lost bag."), item_id=item, **kw)


def count(store: Store, table: Any, *where: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def events(store: Store, kind: str) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        bodies = [json.loads(b) for b in conn.execute(select(webhook_outbox.c.body).order_by(webhook_outbox.c.id)).scalars()]
    return [b for b in bodies if b["type"] == kind]


def rejected_by(store: Store, user: Any, item_id: str, **kw: Any) -> int:
    """Store a review item and have `user` reject it; returns the decision id."""
    store.save_items([review_item(item_id, **kw)])
    q = queue_for(store)
    [task] = [t for t in q.tasks.claim(user, limit=20) if t["item"]["id"] == item_id]
    return q.decisions.decide(user, task["task_id"], "reject", ban=kw.get("image") and True or None)[0].decision_id


def test_an_appeal_of_an_automatic_rejection_waits_in_the_appeals_queue(store: Store, key: int) -> None:
    store.save_items([review_item("ap-1", api_key_id=key, author="driver", decision="reject")])
    a = appeals_of(store)
    state, replayed = a.file(key, appeal("appeal-1"))
    assert not replayed and state["status"] == "open" and state["in_review"]
    assert (state["item_id"], state["decision_by"], state["category"]) == ("ap-1", "policy", "contact_info")
    again, replayed = a.file(key, appeal("appeal-1"))
    assert replayed and again == state
    with pytest.raises(Conflict, match="other content"):
        a.file(key, appeal("appeal-1", statement="something else"))
    with pytest.raises(Conflict, match="already appealed") as once:
        a.file(key, appeal("appeal-2"))
    assert once.value.extra["fault"] == "already_appealed"
    [task] = queue_for(store).tasks.claim(ALICE, limit=5, queue="appeals")
    assert task["item"]["id"] == "ap-1" and task["task_id"] == state["task_id"]


@pytest.mark.parametrize(
    "make, fault, error",
    [
        (lambda s, k: appeal("x", item="nowhere"), "unknown_item", NotFound),  # an item this key never sent
        (lambda s, k: appeal("x", author="someone-else"), "not_the_author", Forbidden),
        (lambda s, k: appeal("x", item="ap-ok"), "not_refused", Conflict),  # approved: nothing to appeal
        (lambda s, k: appeal("x", item="ap-wait"), "not_decided", Conflict),  # still waiting for a moderator
        (lambda s, k: appeal("x", item=None, enforcement_id=999), "unknown_enforcement", NotFound),
        (lambda s, k: appeal("x", item="ap-1", enforcement_id=1), "target", InvalidInput),  # both at once
    ],
)
def test_appeals_that_cannot_be_taken_are_refused_whole_naming_why(store: Store, key: int, make: Any, fault: str, error: type) -> None:
    store.save_items(
        [
            review_item("ap-1", api_key_id=key, author="driver", decision="reject"),
            review_item("ap-ok", api_key_id=key, author="driver", decision="approve"),
            review_item("ap-wait", api_key_id=key, author="driver"),
        ]
    )
    with pytest.raises(error) as refused:
        appeals_of(store).file(key, make(store, key))
    assert refused.value.extra["fault"] == fault
    assert count(store, appeals) == 0 and count(store, review_tasks, review_tasks.c.queue == "appeals") == 0


def test_an_appeal_after_the_window_is_refused(store: Store, key: int) -> None:
    store.save_items([review_item("ap-1", api_key_id=key, author="driver", decision="reject")])
    a = appeals_of(store)
    with pytest.raises(Conflict, match="window") as late:
        a.file(key, appeal("late"), now=utcnow() + timedelta(days=14, minutes=1))
    assert late.value.extra["fault"] == "window_closed"
    assert count(store, appeals) == 0
    assert a.file(key, appeal("in-time"), now=utcnow() + timedelta(days=13, hours=23))[0]["status"] == "open"


def test_another_key_cannot_appeal_or_read_an_appeal(store: Store, key: int) -> None:
    store.save_items([review_item("ap-1", api_key_id=key, author="driver", decision="reject")])
    other, _ = store.create_api_key("other")
    other_key = store.authenticate(other)
    assert other_key is not None
    a = appeals_of(store)
    with pytest.raises(NotFound):
        a.file(other_key.id, appeal("theirs"))
    a.file(key, appeal("mine"))
    with pytest.raises(NotFound):
        a.appeal(other_key.id, "mine")


def test_four_eyes_the_deciding_moderator_never_gets_nor_decides_the_appeal(store: Store, key: int) -> None:
    rejected_by(store, ALICE, "ap-1", api_key_id=key, author="driver")
    a = appeals_of(store)
    state, _ = a.file(key, appeal("appeal-1"))
    assert state["decision_by"] == "user:alice"
    q = queue_for(store)
    assert q.tasks.claim(ALICE, limit=10, queue="appeals") == []
    with pytest.raises(Forbidden, match="four-eyes"):
        a.decide(ALICE, state["task_id"], "overturn")
    with pytest.raises(Conflict, match="uphold or overturn"):
        q.decisions.decide(BOB, state["task_id"], "approve")
    assert q.decisions.bulk_decide(BOB, [state["task_id"]], "reject")["refused"][0]["status"] == 409
    [task] = q.tasks.claim(BOB, limit=10, queue="appeals")
    done = a.decide(BOB, task["task_id"], "uphold", note="the number was a contact detail")
    assert (done.final_decision, done.strikes_removed) == ("reject", [])
    assert a.appeal(key, "appeal-1")["status"] == "upheld"
    [event] = events(store, "appeal.decided")
    assert (event["outcome"], event["item_id"], event["final_decision"]) == ("upheld", "ap-1", "reject")


def test_overturn_replaces_the_decision_and_undoes_its_strike_action_and_ban(store: Store, key: int) -> None:
    for k in range(2):  # two strikes already: a nudity rejection (3) crosses warn at 3 and restrict at 5
        store.save_items([review_item(f"ap-pre-{k}", api_key_id=key, author="driver", decision="reject")])
        Enforcement(store.engine, policy).count_rejections([_pk(store, f"ap-pre-{k}")])
    decision_id = rejected_by(store, ALICE, "ap-1", api_key_id=key, author="driver", image=JPEG)
    e = Enforcement(store.engine, policy)
    assert e.states(["driver"])["driver"].state == "restricted"
    assert count(store, bank_changes, bank_changes.c.decision_id == decision_id, bank_changes.c.bank == "banned") == 1
    a = appeals_of(store)
    state, _ = a.file(key, appeal("appeal-1"))
    done = a.decide(BOB, state["task_id"], "overturn", note="it is a car")
    assert done.final_decision == "approve" and len(done.strikes_removed) == 1 and len(done.enforcements_undone) == 2
    item = store.get_item("ap-1")
    assert (item["human_decision"], item["final_decision"], item["history"][-1]["actor"]) == ("approve", "approve", "user:bob")
    assert e.states(["driver"])["driver"].out()["state"] == "active" and e.states(["driver"])["driver"].strikes == 2
    with store.engine.connect() as conn:
        ban = conn.execute(select(bank_changes).where(bank_changes.c.decision_id == decision_id)).one()
        assert ban.cancelled_at is not None  # still within the undo window: it never reached the bank
        assert conn.execute(select(strikes.c.removed_why).where(strikes.c.removed_at.is_not(None))).scalar_one() == "appeal appeal-1 overturned"
        [audit] = conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "appeal.overturned")).scalars().all()
    assert (audit["decision_by"], audit["decided_by"], audit["note"]) == ("user:alice", "user:bob", "it is a car")
    [event] = events(store, "appeal.decided")
    assert (event["outcome"], event["final_decision"], event["author"]["state"]) == ("overturned", "approve", "active")
    with pytest.raises(Conflict, match="already decided"):
        a.decide(BOB, state["task_id"], "uphold")


def test_an_account_action_can_be_appealed_and_overturned(store: Store, key: int) -> None:
    store.save_items([review_item("ap-1", api_key_id=key, author="driver", decision="approve")])
    e = Enforcement(store.engine, policy)
    done = e.act(ALICE, "driver", "ban", note="fake profile")
    a = appeals_of(store)
    with pytest.raises(Forbidden):
        a.file(key, appeal("ban-appeal", item=None, author="someone", enforcement_id=done["enforcement_id"]))
    state, _ = a.file(key, appeal("ban-appeal", item=None, enforcement_id=done["enforcement_id"]))
    assert state["target_kind"] == "enforcement" and state["item_id"] is None
    assert a.of_task(state["task_id"])["enforcement"]["action"] == "ban"
    overturned = a.decide(BOB, state["task_id"], "overturn", note="real person, checked")
    assert overturned.enforcements_undone == [done["enforcement_id"]]
    assert e.states(["driver"])["driver"].state == "active"
    with pytest.raises(Conflict, match="restricts nothing"):
        a.file(key, appeal("again", item=None, enforcement_id=done["enforcement_id"]))


def test_appeal_rates_per_category_rule_and_moderator(store: Store, key: int) -> None:
    rejected_by(store, ALICE, "ap-1", api_key_id=key, author="driver")
    rejected_by(store, ALICE, "ap-2", api_key_id=key, author="driver")
    store.save_items([review_item("ap-3", api_key_id=key, author="rider", decision="reject")])
    a = appeals_of(store)
    first, _ = a.file(key, appeal("appeal-1", item="ap-1"))
    a.file(key, appeal("appeal-3", item="ap-3", author="rider"))
    a.decide(BOB, first["task_id"], "overturn")
    rates = queue_for(store).reports.appeal_rates(utcnow() - timedelta(hours=1))
    moderators = {r["key"]: r for r in rates["by_moderator"]}
    assert moderators["user:alice"] | {} == {
        "key": "user:alice",
        "rejections": 2,
        "appeals": 1,
        "decided": 1,
        "overturned": 1,
        "appeal_rate": 0.5,
        "overturn_rate": 1.0,
    }
    assert moderators["policy"]["appeals"] == 1 and moderators["policy"]["overturn_rate"] is None
    assert {r["key"]: r["appeal_rate"] for r in rates["by_category"]} == {"contact_info": 0.6667}
    assert {r["key"]: r["rejections"] for r in rates["by_rule"]} == {"contact.phone": 3}


def _pk(store: Store, item_id: str) -> int:
    return store.find_items([item_id])[item_id].pk


def test_an_appeal_whose_decision_was_undone_meanwhile_cannot_be_overturned(store: Store, key: int) -> None:
    decision_id = rejected_by(store, ALICE, "ap-1", api_key_id=key, author="driver")
    a = appeals_of(store)
    state, _ = a.file(key, appeal("appeal-1"))
    queue_for(store).decisions.undo(ALICE, decision_id)  # within the undo window: back to review
    with pytest.raises(Conflict, match="no longer in force") as refused:
        a.decide(BOB, state["task_id"], "overturn")
    assert refused.value.extra["fault"] == "not_in_force"
    assert a.appeal(key, "appeal-1")["status"] == "open"
    assert a.decide(BOB, state["task_id"], "uphold").decision == "uphold"  # closing it stays possible


def test_appeal_rates_count_account_actions_apart_from_rejections(store: Store, key: int) -> None:
    store.save_items([review_item("ap-1", api_key_id=key, author="driver", decision="approve"),
                      review_item("ap-2", api_key_id=key, author="rider", decision="approve")])
    e = Enforcement(store.engine, policy)
    banned = e.act(ALICE, "driver", "ban", note="fake profile")
    e.act(ALICE, "rider", "warn", note="rude at pick-up")
    a = appeals_of(store)
    state, _ = a.file(key, appeal("ban-appeal", item=None, enforcement_id=banned["enforcement_id"]))
    a.decide(BOB, state["task_id"], "overturn", note="real person, checked")
    rates = queue_for(store).reports.appeal_rates(utcnow() - timedelta(hours=1))
    by_action = {r["key"]: r for r in rates["by_account_action"]}
    assert by_action["ban:moderator"] | {} == {
        "key": "ban:moderator", "rejections": 1, "appeals": 1, "decided": 1, "overturned": 1,
        "appeal_rate": 1.0, "overturn_rate": 1.0,
    }
    assert by_action["warn:moderator"]["appeals"] == 0 and by_action["warn:moderator"]["appeal_rate"] == 0.0
    # an account action is no rejection of an item: the other groups do not count it
    assert rates["by_category"] == [] and rates["by_moderator"] == []
