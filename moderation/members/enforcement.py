"""Account enforcement: strikes against authors, the actions their total takes, and the
author's state that every `/v1/moderate` result carries.

Every rejection (automatic, by a moderator, by an upheld report) counts one strike against
its author (`count_strike`), weighing its ground category's weight for its days (the
policy's `enforcement.strikes`; an item has one live strike at most). When the live
(unexpired, not removed) total crosses a threshold, its action is taken: `warn`,
`restrict` (every new item goes to review), `suspend` for days, `ban`. Each action gets a
statement of reasons and a signed `enforcement.taken` webhook event, written in the
transaction of the rejection that caused it (the same undo window holds it back).

The state is derived, never stored, so strikes expire on time without a job
(`state_from`): after the last `lift`, a ban is in force, a suspension until its end, a
moderator's warning or restriction until lifted, and a threshold's while the live total
still reaches that threshold. Thresholds act on crossing: a total that falls below one as
strikes expire and rises again takes the action again.

Removing a strike (an overturned appeal, an undone decision: `remove_strikes`) undoes the
threshold actions that would not have been taken without it (neither when they were nor
now, by a later strike); an action whose event had already left is corrected by an
`enforcement.undone` event.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    Integer,
    String,
    bindparam,
    cast,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import Connection

from moderation import webhooks
from moderation.auth import User
from moderation.errors import Conflict, Forbidden, InvalidInput, NotFound
from moderation.policy import ENFORCEMENT_ACTIONS, Policy
from moderation.store.repository import Repository, aware, utcnow
from moderation.store.tables import (
    api_keys,
    appeals,
    audit_log,
    decisions,
    enforcements,
    items,
    member_reports,
    report_cases,
    strikes,
    webhook_outbox,
)

STATES = ("active", "warned", "restricted", "suspended", "banned")
# An author in one of these states has every new item reviewed, whatever its scores.
REVIEWED_STATES = ("restricted", "suspended", "banned")
MODERATOR_ACTIONS = (*ENFORCEMENT_ACTIONS, "lift")
_SEVERITY = {"warn": 1, "restrict": 2, "suspend": 3, "ban": 4}
# How many of an author's rows the history page lists per kind.
HISTORY_LIMIT = 200


@dataclass(frozen=True)
class AuthorState:
    """What `/v1/moderate` says of an item's author."""

    author_id: str
    state: str
    suspended_until: datetime | None
    strikes: int
    next_threshold: dict[str, Any] | None
    enforcement_id: int | None = None  # the action that put the author in this state

    @property
    def reviews_everything(self) -> bool:
        return self.state in REVIEWED_STATES

    def out(self) -> dict[str, Any]:
        until = self.suspended_until.isoformat() if self.suspended_until else None  # sent as plain JSON by /v1/moderate
        return {
            "author_id": self.author_id,
            "state": self.state,
            "suspended_until": until,
            "strikes": self.strikes,
            "next_threshold": self.next_threshold,
        }


def state_from(author_id: str, live_total: int, actions: Sequence[Any], policy: Policy, now: datetime) -> AuthorState:
    """The author's state from their live strike total and their actions not undone
    (`action`, `source`, `threshold`, `until`, `id`, in the order they were taken)."""
    last_lift = max((k for k, a in enumerate(actions) if a.action == "lift"), default=-1)
    severity, until, by = 0, None, None
    for a in actions[last_lift + 1 :]:
        if a.action == "suspend":
            end = aware(a.until)
            if end is None or end <= now:
                continue
            until = max(until, end) if until else end
        elif a.action in ("warn", "restrict") and a.source != "moderator" and live_total < (a.threshold or 0):
            continue  # a threshold's warning or restriction lasts while the total reaches it
        if _SEVERITY.get(a.action, 0) >= severity:
            severity, by = _SEVERITY.get(a.action, 0), a.id
    settings = policy.enforcement
    nxt = settings.next_threshold(live_total) if settings else None
    return AuthorState(
        author_id=author_id,
        state=STATES[severity],
        suspended_until=until if severity == 3 else None,
        strikes=live_total,
        next_threshold=nxt.out() if nxt else None,
        enforcement_id=by,
    )


def _states_query() -> Any:
    """Live strikes and actions not undone of the `ids` authors at `now`, as one union (built
    once: the moderation path runs it for every batch)."""
    s, e = strikes.c, enforcements.c
    ids = bindparam("ids", expanding=True)
    live = select(
        s.author_id, cast(literal("strike"), String(16)).label("action"), cast(literal(""), String(16)).label("source"),
        s.weight.label("n"), s.expires_at.label("until"), s.id,
    ).where(s.author_id.in_(ids), s.removed_at.is_(None), s.expires_at > bindparam("now"))
    taken = select(e.author_id, e.action, e.source, func.coalesce(e.threshold, cast(literal(0), Integer)).label("n"), e.until, e.id).where(
        e.author_id.in_(ids), e.undone_at.is_(None)
    )
    return union_all(live, taken)


_STATES = _states_query()


def author_states(conn: Connection, author_ids: Iterable[str], policy: Policy, now: datetime) -> dict[str, AuthorState]:
    """The state of each author, in one indexed query for all of them."""
    ids = sorted(set(author_ids))
    if not ids:
        return {}
    totals: dict[str, int] = defaultdict(int)
    actions: dict[str, list[Any]] = defaultdict(list)
    for r in conn.execute(_STATES, {"ids": ids, "now": now}):
        if r.action == "strike":
            totals[r.author_id] += int(r.n)
        else:
            actions[r.author_id].append(_Action(r.action, r.source, int(r.n), r.until, int(r.id)))
    # most authors have neither: one clean state serves them all
    clean = state_from("", 0, (), policy, now)
    return {
        a: state_from(a, totals[a], sorted(actions[a], key=lambda x: x.id), policy, now)
        if a in totals or a in actions
        else dataclasses.replace(clean, author_id=a)
        for a in ids
    }


@dataclass(frozen=True)
class _Action:
    action: str
    source: str
    threshold: int
    until: datetime | None
    id: int


def lock_authors(conn: Connection, author_ids: Iterable[str]) -> None:
    """Serialize strike counting per author to the end of the caller's transaction: two
    batches reading one author's total at once would both cross a threshold, or neither.
    PostgreSQL: an advisory lock per author, taken in sorted order (no deadlock between
    two of these); SQLite: the database's write lock, which its first write takes."""
    if conn.dialect.name == "postgresql":
        for a in sorted(set(author_ids)):
            key = int.from_bytes(hashlib.blake2b(f"strikes:{a}".encode(), digest_size=8).digest(), "big", signed=True)
            conn.execute(select(func.pg_advisory_xact_lock(key)))
    else:
        conn.execute(update(strikes).where(strikes.c.id == -1).values(weight=strikes.c.weight))  # changes nothing


def live_total(conn: Connection, author_id: str, now: datetime) -> int:
    s = strikes.c
    total = conn.execute(
        select(func.coalesce(func.sum(s.weight), 0)).where(s.author_id == author_id, s.removed_at.is_(None), s.expires_at > now)
    ).scalar_one()
    return int(total)


def count_strike(
    conn: Connection, policy: Policy, *, item: Any, decision_id: int | None, category: str, actor: str, now: datetime, not_before: datetime
) -> list[int]:
    """Count a rejection of `item` (an `items` row) against its author, in the caller's
    transaction; returns the ids of the actions its crossing took. Nothing when the policy
    counts no strike for `category`, the item already has a live one, or this decision
    already counted one (safe to call again for it)."""
    settings = policy.enforcement
    rule = settings.strikes.get(category) if settings else None
    if settings is None or rule is None:
        return []
    lock_authors(conn, [item.author_id])
    s = strikes.c
    counted = (s.removed_at.is_(None) & (s.expires_at > now)) | (s.decision_id == decision_id if decision_id is not None else False)
    if conn.execute(select(s.id).where(s.item_pk == item.pk, counted)).first() is not None:
        return []  # the item counts once; this decision, once ever (an overturned one stays uncounted)
    before = live_total(conn, item.author_id, now)
    strike_id = int(
        conn.execute(
            insert(strikes).values(
                author_id=item.author_id,
                item_pk=item.pk,
                decision_id=decision_id,
                category=category,
                weight=rule.weight,
                created_at=now,
                expires_at=now + timedelta(days=rule.days),
            )
        ).inserted_primary_key[0]
    )
    taken = []
    for t in settings.crossed(before, before + rule.weight):
        until = now + timedelta(days=t.days) if t.days else None
        taken.append(
            take_action(
                conn,
                policy,
                author_id=item.author_id,
                action=t.action,
                source="threshold",
                actor=actor,
                note=None,
                category=category,
                item_pk=item.pk,
                locale=item.locale,
                now=now,
                not_before=not_before,
                until=until,
                strike_id=strike_id,
                threshold=t.strikes,
                total=before + rule.weight,
                strike_item=item.id,
            )
        )
    return taken


def take_action(
    conn: Connection,
    policy: Policy,
    *,
    author_id: str,
    action: str,
    source: str,
    actor: str,
    note: str | None,
    category: str,
    item_pk: int,
    locale: str | None,
    now: datetime,
    not_before: datetime,
    until: datetime | None = None,
    strike_id: int | None = None,
    threshold: int | None = None,
    total: int | None = None,
    strike_item: str | None = None,
) -> int:
    """Record an action on an account, with its statement of reasons, its webhook events
    (held until `not_before`: an undo of the rejection that caused it within its window
    cancels them, through `remove_strikes`) and an audit row. `strike_item`: the item whose
    rejection crossed the threshold."""
    assert policy.statements is not None
    total = live_total(conn, author_id, now) if total is None else total
    statement = (
        None
        if action == "lift"
        else policy.statements.enforcement_statement(
            action=action, category=category, locale=locale, automated=source == "threshold", decided_at=now, until=until
        )
    )
    enforcement_id = int(
        conn.execute(
            insert(enforcements).values(
                author_id=author_id,
                action=action,
                source=source,
                actor=actor,
                note=note,
                category=category,
                strike_id=strike_id,
                threshold=threshold,
                strikes=total,
                until=until,
                item_pk=item_pk,
                locale=locale,
                statement=statement,
                created_at=now,
            )
        ).inserted_primary_key[0]
    )
    state = author_states(conn, [author_id], policy, now)[author_id]
    payload = {
        "type": "enforcement.taken",
        "item_id": None,  # an account's event: no item's decision changes
        "strike_item_id": strike_item,
        "enforcement_id": enforcement_id,
        "author_id": author_id,
        "action": action,
        "source": source,
        "automated": source == "threshold",
        "until": until,
        "strikes": total,
        "category": category,
        "author": state.out(),
        "statement": statement,
        "decided_by": actor,
        "decided_at": now,
    }
    events = _send(conn, author_id, item_pk, payload, not_before)
    conn.execute(update(enforcements).where(enforcements.c.id == enforcement_id).values(events=events))
    conn.execute(
        insert(audit_log).values(
            at=now,
            actor=actor,
            action=f"enforcement.{action}",
            target=f"author:{author_id}"[:256],
            detail={
                "enforcement_id": enforcement_id,
                "source": source,
                "note": note,
                "category": category,
                "strikes": total,
                "threshold": threshold,
                "until": until.isoformat() if until else None,
                "webhook_events": events,
            },
        )
    )
    return enforcement_id


def _send(conn: Connection, author_id: str, item_pk: int, payload: dict[str, Any], not_before: datetime) -> list[str]:
    """One event to each key that sent this author's items and has a webhook: the platform
    applies an account action to the account, whichever of its keys sent the items."""
    keys = conn.execute(
        select(api_keys.c.id, api_keys.c.webhook_url)
        .where(api_keys.c.id.in_(select(items.c.api_key_id).where(items.c.author_id == author_id).distinct()), api_keys.c.webhook_url.is_not(None))
        .order_by(api_keys.c.id)
    ).all()
    return [
        webhooks.enqueue(conn, item_pk=item_pk, decision_id=None, url=k.webhook_url, api_key_id=k.id, payload=payload, not_before=not_before)
        for k in keys
    ]


def undo_action(conn: Connection, policy: Policy, row: Any, *, actor: str, why: str, now: datetime) -> bool:
    """Mark an action undone; its events not yet delivered are cancelled, a delivered one
    is corrected by an `enforcement.undone` event. False when it was already undone."""
    res = conn.execute(
        update(enforcements)
        .where(enforcements.c.id == row.id, enforcements.c.undone_at.is_(None))
        .values(undone_at=now, undone_by=actor, undone_why=why[:256])
    )
    if res.rowcount != 1:
        return False
    events = list(row.events or [])
    delivered = False
    if events:
        o = webhook_outbox.c
        delivered = conn.execute(select(o.id).where(o.event_id.in_(events), o.delivered_at.is_not(None))).first() is not None
        conn.execute(
            update(webhook_outbox).where(o.event_id.in_(events), o.delivered_at.is_(None), o.cancelled_at.is_(None)).values(cancelled_at=now)
        )
    sent: list[str] = []
    if delivered:
        state = author_states(conn, [row.author_id], policy, now)[row.author_id]
        sent = _send(
            conn,
            row.author_id,
            row.item_pk,
            {
                "type": "enforcement.undone",
                "item_id": None,
                "enforcement_id": row.id,
                "author_id": row.author_id,
                "action": row.action,
                "why": why,
                "author": state.out(),
                "decided_by": actor,
                "decided_at": now,
            },
            now,
        )
    conn.execute(
        insert(audit_log).values(
            at=now,
            actor=actor,
            action="enforcement.undone",
            target=f"author:{row.author_id}"[:256],
            detail={"enforcement_id": row.id, "action": row.action, "taken_by": row.actor, "why": why, "webhook_events": sent},
        )
    )
    return True


def remove_strikes(
    conn: Connection, policy: Policy, *, decision_ids: Sequence[int] = (), item_pk: int | None = None, actor: str, why: str, now: datetime
) -> dict[str, list[int]]:
    """Remove the strikes the given rejections counted (or every strike of `item_pk`), and
    undo the threshold actions that would not have been taken without them. Returns the
    removed strike ids and the undone action ids."""
    s = strikes.c
    where = s.decision_id.in_(list(decision_ids)) if decision_ids else s.item_pk == item_pk
    removed = conn.execute(select(strikes).where(where, s.removed_at.is_(None))).all()
    if not removed:
        return {"strikes": [], "enforcements": []}
    lock_authors(conn, {r.author_id for r in removed})
    conn.execute(update(strikes).where(s.id.in_([r.id for r in removed])).values(removed_at=now, removed_by=actor, removed_why=why[:256]))
    undone = []
    for author in sorted({r.author_id for r in removed}):
        kept = conn.execute(select(s.weight, s.created_at, s.expires_at).where(s.author_id == author, s.removed_at.is_(None))).all()
        gone = [r for r in removed if r.author_id == author]
        live = sum(k.weight for k in kept if aware(k.created_at) <= now < aware(k.expires_at))
        e = enforcements.c
        for a in conn.execute(select(enforcements).where(e.author_id == author, e.source == "threshold", e.undone_at.is_(None)).order_by(e.id)).all():
            at = aware(a.created_at)
            if not any(aware(g.created_at) <= at < aware(g.expires_at) for g in gone):
                continue  # taken before the strike counted, or after it expired: it did not help
            then = sum(k.weight for k in kept if aware(k.created_at) <= at < aware(k.expires_at))
            # not reached without the removed strikes, then or now (a later strike would have crossed it)
            if max(then, live) < (a.threshold or 0) and undo_action(conn, policy, a, actor=actor, why=why, now=now):
                undone.append(int(a.id))
    return {"strikes": [int(r.id) for r in removed], "enforcements": undone}


class Enforcement(Repository):
    """Authors' states for the moderation path, moderators' actions on accounts and their
    undo, and an author's history. (Not a `review.tasks.QueuePart`: the review queue's
    decisions count strikes through this module, so it imports nothing of the queue.)"""

    def __init__(self, engine: Engine, policy: Callable[[], Policy]) -> None:
        super().__init__(engine)
        self._policy = policy

    @property
    def policy(self) -> Policy:
        return self._policy()

    def states(self, author_ids: Iterable[str], *, now: datetime | None = None) -> dict[str, AuthorState]:
        with self._tx() as conn:
            return author_states(conn, author_ids, self.policy, now or utcnow())

    def count_rejections(self, rejected: Sequence[int], *, now: datetime | None = None) -> dict[str, AuthorState]:
        """Strikes for the automatic rejections just stored (item pks), in one transaction;
        returns the states of their authors after them."""
        now = now or utcnow()
        policy = self.policy
        with self._tx() as conn:
            # by author: each one's lock is taken in the same order by every batch
            rows = conn.execute(select(items).where(items.c.pk.in_(list(rejected))).order_by(items.c.author_id, items.c.pk)).all()
            lock_authors(conn, {r.author_id for r in rows})
            auto = dict(
                conn.execute(
                    select(decisions.c.item_pk, decisions.c.id)
                    .where(decisions.c.item_pk.in_(list(rejected)), decisions.c.kind == "auto", decisions.c.decision == "reject")
                    .order_by(decisions.c.id)  # the latest automatic rejection of each (a campaign's comes after)
                ).all()
            )
            for row in rows:
                category = policy.ground({"context": row.context, "reasons": row.reasons})
                count_strike(conn, policy, item=row, decision_id=auto.get(row.pk), category=category, actor="policy", now=now, not_before=now)
            return author_states(conn, {r.author_id for r in rows}, policy, now)

    def act(
        self, user: User, author_id: str, action: str, *, note: str, days: int | None = None, category: str = "other", now: datetime | None = None
    ) -> dict[str, Any]:
        """A moderator's action on an account (warn, restrict, suspend for `days`, ban, lift),
        with a mandatory note; its event waits out the undo window like a decision's."""
        if action not in MODERATOR_ACTIONS:
            raise InvalidInput(f"action must be one of {', '.join(MODERATOR_ACTIONS)}, not {action!r}", fault="action")
        if not (note or "").strip():
            raise InvalidInput("a moderator's action on an account needs a note saying why", fault="note")
        if (action == "suspend") != (days is not None):
            raise InvalidInput("days goes with suspend, and only with it", fault="days")
        if category != "other" and category not in (self.policy.statements.grounds if self.policy.statements else {}):
            raise InvalidInput(f"unknown category {category!r}", fault="category")
        now = now or utcnow()
        with self._tx() as conn:
            lock_authors(conn, [author_id])
            latest = conn.execute(
                select(items.c.pk, items.c.locale)
                .where(items.c.author_id == author_id)
                .order_by(items.c.created_at.desc(), items.c.pk.desc())
                .limit(1)
            ).first()
            if latest is None:
                raise NotFound(f"no author {author_id!r}: no item of theirs was moderated")
            enforcement_id = take_action(
                conn,
                self.policy,
                author_id=author_id,
                action=action,
                source="moderator",
                actor=user.actor,
                note=note,
                category=category,
                item_pk=latest.pk,
                locale=latest.locale,
                now=now,
                not_before=now + timedelta(seconds=self.policy.review.undo_seconds),
                until=now + timedelta(days=days) if days else None,
            )
            state = author_states(conn, [author_id], self.policy, now)[author_id]
        return {"enforcement_id": enforcement_id, "author": state.out(), "undo_until": now + timedelta(seconds=self.policy.review.undo_seconds)}

    def undo(self, user: User, enforcement_id: int, *, why: str | None = None, now: datetime | None = None) -> dict[str, Any]:
        """Undo a moderator's action on an account: their own within the undo window, any
        for an admin. A threshold's action is undone by removing its strikes, or on appeal."""
        now = now or utcnow()
        with self._tx() as conn:
            row = conn.execute(select(enforcements).where(enforcements.c.id == enforcement_id)).first()
            if row is None:
                raise NotFound(f"no account action {enforcement_id}")
            if row.source != "moderator":
                raise Conflict(f"action {enforcement_id} was taken by the strike thresholds: overturn its rejection, or its appeal")
            if not user.is_admin:
                if row.actor != user.actor:
                    raise Forbidden("a moderator can undo only their own actions")
                if (now - aware(row.created_at)).total_seconds() > self.policy.review.undo_seconds:
                    raise Conflict(f"the undo window of {self.policy.review.undo_seconds:g} s has passed; ask an admin")
            if not undo_action(conn, self.policy, row, actor=user.actor, why=why or "undone", now=now):
                raise Conflict(f"action {enforcement_id} is already undone")
            state = author_states(conn, [row.author_id], self.policy, now)[row.author_id]
        return {"enforcement_id": enforcement_id, "author": state.out()}

    def author(self, author_id: str, *, api_key_id: int | None = None, now: datetime | None = None) -> dict[str, Any]:
        """An author's history: items, their decisions, strikes, reports made and received,
        account actions and appeals. For an API key (`api_key_id`), only what concerns the
        items it sent and the reports and appeals it filed; the state and the account
        actions are the account's, whole. Unknown to a key that sent none of theirs."""
        now = now or utcnow()
        i = items.c
        mine = (i.author_id == author_id) if api_key_id is None else (i.author_id == author_id) & (i.api_key_id == api_key_id)
        with self._tx() as conn:
            rows = conn.execute(
                select(i.pk, i.id, i.type, i.context, i.first_decision, i.human_decision, i.final_decision, i.status, i.created_at)
                .where(mine)
                .order_by(i.created_at.desc(), i.pk.desc())
                .limit(HISTORY_LIMIT)
            ).all()
            made = _key_filter(select(member_reports).where(member_reports.c.reporter_id == author_id), member_reports, api_key_id)
            reports_made = conn.execute(made.order_by(member_reports.c.pk.desc()).limit(HISTORY_LIMIT)).all()
            if not rows and not reports_made:
                raise NotFound(f"no author {author_id!r}")
            pks = [r.pk for r in rows]
            ids = {r.pk: r.id for r in rows}
            history = conn.execute(select(decisions).where(decisions.c.item_pk.in_(pks)).order_by(decisions.c.id)).all() if pks else []
            strike_rows = conn.execute(
                select(strikes).where(strikes.c.author_id == author_id).order_by(strikes.c.id.desc()).limit(HISTORY_LIMIT)
            ).all()
            actions = conn.execute(
                select(enforcements).where(enforcements.c.author_id == author_id).order_by(enforcements.c.id.desc()).limit(HISTORY_LIMIT)
            ).all()
            received = _key_filter(
                select(member_reports, report_cases.c.target_kind, report_cases.c.target_id)
                .join(report_cases, report_cases.c.id == member_reports.c.case_id)
                .where(
                    (report_cases.c.target_id == author_id) & (report_cases.c.target_kind == "author")
                    | report_cases.c.item_pk.in_(pks) & (report_cases.c.target_kind == "item")
                ),
                member_reports,
                api_key_id,
            )
            reports_received = conn.execute(received.order_by(member_reports.c.pk.desc()).limit(HISTORY_LIMIT)).all()
            appeal_rows = conn.execute(
                _key_filter(appeals_with_item().where(appeals.c.author_id == author_id), appeals, api_key_id)
                .order_by(appeals.c.pk.desc())
                .limit(HISTORY_LIMIT)
            ).all()
            state = author_states(conn, [author_id], self.policy, now)[author_id]
            strike_items = {r.item_pk for r in strike_rows} - set(ids)
            if strike_items:
                ids |= dict(conn.execute(select(i.pk, i.id).where(i.pk.in_(list(strike_items)))).all())
        by_item: dict[int, list[Any]] = defaultdict(list)
        for d in history:
            by_item[d.item_pk].append(d)
        return {
            "author_id": author_id,
            "author": state.out(),
            "items": [
                {
                    "id": r.id,
                    "type": r.type,
                    "context": r.context,
                    "status": r.status,
                    "first_decision": r.first_decision,
                    "human_decision": r.human_decision,
                    "final_decision": r.final_decision,
                    "created_at": aware(r.created_at),
                    "decisions": [
                        {
                            "decision_id": d.id,
                            "kind": d.kind,
                            "decision": d.decision,
                            "actor": d.actor,
                            "undone": bool(d.undone),
                            "at": aware(d.created_at),
                        }
                        for d in by_item[r.pk]
                    ],
                }
                for r in rows
            ],
            "strikes": [_strike_out(s, ids, now) for s in strike_rows if api_key_id is None or s.item_pk in set(pks)],
            "enforcements": [enforcement_out(a) for a in actions],
            "reports_made": [_report_out(r) for r in reports_made],
            "reports_received": [_report_out(r) for r in reports_received],
            "appeals": [appeal_out(a) for a in appeal_rows],
        }


def _key_filter(query: Any, table: Any, api_key_id: int | None) -> Any:
    return query if api_key_id is None else query.where(table.c.api_key_id == api_key_id)


def _strike_out(s: Any, ids: dict[int, str], now: datetime) -> dict[str, Any]:
    expires = aware(s.expires_at)
    return {
        "id": s.id,
        "item_id": ids.get(s.item_pk),
        "decision_id": s.decision_id,
        "category": s.category,
        "weight": s.weight,
        "created_at": aware(s.created_at),
        "expires_at": expires,
        "live": s.removed_at is None and expires > now,
        "removed_at": aware(s.removed_at),
        "removed_why": s.removed_why,
    }


def enforcement_out(a: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "action": a.action,
        "source": a.source,
        "actor": a.actor,
        "note": a.note,
        "category": a.category,
        "threshold": a.threshold,
        "strikes": a.strikes,
        "until": aware(a.until),
        "statement": a.statement,
        "created_at": aware(a.created_at),
        "undone_at": aware(a.undone_at),
        "undone_by": a.undone_by,
        "undone_why": a.undone_why,
    }


def _report_out(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "reporter_id": r.reporter_id,
        "category": r.category,
        "status": r.status,
        "case_id": r.case_id,
        "created_at": aware(r.created_at),
        "decided_at": aware(r.decided_at),
    }


def appeals_with_item() -> Any:
    """Appeals with their item's id (`appeal_out`'s rows)."""
    return select(appeals, items.c.id.label("item_id")).join(items, items.c.pk == appeals.c.item_pk)


def appeal_out(a: Any) -> dict[str, Any]:
    return {
        "id": a.id,
        "author_id": a.author_id,
        "target_kind": a.target_kind,
        "item_id": a.item_id if a.target_kind == "item" else None,
        "enforcement_id": a.enforcement_id,
        "decision_id": a.decision_id,
        "decision_by": a.decision_by,
        "category": a.category,
        "statement": a.statement,
        "status": a.status,
        "in_review": a.status == "open",
        "task_id": a.task_id,
        "created_at": aware(a.created_at),
        "decided_at": aware(a.decided_at),
        "decided_by": a.decided_by,
        "note": a.note,
    }
