"""The bank index served two ways, measured side by side on one local Ray: the named
`IndexActor` the service uses (`workers.actors.ShardedIndex`, one shard) and a Ray Serve
deployment holding the same `BankIndex`, loaded from the same database. Run by hand:

    PYTHONPATH=var/serve-deps python benchmarks/index_serve.py --entries 100000

Ray Serve's own dependencies are not all in the service's environment (benchmarks/README.md
says which, and the `bench` extra of pyproject.toml installs them).

Measured for each: start-up until the first query answers; query throughput and p50/p99
latency of batches of 16 photos' hashes (a photo worker's chunk) from 4 concurrent
callers, each a Ray actor calling as a photo worker does; and recovery: the time from
killing the replica (or the actor) until a caller's query answers again. The database
holds `--entries` seeded random PDQ hashes plus the 16 query photos, so every query
finds its photo. Seeded; one run prints its seed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import ray
from images import make_jpeg
from index_startup import fill
from ray import serve

from moderation.banks import BankFeed, photo_entry
from moderation.config import DEFAULT_POLICY
from moderation.photos.banks import BankIndex
from moderation.photos.decode import DecodeLimits
from moderation.photos.hashing import PhotoHashes, hash_upload
from moderation.photos.index import MatchThresholds
from moderation.policy import load_policy
from moderation.store import StoreRef
from moderation.workers.actors import ShardedIndex

CALLERS = 4
BATCH = 16  # a photo worker's chunk (worker_batch_size // 4)


@serve.deployment(num_replicas=1, ray_actor_options={"num_cpus": 0}, max_ongoing_requests=CALLERS * 2)
class ServedIndex:
    """The same `BankIndex` as one IndexActor holds, loaded the same way (`BankFeed`),
    answering the same call. It does not follow the bank log: that part would be the same
    thread as IndexActor's, and costs nothing while no bank changes."""

    def __init__(self, source: BankFeed, pdq_min_quality: int) -> None:
        self.index = BankIndex(pdq_min_quality=pdq_min_quality)
        for batch in source.load(0, 1):
            self.index.add(batch)

    def match(self, hashes: list[PhotoHashes], thresholds: MatchThresholds) -> list[list[Any]]:
        return [self.index.match(h, thresholds) for h in hashes]


@ray.remote(num_cpus=0)
class Caller:
    """A photo worker's side of the call: blocking, one batch at a time."""

    def __init__(self, target: Any, served: bool) -> None:
        self.target, self.served = target, served

    def match(self, hashes: list[PhotoHashes], thresholds: MatchThresholds) -> list[list[Any]]:
        if self.served:
            return self.target.match.remote(hashes, thresholds).result(timeout_s=30)
        return self.target.match(hashes, thresholds)

    def run(self, hashes: list[PhotoHashes], thresholds: MatchThresholds, rounds: int) -> list[float]:
        latencies = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            self.match(hashes, thresholds)
            latencies.append(time.perf_counter() - t0)
        return latencies

    def until_answered(self, hashes: list[PhotoHashes], thresholds: MatchThresholds, timeout: float) -> float:
        """Seconds until a query answers (polled every 50 ms); what failed meanwhile is counted."""
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < timeout:
            try:
                self.match(hashes, thresholds)
                return time.perf_counter() - t0
            except Exception:  # noqa: BLE001 - Unavailable, a dead replica, a timeout: all mean "not yet"
                time.sleep(0.05)
        return float("inf")


def query_photos(seed: int) -> list[PhotoHashes]:
    return [hash_upload(make_jpeg(seed=seed + k), DecodeLimits()) for k in range(BATCH)]


def measure(name: str, callers: list[Any], photos: list[PhotoHashes], thresholds: MatchThresholds, rounds: int) -> dict[str, float]:
    ray.get([c.run.remote(photos, thresholds, 5) for c in callers])  # warm-up
    t0 = time.perf_counter()
    latencies = sorted(x for got in ray.get([c.run.remote(photos, thresholds, rounds) for c in callers]) for x in got)
    wall = time.perf_counter() - t0
    out = {
        "batches/s": len(latencies) / wall,
        "photos/s": len(latencies) * BATCH / wall,
        "p50 ms": 1000 * statistics.median(latencies),
        "p99 ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
    }
    print(f"{name}: {CALLERS} callers x {rounds} batches of {BATCH}: " + ", ".join(f"{k} {v:,.1f}" for k, v in out.items()))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", default="var/bench/index-serve.db")
    p.add_argument("--entries", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=200)
    p.add_argument("--seed", type=int, default=20261205)
    args = p.parse_args()
    url = f"sqlite:///{Path(args.db).resolve()}"
    fresh = not Path(args.db).exists()
    fill(url, args.entries, args.seed)
    photos = query_photos(args.seed)
    if fresh:
        StoreRef(url).store.add_bank_entries(
            [photo_entry("banned", h, note="query", author_id=None, item_id=None, actor="index_serve") for h in photos]
        )
    policy = load_policy(DEFAULT_POLICY)
    thresholds = policy.hash_matching
    print(f"seed={args.seed} entries={args.entries:,} + {BATCH} query photos; Ray {ray.__version__}; {os.cpu_count()} cores")

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, configure_logging=False, log_to_driver=False)
    try:
        # -- the named actor ------------------------------------------------------------
        index = ShardedIndex(BankFeed(url), 1, thresholds.pdq_min_quality, f"index-serve-{os.getpid()}")
        t0 = time.perf_counter()
        index.handles(create=True)
        while True:
            try:
                ray.get(index.handles()[0].size.remote())
                break
            except ray.exceptions.RayTaskError:  # Unavailable while loading
                time.sleep(0.05)
        print(f"named actor: created and loaded in {time.perf_counter() - t0:.1f} s")
        actor_callers = [Caller.remote(index, False) for _ in range(CALLERS)]
        found = ray.get(actor_callers[0].match.remote(photos, thresholds))
        measure("named actor", actor_callers, photos, thresholds, args.rounds)
        ray.kill(index.handles()[0], no_restart=False)  # Ray restarts it; it loads again
        back = ray.get(actor_callers[0].until_answered.remote(photos, thresholds, 300))
        print(f"named actor: killed; answering again after {back:.1f} s")

        # -- Ray Serve --------------------------------------------------------------------
        t0 = time.perf_counter()
        serve.start(proxy_location="Disabled")
        t1 = time.perf_counter()
        handle = serve.run(ServedIndex.bind(BankFeed(url), thresholds.pdq_min_quality), name="bank-index", route_prefix=None)
        t2 = time.perf_counter()
        print(f"Serve: controller started in {t1 - t0:.1f} s, deployment loaded and ready in {t2 - t1:.1f} s")
        served_callers = [Caller.remote(handle, True) for _ in range(CALLERS)]
        served = ray.get(served_callers[0].match.remote(photos, thresholds))
        assert [sorted(m.entry_id for m in ms) for ms in served] == [sorted(m.entry_id for m in ms) for ms in found]
        measure("Ray Serve", served_callers, photos, thresholds, args.rounds)
        replicas = [a for a in ray.util.list_named_actors(all_namespaces=True) if a["name"].startswith("SERVE_REPLICA::")]
        ray.kill(ray.get_actor(replicas[0]["name"], namespace=replicas[0]["namespace"]), no_restart=True)
        back = ray.get(served_callers[0].until_answered.remote(photos, thresholds, 300))
        print(f"Serve: replica killed; answering again after {back:.1f} s")
        serve.shutdown()
        index.kill()
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
