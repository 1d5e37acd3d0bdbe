"""The path of every item: idempotency check, bounded admission, analysis on the Ray pools,
the policy's decision, a durable write, then the answer.

The HTTP layer validates and parses (`ItemRequest`); this module decides and stores; the
service builder (`moderation.service`) wires the parts it uses.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool

from moderation.banks import Banks, photo_entry
from moderation.errors import Conflict, ModerationError, Unavailable
from moderation.members.campaigns import Campaigns, crossings
from moderation.members.enforcement import AuthorState, Enforcement
from moderation.metrics import Metrics
from moderation.policy import Policy
from moderation.review.qa import sampled
from moderation.store.repository import ApiKey, NewItem, Store, StoredItem
from moderation.types import Decision, Item, ItemType, Signals, Source
from moderation.workers.pool import InFlight, WorkerPool


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

    def item(self) -> Item:
        return Item(
            id=self.id, type=self.type, context=self.context, author_id=self.author_id, text=self.text, image=self.image, locale=self.locale
        )


@dataclass
class ItemResult:
    """One item's answer: its current decision (final when a moderator has decided),
    reasons, scores and the policy version that made it; or the problem that refused it."""

    id: str
    decision: str | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)
    policy_version: str | None = None
    error: dict[str, Any] | None = None
    replayed: bool = False
    statement: dict[str, Any] | None = None  # what the member is told, for a refusal
    author: dict[str, Any] | None = None  # the author's account state after this item

    @classmethod
    def refused(cls, item_id: str, exc: ModerationError) -> ItemResult:
        return cls(id=item_id, error=exc.problem())

    @classmethod
    def stored(cls, row: StoredItem, replayed: bool, policy: Policy) -> ItemResult:
        return cls(
            id=row.id,
            decision=row.final_decision or row.first_decision,
            reasons=row.reasons,
            scores=row.scores,
            policy_version=row.policy_version,
            replayed=replayed,
            statement=policy.item_statement(row.state()),
        )


def restriction(state: AuthorState) -> dict[str, Any]:
    """The reason an item of an author under restriction (or worse) goes to review: shown
    to the moderator beside the item's own reasons."""
    return {"source": "account", "category": "account_restricted", "detector": f"account:{state.state}", "score": 1.0,
            "detail": {"state": state.state, "enforcement_id": state.enforcement_id}}


def _conflict(item_id: str) -> ItemResult:
    return ItemResult.refused(item_id, Conflict(f"item {item_id!r} was already submitted with other content"))


class Moderation:
    """Decides and stores batches of items over the pools the service started."""

    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        policy: Callable[[], Policy],
        in_flight: InFlight,
        text_pool: WorkerPool,
        photo_pool: WorkerPool,
        banks: Banks,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self._policy = policy
        self.in_flight = in_flight
        self.text_pool = text_pool
        self.photo_pool = photo_pool
        self.banks = banks
        self.enforcement = Enforcement(store.engine, policy)
        self.campaigns = Campaigns(store.engine, policy)

    async def moderate(self, reqs: Sequence[ItemRequest], api_key: ApiKey | None) -> list[ItemResult]:
        t0 = time.perf_counter()
        policy = self._policy()
        results: list[ItemResult | None] = [None] * len(reqs)
        hashes = [r.content_sha256() for r in reqs]

        # the authors' account states: one query for the batch, beside the id lookup
        existing, states = await run_in_threadpool(
            lambda: (self.store.find_items([r.id for r in reqs]), self.enforcement.states({r.author_id for r in reqs}))
        )
        todo: list[int] = []
        for k, r in enumerate(reqs):
            row = existing.get(r.id)
            if row is None:
                todo.append(k)
            elif row.content_sha256 == hashes[k]:
                results[k] = ItemResult.stored(row, replayed=True, policy=policy)
            else:
                results[k] = _conflict(r.id)

        texts = [k for k in todo if reqs[k].type is ItemType.TEXT]
        photos = [k for k in todo if reqs[k].type is ItemType.PHOTO]
        signals = await self._analyze(reqs, texts, photos)

        rule_hits: Counter[tuple[str, str]] = Counter()
        new_items: list[NewItem] = []
        # An approved photo joins the seen set, so a later copy by another author is caught
        # (the same rule as a moderator's approval: `Policy.seen_bank`); stored with the item.
        seen_bank = policy.seen_bank
        for k in todo:
            r, sig = reqs[k], signals[k]
            if sig.fault is not None:
                res = ItemResult.refused(r.id, sig.fault)
                res.error = {"fault": "invalid", **(res.error or {})}
                res.decision = Decision.REJECT.value
                res.reasons = [x.to_dict() for x in sig.reasons]
                res.policy_version = policy.version
                results[k] = res
                self.metrics.errors.labels(sig.fault.type_).inc()
                continue
            verdict = policy.decide(r.item(), sig)
            reasons = [x.to_dict() for x in verdict.reasons]
            author = states.get(r.author_id)
            if author is not None and author.reviews_everything and verdict.decision is Decision.APPROVE:
                # a restricted (suspended, banned) author's items all go to a human
                verdict = dataclasses.replace(verdict, decision=Decision.REVIEW, queue=policy.queue_for(r.type.value, set()))
                reasons.append(restriction(author))
            # rule hit counting: every rule reason, shadow ones included (that is what shadow is for)
            for reason in verdict.reasons:
                if reason.source is Source.RULE:
                    shadow = "true" if reason.detail and reason.detail.get("shadow") else "false"
                    rule_hits[reason.detector, shadow] += 1
            seen = None
            if seen_bank and r.type is ItemType.PHOTO and verdict.decision is Decision.APPROVE and sig.hashes is not None:
                seen = photo_entry(seen_bank, sig.hashes, note=None, author_id=r.author_id, item_id=r.id, actor="policy")
            queue_rule = policy.queue_rule(verdict.queue) if verdict.queue else None
            features: dict[str, Any] = {}
            if sig.hashes is not None:
                features["phash"] = sig.hashes.phash.hex()
                features["pdq"] = sig.hashes.pdq.hex()
                features["pdq_quality"] = sig.hashes.pdq_quality
            if sig.size is not None:
                features["size"] = list(sig.size)
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
                    language=sig.language,
                    metadata=r.metadata,
                    api_key_id=api_key.id if api_key else None,
                    callback_url=r.callback_url,
                    decision=verdict.decision.value,
                    reasons=reasons,
                    scores={c: round(float(v), 4) for c, v in verdict.scores.items()},
                    features=features or None,
                    policy_version=verdict.policy_version,
                    queue=verdict.queue,
                    priority=queue_rule.priority if queue_rule else 5,
                    qa_sample=sampled(r.id, "qa", policy.review.qa_sample_auto),
                    seen=seen,
                )
            )

        t2 = time.perf_counter()
        stored = await run_in_threadpool(self.store.save_items, new_items)
        self.metrics.stage.labels("store").observe(time.perf_counter() - t2)
        # every automatic rejection counts a strike against its author (`members.enforcement`);
        # a replayed one too, at no extra strike: a pipeline retrying after a crash between the
        # item's write and its strike's gets the strike counted
        rejected = [row.pk for i in new_items if (row := stored.get(i.id)) is not None
                    and row.content_sha256 == i.content_sha256 and row.first_decision == Decision.REJECT.value]
        rejected += [row.pk for k, r in enumerate(reqs) if (row := existing.get(r.id)) is not None and row.content_sha256 == hashes[k]
                     and row.final_decision == Decision.REJECT.value and row.human_decision is None]
        if rejected:
            states |= await run_in_threadpool(self.enforcement.count_rejections, rejected)
        # a text that made a campaign reach its count: the copies approved before it are flagged now
        crossed = crossings([i for i in new_items if (row := stored.get(i.id)) is not None and row.content_sha256 == i.content_sha256], policy)
        if crossed:
            await run_in_threadpool(self.campaigns.flag_earlier, crossed)
        decided: Counter[tuple[str, str, str]] = Counter()
        for k in todo:
            if results[k] is not None:
                continue
            r = reqs[k]
            row = stored.get(r.id)
            if row is None:  # cannot happen: save_items returns every id it was given
                results[k] = ItemResult.refused(r.id, Unavailable("item was not stored; retry"))
            elif row.content_sha256 != hashes[k]:  # a concurrent request stored other content first
                results[k] = _conflict(r.id)
            else:
                results[k] = ItemResult.stored(row, replayed=False, policy=policy)
                decided[r.type.value, r.context, row.first_decision] += 1
        for labels, n in rule_hits.items():
            self.metrics.rule_hits.labels(*labels).inc(n)
        for labels, n in decided.items():
            self.metrics.items.labels(*labels).inc(n)
        if any(i.seen is not None for i in new_items):
            await self.banks.sync()  # visible at once to this process's next request
        self.metrics.stage.labels("request").observe(time.perf_counter() - t0)
        blocks = {a: state.out() for a, state in states.items()}  # once per author, not per item
        for req, res in zip(reqs, results):
            if res is not None and res.error is None:
                res.author = blocks.get(req.author_id)
        return [r for r in results if r is not None]

    async def _analyze(self, reqs: Sequence[ItemRequest], texts: list[int], photos: list[int]) -> dict[int, Signals]:
        """Texts and photos on their pools in parallel, under the admission bound; stage
        timings into the metrics (children looked up once per request)."""
        n = len(texts) + len(photos)
        self.in_flight.acquire(n)
        self.metrics.in_flight.set(self.in_flight.current)
        try:
            t1 = time.perf_counter()
            text_sigs, photo_sigs = await asyncio.gather(
                self.text_pool.analyze([reqs[k].item() for k in texts]),
                self.photo_pool.analyze([reqs[k].item() for k in photos]),
            )
            self.metrics.stage.labels("analyze").observe(time.perf_counter() - t1)
        finally:
            self.in_flight.release(n)
            self.metrics.in_flight.set(self.in_flight.current)
        signals: dict[int, Signals] = dict(zip(texts, text_sigs)) | dict(zip(photos, photo_sigs))
        stage_metric: dict[str, Any] = {}
        for sig in signals.values():
            for stage, secs in (sig.timings or {}).items():
                if stage not in stage_metric:
                    stage_metric[stage] = self.metrics.stage.labels(stage)
                stage_metric[stage].observe(secs)
        return signals
