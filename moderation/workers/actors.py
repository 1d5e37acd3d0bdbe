"""Ray actors: thin shells over the plain analyzers of `moderation.pipeline`.

Heavy loading (rules, models) happens once in `__init__`; `reconfigure` swaps in a new
policy without a restart; `analyze` takes a whole batch per remote call, because one
Ray call costs about a millisecond and a short text takes far less to analyse.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import ray
from threadpoolctl import threadpool_limits

from moderation.photos.banks import BankEntry, BankIndex, BankMatch
from moderation.photos.decode import DecodeLimits
from moderation.photos.hashing import PhotoHashes
from moderation.photos.index import MatchThresholds
from moderation.pipeline import (
    PhotoAnalyzer,
    TextAnalyzer,
    photo_signals_for,
    text_signals_for,
)
from moderation.policy import Policy
from moderation.text.campaigns import (
    CampaignCount,
    CampaignSettings,
    CampaignWindow,
    fingerprints,
)
from moderation.types import Item, Signals
from moderation.workers.pool import kill_quietly


def one_native_thread() -> None:
    """Native thread pools of this process (OpenBLAS under numpy's matrix products) to one thread.

    A worker is one of N processes sharing N cores; OpenBLAS's default of one thread per
    core made every photo worker's small products (PDQ) fight the others' busy-waiting
    threads: the photo path with the nudity model ran 19.8 photos/s on 2 cores instead of
    37.8 (benchmarks/bench_nudity.py). onnxruntime's threads are set per session.
    """
    threadpool_limits(limits=1)


@ray.remote(max_restarts=0)
class TextWorker:
    def __init__(self, policy: Policy, campaigns: Any = None) -> None:
        one_native_thread()
        self.policy = policy
        self.campaign_actor = campaigns
        self.analyzer = TextAnalyzer(
            policy,
            text_signals=text_signals_for(policy),
            campaigns=self._campaigns if campaigns is not None else None,
        )

    def _campaigns(self, texts: Sequence[tuple[str, str]]) -> Callable[[], list[CampaignCount]]:
        # One call to the shared campaign actor per batch, sent now and collected after
        # the rules and models have run, so the worker never waits on it idle.
        # Fingerprints are computed here, in parallel; the shared actor only counts.
        assert self.policy.campaigns is not None  # TextAnalyzer only calls when configured
        prints = [(author, key, h) for (author, _), (key, h) in zip(texts, fingerprints([t for _, t in texts]))]
        ref = self.campaign_actor.observe.remote(prints, self.policy.campaigns)
        return lambda: ray.get(ref)

    def analyze(self, items: Sequence[Item]) -> list[Signals]:
        return self.analyzer.analyze(items)

    def reconfigure(self, policy: Policy) -> str:
        # a check the new policy turns on gets its model loaded here; loaded ones are kept
        self.analyzer.text_signals = text_signals_for(policy, self.analyzer.text_signals)
        self.analyzer.reconfigure(policy)
        self.policy = policy
        return policy.version

    def ping(self) -> bool:
        return True


@ray.remote(max_restarts=0)
class PhotoWorker:
    def __init__(self, policy: Policy, limits: DecodeLimits, index: Any) -> None:
        one_native_thread()
        self.index = index
        self.policy = policy
        self.analyzer = PhotoAnalyzer(policy, limits, matcher=self._match, photo_signals=photo_signals_for(policy))

    def _match(self, hashes: Sequence[PhotoHashes]) -> list[list[BankMatch]]:
        # One call to each index shard per batch, not per photo.
        return self.index.match(hashes, self.policy.hash_matching)

    def analyze(self, items: Sequence[Item]) -> list[Signals]:
        return self.analyzer.analyze(items)

    def reconfigure(self, policy: Policy) -> str:
        self.analyzer.photo_signals = photo_signals_for(policy, self.analyzer.photo_signals)
        self.policy = policy
        self.analyzer.reconfigure(policy)
        return policy.version

    def ping(self) -> bool:
        return True


@ray.remote(max_restarts=0)
class IndexActor:
    """One shard of the bank index shared by all photo workers (see `ShardedIndex`).
    Not restarted by Ray: an empty index would approve banned photos silently; the
    service loads it from the database at start."""

    def __init__(self, pdq_min_quality: int = 50) -> None:
        self.index = BankIndex(pdq_min_quality=pdq_min_quality)

    def add(self, entries: Sequence[BankEntry]) -> int:
        self.index.add(entries)
        return len(self.index)

    def remove(self, entry_ids: Sequence[int]) -> int:
        self.index.remove(entry_ids)
        return len(self.index)

    def match(self, hashes: Sequence[PhotoHashes], thresholds: MatchThresholds) -> list[list[BankMatch]]:
        return [self.index.match(h, thresholds) for h in hashes]

    def size(self) -> int:
        return len(self.index)


class ShardedIndex:
    """The bank index as `shards` IndexActors: an entry lives on shard entry_id % shards,
    a query goes to every shard at once and the matches are merged. One shard holding
    10 million imported PDQ hashes takes about 4.2 GB (docs/DEPLOY.md); more shards spread a larger bank
    over the cluster's nodes and its queries over their cores. Plain and picklable:
    the service and every photo worker hold the same handles."""

    def __init__(self, shards: Sequence[Any]) -> None:
        if not shards:
            raise ValueError("an index needs at least one shard")
        self.shards = list(shards)

    @classmethod
    def start(cls, n: int, pdq_min_quality: int) -> ShardedIndex:
        return cls([IndexActor.remote(pdq_min_quality) for _ in range(n)])

    def _split(self, ids: Sequence[int]) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        for k, i in enumerate(ids):
            out.setdefault(i % len(self.shards), []).append(k)
        return out

    async def add(self, entries: Sequence[BankEntry]) -> None:
        groups = self._split([e.entry_id for e in entries])
        await asyncio.gather(*(self.shards[s].add.remote([entries[k] for k in ks]) for s, ks in groups.items()))

    async def remove(self, entry_ids: Sequence[int]) -> None:
        groups = self._split(list(entry_ids))
        await asyncio.gather(*(self.shards[s].remove.remote([entry_ids[k] for k in ks]) for s, ks in groups.items()))

    async def size(self) -> int:
        return sum(await asyncio.gather(*(s.size.remote() for s in self.shards)))

    def match(self, hashes: Sequence[PhotoHashes], thresholds: MatchThresholds) -> list[list[BankMatch]]:
        """Blocking: called inside photo workers, one remote call per shard for the batch."""
        per_shard = ray.get([s.match.remote(list(hashes), thresholds) for s in self.shards])
        return [
            sorted((m for shard in per_shard for m in shard[k]), key=lambda m: (m.distance, m.entry_id))
            for k in range(len(hashes))
        ]

    def kill(self) -> None:
        for s in self.shards:
            kill_quietly(s)


@ray.remote(max_restarts=-1, max_task_retries=-1)
class CampaignActor:
    """The campaign window shared by all text workers (`moderation.text.campaigns`).

    Its clock is the only clock, so workers on other machines agree on the window. Restarted
    by Ray if it dies, empty: a campaign in progress is then counted again from zero.
    """

    def __init__(self) -> None:
        self.window = CampaignWindow()

    def observe(self, prints: Sequence[tuple[str, str, int]], settings: CampaignSettings) -> list[CampaignCount]:
        """Count a batch of (author, exact key, SimHash) fingerprints, in order."""
        self.window.configure(settings)
        return self.window.observe_fingerprints(list(prints), time.time())

