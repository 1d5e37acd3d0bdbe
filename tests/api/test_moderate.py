"""The upload pipeline's API end to end: real HTTP, real Ray, real SQLite."""

from __future__ import annotations

import struct
import zlib

import httpx
import pytest
from images import make_jpeg, reencode
from servers import assert_problem, photo_item, text_item


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares 10 gigapixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")

def test_moderate_batch_of_texts_and_photos_returns_decisions_with_reasons_in_order(api: httpx.Client) -> None:
    items = [
        text_item("t-phone", "Appelle-moi au 06 12 34 56 78 pour le trajet"),
        text_item("t-ok", "Départ à 8h de Lyon, 15 € par place"),
        text_item("t-insult", "espèce de connard", context="rating"),
        photo_item("p-car", make_jpeg(seed=11)),
    ]
    resp = api.post("/v1/moderate", json={"items": items})
    assert resp.status_code == 200, resp.text
    results = resp.json()["results"]
    assert [r["id"] for r in results] == ["t-phone", "t-ok", "t-insult", "p-car"]
    by_id = {r["id"]: r for r in results}
    assert by_id["t-phone"]["decision"] != "approve"
    [phone] = [r for r in by_id["t-phone"]["reasons"] if r["category"] == "contact_info"]
    assert phone["source"] == "rule" and phone["detector"] == "contact.details" and phone["detail"]["kind"] == "phone"
    text = items[0]["text"]
    assert text[phone["span"][0] : phone["span"][1]] == "06 12 34 56 78"
    assert by_id["t-ok"]["decision"] == "approve" and by_id["t-ok"]["reasons"] == []
    assert by_id["t-insult"]["decision"] in ("review", "reject")
    assert by_id["p-car"]["decision"] == "approve"
    for r in results:
        assert r["policy_version"] and r["status_url"].endswith(f"/v1/items/{r['id']}")

def test_same_photo_from_another_author_is_a_duplicate(api: httpx.Client) -> None:
    img = make_jpeg(seed=41)
    first = api.post("/v1/moderate", json={"items": [photo_item("own-1", img, "car_photo", "alice")]}).json()
    assert first["results"][0]["decision"] == "approve"
    again = api.post("/v1/moderate", json={"items": [photo_item("own-2", img, "car_photo", "alice")]}).json()
    assert again["results"][0]["decision"] == "approve"
    stolen = api.post("/v1/moderate", json={"items": [photo_item("theft-1", reencode(img, 80), "car_photo", "mallory")]})
    res = stolen.json()["results"][0]
    assert res["decision"] != "approve"
    assert any(r["category"] == "duplicate" and r["detail"]["item_id"] == "own-1" for r in res["reasons"])

def test_resubmitting_same_id_and_content_replays_result_without_queueing_twice(api: httpx.Client, live) -> None:
    item = text_item("idem-1", "mon 06 12 34 56 78")
    first = api.post("/v1/moderate", json={"items": [item]}).json()["results"][0]
    second = api.post("/v1/moderate", json={"items": [item]}).json()["results"][0]
    assert first == second
    state = api.get("/v1/items/idem-1").json()
    assert len(state["history"]) == 1 and len(state["review"]) == 1

def test_resubmitting_same_id_with_other_content_is_a_conflict(api: httpx.Client) -> None:
    api.post("/v1/moderate", json={"items": [text_item("idem-2", "bonjour")]})
    res = api.post("/v1/moderate", json={"items": [text_item("idem-2", "bonsoir")]}).json()["results"][0]
    assert res["error"]["status"] == 409 and res["decision"] is None
    resp = api.post(
        "/v1/photos",
        files={"image": ("x.jpg", make_jpeg(seed=3), "image/jpeg")},
        data={"id": "idem-2", "context": "car_photo", "author_id": "a1"},
    )
    assert_problem(resp, 409, "conflict")

def test_get_item_shows_first_and_final_decision_with_history(api: httpx.Client) -> None:
    api.post("/v1/moderate", json={"items": [text_item("state-1", "Bonjour, trajet tranquille", author="z")]})
    state = api.get("/v1/items/state-1").json()
    assert state["first_decision"] == "approve" and state["final_decision"] == "approve"
    assert state["status"] == "decided" and state["history"][0]["kind"] == "auto"
    assert_problem(api.get("/v1/items/nope"), 404, "not-found")

def test_metadata_is_stored_and_returned(api: httpx.Client) -> None:
    item = text_item("meta-1", "salut") | {"metadata": {"trip": 42, "tags": ["<b>x</b>"]}, "locale": "fr-FR"}
    api.post("/v1/moderate", json={"items": [item]})
    state = api.get("/v1/items/meta-1").json()
    assert state["metadata"] == {"trip": 42, "tags": ["<b>x</b>"]} and state["locale"] == "fr-FR"


# -- bad input: a 4xx problem+json naming the fault, never a 500 -------------------------

def test_missing_or_bad_api_key_is_401(live) -> None:
    with live.client() as anon:
        body = assert_problem(anon.post("/v1/moderate", json={"items": []}), 401, "unauthorized")
        assert "Bearer" in body["detail"]
    with live.client("mk_wrong") as bad:
        assert_problem(bad.get("/v1/items/x"), 401, "unauthorized")
        assert_problem(bad.get("/v1/banks/banned"), 401)

@pytest.mark.parametrize(
    "body, fragment",
    [
        ({}, "items"),  # no items field
        ({"items": []}, "items"),  # empty batch
        ({"items": "nope"}, "items"),  # wrong type
        ({"items": [{"id": "x"}], "extra": 1}, "extra"),  # unknown field
    ],
)
def test_malformed_batch_is_422_problem(api: httpx.Client, body: dict, fragment: str) -> None:
    problem = assert_problem(api.post("/v1/moderate", json=body), 422, "invalid-input")
    assert fragment in problem["detail"]

def test_body_that_is_not_json_is_422(api: httpx.Client) -> None:
    assert_problem(api.post("/v1/moderate", content=b"{not json", headers={"content-type": "application/json"}), 422)
    # Undecodable bytes fail before JSON parsing: a 400 problem, still never a 500.
    assert_problem(api.post("/v1/moderate", content=b"\xff\xfe\x00", headers={"content-type": "application/json"}), 400)
    assert_problem(api.post("/v1/moderate", content=b"hello", headers={"content-type": "text/plain"}), 422)

def test_too_many_items_is_413(api: httpx.Client) -> None:
    items = [text_item(f"many-{i}", "x") for i in range(257)]
    assert_problem(api.post("/v1/moderate", json={"items": items}), 413, "payload-too-large")

def test_body_over_the_limit_is_413_before_parsing(ray_session, tmp_path) -> None:
    from servers import LiveService, make_settings

    live = LiveService(make_settings(tmp_path, max_body_bytes=10_000))
    try:
        with live.client(live.api_key()) as c:
            big = {"items": [text_item("big", "a" * 20_000)]}
            assert_problem(c.post("/v1/moderate", json=big), 413, "payload-too-large")

            def chunks():  # no Content-Length: the limit holds while streaming too
                yield b'{"items": [{"id": "s", "text": "'
                for _ in range(20):
                    yield b"a" * 1000
                yield b'"}]}'

            resp = c.post("/v1/moderate", content=chunks(), headers={"content-type": "application/json"})
            assert_problem(resp, 413, "payload-too-large")
    finally:
        live.stop()

@pytest.mark.parametrize(
    "item, status, fault",
    [
        (text_item("e1", ""), 422, "empty"),  # empty text
        (text_item("e2", "   \n\t "), 422, "empty"),  # only whitespace
        (text_item("e3", "a" * 100_001), 422, "too_long"),  # over max_text_chars
        (text_item("e4", "nul\x00byte"), 422, "nul"),  # PostgreSQL cannot store NUL
        (text_item("e5", "x", context="nope"), 422, None),  # unknown context
        (text_item("e6", "x", context="car_photo"), 422, None),  # context of the other type
        ({"id": "e7", "type": "text", "context": "message", "author_id": "a"}, 422, "missing"),  # no text
        ({"id": "e8", "type": "video", "context": "message", "author_id": "a", "text": "x"}, 422, None),  # bad type
        ({"id": "", "type": "text", "context": "message", "author_id": "a", "text": "x"}, 422, None),  # empty id
        ({"id": "x" * 129, "type": "text", "context": "message", "author_id": "a", "text": "x"}, 422, None),  # long id
        (photo_item("e9", b"") | {"image_b64": ""}, 422, "empty"),  # empty image
        (photo_item("e10", b"x") | {"image_b64": "!!!not base64"}, 422, "bad_base64"),
        (photo_item("e11", b"GIF89a-but-not-really"), 422, None),  # corrupt
        (photo_item("e12", b"%PDF-1.4 hello"), 422, "unsupported_format"),  # not an image
        (photo_item("e13", png_bomb()), 413, "too_many_pixels"),  # decompression bomb
        (photo_item("e14", make_jpeg(seed=5)[:3000]), 422, None),  # truncated JPEG
        (photo_item("e15", make_jpeg(30, 30, seed=5)), 422, "too_small"),
        (photo_item("e16", make_jpeg(2000, 100, seed=5)), 422, "aspect_ratio"),
        ("just a string", 422, None),  # not an object
    ],
)
def test_bad_item_gets_its_own_error_and_the_rest_is_decided(api: httpx.Client, item, status: int, fault) -> None:
    good = text_item(f"good-{abs(hash(str(item))) % 10**8}", "bonjour")
    resp = api.post("/v1/moderate", json={"items": [good, item]})
    assert resp.status_code == 200, resp.text
    ok, bad = resp.json()["results"]
    assert ok["decision"] == "approve"
    assert bad["error"]["status"] == status, bad
    assert bad["error"]["detail"]
    if fault:
        assert bad["error"].get("fault") == fault, bad

def test_lone_surrogate_text_is_refused_cleanly(api: httpx.Client) -> None:
    raw = b'{"items": [{"id": "sur", "type": "text", "context": "message", "author_id": "a", "text": "bad \\ud800 text"}]}'
    resp = api.post("/v1/moderate", content=raw, headers={"content-type": "application/json"})
    assert resp.status_code == 200
    assert resp.json()["results"][0]["error"]["fault"] == "bad_encoding"

def test_duplicate_id_within_a_batch_is_an_item_error(api: httpx.Client) -> None:
    resp = api.post("/v1/moderate", json={"items": [text_item("dup", "a"), text_item("dup", "a")]})
    first, second = resp.json()["results"]
    assert first["decision"] == "approve" and second["error"]["status"] == 422

@pytest.mark.parametrize(
    "files, data, status, fault",
    [
        ({"image": ("x.jpg", b"", "image/jpeg")}, {"id": "m1", "context": "car_photo", "author_id": "a"}, 422, "empty"),
        ({"image": ("x.txt", b"hello world", "text/plain")}, {"id": "m2", "context": "car_photo", "author_id": "a"}, 422, "unsupported_format"),
        ({"image": ("x.png", png_bomb(), "image/png")}, {"id": "m3", "context": "car_photo", "author_id": "a"}, 413, "too_many_pixels"),
        ({"image": ("x.jpg", make_jpeg(seed=2)[:2000], "image/jpeg")}, {"id": "m4", "context": "car_photo", "author_id": "a"}, 422, None),
        ({"image": ("x.jpg", make_jpeg(seed=2), "image/jpeg")}, {"id": "m5", "context": "message", "author_id": "a"}, 422, None),
        ({"image": ("x.jpg", make_jpeg(seed=2), "image/jpeg")}, {"context": "car_photo", "author_id": "a"}, 422, None),
        ({}, {"id": "m7", "context": "car_photo", "author_id": "a"}, 422, None),
        ({"image": ("x.jpg", make_jpeg(seed=2), "image/jpeg")},
         {"id": "m8", "context": "car_photo", "author_id": "a", "callback_url": "javascript:alert(1)"}, 422, None),
    ],
)
def test_bad_multipart_photo_is_4xx_problem(api: httpx.Client, files, data, status: int, fault) -> None:
    resp = api.post("/v1/photos", files=files or None, data=data)
    body = assert_problem(resp, status)
    if fault:
        assert body.get("fault") == fault, body

def test_health_ready_and_metrics(api: httpx.Client) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    ready = api.get("/readyz").json()
    assert ready["database"] == "ok" and ready["ray"] == "ok"
    def metric(text: str, name: str) -> float:
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    items_metric = 'moderation_items_total{context="message",decision="review",type="text"}'
    depth_metric = 'moderation_review_queue_depth{queue="contact-info"}'
    before = api.get("/metrics").text
    api.post("/v1/moderate", json={"items": [text_item("m-1", "06 12 34 56 78")]})
    text = api.get("/metrics").text
    assert metric(text, items_metric) == metric(before, items_metric) + 1
    assert metric(text, depth_metric) == metric(before, depth_metric) + 1
    assert "moderation_stage_seconds_bucket" in text
    assert 'moderation_worker_pool_size{pool="text"} 1.0' in text

def test_openapi_documents_the_v1_routes(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    for path in ("/v1/moderate", "/v1/photos", "/v1/items/{item_id}", "/v1/banks/{bank}/photos", "/v1/banks/{bank}"):
        assert path in spec["paths"], path
    assert "ItemIn" in spec["components"]["schemas"]
    assert api.get("/docs").status_code == 200

def test_profile_photo_without_a_face_goes_to_review_with_model_reasons(api: httpx.Client) -> None:
    import numpy as np
    from images import encode

    flat = encode(np.full((400, 400, 3), 128, dtype=np.uint8), "PNG")
    res = api.post("/v1/moderate", json={"items": [photo_item("pf-flat", flat, "profile_photo")]}).json()["results"][0]
    cats = {r["category"]: r for r in res["reasons"]}
    assert res["decision"] == "review"
    assert {"no_face", "low_quality"} <= set(cats)
    assert cats["no_face"]["source"] == "model" and cats["no_face"]["detector"].startswith("nudenet-320n@")
    assert "nudity" in res["scores"]

def test_multipart_field_that_is_not_utf8_is_refused_naming_the_field(api: httpx.Client) -> None:
    boundary = "b0undary"
    img = make_jpeg(seed=8)

    def part(name: str, value: bytes) -> bytes:
        return f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"

    def body(id_bytes: bytes) -> bytes:
        return (
            part("id", id_bytes)
            + part("context", b"car_photo")
            + part("author_id", "rené".encode())  # valid UTF-8 with an accent stays fine
            + f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="x.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n".encode()
            + img
            + f"\r\n--{boundary}--\r\n".encode()
        )

    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    bad = api.post("/v1/photos", content=body(b"bad\xff\xfeid"), headers=headers)
    problem = assert_problem(bad, 422, "invalid-input")
    assert problem["fault"] == "bad_encoding" and "'id'" in problem["detail"]
    assert api.get("/v1/items/bad\u00ff\u00feid").status_code == 404  # nothing stored as mojibake
    ok = api.post("/v1/photos", content=body(b"utf8-ok-1"), headers=headers)
    assert ok.status_code == 200, ok.text
    assert api.get("/v1/items/utf8-ok-1").json()["author_id"] == "rené"
    assert_problem(api.post("/v1/photos", content=b"garbage", headers=headers), 400)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",  # loopback, another port
        "http://169.254.169.254/latest/meta-data",  # cloud metadata
        "http://10.0.0.5/hook",  # private network
        "http://2130706433/hook",  # loopback written as a number
        "https://user:secret@example.invalid/hook",  # credentials in the URL
    ],
)
def test_callback_url_inside_our_network_is_refused_for_that_item_only(api: httpx.Client, url: str) -> None:
    items = [
        {"id": "cb-bad", "type": "text", "context": "message", "author_id": "a", "text": "hello", "callback_url": url},
        {"id": f"cb-good-{abs(hash(url))}", "type": "text", "context": "message", "author_id": "a", "text": "hello"},
    ]
    bad, good = api.post("/v1/moderate", json={"items": items}).json()["results"]
    assert bad["error"]["status"] == 422 and "callback_url" in bad["error"]["detail"]
    assert good["decision"] == "approve"
    assert api.get("/v1/items/cb-bad").status_code == 404  # nothing stored for the refused item
