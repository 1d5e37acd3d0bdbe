"""Human decisions on review tasks: decide (one, bulk, a photo with its near-duplicates) and
undo. Each is one transaction: the task, the decision row, the item's human and final
decision, an outbox event, a pending bank change, an audit row.

A human decision becomes the item's final decision. Its effects outside the database
(the webhook, the bank change) wait out the undo window, so an undo within it leaves
no trace outside; an admin's later undo sends a correcting event and removes the bank
entry.

A rejected photo is banned (it joins `banned`: every later copy, from anyone, is
rejected) when the moderator asks for it ("reject and ban image"), or, when they do not
say, as the policy rules for the reasons that sent it to review (`Policy.rejection_bans`:
content bans, a duplicate never does). The choice is recorded in the decision's reason
and the audit row (`ban`, `ban_by`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.engine import Connection

from moderation import webhooks
from moderation.auth import User
from moderation.errors import Conflict, Forbidden, InvalidInput, NotFound
from moderation.members.enforcement import count_strike, remove_strikes
from moderation.review.duplicates import open_duplicates
from moderation.review.qa import TRAINING_LABELS, sampled
from moderation.review.tasks import BLIND_QUEUES, SECOND_QUEUE, QueuePart, refusal
from moderation.store.repository import aware, utcnow
from moderation.store.tables import (
    api_keys,
    appeals,
    audit_log,
    bank_changes,
    decisions,
    items,
    report_cases,
    review_tasks,
)

HUMAN_DECISIONS = ("approve", "reject")


@dataclass(frozen=True)
class Decided:
    decision_id: int
    task_id: int
    item_id: str
    decision: str
    undo_until: datetime
    banned: bool = False  # a rejection that bans the photo once the undo window has passed


@dataclass(frozen=True)
class Undone:
    decision_id: int
    task_id: int | None
    item_id: str
    bank_entries_to_remove: list[tuple[str, int]]


class Decisions(QueuePart):
    """Deciding and undoing review tasks."""

    def decide(
        self,
        user: User,
        task_id: int,
        decision: str,
        *,
        note: str | None = None,
        label: str | None = None,
        apply_to_duplicates: bool = False,
        ban: bool | None = None,
        reason_code: str | None = None,
        now: datetime | None = None,
    ) -> list[Decided]:
        """Decide a task (and, on request, the open tasks of its near-duplicates).
        Returns one `Decided` per task decided, the asked one first.

        `ban`: None, a rejected photo is banned as the policy rules for its reasons; True,
        "reject and ban image" (a rejection of a photo only); False, reject without
        banning. The near-duplicates decided with it get the same `ban`.

        `reason_code`: one of the policy's `review.decision_reasons` for the item's
        categories; with the note, it goes to the decision, the audit row, the webhook and
        the member's statement."""
        _check(decision, label, ban)
        now = now or utcnow()
        first = self._decide_one(user, task_id, decision, note, label, now, strict=True, ban=ban, reason_code=reason_code)
        assert first is not None
        out = [first]
        if apply_to_duplicates:
            with self._tx() as conn:
                photo = conn.execute(
                    select(review_tasks.c.id, items.c.features)
                    .join(items, items.c.pk == review_tasks.c.item_pk)
                    .where(review_tasks.c.id == task_id, items.c.type == "photo")
                ).one_or_none()
                duplicates = open_duplicates(conn, self.policy.hash_matching.phash_max_distance, [photo]).get(task_id, []) if photo and (photo.features or {}).get("phash") else []
            for d in duplicates:
                extra = self._decide_one(user, d["task_id"], decision, note or f"near-duplicate of {first.item_id}", label, now, strict=False, ban=ban, reason_code=reason_code)
                if extra is not None:
                    out.append(extra)
        return out

    def bulk_decide(
        self, user: User, task_ids: Sequence[int], decision: str, note: str | None = None, *, ban: bool | None = None, reason_code: str | None = None
    ) -> dict[str, Any]:
        """Each task is decided on its own: one refused task (lost lease; a text asked to be
        banned) does not sink the rest."""
        if not 1 <= len(task_ids) <= 200:
            raise InvalidInput("task_ids: 1 to 200 tasks")
        _check(decision, None, ban)
        decided, refused = [], []
        for tid in task_ids:
            try:
                decided.extend(self.decide(user, int(tid), decision, note=note, ban=ban, reason_code=reason_code))
            except (Conflict, NotFound, InvalidInput) as exc:
                refused.append({"task_id": tid, "status": exc.status, "detail": exc.detail})
        return {"decided": decided, "refused": refused}

    def _decide_one(
        self, user: User, task_id: int, decision: str, note: str | None, label: str | None, now: datetime, *, strict: bool, ban: bool | None, reason_code: str | None = None
    ) -> Decided | None:
        t = review_tasks.c
        s = self.policy.review
        undo_until = now + timedelta(seconds=s.undo_seconds)
        with self._tx() as conn:
            # The write comes first: it takes SQLite's write lock before anything is read,
            # and on PostgreSQL the row lock, so two deciders serialize here.
            # a members' report case is upheld or dismissed (`moderation.members.reports`), never
            # approved or rejected here: not even in bulk or as a near-duplicate
            report_case = select(report_cases.c.id).where(report_cases.c.task_id == t.id).exists()
            # nor an appeal, upheld or overturned by another moderator (`moderation.members.appeals`)
            appeal = select(appeals.c.pk).where(appeals.c.task_id == t.id).exists()
            res = conn.execute(
                update(review_tasks)
                .where(
                    t.id == task_id,
                    t.status == "open",
                    or_(t.lease_owner == user.actor, t.lease_owner.is_(None), t.lease_expires_at < now),
                    ~report_case,
                    ~appeal,
                )
                .values(status="done", decided_at=now, lease_owner=user.actor, lease_expires_at=None)
            )
            if res.rowcount != 1:
                if not strict:
                    return None
                if conn.execute(select(report_cases.c.id).where(report_cases.c.task_id == task_id)).first() is not None:
                    raise Conflict(f"task {task_id} is a members' report case: decide it with uphold or dismiss")
                if conn.execute(select(appeals.c.pk).where(appeals.c.task_id == task_id)).first() is not None:
                    raise Conflict(f"task {task_id} is an appeal: decide it with uphold or overturn")
                raise refusal(conn, task_id, user, now)
            task = conn.execute(select(review_tasks).where(t.id == task_id)).one()
            item = conn.execute(select(items).where(items.c.pk == task.item_pk)).one()
            kind = "qa" if task.queue in BLIND_QUEUES else "human"
            reason = {"source": "human", "actor": user.actor, "decision": decision, "note": note, "label": label, "queue": task.queue}
            if reason_code is not None:
                offered = s.reasons_for(r.get("category", "") for r in item.reasons or [])
                if reason_code not in offered:
                    if not strict:  # a near-duplicate of other categories: decided without the code
                        reason_code = None
                    else:
                        raise InvalidInput(f"reason_code {reason_code!r} is not one the policy offers for this item ({', '.join(offered) or 'none'})")
                reason["reason_code"] = reason_code
            # Raising rolls the task's claim back with the rest. A blind near-duplicate decided
            # along with the asked task is decided without the ban, as blind decisions are.
            if ban and (item.type != "photo" or (kind != "human" and strict)):
                raise InvalidInput(f"task {task_id} is a {item.type if kind == 'human' else task.queue} task: it cannot ban a photo")
            # QA and second reviews never change an outcome, so they never touch a bank either.
            bank = self.policy.bank_for_decision(item.type, decision, ban=self._bans(item, ban)) if kind == "human" and item.blob_sha256 else None
            if decision == "reject" and item.type == "photo" and kind == "human":
                if ban and bank is None:
                    raise InvalidInput("the policy defines no `banned` bank: no photo can be banned")
                reason |= {"ban": bank is not None, "ban_by": "policy" if ban is None else "moderator"}
            decision_id = int(
                conn.execute(
                    insert(decisions).values(
                        item_pk=item.pk, kind=kind, decision=decision, reasons=[reason], actor=user.actor, note=note, task_id=task_id, undone=False, created_at=now
                    )
                ).inserted_primary_key[0]
            )
            detail: dict[str, Any] = {"task_id": task_id, "decision_id": decision_id, "decision": decision, "note": note, "queue": task.queue}
            if reason.get("reason_code"):
                detail["reason_code"] = reason["reason_code"]
            if "ban" in reason:
                detail |= {"ban": reason["ban"], "ban_by": reason["ban_by"]}
            if kind == "human":
                conn.execute(
                    update(items)
                    .where(items.c.pk == item.pk)
                    .values(human_decision=decision, final_decision=decision, status="decided", updated_at=now)
                )
                event = self._enqueue_webhook(conn, item, decision_id, decision, user, note, now, undo_until, "item.decided", reason.get("reason_code"))
                if event:
                    detail["webhook_event"] = event
                if bank:
                    conn.execute(insert(bank_changes).values(decision_id=decision_id, item_pk=item.pk, bank=bank, actor=user.actor, due_at=undo_until))
                    detail["bank"] = bank
                if decision == "reject":
                    # a strike against the author; its account actions wait out the undo window too
                    taken = count_strike(conn, self.policy, item=item, decision_id=decision_id, actor=user.actor, now=now,
                                         not_before=undo_until, category=self.policy.ground({"context": item.context, "reasons": item.reasons}))
                    if taken:
                        detail["enforcements"] = taken
                if sampled(item.id, "second", s.qa_second_review):
                    conn.execute(
                        insert(review_tasks).values(item_pk=item.pk, queue=SECOND_QUEUE, priority=8, status="open", created_at=now)
                    )
                    detail["second_review"] = True
            conn.execute(insert(audit_log).values(at=now, actor=user.actor, action=f"review.{kind}_decision", target=item.id[:256], detail=detail))
        return Decided(decision_id, task_id, item.id, decision, undo_until, bool(reason.get("ban")))

    def _bans(self, item: Any, ban: bool | None) -> bool:
        """Whether a rejection of `item` bans it: the moderator's word, else the policy's."""
        return self.policy.rejection_bans(item.context, item.reasons or []) if ban is None else ban

    def _enqueue_webhook(
        self, conn: Connection, item: Any, decision_id: int | None, final: str | None, user: User, note: str | None, now: datetime, not_before: datetime, kind: str,
        reason_code: str | None = None,
    ) -> str | None:
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
            "reasons": [{"source": "human", "actor": user.actor, "note": note} | ({"reason_code": reason_code} if reason_code else {})] + list(item.reasons or []),
            "decided_at": now,
            "created_at": aware(item.created_at),
            "policy_version": item.policy_version,
            # what the member is told (for a rejection): by a moderator when one decided,
            # else the automatic decision an undo restored
            "statement": self.policy.item_statement({
                "type": item.type, "context": item.context, "final_decision": final, "first_decision": item.first_decision,
                "human_decision": final if kind == "item.decided" else None, "reasons": item.reasons,
                "locale": item.locale, "human_decided_at": now, "created_at": aware(item.created_at),
            }),
        }
        if reason_code and payload["statement"] is not None:
            payload["statement"] = self._with_reason(payload["statement"], item, reason_code, note)
        return webhooks.enqueue(conn, item_pk=item.pk, decision_id=decision_id, url=url, api_key_id=key_id, payload=payload, not_before=not_before)

    def _with_reason(self, statement: dict[str, Any], item: Any, reason_code: str, note: str | None) -> dict[str, Any]:
        """The moderator's reason (its label in the statement's language) and note, added to
        the member's statement of reasons."""
        labels = self.policy.review.reasons_for(r.get("category", "") for r in item.reasons or []).get(reason_code, {})
        label = labels.get(statement.get("locale", "en")) or reason_code
        return statement | {"text": f"{statement['text']} {label}.", "decision_reason": {"code": reason_code, "label": label}, "note": note}

    def undo(self, user: User, decision_id: int, *, now: datetime | None = None, why: str | None = None) -> Undone:
        """Undo a human or QA decision. A moderator undoes their own within the undo
        window; an admin any, any time (from the audit log). The task is reopened and
        leased to the one who undid it."""
        with self._tx() as conn:
            return self.undo_in(conn, user, decision_id, now=now or utcnow(), why=why)

    def undo_in(self, conn: Connection, user: User, decision_id: int, *, now: datetime, why: str | None = None) -> Undone:
        """`undo` in the caller's transaction (a report case's undo takes its item's rejection back with it)."""
        s = self.policy.review
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
        undo_detail: dict[str, Any] = {}
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
            if row.decision == "reject":
                lifted = remove_strikes(conn, self.policy, decision_ids=[decision_id], actor=user.actor, why="decision undone", now=now)
                if lifted["strikes"]:
                    undo_detail["strikes_removed"] = lifted["strikes"]
                    undo_detail["enforcements_undone"] = lifted["enforcements"]
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
                at=now, actor=user.actor, action="review.undo", target=item.id[:256], detail={"decision_id": decision_id, "decision": row.decision, "by": row.actor, "why": why, "bank_entries_removed": to_remove} | undo_detail
            )
        )
        return Undone(decision_id, row.task_id, item.id, to_remove)


def _check(decision: str, label: str | None, ban: bool | None) -> None:
    if decision not in HUMAN_DECISIONS:
        raise InvalidInput(f"decision must be one of {', '.join(HUMAN_DECISIONS)}")
    if label is not None and label not in TRAINING_LABELS:
        raise InvalidInput(f"label must be one of {', '.join(TRAINING_LABELS)}")
    if ban and decision != "reject":
        raise InvalidInput("only a rejection can ban a photo")
