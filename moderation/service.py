"""The running service: storage, policy, Ray pools and the bank index, wired together.

`Service.moderate` is the path of every item: idempotency check, bounded admission,
analysis on the Ray pools, the policy's decision, a durable write, then the answer.
The HTTP layer (`moderation.api`) is a thin shell over this class.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ray
from starlette.concurrency import run_in_threadpool

from moderation.config import Settings
from moderation.errors import (
    Conflict,
    ImageTooLarge,
    InvalidImage,
    ModerationError,
    PolicyError,
    Unavailable,
)
from moderation.metrics import Metrics
from moderation.photos.banks import BankEntry
from moderation.photos.decode import DecodeLimits
from moderation.photos.hashing import PhotoHashes, hash_upload
from moderation.policy import Policy, load_policy, parse_policy
from moderation.store import make_engine, migrate
from moderation.store.repository import ApiKey, NewBankEntry, NewItem, Store, StoredItem
from moderation.types import Decision, Item, ItemType, Signals, Source
from moderation.workers.actors import (
    CampaignActor,
    PhotoWorker,
    ShardedIndex,
    TextWorker,
)
from moderation.workers.pool import InFlight, WorkerPool, kill_quietly

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ItemRequest:
    """An item as the API validated it (types and sizes checked, base64 decoded)."""

    id: str
    type: ItemType
    context: str
    author_id: str
    text: str | None = None
    image: bytes | None = None
    media_type: str | None = None
    locale: str | None = None
    metadata: dict[str, Any] | None = None
    callback_url: str | None = None

    def content_sha256(self) -> str:
        h = hashlib.sha256()
        for part in (self.type.value, self.context, self.author_id):
            h.update(part.encode())
            h.update(b"\0")
        if self.text is not None:
            h.update(self.text.encode("utf-8", "surrogatepass"))
        if self.image is not None:
            h.update(self.image)
        return h.hexdigest()


@dataclass
class ItemResult:
    id: str
    decision: str | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    policy_version: str | None = None
    status_url: str | None = None
    error: dict[str, Any] | None = None
    replayed: bool = False


def bank_entry_from_row(row: dict[str, Any]) -> BankEntry:
    variants = row.get("variants") or {}
    return BankEntry(
        entry_id=row["entry_id"],
        bank=row["bank"],
        author_id=row.get("author_id"),
        sha256=row.get("sha256"),
        phash=bytes.fromhex(row["phash"]) if row.get("phash") else None,
        pdq=bytes.fromhex(row["pdq"]) if row.get("pdq") else None,
        phash_variants=tuple(bytes.fromhex(h) for h in variants.get("phash", ())),
        pdq_variants=tuple(bytes.fromhex(h) for h in variants.get("pdq", ())),
        item_id=row.get("item_id"),
        pdq_quality=row.get("pdq_quality") or 0,
    )


def new_bank_entry(bank: str, hashes: PhotoHashes, *, note: str | None, author_id: str | None, item_id: str | None, actor: str) -> NewBankEntry:
    return NewBankEntry(
        bank=bank,
        sha256=hashes.sha256,
        phash=hashes.phash.hex(),
        pdq=hashes.pdq.hex(),
        pdq_quality=hashes.pdq_quality,
        variants={"phash": [h.hex() for h in hashes.phash_variants], "pdq": [h.hex() for h in hashes.pdq_variants]},
        note=note,
        author_id=author_id,
        item_id=item_id,
        created_by=actor,
    )


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings.resolved_database_url())
        self.store = Store(self.engine)
        self.metrics = Metrics()
        self.policy: Policy = load_policy(settings.policy_path)
        self.in_flight = InFlight(settings.max_in_flight)
        self.limits = DecodeLimits(max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels)
        self.text_pool: WorkerPool | None = None
        self.photo_pool: WorkerPool | None = None
        self.index: ShardedIndex | None = None
        self.campaigns: Any = None  # spam campaigns: the window shared by all text workers
        self._started_ray = False
        # -- review queue (issue 5): the queue, moderator accounts, their background loop
        from moderation.auth import Accounts
        from moderation.review import ReviewQueue

        self.review = ReviewQueue(self.engine, lambda: self.policy)
        self.accounts = Accounts(self.engine, lambda: self.review.settings.session_policy)
        self._review_loop: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        await run_in_threadpool(migrate, self.engine)
        if not ray.is_initialized():
            ray.init(
                address=self.settings.ray_address,
                num_cpus=self.settings.ray_num_cpus,
                include_dashboard=False,
                namespace="moderation",
                configure_logging=False,
            )
            self._started_ray = True
        self.index = ShardedIndex.start(self.settings.index_shards, self.policy.hash_matching.pdq_min_quality)
        await self._load_index()
        self.campaigns = CampaignActor.remote()  # spam campaigns: one window for every text worker
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
        # review queue (issue 5): webhooks, bank changes after the undo window, QA sampling
        from moderation.review import run_background

        self._review_loop = asyncio.create_task(run_background(self))

    async def _load_index(self) -> None:
        n = 0
        for rows in await run_in_threadpool(lambda: list(self.store.iter_bank_entries())):
            await self.index.add([bank_entry_from_row(r) for r in rows])
            n += len(rows)
        log.info("bank index loaded: %d entries", n)

    async def stop(self) -> None:
        if self._review_loop is not None:  # review queue (issue 5)
            self._review_loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._review_loop
        for pool in (self.text_pool, self.photo_pool):
            if pool is not None:
                pool.shutdown()
        if self.index is not None:
            self.index.kill()
        if self.campaigns is not None:  # spam campaigns: the campaign actor too
            kill_quietly(self.campaigns)
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
        if not ray.is_initialized() or self.text_pool is None:
            raise Unavailable("ray is not initialized")
        try:
            await asyncio.wait_for(self.index.size(), timeout=5)
        except Exception as exc:
            raise Unavailable(f"ray: {exc}") from exc
        return {"database": "ok", "ray": "ok", "policy": self.policy.version}

    # -- moderation ---------------------------------------------------------------------

    def status_url(self, item_id: str) -> str:
        from urllib.parse import quote

        return f"{self.settings.public_url}/v1/items/{quote(item_id, safe='')}"

    def _stored_result(self, row: StoredItem, replayed: bool) -> ItemResult:
        """What the API answers for a stored item: its current decision (final when a
        moderator has decided), reasons, scores and the policy version that made it."""
        return ItemResult(
            id=row.id,
            decision=row.final_decision or row.first_decision,
            reasons=row.reasons,
            scores=row.scores,
            policy_version=row.policy_version,
            status_url=self.status_url(row.id),
            replayed=replayed,
        )

    async def moderate(self, reqs: Sequence[ItemRequest], api_key: ApiKey | None) -> list[ItemResult]:
        t0 = time.perf_counter()
        policy = self.policy
        results: list[ItemResult | None] = [None] * len(reqs)
        hashes = [r.content_sha256() for r in reqs]

        existing = await run_in_threadpool(self.store.find_items, [r.id for r in reqs])
        todo: list[int] = []
        for k, r in enumerate(reqs):
            row = existing.get(r.id)
            if row is None:
                todo.append(k)
            elif row.content_sha256 == hashes[k]:
                results[k] = self._stored_result(row, replayed=True)
            else:
                results[k] = _error_result(r.id, Conflict(f"item {r.id!r} was already submitted with other content"))

        self.in_flight.acquire(len(todo))
        self.metrics.in_flight.set(self.in_flight.current)
        try:
            texts = [k for k in todo if reqs[k].type is ItemType.TEXT]
            photos = [k for k in todo if reqs[k].type is ItemType.PHOTO]
            assert self.text_pool is not None and self.photo_pool is not None
            t1 = time.perf_counter()
            text_sigs, photo_sigs = await asyncio.gather(
                self.text_pool.analyze([_item(reqs[k]) for k in texts]),
                self.photo_pool.analyze([_item(reqs[k]) for k in photos]),
            )
            self.metrics.stage.labels("analyze").observe(time.perf_counter() - t1)
        finally:
            self.in_flight.release(len(todo))
            self.metrics.in_flight.set(self.in_flight.current)
        signals: dict[int, Signals] = dict(zip(texts, text_sigs)) | dict(zip(photos, photo_sigs))
        # metric children looked up once per request, counters incremented once per label set
        stage_metric: dict[str, Any] = {}
        for sig in signals.values():
            for stage, secs in (sig.features.pop("timings", None) or {}).items():
                if stage not in stage_metric:
                    stage_metric[stage] = self.metrics.stage.labels(stage)
                stage_metric[stage].observe(secs)
        rule_hits: Counter[tuple[str, str]] = Counter()
        decided: Counter[tuple[str, str, str]] = Counter()

        new_items: list[NewItem] = []
        verdict_of: dict[int, Any] = {}
        for k in todo:
            r, sig = reqs[k], signals[k]
            err = sig.features.get("error")
            if err:
                problem = _problem_for_fault(err)
                res = _error_result(r.id, problem)
                res.decision = Decision.REJECT.value
                res.reasons = [x.to_dict() for x in sig.reasons]
                res.policy_version = policy.version
                results[k] = res
                self.metrics.errors.labels(problem.type_).inc()
                continue
            verdict = policy.decide(_item(r), sig)
            verdict_of[k] = (verdict, sig)
            # rule hit counting: every rule reason, shadow ones included (that is what shadow is for)
            for reason in verdict.reasons:
                if reason.source is Source.RULE:
                    shadow = "true" if reason.detail and reason.detail.get("shadow") else "false"
                    rule_hits[reason.detector, shadow] += 1
            queue_rule = policy.queue_rule(verdict.queue) if verdict.queue else None
            features = {}
            hashes_k = sig.features.get("hashes")
            if hashes_k is not None:
                features["phash"] = hashes_k.phash.hex()
                features["pdq"] = hashes_k.pdq.hex()
                features["pdq_quality"] = hashes_k.pdq_quality
            if "size" in sig.features:
                features["size"] = list(sig.features["size"])
            new_items.append(
                NewItem(
                    id=r.id,
                    type=r.type.value,
                    context=r.context,
                    author_id=r.author_id,
                    content_sha256=hashes[k],
                    text=r.text,
                    image=r.image,
                    media_type=r.media_type,
                    locale=r.locale,
                    language=sig.features.get("language"),
                    metadata=r.metadata,
                    api_key_id=api_key.id if api_key else None,
                    callback_url=r.callback_url,
                    decision=verdict.decision.value,
                    reasons=[x.to_dict() for x in verdict.reasons],
                    scores={c: round(float(v), 4) for c, v in verdict.scores.items()},
                    features=features or None,
                    policy_version=verdict.policy_version,
                    queue=verdict.queue,
                    priority=queue_rule.priority if queue_rule else 5,
                )
            )

        t2 = time.perf_counter()
        stored = await run_in_threadpool(self.store.save_items, new_items)
        self.metrics.stage.labels("store").observe(time.perf_counter() - t2)
        for k in todo:
            if results[k] is not None:
                continue
            r = reqs[k]
            row = stored.get(r.id)
            if row is None:  # cannot happen: save_items returns every id it was given
                results[k] = _error_result(r.id, Unavailable("item was not stored; retry"))
                continue
            if row.content_sha256 != hashes[k]:  # a concurrent request stored other content first
                results[k] = _error_result(r.id, Conflict(f"item {r.id!r} was already submitted with other content"))
                continue
            results[k] = self._stored_result(row, replayed=False)
            decided[r.type.value, r.context, row.first_decision] += 1
        for labels, n in rule_hits.items():
            self.metrics.rule_hits.labels(*labels).inc(n)
        for labels, n in decided.items():
            self.metrics.items.labels(*labels).inc(n)

        await self._remember_approved_photos(
            [(reqs[k], verdict_of[k][1]) for k in photos if k in verdict_of and verdict_of[k][0].decision is Decision.APPROVE]
        )
        self.metrics.stage.labels("request").observe(time.perf_counter() - t0)
        return [r for r in results if r is not None]

    async def _remember_approved_photos(self, approved: list[tuple[ItemRequest, Signals]]) -> None:
        """An approved photo joins the seen set, so a later copy by another author is caught
        (the same rule as a moderator's approval: `ReviewQueue.seen_bank`)."""
        seen_bank = self.review.seen_bank()
        if not approved or seen_bank is None:
            return
        entries = [
            new_bank_entry(seen_bank, sig.features["hashes"], note=None, author_id=r.author_id, item_id=r.id, actor="policy")
            for r, sig in approved
            if sig.features.get("hashes") is not None
        ]
        await self.store_bank_entries(entries)

    # -- banks --------------------------------------------------------------------------

    async def store_bank_entries(self, entries: Sequence[NewBankEntry]) -> list[int]:
        """The one way into a bank: stored in the database first, then in the index."""
        if not entries:
            return []
        ids = await run_in_threadpool(self.store.add_bank_entries, entries)
        await self.index.add([bank_entry_from_row({"entry_id": i, **_entry_dict(e)}) for i, e in zip(ids, entries)])
        return ids

    def hash_photo(self, data: bytes) -> PhotoHashes:
        return hash_upload(data, self.limits)

    async def add_bank_photo(
        self, bank: str, data: bytes, *, note: str | None, author_id: str | None, item_id: str | None, actor: str
    ) -> dict[str, Any]:
        hashes = await run_in_threadpool(self.hash_photo, data)
        entry = new_bank_entry(bank, hashes, note=note, author_id=author_id, item_id=item_id, actor=actor)
        [entry_id] = await self.store_bank_entries([entry])
        await run_in_threadpool(self.store.audit, actor, "bank.add", f"{bank}/{entry_id}", {"note": note, "item_id": item_id})
        return {"entry_id": entry_id, "bank": bank, **_entry_dict(entry)}

    async def remove_bank_entry(self, bank: str, entry_id: int, actor: str) -> None:
        await run_in_threadpool(self.store.delete_bank_entry, bank, entry_id)
        await self.index.remove([entry_id])
        await run_in_threadpool(self.store.audit, actor, "bank.remove", f"{bank}/{entry_id}", None)

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


def _entry_dict(e: NewBankEntry) -> dict[str, Any]:
    return {
        "bank": e.bank,
        "sha256": e.sha256,
        "phash": e.phash,
        "pdq": e.pdq,
        "pdq_quality": e.pdq_quality,
        "variants": e.variants,
        "note": e.note,
        "author_id": e.author_id,
        "item_id": e.item_id,
    }


def _item(r: ItemRequest) -> Item:
    return Item(
        id=r.id, type=r.type, context=r.context, author_id=r.author_id, text=r.text, image=r.image, locale=r.locale
    )


def _error_result(item_id: str, exc: ModerationError) -> ItemResult:
    return ItemResult(id=item_id, error=exc.problem())


def _problem_for_fault(err: dict[str, Any]) -> ModerationError:
    cls = ImageTooLarge if err.get("status") == 413 else InvalidImage
    return cls(err.get("detail", "invalid content"), fault=err.get("fault", "invalid"))

