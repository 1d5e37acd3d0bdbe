"""Members' reports end to end: real HTTP, real Ray, real SQLite; the outcome webhook to a
real receiver. A member reports a message with its conversation, others report it too, the
case waits behind a trusted reporter's, a moderator upholds it and every reporter's
pipeline hears of it, signed."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from review_helpers import policy_text
from servers import (
    LiveService,
    Receiver,
    assert_problem,
    free_port,
    make_settings,
    text_item,
    wait_for,
)
from sqlalchemy import insert

from moderation import webhooks
from moderation.store.repository import utcnow
from moderation.store.tables import reporters


@pytest.fixture(scope="module")
def hooked(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveService, Receiver]]:
    tmp = tmp_path_factory.mktemp("reports")
    path = tmp / "policy.yaml"
    path.write_text(policy_text(review="  undo_seconds: 1\n  webhook_retry_base_seconds: 0.2\n"), encoding="utf-8")
    # The receiver listens on loopback, which only an allow-listed receiver may.
    svc = LiveService(make_settings(tmp, policy_path=path, webhook_allowed_hosts=["127.0.0.1"]))
    svc.service.accounts.create_user("mod", "password1", "moderator")
    r = Receiver(free_port())
    r.start()
    try:
        yield svc, r
    finally:
        r.stop()
        svc.stop()


@pytest.fixture(scope="module")
def pipeline(hooked: tuple[LiveService, Receiver]) -> Iterator[tuple[httpx.Client, str]]:
    """A client of the pipeline's key, whose webhook is the receiver, and the key's secret."""
    live, receiver = hooked
    key, secret = live.service.store.create_api_key("carpool", webhook_url=receiver.url, scopes=("moderate", "items:read"))
    with live.client(key) as c:
        yield c, secret


@contextlib.contextmanager
def moderator(live: LiveService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as c:
        c.headers["X-CSRF-Token"] = c.post("/v1/auth/login", json={"username": "mod", "password": "password1"}).json()["csrf_token"]
        yield c


def reporter_record(live: LiveService, reporter: str, upheld: int, dismissed: int) -> None:
    """A reporter's past outcomes, as earlier decided cases would have left them."""
    with live.service.engine.begin() as conn:
        conn.execute(insert(reporters).values(reporter_id=reporter, upheld=upheld, dismissed=dismissed, updated_at=utcnow()))


def report(rid: str, target: dict[str, str], reporter: str, category: str = "profanity", **extra: Any) -> dict[str, Any]:
    return {"id": rid, "reporter_id": reporter, "target": target, "category": category, **extra}


def events(receiver: Receiver, kind: str) -> list[tuple[dict[str, str], bytes, dict[str, Any]]]:
    return [(h, b, json.loads(b)) for h, b in receiver.received if json.loads(b)["type"] == kind]


def test_member_report_with_its_conversation_is_prioritised_upheld_and_its_outcome_delivered_signed(hooked, pipeline) -> None:
    live, receiver = hooked
    api, secret = pipeline
    conversation = [
        text_item("conv-1", "Bonjour, il reste une place pour Lyon ?", author="passenger-1"),
        text_item("conv-2", "Oui mais tu paieras double, t'es vraiment lourd", author="driver-1"),
    ]
    assert [r["decision"] for r in api.post("/v1/moderate", json={"items": conversation}).json()["results"]] == ["approve", "approve"]
    later = text_item("conv-3", "Reponds-moi stp, je voulais juste reserver", author="passenger-1")  # not sent yet: inline
    first = api.post("/v1/reports", json=report(
        "rep-1", {"item_id": "conv-2"}, "passenger-1", text="il m'insulte", context_item_ids=["conv-1"], context_items=[later],
    ))
    assert first.status_code == 201, first.text
    state = first.json()
    assert state["status"] == "open" and state["weight"] == 1.0 and state["context_item_ids"] == ["conv-1", "conv-3"]
    assert not state["case"]["in_review"]  # an approved message: one newcomer's report is not enough to reopen it
    assert api.get("/v1/items/conv-3").json()["first_decision"] == "approve"  # the inline message was moderated

    # A trusted member reports another approved message meanwhile.
    api.post("/v1/moderate", json={"items": [text_item("other-1", "Depart 8h, pas de retard svp", author="driver-2")]})
    reporter_record(live, "trusted", 5, 0)
    trusted = api.post("/v1/reports", json=report("rep-trusted", {"item_id": "other-1"}, "trusted", category="spam")).json()
    assert trusted["weight"] == 6.0 and trusted["case"]["in_review"]

    # Two other reports arrive on conv-2: three newcomers reach the reopen weight.
    for rid, who in (("rep-2", "passenger-2"), ("rep-3", "passenger-3")):
        assert api.post("/v1/reports", json=report(rid, {"item_id": "conv-2"}, who)).status_code == 201
    state = api.get("/v1/reports/rep-1").json()
    assert state["case"]["decided_at"] is None
    assert (state["case"]["reports"], state["case"]["reporters"], state["case"]["weight"], state["case"]["in_review"]) == (3, 3, 3.0, True)

    with moderator(live) as mod:
        tasks = mod.post("/v1/review/claim", json={"limit": 10, "queue": "reports"}).json()["tasks"]
        assert [t["item"]["id"] for t in tasks] == ["other-1", "conv-2"]  # the trusted reporter's case first
        task_id = tasks[1]["task_id"]
        case = mod.get(f"/v1/review/tasks/{task_id}/report").json()
        assert case["target"] == {"item_id": "conv-2", "author_id": None}
        assert sorted(r["reporter_id"] for r in case["reports"]) == ["passenger-1", "passenger-2", "passenger-3"]
        assert [c["id"] for c in case["context"]] == ["conv-1", "conv-3"]
        assert_problem(mod.post(f"/v1/review/tasks/{task_id}/decision", json={"decision": "reject"}), 422)
        decided = mod.post(f"/v1/review/tasks/{task_id}/decision", json={"decision": "uphold", "note": "insulting a passenger"})
        assert decided.status_code == 200, decided.text
        out = decided.json()
        assert out["decision"] == "uphold" and out["reports"] == 3 and out["item_decision_id"]
        assert_problem(mod.post(f"/v1/review/tasks/{task_id}/decision", json={"decision": "dismiss"}), 409)
        record = mod.get("/v1/review/reporters/passenger-1").json()
        assert (record["upheld"], record["dismissed"], record["weight"]) == (1, 0, 2.0)

    item = api.get("/v1/items/conv-2").json()
    assert item["final_decision"] == "reject" and item["human_decision"] == "reject"
    assert api.get("/v1/reports/rep-2").json()["status"] == "upheld"
    wait_for(lambda: len(events(receiver, "report.decided")) == 3, what="three outcome events")
    for headers, body, event in events(receiver, "report.decided"):
        assert webhooks.verify(secret, body, headers["x-moderation-signature"])
        assert event["outcome"] == "upheld" and event["target"] == {"item_id": "conv-2", "author_id": None}
        assert event["event_id"] == headers["x-moderation-event-id"]
    assert sorted(e["report_id"] for _, _, e in events(receiver, "report.decided")) == ["rep-1", "rep-2", "rep-3"]
    wait_for(lambda: any(e["item_id"] == "conv-2" for _, _, e in events(receiver, "item.decided")), what="the item's rejection event")


def test_resending_a_report_replays_it_and_other_content_is_a_conflict(hooked, pipeline) -> None:
    api, _ = pipeline
    api.post("/v1/moderate", json={"items": [text_item("idem-msg", "Salut, on part a 9h", author="driver-3")]})
    body = report("rep-idem", {"item_id": "idem-msg"}, "passenger-9", text="rude")
    first = api.post("/v1/reports", json=body)
    again = api.post("/v1/reports", json=body)
    assert (first.status_code, again.status_code) == (201, 200) and again.json() == first.json()
    assert_problem(api.post("/v1/reports", json=body | {"text": "something else"}), 409, "conflict")
    assert api.get("/v1/reports/rep-idem").json()["case"]["reports"] == 1


@pytest.mark.parametrize(
    "body, fault",
    [
        (report("bad-1", {"item_id": "bad-msg"}, "p", text="x" * 1_000_000), None),  # 1 MB of the reporter's words
        (report("bad-2", {"item_id": "bad-msg"}, "p", category="rude"), "category"),  # not in the policy's list
        (report("bad-3", {"item_id": "bad-msg", "author_id": "driver-4"}, "p"), None),  # both target fields
        (report("bad-4", {}, "p"), None),  # neither
        (report("bad-5", {"item_id": "bad-msg"}, "driver-4"), "self_report"),  # the author reporting their own message
        (report("bad-6", {"author_id": "driver-4"}, "driver-4"), "self_report"),
        (report("bad-7", {"item_id": "no-such-message"}, "p"), "unknown_target"),
        (report("bad-8", {"author_id": "no-such-member"}, "p"), "unknown_target"),
        (report("bad-9", {"item_id": "bad-msg"}, "p", context_item_ids=["ghost"]), "unknown_context_item"),
        (report("bad-10", {"item_id": "bad-msg"}, "p", severity=5), None),  # unknown field
        (report("bad-11", {"item_id": "bad-msg"}, "p", context_items=[text_item("bad-inline", "")]), "empty"),  # a refused inline item
        (report("bad-12", {"item_id": "bad-msg"}, "p", context_items=[text_item("bad-inline-ok", "salut")],
                context_item_ids=["ghost"]), "unknown_context_item"),  # refused before the inline item is moderated
    ],
)
def test_bad_report_is_refused_with_a_problem_and_stores_nothing(pipeline, body: dict[str, Any], fault: str | None) -> None:
    api, _ = pipeline
    api.post("/v1/moderate", json={"items": [text_item("bad-msg", "On se retrouve gare Part-Dieu", author="driver-4")]})
    problem = assert_problem(api.post("/v1/reports", json=body), 422)
    if fault:
        assert problem.get("fault") == fault, problem
    assert_problem(api.get(f"/v1/reports/{body['id']}"), 404)
    assert api.get("/v1/items/bad-inline-ok").status_code == 404


def test_reporter_in_bad_faith_has_open_reports_closed_and_new_ones_weigh_nothing(hooked, pipeline) -> None:
    live, _ = hooked
    api, _ = pipeline
    api.post("/v1/moderate", json={"items": [text_item("bf-msg", "Je serai la a 18h", author="driver-5")]})
    reporter_record(live, "troll", 3, 0)  # upheld before: weighs 4 and reopens alone
    assert api.post("/v1/reports", json=report("bf-1", {"item_id": "bf-msg"}, "troll")).json()["case"]["in_review"]
    with moderator(live) as mod:
        marked = mod.post("/v1/review/reporters/troll/bad-faith", json={"note": "reports every driver he rides with"})
        assert marked.status_code == 200, marked.text
        assert marked.json()["closed_reports"] == 1 and marked.json()["bad_faith"] and marked.json()["weight"] == 0.0
        assert_problem(mod.get("/v1/review/reporters/nobody-known"), 404)
    closed = api.get("/v1/reports/bf-1").json()
    assert closed["status"] == "closed" and closed["case"]["status"] == "closed" and not closed["case"]["in_review"]
    later = api.post("/v1/reports", json=report("bf-2", {"author_id": "driver-5"}, "troll")).json()
    assert later["weight"] == 0.0 and not later["case"]["in_review"]


def test_report_routes_need_their_scopes_and_a_key_reads_only_its_own_reports(hooked, pipeline) -> None:
    live, _ = hooked
    api, _ = pipeline
    api.post("/v1/moderate", json={"items": [text_item("scope-msg", "A demain", author="driver-6")]})
    assert api.post("/v1/reports", json=report("scope-1", {"item_id": "scope-msg"}, "p-6")).status_code == 201
    with live.client(live.api_key("reader", scopes=("items:read",))) as reader:
        assert_problem(reader.post("/v1/reports", json=report("scope-2", {"item_id": "scope-msg"}, "p-7")), 403)
        assert_problem(reader.get("/v1/reports/scope-1"), 404)  # another key's report
    with live.client(live.api_key("writer", scopes=("moderate",))) as writer:
        assert_problem(writer.get("/v1/reports/scope-1"), 403)
        # another key's item is unknown to this key: not a target
        problem = assert_problem(writer.post("/v1/reports", json=report("scope-3", {"item_id": "scope-msg"}, "p-7")), 422)
        assert problem["fault"] == "unknown_target"
    with live.client() as anon:
        assert_problem(anon.get("/v1/reports/scope-1"), 401)
