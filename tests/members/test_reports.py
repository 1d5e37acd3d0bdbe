"""Members' reports on a real SQLite file and a real PostgreSQL server: cases that merge
reports, weights from reporters' records, reopening decided items, upholding and
dismissing, bad faith, and reports refused whole."""

from __future__ import annotations

import json
from typing import Any

import pytest
from review_helpers import ALICE, BOB, policy, queue_for, review_item
from sqlalchemy import func, insert, select

from moderation.errors import Conflict, InvalidInput, NotFound
from moderation.members.reports import MemberReports, NewReport, reporter_weight
from moderation.policy import ReportSettings
from moderation.store.repository import Store, utcnow
from moderation.store.tables import (
    member_reports,
    report_cases,
    reporters,
    review_tasks,
    webhook_outbox,
)


def members(store: Store) -> MemberReports:
    p = policy()
    return MemberReports(store.engine, lambda: p)


def report(rid: str, target: str = "msg-1", reporter: str = "r1", kind: str = "item", **kw: Any) -> NewReport:
    return NewReport(id=rid, reporter_id=reporter, target_kind=kind, target_id=target, category=kw.pop("category", "profanity"), **kw)


def record(store: Store, reporter: str, upheld: int, dismissed: int) -> None:
    """A reporter's past outcomes, as decided cases would have left them."""
    with store.engine.begin() as conn:
        conn.execute(insert(reporters).values(reporter_id=reporter, upheld=upheld, dismissed=dismissed, updated_at=utcnow()))


def count(store: Store, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# -- weights ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "upheld, dismissed, weight",
    [
        (0, 0, 1.0),  # a newcomer: the prior's odds
        (1, 0, 2.0),
        (10, 0, 11.0),  # reliable and experienced
        (10, 10, 1.0),  # right half the time: a newcomer's weight, however many reports
        (0, 10, 0.0909),  # always dismissed
        (100, 0, 20.0),  # capped at max_weight
    ],
)
def test_reporter_weight_golden_values(upheld: int, dismissed: int, weight: float) -> None:
    assert reporter_weight(upheld, dismissed, ReportSettings()) == weight


def test_reporter_weight_grows_with_accuracy_and_with_experience_and_is_zero_in_bad_faith() -> None:
    s = ReportSettings()
    assert reporter_weight(3, 1, s) < reporter_weight(4, 0, s)  # accuracy, at equal count
    assert reporter_weight(1, 0, s) < reporter_weight(10, 0, s)  # experience, at equal accuracy
    assert reporter_weight(9, 0, s) > 10 * reporter_weight(0, 9, s)  # one trusted report outranks ten dismissed ones
    assert reporter_weight(50, 0, s, bad_faith=True) == 0.0
    with pytest.raises(ValueError):
        reporter_weight(-1, 0, s)


# -- cases --------------------------------------------------------------------------------

def test_reports_on_one_item_merge_into_one_case_counting_each_reporter_once(store: Store, key: int) -> None:
    store.save_items([review_item("msg-1", api_key_id=key, author="driver")])
    m = members(store)
    first, replayed = m.file(key, report("rep-1", reporter="r1"))
    assert not replayed and first["status"] == "open" and first["weight"] == 1.0
    assert first["case"]["in_review"]  # an item still waiting for review: the case goes to a human at once
    m.file(key, report("rep-2", reporter="r1", category="other", text="again"))  # the same member again
    third, _ = m.file(key, report("rep-3", reporter="r2"))
    assert third["case"] == third["case"] | {"id": first["case"]["id"], "reports": 3, "reporters": 2, "weight": 2.0}
    with store.engine.connect() as conn:
        [task] = conn.execute(select(review_tasks).where(review_tasks.c.queue == "reports")).all()
    assert task.weight == 2.0 and task.priority == 2


def test_report_on_a_decided_item_reopens_it_once_the_case_weighs_the_threshold(store: Store, key: int) -> None:
    store.save_items([review_item("ok-1", api_key_id=key, decision="approve", author="driver")])
    m = members(store)
    for k in range(2):
        state, _ = m.file(key, report(f"ok-rep-{k}", target="ok-1", reporter=f"new-{k}"))
        assert not state["case"]["in_review"]  # 1, then 2: under reopen_weight 3
    state, _ = m.file(key, report("ok-rep-2", target="ok-1", reporter="new-2"))
    assert state["case"]["in_review"] and state["case"]["weight"] == 3.0
    assert store.get_item("ok-1")["final_decision"] == "approve"  # the human decides, not the reports


def test_a_trusted_reporter_alone_reopens_a_decided_item(store: Store, key: int) -> None:
    store.save_items([review_item("ok-2", api_key_id=key, decision="approve", author="driver")])
    record(store, "trusted", 2, 0)
    state, _ = members(store).file(key, report("t-1", target="ok-2", reporter="trusted"))
    assert state["weight"] == 3.0 and state["case"]["in_review"]


def test_claim_serves_the_heavier_case_first(store: Store, key: int) -> None:
    store.save_items([review_item(f"w-{k}", api_key_id=key, author=f"author-{k}") for k in range(2)])
    m = members(store)
    for k in range(10):  # ten reports from members whose reports are always dismissed, first
        record(store, f"noisy-{k}", 0, 9)
        m.file(key, report(f"noisy-rep-{k}", target="w-0", reporter=f"noisy-{k}"))
    record(store, "trusted", 9, 0)
    m.file(key, report("trusted-rep", target="w-1", reporter="trusted"))  # one from a trusted member, later
    tasks = queue_for(store).tasks.claim(ALICE, limit=10, queue="reports")
    assert [t["item"]["id"] for t in tasks] == ["w-1", "w-0"]


def test_report_on_an_author_shows_their_latest_item(store: Store, key: int) -> None:
    store.save_items([review_item("a-old", api_key_id=key, author="pest", decision="approve")])
    store.save_items([review_item("a-new", api_key_id=key, author="pest", decision="approve")])
    m = members(store)
    state, _ = m.file(key, report("au-1", target="pest", kind="author", category="other", context_item_ids=("a-old",)))
    assert state["target"] == {"item_id": None, "author_id": "pest"} and state["case"]["in_review"]
    [task] = queue_for(store).tasks.claim(ALICE, limit=5, queue="reports")
    case = m.case_of_task(task["task_id"])
    assert task["item"]["id"] == case["item_id"] == "a-new"
    assert [c["id"] for c in case["context"]] == ["a-old"] and case["reports"][0]["reporter"]["weight"] == 1.0


# -- deciding -----------------------------------------------------------------------------

def test_uphold_rejects_the_item_counts_for_each_reporter_and_tells_each_reporting_key(store: Store, key: int) -> None:
    store.save_items([review_item("up-1", api_key_id=key, author="driver")])
    m = members(store)
    m.file(key, report("up-rep-1", target="up-1", reporter="r1"))
    m.file(key, report("up-rep-2", target="up-1", reporter="r1", category="other"))
    m.file(key, report("up-rep-3", target="up-1", reporter="r2"))
    q = queue_for(store)
    tasks = q.tasks.claim(ALICE, limit=5)
    [case_task] = [t for t in tasks if t["queue"] == "reports"]
    [own_task] = [t for t in tasks if t["queue"] != "reports"]
    done = m.decide(ALICE, case_task["task_id"], "uphold", note="insults")
    assert done.reports == 3 and done.item_decision_id is not None
    item = store.get_item("up-1")
    assert item["final_decision"] == "reject" and item["history"][-1]["kind"] == "human"
    assert {r["task_id"]: r["status"] for r in item["review"]}[own_task["task_id"]] == "cancelled"
    assert m.report(key, "up-rep-2")["status"] == "upheld"
    assert m.reporter("r1")["upheld"] == 1  # one case, one outcome
    assert m.reporter("r2")["weight"] == 2.0
    with store.engine.connect() as conn:
        bodies = [json.loads(b) for b in conn.execute(select(webhook_outbox.c.body)).scalars()]
    outcomes = sorted((b["report_id"], b["outcome"]) for b in bodies if b["type"] == "report.decided")
    assert outcomes == [("up-rep-1", "upheld"), ("up-rep-2", "upheld"), ("up-rep-3", "upheld")]
    assert [b["final_decision"] for b in bodies if b["type"] == "item.decided"] == ["reject"]
    with pytest.raises(Conflict, match="already decided"):
        m.decide(BOB, case_task["task_id"], "dismiss")
    _, audit = q.reports.audit_entries(actor="user:alice")
    assert [a["action"] for a in audit[:2]] == ["report.upheld", "review.human_decision"]
    assert audit[1]["target"] == "up-1" and audit[1]["detail"]["report_case"] == done.case_id


def test_dismiss_leaves_the_item_and_counts_against_the_reporter(store: Store, key: int) -> None:
    store.save_items([review_item("dis-1", api_key_id=key, decision="approve", author="driver")])
    record(store, "eager", 2, 0)
    m = members(store)
    m.file(key, report("dis-rep", target="dis-1", reporter="eager"))
    [task] = queue_for(store).tasks.claim(ALICE, limit=5, queue="reports")
    done = m.decide(ALICE, task["task_id"], "dismiss")
    assert done.item_decision_id is None and store.get_item("dis-1")["final_decision"] == "approve"
    assert (m.reporter("eager")["dismissed"], m.reporter("eager")["weight"]) == (1, 1.5)
    # a later report on the same target opens a new case
    state, _ = m.file(key, report("dis-rep-2", target="dis-1", reporter="other"))
    assert state["case"]["id"] != m.report(key, "dis-rep")["case"]["id"]


def test_approve_or_reject_never_closes_a_report_task(store: Store, key: int) -> None:
    store.save_items([review_item("ar-1", api_key_id=key, author="driver", decision="approve")])
    record(store, "trusted", 5, 0)
    m = members(store)
    m.file(key, report("ar-rep", target="ar-1", reporter="trusted"))
    q = queue_for(store)
    [task] = q.tasks.claim(ALICE, limit=5, queue="reports")
    with pytest.raises(Conflict, match="uphold or dismiss"):
        q.decisions.decide(ALICE, task["task_id"], "reject")
    assert q.decisions.bulk_decide(ALICE, [task["task_id"]], "approve")["refused"][0]["status"] == 409
    with pytest.raises(InvalidInput):
        m.decide(ALICE, task["task_id"], "reject")
    store.save_items([review_item("plain-1", api_key_id=key)])
    [plain] = q.tasks.claim(ALICE, limit=5, queue="contact-info")
    with pytest.raises(InvalidInput, match="no members' report case"):
        m.decide(ALICE, plain["task_id"], "uphold")
    assert m.report(key, "ar-rep")["case"]["in_review"]


# -- bad faith ----------------------------------------------------------------------------

def test_bad_faith_closes_open_reports_and_later_ones_weigh_nothing(store: Store, key: int) -> None:
    store.save_items([review_item(f"bf-{k}", api_key_id=key, author="driver") for k in range(2)])
    m = members(store)
    m.file(key, report("bf-rep-1", target="bf-0", reporter="troll"))
    m.file(key, report("bf-rep-2", target="bf-1", reporter="troll"))
    m.file(key, report("bf-rep-3", target="bf-1", reporter="honest"))
    out = m.mark_bad_faith(BOB, "troll", note="reports every driver")
    assert out["bad_faith"] and out["closed_reports"] == 2 and out["weight"] == 0.0
    assert m.report(key, "bf-rep-1")["status"] == "closed"
    assert m.report(key, "bf-rep-1")["case"]["status"] == "closed"  # nobody else reported bf-0
    assert not m.report(key, "bf-rep-1")["case"]["in_review"]
    assert m.report(key, "bf-rep-3")["case"]["weight"] == 1.0  # the honest report stays
    later, _ = m.file(key, report("bf-rep-4", target="bf-0", reporter="troll"))
    assert later["weight"] == 0.0 and not later["case"]["in_review"]
    assert m.mark_bad_faith(BOB, "troll")["bad_faith_by"] == "user:bob"  # marking again keeps the mark


# -- refused whole --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "bad, fault",
    [
        (report("x", category="rude"), "category"),  # not in the policy's list
        (report("x", target="nope"), "unknown_target"),  # no such item
        (report("x", target="foreign"), "unknown_target"),  # another key's item
        (report("x", target="nobody", kind="author"), "unknown_target"),  # an author with no item of this key
        (report("x", reporter="driver"), "self_report"),  # the author reporting their own message
        (report("x", target="driver", kind="author", reporter="driver"), "self_report"),
        (report("x", context_item_ids=("msg-1", "ghost")), "unknown_context_item"),
    ],
)
def test_bad_report_is_refused_and_stores_nothing(store: Store, key: int, bad: NewReport, fault: str) -> None:
    store.save_items([review_item("msg-1", api_key_id=key, author="driver"), review_item("foreign", author="x")])
    with pytest.raises(InvalidInput) as exc_info:
        members(store).file(key, bad)
    assert exc_info.value.extra.get("fault") == fault
    assert count(store, member_reports) == count(store, report_cases) == count(store, reporters) == 0


def test_same_id_replays_and_other_content_is_a_conflict(store: Store, key: int) -> None:
    store.save_items([review_item("msg-1", api_key_id=key, author="driver")])
    m = members(store)
    first, _ = m.file(key, report("idem", text="insulte"))
    again, replayed = m.file(key, report("idem", text="insulte"))
    assert replayed and again == first
    with pytest.raises(Conflict):
        m.file(key, report("idem", text="autre chose"))
    other, _ = store.create_api_key("other")
    other_id = store.authenticate(other).id  # type: ignore[union-attr]
    with pytest.raises(Conflict):
        m.file(other_id, report("idem", text="insulte"))  # another key's id
    with pytest.raises(NotFound):
        m.report(other_id, "idem")
    assert count(store, member_reports) == 1
