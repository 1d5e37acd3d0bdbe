"""/v1/moderate end to end (real HTTP, real Ray, real SQLite) against the naive way:
one item per request, hence one remote call per item.

Texts: batches of 100; photos: batches of 16 JPEGs of 2 MP. Each call uses fresh ids so
nothing is answered from the idempotency store. Both sides send from CLIENTS concurrent
connections, as an upload pipeline does: one request's database write then overlaps the
next one's analysis.
"""

from __future__ import annotations

import base64
import itertools
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from benchkit import QUICK, SEED, record
from data import texts
from images import make_jpeg

TEXT_BATCH = 100
PHOTO_BATCH = 4 if QUICK else 16
CLIENTS = 8
_ids = itertools.count()


class Clients:
    """CLIENTS keep-alive connections; `post_all` sends bodies over all of them at once."""

    def __init__(self, url: str, key: str) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        self.clients = [httpx.Client(base_url=url, headers=headers, timeout=120) for _ in range(CLIENTS)]
        self.pool = ThreadPoolExecutor(CLIENTS)

    def post_all(self, bodies: list[dict], n_each: int) -> None:
        def send(k: int) -> None:
            c = self.clients[k]
            for body in bodies[k::CLIENTS]:
                _check(c.post("/v1/moderate", json=body), n_each)

        list(self.pool.map(send, range(CLIENTS)))

    def close(self) -> None:
        self.pool.shutdown()
        for c in self.clients:
            c.close()


@pytest.fixture(scope="module")
def client(served):
    clients = Clients(served.url, served.key)
    yield clients
    clients.close()


@pytest.fixture(scope="module")
def text_pool() -> list[str]:
    return texts(2000, SEED)


@pytest.fixture(scope="module")
def photos() -> list[str]:
    # 2 MP photo-like JPEGs (1632 x 1224), seeded; base64 once, outside the timing.
    return [base64.b64encode(make_jpeg(1632, 1224, seed=SEED + i, quality=88)).decode() for i in range(PHOTO_BATCH)]


def _text_items(pool: list[str], n: int) -> list[dict]:
    k = next(_ids)
    return [
        {"id": f"bt{k}-{i}", "type": "text", "context": "message", "author_id": f"u{i % 50}", "text": pool[(k * n + i) % len(pool)]}
        for i in range(n)
    ]


def _photo_items(photos: list[str]) -> list[dict]:
    k = next(_ids)
    # The same pixels under new ids: bank lookups find the earlier copies, as re-uploads would.
    return [
        {"id": f"bp{k}-{i}", "type": "photo", "context": "car_photo", "author_id": f"u{k}", "image_b64": b64}
        for i, b64 in enumerate(photos)
    ]


def _check(resp: httpx.Response, n: int) -> None:
    assert resp.status_code == 200, resp.text
    assert len(resp.json()["results"]) == n


@pytest.mark.benchmark(group="api-texts-100")
def test_api_texts_batched(benchmark, client, text_pool) -> None:
    # A whole number of requests per connection, so no connection idles at the end of a round.
    requests = CLIENTS * (1 if QUICK else 6)

    def run() -> None:
        client.post_all([{"items": _text_items(text_pool, TEXT_BATCH)} for _ in range(requests)], TEXT_BATCH)

    benchmark.pedantic(run, rounds=2 if QUICK else 5, warmup_rounds=1)
    record(benchmark, "api-texts-100", "ours", requests * TEXT_BATCH)


@pytest.mark.benchmark(group="api-texts-100")
def test_api_texts_naive_one_per_request(benchmark, client, text_pool) -> None:
    def run() -> None:
        client.post_all([{"items": [item]} for item in _text_items(text_pool, TEXT_BATCH)], 1)

    benchmark.pedantic(run, rounds=1 if QUICK else 5, warmup_rounds=1)
    record(benchmark, "api-texts-100", "naive", TEXT_BATCH)


@pytest.mark.benchmark(group="api-photos-2mp")
def test_api_photos_batched(benchmark, client, photos) -> None:
    requests = 2 if QUICK else 4

    def run() -> None:
        client.post_all([{"items": _photo_items(photos)} for _ in range(requests)], len(photos))

    benchmark.pedantic(run, rounds=2 if QUICK else 5, warmup_rounds=1)
    record(benchmark, "api-photos-2mp", "ours", requests * len(photos))


@pytest.mark.benchmark(group="api-photos-2mp")
def test_api_photos_naive_one_per_request(benchmark, client, photos) -> None:
    def run() -> None:
        client.post_all([{"items": [item]} for item in _photo_items(photos)], 1)

    benchmark.pedantic(run, rounds=1 if QUICK else 5, warmup_rounds=1)
    record(benchmark, "api-photos-2mp", "naive", len(photos))
