"""What an API key may do: its scopes (moderate, items:read, banks:read, banks:write), its
own items only, and the admins' sessions on the bank routes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from images import make_jpeg
from servers import (
    STAFF_PASSWORD,
    LiveService,
    assert_problem,
    login,
    staffed_service,
    text_item,
)

PASSWORD = STAFF_PASSWORD
CSV = b"hash_type,hash_hex,note\nphash,0123456789abcdef,partner\n"


@pytest.fixture(scope="module")
def live(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    with staffed_service(tmp_path_factory.mktemp("scopes")) as svc:
        yield svc




def photo_file(seed: int) -> dict:
    return {"image": ("b.jpg", make_jpeg(seed=seed), "image/jpeg")}


BANK_READS = [("GET", "/v1/banks/banned", {}), ("GET", "/v1/banks/banned/export.csv", {})]
BANK_WRITES = [
    ("POST", "/v1/banks/allowed/photos", {"files": photo_file(90)}),
    ("POST", "/v1/banks/allowed/import", {"files": {"file": ("l.csv", CSV, "text/csv")}}),
    ("DELETE", "/v1/banks/banned/entries/1", {}),
]


@pytest.mark.parametrize("method, path, kwargs", BANK_READS + BANK_WRITES)
def test_default_key_cannot_touch_banks_and_is_told_the_scope(live: LiveService, method: str, path: str, kwargs: dict) -> None:
    with live.client(live.api_key("pipeline", scopes=("moderate", "items:read"))) as c:
        body = assert_problem(c.request(method, path, **kwargs), 403, "forbidden")
    wanted = "banks:read" if method == "GET" else "banks:write"
    assert body["scope"] == wanted and wanted in body["detail"]


@pytest.mark.parametrize("method, path, kwargs", BANK_WRITES)
def test_bank_reader_key_cannot_change_banks(live: LiveService, method: str, path: str, kwargs: dict) -> None:
    with live.client(live.api_key("reader", scopes=("banks:read",))) as c:
        assert c.get("/v1/banks/banned").status_code == 200
        assert c.get("/v1/banks/banned/export.csv").status_code == 200
        assert assert_problem(c.request(method, path, **kwargs), 403)["scope"] == "banks:write"


def test_key_without_moderate_scope_cannot_submit(live: LiveService) -> None:
    with live.client(live.api_key("curator", scopes=("banks:read", "banks:write"))) as c:
        assert assert_problem(c.post("/v1/moderate", json={"items": [text_item("sc-1")]}), 403)["scope"] == "moderate"
        resp = c.post("/v1/photos", files=photo_file(3), data={"id": "sc-2", "context": "car_photo", "author_id": "a"})
        assert assert_problem(resp, 403)["scope"] == "moderate"
        assert assert_problem(c.get("/v1/items/sc-1"), 403)["scope"] == "items:read"


def test_key_reads_only_its_own_items(live: LiveService) -> None:
    with live.client(live.api_key("alice", scopes=("moderate", "items:read"))) as alice, live.client(live.api_key("bob")) as bob:
        assert alice.post("/v1/moderate", json={"items": [text_item("own-alice")]}).status_code == 200
        assert alice.get("/v1/items/own-alice").json()["id"] == "own-alice"
        other = assert_problem(bob.get("/v1/items/own-alice"), 404, "not-found")
        unknown = assert_problem(bob.get("/v1/items/never-submitted"), 404, "not-found")
        # Another key's item reads exactly like one that does not exist.
        assert other["detail"].replace("own-alice", "X") == unknown["detail"].replace("never-submitted", "X")


def test_admin_session_manages_banks_and_is_the_audited_actor(live: LiveService) -> None:
    with login(live, "boss") as boss:
        added = boss.post("/v1/banks/banned/photos", files=photo_file(91), data={"note": "admin"})
        assert added.status_code == 201, added.text
        entry_id = added.json()["entry_id"]
        assert entry_id in [e["entry_id"] for e in boss.get("/v1/banks/banned", params={"limit": 1000}).json()["entries"]]
        assert boss.get("/v1/banks/banned/export.csv").text.startswith("hash_type,hash_hex")
        assert boss.post("/v1/banks/allowed/import", files={"file": ("l.csv", CSV, "text/csv")}).status_code == 201
        assert boss.delete(f"/v1/banks/banned/entries/{entry_id}").status_code == 204
        audit = boss.get("/v1/admin/audit", params={"actor": "user:boss", "action": "bank."}).json()["entries"]
        assert audit, "bank changes by an admin are audited under the admin's name"


def test_admin_bank_writes_need_the_csrf_token(live: LiveService) -> None:
    with login(live, "boss") as boss:
        boss.headers.pop("X-CSRF-Token")
        assert boss.get("/v1/banks/banned").status_code == 200  # reads need no token
        assert_problem(boss.post("/v1/banks/banned/photos", files=photo_file(92)), 403)
        assert_problem(boss.delete("/v1/banks/banned/entries/1"), 403)


@pytest.mark.parametrize("method, path, kwargs", BANK_READS + BANK_WRITES)
def test_moderator_session_cannot_use_bank_routes(live: LiveService, method: str, path: str, kwargs: dict) -> None:
    with login(live, "mod") as mod:
        assert "admin" in assert_problem(mod.request(method, path, **kwargs), 403)["detail"]


@pytest.mark.parametrize("method, path, kwargs", BANK_READS + BANK_WRITES)
def test_anonymous_caller_cannot_use_bank_routes(live: LiveService, method: str, path: str, kwargs: dict) -> None:
    with httpx.Client(base_url=live.url) as anon:
        assert_problem(anon.request(method, path, **kwargs), 401, "unauthorized")
