"""Scale-out on PostgreSQL: `/v1/moderate` texts through one API process and through two
(same database, same Ray, in the same run), and a replay of a day's volume.

Marked `fault` (several served processes and a PostgreSQL server: minutes): `make test`
leaves it out, `make bench` and `make test-slow` run it. On this 2-core machine two
processes share the same two cores, so the figure shows what a second process costs or
gains here, not a second machine's worth.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import ray
from benchkit import QUICK, SEED, record
from data import texts
from images import make_jpeg
from servers import (
    PostgresServer,
    ServedProcess,
    b64,
    free_port,
    fresh_postgres_database,
    kill_shared_actors,
)

pytestmark = pytest.mark.fault

TEXT_BATCH = 100
CLIENTS = 8
# The day's volume of the product brief, replayed at this scale (1/DAY_SCALE of it).
# MODERATION_DAY_SCALE=1 replays the whole day (about half an hour here).
DAY_TEXTS, DAY_PHOTOS = 500_000, 50_000
DAY_SCALE = int(os.environ.get("MODERATION_DAY_SCALE", "1000" if QUICK else "100"))
_ids = itertools.count()


@pytest.fixture(scope="module")
def processes(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[str], str]]:
    server = PostgresServer()
    url = fresh_postgres_database(server.url)
    root = tmp_path_factory.mktemp("processes")
    env = {"MODERATION_DATABASE_URL": url, "RAY_ADDRESS": ray.get_runtime_context().gcs_address,
           "MODERATION_TEXT_WORKERS": "2", "MODERATION_PHOTO_WORKERS": "2", "MODERATION_MAX_IN_FLIGHT": "100000",
           "MODERATION_STOP_SHARED_ACTORS": "false"}
    served = [ServedProcess(root / f"p{k}", free_port(), **env) for k in range(2)]
    key = served[0].create_key("bench")
    try:
        for p in served:
            p.start()
        yield [p.url for p in served], key
    finally:
        for p in served:
            p.kill()
        kill_shared_actors(url)
        server.stop()


def _post_round_robin(urls: list[str], key: str, bodies: list[dict]) -> None:
    """CLIENTS connections, spread over the processes as a load balancer would."""
    headers = {"Authorization": f"Bearer {key}"}
    clients = [httpx.Client(base_url=urls[k % len(urls)], headers=headers, timeout=300) for k in range(CLIENTS)]

    def send(k: int) -> None:
        for body in bodies[k::CLIENTS]:
            resp = clients[k].post("/v1/moderate", json=body)
            assert resp.status_code == 200, resp.text

    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(send, range(CLIENTS)))
    finally:
        for c in clients:
            c.close()


def _text_bodies(pool: list[str], requests: int) -> list[dict]:
    out = []
    for _ in range(requests):
        k = next(_ids)
        out.append({"items": [{"id": f"pt{k}-{i}", "type": "text", "context": "message", "author_id": f"u{i % 50}",
                               "text": pool[(k * TEXT_BATCH + i) % len(pool)]} for i in range(TEXT_BATCH)]})
    return out


@pytest.mark.parametrize("n", [1, 2], ids=["one-process", "two-processes"])
@pytest.mark.benchmark(group="api-postgres-texts-100")
def test_texts_through_processes(benchmark, processes, n: int) -> None:
    urls, key = processes
    pool = texts(2000, SEED)
    requests = CLIENTS * (1 if QUICK else 5)
    benchmark.pedantic(lambda: _post_round_robin(urls[:n], key, _text_bodies(pool, requests)), rounds=2 if QUICK else 4, warmup_rounds=1)
    # "naive" is the one-process side here: the ratio reads as two processes' gain
    record(benchmark, "api-postgres-texts-100", "ours" if n == 2 else "naive", requests * TEXT_BATCH)


@pytest.mark.benchmark(group="day-replay")
def test_day_volume_replay(benchmark, processes) -> None:
    """1/DAY_SCALE of a day (texts in batches of 100, 2 MP photos in batches of 16) through
    both processes; extra_info has the measured seconds and the whole day extrapolated."""
    urls, key = processes
    pool = texts(2000, SEED)
    photos = [b64(make_jpeg(1632, 1224, seed=SEED + i, quality=88)) for i in range(16)]
    n_texts, n_photos = DAY_TEXTS // DAY_SCALE, DAY_PHOTOS // DAY_SCALE

    def photo_bodies() -> list[dict]:
        out = []
        for start in range(0, n_photos, 16):
            k = next(_ids)
            out.append({"items": [{"id": f"pp{k}-{i}", "type": "photo", "context": "car_photo", "author_id": f"u{k}",
                                   "image_b64": photos[i]} for i in range(min(16, n_photos - start))]})
        return out

    def replay() -> None:
        _post_round_robin(urls, key, _text_bodies(pool, n_texts // TEXT_BATCH) + photo_bodies())

    started = time.perf_counter()
    benchmark.pedantic(replay, rounds=1, warmup_rounds=0)
    seconds = time.perf_counter() - started
    benchmark.extra_info.update({"scale": f"1/{DAY_SCALE}", "texts": n_texts, "photos": n_photos,
                                 "seconds": round(seconds, 1), "day_extrapolated_hours": round(seconds * DAY_SCALE / 3600, 2)})
