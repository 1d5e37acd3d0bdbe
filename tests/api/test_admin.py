"""What admins do without curl, over real HTTP: API keys (list, create shown once, revoke),
users' roles, the audit log filtered and paged, banks listed and searched, the stats
series, the offline /docs and the home redirect. Moderators get 403 on each."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from images import make_jpeg
from servers import LiveService, assert_problem, login, staffed_service, text_item


@pytest.fixture(scope="module")
def live(
    ray_session: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    with staffed_service(tmp_path_factory.mktemp("admin")) as svc:
        yield svc


ADMIN_ONLY = [
    ("GET", "/v1/admin/keys", None),
    ("POST", "/v1/admin/keys", {"name": "x"}),
    ("POST", "/v1/admin/keys/1/revoke", None),
    ("POST", "/v1/admin/users/mod/role", {"role": "admin"}),
    ("GET", "/v1/banks", None),
]


@pytest.mark.parametrize("method, path, body", ADMIN_ONLY)
def test_moderators_are_refused_the_admin_routes(
    live: LiveService, method: str, path: str, body
) -> None:
    with login(live, "mod") as c:
        assert_problem(c.request(method, path, json=body), 403)


def test_admin_creates_a_key_shown_once_then_revokes_it(live: LiveService) -> None:
    with login(live, "boss") as admin:
        resp = admin.post(
            "/v1/admin/keys",
            json={"name": "pipeline-7", "scopes": ["moderate", "banks:read"]},
        )
        assert resp.status_code == 201, resp.text
        created = resp.json()
        assert created["key"].startswith("mk_") and created[
            "webhook_secret"
        ].startswith("whsec_")
        assert (
            created["scopes"] == ["moderate", "banks:read"]
            and created["revoked_at"] is None
        )
        assert resp.headers["cache-control"] == "no-store"
        with live.client(created["key"]) as pipeline:
            assert (
                pipeline.post(
                    "/v1/moderate", json={"items": [text_item("k-1")]}
                ).status_code
                == 200
            )
            listing = admin.get("/v1/admin/keys").json()["keys"]
            [row] = [k for k in listing if k["id"] == created["id"]]
            assert row["name"] == "pipeline-7" and created["key"].startswith(
                row["prefix"]
            )
            assert "key" not in row and "webhook_secret" not in row  # never shown again
            assert row["last_used_at"] is not None  # the pipeline's request above
            assert created["key"] not in admin.get("/v1/admin/keys").text
            assert (
                admin.post(f"/v1/admin/keys/{created['id']}/revoke").status_code == 204
            )
            # refused at once by this process, though the key was cached by its first use
            assert_problem(
                pipeline.post("/v1/moderate", json={"items": [text_item("k-2")]}), 401
            )
        [row] = [
            k
            for k in admin.get("/v1/admin/keys").json()["keys"]
            if k["id"] == created["id"]
        ]
        assert row["revoked_at"] is not None
        assert (
            admin.post(f"/v1/admin/keys/{created['id']}/revoke").status_code == 204
        )  # again: no change
        audit = admin.get("/v1/admin/audit", params={"action": "api_key."}).json()[
            "entries"
        ]
        assert [e["action"] for e in audit[:2]] == ["api_key.revoke", "api_key.create"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},  # no name
        {"name": "a\u0007b"},  # a control character
        {"name": "k", "scopes": ["everything"]},  # unknown scope
        {"name": "k", "scopes": []},  # no scope at all
        {"name": "k", "webhook_url": "http://127.0.0.1:9/hook"},  # a loopback receiver
        {"name": "k", "extra": 1},  # an unknown field
    ],
)
def test_bad_key_requests_are_refused_and_store_nothing(
    live: LiveService, body: dict
) -> None:
    with login(live, "boss") as admin:
        before = len(admin.get("/v1/admin/keys").json()["keys"])
        assert_problem(admin.post("/v1/admin/keys", json=body), 422)
        assert len(admin.get("/v1/admin/keys").json()["keys"]) == before


def test_revoking_an_unknown_key_is_404(live: LiveService) -> None:
    with login(live, "boss") as admin:
        assert_problem(admin.post("/v1/admin/keys/999999/revoke"), 404)
        assert_problem(admin.post("/v1/admin/keys/0/revoke"), 422)


def test_admin_changes_a_role_which_applies_at_the_next_request(
    live: LiveService,
) -> None:
    with login(live, "boss") as admin:
        assert (
            admin.post(
                "/v1/admin/users", json={"username": "rolly", "password": "longenough"}
            ).status_code
            == 201
        )
        with httpx.Client(base_url=live.url) as rolly:
            csrf = rolly.post(
                "/v1/auth/login", json={"username": "rolly", "password": "longenough"}
            ).json()["csrf_token"]
            assert rolly.get("/v1/admin/keys").status_code == 403
            assert (
                admin.post(
                    "/v1/admin/users/rolly/role", json={"role": "admin"}
                ).status_code
                == 204
            )
            assert rolly.get("/v1/admin/keys").status_code == 200
            assert rolly.get("/v1/auth/session").json()["role"] == "admin"
            assert (
                rolly.post(
                    "/v1/admin/users/rolly/role",
                    json={"role": "moderator"},
                    headers={"X-CSRF-Token": csrf},
                ).status_code
                == 403
            )
        users = {u["username"]: u for u in admin.get("/v1/admin/users").json()["users"]}
        assert users["rolly"]["role"] == "admin"
        assert_problem(
            admin.post("/v1/admin/users/nobody-here/role", json={"role": "admin"}), 404
        )
        assert_problem(
            admin.post("/v1/admin/users/rolly/role", json={"role": "owner"}), 422
        )
        assert_problem(
            admin.post("/v1/admin/users/boss/role", json={"role": "moderator"}), 403
        )
        [entry] = admin.get(
            "/v1/admin/audit", params={"action": "user.role", "target": "rolly"}
        ).json()["entries"]
        assert entry["actor"] == "user:boss" and entry["detail"] == {"role": "admin"}


def test_audit_log_is_paged_and_filtered_by_actor_action_and_target(
    live: LiveService,
) -> None:
    with login(live, "boss") as admin:
        for k in range(5):
            admin.post(
                "/v1/admin/users",
                json={"username": f"paged-{k}", "password": "longenough"},
            )
        page1 = admin.get(
            "/v1/admin/audit",
            params={"action": "user.create", "actor": "user:boss", "limit": 2},
        ).json()
        page2 = admin.get(
            "/v1/admin/audit",
            params={
                "action": "user.create",
                "actor": "user:boss",
                "limit": 2,
                "offset": 2,
            },
        ).json()
        assert page1["total"] == page2["total"] >= 5
        assert len(page1["entries"]) == len(page2["entries"]) == 2
        assert (
            page1["entries"][0]["id"]
            > page1["entries"][1]["id"]
            > page2["entries"][0]["id"]
        )  # newest first
        one = admin.get("/v1/admin/audit", params={"target": "paged-3"}).json()
        assert one["total"] == 1 and one["entries"][0]["target"] == "paged-3"
        assert admin.get("/v1/admin/audit", params={"actor": "user:nobody"}).json() == {
            "total": 0,
            "entries": [],
        }
        # a LIKE wildcard in the prefix is a character, not a pattern
        assert admin.get("/v1/admin/audit", params={"action": "%"}).json()["total"] == 0
        csv_text = admin.get("/v1/admin/audit.csv", params={"target": "paged-3"}).text
        assert csv_text.count("\n") == 2 and "paged-3" in csv_text
        assert_problem(admin.get("/v1/admin/audit", params={"target": "x" * 257}), 422)


def test_banks_are_listed_and_searched_by_note_hash_or_item(live: LiveService) -> None:
    with login(live, "boss") as admin:
        add = admin.post(
            "/v1/banks/banned/photos",
            files={"image": ("p.jpg", make_jpeg(seed=4242), "image/jpeg")},
            data={"note": "Leaked ID card – Ticket 77", "id": "item-77"},
        )
        assert add.status_code == 201, add.text
        entry = add.json()
        admin.post(
            "/v1/banks/banned/photos",
            files={"image": ("q.jpg", make_jpeg(seed=4343), "image/jpeg")},
            data={"note": "other"},
        )
        banks = {
            b["bank"]: b["entries"] for b in admin.get("/v1/banks").json()["banks"]
        }
        assert banks["banned"] >= 2 and set(banks) >= {"banned", "allowed", "seen"}
        for q in (
            "ticket 77",
            "ID CARD",
            entry["sha256"][:10].upper(),
            entry["pdq"][:12],
            "item-77",
        ):
            found = admin.get("/v1/banks/banned", params={"q": q}).json()
            assert [e["entry_id"] for e in found["entries"]] == [
                entry["entry_id"]
            ] and found["total"] == 1, q
        assert (
            admin.get("/v1/banks/banned", params={"q": "%"}).json()["total"] == 0
        )  # not a wildcard
        listed = admin.get("/v1/banks/banned", params={"q": "ticket"}).json()[
            "entries"
        ][0]
        assert listed["created_by"] == "user:boss" and listed["created_at"]


def test_stats_series_answers_hourly_points(live: LiveService) -> None:
    with live.client(live.api_key()) as api:
        assert (
            api.post(
                "/v1/moderate", json={"items": [text_item("series-1")]}
            ).status_code
            == 200
        )
    with login(live, "mod") as c:
        body = c.get("/v1/review/stats/series", params={"hours": 6}).json()
        assert body["hours"] == 6 and len(body["points"]) == 6
        assert body["points"][-1]["items"] >= 1
        assert_problem(c.get("/v1/review/stats/series", params={"hours": 0}), 422)
        assert_problem(c.get("/v1/review/stats/series", params={"hours": 10_000}), 422)


def test_docs_are_served_offline_and_home_leads_to_the_review_ui(
    live: LiveService,
) -> None:
    with httpx.Client(base_url=live.url) as c:
        page = c.get("/docs")
        assert page.status_code == 200
        urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", page.text)
        assert urls and all(
            u.startswith("/") and not u.startswith("//") for u in urls
        ), urls
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        for u in urls:
            assert c.get(u).status_code == 200, u
        assert b"SwaggerUIBundle" in c.get("/docs/assets/swagger-ui-bundle.js").content
        home = c.get("/", follow_redirects=False)
        assert home.status_code in (302, 307) and home.headers["location"] == "/review"


def test_admin_and_dashboard_pages_are_framed_with_the_strict_csp(
    live: LiveService,
) -> None:
    with httpx.Client(base_url=live.url) as c:
        for path, script in [
            ("/review/dashboard", "dashboard.js"),
            ("/review/admin/banks", "admin-banks.js"),
            ("/review/admin/keys", "admin-keys.js"),
            ("/review/admin/users", "admin-users.js"),
            ("/review/admin/audit", "admin-audit.js"),
        ]:
            page = c.get(path, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
            assert page.status_code == 200, path
            assert "script-src 'self'" in page.headers["content-security-policy"]
            assert f'src="/review/static/{script}"' in page.text
            assert '<html lang="fr">' in page.text and "<!--" not in page.text
        assert_problem(c.get("/review/admin/nope"), 404)
        assert_problem(c.get("/review/admin/%3Cscript%3E"), 404)
