"""Start-up of the bank index, measured: N PDQ entries in a database, then the real index
actors (`workers.actors.ShardedIndex` over `banks.BankFeed`) loading them under a local
Ray, timed until every shard answers, with each shard's resident memory. Run by hand:

    python benchmarks/index_startup.py --db var/bench/index-1m.db --entries 1000000
    nice -n 10 python benchmarks/index_startup.py --db var/bench/index-10m.db --entries 10000000

The database is filled first when it holds fewer than N entries (seeded random PDQ
hashes, as a partner's CSV import stores them: one hash, quality 100, no variants),
100,000 rows per `executemany`; a second run on the same file only loads. SQLite by
default; `--url postgresql://...` loads from PostgreSQL instead (it is filled the same way).
What is timed is what a fresh cluster does: the shards created, each reading its share
a batch of 10,000 rows at a time and building its `BankIndex`, until `ShardedIndex.size`
stops answering `Unavailable` (polled every 0.1 s, as `Service._index_loaded` does).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select

from moderation.banks import BankFeed
from moderation.config import DEFAULT_POLICY
from moderation.errors import Unavailable
from moderation.policy import load_policy
from moderation.store import make_engine, migrate
from moderation.store.tables import bank_entries
from moderation.workers.actors import ShardedIndex

CHUNK = 100_000  # rows per executemany


def fill(url: str, entries: int, seed: int) -> None:
    """Bring the database to `entries` PDQ entries (seeded: the same file for the same seed)."""
    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as conn:
        have = int(conn.execute(select(func.count()).select_from(bank_entries)).scalar_one())
    if have >= entries:
        print(f"database already holds {have:,} entries: not filled")
        return
    rng = random.Random(seed)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    for start in range(have, entries, CHUNK):
        n = min(CHUNK, entries - start)
        rows = [
            {"bank": "banned", "pdq": rng.randbytes(32).hex(), "pdq_quality": 100, "created_at": now, "created_by": "index_startup"}
            for _ in range(n)
        ]
        with engine.begin() as conn:
            conn.execute(insert(bank_entries), rows)
    print(f"seed={seed} filled {entries - have:,} PDQ entries in {time.perf_counter() - t0:.0f} s")
    engine.dispose()


def _usage(actor: Any) -> tuple[int, int, float]:
    """(VmRSS, VmHWM) of an actor's process in bytes, and the CPU seconds it has used (every
    thread: the load runs in one of them), read inside it."""

    def read(_self: Any) -> tuple[int, int, float]:
        import resource  # late: runs inside the actor

        got = {}
        with open("/proc/self/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    got[key] = int(rest.split()[0]) * 1024
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return got["VmRSS"], got["VmHWM"], usage.ru_utime + usage.ru_stime

    import ray  # late: Ray is started by main()

    return ray.get(actor.__ray_call__.remote(read))


async def load(url: str, shards: int) -> None:
    policy = load_policy(DEFAULT_POLICY)
    index = ShardedIndex(BankFeed(url), shards, policy.hash_matching.pdq_min_quality, f"index-startup-{os.getpid()}")
    t0 = time.perf_counter()
    index.handles(create=True)
    while True:
        try:
            size = await index.size()
            break
        except Unavailable:
            await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - t0
    print(f"{shards} shard(s): {size:,} entries loaded from {url.split('://')[0]} until ready in {elapsed:.1f} s")
    for k, actor in enumerate(index.handles()):
        rss, peak, cpu = _usage(actor)
        print(f"  shard {k}: RSS {rss / 2**20:,.0f} MiB, peak RSS {peak / 2**20:,.0f} MiB, {cpu:.1f} CPU seconds")
    print(f"  load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    index.kill()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--db", help="SQLite file (created and filled if short of --entries)")
    p.add_argument("--url", help="a database URL instead of --db")
    p.add_argument("--entries", type=int, required=True)
    p.add_argument("--shards", type=int, default=1)
    p.add_argument("--seed", type=int, default=20261205)
    args = p.parse_args()
    if bool(args.db) == bool(args.url):
        p.error("give --db or --url")
    url = args.url or f"sqlite:///{Path(args.db).resolve()}"
    fill(url, args.entries, args.seed)

    import ray  # late: only once the database is ready

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, configure_logging=False, log_to_driver=False)
    try:
        asyncio.run(load(url, args.shards))
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
