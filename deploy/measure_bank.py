"""What a bank index costs to hold and to load: the figures of docs/DEPLOY.md.

    python deploy/measure_bank.py memory --entries 100000 --kind pdq     # one run per process
    python deploy/measure_bank.py fill --db var/bank.db --entries 1000000 --kind pdq
    python deploy/measure_bank.py load --db var/bank.db                  # database -> BankIndex
    python deploy/measure_bank.py start --db var/bank.db                 # Service.start(), Ray and all

`memory` builds a `BankIndex` (what one index actor holds) from seeded random hashes, in
batches of 10,000 as the service loads them, and reports the process's resident memory
before and after (every structure counted: numpy tables, BankEntry objects, dicts) and
its peak (merges copy the tables). Two kinds of entry:
  pdq    a partner's PDQ hash imported from CSV: one 256-bit hash, no variants;
  photo  a photo banked by upload: SHA-256, pHash + 9 variants, PDQ + 7 variants.
Run each size in its own process: freed memory is not always returned to the system.

`load` times what an index shard does when it loads (`IndexActor`: its rows read from the
database a batch at a time, turned into BankEntry objects by `banks.BankFeed`, added to
the index), in one process, without Ray.
`start` times the real start-up: migrations, a local Ray, the index actor loaded from the
database, one text and one photo worker with their models.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.photos.banks import BankEntry, BankIndex

BATCH = 10_000  # Store.iter_bank_entries' batch, which the loader adds one at a time


def rss_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def entries(kind: str, start: int, n: int, rng: random.Random) -> list[BankEntry]:
    """n entries with ids start+1..start+n, shaped as the loader builds them."""
    out = []
    for i in range(start + 1, start + n + 1):
        if kind == "pdq":
            out.append(BankEntry(entry_id=i, bank="banned", author_id=None, sha256=None, phash=None,
                                 pdq=rng.randbytes(32), pdq_quality=100))
        else:
            out.append(BankEntry(
                entry_id=i, bank="banned", author_id=f"user-{i % 50_000}", sha256=rng.randbytes(32).hex(),
                phash=rng.randbytes(8), pdq=rng.randbytes(32),
                phash_variants=tuple(rng.randbytes(8) for _ in range(9)),
                pdq_variants=tuple(rng.randbytes(32) for _ in range(7)),
                item_id=f"photo-{i}", pdq_quality=90))
    return out


def cmd_memory(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    gc.collect()
    before = rss_bytes()
    index = BankIndex(pdq_min_quality=50)
    t0 = time.perf_counter()
    for start in range(0, args.entries, BATCH):
        index.add(entries(args.kind, start, min(BATCH, args.entries - start), rng))
    elapsed = time.perf_counter() - t0
    gc.collect()
    held = rss_bytes() - before
    bank = index._banks["banned"]
    arrays = bank.phash.memory_bytes() + bank.pdq.memory_bytes()
    print(f"seed={args.seed} kind={args.kind} entries={args.entries:,} "
          f"hashes: pHash {len(bank.phash):,} PDQ {len(bank.pdq):,} built in {elapsed:.1f} s")
    print(f"  RSS held {held / 2**20:,.0f} MiB = {held / args.entries:,.0f} B per entry; "
          f"peak RSS {(peak_bytes() - before) / 2**20:,.0f} MiB above the start")
    print(f"  of which numpy arrays (HashIndex.memory_bytes) {arrays / 2**20:,.0f} MiB; "
          f"the rest (BankEntry objects, dicts, bytes, allocator slack) {(held - arrays) / 2**20:,.0f} MiB")


def cmd_fill(args: argparse.Namespace) -> None:
    from sqlalchemy import insert

    from moderation.store import make_engine, migrate
    from moderation.store.tables import bank_entries

    engine = make_engine(f"sqlite:///{Path(args.db).resolve()}")
    migrate(engine)
    rng = random.Random(args.seed)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    for start in range(0, args.entries, 50_000):
        rows = []
        for e in entries(args.kind, start, min(50_000, args.entries - start), rng):
            variants = ({"phash": [h.hex() for h in e.phash_variants], "pdq": [h.hex() for h in e.pdq_variants]}
                        if e.phash_variants else None)
            rows.append({"bank": e.bank, "sha256": e.sha256, "phash": e.phash.hex() if e.phash else None,
                         "pdq": e.pdq.hex() if e.pdq else None, "pdq_quality": e.pdq_quality,
                         "variants": variants, "note": None, "author_id": e.author_id, "item_id": e.item_id,
                         "created_at": now, "created_by": "measure_bank"})
        with engine.begin() as conn:
            conn.execute(insert(bank_entries), rows)
    print(f"seed={args.seed} wrote {args.entries:,} {args.kind} entries to {args.db} "
          f"in {time.perf_counter() - t0:.0f} s")


def cmd_load(args: argparse.Namespace) -> None:
    from moderation.banks import BankFeed

    feed = BankFeed(f"sqlite:///{Path(args.db).resolve()}")
    before = rss_bytes()
    t0 = time.perf_counter()
    index = BankIndex(pdq_min_quality=50)
    n = 0
    for batch in feed.load(0, 1):  # as a single shard loads: a batch at a time
        index.add(batch)
        n += len(batch)
    t_total = time.perf_counter() - t0
    print(f"{n:,} entries from {args.db}: loaded and indexed in {t_total:.1f} s; "
          f"peak RSS {(peak_bytes() - before) / 2**20:,.0f} MiB above the start")


def cmd_start(args: argparse.Namespace) -> None:
    from moderation.config import Settings
    from moderation.service import Service

    settings = Settings(data_dir=Path(args.db).resolve().parent, database_url=f"sqlite:///{Path(args.db).resolve()}",
                        ray_num_cpus=os.cpu_count(), text_workers=1, photo_workers=1)

    async def run() -> None:
        service = Service(settings)
        t0 = time.perf_counter()
        await service.start()
        elapsed = time.perf_counter() - t0
        size = await service.index.size()
        print(f"Service.start() with {size:,} bank entries on SQLite: {elapsed:.1f} s; "
              f"API process peak RSS {peak_bytes() / 2**20:,.0f} MiB")
        await service.stop()

    asyncio.run(run())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("memory")
    m.add_argument("--entries", type=int, required=True)
    m.add_argument("--kind", choices=["pdq", "photo"], default="pdq")
    m.add_argument("--seed", type=int, default=20261205)
    m.set_defaults(func=cmd_memory)
    f = sub.add_parser("fill")
    f.add_argument("--db", required=True)
    f.add_argument("--entries", type=int, required=True)
    f.add_argument("--kind", choices=["pdq", "photo"], default="pdq")
    f.add_argument("--seed", type=int, default=20261205)
    f.set_defaults(func=cmd_fill)
    for name, func in (("load", cmd_load), ("start", cmd_start)):
        s = sub.add_parser(name)
        s.add_argument("--db", required=True)
        s.set_defaults(func=func)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
