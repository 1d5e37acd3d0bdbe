"""The member side end to end, through the real API on SQLite and on PostgreSQL, with a real
Ray and a real webhook receiver: reports prioritised by reporter weight and upheld, the
author's strikes and state changing, their enforcement delivered signed, an appeal decided
by a second moderator (four-eyes) that takes back the strike, the account action and the
photo ban, all in the audit log; and the appeals that must be refused, refused whole."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from images import make_jpeg
from review_helpers import policy_text
from servers import (
    STAFF_PASSWORD,
    LiveService,
    Receiver,
    assert_problem,
    free_port,
    fresh_postgres_database,
    login,
    make_settings,
    text_item,
    wait_for,
)
from sqlalchemy import insert, select, update

from moderation import webhooks
from moderation.store.repository import utcnow
from moderation.store.tables import api_keys, decisions, items, reporters


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def hooked(request: pytest.FixtureRequest, ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveService, Receiver]]:
    tmp = tmp_path_factory.mktemp(f"members-{request.param}")
    path = tmp / "policy.yaml"
    path.write_text(policy_text(review="  undo_seconds: 1\n  webhook_retry_base_seconds: 0.2\n"), encoding="utf-8")
    extra: dict[str, Any] = {}
    if request.param == "postgres":
        extra["database_url"] = fresh_postgres_database(request.getfixturevalue("postgres_url"))
    # The receiver listens on loopback, which only an allow-listed receiver may.
    svc = LiveService(make_settings(tmp, policy_path=path, webhook_allowed_hosts=["127.0.0.1"], **extra))
    for name in ("mod", "mod2"):
        svc.service.accounts.create_user(name, STAFF_PASSWORD, "moderator")
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


def events(receiver: Receiver, kind: str, **match: Any) -> list[tuple[dict[str, str], bytes, dict[str, Any]]]:
    out = [(h, b, json.loads(b)) for h, b in receiver.received]
    return [(h, b, e) for h, b, e in out if e["type"] == kind and all(e.get(k) == v for k, v in match.items())]


def signed(receiver: Receiver, secret: str, kind: str, **match: Any) -> dict[str, Any]:
    """The one event of this kind (and these fields), once it has arrived, checked as a receiver checks it."""
    wait_for(lambda: len(events(receiver, kind, **match)) == 1, what=f"one {kind} event {match}")
    [(headers, body, event)] = events(receiver, kind, **match)
    assert webhooks.verify(secret, body, headers["x-moderation-signature"])
    return event


def report(rid: str, item_id: str, reporter: str, **extra: Any) -> dict[str, Any]:
    return {"id": rid, "reporter_id": reporter, "target": {"item_id": item_id}, "category": "profanity", **extra}


def decide(mod: httpx.Client, queue: str, item_id: str, body: dict[str, Any]) -> dict[str, Any]:
    tasks = mod.post("/v1/review/claim", json={"limit": 20, "queue": queue}).json()["tasks"]
    [task] = [t for t in tasks if t["item"]["id"] == item_id]
    resp = mod.post(f"/v1/review/tasks/{task['task_id']}/decision", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_report_uphold_strike_enforcement_appeal_and_overturn(hooked, pipeline) -> None:
    live, receiver = hooked
    api, secret = pipeline
    # Two ratings leaking a phone number: rejected automatically, a strike each (contact_info weighs 1).
    ratings = [text_item(f"rate-{k}", f"super trajet, appelle moi au 06 12 34 56 7{k}", context="rating", author="driver") for k in range(2)]
    results = api.post("/v1/moderate", json={"items": ratings}).json()["results"]
    assert [r["decision"] for r in results] == ["reject", "reject"]
    assert results[-1]["author"] == {
        "author_id": "driver",
        "state": "active",
        "suspended_until": None,
        "strikes": 2,
        "next_threshold": {"strikes": 3, "action": "warn", "days": None},
    }

    # A member reports a message with its conversation; two others report it too; a trusted
    # member's report on another message goes first.
    conversation = [
        text_item("conv-1", "Bonjour, il reste une place pour Lyon ?", author="passenger-1"),
        text_item("conv-2", "Oui mais tu paieras double, t'es vraiment lourd", author="driver"),
    ]
    assert {r["decision"] for r in api.post("/v1/moderate", json={"items": conversation}).json()["results"]} == {"approve"}
    filed = api.post("/v1/reports", json=report("m-rep-1", "conv-2", "passenger-1", text="il m'insulte", context_item_ids=["conv-1"]))
    assert filed.status_code == 201, filed.text
    api.post("/v1/moderate", json={"items": [text_item("other-1", "Depart 8h, pas de retard svp", author="driver-2")]})
    with live.service.engine.begin() as conn:
        conn.execute(insert(reporters).values(reporter_id="m-trusted", upheld=5, dismissed=0, updated_at=utcnow()))
    assert api.post("/v1/reports", json=report("m-rep-trusted", "other-1", "m-trusted")).json()["case"]["in_review"]
    for rid, who in (("m-rep-2", "passenger-2"), ("m-rep-3", "passenger-3")):
        assert api.post("/v1/reports", json=report(rid, "conv-2", who)).status_code == 201

    with login(live, "mod") as mod:
        tasks = mod.post("/v1/review/claim", json={"limit": 10, "queue": "reports"}).json()["tasks"]
        assert [t["item"]["id"] for t in tasks] == ["other-1", "conv-2"]  # the heavier case first
        upheld = mod.post(f"/v1/review/tasks/{tasks[1]['task_id']}/decision", json={"decision": "uphold", "note": "insults"})
        assert upheld.status_code == 200, upheld.text
    for rid in ("m-rep-1", "m-rep-2", "m-rep-3"):
        assert signed(receiver, secret, "report.decided", report_id=rid)["outcome"] == "upheld"

    # The rejection counted a profanity strike (2): 4 live, over warn at 3.
    author = api.get("/v1/authors/driver").json()
    assert (author["author"]["state"], author["author"]["strikes"]) == ("warned", 4)
    assert {s["item_id"] for s in author["strikes"] if s["live"]} == {"rate-0", "rate-1", "conv-2"}
    [warn] = [e for e in author["enforcements"] if e["action"] == "warn"]
    assert sorted(r["id"] for r in author["reports_received"]) == ["m-rep-1", "m-rep-2", "m-rep-3"]
    taken = signed(receiver, secret, "enforcement.taken", enforcement_id=warn["id"])
    assert taken["author"]["state"] == "warned" and taken["statement"]["ground"]["category"] == "profanity"
    assert taken["statement"]["automated"] is True and taken["statement"]["appeal"]["possible"]

    # The author appeals; the moderator who upheld never gets it; a second one overturns.
    appealed = api.post(
        "/v1/appeals",
        json={"id": "ap-conv-2", "item_id": "conv-2", "author_id": "driver", "statement": "Je plaisantais avec un ami, il le dit lui-même."},
    )
    assert appealed.status_code == 201, appealed.text
    task_id = appealed.json()["task_id"]
    with login(live, "mod") as mod:
        assert mod.post("/v1/review/claim", json={"limit": 10, "queue": "appeals"}).json()["tasks"] == []
        assert assert_problem(mod.post(f"/v1/review/tasks/{task_id}/decision", json={"decision": "overturn"}), 403)["fault"] == "four_eyes"
    with login(live, "mod2") as mod2:
        out = decide(mod2, "appeals", "conv-2", {"decision": "overturn", "note": "banter between friends"})
        assert out["final_decision"] == "approve" and out["enforcements_undone"] == [warn["id"]]
        stats = mod2.get("/v1/review/stats").json()["appeals"]
        assert {r["key"]: r["overturned"] for r in stats["by_moderator"]}["user:mod"] == 1
    decided = signed(receiver, secret, "appeal.decided", appeal_id="ap-conv-2")
    assert (decided["outcome"], decided["final_decision"], decided["author"]["state"]) == ("overturned", "approve", "active")
    assert signed(receiver, secret, "enforcement.undone", enforcement_id=warn["id"])["author"]["strikes"] == 2
    assert api.get("/v1/items/conv-2").json()["final_decision"] == "approve"
    author = api.get("/v1/authors/driver").json()
    assert (author["author"]["state"], author["author"]["strikes"]) == ("active", 2)
    assert [a["status"] for a in author["appeals"]] == ["overturned"]
    _, log = live.service.review.reports.audit_entries(limit=500)
    actions = {(a["action"], a["actor"]) for a in log}
    assert {
        ("report.upheld", "user:mod"),
        ("enforcement.warn", "user:mod"),
        ("appeal.filed", f"api-key:{_key_id(live)}"),
        ("appeal.overturned", "user:mod2"),
        ("enforcement.undone", "user:mod2"),
    } <= actions
    [overturned] = [a for a in log if a["action"] == "appeal.overturned"]
    assert (overturned["detail"]["decision_by"], overturned["detail"]["decided_by"]) == ("user:mod", "user:mod2")


def test_restricted_author_photo_goes_to_review_and_an_overturned_ban_leaves_the_bank(hooked, pipeline) -> None:
    live, receiver = hooked
    api, secret = pipeline
    api.post("/v1/moderate", json={"items": [text_item("poster-hi", "Bonjour a tous", author="poster")]})
    photo = make_jpeg(seed=41)
    with login(live, "mod") as mod:
        assert_problem(mod.post("/v1/review/authors/poster/actions", json={"action": "restrict", "note": ""}), 422)
        acted = mod.post("/v1/review/authors/poster/actions", json={"action": "restrict", "note": "many complaints from riders"})
        assert acted.status_code == 201, acted.text
        assert acted.json()["author"]["state"] == "restricted"
        item = {"id": "poster-car", "type": "photo", "context": "car_photo", "author_id": "poster", "image_b64": base64.b64encode(photo).decode()}
        [result] = api.post("/v1/moderate", json={"items": [item]}).json()["results"]
        assert result["decision"] == "review" and result["author"]["state"] == "restricted"
        assert [r["category"] for r in result["reasons"]][-1] == "account_restricted"
        out = decide(mod, "photos", "poster-car", {"decision": "reject", "ban": True, "note": "stolen picture"})
        assert out["banned"]
    assert signed(receiver, secret, "enforcement.taken", author_id="poster")["action"] == "restrict"
    with login(live, "mod2") as mod2:
        wait_for(lambda: mod2.get("/v1/review/items/poster-car/bank-entries").json()["entries"] != [], what="the ban applied")
        appealed = api.post(
            "/v1/appeals",
            json={
                "id": "ap-poster-car",
                "item_id": "poster-car",
                "author_id": "poster",
                "statement": "This is my own car, here is the registration.",
            },
        )
        assert appealed.status_code == 201, appealed.text
        out = decide(mod2, "appeals", "poster-car", {"decision": "overturn", "note": "owner proved it"})
        assert [e[0] for e in out["bank_entries_removed"]] == ["banned"]
        assert mod2.get("/v1/review/items/poster-car/bank-entries").json()["entries"] == []
    assert api.get("/v1/items/poster-car").json()["final_decision"] == "approve"


def _key_id(live: LiveService) -> int:
    with live.service.engine.connect() as conn:
        return int(conn.execute(select(api_keys.c.id).where(api_keys.c.name == "carpool")).scalar_one())


@pytest.mark.parametrize(
    "body, status, fault",
    [
        ({"item_id": "bad-nowhere", "author_id": "bad-author"}, 404, "unknown_item"),  # an unknown item
        ({"item_id": "bad-rated", "author_id": "someone-else"}, 403, "not_the_author"),  # by another member
        ({"item_id": "bad-fine", "author_id": "bad-author"}, 409, "not_refused"),  # an approved item
        ({"item_id": "bad-rated", "author_id": "bad-author", "statement": "x" * 1_000_000}, 422, None),  # 1 MB of words
        ({"item_id": "bad-rated", "enforcement_id": 1, "author_id": "bad-author"}, 422, None),  # two targets
        ({"author_id": "bad-author"}, 422, None),  # none
        ({"item_id": "bad-rated", "author_id": "bad-author", "mood": "angry"}, 422, None),  # an unknown field
    ],
)
def test_bad_appeal_is_refused_with_a_problem_and_stores_nothing(pipeline, body: dict[str, Any], status: int, fault: str | None) -> None:
    api, _ = pipeline
    api.post(
        "/v1/moderate",
        json={
            "items": [
                text_item("bad-rated", "appelle moi au 06 11 22 33 44 pour le trajet", context="rating", author="bad-author"),
                text_item("bad-fine", "Merci pour le trajet", author="bad-author"),
            ]
        },
    )
    appeal_id = f"bad-{abs(hash(json.dumps(body, sort_keys=True))) % 10**8}"
    problem = assert_problem(api.post("/v1/appeals", json={"id": appeal_id, "statement": "please"} | body), status)
    if fault:
        assert problem["fault"] == fault, problem
    assert_problem(api.get(f"/v1/appeals/{appeal_id}"), 404)


def test_appeal_twice_or_after_the_window_is_a_conflict(hooked, pipeline) -> None:
    live, _ = hooked
    api, _ = pipeline
    api.post(
        "/v1/moderate",
        json={
            "items": [
                text_item(f"win-{k}", f"appelle moi au 06 11 22 33 4{k} pour le trajet", context="rating", author="win-author") for k in range(2)
            ]
        },
    )
    body = {"id": "win-appeal-0", "item_id": "win-0", "author_id": "win-author", "statement": "my number was fake"}
    assert api.post("/v1/appeals", json=body).status_code == 201
    assert api.post("/v1/appeals", json=body).status_code == 200  # the same appeal again: replayed
    assert assert_problem(api.post("/v1/appeals", json=body | {"id": "win-appeal-0b"}), 409)["fault"] == "already_appealed"
    # the other rejection was made 15 days ago, as an old decision would have left it
    old = utcnow() - timedelta(days=15)
    with live.service.engine.begin() as conn:
        conn.execute(update(items).where(items.c.id == "win-1").values(created_at=old, updated_at=old))
        pk = conn.execute(items.select().where(items.c.id == "win-1")).one().pk
        conn.execute(update(decisions).where(decisions.c.item_pk == pk).values(created_at=old))
    late = body | {"id": "win-appeal-1", "item_id": "win-1"}
    assert assert_problem(api.post("/v1/appeals", json=late), 409)["fault"] == "window_closed"
    assert_problem(api.get("/v1/appeals/win-appeal-1"), 404)


def test_author_page_is_for_items_read_keys_and_moderators(hooked, pipeline) -> None:
    live, _ = hooked
    api, _ = pipeline
    api.post("/v1/moderate", json={"items": [text_item("page-1", "Bonjour", author="page-author")]})
    assert api.get("/v1/authors/page-author").json()["items"][0]["id"] == "page-1"
    with live.client(live.api_key("writer-only", scopes=("moderate",))) as writer:
        assert_problem(writer.get("/v1/authors/page-author"), 403)
    with live.client(live.api_key("stranger", scopes=("items:read",))) as stranger:
        assert_problem(stranger.get("/v1/authors/page-author"), 404)  # it sent none of their items
    with live.client() as anon:
        assert_problem(anon.get("/v1/authors/page-author"), 401)
    with login(live, "mod") as mod:
        assert mod.get("/v1/authors/page-author").json()["author"]["state"] == "active"


def test_a_campaign_detected_flags_its_earlier_approved_copies(hooked, pipeline) -> None:
    live, receiver = hooked
    api, secret = pipeline
    settings = live.service.policy.campaigns
    text = "Gagnez 400 euros par semaine en conduisant pour nous, écrivez vite au recruteur campagne-retro"
    results = []
    for k in range(settings.min_authors):
        [r] = api.post("/v1/moderate", json={"items": [text_item(f"camp-{k}", text, author=f"camp-author-{k}")]}).json()["results"]
        results.append(r)
    assert [r["decision"] for r in results] == ["approve"] * (settings.min_authors - 1) + ["review"]
    api.post("/v1/moderate", json={"items": [text_item("camp-other", "Départ demain 8h de Lyon, deux places libres", author="camp-x")]})
    for k in range(settings.min_authors - 1):
        item = api.get(f"/v1/items/camp-{k}").json()
        assert (item["status"], item["final_decision"], item["first_decision"]) == ("pending_review", None, "approve")
        [reason] = [r for r in item["reasons"] if r["detector"] == "campaign"]
        assert reason["detail"]["retroactive"] and reason["detail"]["campaign_item"] == f"camp-{settings.min_authors - 1}"
        assert [h["actor"] for h in item["history"]] == ["policy", "campaign"]
        flagged = signed(receiver, secret, "item.flagged", item_id=f"camp-{k}")
        assert flagged["status"] == "pending_review" and flagged["reasons"][-1]["detector"] == "campaign"
    assert api.get("/v1/items/camp-other").json()["final_decision"] == "approve"  # another text is no copy
    with login(live, "mod") as mod:
        tasks = mod.post("/v1/review/claim", json={"limit": 50, "queue": "contact-info"}).json()["tasks"]
        assert {f"camp-{k}" for k in range(settings.min_authors)} <= {t["item"]["id"] for t in tasks}
        for t in tasks:
            mod.post(f"/v1/review/tasks/{t['task_id']}/release")


def test_a_case_decision_and_an_account_action_are_undone_through_the_api(hooked, pipeline) -> None:
    live, _ = hooked
    api, _ = pipeline
    api.post("/v1/moderate", json={"items": [text_item("undo-msg", "T'es qu'un idiot de conducteur", author="undo-driver")]})
    with live.service.engine.begin() as conn:
        conn.execute(insert(reporters).values(reporter_id="undo-trusted", upheld=5, dismissed=0, updated_at=utcnow()))
    assert api.post("/v1/reports", json=report("undo-rep", "undo-msg", "undo-trusted")).json()["case"]["in_review"]
    with login(live, "mod") as mod:
        out = decide(mod, "reports", "undo-msg", {"decision": "uphold", "note": "insult"})
        undone = mod.post(f"/v1/review/report-cases/{out['case_id']}/undo", json={"why": "misread"})
        assert undone.status_code == 200, undone.text
        assert undone.json()["task"]["queue"] == "reports" and undone.json()["item_decision_id"] == out["item_decision_id"]
        assert api.get("/v1/reports/undo-rep").json()["case"]["status"] == "open"
        acted = mod.post("/v1/review/authors/undo-driver/actions", json={"action": "suspend", "days": 2, "note": "threats"}).json()
        assert acted["author"]["state"] == "suspended"
        back = mod.post(f"/v1/review/enforcements/{acted['enforcement_id']}/undo", json={"why": "wrong account"})
        assert back.status_code == 200 and back.json()["author"]["state"] == "active"
        assert_problem(mod.post(f"/v1/review/enforcements/{acted['enforcement_id']}/undo"), 409)
    with login(live, "mod2") as mod2:
        assert_problem(mod2.post(f"/v1/review/report-cases/{out['case_id']}/undo"), 409)  # open again: nothing to undo
