"""Appeals: a member contests a refusal of their item, or an action on their account.

Only the author may appeal, once per decision (the decision in force when they appeal),
within the policy's `statements.appeal_days` of it: the window their statement of reasons
announced (`Statements.appeal_until`, from `policy.decision_time`). An appeal waits in the
`appeals` queue and is decided by a moderator other than the one whose decision it
contests (four-eyes: they are never given the task, and cannot decide it), never by the
automation.

`uphold` keeps the decision. `overturn` replaces it and undoes what it did: an item's
rejection becomes a moderator's approval, its strike is removed (with the account actions
that would not have been taken without it), the bank entry its ban created is removed
(pending: cancelled; applied: returned for `Banks.remove_entry`); an account action is
undone. Each is one transaction with its audit row (the appeal, the outcome, both
moderators) and an `appeal.decided` event for the key that filed the appeal.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection

from moderation import webhooks
from moderation.auth import User
from moderation.errors import Conflict, Forbidden, InvalidInput, NotFound
from moderation.members.enforcement import (
    appeal_out,
    appeals_with_item,
    author_states,
    remove_strikes,
    undo_action,
)
from moderation.policy import decision_time
from moderation.review.tasks import QueuePart, refusal
from moderation.store.repository import aware, utcnow
from moderation.store.tables import (
    api_keys,
    appeals,
    audit_log,
    bank_changes,
    decisions,
    enforcements,
    items,
    review_tasks,
)

APPEAL_DECISIONS = ("uphold", "overturn")
_OUTCOME = {"uphold": "upheld", "overturn": "overturned"}


@dataclass(frozen=True)
class NewAppeal:
    """An appeal as the API validated it: of an item's decision or of an account action."""

    id: str
    author_id: str
    statement: str
    item_id: str | None = None
    enforcement_id: int | None = None

    def content_sha256(self, api_key_id: int) -> str:
        parts = [api_key_id, self.author_id, self.item_id, self.enforcement_id, self.statement]
        return hashlib.sha256(json.dumps(parts, ensure_ascii=True).encode()).hexdigest()


@dataclass(frozen=True)
class AppealDecided:
    appeal_id: str
    task_id: int
    decision: str
    item_id: str
    enforcement_id: int | None
    final_decision: str | None
    strikes_removed: list[int] = field(default_factory=list)
    enforcements_undone: list[int] = field(default_factory=list)
    bank_entries_to_remove: list[tuple[str, int]] = field(default_factory=list)


class Appeals(QueuePart):
    """Filing appeals, deciding them on their review task, and reading them."""

    def file(self, api_key_id: int, appeal: NewAppeal, *, now: datetime | None = None) -> tuple[dict[str, Any], bool]:
        """Store an appeal and its review task; returns (its state, whether it was stored
        before: the same id and content replays, other content is a Conflict). Refused whole,
        nothing stored, with the reason named: an unknown item or action, another member's,
        an approved or undecided item, a decision already appealed, a closed window."""
        if (appeal.item_id is None) == (appeal.enforcement_id is None):
            raise InvalidInput("an appeal names exactly one of item_id and enforcement_id", fault="target")
        now = now or utcnow()
        digest = appeal.content_sha256(api_key_id)
        a = appeals.c
        with self._tx() as conn:
            stored = conn.execute(select(a.content_sha256, a.api_key_id).where(a.id == appeal.id)).first()
            if stored is not None:
                if stored.content_sha256 != digest:
                    raise Conflict(f"appeal {appeal.id!r} was already filed with other content", fault="id_reused")
                return _view(conn, appeal.id), True
            target = self._item_target(conn, api_key_id, appeal) if appeal.item_id is not None else self._action_target(conn, api_key_id, appeal)
            until = self.policy.statements.appeal_until(target["decided_at"]) if self.policy.statements else target["decided_at"]
            if now > until:
                raise Conflict(
                    f"the window to appeal this decision closed on {until.isoformat()} "
                    f"({self.policy.statements.appeal_days if self.policy.statements else 0} days)",
                    fault="window_closed",
                    until=until.isoformat(),
                )
            earlier = conn.execute(select(a.id).where(a.decision_ref == target["ref"])).first()
            if earlier is not None:
                raise Conflict(
                    f"this decision was already appealed (appeal {earlier.id!r}): once per decision", fault="already_appealed", appeal_id=earlier.id
                )
            queue = self.policy.appeals.queue
            task_id = int(
                conn.execute(
                    insert(review_tasks).values(
                        item_pk=target["item_pk"], queue=queue, priority=self.policy.queue_rule(queue).priority, status="open", created_at=now
                    )
                ).inserted_primary_key[0]
            )
            conn.execute(
                insert(appeals).values(
                    id=appeal.id,
                    api_key_id=api_key_id,
                    author_id=appeal.author_id,
                    target_kind=target["kind"],
                    item_pk=target["item_pk"],
                    enforcement_id=appeal.enforcement_id,
                    decision_id=target.get("decision_id"),
                    decision_ref=target["ref"],
                    decision_by=target["by"],
                    category=target["category"],
                    rules=target["rules"],
                    statement=appeal.statement,
                    content_sha256=digest,
                    status="open",
                    task_id=task_id,
                    created_at=now,
                )
            )
            conn.execute(
                insert(audit_log).values(
                    at=now,
                    actor=f"api-key:{api_key_id}",
                    action="appeal.filed",
                    target=appeal.id[:256],
                    detail={
                        "author_id": appeal.author_id,
                        "item_id": appeal.item_id,
                        "enforcement_id": appeal.enforcement_id,
                        "decision": target["ref"],
                        "decision_by": target["by"],
                        "task_id": task_id,
                    },
                )
            )
            return _view(conn, appeal.id), False

    def _item_target(self, conn: Connection, api_key_id: int, appeal: NewAppeal) -> dict[str, Any]:
        item = conn.execute(select(items).where(items.c.id == appeal.item_id, items.c.api_key_id == api_key_id)).first()
        if item is None:
            raise NotFound(f"no item {appeal.item_id!r} to appeal: an appeal names an item this key sent to /v1/moderate", fault="unknown_item")
        if item.author_id != appeal.author_id:
            raise Forbidden("only the author of the item may appeal its decision", fault="not_the_author")
        if item.final_decision is None:
            raise Conflict(f"item {item.id!r} is waiting for a moderator: there is no decision to appeal yet", fault="not_decided")
        if item.final_decision != "reject":
            raise Conflict(f"item {item.id!r} was approved: only a refusal can be appealed", fault="not_refused")
        d = decisions.c
        kind = "human" if item.human_decision is not None else "auto"
        row = conn.execute(select(decisions).where(d.item_pk == item.pk, d.kind == kind, d.undone.is_(False)).order_by(d.id.desc()).limit(1)).one()
        human = conn.execute(
            select(d.created_at).where(d.item_pk == item.pk, d.kind == "human", d.undone.is_(False)).order_by(d.id.desc()).limit(1)
        ).scalar()
        state = {
            "context": item.context,
            "reasons": item.reasons,
            "human_decision": item.human_decision,
            "human_decided_at": aware(human),
            "updated_at": aware(item.updated_at),
            "created_at": aware(item.created_at),
        }
        rules = sorted({r.get("detector") for r in item.reasons or [] if r.get("source") == "rule" and r.get("detector")})
        return {
            "kind": "item",
            "item_pk": item.pk,
            "decision_id": row.id,
            "ref": f"decision:{row.id}",
            "by": row.actor or "policy",
            "decided_at": decision_time(state),
            "category": self.policy.ground(state),
            "rules": rules,
        }

    def _action_target(self, conn: Connection, api_key_id: int, appeal: NewAppeal) -> dict[str, Any]:
        e = conn.execute(select(enforcements).where(enforcements.c.id == appeal.enforcement_id)).first()
        sent = (
            e is not None
            and conn.execute(select(items.c.pk).where(items.c.author_id == e.author_id, items.c.api_key_id == api_key_id).limit(1)).first()
            is not None
        )
        if e is None or not sent:
            raise NotFound(f"no account action {appeal.enforcement_id} to appeal", fault="unknown_enforcement")
        if e.author_id != appeal.author_id:
            raise Forbidden("only the member the action was taken on may appeal it", fault="not_the_author")
        if e.action == "lift" or e.undone_at is not None:
            raise Conflict(f"account action {e.id} restricts nothing now: nothing to appeal", fault="not_in_force")
        return {
            "kind": "enforcement",
            "item_pk": e.item_pk,
            "ref": f"enforcement:{e.id}",
            "by": e.actor,
            "decided_at": aware(e.created_at),
            "category": e.category,
            "rules": [],
        }

    def is_appeal_task(self, task_id: int) -> bool:
        with self._tx() as conn:
            return conn.execute(select(appeals.c.pk).where(appeals.c.task_id == task_id)).first() is not None

    def decide(self, user: User, task_id: int, decision: str, *, note: str | None = None, now: datetime | None = None) -> AppealDecided:
        """Uphold or overturn the appeal of a task, as a moderator other than the one whose
        decision it contests."""
        if decision not in APPEAL_DECISIONS:
            raise InvalidInput(f"an appeal is decided with {' or '.join(APPEAL_DECISIONS)}, not {decision!r}")
        now = now or utcnow()
        t = review_tasks.c
        policy = self.policy
        with self._tx() as conn:
            appeal = conn.execute(select(appeals).where(appeals.c.task_id == task_id)).first()
            if appeal is None:
                raise NotFound(f"no appeal for task {task_id}")
            if appeal.decision_by == user.actor:
                raise Forbidden("you made the decision under appeal: another moderator decides it (four-eyes)", fault="four_eyes")
            res = conn.execute(
                update(review_tasks)
                .where(t.id == task_id, t.status == "open", or_(t.lease_owner == user.actor, t.lease_owner.is_(None), t.lease_expires_at < now))
                .values(status="done", decided_at=now, lease_owner=user.actor, lease_expires_at=None)
            )
            if res.rowcount != 1:
                raise refusal(conn, task_id, user, now)
            outcome = _OUTCOME[decision]
            conn.execute(update(appeals).where(appeals.c.pk == appeal.pk).values(status=outcome, decided_at=now, decided_by=user.actor, note=note))
            item = conn.execute(select(items).where(items.c.pk == appeal.item_pk)).one()
            if decision == "overturn" and appeal.target_kind == "item" and not _in_force(conn, appeal, item):
                # raising rolls the task's claim back with the rest
                raise Conflict("the decision under appeal is no longer in force (undone or replaced): nothing to overturn",
                               fault="not_in_force")
            undone: dict[str, list[int]] = {"strikes": [], "enforcements": []}
            to_remove: list[tuple[str, int]] = []
            decision_id = None
            if decision == "overturn" and appeal.target_kind == "item":
                decision_id, to_remove, undone = self._overturn_item(conn, user, appeal, item, task_id, note, now)
            elif decision == "overturn":
                row = conn.execute(select(enforcements).where(enforcements.c.id == appeal.enforcement_id)).one()
                if undo_action(conn, policy, row, actor=user.actor, why=f"appeal {appeal.id} overturned", now=now):
                    undone["enforcements"].append(int(row.id))
            final = conn.execute(select(items.c.final_decision).where(items.c.pk == item.pk)).scalar()
            state = author_states(conn, [appeal.author_id], policy, now)[appeal.author_id]
            event = self._outcome_event(conn, appeal, item, outcome, final, state.out(), user, now)
            conn.execute(
                insert(audit_log).values(
                    at=now,
                    actor=user.actor,
                    action=f"appeal.{outcome}",
                    target=appeal.id[:256],
                    detail={
                        "appeal_id": appeal.id,
                        "task_id": task_id,
                        "item_id": item.id,
                        "decision": appeal.decision_ref,
                        "decision_by": appeal.decision_by,
                        "decided_by": user.actor,
                        "note": note,
                        "decision_id": decision_id,
                        "strikes_removed": undone["strikes"],
                        "enforcements_undone": undone["enforcements"],
                        "bank_entries_removed": to_remove,
                        "webhook_event": event,
                    },
                )
            )
        return AppealDecided(
            appeal.id, task_id, decision, item.id, appeal.enforcement_id, final, undone["strikes"], undone["enforcements"], to_remove
        )

    def _overturn_item(
        self, conn: Connection, user: User, appeal: Any, item: Any, task_id: int, note: str | None, now: datetime
    ) -> tuple[int, list[tuple[str, int]], dict[str, list[int]]]:
        """The item's rejection becomes a moderator's approval; its strike, bank entry and
        the account actions it caused go."""
        reason = {
            "source": "human",
            "actor": user.actor,
            "decision": "approve",
            "note": note,
            "label": None,
            "queue": self.policy.appeals.queue,
            "appeal": appeal.id,
        }
        decision_id = int(
            conn.execute(
                insert(decisions).values(
                    item_pk=item.pk,
                    kind="human",
                    decision="approve",
                    reasons=[reason],
                    actor=user.actor,
                    note=note,
                    task_id=task_id,
                    undone=False,
                    created_at=now,
                )
            ).inserted_primary_key[0]
        )
        conn.execute(
            update(items).where(items.c.pk == item.pk).values(human_decision="approve", final_decision="approve", status="decided", updated_at=now)
        )
        to_remove: list[tuple[str, int]] = []
        for ch in conn.execute(select(bank_changes).where(bank_changes.c.decision_id == appeal.decision_id)).all():
            if ch.applied_at is None and ch.cancelled_at is None:
                conn.execute(update(bank_changes).where(bank_changes.c.id == ch.id).values(cancelled_at=now))
            elif ch.entry_id is not None:
                to_remove.append((ch.bank, int(ch.entry_id)))
        seen = self.policy.bank_for_decision(item.type, "approve", ban=False) if item.blob_sha256 else None
        if seen:
            due = now + timedelta(seconds=self.policy.review.undo_seconds)
            conn.execute(insert(bank_changes).values(decision_id=decision_id, item_pk=item.pk, bank=seen, actor=user.actor, due_at=due))
        undone = remove_strikes(conn, self.policy, item_pk=item.pk, actor=user.actor, why=f"appeal {appeal.id} overturned", now=now)
        return decision_id, to_remove, undone

    def _outcome_event(
        self, conn: Connection, appeal: Any, item: Any, outcome: str, final: str | None, author: dict[str, Any], user: User, now: datetime
    ) -> str | None:
        url = conn.execute(select(api_keys.c.webhook_url).where(api_keys.c.id == appeal.api_key_id)).scalar()
        if not url:
            return None
        payload = {
            "type": "appeal.decided",
            "appeal_id": appeal.id,
            "author_id": appeal.author_id,
            "outcome": outcome,
            "item_id": item.id if appeal.target_kind == "item" else None,
            "enforcement_id": appeal.enforcement_id,
            "final_decision": final if appeal.target_kind == "item" else None,
            "author": author,
            "decided_by": user.actor,
            "decided_at": now,
            "appealed_at": aware(appeal.created_at),
        }
        return webhooks.enqueue(conn, item_pk=item.pk, decision_id=None, url=url, api_key_id=appeal.api_key_id, payload=payload, not_before=now)

    def appeal(self, api_key_id: int | None, appeal_id: str) -> dict[str, Any]:
        """An appeal's state, for the key that filed it (None: a moderator)."""
        with self._tx() as conn:
            owner = conn.execute(select(appeals.c.api_key_id).where(appeals.c.id == appeal_id)).first()
            if owner is None or (api_key_id is not None and owner.api_key_id != api_key_id):
                raise NotFound(f"no appeal with id {appeal_id!r}")
            return _view(conn, appeal_id)

    def of_task(self, task_id: int) -> dict[str, Any]:
        """What a moderator reads to decide an appeal task: the appeal and the decision it contests."""
        with self._tx() as conn:
            appeal_id = conn.execute(select(appeals.c.id).where(appeals.c.task_id == task_id)).scalar()
            if appeal_id is None:
                raise NotFound(f"no appeal for task {task_id}")
            view = _view(conn, appeal_id)
            if view["enforcement_id"] is not None:
                e = conn.execute(select(enforcements).where(enforcements.c.id == view["enforcement_id"])).one()
                view["enforcement"] = {
                    "action": e.action,
                    "source": e.source,
                    "actor": e.actor,
                    "note": e.note,
                    "until": aware(e.until),
                    "strikes": e.strikes,
                    "created_at": aware(e.created_at),
                }
        return view


def _in_force(conn: Connection, appeal: Any, item: Any) -> bool:
    """Whether the item's decision under appeal is still the one in force."""
    d = decisions.c
    latest = conn.execute(
        select(d.id).where(d.item_pk == item.pk, d.kind == ("human" if item.human_decision is not None else "auto"), d.undone.is_(False))
        .order_by(d.id.desc()).limit(1)
    ).scalar()
    return item.final_decision == "reject" and latest == appeal.decision_id


def _view(conn: Connection, appeal_id: str) -> dict[str, Any]:
    return appeal_out(conn.execute(appeals_with_item().where(appeals.c.id == appeal_id)).one())
