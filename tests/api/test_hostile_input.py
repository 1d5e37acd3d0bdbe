"""Input that could be stored but never sent back, or that overflows a column: refused at
the door with a 422 problem naming the fault, so no item page, review claim or list
answers 500 afterwards."""

from __future__ import annotations

import json
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
BIG = 2**63  # one past the largest signed 64-bit integer


@pytest.fixture(scope="module")
def live(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    with staffed_service(tmp_path_factory.mktemp("hostile")) as svc:
        yield svc




def raw_batch(*items: str) -> bytes:
    """A /v1/moderate body from items written as JSON text: json.dumps cannot write a lone
    surrogate escape, a client in another language can."""
    return ('{"items": [' + ", ".join(items) + "]}").encode()


def raw_item(item_id: str, **fields: str) -> str:
    """A review-bound text item; `fields` are raw JSON values (escapes kept as written)."""
    base = {"id": json.dumps(item_id), "type": '"text"', "context": '"message"', "author_id": '"a"', "text": '"appelle 06 12 34 56 78"'}
    base.update(fields)
    return "{" + ", ".join(f'"{k}": {v}' for k, v in base.items()) + "}"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def wide(keys: int) -> str:
    return json.dumps({f"k{i}": i for i in range(keys)})


@pytest.mark.parametrize(
    "fields, fault",
    [
        ({"metadata": '{"k": "\\ud800"}'}, "metadata"),  # lone surrogate in a value
        ({"metadata": '{"\\udfff": 1}'}, "metadata"),  # lone surrogate in a key
        ({"metadata": '{"k": "a\\u0000b"}'}, "metadata"),  # NUL, which PostgreSQL refuses
        ({"metadata": '{"k": ' + nested(500) + "}"}, "metadata"),  # 500 levels
        ({"metadata": '{"k": ' + nested(8) + "}"}, "metadata"),  # 9 levels, one over
        ({"metadata": wide(65)}, "metadata"),  # one key over the limit
        ({"metadata": json.dumps({"k": "x" * 17_000})}, "metadata"),  # over 16 KB serialized
        ({"metadata": '{"k": NaN}'}, "metadata"),  # Python's parser takes it, JSON cannot send it back
        ({"metadata": '{"k": -Infinity}'}, "metadata"),
        ({"author_id": '"a\\ud800"'}, "bad_encoding"),
        ({"author_id": '"a\\u0000"'}, "nul"),
        ({"context": '"message\\ud800"'}, "bad_encoding"),
        ({"locale": '"fr\\udc00"'}, "bad_encoding"),
        ({"locale": '"fr\\n"'}, "control_character"),
        ({"callback_url": '"https://example.com/\\u0007"'}, "control_character"),
    ],
)
def test_moderate_refuses_item_with_unstorable_field_and_decides_the_rest(api: httpx.Client, fields: dict[str, str], fault: str) -> None:
    bad_id, good_id = f"bad-{abs(hash(str(fields)))}", f"good-{abs(hash(str(fields)))}"
    resp = api.post("/v1/moderate", content=raw_batch(raw_item(bad_id, **fields), raw_item(good_id)), headers={"content-type": "application/json"})
    assert resp.status_code == 200, resp.text
    bad, good = resp.json()["results"]
    assert bad["error"]["status"] == 422 and bad["error"]["fault"] == fault, bad
    assert good["decision"] == "review"
    assert_problem(api.get(f"/v1/items/{bad_id}"), 404)
    assert api.get(f"/v1/items/{good_id}").status_code == 200


@pytest.mark.parametrize(
    "raw_id, fault",
    [
        ('"bad\\ud800id"', "bad_encoding"),  # a lone surrogate once made the whole batch a 500
        ('"nul\\u0000id"', "nul"),
        ('"tab\\tid"', "control_character"),
        ('"bell\\u0007"', "control_character"),
        ('"c1\\u0085"', "control_character"),  # a C1 control (NEL)
    ],
)
def test_moderate_refuses_unsendable_id_naming_it_by_position(api: httpx.Client, raw_id: str, fault: str) -> None:
    good_id = f"id-ok-{abs(hash(raw_id))}"
    item = raw_item("placeholder").replace('"placeholder"', raw_id)
    resp = api.post("/v1/moderate", content=raw_batch(raw_item(good_id), item), headers={"content-type": "application/json"})
    assert resp.status_code == 200, resp.text
    good, bad = resp.json()["results"]
    assert good["decision"] == "review"
    assert bad["id"] == "#1" and bad["error"]["fault"] == fault, bad


def test_metadata_at_the_limits_is_stored_and_sent_back_everywhere(live: LiveService, api: httpx.Client) -> None:
    deepest = {"l3": {"l4": {"l5": {"l6": {"l7": {"l8": "in level 8"}}}}}}  # under "deep", itself level 2
    metadata = {f"k{i}": i for i in range(62)} | {"deep": deepest, "text": "é\U0001f600 <b>"}
    item = text_item("limits-1", "appelle 06 12 34 56 78") | {"metadata": metadata}
    [res] = api.post("/v1/moderate", json={"items": [item]}).json()["results"]
    assert res["decision"] == "review"
    assert api.get("/v1/items/limits-1").json()["metadata"] == metadata
    with login(live, "mod") as mod:
        tasks = mod.post("/v1/review/claim", json={"limit": 100}).json()["tasks"]
        assert metadata in [t["item"]["metadata"] for t in tasks]
        assert mod.get("/v1/review/items/limits-1").json()["metadata"] == metadata


def test_review_claim_still_answers_after_hostile_batches(live: LiveService, api: httpx.Client) -> None:
    items = [raw_item("hq-1", metadata='{"k": "\\ud800"}'), raw_item("hq-2", metadata='{"k": ' + nested(500) + "}"), raw_item("hq-3")]
    api.post("/v1/moderate", content=raw_batch(*items), headers={"content-type": "application/json"})
    with login(live, "mod") as mod:
        resp = mod.post("/v1/review/claim", json={"limit": 100})
        assert resp.status_code == 200, resp.text
        assert "hq-3" in [t["item"]["id"] for t in resp.json()["tasks"]]


@pytest.mark.parametrize(
    "metadata",
    [
        '{"a": ' + nested(100_000) + "}",  # deeper than the JSON parser's stack
        '{"a": ' + nested(500) + "}",
        '{"a": "nul\\u0000"}',
        '{"a": "\\ud800"}',
        '{"a": NaN}',
        "[1, 2]",  # not an object
        "{not json",
    ],
)
def test_photo_upload_refuses_bad_metadata_with_422(api: httpx.Client, metadata: str) -> None:
    resp = api.post(
        "/v1/photos",
        files={"image": ("x.jpg", make_jpeg(seed=2), "image/jpeg")},
        data={"id": f"mp-{abs(hash(metadata))}", "context": "car_photo", "author_id": "a", "metadata": metadata},
    )
    assert assert_problem(resp, 422)["fault"] == "metadata"


@pytest.mark.parametrize("field", ["id", "author_id", "context", "locale"])
def test_photo_upload_refuses_control_characters_in_fields(api: httpx.Client, field: str) -> None:
    data = {"id": f"mp-ctl-{field}", "context": "car_photo", "author_id": "a", "locale": "fr"}
    data[field] += "\x00"
    resp = api.post("/v1/photos", files={"image": ("x.jpg", make_jpeg(seed=2), "image/jpeg")}, data=data)
    assert_problem(resp, 422, "invalid-input")


def test_body_with_an_unsendable_key_is_422(live: LiveService) -> None:
    with httpx.Client(base_url=live.url) as c:
        resp = c.post("/v1/auth/login", content=b'{"username": "mod", "password": "x", "\\ud800": 1}', headers={"content-type": "application/json"})
    assert_problem(resp, 422)


def test_path_and_query_strings_with_nul_are_422(live: LiveService, api: httpx.Client) -> None:
    assert_problem(api.get("/v1/items/a%00b"), 422)
    with login(live, "boss") as boss:
        assert_problem(boss.get("/v1/review/items/a%00b"), 422)
        assert_problem(boss.get("/v1/admin/audit", params={"actor": "a\x00"}), 422)
        assert_problem(boss.post("/v1/admin/users/a%00/disable"), 422)


# -- integers: every one fits a signed 64-bit column -------------------------------------

KEY_ROUTES = [
    ("DELETE", f"/v1/banks/banned/entries/{BIG}", {}),
    ("GET", "/v1/banks/banned", {"params": {"offset": BIG}}),
]
SESSION_ROUTES = [
    ("POST", f"/v1/review/tasks/{BIG}/decision", {"json": {"decision": "approve"}}),
    ("POST", f"/v1/review/tasks/{BIG}/release", {}),
    ("POST", f"/v1/review/decisions/{BIG}/undo", {}),
    ("POST", "/v1/review/bulk", {"json": {"task_ids": [BIG], "decision": "approve"}}),
    ("GET", "/v1/admin/audit", {"params": {"offset": BIG}}),
    ("GET", "/v1/review/stats", {"params": {"hours": BIG}}),
    ("POST", "/v1/review/claim", {"json": {"limit": BIG}}),
]


@pytest.mark.parametrize("method, path, kwargs", KEY_ROUTES)
def test_integer_over_64_bits_is_422_on_key_routes(api: httpx.Client, method: str, path: str, kwargs: dict) -> None:
    assert_problem(api.request(method, path, **kwargs), 422, "invalid-input")


@pytest.mark.parametrize("method, path, kwargs", SESSION_ROUTES)
def test_integer_over_64_bits_is_422_on_session_routes(live: LiveService, method: str, path: str, kwargs: dict) -> None:
    with login(live, "boss") as boss:
        assert_problem(boss.request(method, path, **kwargs), 422, "invalid-input")


def test_largest_64_bit_id_is_an_ordinary_404(live: LiveService, api: httpx.Client) -> None:
    assert_problem(api.delete(f"/v1/banks/banned/entries/{BIG - 1}"), 404)
    with login(live, "boss") as boss:
        assert_problem(boss.post(f"/v1/review/tasks/{BIG - 1}/release"), 404)
        assert_problem(boss.post(f"/v1/review/decisions/{BIG - 1}/undo"), 404)
