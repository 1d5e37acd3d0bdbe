"""Banks over the API: bans that match re-encoded copies, removal, CSV exchange, bad input."""

from __future__ import annotations

import httpx
import pytest
from images import make_jpeg, reencode
from servers import assert_problem, photo_item


def test_banned_photo_and_reencoded_copy_are_rejected_with_entry_and_distance(api: httpx.Client) -> None:
    original = make_jpeg(800, 600, seed=21)
    resp = api.post("/v1/banks/banned/photos", files={"image": ("b.jpg", original, "image/jpeg")}, data={"note": "stolen"})
    assert resp.status_code == 201, resp.text
    entry = resp.json()
    copy = reencode(original, quality=65, scale=0.75)
    resp = api.post(
        "/v1/photos",
        files={"image": ("c.jpg", copy, "image/jpeg")},
        data={"id": "copy-1", "context": "profile_photo", "author_id": "thief"},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["decision"] == "reject"
    [banned] = [r for r in body["reasons"] if r["category"] == "banned_match"]
    assert banned["entry_id"] == entry["entry_id"] and banned["source"] == "hash"
    # Within the default policy's distance for the hash that matched (PDQ is listed first:
    # 8 to 10 bits here, the bank entry having been decoded in gray and the copy in colour).
    limit = {"phash": 8, "pdq": 31}[banned["detail"]["hash_type"]]
    assert 0 <= banned["distance"] <= limit and banned["distance"] <= 12
    # the member is told why, in their language, that it was automatic, and how to appeal
    assert body["statement"]["ground"]["category"] == "banned_match" and body["statement"]["automated"] is True
    assert body["statement"]["locale"] == "en" and "appeal" in body["statement"]["text"]
    item = {**photo_item("exact-1", original, author="thief"), "locale": "fr-BE"}
    exact = api.post("/v1/moderate", json={"items": [item]}).json()["results"][0]
    assert exact["decision"] == "reject" and exact["statement"]["locale"] == "fr"
    assert exact["statement"]["text"].startswith("Nous avons refusé votre photo automatiquement")
    state = api.get("/v1/items/exact-1").json()
    assert state["statement"] == exact["statement"]


def test_removed_bank_entry_no_longer_matches(api: httpx.Client) -> None:
    img = make_jpeg(seed=31)
    entry = api.post("/v1/banks/banned/photos", files={"image": ("b.jpg", img, "image/jpeg")}).json()
    listing = api.get("/v1/banks/banned", params={"limit": 1000}).json()
    assert entry["entry_id"] in [e["entry_id"] for e in listing["entries"]]
    assert api.delete(f"/v1/banks/banned/entries/{entry['entry_id']}").status_code == 204
    after = api.get("/v1/banks/banned", params={"limit": 1000}).json()
    assert after["total"] == listing["total"] - 1
    assert entry["entry_id"] not in [e["entry_id"] for e in after["entries"]]
    res = api.post("/v1/moderate", json={"items": [photo_item("after-removal", img)]}).json()["results"][0]
    assert res["decision"] == "approve"
    assert_problem(api.delete(f"/v1/banks/banned/entries/{entry['entry_id']}"), 404)


def test_unknown_bank_is_404(api: httpx.Client) -> None:
    assert_problem(api.get("/v1/banks/nope"), 404, "not-found")
    resp = api.post("/v1/banks/nope/photos", files={"image": ("x.jpg", make_jpeg(seed=1), "image/jpeg")})
    assert_problem(resp, 404)


def test_bank_photo_that_is_not_an_image_is_422(api: httpx.Client) -> None:
    body = assert_problem(api.post("/v1/banks/banned/photos", files={"image": ("x", b"nope", "image/jpeg")}), 422)
    assert body["fault"] == "unsupported_format"


# -- operations ---------------------------------------------------------------------------


def test_bank_exports_and_imports_csv_so_hashes_from_other_systems_match(api: httpx.Client) -> None:
    img = make_jpeg(900, 700, seed=77)
    entry = api.post("/v1/banks/banned/photos", files={"image": ("x.jpg", img, "image/jpeg")}, data={"note": "=cmd|x"}).json()
    csv_text = api.get("/v1/banks/banned/export.csv").text
    lines = csv_text.splitlines()
    assert lines[0] == "hash_type,hash_hex,note,quality,entry_id"
    mine = [ln for ln in lines if ln.endswith(f",{entry['entry_id']}")]
    assert {ln.split(",")[0] for ln in mine} == {"sha256", "phash", "pdq"}
    assert all(",'=cmd|x," in ln for ln in mine)  # a formula in a note is defused
    pdq_row = next(ln for ln in mine if ln.startswith("pdq,"))
    # Another system's list: only the PDQ hash of that photo, imported into `allowed`.
    other = "hash_type,hash_hex,note\n" + f"pdq,{pdq_row.split(',')[1]},from partner\n"
    resp = api.post("/v1/banks/allowed/import", files={"file": ("list.csv", other.encode(), "text/csv")})
    assert resp.status_code == 201, resp.text
    assert resp.json()["imported"] == 1
    res = api.post("/v1/moderate", json={"items": [photo_item("csv-1", reencode(img, 75), "car_photo", "z")]}).json()
    cats = {r["category"] for r in res["results"][0]["reasons"]}
    assert "allowed_match" in cats and "banned_match" in cats
    assert res["results"][0]["decision"] == "reject"  # banned outweighs allowed

@pytest.mark.parametrize(
    "body, fragment",
    [
        ("hash_type,hash_hex\npdq,abc\n", "line 2"),  # too short
        ("hash_type,hash_hex\nmd5," + "a" * 32 + "\n", "hash_type must be"),
        ("hash,value\npdq,00\n", "header"),
        ("hash_type,hash_hex\n", "no rows"),
        ("hash_type,hash_hex,quality\nphash,0123456789abcdef,x\n", "quality"),
    ],
)
def test_bad_bank_csv_is_refused_whole_naming_the_line(api: httpx.Client, body: str, fragment: str) -> None:
    before = api.get("/v1/banks/allowed").json()["total"]
    resp = api.post("/v1/banks/allowed/import", files={"file": ("l.csv", body.encode(), "text/csv")})
    problem = assert_problem(resp, 422)
    assert fragment in problem["detail"]
    assert api.get("/v1/banks/allowed").json()["total"] == before


def test_bank_csv_with_a_bad_row_far_down_is_refused_whole_naming_its_line(api: httpx.Client) -> None:
    rows = [f"pdq,{k:064x},partner" for k in range(1, 12_001)]
    rows[11_000] = "pdq,not-a-hash,partner"  # line 11,002 of the file (the header is line 1)
    before = api.get("/v1/banks/allowed").json()["total"]
    body = "hash_type,hash_hex,note\n" + "\n".join(rows) + "\n"
    problem = assert_problem(api.post("/v1/banks/allowed/import", files={"file": ("l.csv", body.encode(), "text/csv")}), 422)
    assert "line 11002" in problem["detail"]
    assert api.get("/v1/banks/allowed").json()["total"] == before


def test_bank_csv_that_is_not_utf8_is_refused_naming_its_line(api: httpx.Client) -> None:
    body = b"hash_type,hash_hex,note\n" + f"pdq,{1:064x},".encode() + "caf\u00e9\n".encode("latin-1")
    problem = assert_problem(api.post("/v1/banks/allowed/import", files={"file": ("l.csv", body, "text/csv")}), 422)
    assert "line 2" in problem["detail"] and "UTF-8" in problem["detail"]


def test_a_long_bank_csv_is_imported_whole_with_consecutive_ids(api: httpx.Client) -> None:
    rows = [f"pdq,{(7 << 200) + k:064x},bulk" for k in range(12_000)]  # more than two insert chunks
    body = "hash_type,hash_hex,note\n" + "\n".join(rows) + "\n"
    resp = api.post("/v1/banks/allowed/import", files={"file": ("l.csv", body.encode(), "text/csv")})
    assert resp.status_code == 201, resp.text
    got = resp.json()
    assert got["imported"] == 12_000 and got["last_entry_id"] - got["first_entry_id"] == 11_999
