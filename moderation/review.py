"""The human review queue: claim under a lease, decide, release, undo, QA, stats.

Every `review` decision of the policy leaves an open row in `review_tasks`. A moderator
claims tasks: the claim is one `UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING`,
with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent claimers never receive the
same task and never wait on each other; SQLite serializes writers, and the statement
re-checks availability, which gives the same guarantee. A lease expires (default 5
minutes): the task returns to the queue. A decision on a lost lease is refused (409)
unless nobody else took the task meanwhile.

Order: tasks past their queue's SLA first, then the queue's priority (1 is most urgent),
then oldest first.

A human decision becomes the item's final decision. Its effects outside the database
(the webhook, the bank change) wait out the undo window, so an undo within it leaves
no trace outside; an admin's later undo sends a correcting event and removes the bank
entry.

QA: a share of automatically decided items is sampled (deterministically, by a hash of
the item id) into the `qa` queue, and a share of human decisions into `second-review`
for another moderator. Both are judged blind (the first decision is not shown) and
feed `stats()`: automated precision and reviewer agreement.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Engine, and_, case, func, insert, literal, or_, select, update
from sqlalchemy.engine import Connection

from moderation import webhooks
from moderation.auth import SessionPolicy, User
from moderation.errors import Conflict, Forbidden, InvalidInput, NotFound, PolicyError
from moderation.policy import Policy
from moderation.store.repository import Transaction, aware, claim_rows, utcnow
from moderation.store.review_tables import bank_changes, review_cursors, webhook_outbox
from moderation.store.tables import api_keys, audit_log, decisions, items, review_tasks

log = logging.getLogger(__name__)

QA_QUEUE = "qa"
SECOND_QUEUE = "second-review"
BLIND_QUEUES = (QA_QUEUE, SECOND_QUEUE)
# Near-duplicates shown (and decided with `apply_to_duplicates`) per task, nearest first.
MAX_DUPLICATES = 20
# How long a claimed bank change waits before another claim may retry it (see claim_due_bank_changes).
BANK_CHANGE_LEASE = timedelta(seconds=60)
HUMAN_DECISIONS = ("approve", "reject")
# A text's reason category -> the training label of `moderation train text`.
LABEL_OF_CATEGORY = {
    "profanity": "profanity_insult",
    "sexual": "profanity_insult",
    "contact_info": "contact_info",
    "spam_link": "spam_link",
    "spam": "spam_other",
}
TRAINING_LABELS = ("ok", "profanity_insult", "contact_info", "spam_link", "spam_other", "ambiguous")


# -- settings from the policy file ------------------------------------------------------------


_REVIEW_KEYS = {
    "lease_seconds",
    "undo_seconds",
    "session_idle_minutes",
    "session_max_hours",
    "ban_rejected_photos",
    "remember_approved_photos",
    "webhook_retry_base_seconds",
    "webhook_retry_max_seconds",
    "webhook_max_attempts",
}
_QA_KEYS = {"sample_auto", "second_review"}


@dataclass(frozen=True)
class ReviewSettings:
    """The `review:` and `qa:` sections of the policy file."""

    lease_seconds: float = 300.0
    undo_seconds: float = 10.0
    session_idle_minutes: float = 60.0
    session_max_hours: float = 12.0
    # category -> whether a photo rejected for it joins the `banned` bank; unlisted: yes
    ban_rejected_photos: dict[str, bool] = field(default_factory=dict)
    remember_approved_photos: bool = True
    webhook_retry_base_seconds: float = 2.0
    webhook_retry_max_seconds: float = 600.0
    webhook_max_attempts: int = 25
    qa_sample_auto: float = 0.0
    qa_second_review: float = 0.0

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(
            idle=timedelta(minutes=self.session_idle_minutes), absolute=timedelta(hours=self.session_max_hours)
        )

    @property
    def backoff(self) -> webhooks.Backoff:
        return webhooks.Backoff(
            base_seconds=self.webhook_retry_base_seconds,
            max_seconds=self.webhook_retry_max_seconds,
            max_attempts=self.webhook_max_attempts,
        )

    def bans(self, categories: set[str]) -> bool:
        return all(self.ban_rejected_photos.get(c, True) for c in categories)


def review_settings(policy: Policy) -> ReviewSettings:
    """Validate the review and QA sections; unknown keys or out-of-range values raise."""
    raw = dict(policy.review or {})
    unknown = set(raw) - _REVIEW_KEYS
    if unknown:
        raise PolicyError(f"review: unknown keys {sorted(unknown)} (known: {sorted(_REVIEW_KEYS)})")
    qa_raw = policy.qa
    if not isinstance(qa_raw, dict) or set(qa_raw) - _QA_KEYS:
        raise PolicyError(f"qa: a mapping with keys {sorted(_QA_KEYS)}")
    bans = raw.pop("ban_rejected_photos", {}) or {}
    if not isinstance(bans, dict) or not all(isinstance(v, bool) for v in bans.values()):
        raise PolicyError("review: ban_rejected_photos maps a category to true or false")
    try:
        values = {k: float(v) for k, v in raw.items() if k not in ("remember_approved_photos", "webhook_max_attempts")}
        s = ReviewSettings(
            ban_rejected_photos=dict(bans),
            remember_approved_photos=bool(raw.get("remember_approved_photos", True)),
            webhook_max_attempts=int(raw.get("webhook_max_attempts", 25)),
            qa_sample_auto=float(qa_raw.get("sample_auto", 0.0)),
            qa_second_review=float(qa_raw.get("second_review", 0.0)),
            **values,
        )
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"review: {exc}") from exc
    if s.lease_seconds <= 0 or s.undo_seconds < 0 or s.webhook_retry_base_seconds <= 0:
        raise PolicyError("review: lease_seconds and webhook_retry_base_seconds must be > 0, undo_seconds >= 0")
    if not (0.0 <= s.qa_sample_auto <= 1.0 and 0.0 <= s.qa_second_review <= 1.0):
        raise PolicyError("qa: shares lie in [0, 1]")
    return s


def sampled(item_id: str, salt: str, share: float) -> bool:
    """Deterministic sampling: the same item is always in or out, on every node."""
    if share <= 0:
        return False
    h = int.from_bytes(hashlib.sha256(f"{salt}:{item_id}".encode()).digest()[:8], "big")
    return h / 2**64 < share


def training_label(decision: str, reasons: Sequence[dict[str, Any]], explicit: str | None) -> str | None:
    """An approved text is `ok`; a rejected one takes the label of its first mapped
    reason, or the moderator's explicit label. None: not teachable."""
    if explicit:
        return explicit
    if decision == "approve":
        return "ok"
    for r in reasons:
        label = LABEL_OF_CATEGORY.get(r.get("category", ""))
        if label:
            return label
    return None


_HEX64 = re.compile(r"[0-9a-fA-F]{16}")
_HEX_RUN = re.compile(r"[0-9a-fA-F]*")


def _phash_array(rows: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(task ids, pHashes as uint64) of (task id, hex) rows; rows whose hash is not exactly
    16 hex digits are left out, then one `bytes.fromhex` for the lot. The usual case (all
    well-formed) is checked in one regex pass over the joined text; otherwise row by row
    (`bytes.fromhex` alone would skip a space and misalign every later hash)."""
    joined = "".join(text if isinstance(text, str) and len(text) == 16 else "!" for _, text in rows)
    if _HEX_RUN.fullmatch(joined):
        good = list(rows)
    else:
        good = [(task, text) for task, text in rows if isinstance(text, str) and _HEX64.fullmatch(text)]
        joined = "".join(text for _, text in good)
    codes = np.frombuffer(bytes.fromhex(joined), dtype=">u8").astype(np.uint64)
    return np.array([task for task, _ in good], dtype=np.int64), codes


def _phash_value(text: str | None) -> int | None:
    """A stored pHash (16 hex digits) as an integer; None for anything else."""
    return int(text, 16) if isinstance(text, str) and _HEX64.fullmatch(text) else None


# -- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decided:
    decision_id: int
    task_id: int
    item_id: str
    decision: str
    undo_until: datetime


@dataclass(frozen=True)
class Undone:
    decision_id: int
    task_id: int | None
    item_id: str
    bank_entries_to_remove: list[tuple[str, int]]


class ReviewQueue:
    """The queue's operations over the store's engine. `policy` is a callable so a
    reloaded policy (SLAs, lease, undo window, QA shares) takes effect at once."""

    def __init__(self, engine: Engine, policy: Callable[[], Policy]) -> None:
        self.engine = engine
        self._policy = policy
        self._settings_cache: tuple[str, ReviewSettings] | None = None

    def _tx(self) -> Transaction:
        return Transaction(self.engine)

    @property
    def policy(self) -> Policy:
        return self._policy()

    @property
    def settings(self) -> ReviewSettings:
        p = self.policy
        if self._settings_cache is None or self._settings_cache[0] != p.version:
            self._settings_cache = (p.version, review_settings(p))
        return self._settings_cache[1]

    # -- claiming ---------------------------------------------------------------------------

    def _order(self, now: datetime, table: Any = review_tasks) -> list[Any]:
        """Past-SLA first, then priority, then oldest."""
        t = table.c
        breached = [(and_(t.queue == q.name, t.created_at < now - timedelta(minutes=q.sla_minutes)), 0) for q in self.policy.queues]
        late = case(*breached, else_=1) if breached else literal(1)
        return [late, t.priority, t.created_at, t.id]

    def claim(self, user: User, limit: int = 10, queue: str | None = None, *, resume: bool = False, now: datetime | None = None) -> list[dict[str, Any]]:
        """Lease up to `limit` tasks to `user`. With `resume`, the tasks the user still
        holds come first (a reloaded page gets its tasks back)."""
        if not 1 <= limit <= 100:
            raise InvalidInput("limit must lie in [1, 100]")
        now = now or utcnow()
        t = review_tasks.c
        lease_until = now + timedelta(seconds=self.settings.lease_seconds)
        held: list[int] = []
        if resume:
            with self._tx() as conn:
                q = update(review_tasks).where(t.status == "open", t.lease_owner == user.actor, t.lease_expires_at >= now)
                if queue:
                    q = q.where(t.queue == queue)
                held = list(conn.execute(q.values(lease_expires_at=lease_until).returning(t.id)).scalars())
        want = limit - len(held)
        claimed: list[int] = []
        if want > 0:
            def available(table: Any) -> Any:
                return and_(table.c.status == "open", or_(table.c.lease_owner.is_(None), table.c.lease_expires_at < now))

            rt = review_tasks.alias("candidate")
            # a second review never goes to the moderator who made the first decision
            not_mine = ~select(decisions.c.id).where(
                decisions.c.item_pk == rt.c.item_pk,
                decisions.c.kind == "human",
                decisions.c.actor == user.actor,
                decisions.c.undone.is_(False),
            ).exists()
            sub = select(rt.c.id).where(available(rt), or_(rt.c.queue != SECOND_QUEUE, not_mine))
            if queue:
                sub = sub.where(rt.c.queue == queue)
            sub = sub.order_by(*self._order(now, rt)).limit(want)
            with self._tx() as conn:
                claimed = claim_rows(conn, review_tasks, sub, rt, available(review_tasks),
                                     {"lease_owner": user.actor, "lease_expires_at": lease_until})
                if claimed:
                    conn.execute(
                        insert(audit_log).values(
                            at=now, actor=user.actor, action="review.claim", target=",".join(map(str, claimed))[:256], detail={"queue": queue, "count": len(claimed)}
                        )
                    )
        return self.describe(held + claimed, now=now)

    def describe(self, task_ids: Sequence[int], now: datetime | None = None) -> list[dict[str, Any]]:
        """What the UI shows for each task: the item, reasons, the author's recent items,
        near-duplicate photos waiting in the queue. In the claim's order (the queue's order)."""
        if not task_ids:
            return []
        now = now or utcnow()
        sla = {q.name: q.sla_minutes for q in self.policy.queues}
        with self._tx() as conn:
            rows = conn.execute(
                select(
                    review_tasks.c.id,
                    review_tasks.c.queue,
                    review_tasks.c.priority,
                    review_tasks.c.created_at,
                    review_tasks.c.lease_owner,
                    review_tasks.c.lease_expires_at,
                    items.c.id.label("item_id"),
                    items.c.type,
                    items.c.context,
                    items.c.author_id,
                    items.c.text,
                    items.c.language,
                    items.c.locale,
                    items.c.metadata,
                    items.c.created_at.label("item_created_at"),
                    items.c.first_decision,
                    items.c.reasons,
                    items.c.scores,
                    items.c.features,
                )
                .join(items, items.c.pk == review_tasks.c.item_pk)
                .where(review_tasks.c.id.in_(list(task_ids)))
                .order_by(*self._order(now))
            ).all()
            authors = {r.author_id for r in rows}
            recent: dict[str, list[Any]] = defaultdict(list)
            for author in authors:
                recent[author] = conn.execute(
                    select(items.c.id, items.c.type, items.c.context, items.c.first_decision, items.c.final_decision, items.c.status, items.c.created_at, func.substr(items.c.text, 1, 200).label("excerpt"))
                    .where(items.c.author_id == author)
                    .order_by(items.c.created_at.desc(), items.c.pk.desc())
                    .limit(9)
                ).all()
            photo_rows = [r for r in rows if r.type == "photo" and (r.features or {}).get("phash")]
            duplicates = self._open_duplicates(conn, photo_rows) if photo_rows else {}
        out = []
        for r in rows:
            blind = r.queue in BLIND_QUEUES
            created = aware(r.created_at)
            dups = duplicates.get(r.id, [])
            out.append(
                {
                    "task_id": r.id,
                    "queue": r.queue,
                    "kind": "qa" if r.queue == QA_QUEUE else "second" if r.queue == SECOND_QUEUE else "review",
                    "priority": r.priority,
                    "created_at": created,
                    "age_seconds": round((now - created).total_seconds(), 1) if created else None,
                    "sla_minutes": sla.get(r.queue, 120),
                    "lease_owner": r.lease_owner,
                    "lease_expires_at": aware(r.lease_expires_at),
                    "item": {
                        "id": r.item_id,
                        "type": r.type,
                        "context": r.context,
                        "author_id": r.author_id,
                        "text": r.text,
                        "language": r.language,
                        "locale": r.locale,
                        "metadata": r.metadata,
                        "created_at": aware(r.item_created_at),
                        "first_decision": None if blind else r.first_decision,
                        "image_url": _image_url(r.item_id) if r.type == "photo" else None,
                        "size": (r.features or {}).get("size"),
                    },
                    "reasons": r.reasons,
                    "scores": r.scores,
                    "sensitive": any(x.get("category") in ("nudity", "suggestive", "sexual") for x in r.reasons or []),
                    "author_recent": [
                        {"id": a.id, "type": a.type, "context": a.context, "decision": a.final_decision or a.first_decision, "status": a.status, "created_at": aware(a.created_at), "excerpt": a.excerpt}
                        for a in recent[r.author_id]
                        if a.id != r.item_id
                    ][:8],
                    "duplicates": dups,
                }
            )
        return out

    def _open_duplicates(self, conn: Connection, photo_rows: Sequence[Any]) -> dict[int, list[dict[str, Any]]]:
        """For each task's photo, the open photo tasks within the policy's pHash distance.

        Every open photo task is compared, however long the queue (this read at most 5,000,
        in table order, before): only its pHash is read out of the item's features, the
        distances are one numpy pass per page photo, and details are fetched for the
        matches only. A claim of 20 photos took 50 to 180 ms with 10,000 open photos on
        SQLite (300 ms with the cap), 0.55 to 1.1 s with 100,000: reading 100,000 joined
        rows. (A pHash column on items, tried, saved about a fifth: the join and fetch
        dominate. Past that size, keep the open photos' hashes in memory, updated as tasks
        open and close.)"""
        max_d = self.policy.hash_matching.phash_max_distance
        phash = items.c.features["phash"].as_string()
        candidates = conn.execute(
            select(review_tasks.c.id, phash)
            .join(items, items.c.pk == review_tasks.c.item_pk)
            .where(review_tasks.c.status == "open", items.c.type == "photo", phash.is_not(None))
        ).all()
        if not candidates:
            return {}
        task_ids, codes = _phash_array(candidates)
        near: dict[int, list[tuple[int, int]]] = {}
        for r in photo_rows:
            own = _phash_value(r.features["phash"])
            if own is None:
                continue
            distance = np.bitwise_count(codes ^ np.uint64(own))
            hit = np.flatnonzero((distance <= max_d) & (task_ids != r.id))
            hit = hit[np.argsort(distance[hit], kind="stable")][:MAX_DUPLICATES]  # nearest first
            near[r.id] = [(int(task_ids[i]), int(distance[i])) for i in hit]
        wanted = {t for hits in near.values() for t, _ in hits}
        if not wanted:
            return {}
        details = {
            row.id: row
            for row in conn.execute(
                select(review_tasks.c.id, items.c.id.label("item_id"), items.c.author_id)
                .join(items, items.c.pk == review_tasks.c.item_pk)
                .where(review_tasks.c.id.in_(list(wanted)))
            )
        }
        return {
            task: [{"task_id": t, "item_id": details[t].item_id, "author_id": details[t].author_id, "distance": d,
                    "image_url": _image_url(details[t].item_id)} for t, d in hits if t in details]
            for task, hits in near.items()
        }

    # -- deciding ---------------------------------------------------------------------------

    def decide(
        self,
        user: User,
        task_id: int,
        decision: str,
        *,
        note: str | None = None,
        label: str | None = None,
        apply_to_duplicates: bool = False,
        now: datetime | None = None,
    ) -> list[Decided]:
        """Decide a task (and, on request, the open tasks of its near-duplicates).
        Returns one `Decided` per task decided, the asked one first."""
        if decision not in HUMAN_DECISIONS:
            raise InvalidInput(f"decision must be one of {', '.join(HUMAN_DECISIONS)}")
        if label is not None and label not in TRAINING_LABELS:
            raise InvalidInput(f"label must be one of {', '.join(TRAINING_LABELS)}")
        now = now or utcnow()
        first = self._decide_one(user, task_id, decision, note, label, now, strict=True)
        assert first is not None
        out = [first]
        if apply_to_duplicates:
            with self._tx() as conn:
                photo = conn.execute(
                    select(review_tasks.c.id, items.c.features)
                    .join(items, items.c.pk == review_tasks.c.item_pk)
                    .where(review_tasks.c.id == task_id, items.c.type == "photo")
                ).one_or_none()
                duplicates = self._open_duplicates(conn, [photo]).get(task_id, []) if photo and (photo.features or {}).get("phash") else []
            for d in duplicates:
                extra = self._decide_one(user, d["task_id"], decision, note or f"near-duplicate of {first.item_id}", label, now, strict=False)
                if extra is not None:
                    out.append(extra)
        return out

    def bulk_decide(self, user: User, task_ids: Sequence[int], decision: str, note: str | None = None) -> dict[str, Any]:
        """Each task is decided on its own: one refused task (lost lease) does not sink the rest."""
        if not 1 <= len(task_ids) <= 200:
            raise InvalidInput("task_ids: 1 to 200 tasks")
        decided, refused = [], []
        for tid in task_ids:
            try:
                decided.extend(self.decide(user, int(tid), decision, note=note))
            except (Conflict, NotFound) as exc:
                refused.append({"task_id": tid, "status": exc.status, "detail": exc.detail})
        return {"decided": decided, "refused": refused}

    def _decide_one(self, user: User, task_id: int, decision: str, note: str | None, label: str | None, now: datetime, *, strict: bool) -> Decided | None:
        t = review_tasks.c
        s = self.settings
        undo_until = now + timedelta(seconds=s.undo_seconds)
        with self._tx() as conn:
            # The write comes first: it takes SQLite's write lock before anything is read,
            # and on PostgreSQL the row lock, so two deciders serialize here.
            res = conn.execute(
                update(review_tasks)
                .where(
                    t.id == task_id,
                    t.status == "open",
                    or_(t.lease_owner == user.actor, t.lease_owner.is_(None), t.lease_expires_at < now),
                )
                .values(status="done", decided_at=now, lease_owner=user.actor, lease_expires_at=None)
            )
            if res.rowcount != 1:
                if not strict:
                    return None
                raise self._refusal(conn, task_id, user, now)
            task = conn.execute(select(review_tasks).where(t.id == task_id)).one()
            item = conn.execute(select(items).where(items.c.pk == task.item_pk)).one()
            kind = "qa" if task.queue in BLIND_QUEUES else "human"
            reason = {"source": "human", "actor": user.actor, "decision": decision, "note": note, "label": label, "queue": task.queue}
            decision_id = int(
                conn.execute(
                    insert(decisions).values(
                        item_pk=item.pk, kind=kind, decision=decision, reasons=[reason], actor=user.actor, note=note, task_id=task_id, undone=False, created_at=now
                    )
                ).inserted_primary_key[0]
            )
            detail: dict[str, Any] = {"task_id": task_id, "decision": decision, "note": note, "queue": task.queue}
            if kind == "human":
                conn.execute(
                    update(items)
                    .where(items.c.pk == item.pk)
                    .values(human_decision=decision, final_decision=decision, status="decided", updated_at=now)
                )
                event = self._enqueue_webhook(conn, item, decision_id, decision, user, note, now, undo_until, "item.decided")
                if event:
                    detail["webhook_event"] = event
                bank = self._bank_for(item, decision)
                if bank:
                    conn.execute(insert(bank_changes).values(decision_id=decision_id, item_pk=item.pk, bank=bank, actor=user.actor, due_at=undo_until))
                    detail["bank"] = bank
                if sampled(item.id, "second", s.qa_second_review):
                    conn.execute(
                        insert(review_tasks).values(item_pk=item.pk, queue=SECOND_QUEUE, priority=8, status="open", created_at=now)
                    )
                    detail["second_review"] = True
            conn.execute(insert(audit_log).values(at=now, actor=user.actor, action=f"review.{kind}_decision", target=item.id[:256], detail=detail))
        return Decided(decision_id, task_id, item.id, decision, undo_until)

    def _refusal(self, conn: Connection, task_id: int, user: User, now: datetime) -> Exception:
        row = conn.execute(select(review_tasks).where(review_tasks.c.id == task_id)).first()
        if row is None:
            return NotFound(f"no review task {task_id}")
        if row.status != "open":
            return Conflict(f"task {task_id} was already decided by {row.lease_owner or 'someone else'}", decided_by=row.lease_owner)
        return Conflict(f"your lease on task {task_id} was lost: it is now leased to {row.lease_owner}", leased_to=row.lease_owner)

    def _bank_for(self, item: Any, decision: str) -> str | None:
        if item.type != "photo" or item.blob_sha256 is None:
            return None
        if decision == "reject":
            cats = {r.get("category") for r in item.reasons or []}
            return "banned" if "banned" in self.policy.banks and self.settings.bans(cats) else None
        return self.seen_bank()

    def seen_bank(self) -> str | None:
        """Where an approved photo goes, by a moderator or automatically: the policy's seen
        bank, unless `review.remember_approved_photos` is off or the bank is not defined."""
        seen = self.policy.hash_matching.seen_bank
        return seen if self.settings.remember_approved_photos and seen in self.policy.banks else None

    def _enqueue_webhook(self, conn: Connection, item: Any, decision_id: int | None, final: str | None, user: User, note: str | None, now: datetime, not_before: datetime, kind: str) -> str | None:
        url, key_id = item.callback_url, item.api_key_id
        if url is None and key_id is not None:
            url = conn.execute(select(api_keys.c.webhook_url).where(api_keys.c.id == key_id)).scalar()
        if not url:
            return None
        payload = {
            "type": kind,
            "item_id": item.id,
            "final_decision": final,
            "first_decision": item.first_decision,
            "human_decision": final if kind == "item.decided" else None,
            "decided_by": user.actor,
            "reasons": [{"source": "human", "actor": user.actor, "note": note}] + list(item.reasons or []),
            "decided_at": now,
            "created_at": aware(item.created_at),
            "policy_version": item.policy_version,
        }
        return webhooks.enqueue(conn, item_pk=item.pk, decision_id=decision_id, url=url, api_key_id=key_id, payload=payload, not_before=not_before)

    # -- release / undo ---------------------------------------------------------------------

    def release(self, user: User, task_id: int) -> None:
        """Give a task back to the queue (skip)."""
        t = review_tasks.c
        with self._tx() as conn:
            res = conn.execute(
                update(review_tasks)
                .where(t.id == task_id, t.status == "open", t.lease_owner == user.actor)
                .values(lease_owner=None, lease_expires_at=None)
            )
            if res.rowcount != 1:
                raise self._refusal(conn, task_id, user, utcnow()) if conn.execute(select(t.id).where(t.id == task_id)).first() is None else Conflict(f"you do not hold task {task_id}")
            conn.execute(insert(audit_log).values(at=utcnow(), actor=user.actor, action="review.release", target=str(task_id), detail=None))

    def undo(self, user: User, decision_id: int, *, now: datetime | None = None, why: str | None = None) -> Undone:
        """Undo a human or QA decision. A moderator undoes their own within the undo
        window; an admin any, any time (from the audit log). The task is reopened and
        leased to the one who undid it."""
        now = now or utcnow()
        s = self.settings
        with self._tx() as conn:
            res = conn.execute(
                update(decisions)
                .where(decisions.c.id == decision_id, decisions.c.kind.in_(("human", "qa")), decisions.c.undone.is_(False))
                .values(undone=True)
            )
            row = conn.execute(select(decisions).where(decisions.c.id == decision_id)).first()
            if row is None or row.kind not in ("human", "qa"):
                raise NotFound(f"no human decision {decision_id}")
            if res.rowcount != 1:
                raise Conflict(f"decision {decision_id} is already undone")
            if not user.is_admin:
                if row.actor != user.actor:
                    raise Forbidden("a moderator can undo only their own decisions")
                if (now - aware(row.created_at)).total_seconds() > s.undo_seconds:
                    raise Conflict(f"the undo window of {s.undo_seconds:g} s has passed; ask an admin")
            item = conn.execute(select(items).where(items.c.pk == row.item_pk)).one()
            later = conn.execute(
                select(decisions.c.id).where(decisions.c.item_pk == row.item_pk, decisions.c.id > decision_id, decisions.c.kind == row.kind, decisions.c.undone.is_(False))
            ).first()
            if later is not None:
                raise Conflict(f"decision {decision_id} was superseded by decision {later.id}")
            conn.execute(
                insert(decisions).values(item_pk=row.item_pk, kind="undo", decision=row.decision, reasons=None, actor=user.actor, note=why, task_id=row.task_id, undone=False, created_at=now)
            )
            to_remove: list[tuple[str, int]] = []
            if row.kind == "human":
                auto = None if item.first_decision == "review" else item.first_decision
                conn.execute(
                    update(items)
                    .where(items.c.pk == item.pk)
                    .values(human_decision=None, final_decision=auto, status="pending_review" if auto is None else "decided", updated_at=now)
                )
                delivered = webhooks.cancel_for_decision(conn, decision_id)
                if delivered:
                    self._enqueue_webhook(conn, item, None, auto, user, why, now, now, "item.decision_undone")
                for ch in conn.execute(select(bank_changes).where(bank_changes.c.decision_id == decision_id)).all():
                    if ch.applied_at is None and ch.cancelled_at is None:
                        conn.execute(update(bank_changes).where(bank_changes.c.id == ch.id).values(cancelled_at=now))
                    elif ch.entry_id is not None:
                        to_remove.append((ch.bank, int(ch.entry_id)))
                # a second review sampled from this decision no longer has anything to check
                conn.execute(
                    update(review_tasks)
                    .where(review_tasks.c.item_pk == item.pk, review_tasks.c.queue == SECOND_QUEUE, review_tasks.c.status == "open")
                    .values(status="cancelled")
                )
            if row.task_id is not None:
                conn.execute(
                    update(review_tasks)
                    .where(review_tasks.c.id == row.task_id)
                    .values(status="open", decided_at=None, lease_owner=user.actor, lease_expires_at=now + timedelta(seconds=s.lease_seconds))
                )
            conn.execute(
                insert(audit_log).values(
                    at=now, actor=user.actor, action="review.undo", target=item.id[:256], detail={"decision_id": decision_id, "decision": row.decision, "by": row.actor, "why": why, "bank_entries_removed": to_remove}
                )
            )
        return Undone(decision_id, row.task_id, item.id, to_remove)

    # -- effects after the undo window ------------------------------------------------------

    def claim_due_bank_changes(self, limit: int = 20, now: datetime | None = None) -> list[dict[str, Any]]:
        """Due bank changes, each leased for a minute: its `due_at` moves forward, so a node
        that fails between the claim and `set_bank_entry` (the index down, the database
        busy) leaves it to be retried, not lost. `applied_at` is set only once applied."""
        now = now or utcnow()
        c = bank_changes.c

        def due(table: Any) -> Any:
            return and_(table.c.applied_at.is_(None), table.c.cancelled_at.is_(None), table.c.due_at <= now)

        bc = bank_changes.alias("candidate")
        sub = select(bc.c.id).where(due(bc)).order_by(bc.c.due_at).limit(limit)
        with self._tx() as conn:
            ids = claim_rows(conn, bank_changes, sub, bc, due(bank_changes), {"due_at": now + BANK_CHANGE_LEASE})
        if not ids:
            return []
        with self._tx() as conn:
            rows = conn.execute(
                select(bank_changes, items.c.id.label("item_id"), items.c.author_id, items.c.blob_sha256)
                .join(items, items.c.pk == c.item_pk)
                .where(c.id.in_(ids))
            ).all()
        return [dict(r._mapping) for r in rows]

    def set_bank_entry(self, change_id: int, entry_id: int | None) -> bool:
        """Record a claimed change as applied (as `entry_id`), or as given up (None). False
        when an undo cancelled it meanwhile: the caller removes the entry it added."""
        now = utcnow()
        values: dict[str, Any] = {"entry_id": entry_id, "applied_at": now} if entry_id is not None else {"cancelled_at": now}
        with self._tx() as conn:
            done = conn.execute(
                update(bank_changes)
                .where(bank_changes.c.id == change_id, bank_changes.c.cancelled_at.is_(None), bank_changes.c.applied_at.is_(None))
                .values(**values)
            )
        return bool(done.rowcount)

    # -- QA sampling ------------------------------------------------------------------------

    def sample_qa(self, batch: int = 1000, now: datetime | None = None) -> int:
        """Look at automatically decided items not seen yet; put a share into the QA queue.
        Returns how many were queued. A compare-and-set on the cursor keeps two nodes
        from sampling the same items."""
        share = self.settings.qa_sample_auto
        now = now or utcnow()
        with self._tx() as conn:
            cur = conn.execute(select(review_cursors.c.value).where(review_cursors.c.name == "qa_auto")).scalar()
            if cur is None:
                conn.execute(insert(review_cursors).values(name="qa_auto", value=0))
                cur = 0
            rows = conn.execute(
                select(items.c.pk, items.c.id, items.c.first_decision).where(items.c.pk > cur).order_by(items.c.pk).limit(batch)
            ).all()
            if not rows:
                return 0
            res = conn.execute(
                update(review_cursors).where(review_cursors.c.name == "qa_auto", review_cursors.c.value == cur).values(value=rows[-1].pk)
            )
            if res.rowcount != 1:
                return 0
            picks = [r for r in rows if r.first_decision != "review" and sampled(r.id, "qa", share)]
            if picks:
                conn.execute(
                    insert(review_tasks),
                    [{"item_pk": r.pk, "queue": QA_QUEUE, "priority": 9, "status": "open", "created_at": now} for r in picks],
                )
        return len(picks)

    # -- reading ----------------------------------------------------------------------------

    def item_blob(self, item_id: str) -> str:
        with self._tx() as conn:
            sha = conn.execute(select(items.c.blob_sha256).where(items.c.id == item_id)).first()
        if sha is None or sha[0] is None:
            raise NotFound(f"no photo for item {item_id!r}")
        return str(sha[0])

    def labeled_texts(self) -> Iterator[dict[str, str]]:
        """Human-decided texts as training rows (text, label, lang): the last standing
        human decision of each item."""
        with self._tx() as conn:
            rows = conn.execute(
                select(decisions.c.item_pk, decisions.c.decision, decisions.c.reasons.label("human"), items.c.text, items.c.language, items.c.locale, items.c.reasons)
                .join(items, items.c.pk == decisions.c.item_pk)
                .where(decisions.c.kind == "human", decisions.c.undone.is_(False), items.c.type == "text")
                .order_by(decisions.c.id)
            ).all()
        last = {r.item_pk: r for r in rows}
        for r in last.values():
            explicit = ((r.human or [{}])[0] or {}).get("label")
            label = training_label(r.decision, r.reasons or [], explicit)
            if label and r.text:
                yield {"text": r.text, "label": label, "lang": r.language or (r.locale or "")[:2]}

    def audit_entries(self, *, limit: int = 100, offset: int = 0, actor: str | None = None, action: str | None = None) -> tuple[int, list[dict[str, Any]]]:
        q = select(audit_log)
        n = select(func.count()).select_from(audit_log)
        if actor:
            q, n = q.where(audit_log.c.actor == actor), n.where(audit_log.c.actor == actor)
        if action:
            q, n = q.where(audit_log.c.action.startswith(action)), n.where(audit_log.c.action.startswith(action))
        with self._tx() as conn:
            total = int(conn.execute(n).scalar_one())
            rows = conn.execute(q.order_by(audit_log.c.id.desc()).limit(limit).offset(offset)).all()
        return total, [{"id": r.id, "at": aware(r.at), "actor": r.actor, "action": r.action, "target": r.target, "detail": r.detail} for r in rows]

    def stats(self, now: datetime | None = None, hours: int = 24) -> dict[str, Any]:
        now = now or utcnow()
        since = now - timedelta(hours=hours)
        t = review_tasks.c
        sla = {q.name: q.sla_minutes for q in self.policy.queues}
        with self._tx() as conn:
            queue_rows = conn.execute(
                select(t.queue, func.count(), func.min(t.created_at), func.sum(case((and_(t.lease_owner.is_not(None), t.lease_expires_at >= now), 1), else_=0)))
                .where(t.status == "open")
                .group_by(t.queue)
            ).all()
            late = Counter()
            for q, m in sla.items():
                late[q] = int(conn.execute(select(func.count()).where(t.status == "open", t.queue == q, t.created_at < now - timedelta(minutes=m))).scalar_one())
            human = conn.execute(
                select(decisions.c.actor, decisions.c.created_at, decisions.c.kind)
                .where(decisions.c.kind.in_(("human", "qa")), decisions.c.undone.is_(False), decisions.c.created_at >= since)
            ).all()
            first_counts = conn.execute(
                select(items.c.first_decision, func.count()).where(items.c.created_at >= since).group_by(items.c.first_decision)
            ).all()
            qa_rows = conn.execute(
                select(review_tasks.c.queue, decisions.c.decision, items.c.first_decision, items.c.human_decision)
                .join(review_tasks, review_tasks.c.id == decisions.c.task_id)
                .join(items, items.c.pk == decisions.c.item_pk)
                .where(decisions.c.kind == "qa", decisions.c.undone.is_(False))
            ).all()
            undone = int(conn.execute(select(func.count()).where(decisions.c.kind == "undo", decisions.c.created_at >= since)).scalar_one())
            outbox = conn.execute(
                select(func.count()).where(webhook_outbox.c.delivered_at.is_(None), webhook_outbox.c.cancelled_at.is_(None))
            ).scalar_one()
        per_hour: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for actor, at, _kind in human:
            at = aware(at)
            per_hour[actor][at.replace(minute=0, second=0, microsecond=0).isoformat()] += 1
        total_items = sum(n for _, n in first_counts)
        auto = sum(n for d, n in first_counts if d != "review")
        qa = [r for r in qa_rows if r.queue == QA_QUEUE]
        second = [r for r in qa_rows if r.queue == SECOND_QUEUE and r.human_decision is not None]
        return {
            "generated_at": now,
            "window_hours": hours,
            "queues": [
                {
                    "queue": q,
                    "depth": int(n),
                    "leased": int(leased or 0),
                    "oldest_age_seconds": round((now - aware(oldest)).total_seconds(), 1) if oldest else None,
                    "sla_minutes": sla.get(q),
                    "past_sla": late.get(q, 0),
                }
                for q, n, oldest, leased in sorted(queue_rows)
            ],
            "decisions_per_moderator_hour": {a: dict(sorted(h.items())) for a, h in sorted(per_hour.items())},
            "decisions": len(human),
            "undone": undone,
            "items": total_items,
            "automation_rate": round(auto / total_items, 4) if total_items else None,
            "automated_precision": _share(sum(r.decision == r.first_decision for r in qa), len(qa)),
            "reviewer_agreement": _share(sum(r.decision == r.human_decision for r in second), len(second)),
            "webhooks_pending": int(outbox),
        }


def _share(k: int, n: int) -> dict[str, Any]:
    return {"value": round(k / n, 4) if n else None, "agree": k, "of": n}


def _image_url(item_id: str) -> str:
    from urllib.parse import quote

    return f"/v1/review/items/{quote(item_id, safe='')}/image"


# -- the background loop the service runs ---------------------------------------------------


SESSION_PURGE_SECONDS = 3600.0


async def run_background(service: Any, interval: float = 0.5) -> None:
    """Deliver due webhooks, apply bank changes past their undo window, sample QA, and
    hourly delete long-expired sessions. One failing pass is logged; the loop keeps going."""
    import httpx
    from starlette.concurrency import run_in_threadpool

    queue: ReviewQueue = service.review
    outbox = webhooks.Outbox(service.engine)
    purged_at = float("-inf")
    async with httpx.AsyncClient(follow_redirects=False) as client:
        while True:
            try:
                await webhooks.deliver_due(outbox, client, queue.settings.backoff)
                await apply_bank_changes(service)
                await run_in_threadpool(queue.sample_qa)
                if time.monotonic() - purged_at > SESSION_PURGE_SECONDS:
                    await run_in_threadpool(service.accounts.purge_expired)
                    purged_at = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("review background pass failed")
            await asyncio.sleep(interval)


async def apply_bank_changes(service: Any) -> int:
    from starlette.concurrency import run_in_threadpool

    from moderation.service import new_bank_entry

    queue: ReviewQueue = service.review
    done = 0
    for ch in await run_in_threadpool(queue.claim_due_bank_changes):
        try:
            data, _ = await run_in_threadpool(service.store.get_blob, ch["blob_sha256"])
            hashes = await run_in_threadpool(service.hash_photo, data)
        except Exception as exc:  # noqa: BLE001 - a photo that no longer decodes is logged and skipped
            log.warning("bank change %s for %s skipped: %s", ch["id"], ch["item_id"], exc)
            await run_in_threadpool(queue.set_bank_entry, ch["id"], None)
            continue
        entry = new_bank_entry(ch["bank"], hashes, note=f"review decision {ch['decision_id']}", author_id=ch["author_id"], item_id=ch["item_id"], actor=ch["actor"])
        [entry_id] = await service.store_bank_entries([entry])
        if not await run_in_threadpool(queue.set_bank_entry, ch["id"], entry_id):
            # undone while it was being applied: the undo found nothing to remove yet
            await service.remove_bank_entry(ch["bank"], entry_id, ch["actor"])
            continue
        await run_in_threadpool(service.store.audit, ch["actor"], "bank.add", f"{ch['bank']}/{entry_id}", {"item_id": ch["item_id"], "decision_id": ch["decision_id"]})
        done += 1
    return done
