"""The service builder: storage, policy, Ray pools, the bank index and the background jobs,
built, started, stopped, reloaded, and asked whether they are ready.

It holds the parts and wires them; what they do lives elsewhere: the path of an item in
`moderation.moderate`, banks in `moderation.banks`, the review queue in
`moderation.review`, the periodic jobs in `moderation.background`. The HTTP layer
(`moderation.api`) is a thin shell over these parts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import ray
from starlette.concurrency import run_in_threadpool

from moderation import background, webhooks
from moderation.auth import Accounts, SessionPolicy
from moderation.banks import BankFeed, Banks, index_name
from moderation.config import Settings
from moderation.errors import ModerationError, PolicyError, Unavailable
from moderation.metrics import Metrics
from moderation.moderate import Moderation
from moderation.photos.decode import DecodeLimits
from moderation.policy import Policy, load_policy, parse_policy
from moderation.review import Review
from moderation.rules.keywords import word_list_paths
from moderation.store import StoreRef, make_engine, migrate
from moderation.store.repository import Store
from moderation.workers.actors import (
    PhotoWorker,
    ShardedIndex,
    TextWorker,
    campaign_actor,
)
from moderation.workers.pool import ACTOR_GONE, InFlight, WorkerPool, kill_quietly

log = logging.getLogger(__name__)


class Service:
    def __init__(self, settings: Settings, *, watch_policy: bool = False) -> None:
        self.settings = settings
        self.watch = watch_policy
        webhooks.allow_list(settings.webhook_allowed_hosts)  # a bad entry stops the start here
        self.engine = make_engine(settings.resolved_database_url())
        self.store = Store(self.engine)
        self.metrics = Metrics()
        self.policy: Policy = load_policy(settings.policy_path)
        self.policy_error: str | None = None  # why the policy file on disk was refused
        self.in_flight = InFlight(settings.max_in_flight)
        self.limits = DecodeLimits(
            max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels, max_decoded_bytes=settings.max_decoded_bytes
        )
        self.review = Review(self.engine, lambda: self.policy)
        self.accounts = Accounts(self.engine, self.session_policy)
        self.outbox = webhooks.Outbox(self.engine)
        self.text_pool: WorkerPool | None = None
        self.photo_pool: WorkerPool | None = None
        self.index: ShardedIndex | None = None
        self.banks: Banks | None = None
        self.moderation: Moderation | None = None
        self.campaigns: str | None = None  # the name of the cluster's campaign actor
        self._campaign_actor: Any = None
        self._started_ray = False
        self._tasks: list[asyncio.Task[None]] = []

    def session_policy(self) -> SessionPolicy:
        s = self.policy.review
        return SessionPolicy(idle=timedelta(minutes=s.session_idle_minutes), absolute=timedelta(hours=s.session_max_hours))

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await run_in_threadpool(migrate, self.engine)
        if not ray.is_initialized():
            # ray.init installs its own SIGTERM handler, which ends the process at once; the
            # server's (uvicorn's: stop accepting, finish what is in flight, shut down) is
            # put back, so a rolling deploy fails no request.
            saved = _signal_handlers()
            ray.init(
                address=self.settings.ray_address,
                num_cpus=self.settings.ray_num_cpus,
                include_dashboard=False,
                namespace="moderation",
                configure_logging=False,
            )
            for sig, handler in saved.items():
                signal.signal(sig, handler)
            self._started_ray = True
        url = self.settings.resolved_database_url()
        # Shared by several API processes (they do not stop them): detached, so that the
        # process that created them can be restarted without taking them along.
        shared = not self.settings.stop_shared_actors
        self.index = ShardedIndex(BankFeed(url), self.settings.index_shards, self.policy.hash_matching.pdq_min_quality,
                                  index_name(url), detached=shared)
        self.banks = Banks(self.store, self.index, self.limits)
        # spam campaigns: one window for every text worker of every process on this database
        self.campaigns = "campaigns-" + index_name(url).removeprefix("bank-index-")
        await self.keep_shared_actors()
        await self._index_loaded(self.settings.index_load_wait_seconds)
        s = self.settings
        self.text_pool = WorkerPool(
            "text",
            lambda: TextWorker.remote(self.policy, self.campaigns),
            s.text_workers,
            s.worker_batch_size,
            s.worker_retries,
        )
        self.photo_pool = WorkerPool(
            "photo",
            lambda: PhotoWorker.remote(self.policy, self.limits, self.index),
            s.photo_workers,
            max(1, s.worker_batch_size // 4),
            s.worker_retries,
        )
        await asyncio.gather(self.text_pool.ready(), self.photo_pool.ready())
        self.metrics.pool_size.labels("text").set(self.text_pool.size)
        self.metrics.pool_size.labels("photo").set(self.photo_pool.size)
        self.moderation = Moderation(
            self.store, self.metrics, lambda: self.policy, self.in_flight, self.text_pool, self.photo_pool, self.banks
        )
        self._tasks.append(asyncio.create_task(background.every(1.0, self.keep_shared_actors, "shared actors")))
        self._tasks.append(asyncio.create_task(background.run_review_jobs(
            lambda: self.policy, self.outbox, self.banks, self.accounts, self.settings.webhook_allowed_hosts
        )))
        if self.watch:
            self._tasks.append(asyncio.create_task(background.watch_policy(
                self.watched_paths, lambda: self.reload_policy("file-watch"), self._report_policy_error
            )))

    async def keep_shared_actors(self) -> None:
        """Create the cluster's bank index shards and campaign window if they are gone (their
        node, or the process that created them, died): they reload from the database."""
        assert self.index is not None and self.campaigns is not None
        self.index.handles(create=True)
        with contextlib.suppress(Unavailable):  # loading: readiness says so
            await self.index.ensure()
        # The handle that created (or found) it is kept: Ray ends an actor when the handles
        # of the process that created it are gone, so it is replaced only once dead.
        if self._campaign_actor is not None:
            try:
                await self._campaign_actor.ping.remote()
                return
            except ACTOR_GONE:
                self._campaign_actor = None
        self._campaign_actor = campaign_actor(self.campaigns, StoreRef(self.settings.resolved_database_url()), self.policy,
                                              detached=not self.settings.stop_shared_actors)
        await self._campaign_actor.ping.remote()

    async def _index_loaded(self, seconds: float) -> None:
        """Wait (a bounded time) for the index to load, so a fresh service serves photos at
        once; past it, photos are answered 503 until it has."""
        assert self.index is not None
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            try:
                await self.index.size()
                return
            except Unavailable as exc:
                if asyncio.get_running_loop().time() > deadline:
                    log.warning("serving before the bank index has loaded: %s", exc.detail)
                    return
                await asyncio.sleep(0.1)

    def watched_paths(self) -> list[Path]:
        """The policy file and the word lists its rules read: a change to any reloads."""
        return [self.settings.policy_path, *word_list_paths(self.policy.rules)]

    def _report_policy_error(self, error: str | None) -> None:
        self.policy_error = error

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        # a loop that died of its own error must not stop the rest of the shutdown
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for pool in (self.text_pool, self.photo_pool):
            if pool is not None:
                pool.shutdown()
        if self.index is not None and self.settings.stop_shared_actors:
            self.index.kill()
        if self.campaigns is not None and self.settings.stop_shared_actors:
            with contextlib.suppress(ValueError):  # already gone
                kill_quietly(ray.get_actor(self.campaigns))
        if self._started_ray:
            ray.shutdown()
        self.engine.dispose()

    async def ready(self) -> dict[str, str]:
        """Raises Unavailable naming what is down."""
        try:
            await run_in_threadpool(self.store.ping)
        except ModerationError:
            raise
        except Exception as exc:
            raise Unavailable(f"database: {exc}") from exc
        if not ray.is_initialized() or self.index is None or self.text_pool is None:
            raise Unavailable("ray is not initialized")
        try:
            await asyncio.wait_for(self.index.size(), timeout=5)
        except ModerationError:
            raise
        except Exception as exc:
            raise Unavailable(f"ray: {exc}") from exc
        return {"database": "ok", "ray": "ok", "policy": self.policy.version}

    # -- policy -------------------------------------------------------------------------

    async def reload_policy(self, actor: str, text: str | None = None) -> str:
        """Validate the new policy completely, push it to every worker, then swap it in.
        An invalid policy raises PolicyError and the running one stays."""
        if text is None:
            new = await run_in_threadpool(load_policy, self.settings.policy_path)
        else:
            new = await run_in_threadpool(parse_policy, text, "<uploaded policy>")
        if new.hash_matching.pdq_min_quality != self.policy.hash_matching.pdq_min_quality:
            # The bank index leaves out PDQ hashes under this quality when it loads them;
            # a new floor would silently miss (or keep) entries until the index is rebuilt.
            raise PolicyError("hash_matching.pdq_min_quality changes how the bank index is built: "
                              "restart the service to apply it")
        assert self.text_pool is not None and self.photo_pool is not None
        try:
            await self.text_pool.broadcast("reconfigure", new)
            await self.photo_pool.broadcast("reconfigure", new)
        except Exception as exc:
            await self.text_pool.broadcast("reconfigure", self.policy)
            await self.photo_pool.broadcast("reconfigure", self.policy)
            raise PolicyError(f"workers refused the policy: {exc}") from exc
        old = self.policy.version
        self.policy = new
        await run_in_threadpool(self.store.audit, actor, "policy.reload", new.version, {"previous": old})
        return new.version


def _signal_handlers() -> dict[int, Any]:
    """SIGTERM's and SIGINT's handlers, when this thread may set them (the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
