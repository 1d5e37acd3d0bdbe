"""/v1/moderate with the author block in every result (account state, live strikes, next
threshold: one query per batch for all its authors) against the same route with that
read bypassed, in the same run (real HTTP, real Ray, real SQLite).

The service runs in this process (`tests/servers.LiveService`), so the benchmark can swap
the batch's state read for one that answers nothing: that is the route as it was before
the author block, the only difference. Each round times both sides, in alternating order,
and the ratio table takes each side's median round: on a shared machine a noisy
neighbour then slows both alike. A tenth of the batches' 50 authors have strikes
and a warning (rejected ratings sent first), so the state read finds rows.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from benchkit import QUICK, SEED, record_seconds
from data import texts

TEXT_BATCH = 100
CLIENTS = 8
AUTHORS = 50
GROUP = "api-texts-100-author-block"
_ids = itertools.count()


@pytest.fixture(scope="module")
def live(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from servers import LiveService, make_settings

    tmp: Path = tmp_path_factory.mktemp("bench-members")
    svc = LiveService(make_settings(tmp, text_workers=2, photo_workers=1, max_in_flight=100_000))
    try:
        yield svc
    finally:
        svc.stop()


def _items(pool: list[str], n: int) -> list[dict[str, Any]]:
    k = next(_ids)
    return [
        {"id": f"bm{k}-{i}", "type": "text", "context": "message", "author_id": f"u{i % AUTHORS}", "text": pool[(k * n + i) % len(pool)]}
        for i in range(n)
    ]


@pytest.mark.benchmark(group=GROUP)
def test_api_texts_with_and_without_the_author_block(benchmark, live) -> None:  # type: ignore[no-untyped-def]
    pool = texts(2000, SEED)
    key = live.api_key("bench")
    clients = [httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {key}"}, timeout=120) for _ in range(CLIENTS)]
    executor = ThreadPoolExecutor(CLIENTS)
    requests = CLIENTS * (1 if QUICK else 4)
    # a tenth of the authors have three rejected ratings: three strikes and a warning
    warned = [
        {"id": f"bm-warn-{a}-{k}", "type": "text", "context": "rating", "author_id": f"u{a}", "text": f"appelle moi au 06 12 34 56 {10 + k}"}
        for a in range(0, AUTHORS, 10)
        for k in range(3)
    ]
    assert {r["author"]["state"] for r in clients[0].post("/v1/moderate", json={"items": warned}).json()["results"]} >= {"warned"}
    moderation = live.service.moderation
    real = moderation.enforcement.states

    def send_all() -> None:
        bodies = [{"items": _items(pool, TEXT_BATCH)} for _ in range(requests)]

        def send(k: int) -> None:
            for body in bodies[k::CLIENTS]:
                resp = clients[k].post("/v1/moderate", json=body)
                assert resp.status_code == 200, resp.text
                assert len(resp.json()["results"]) == TEXT_BATCH

        list(executor.map(send, range(CLIENTS)))

    times: dict[str, list[float]] = {"ours": [], "naive": []}
    cpu: dict[str, list[float]] = {"ours": [], "naive": []}  # this process's CPU: the service and its clients
    rounds = itertools.count()

    def timed(side: str) -> None:
        if side == "naive":
            moderation.enforcement.states = lambda ids, now=None: {}  # the route as before the author block
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            send_all()
        finally:
            moderation.enforcement.states = real
        times[side].append(time.perf_counter() - start)
        cpu[side].append(time.process_time() - start_cpu)

    def one_round_each() -> None:
        # the order alternates, so a machine speeding up or slowing down favours neither side
        for side in ("ours", "naive") if next(rounds) % 2 == 0 else ("naive", "ours"):
            timed(side)

    try:
        send_all()  # warm: workers, connections, the database file
        benchmark.pedantic(one_round_each, rounds=2 if QUICK else 12, warmup_rounds=0)
    finally:
        executor.shutdown()
        for c in clients:
            c.close()
    for side, seconds in times.items():
        record_seconds(GROUP, side, requests * TEXT_BATCH, statistics.median(seconds))
    benchmark.extra_info.update(
        with_block_per_s=[requests * TEXT_BATCH / t for t in times["ours"]],
        without_block_per_s=[requests * TEXT_BATCH / t for t in times["naive"]],
        ratio_per_round=[n / o for o, n in zip(times["ours"], times["naive"])],
        # the serving process's CPU per round, clients included: what the block costs on a busy machine too
        cpu_ratio_median=statistics.median(cpu["naive"]) / statistics.median(cpu["ours"]),
        cpu_per_round={side: [round(c, 3) for c in cs] for side, cs in cpu.items()},
    )
