"""Review tasks: claim under a lease, describe for the moderator, release.

Every `review` decision of the policy leaves an open row in `review_tasks`. A moderator
claims tasks: the claim is one `UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING`,
with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent claimers never receive the
same task and never wait on each other; SQLite serializes writers, and the statement
re-checks availability, which gives the same guarantee. A lease expires (default 5
minutes): the task returns to the queue. Order: tasks past their queue's SLA first, then
the queue's priority (1 is most urgent), then the heavier members' report case
(`moderation.members.reports`), then oldest first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, case, func, insert, literal, or_, select, update
from sqlalchemy.engine import Connection

from moderation.auth import User
from moderation.errors import Conflict, InvalidInput, NotFound
from moderation.policy import Policy
from moderation.review.duplicates import open_duplicates
from moderation.store.repository import QA_QUEUE, Repository, aware, claim_rows, utcnow
from moderation.store.tables import appeals, audit_log, decisions, items, review_tasks

SECOND_QUEUE = "second-review"
BLIND_QUEUES = (QA_QUEUE, SECOND_QUEUE)
SENSITIVE_CATEGORIES = ("nudity", "suggestive", "sexual")


class QueuePart(Repository):
    """A part of the review queue over the store's engine. `policy` is a callable so a
    reloaded policy (SLAs, lease, undo window, QA shares) takes effect at once."""

    def __init__(self, engine: Engine, policy: Callable[[], Policy]) -> None:
        super().__init__(engine)
        self._policy = policy

    @property
    def policy(self) -> Policy:
        return self._policy()


class Tasks(QueuePart):
    """Claiming and reading review tasks."""

    def _order(self, now: datetime, table: Any = review_tasks) -> list[Any]:
        """Past-SLA first, then priority, then the heavier report case, then oldest."""
        t = table.c
        breached = [(and_(t.queue == q.name, t.created_at < now - timedelta(minutes=q.sla_minutes)), 0) for q in self.policy.queues]
        late = case(*breached, else_=1) if breached else literal(1)
        return [late, t.priority, func.coalesce(t.weight, 0.0).desc(), t.created_at, t.id]

    def claim(self, user: User, limit: int = 10, queue: str | None = None, *, resume: bool = False, now: datetime | None = None) -> list[dict[str, Any]]:
        """Lease up to `limit` tasks to `user`. With `resume`, the tasks the user still
        holds come first (a reloaded page gets its tasks back)."""
        if not 1 <= limit <= 100:
            raise InvalidInput("limit must lie in [1, 100]")
        now = now or utcnow()
        t = review_tasks.c
        lease_until = now + timedelta(seconds=self.policy.review.lease_seconds)
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
            # nor an appeal to the moderator whose decision it contests (four-eyes)
            not_my_appeal = ~select(appeals.c.pk).where(appeals.c.task_id == rt.c.id, appeals.c.decision_by == user.actor).exists()
            sub = select(rt.c.id).where(available(rt), or_(rt.c.queue != SECOND_QUEUE, not_mine), not_my_appeal)
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
        """What the UI shows for each task: the item, reasons, whether a rejection bans the
        photo by the policy, the author's recent items, near-duplicate photos waiting in the
        queue. In the claim's order (the queue's order)."""
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
            duplicates = open_duplicates(conn, self.policy.hash_matching.phash_max_distance, photo_rows) if photo_rows else {}
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
                        "size": (r.features or {}).get("size"),
                    },
                    "reasons": r.reasons,
                    "scores": r.scores,
                    "sensitive": any(x.get("category") in SENSITIVE_CATEGORIES for x in r.reasons or []),
                    # what a plain "reject" does to the photo, so the UI can say it before
                    # the moderator chooses between reject and "reject and ban image"
                    "reject_bans": not blind and r.type == "photo" and self.policy.rejection_bans(r.context, r.reasons or []),
                    "author_recent": [
                        {"id": a.id, "type": a.type, "context": a.context, "decision": a.final_decision or a.first_decision, "status": a.status, "created_at": aware(a.created_at), "excerpt": a.excerpt}
                        for a in recent[r.author_id]
                        if a.id != r.item_id
                    ][:8],
                    "duplicates": dups,
                }
            )
        return out

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
                raise refusal(conn, task_id, user, utcnow()) if conn.execute(select(t.id).where(t.id == task_id)).first() is None else Conflict(f"you do not hold task {task_id}")
            conn.execute(insert(audit_log).values(at=utcnow(), actor=user.actor, action="review.release", target=str(task_id), detail=None))

    def item_blob(self, item_id: str) -> str:
        with self._tx() as conn:
            sha = conn.execute(select(items.c.blob_sha256).where(items.c.id == item_id)).first()
        if sha is None or sha[0] is None:
            raise NotFound(f"no photo for item {item_id!r}")
        return str(sha[0])


def refusal(conn: Connection, task_id: int, user: User, now: datetime) -> Exception:
    row = conn.execute(select(review_tasks).where(review_tasks.c.id == task_id)).first()
    if row is None:
        return NotFound(f"no review task {task_id}")
    if row.status != "open":
        return Conflict(f"task {task_id} was already decided by {row.lease_owner or 'someone else'}", decided_by=row.lease_owner)
    return Conflict(f"your lease on task {task_id} was lost: it is now leased to {row.lease_owner}", leased_to=row.lease_owner)
