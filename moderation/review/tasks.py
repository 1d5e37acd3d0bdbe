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

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    String,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from moderation.auth import User
from moderation.errors import Conflict, InvalidInput, NotFound
from moderation.policy import Policy
from moderation.review.duplicates import open_duplicates
from moderation.store.repository import QA_QUEUE, Repository, aware, claim_rows, utcnow
from moderation.store.tables import (
    appeals,
    audit_log,
    decisions,
    item_categories,
    items,
    member_reports,
    report_cases,
    review_tasks,
)

SECOND_QUEUE = "second-review"
BLIND_QUEUES = (QA_QUEUE, SECOND_QUEUE)
SENSITIVE_CATEGORIES = ("nudity", "suggestive", "sexual")
CLAIM_ORDERS = ("priority", "age", "sla")


@dataclass(frozen=True)
class ClaimFilter:
    """What a moderator asks of the queue: only tasks whose item has this reason category,
    context, language, at least this many members' reports; and an order (`priority`: past
    SLA, then priority; `age`: oldest first; `sla`: the nearest SLA deadline first)."""

    category: str | None = None
    context: str | None = None
    language: str | None = None
    min_reports: int = 0
    sort: str = "priority"

    def __post_init__(self) -> None:
        if self.sort not in CLAIM_ORDERS:
            raise InvalidInput(f"sort must be one of {', '.join(CLAIM_ORDERS)}")
        if self.min_reports < 0:
            raise InvalidInput("min_reports must be >= 0")


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

    def _order(self, now: datetime, table: Any = review_tasks, sort: str = "priority") -> list[Any]:
        """Past-SLA first, then priority, then the heavier report case, then oldest; or
        oldest first (`age`); or by the minutes left before the queue's SLA (`sla`)."""
        t = table.c
        if sort == "age":
            return [t.created_at, t.id]
        if sort == "sla":
            # created_at + SLA orders as created_at for queues of one SLA: group by SLA
            # first would be wrong, so compare deadlines as the SLA's shift of the age
            shifted = [(t.queue == q.name, literal(q.sla_minutes)) for q in self.policy.queues]
            sla = case(*shifted, else_=120) if shifted else literal(120)
            deadline = _plus_minutes(t.created_at, sla, self.engine.dialect.name)
            return [deadline, t.priority, t.id]
        breached = [(and_(t.queue == q.name, t.created_at < now - timedelta(minutes=q.sla_minutes)), 0) for q in self.policy.queues]
        late = case(*breached, else_=1) if breached else literal(1)
        return [late, t.priority, func.coalesce(t.weight, 0.0).desc(), t.created_at, t.id]

    def claim(
        self,
        user: User,
        limit: int = 10,
        queue: str | None = None,
        *,
        resume: bool = False,
        filters: ClaimFilter | None = None,
        share: bool = False,
        now: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Lease up to `limit` tasks to `user`. With `resume`, the tasks the user still
        holds come first (a reloaded page gets its tasks back). `filters` narrow and order
        the queue. With `share`, a short queue is shared: at most the tasks available
        divided among the moderators holding tasks in it and this one, plus one (so a
        second moderator who arrives still finds work). Tasks the user skipped within the
        lease time go to the others first: this user's claims pass over them."""
        if not 1 <= limit <= 100:
            raise InvalidInput("limit must lie in [1, 100]")
        f = filters or ClaimFilter()
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
            # a task this user skipped lately is left to the others
            skipped = select(audit_log.c.id).where(
                audit_log.c.target == cast(rt.c.id, String),
                audit_log.c.action == "review.skip",
                audit_log.c.actor == user.actor,
                audit_log.c.at >= now - timedelta(seconds=self.policy.review.lease_seconds),
            ).exists()
            wanted = [available(rt), or_(rt.c.queue != SECOND_QUEUE, not_mine), not_my_appeal, *self._narrow(rt, queue, f)]
            with self._tx() as conn:
                if share:
                    want = min(want, self._share(conn, rt, wanted, user, now))
                sub = select(rt.c.id).where(*wanted, ~skipped).order_by(*self._order(now, rt, f.sort)).limit(want)
                claimed = claim_rows(conn, review_tasks, sub, rt, available(review_tasks),
                                     {"lease_owner": user.actor, "lease_expires_at": lease_until})
                if claimed:
                    conn.execute(
                        insert(audit_log).values(
                            at=now, actor=user.actor, action="review.claim", target=",".join(map(str, claimed))[:256], detail={"queue": queue, "count": len(claimed)}
                        )
                    )
        return self.describe(held + claimed, now=now, sort=f.sort)

    @staticmethod
    def _narrow(rt: Any, queue: str | None, f: ClaimFilter) -> list[Any]:
        """The WHERE terms of a claim's queue and filters, over the candidate tasks `rt`."""
        out: list[Any] = []
        if queue:
            out.append(rt.c.queue == queue)
        if f.category or f.context or f.language:
            item = select(items.c.pk).where(items.c.pk == rt.c.item_pk)
            if f.context:
                item = item.where(items.c.context == f.context)
            if f.language:
                item = item.where(items.c.language == f.language)
            if f.category:
                item = item.where(
                    select(item_categories.c.item_pk).where(item_categories.c.item_pk == items.c.pk, item_categories.c.category == f.category).exists()
                )
            out.append(item.exists())
        if f.min_reports > 0:
            out.append(_reports_on(rt.c.item_pk) >= f.min_reports)
        return out

    def _share(self, conn: Connection, rt: Any, wanted: list[Any], user: User, now: datetime) -> int:
        """A fair claim on a short queue: the available tasks over the other moderators
        holding tasks, this one, and one more (someone arriving later still finds work),
        rounded up; at least one."""
        free = conn.execute(select(func.count()).select_from(rt).where(*wanted)).scalar() or 0
        t = review_tasks.c
        holders = conn.execute(
            select(func.count(func.distinct(t.lease_owner))).where(t.status == "open", t.lease_expires_at >= now, t.lease_owner != user.actor)
        ).scalar() or 0
        return max(1, math.ceil(free / (holders + 2)))

    def skip(self, user: User, task_id: int) -> None:
        """Give a task back for the other moderators: released, and this user's claims pass
        over it for the lease time."""
        self.release(user, task_id, action="review.skip")

    def record_exposure(self, user: User, item_id: str, now: datetime | None = None) -> bool:
        """Count a sensitive photo shown to `user`: once per item and UTC day (the audit
        log holds it; `exposure_today` counts it). False when already counted today."""
        now = now or utcnow()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        with self._tx() as conn:
            row = conn.execute(select(items.c.reasons).where(items.c.id == item_id)).first()
            if row is None:
                raise NotFound(f"no item with id {item_id!r}")
            if not any(r.get("category") in SENSITIVE_CATEGORIES for r in row.reasons or []):
                raise InvalidInput(f"item {item_id!r} is not sensitive: nothing to count")
            a = audit_log.c
            seen = conn.execute(
                select(a.id).where(a.target == item_id[:256], a.action == "review.exposure", a.actor == user.actor, a.at >= midnight)
            ).first()
            if seen is not None:
                return False
            conn.execute(insert(audit_log).values(at=now, actor=user.actor, action="review.exposure", target=item_id[:256], detail=None))
        return True

    def exposure_today(self, now: datetime | None = None) -> dict[str, int]:
        """Sensitive items shown to each moderator since UTC midnight."""
        now = now or utcnow()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        a = audit_log.c
        with self._tx() as conn:
            rows = conn.execute(
                select(a.actor, func.count(func.distinct(a.target))).where(a.action == "review.exposure", a.at >= midnight).group_by(a.actor)
            ).all()
        return {actor: int(n) for actor, n in rows}

    def describe(self, task_ids: Sequence[int], now: datetime | None = None, sort: str = "priority") -> list[dict[str, Any]]:
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
                    review_tasks.c.item_pk,
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
                .order_by(*self._order(now, sort=sort))
            ).all()
            pks = list({r.item_pk for r in rows})
            reports = dict(conn.execute(
                select(report_cases.c.item_pk, func.count(member_reports.c.pk))
                .join(member_reports, member_reports.c.case_id == report_cases.c.id)
                .where(report_cases.c.item_pk.in_(pks), report_cases.c.target_kind == "item")
                .group_by(report_cases.c.item_pk)
            ).all())
            cases = set(conn.execute(select(report_cases.c.task_id).where(report_cases.c.task_id.in_(list(task_ids)))).scalars())
            # an appeal task shows the member's words and the decision they contest
            appealed = {
                a.task_id: {"id": a.id, "target_kind": a.target_kind, "statement": a.statement, "category": a.category, "decision_by": a.decision_by, "created_at": aware(a.created_at)}
                for a in conn.execute(select(appeals).where(appeals.c.task_id.in_(list(task_ids)), appeals.c.status == "open"))
            }
            originals = _originals(conn, rows)
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
                    "reports": int(reports.get(r.item_pk, 0)),
                    "report_case": r.id in cases,
                    "appeal": appealed.get(r.id),
                    # the photos a hash reason names (the original of a near-copy): who, when
                    "originals": {k: dict(v) for k, v in originals.items() if any((x.get("detail") or {}).get("item_id") == k for x in r.reasons or [])},
                    "decision_reasons": [
                        {"code": code, "labels": labels}
                        for code, labels in self.policy.review.reasons_for(x.get("category", "") for x in r.reasons or []).items()
                    ],
                }
            )
        return out

    def release(self, user: User, task_id: int, action: str = "review.release") -> None:
        """Give a task back to the queue (an idle page, a changed filter; `skip`)."""
        t = review_tasks.c
        with self._tx() as conn:
            res = conn.execute(
                update(review_tasks)
                .where(t.id == task_id, t.status == "open", t.lease_owner == user.actor)
                .values(lease_owner=None, lease_expires_at=None)
            )
            if res.rowcount != 1:
                raise refusal(conn, task_id, user, utcnow()) if conn.execute(select(t.id).where(t.id == task_id)).first() is None else Conflict(f"you do not hold task {task_id}")
            conn.execute(insert(audit_log).values(at=utcnow(), actor=user.actor, action=action, target=str(task_id), detail=None))

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


def _reports_on(item_pk: Any) -> Any:
    """The members' reports on an item (its cases' reports, whatever their outcome), as a
    scalar subquery."""
    return (
        select(func.count(member_reports.c.pk))
        .join(report_cases, report_cases.c.id == member_reports.c.case_id)
        .where(report_cases.c.item_pk == item_pk, report_cases.c.target_kind == "item")
        .scalar_subquery()
    )


def _originals(conn: Connection, rows: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """The stored items that the tasks' hash reasons name (`detail.item_id`): author, date,
    whether sensitive, so the UI shows a near-copy beside its original."""
    ids = {(x.get("detail") or {}).get("item_id") for r in rows for x in r.reasons or [] if x.get("source") == "hash"}
    ids = {i for i in ids if isinstance(i, str)}
    if not ids:
        return {}
    found = conn.execute(
        select(items.c.id, items.c.author_id, items.c.created_at, items.c.reasons, items.c.blob_sha256).where(items.c.id.in_(sorted(ids)))
    ).all()
    return {
        o.id: {
            "author_id": o.author_id,
            "created_at": aware(o.created_at),
            "has_photo": o.blob_sha256 is not None,
            "sensitive": any(x.get("category") in SENSITIVE_CATEGORIES for x in o.reasons or []),
        }
        for o in found
    }


def _plus_minutes(at: Any, minutes: Any, dialect: str) -> Any:
    """`at` + `minutes` as an orderable SQL value: a Julian day on SQLite, a timestamp on
    PostgreSQL."""
    if dialect == "sqlite":
        return func.julianday(at) + minutes / 1440.0
    return at + func.make_interval(0, 0, 0, 0, 0, minutes)
