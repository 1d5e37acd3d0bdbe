"""Ray actors: thin shells over the plain analyzers of `moderation.pipeline`.

Heavy loading (rules, models) happens once in `__init__`; `reconfigure` swaps in a new
policy without a restart; `analyze` takes a whole batch per remote call, because one
Ray call costs about a millisecond and a short text takes far less to analyse.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import ray
from ray.exceptions import ActorDiedError, RayTaskError
from threadpoolctl import threadpool_limits

from moderation.errors import Unavailable
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
from moderation.text.normalize import normalize
from moderation.types import Item, Signals
from moderation.workers.pool import kill_quietly, raised_inside


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
    def __init__(self, policy: Policy, campaigns: str | None = None) -> None:
        """`campaigns`: the name of the cluster's campaign actor (looked up, never created here)."""
        one_native_thread()
        self.policy = policy
        self.campaign_name = campaigns
        self.campaign_actor: Any = None
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
        try:
            if self.campaign_actor is None:
                self.campaign_actor = ray.get_actor(self.campaign_name)
            ref = self.campaign_actor.observe.remote(prints, self.policy.campaigns)
        except Exception as exc:  # noqa: BLE001 - not found: the service is creating it again
            self.campaign_actor = None
            raise Unavailable(f"campaign window unavailable: {type(exc).__name__}") from None

        def collect() -> list[CampaignCount]:
            try:
                return ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - gone mid-call: this worker is fine
                self.campaign_actor = None
                raise Unavailable(f"campaign window unavailable: {type(exc).__name__}") from None

        return collect

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


# How far back a shard re-reads the bank log: on PostgreSQL a writer may commit a change
# numbered below one already seen; it appears within this time or never.
LOG_LOOKBACK = timedelta(minutes=5)


class BankSource(Protocol):
    """What an index shard reads (implemented over the database by `moderation.banks.BankFeed`)."""

    def position(self) -> int: ...
    def load(self, shard: int, shards: int) -> Iterator[list[BankEntry]]: ...
    def changes(self, after: int, since: datetime, shard: int, shards: int) -> list[tuple[int, int, str]]: ...
    def entries(self, ids: Sequence[int]) -> list[BankEntry]: ...


@ray.remote(max_restarts=-1, max_task_retries=0, max_concurrency=8, num_cpus=0)
class IndexActor:
    """One shard of the cluster's bank index, a follower of the database.

    It loads its entries itself (ids equal to `shard` modulo `shards`), then follows the bank
    log: every change, written by any API process, reaches it within `poll_seconds`, and
    at once when a writer calls `sync`. Ray restarts it when it or its node dies; it then
    loads again, and answers `Unavailable` (never an empty match) until it has."""

    def __init__(self, source: BankSource, shard: int, shards: int, pdq_min_quality: int, poll_seconds: float = 0.25) -> None:
        self.source, self.shard, self.shards = source, shard, shards
        self.index = BankIndex(pdq_min_quality=pdq_min_quality)
        self.ready = False
        self.error: str | None = None
        self._after = 0
        self._applied: dict[int, float] = {}  # log seq -> when applied (monotonic)
        self._since_floor: datetime | None = None  # the first sync after a load reads back to the load's start
        # One pass over the log at a time, shared: a caller waits for the first pass that
        # starts after it arrived (it sees every change committed before the call), so a
        # burst of writers' syncs costs two passes, not one per writer.
        self._passes = threading.Condition()
        self._passes_started = self._passes_done = 0
        # The index's tables are rewritten in place (merges, compaction): a query must never
        # see them half-changed, or a banned photo's match is skipped.
        self._index_lock = threading.Lock()
        threading.Thread(target=self._follow, args=(pdq_min_quality, poll_seconds), daemon=True).start()

    def _follow(self, pdq_min_quality: int, poll_seconds: float) -> None:
        while not self.ready:
            try:
                started = datetime.now(UTC)
                position = self.source.position()
                index = BankIndex(pdq_min_quality=pdq_min_quality)
                for batch in self.source.load(self.shard, self.shards):
                    index.add(batch)
                with self._index_lock:
                    self.index = index
                self._after, self._since_floor = position, started - LOG_LOOKBACK
                self.ready, self.error = True, None
            except Exception as exc:  # noqa: BLE001 - the database may be down: try again
                self.error = f"loading: {exc}"
                time.sleep(1.0)
        while True:
            try:
                self.sync()
                self.error = None
            except Exception as exc:  # noqa: BLE001 - kept for `size`; the next poll retries
                self.error = f"following the bank log: {exc}"
            time.sleep(poll_seconds)

    def sync(self) -> int:
        """Apply the logged changes not applied yet; returns the shard's size.

        Concurrent callers share passes: a call made while a pass runs waits for the next
        one (at most one is queued, whatever the number of callers), which starts after
        the call and so applies whatever the caller committed before it."""
        self._check_ready()
        with self._passes:
            wanted = self._passes_started + 1  # the first pass to start after this call
            while self._passes_done < wanted:
                if self._passes_started > self._passes_done:  # one is running: wait for it
                    self._passes.wait()
                    continue
                self._passes_started += 1  # none running: this caller runs the one it wants
                ok = False
                self._passes.release()
                try:
                    self._apply_log()
                    ok = True
                finally:
                    self._passes.acquire()
                    # a failed pass counts as not run: a waiter for it runs it again
                    self._passes_started = self._passes_done = self._passes_done + ok
                    self._passes.notify_all()
        return len(self.index)

    def _apply_log(self) -> None:
        """One pass over the bank log (callers hold the pass: one at a time)."""
        since = datetime.now(UTC) - LOG_LOOKBACK
        if self._since_floor is not None:  # a long load: what was logged while it ran
            since, self._since_floor = min(since, self._since_floor), None
        new = [c for c in self.source.changes(self._after, since, self.shard, self.shards) if c[0] not in self._applied]
        # in log order: an entry is added once and removed at most once after
        entries = {e.entry_id: e for e in self.source.entries([entry_id for _, entry_id, op in new if op == "add"])}
        with self._index_lock:
            for _, entry_id, op in new:
                if op == "remove":
                    self.index.remove([entry_id])
                elif entry_id in entries:
                    self.index.add([entries[entry_id]])
        now = time.monotonic()
        for seq, _, _ in new:
            self._applied[seq] = now
            self._after = max(self._after, seq)
        horizon = now - 2 * LOG_LOOKBACK.total_seconds()
        self._applied = {seq: t for seq, t in self._applied.items() if t >= horizon}

    def _check_ready(self) -> None:
        if not self.ready:
            raise Unavailable(f"bank index shard {self.shard} is loading" + (f" ({self.error})" if self.error else ""))

    def match(self, hashes: Sequence[PhotoHashes], thresholds: MatchThresholds) -> list[list[BankMatch]]:
        self._check_ready()
        with self._index_lock:
            return [self.index.match(h, thresholds) for h in hashes]

    def size(self) -> int:
        self._check_ready()
        with self._index_lock:
            return len(self.index)


class ShardedIndex:
    """The cluster's bank index as `shards` named IndexActors: an entry lives on shard
    entry_id % shards, a query goes to every shard at once and the matches are merged.
    One shard holding 10 million imported PDQ hashes takes about 4.2 GB (docs/DEPLOY.md);
    more shards spread a larger bank over the cluster's nodes and its queries over their
    cores.

    The actors are named after the database, so every API process on that database shares
    them: the first creates them, the others find them. A process that finds one gone
    (its node, or the process that created it, died) creates it again (`ensure`), and it
    reloads from the database. Picklable: photo workers look the actors up by name and
    never create them."""

    def __init__(self, source: BankSource, shards: int, pdq_min_quality: int, name: str, *, detached: bool = False) -> None:
        if shards < 1:
            raise ValueError("an index needs at least one shard")
        self.source, self.shards, self.pdq_min_quality, self.name = source, shards, pdq_min_quality, name
        self.detached = detached  # outlives the process that created it (several API processes)
        self._handles: list[Any] | None = None
        # this process's syncs: the round running, and the one its later callers share
        self._sync_running: asyncio.Future[None] | None = None
        self._sync_queued: asyncio.Future[None] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_handles": None, "_sync_running": None, "_sync_queued": None}

    def _names(self) -> list[str]:
        return [f"{self.name}-{k}of{self.shards}" for k in range(self.shards)]

    def _create(self, k: int) -> Any:
        options: dict[str, Any] = {"name": self._names()[k], "get_if_exists": True}
        if self.detached:
            options["lifetime"] = "detached"
        return IndexActor.options(**options).remote(self.source, k, self.shards, self.pdq_min_quality)

    def handles(self, *, create: bool = False) -> list[Any]:
        if self._handles is None:
            try:
                if create:
                    self._handles = [self._create(k) for k in range(self.shards)]
                else:
                    self._handles = [ray.get_actor(n) for n in self._names()]
            except ValueError as exc:  # no actor of that name (yet)
                raise Unavailable(f"bank index not running: {exc}") from None
        return self._handles

    async def _each(self, method: str, *args: Any, create: bool = True) -> list[Any]:
        """`method` on every shard. A shard found dead for good is replaced (created again,
        or looked up again in a worker) alone: the handles of the others are kept, since
        Ray ends an actor whose creating process drops its handles."""
        handles = self.handles(create=create)
        results = await asyncio.gather(*(getattr(h, method).remote(*args) for h in handles), return_exceptions=True)
        for k, result in enumerate(results):
            if isinstance(result, RayTaskError):
                raise raised_inside(result) from None
            if isinstance(result, ActorDiedError):
                if create:
                    handles[k] = self._create(k)
                else:
                    self._handles = None
                raise Unavailable(f"bank index shard {k} died; it is being started again") from None
            if isinstance(result, BaseException):
                raise Unavailable(f"bank index shard {k} unavailable: {type(result).__name__}") from None
        return list(results)

    async def ensure(self) -> int:
        """Create what is missing, then the number of entries; Unavailable while loading."""
        return sum(await self._each("size"))

    async def sync(self) -> None:
        """Every shard applies the log now: a writer's change is visible when this returns.

        Concurrent callers in this process share rounds: a call made while a round runs
        joins the next one (one queued at most), so a burst of approvals holds at most two
        of each shard's threads, not one per approval."""
        queued = self._sync_queued
        if queued is None or queued.get_loop() is not asyncio.get_running_loop():
            queued = self._sync_queued = asyncio.ensure_future(self._sync_after(self._sync_running))
        await asyncio.shield(queued)

    async def _sync_after(self, previous: asyncio.Future[None] | None) -> None:
        """One round of `sync` on every shard, once the previous round is over (its outcome
        is its own callers')."""
        if previous is not None and previous.get_loop() is asyncio.get_running_loop():
            await asyncio.wait([previous])
        me = self._sync_queued
        self._sync_running, self._sync_queued = me, None  # callers from now on queue behind this round
        try:
            await self._each("sync")
        finally:
            if self._sync_running is me:
                self._sync_running = None

    async def size(self) -> int:
        return sum(await self._each("size"))

    def match(self, hashes: Sequence[PhotoHashes], thresholds: MatchThresholds) -> list[list[BankMatch]]:
        """Blocking: called inside photo workers, one remote call per shard for the batch.
        Any failure of a shard is `Unavailable` here, never the caller's own death."""
        try:
            per_shard = ray.get([s.match.remote(list(hashes), thresholds) for s in self.handles()])
        except RayTaskError as exc:
            raise raised_inside(exc) from None
        except Exception as exc:  # noqa: BLE001 - a dead or restarting shard: the worker is fine
            self._handles = None  # a worker's handles are looked up, never the creator's: safe to drop
            raise Unavailable(f"bank index unavailable: {type(exc).__name__}") from None
        return [
            sorted((m for shard in per_shard for m in shard[k]), key=lambda m: (m.distance, m.entry_id))
            for k in range(len(hashes))
        ]

    def kill(self) -> None:
        for s in self._handles or []:
            kill_quietly(s)
        self._handles = None


def campaign_actor(name: str, history: Any, policy: Policy, *, detached: bool = False) -> Any:
    """The cluster's campaign actor of this name, created if it is missing (rebuilt from
    `history`, a `store.StoreRef`, over the policy's window and spam-checked contexts);
    `detached`: it outlives the process that created it."""
    contexts = [n for n, c in policy.contexts.items() if "spam" in c.checks]
    options: dict[str, Any] = {"name": name, "get_if_exists": True}
    if detached:
        options["lifetime"] = "detached"
    return CampaignActor.options(**options).remote(history, policy.campaigns, contexts)


@ray.remote(max_restarts=-1, max_task_retries=-1, num_cpus=0)
class CampaignActor:
    """The campaign window shared by all text workers of every API process on one database
    (`moderation.text.campaigns`): one named actor, so copies sent through different
    processes count as one campaign.

    Its clock is the only clock, so workers on other machines agree on the window. Restarted
    by Ray if it dies (or created again by a service that finds it gone), it rebuilds the
    window from the texts stored in it (`history.store.recent_texts`): a campaign in progress
    goes on counting where it was.
    """

    def __init__(self, history: Any = None, settings: CampaignSettings | None = None, contexts: Sequence[str] = ()) -> None:
        self.window = CampaignWindow()
        if history is not None and settings is not None:
            self.window.configure(settings)
            since = datetime.fromtimestamp(time.time() - settings.window_seconds, UTC)
            for author, text, at in history.store.recent_texts(since, contexts):
                self.window.observe([(author, normalize(text).text)], at)

    def ping(self) -> bool:
        return True

    def observe(self, prints: Sequence[tuple[str, str, int]], settings: CampaignSettings) -> list[CampaignCount]:
        """Count a batch of (author, exact key, SimHash) fingerprints, in order."""
        self.window.configure(settings)
        return self.window.observe_fingerprints(list(prints), time.time())

