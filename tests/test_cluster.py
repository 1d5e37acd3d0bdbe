"""Shared state on a cluster: several API processes on one database and one Ray cluster
agree (banks, campaigns, QA, idempotency), and the cluster's shared actors heal.

The multi-process and node-loss tests are marked `fault` (`make test-slow`); killing an
index shard in place runs in `make test`."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import ray
from conftest import fresh_postgres_database
from images import make_jpeg
from servers import (
    LiveService,
    ServedProcess,
    free_port,
    make_settings,
    photo_item,
    text_item,
    wait_for,
)
from sqlalchemy import select

from moderation.config import DEFAULT_POLICY
from moderation.review.qa import sampled
from moderation.store import make_engine
from moderation.store.tables import items, review_tasks

CAMPAIGN = "Bonjour à tous, covoiturage pas cher toutes les semaines, écrivez-moi vite sur mon site promo"


def test_a_killed_index_shard_reloads_and_photos_recover_without_restart(ray_session: None, tmp_path: Path) -> None:
    live = LiveService(make_settings(tmp_path))
    try:
        with live.client(live.api_key()) as c:
            banned = make_jpeg(seed=501)
            assert c.post("/v1/banks/banned/photos", files={"image": ("b.jpg", banned, "image/jpeg")}).status_code == 201
            [shard] = live.service.index.handles()
            ray.kill(shard, no_restart=False)  # Ray restarts it: it must reload from the database
            answers = []

            def banned_copy_answer() -> bool:
                resp = c.post("/v1/moderate", json={"items": [photo_item(f"after-kill-{len(answers)}", banned)]})
                answers.append(resp.status_code)
                # while the shard reloads: 503 with Retry-After, never an approval
                assert resp.status_code in (200, 503), resp.text
                return resp.status_code == 200 and resp.json()["results"][0]["decision"] == "reject"

            wait_for(banned_copy_answer, timeout=60, interval=0.2, what="the banned photo rejected again")
            assert c.get("/readyz").status_code == 200
            texts = c.post("/v1/moderate", json={"items": [text_item("after-kill-text")]})
            assert texts.status_code == 200 and texts.json()["results"][0]["decision"] == "approve"
    finally:
        live.stop()


# -- several API processes ------------------------------------------------------------------


@pytest.fixture
def two_processes(ray_session: None, postgres_url: str, tmp_path: Path) -> Iterator[tuple[ServedProcess, ServedProcess, str, str]]:
    """Two `moderation serve` processes on one PostgreSQL database, joining the session's Ray."""
    url = fresh_postgres_database(postgres_url)
    policy = tmp_path / "policy.yaml"
    policy.write_text(DEFAULT_POLICY.read_text() + "\nqa:\n  sample_auto: 0.3\n")
    env = {
        "MODERATION_DATABASE_URL": url,
        "MODERATION_POLICY_PATH": str(policy),
        "RAY_ADDRESS": ray.get_runtime_context().gcs_address,
        "MODERATION_TEXT_WORKERS": "1",
        "MODERATION_PHOTO_WORKERS": "1",
        "MODERATION_STOP_SHARED_ACTORS": "false",
    }
    a = ServedProcess(tmp_path / "a", free_port(), **env)
    b = ServedProcess(tmp_path / "b", free_port(), **env)
    key = a.create_key()
    a.start()
    b.start()
    try:
        yield a, b, key, url
    finally:
        a.kill()
        b.kill()


@pytest.mark.fault
@pytest.mark.postgres
def test_two_processes_share_banks_campaigns_qa_and_idempotency(two_processes: tuple[ServedProcess, ServedProcess, str, str]) -> None:
    a, b, key, url = two_processes
    headers = {"Authorization": f"Bearer {key}"}
    ca, cb = httpx.Client(base_url=a.url, headers=headers, timeout=60), httpx.Client(base_url=b.url, headers=headers, timeout=60)
    # A ban through A holds through B at once: the exact photo and a re-encoded copy.
    banned = make_jpeg(seed=777)
    assert ca.post("/v1/banks/banned/photos", files={"image": ("b.jpg", banned, "image/jpeg")}).status_code == 201
    res = cb.post("/v1/moderate", json={"items": [photo_item("p-banned", banned), photo_item("p-copy", make_jpeg(seed=777, quality=70))]})
    assert [r["decision"] for r in res.json()["results"]] == ["reject", "reject"]
    # A photo approved through A is `seen`: another author's copy through B is a duplicate.
    original = make_jpeg(seed=778)
    assert ca.post("/v1/moderate", json={"items": [photo_item("p-own", original, author="owner")]}).json()["results"][0]["decision"] == "approve"
    copy = cb.post("/v1/moderate", json={"items": [photo_item("p-stolen", original, author="thief")]}).json()["results"][0]
    assert "duplicate" in {r["category"] for r in copy["reasons"]}
    # Copies through different processes count as one campaign.
    decisions = [
        (ca if k % 2 else cb).post("/v1/moderate", json={"items": [text_item(f"camp-{k}", CAMPAIGN, author=f"spammer-{k}")]}).json()["results"][0]
        for k in range(3)
    ]
    assert "spam" in {r["category"] for r in decisions[-1]["reasons"]}
    # The same id through both at once is stored once; the other answer is its replay.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda c: c.post("/v1/moderate", json={"items": [text_item("same-id", "bonjour")]}), (ca, cb)))
    assert [r.status_code for r in both] == [200, 200]
    assert {r.json()["results"][0]["decision"] for r in both} == {"approve"}
    # QA is drawn at write time by whichever process wrote the item: none is skipped.
    ids = [f"qa-{k}" for k in range(60)]
    for k in range(0, 60, 6):
        (ca if k % 12 else cb).post("/v1/moderate", json={"items": [text_item(i, "merci pour le trajet") for i in ids[k:k + 6]]})
    engine = make_engine(url)
    with engine.connect() as conn:
        queued = sorted(conn.execute(
            select(items.c.id).join(review_tasks, review_tasks.c.item_pk == items.c.pk).where(review_tasks.c.queue == "qa")
        ).scalars())
        automatic = conn.execute(select(items.c.id).where(items.c.first_decision != "review")).scalars().all()
    engine.dispose()
    assert set(ids) <= set(automatic)
    assert queued == sorted(i for i in automatic if sampled(i, "qa", 0.3)) and queued


@pytest.mark.fault
@pytest.mark.postgres
def test_a_process_that_dies_leaves_the_other_serving_photos(two_processes: tuple[ServedProcess, ServedProcess, str, str]) -> None:
    # A created the shared index; when A dies, B finds it gone and creates it again.
    a, b, key, _ = two_processes
    headers = {"Authorization": f"Bearer {key}"}
    banned = make_jpeg(seed=880)
    with httpx.Client(base_url=a.url, headers=headers, timeout=60) as ca:
        assert ca.post("/v1/banks/banned/photos", files={"image": ("b.jpg", banned, "image/jpeg")}).status_code == 201
    a.kill()
    with httpx.Client(base_url=b.url, headers=headers, timeout=60) as cb:
        seen: list[int] = []

        def rejected() -> bool:
            resp = cb.post("/v1/moderate", json={"items": [photo_item(f"after-a-{len(seen)}", banned)]})
            seen.append(resp.status_code)
            assert resp.status_code in (200, 503), resp.text
            return resp.status_code == 200 and resp.json()["results"][0]["decision"] == "reject"

        wait_for(rejected, timeout=90, interval=0.5, what="B rejecting the banned photo after A died")
        wait_for(lambda: cb.get("/readyz").status_code == 200, timeout=30, what="B ready")
