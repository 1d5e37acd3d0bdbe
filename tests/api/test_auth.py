"""Moderator authentication and authorization over real HTTP: sessions, CSRF, roles, and
every refusal (no session, API key, wrong role, missing CSRF token, expired session)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from review_helpers import policy_text, review_item
from servers import (
    STAFF_PASSWORD,
    LiveService,
    login,
    make_settings,
    photo_item,
    wait_for,
)

PASSWORD = STAFF_PASSWORD


@pytest.fixture(scope="module")
def live(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    tmp = tmp_path_factory.mktemp("auth")
    path = tmp / "policy.yaml"
    path.write_text(policy_text(review="  undo_seconds: 1\n"), encoding="utf-8")
    svc = LiveService(make_settings(tmp, policy_path=path))
    svc.service.accounts.create_user("mod", PASSWORD, "moderator")
    svc.service.accounts.create_user("boss", PASSWORD, "admin")
    try:
        yield svc
    finally:
        svc.stop()




def test_login_sets_httponly_strict_cookie_and_returns_csrf(live: LiveService) -> None:
    with httpx.Client(base_url=live.url) as c:
        resp = c.post("/v1/auth/login", json={"username": "mod", "password": PASSWORD})
        assert resp.status_code == 200
        body = resp.json()
        assert body["username"] == "mod" and body["role"] == "moderator" and len(body["csrf_token"]) > 20
        cookie = resp.headers["set-cookie"].lower()
        assert "moderation_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        assert "secure" not in cookie  # plain HTTP here; over TLS the cookie is Secure
        assert c.get("/v1/auth/session").json()["csrf_token"] == body["csrf_token"]


@pytest.mark.parametrize(
    "username, password",
    [("mod", "wrong-password"), ("nobody", PASSWORD), ("", PASSWORD)],  # wrong password, unknown user, empty
)
def test_bad_login_is_refused_without_saying_why(live: LiveService, username: str, password: str) -> None:
    with httpx.Client(base_url=live.url) as c:
        resp = c.post("/v1/auth/login", json={"username": username, "password": password})
        assert resp.status_code in (401, 422)
        assert "set-cookie" not in resp.headers
        if resp.status_code == 401:
            assert resp.json()["detail"] == "wrong username or password"


ROUTES = [
    ("POST", "/v1/review/claim", {"limit": 1}),
    ("POST", "/v1/review/tasks/1/decision", {"decision": "approve"}),
    ("POST", "/v1/review/tasks/1/release", None),
    ("POST", "/v1/review/decisions/1/undo", None),
    ("POST", "/v1/review/bulk", {"task_ids": [1], "decision": "approve"}),
    ("GET", "/v1/review/stats", None),
    ("GET", "/v1/review/items/x/image", None),
    ("POST", "/v1/admin/policy/reload", None),
    ("GET", "/v1/admin/users", None),
    ("GET", "/v1/admin/audit", None),
    ("GET", "/v1/admin/audit.csv", None),
    ("GET", "/v1/admin/labels.jsonl", None),
    ("GET", "/v1/admin/backtests", None),
]
ADMIN_ROUTES = [r for r in ROUTES if r[1].startswith("/v1/admin")] + [("POST", "/v1/admin/users", {"username": "x1", "password": "12345678"})]


@pytest.mark.parametrize("method, path, body", ROUTES)
def test_review_and_admin_routes_refuse_anonymous_callers(live: LiveService, method: str, path: str, body) -> None:
    with httpx.Client(base_url=live.url) as c:
        resp = c.request(method, path, json=body)
        assert resp.status_code == 401, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("method, path, body", ROUTES)
def test_api_keys_cannot_reach_review_or_admin_routes(live: LiveService, method: str, path: str, body) -> None:
    with live.client(live.api_key("pipeline")) as c:
        resp = c.request(method, path, json=body)
        assert resp.status_code == 403, resp.text
        assert "API keys" in resp.json()["detail"]


@pytest.mark.parametrize("method, path, body", ADMIN_ROUTES)
def test_moderators_cannot_reach_admin_routes(live: LiveService, method: str, path: str, body) -> None:
    with login(live, "mod") as c:
        resp = c.request(method, path, json=body)
        assert resp.status_code == 403, resp.text
        assert "admin" in resp.json()["detail"]


def test_state_changing_calls_need_the_csrf_token(live: LiveService) -> None:
    with login(live, "mod") as c:
        token = c.headers.pop("X-CSRF-Token")
        assert c.post("/v1/review/claim", json={"limit": 1}).status_code == 403
        assert c.post("/v1/review/claim", json={"limit": 1}, headers={"X-CSRF-Token": "forged"}).status_code == 403
        assert c.post("/v1/auth/logout").status_code == 403
        assert c.get("/v1/review/stats").status_code == 200  # reads need no token
        assert c.post("/v1/review/claim", json={"limit": 1}, headers={"X-CSRF-Token": token}).status_code == 200


def test_logout_ends_the_session(live: LiveService) -> None:
    with login(live, "mod") as c:
        cookie = c.cookies.get("moderation_session")
        assert c.post("/v1/auth/logout").status_code == 204
    with httpx.Client(base_url=live.url, cookies={"moderation_session": cookie}) as replay:
        assert replay.get("/v1/review/stats").status_code == 401


def test_expired_session_is_refused(live: LiveService) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from moderation.store.repository import hash_secret, utcnow
    from moderation.store.tables import sessions

    with login(live, "mod") as c:
        token = c.cookies.get("moderation_session")
        with live.service.engine.begin() as conn:
            conn.execute(update(sessions).where(sessions.c.token_hash == hash_secret(token)).values(expires_at=utcnow() - timedelta(seconds=1)))
        resp = c.get("/v1/review/stats")
    assert resp.status_code == 401 and "expired" in resp.json()["detail"]


def test_admin_reloads_policy_manages_users_and_exports_audit(live: LiveService) -> None:
    with login(live, "boss") as admin:
        resp = admin.post("/v1/admin/policy/reload")
        assert resp.status_code == 200 and resp.json()["version"]
        assert admin.post("/v1/admin/users", json={"username": "newbie", "password": "longenough", "role": "moderator"}).status_code == 201
        assert admin.post("/v1/admin/users", json={"username": "newbie", "password": "longenough"}).status_code == 409
        assert "newbie" in [u["username"] for u in admin.get("/v1/admin/users").json()["users"]]
        with httpx.Client(base_url=live.url) as newbie:
            assert newbie.post("/v1/auth/login", json={"username": "newbie", "password": "longenough"}).status_code == 200
            assert admin.post("/v1/admin/users/newbie/disable").status_code == 204
            assert newbie.get("/v1/review/stats").status_code == 401  # disabling ends the sessions
        audit = admin.get("/v1/admin/audit", params={"action": "policy.reload"}).json()
        assert audit["entries"][0]["actor"] == "user:boss"
        csv_text = admin.get("/v1/admin/audit.csv").text
        assert csv_text.startswith("id,at,actor,action,target,detail") and "auth.login" in csv_text and "user.disable" in csv_text


def test_review_flow_over_http_image_headers_and_item_state(live: LiveService) -> None:
    from images import make_jpeg

    img = make_jpeg(seed=77)
    live.service.store.save_items([review_item("http-photo", image=img, queue="photos-sensitive", priority=1)])
    with login(live, "mod") as c:
        tasks = c.post("/v1/review/claim", json={"limit": 5, "queue": "photos-sensitive"}).json()["tasks"]
        [task] = [t for t in tasks if t["item"]["id"] == "http-photo"]
        resp = c.get(task["item"]["image_url"])
        assert resp.status_code == 200 and resp.content == img and resp.headers["content-type"] == "image/jpeg"
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in resp.headers["content-security-policy"]
        d = c.post(f"/v1/review/tasks/{task['task_id']}/decision", json={"decision": "reject", "note": "nude"}).json()
        again = c.post(f"/v1/review/tasks/{task['task_id']}/decision", json={"decision": "approve"})
        assert again.status_code == 409
        state = c.get("/v1/review/items/http-photo").json()
        assert state["human_decision"] == "reject" and state["final_decision"] == "reject"
        assert state["history"][-1]["decision_id"] == d["decision_id"]
    page = httpx.get(live.url + "/review")
    assert "script-src 'self'" in page.headers["content-security-policy"] and page.headers["x-frame-options"] == "DENY"


def test_failed_logins_lock_out_the_guessing_address_but_not_the_real_user(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> None:
    from moderation.auth import LOGIN_MAX_PER_ACCOUNT

    svc = LiveService(make_settings(tmp_path_factory.mktemp("throttle"), trusted_proxies=["127.0.0.1"]))
    try:
        svc.service.accounts.create_user("victim", PASSWORD, "moderator")
        with httpx.Client(base_url=svc.url, timeout=30) as c:
            def login(password: str, address: str) -> httpx.Response:
                return c.post("/v1/auth/login", json={"username": "victim", "password": password}, headers={"X-Forwarded-For": address})

            for k in range(LOGIN_MAX_PER_ACCOUNT):
                assert login(f"guess-{k}", f"203.0.113.{k % 3}").status_code == 401
            refused = login(PASSWORD, "203.0.113.1")  # even the right password, from a guessing address
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
            assert login(PASSWORD, "198.51.100.20").status_code == 200  # the real user, elsewhere
    finally:
        svc.stop()


def test_reject_and_ban_bans_every_copy_and_an_admin_unban_lifts_it(live: LiveService) -> None:
    from images import make_jpeg

    photo = make_jpeg(seed=4242)
    live.service.store.save_items([review_item("ban-me", image=photo, queue="ban-queue", author="u-ban")])
    key = live.api_key()
    with login(live, "boss") as admin:
        [task] = [t for t in admin.post("/v1/review/claim", json={"limit": 100, "queue": "ban-queue"}).json()["tasks"]]
        decided = admin.post(f"/v1/review/tasks/{task['task_id']}/decision", json={"decision": "reject", "ban": True}).json()
        assert decided["banned"] is True
        wait_for(lambda: admin.get("/v1/review/items/ban-me/bank-entries").json()["entries"], timeout=30, what="the ban applied")
        [entry] = admin.get("/v1/review/items/ban-me/bank-entries").json()["entries"]
        assert entry["bank"] == "banned"
        with live.client(key) as c:
            copy = c.post("/v1/moderate", json={"items": [photo_item("ban-copy-1", photo, author="someone-else")]}).json()["results"][0]
            assert copy["decision"] == "reject" and "banned_match" in {r["category"] for r in copy["reasons"]}
            with login(live, "mod") as mod:  # moderators see bans, only admins lift them
                assert mod.delete(f"/v1/review/items/ban-me/bans/{entry['entry_id']}").status_code == 403
            assert admin.delete(f"/v1/review/items/ban-me/bans/{entry['entry_id'] + 10**6}").status_code == 404
            assert admin.delete(f"/v1/review/items/ban-me/bans/{entry['entry_id']}").status_code == 204
            again = c.post("/v1/moderate", json={"items": [photo_item("ban-copy-2", photo, author="someone-else")]}).json()["results"][0]
            assert "banned_match" not in {r["category"] for r in again["reasons"]}
        left = admin.get("/v1/review/items/ban-me/bank-entries").json()["entries"]
        assert left == [], (left, live.service.store.list_bank("banned"))


def test_admin_lists_the_last_backtests_newest_first(live: LiveService) -> None:
    summary = {"policy_version": "v+1", "source": "store", "workers": "local", "items": 3, "changed": 1,
               "automation": {"before": {"value": 0.5}, "after": {"value": 0.75}},
               "precision": {"before": {"value": None}, "after": {"value": 1.0}}}
    first = live.service.store.save_backtest("cli", summary)
    second = live.service.store.save_backtest("cli", {**summary, "changed": 2})
    with login(live, "boss") as admin:
        resp = admin.get("/v1/admin/backtests", params={"limit": 2})
        assert resp.status_code == 200, resp.text
        rows = resp.json()["backtests"]
        assert [r["id"] for r in rows] == [second, first]
        assert rows[0]["changed"] == 2 and rows[1]["automation_after"] == 0.75 and rows[1]["precision_before"] is None
        assert admin.get("/v1/admin/backtests", params={"limit": 0}).status_code == 422
