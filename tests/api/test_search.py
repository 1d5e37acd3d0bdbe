"""The search route and the item page over real HTTP: a moderator's session finds items and
reads an item with its text and audit trail; every bad parameter is a 422; API keys and
anonymous callers are refused."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pytest
from review_helpers import policy_text, review_item
from servers import LiveService, assert_problem, make_settings

PASSWORD = "s3cret-pass"


@pytest.fixture(scope="module")
def live(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    tmp = tmp_path_factory.mktemp("search")
    path = tmp / "policy.yaml"
    path.write_text(policy_text(), encoding="utf-8")
    svc = LiveService(make_settings(tmp, policy_path=path))
    svc.service.accounts.create_user("mod", PASSWORD, "moderator")
    svc.service.store.save_items([
        review_item("s-fr", text="Le conducteur était très en retard à la gare", author="zoé", queue="texts"),
        review_item("s-en", text="The driver was late, call 06 12 34 56 78", author="sam", decision="approve", queue=None),
        review_item("s/slash", text="an id with a slash", author="sam", decision="approve", queue=None),
    ])
    try:
        yield svc
    finally:
        svc.stop()


@contextlib.contextmanager
def moderator(live: LiveService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as c:
        resp = c.post("/v1/auth/login", json={"username": "mod", "password": PASSWORD})
        assert resp.status_code == 200, resp.text
        c.headers["X-CSRF-Token"] = resp.json()["csrf_token"]
        yield c


def test_search_finds_words_without_their_accents(live: LiveService) -> None:
    with moderator(live) as c:
        body = c.get("/v1/review/search", params={"q": "etait TRES"}).json()
    [hit] = body["hits"]
    assert hit["id"] == "s-fr" and hit["author_id"] == "zoé" and hit["url"] == "/review/items/s-fr"
    assert [hit["excerpt"][s:e] for s, e in hit["highlights"]] == ["était", "très"]
    assert hit["review"] == [{"queue": "texts", "status": "open"}] and hit["final_decision"] is None
    assert body["more"] is False and body["limit"] == 20 and body["offset"] == 0


def test_search_combines_words_and_filters(live: LiveService) -> None:
    with moderator(live) as c:
        assert [h["id"] for h in c.get("/v1/review/search", params={"author_id": "sam"}).json()["hits"]] == ["s/slash", "s-en"]
        assert [h["id"] for h in c.get("/v1/review/search", params={"q": "late", "decision": "approve", "category": "contact_info"}).json()["hits"]] == ["s-en"]
        assert c.get("/v1/review/search", params={"q": "late", "decision": "review"}).json()["hits"] == []
        assert [h["id"] for h in c.get("/v1/review/search", params={"queue": "texts", "since": "2020-01-01T00:00:00Z"}).json()["hits"]] == ["s-fr"]
        assert [h["url"] for h in c.get("/v1/review/search", params={"item_id": "s/slash"}).json()["hits"]] == ["/review/items/s%2Fslash"]


# Each case: parameters a moderator's search refuses with a 422.
@pytest.mark.parametrize(
    "params",
    [
        {"q": "..."},  # no word in the query
        {"q": ""},
        {"q": "x" * 201},
        {"q": " ".join(f"w{k}" for k in range(17))},  # too many words
        {"q": "a\x00b"},
        {"decision": "maybe"},
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"offset": -1},
        {"offset": 10_001},
        {"since": "yesterday"},
        {"since": "2026-01-01T00:00:00"},  # no time zone
        {"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
        {"since": "0001-01-01T00:00:00+05:00"},  # before year 1 once in UTC
        {"author_id": "a\nb"},  # a control character
        {"category": "c" * 65},
    ],
)
def test_bad_search_parameters_are_422(live: LiveService, params: dict) -> None:
    with moderator(live) as c:
        assert_problem(c.get("/v1/review/search", params=params), 422)


def test_search_needs_a_moderator_session(live: LiveService) -> None:
    assert_problem(httpx.get(live.url + "/v1/review/search", params={"q": "late"}), 401)
    key = live.api_key("search")
    assert_problem(httpx.get(live.url + "/v1/review/search", params={"q": "late"}, headers={"Authorization": f"Bearer {key}"}), 403)


def test_review_item_has_its_text_author_link_and_audit_trail(live: LiveService) -> None:
    with moderator(live) as c:
        [task] = c.post("/v1/review/claim", json={"limit": 1, "queue": "texts"}).json()["tasks"]
        assert c.post(f"/v1/review/tasks/{task['task_id']}/decision", json={"decision": "reject", "note": "insulte"}).status_code == 200
        item = c.get("/v1/review/items/s-fr").json()
    assert item["text"].startswith("Le conducteur") and item["image_url"] is None
    assert item["author_url"] == "/review/authors/zo%C3%A9"
    assert [(h["kind"], h["decision"], h["actor"], h["note"]) for h in item["history"]] == [("auto", "review", "policy", None), ("human", "reject", "user:mod", "insulte")]
    actions = [a["action"] for a in item["audit"]]
    assert actions == ["review.claim", "review.human_decision"]
    assert item["audit"][-1]["detail"]["note"] == "insulte"


def test_item_page_is_served_with_the_ui_csp_whatever_the_id(live: LiveService) -> None:
    for path in ("/review/items/s-fr", "/review/items/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "/review/items/a/b"):
        resp = httpx.get(live.url + path)
        assert resp.status_code == 200 and "default-src 'none'" in resp.headers["content-security-policy"]
        assert "<script>alert" not in resp.text and "/review/static/item.js" in resp.text
