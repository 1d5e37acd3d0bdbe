"""Pools of Ray actors with batching, bounded in-flight work, and replacement of dead actors.

- Batching: a request's items go to the workers in chunks of `batch_size`, one remote
  call per chunk (benchmarks/README.md has the measured gain over one call per item).
- Backpressure: `InFlight` bounds the items being analysed; when it is full the API
  answers 429 with Retry-After instead of queuing without bound.
- Failure: a chunk whose actor died (RayActorError) is sent again to a fresh actor.
  Analysis is pure, so a retry cannot answer twice: the API stores each item once.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Any

import ray
from ray.exceptions import (
    ActorDiedError,
    ActorUnavailableError,
    RayActorError,
    RayTaskError,
)

from moderation.errors import ModerationError, Overloaded, Unavailable
from moderation.types import Item, Signals

log = logging.getLogger(__name__)

# The actor called is dead or restarting. (An error raised *inside* the actor comes as a
# RayTaskError, which Ray also makes an instance of the error's own class: when a worker's
# call to another actor fails, the worker itself is fine. `_run_chunk` tells them apart.)
ACTOR_GONE = (RayActorError, ActorDiedError, ActorUnavailableError)


def raised_inside(exc: RayTaskError) -> BaseException:
    """What an actor raised, as ours when it is ours (Ray's wrapper lacks its fields)."""
    return exc.cause if isinstance(exc.cause, ModerationError) else exc


def kill_quietly(actor: Any) -> None:
    """Kill an actor that may already be dead: a dead one raises, and nothing is left to do."""
    try:
        ray.kill(actor, no_restart=True)
    except Exception as exc:  # noqa: BLE001 - Ray raises several types for an actor already gone
        log.debug("actor already gone: %s", exc)


class InFlight:
    """A counter of items being analysed, with a hard ceiling (no queue behind it)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.current = 0

    def acquire(self, n: int) -> None:
        if self.current + n > self.limit:
            raise Overloaded(
                f"{self.current} items in flight, limit {self.limit}; retry shortly",
                retry_after=1,
            )
        self.current += n

    def release(self, n: int) -> None:
        self.current = max(0, self.current - n)

    @property
    def full(self) -> bool:
        return self.current >= self.limit


class WorkerPool:
    """A fixed number of actors of one kind, fed chunks round-robin."""

    def __init__(self, name: str, factory: Callable[[], Any], size: int, batch_size: int, retries: int) -> None:
        self.name = name
        self.factory = factory
        self.batch_size = batch_size
        self.retries = retries
        self.actors: list[Any] = [factory() for _ in range(size)]
        self._rr = itertools.count()
        self.replaced = 0

    @property
    def size(self) -> int:
        return len(self.actors)

    async def ready(self) -> None:
        await asyncio.gather(*(a.ping.remote() for a in self.actors))

    def _pick(self) -> tuple[int, Any]:
        k = next(self._rr) % len(self.actors)
        return k, self.actors[k]

    def _replace(self, k: int, dead: Any) -> None:
        # Only replace once if several chunks saw the same actor die.
        if self.actors[k] is dead:
            log.warning("%s worker %d died; starting a replacement", self.name, k)
            kill_quietly(dead)
            self.actors[k] = self.factory()
            self.replaced += 1

    async def _run_chunk(self, chunk: Sequence[Item]) -> list[Signals]:
        last: Exception | None = None
        for _attempt in range(self.retries + 1):
            k, actor = self._pick()
            try:
                return await actor.analyze.remote(list(chunk))
            except RayTaskError as exc:
                # the worker raised: one of our errors (a bank index shard loading) is the
                # answer; anything else is a bug to see, never a reason to replace the worker
                raise raised_inside(exc) from None
            except ACTOR_GONE as exc:
                last = exc
                self._replace(k, actor)
        raise Unavailable(f"{self.name} workers keep dying: {last}", retry_after=5)

    async def analyze(self, items: Sequence[Item]) -> list[Signals]:
        if not items:
            return []
        # Spread a request over every actor (so 100 texts on 2 workers are 2 x 50, not
        # 64 + 36), never more than batch_size items per remote call.
        size = min(self.batch_size, -(-len(items) // len(self.actors)))
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        results = await asyncio.gather(*(self._run_chunk(c) for c in chunks))
        return [s for r in results for s in r]

    async def broadcast(self, method: str, *args: Any) -> list[Any]:
        """Call `method(*args)` on every actor at once. A dead one is replaced and the call
        sent to its replacement too: built by the factory, it would otherwise miss what was
        broadcast (a policy reload swaps the service's policy only after this returns)."""

        async def one(k: int, actor: Any) -> Any:
            try:
                return await getattr(actor, method).remote(*args)
            except RayTaskError:
                raise  # the worker answered, with an error: it is alive
            except ACTOR_GONE:
                self._replace(k, actor)
                return await getattr(self.actors[k], method).remote(*args)

        return list(await asyncio.gather(*(one(k, a) for k, a in enumerate(list(self.actors)))))

    def shutdown(self) -> None:
        for a in self.actors:
            kill_quietly(a)
        self.actors = []
