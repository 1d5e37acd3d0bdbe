"""Members' reports: a member reports an item (a message, a photo) or another member; the
reports on one target merge into one open case, which a moderator upholds or dismisses.

A report weighs what its reporter's record says (`reporter_weight`): the posterior odds,
under a Beta prior, that their next report is upheld. It is Discourse's reviewable score
in spirit (a flagger's accuracy and experience raise the weight of their flags), in a form
with one reading: 1 for a newcomer, 11 after ten upheld reports, 0.09 after ten dismissed
ones, so one report from a reliable reporter outweighs ten from one whose reports are
always dismissed. A reporter marked in bad faith weighs 0, and their open reports close.

A case's weight is the sum over its reporters (each counted once, at their heaviest
report); it orders the case's task in the `reports` queue (`Tasks._order`). A case on an
item not yet decided, or on an author, goes to a human as soon as it weighs anything; on an
item already decided, once it reaches the policy's `reports.reopen_weight`.

Deciding a case is one transaction: the task, the case, its reports, the reporters'
records, for an upheld item the item's human rejection (the same rows, webhook and bank
change as a moderator's rejection, undoable like one), an outcome event per report for the
reporting key's webhook, and an audit row. Filing a report and marking a reporter in bad
faith are one transaction each, audited too.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.engine import Connection

from moderation import webhooks
from moderation.auth import User
from moderation.errors import Conflict, Forbidden, InvalidInput, NotFound
from moderation.members.enforcement import count_strike
from moderation.policy import ReportSettings
from moderation.review.decisions import Decisions, Undone
from moderation.review.tasks import BLIND_QUEUES, QueuePart, refusal
from moderation.store.repository import aware, utcnow
from moderation.store.tables import (
    api_keys,
    audit_log,
    bank_changes,
    decisions,
    items,
    member_reports,
    report_cases,
    reporters,
    review_tasks,
    webhook_outbox,
)

TARGET_KINDS = ("item", "author")
REPORT_DECISIONS = ("uphold", "dismiss")
_OUTCOME = {"uphold": "upheld", "dismiss": "dismissed"}
# Context items a moderator is shown per case, across its reports.
MAX_CONTEXT_SHOWN = 100


def reporter_weight(upheld: int, dismissed: int, settings: ReportSettings, *, bad_faith: bool = False) -> float:
    """The weight of a reporter's next report: (upheld + a) / (dismissed + b), capped at
    `settings.max_weight`; 0 for a reporter in bad faith.

    With a Beta(a, b) prior over the share of a reporter's reports that moderators uphold,
    this is the posterior odds that the next one is upheld: it grows with accuracy and,
    at equal accuracy, with the number of outcomes seen (10 of 10 upheld weighs more
    than 1 of 1)."""
    if upheld < 0 or dismissed < 0:
        raise ValueError("upheld and dismissed are counts")
    if bad_faith:
        return 0.0
    odds = (upheld + settings.prior_upheld) / (dismissed + settings.prior_dismissed)
    return round(min(settings.max_weight, odds), 4)


@dataclass(frozen=True)
class NewReport:
    """A report as the API validated it."""

    id: str
    reporter_id: str
    target_kind: str  # item | author
    target_id: str
    category: str
    text: str | None = None
    context_item_ids: tuple[str, ...] = ()

    def content_sha256(self, api_key_id: int) -> str:
        """What idempotency compares: the same id from the same key with the same content."""
        parts = [api_key_id, self.reporter_id, self.target_kind, self.target_id, self.category, self.text, list(self.context_item_ids)]
        return hashlib.sha256(json.dumps(parts, ensure_ascii=True).encode()).hexdigest()


@dataclass(frozen=True)
class ReportDecided:
    case_id: int
    task_id: int
    decision: str
    target_kind: str
    target_id: str
    reports: int
    item_decision_id: int | None  # the item's human rejection an uphold made, undoable like any
    undo_until: datetime


class MemberReports(QueuePart):
    """Filing reports, deciding cases, marking reporters in bad faith, and what each shows."""

    @property
    def settings(self) -> ReportSettings:
        return self.policy.reports

    # -- filing ------------------------------------------------------------------------

    def check(self, api_key_id: int, report: NewReport, inline: Mapping[str, str]) -> None:
        """`file`'s refusals, read-only, counting `inline` items (id -> author), about to be
        moderated, as sent: the API checks a report before moderating its inline context,
        so a refused report leaves none of it behind. An id already filed passes: `file`
        replays it or refuses it."""
        self._check_fields(report)
        with self._tx() as conn:
            if conn.execute(select(member_reports.c.id).where(member_reports.c.id == report.id)).first() is None:
                self._validate(conn, api_key_id, report, inline)

    def file(self, api_key_id: int, report: NewReport, *, now: datetime | None = None) -> tuple[dict[str, Any], bool]:
        """Store a report in its target's open case; returns (the report's state, whether it
        was stored before: the same id and content replays it, other content is a Conflict).
        Refused whole, nothing stored: an unknown category, a target or context item this
        key did not submit, a member reporting themselves."""
        self._check_fields(report)
        digest = report.content_sha256(api_key_id)
        for attempt in range(3):
            try:
                return self._file(api_key_id, report, digest, now or utcnow())
            except Conflict as exc:
                # A concurrent first report on the same target opened its case (the unique
                # open-case index refused ours): go again and join it. Not for this id's own conflict.
                if "report_id" in exc.extra or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _check_fields(self, report: NewReport) -> None:
        if report.target_kind not in TARGET_KINDS:
            raise InvalidInput(f"target is an item_id or an author_id, not {report.target_kind!r}")
        known = self.settings.categories
        if report.category not in known:
            raise InvalidInput(f"unknown category {report.category!r}; known: {', '.join(known)}", fault="category")

    def _validate(self, conn: Connection, api_key_id: int, report: NewReport, inline: Mapping[str, str]) -> Any:
        """The target's anchor item (None when it is only among `inline`); raises what refuses the report."""
        if (report.target_kind == "item" and report.target_id in inline) or (
            report.target_kind == "author" and report.target_id in inline.values()
        ):
            anchor, author = None, inline[report.target_id] if report.target_kind == "item" else report.target_id
        else:
            anchor = _target(conn, api_key_id, report)
            author = anchor.author_id
        if author == report.reporter_id:
            raise InvalidInput("a member cannot report themselves", fault="self_report")
        _check_context(conn, api_key_id, tuple(i for i in report.context_item_ids if i not in inline))
        return anchor

    def _file(self, api_key_id: int, report: NewReport, digest: str, now: datetime) -> tuple[dict[str, Any], bool]:
        s = self.settings
        with self._tx() as conn:
            stored = conn.execute(select(member_reports.c.content_sha256).where(member_reports.c.id == report.id)).first()
            if stored is not None:
                if stored.content_sha256 != digest:
                    raise Conflict(f"report {report.id!r} was already filed with other content", report_id=report.id)
                return _report_view(conn, report.id), True
            anchor = self._validate(conn, api_key_id, report, {})
            record = conn.execute(select(reporters).where(reporters.c.reporter_id == report.reporter_id)).first()
            if record is None:
                conn.execute(insert(reporters).values(reporter_id=report.reporter_id, upheld=0, dismissed=0, updated_at=now))
                weight = reporter_weight(0, 0, s)
            else:
                weight = reporter_weight(record.upheld, record.dismissed, s, bad_faith=record.bad_faith_at is not None)
            case = conn.execute(
                select(report_cases).where(
                    report_cases.c.target_kind == report.target_kind,
                    report_cases.c.target_id == report.target_id,
                    report_cases.c.status == "open",
                )
            ).first()
            if case is None:
                case_id = int(conn.execute(insert(report_cases).values(
                    target_kind=report.target_kind, target_id=report.target_id, item_pk=anchor.pk, status="open",
                    weight=0.0, created_at=now, updated_at=now,
                )).inserted_primary_key[0])
                task_id = None
            else:
                case_id, task_id = int(case.id), case.task_id
            conn.execute(insert(member_reports).values(
                id=report.id, api_key_id=api_key_id, reporter_id=report.reporter_id, case_id=case_id,
                category=report.category, text=report.text, context_item_ids=list(report.context_item_ids),
                content_sha256=digest, weight=weight, status="open", created_at=now,
            ))
            total = _case_weight(conn, case_id)
            conn.execute(update(report_cases).where(report_cases.c.id == case_id).values(weight=total, updated_at=now))
            detail: dict[str, Any] = {"case_id": case_id, "reporter_id": report.reporter_id, "category": report.category,
                                      "target": {report.target_kind: report.target_id}, "weight": weight, "case_weight": total}
            decided = report.target_kind == "item" and anchor.final_decision is not None
            if task_id is None and total > 0 and (not decided or total >= s.reopen_weight):
                task_id = int(conn.execute(insert(review_tasks).values(
                    item_pk=anchor.pk, queue=s.queue, priority=self.policy.queue_rule(s.queue).priority,
                    status="open", created_at=now, weight=total,
                )).inserted_primary_key[0])
                conn.execute(update(report_cases).where(report_cases.c.id == case_id).values(task_id=task_id))
                detail["task_id"] = task_id
                if decided:
                    detail["reopened"] = anchor.final_decision
            elif task_id is not None:
                conn.execute(update(review_tasks).where(review_tasks.c.id == task_id, review_tasks.c.status == "open").values(weight=total))
            conn.execute(insert(audit_log).values(at=now, actor=f"api-key:{api_key_id}", action="report.filed", target=report.id[:256], detail=detail))
            return _report_view(conn, report.id), False

    # -- deciding ----------------------------------------------------------------------

    def is_case_task(self, task_id: int) -> bool:
        with self._tx() as conn:
            return conn.execute(select(report_cases.c.id).where(report_cases.c.task_id == task_id)).first() is not None

    def decide(self, user: User, task_id: int, decision: str, *, note: str | None = None, now: datetime | None = None) -> ReportDecided:
        """Uphold or dismiss the case of a leased (or unleased) report task."""
        if decision not in REPORT_DECISIONS:
            raise InvalidInput(f"a members' report case is decided with {' or '.join(REPORT_DECISIONS)}, not {decision!r}")
        now = now or utcnow()
        undo_until = now + timedelta(seconds=self.policy.review.undo_seconds)
        outcome = _OUTCOME[decision]
        t = review_tasks.c
        with self._tx() as conn:
            # The write comes first, as for any decision: two deciders serialize here.
            res = conn.execute(
                update(review_tasks)
                .where(
                    t.id == task_id,
                    t.status == "open",
                    or_(t.lease_owner == user.actor, t.lease_owner.is_(None), t.lease_expires_at < now),
                    select(report_cases.c.id).where(report_cases.c.task_id == t.id, report_cases.c.status == "open").exists(),
                )
                .values(status="done", decided_at=now, lease_owner=user.actor, lease_expires_at=None)
            )
            case = conn.execute(select(report_cases).where(report_cases.c.task_id == task_id)).first()
            if res.rowcount != 1:
                if case is None and conn.execute(select(t.id).where(t.id == task_id)).first() is not None:
                    raise InvalidInput(f"task {task_id} is no members' report case: approve or reject it")
                raise refusal(conn, task_id, user, now)
            assert case is not None
            item = conn.execute(select(items).where(items.c.pk == case.item_pk)).one()
            open_reports = conn.execute(
                select(member_reports).where(member_reports.c.case_id == case.id, member_reports.c.status == "open").order_by(member_reports.c.pk)
            ).all()
            conn.execute(update(member_reports).where(member_reports.c.case_id == case.id, member_reports.c.status == "open")
                         .values(status=outcome, decided_at=now))
            conn.execute(update(report_cases).where(report_cases.c.id == case.id)
                         .values(status=outcome, decided_at=now, decided_by=user.actor, note=note, updated_at=now))
            # A reporter's record counts cases, not reports: three reports on one message are one outcome.
            counter = reporters.c.upheld if decision == "uphold" else reporters.c.dismissed
            conn.execute(update(reporters).where(reporters.c.reporter_id.in_(sorted({r.reporter_id for r in open_reports})))
                         .values({counter: counter + 1, reporters.c.updated_at: now}))
            item_decision_id = None
            if decision == "uphold" and case.target_kind == "item" and item.final_decision != "reject":
                item_decision_id = self._reject_item(conn, user, item, case.id, task_id, note, now, undo_until)
            events = self._outcome_events(conn, case, open_reports, outcome, user, now)
            conn.execute(insert(audit_log).values(
                at=now, actor=user.actor, action=f"report.{outcome}", target=f"{case.target_kind}:{case.target_id}"[:256],
                detail={"case_id": case.id, "task_id": task_id, "note": note, "reports": [r.id for r in open_reports],
                        "item_decision_id": item_decision_id, "webhook_events": events},
            ))
        return ReportDecided(int(case.id), task_id, decision, case.target_kind, case.target_id, len(open_reports), item_decision_id, undo_until)

    def _reject_item(self, conn: Connection, user: User, item: Any, case_id: int, task_id: int, note: str | None,
                     now: datetime, undo_until: datetime) -> int:
        """The item's human rejection, as `Decisions` writes one: decision row, final
        decision, item webhook and bank change after the undo window. The decision names
        no task: undoing it restores the item and leaves the case decided."""
        reason = {"source": "human", "actor": user.actor, "decision": "reject", "note": note, "label": None,
                  "queue": self.settings.queue, "report_case": case_id}
        decision_id = int(conn.execute(insert(decisions).values(
            item_pk=item.pk, kind="human", decision="reject", reasons=[reason], actor=user.actor, note=note,
            task_id=None, undone=False, created_at=now,
        )).inserted_primary_key[0])
        conn.execute(update(items).where(items.c.pk == item.pk)
                     .values(human_decision="reject", final_decision="reject", status="decided", updated_at=now))
        # the event a moderator's rejection sends, to the item's own receiver
        Decisions(self.engine, self._policy)._enqueue_webhook(conn, item, decision_id, "reject", user, note, now, undo_until, "item.decided")
        # the policy's ban rule for a moderator's rejection: content bans, a copy does not
        ban = self.policy.rejection_bans(item.context, item.reasons or [])
        bank = self.policy.bank_for_decision(item.type, "reject", ban=ban) if item.blob_sha256 else None
        if bank:
            conn.execute(insert(bank_changes).values(decision_id=decision_id, item_pk=item.pk, bank=bank, actor=user.actor, due_at=undo_until))
        # the strike is for what the reporters reported (their most frequent category)
        cats = Counter(r.category for r in conn.execute(select(member_reports.c.category).where(member_reports.c.case_id == case_id)))
        taken = count_strike(conn, self.policy, item=item, decision_id=decision_id, category=cats.most_common(1)[0][0] if cats else "other",
                             actor=user.actor, now=now, not_before=undo_until)
        conn.execute(insert(audit_log).values(
            at=now, actor=user.actor, action="review.human_decision", target=item.id[:256],
            detail={"decision_id": decision_id, "decision": "reject", "note": note, "queue": self.settings.queue,
                    "report_case": case_id, "bank": bank, "enforcements": taken},
        ))
        # The item's own review task has nothing left to decide; other cases' tasks (an
        # author's case shown on this item) and QA keep theirs.
        conn.execute(
            update(review_tasks)
            .where(review_tasks.c.item_pk == item.pk, review_tasks.c.status == "open", review_tasks.c.id != task_id,
                   review_tasks.c.queue.not_in(BLIND_QUEUES),
                   ~select(report_cases.c.id).where(report_cases.c.task_id == review_tasks.c.id).exists())
            .values(status="cancelled")
        )
        return decision_id

    def _outcome_events(self, conn: Connection, case: Any, reports: Any, outcome: str, user: User, now: datetime) -> list[str]:
        """One event per report, to its key's webhook URL, signed with its key's secret."""
        key_ids = sorted({r.api_key_id for r in reports})
        urls = dict(conn.execute(select(api_keys.c.id, api_keys.c.webhook_url).where(api_keys.c.id.in_(key_ids))).all()) if key_ids else {}
        events = []
        for r in reports:
            url = urls.get(r.api_key_id)
            if not url:
                continue
            payload = {
                "type": "report.decided",
                "report_id": r.id,
                "reporter_id": r.reporter_id,
                "outcome": outcome,
                "category": r.category,
                "target": _target_out(case.target_kind, case.target_id),
                "case_id": case.id,
                "decided_by": user.actor,
                "decided_at": now,
                "reported_at": aware(r.created_at),
            }
            events.append(webhooks.enqueue(conn, item_pk=case.item_pk, decision_id=None, url=url, api_key_id=r.api_key_id,
                                           payload=payload, not_before=now))
        return events

    # -- reporters ---------------------------------------------------------------------

    def mark_bad_faith(self, user: User, reporter_id: str, *, note: str | None = None, now: datetime | None = None) -> dict[str, Any]:
        """The reporter's open reports close and their later ones weigh nothing. A case left
        with no open report closes, and its task with it. Marking twice keeps the first mark."""
        now = now or utcnow()
        with self._tx() as conn:
            record = conn.execute(select(reporters).where(reporters.c.reporter_id == reporter_id)).first()
            if record is None:
                conn.execute(insert(reporters).values(reporter_id=reporter_id, upheld=0, dismissed=0, bad_faith_at=now,
                                                      bad_faith_by=user.actor, bad_faith_note=note, updated_at=now))
            elif record.bad_faith_at is None:
                conn.execute(update(reporters).where(reporters.c.reporter_id == reporter_id)
                             .values(bad_faith_at=now, bad_faith_by=user.actor, bad_faith_note=note, updated_at=now))
            closing = conn.execute(
                select(member_reports.c.id, member_reports.c.case_id)
                .where(member_reports.c.reporter_id == reporter_id, member_reports.c.status == "open")
            ).all()
            conn.execute(update(member_reports).where(member_reports.c.reporter_id == reporter_id, member_reports.c.status == "open")
                         .values(status="closed", decided_at=now))
            closed_cases = []
            for case_id in sorted({r.case_id for r in closing}):
                case = conn.execute(select(report_cases).where(report_cases.c.id == case_id)).one()
                left = conn.execute(select(func.count()).where(member_reports.c.case_id == case_id, member_reports.c.status == "open")).scalar_one()
                if left:
                    total = _case_weight(conn, case_id)
                    conn.execute(update(report_cases).where(report_cases.c.id == case_id).values(weight=total, updated_at=now))
                    if case.task_id is not None:
                        conn.execute(update(review_tasks).where(review_tasks.c.id == case.task_id, review_tasks.c.status == "open").values(weight=total))
                    continue
                conn.execute(update(report_cases).where(report_cases.c.id == case_id)
                             .values(status="closed", weight=0.0, decided_at=now, decided_by=user.actor, note="reporter in bad faith", updated_at=now))
                if case.task_id is not None:
                    conn.execute(update(review_tasks).where(review_tasks.c.id == case.task_id, review_tasks.c.status == "open")
                                 .values(status="cancelled"))
                closed_cases.append(case_id)
            conn.execute(insert(audit_log).values(
                at=now, actor=user.actor, action="report.reporter_bad_faith", target=reporter_id[:256],
                detail={"note": note, "closed_reports": [r.id for r in closing], "closed_cases": closed_cases},
            ))
            return _reporter_view(conn, self.settings, reporter_id) | {"closed_reports": len(closing)}

    def reporter(self, reporter_id: str) -> dict[str, Any]:
        with self._tx() as conn:
            return _reporter_view(conn, self.settings, reporter_id)

    # -- reading -----------------------------------------------------------------------

    def report(self, api_key_id: int, report_id: str) -> dict[str, Any]:
        """A report and its case, for the key that filed it; another key's report is unknown to it."""
        with self._tx() as conn:
            owner = conn.execute(select(member_reports.c.api_key_id).where(member_reports.c.id == report_id)).first()
            if owner is None or owner.api_key_id != api_key_id:
                raise NotFound(f"no report with id {report_id!r}")
            return _report_view(conn, report_id)

    def case_of_task(self, task_id: int) -> dict[str, Any]:
        """What a moderator reads to decide a report task: the target, every report with its
        reporter's record, and the conversation the reports point to."""
        s = self.settings
        with self._tx() as conn:
            case = conn.execute(select(report_cases).where(report_cases.c.task_id == task_id)).first()
            if case is None:
                raise NotFound(f"no members' report case for task {task_id}")
            anchor = conn.execute(select(items.c.id).where(items.c.pk == case.item_pk)).scalar_one()
            rows = conn.execute(
                select(member_reports, reporters.c.upheld, reporters.c.dismissed, reporters.c.bad_faith_at)
                .join(reporters, reporters.c.reporter_id == member_reports.c.reporter_id)
                .where(member_reports.c.case_id == case.id)
                .order_by(member_reports.c.weight.desc(), member_reports.c.pk)
            ).all()
            wanted = list(dict.fromkeys(i for r in rows for i in r.context_item_ids or []))[:MAX_CONTEXT_SHOWN]
            found = {
                c.id: c for c in conn.execute(
                    select(items.c.id, items.c.type, items.c.context, items.c.author_id, items.c.text, items.c.final_decision, items.c.created_at)
                    .where(items.c.id.in_(wanted))
                )
            } if wanted else {}
        context = sorted(found.values(), key=lambda c: (aware(c.created_at), wanted.index(c.id)))
        return {
            "case_id": case.id,
            "task_id": task_id,
            "status": case.status,
            "weight": case.weight,
            "target": _target_out(case.target_kind, case.target_id),
            "item_id": anchor,
            "created_at": aware(case.created_at),
            "reports": [
                {
                    "id": r.id,
                    "reporter_id": r.reporter_id,
                    "category": r.category,
                    "text": r.text,
                    "weight": r.weight,
                    "status": r.status,
                    "created_at": aware(r.created_at),
                    "reporter": {
                        "upheld": r.upheld,
                        "dismissed": r.dismissed,
                        "bad_faith": r.bad_faith_at is not None,
                        "weight": reporter_weight(r.upheld, r.dismissed, s, bad_faith=r.bad_faith_at is not None),
                    },
                }
                for r in rows
            ],
            "context": [
                {"id": c.id, "type": c.type, "context": c.context, "author_id": c.author_id, "text": c.text,
                 "final_decision": c.final_decision, "created_at": aware(c.created_at)}
                for c in context
            ],
        }


@dataclass(frozen=True)
class CaseUndone:
    case_id: int
    task_id: int | None
    item_decision: Undone | None  # the item's rejection an uphold made, taken back with it


class CaseUndo(QueuePart):
    """Taking back a members' report case decision, like any decision: a moderator their own
    within the undo window, an admin any, any time."""

    def undo(self, user: User, case_id: int, *, why: str | None = None, now: datetime | None = None) -> CaseUndone:
        """The case opens again with its reports, each reporter's record loses the outcome,
        the task returns to the one who undid it (leased), an uphold's item rejection is
        undone with it (`Decisions.undo_in`: its strike and bank change too). The outcome
        events not delivered yet are cancelled; a delivered one is corrected by a
        `report.decision_undone` event. One transaction, audited."""
        now = now or utcnow()
        s = self.policy.review
        c = report_cases.c
        with self._tx() as conn:
            case = conn.execute(select(report_cases).where(c.id == case_id)).first()
            if case is None:
                raise NotFound(f"no members' report case {case_id}")
            if case.status not in _OUTCOME.values():
                raise Conflict(f"case {case_id} is {case.status}: there is no decision to undo")
            if not user.is_admin:
                if case.decided_by != user.actor:
                    raise Forbidden("a moderator can undo only their own decisions")
                if (now - aware(case.decided_at)).total_seconds() > s.undo_seconds:
                    raise Conflict(f"the undo window of {s.undo_seconds:g} s has passed; ask an admin")
            if conn.execute(select(c.id).where(c.target_kind == case.target_kind, c.target_id == case.target_id, c.status == "open")).first():
                raise Conflict(f"a newer case on {case.target_kind} {case.target_id!r} is open: decide that one")
            decided = conn.execute(select(audit_log.c.detail).where(
                audit_log.c.action == f"report.{case.status}", audit_log.c.target == f"{case.target_kind}:{case.target_id}"[:256],
            ).order_by(audit_log.c.id.desc())).scalars().all()
            detail = next((d for d in decided if (d or {}).get("case_id") == case_id), {}) or {}
            item_undone = None
            if detail.get("item_decision_id"):
                item_undone = Decisions(self.engine, self._policy).undo_in(conn, user, int(detail["item_decision_id"]), now=now, why=why)
            reports = conn.execute(select(member_reports).where(member_reports.c.case_id == case_id, member_reports.c.status == case.status)).all()
            counter = reporters.c.upheld if case.status == "upheld" else reporters.c.dismissed
            conn.execute(update(reporters).where(reporters.c.reporter_id.in_(sorted({r.reporter_id for r in reports})))
                         .values({counter: counter - 1, reporters.c.updated_at: now}))
            conn.execute(update(member_reports).where(member_reports.c.case_id == case_id, member_reports.c.status == case.status)
                         .values(status="open", decided_at=None))
            total = _case_weight(conn, case_id)
            conn.execute(update(report_cases).where(c.id == case_id)
                         .values(status="open", weight=total, decided_at=None, decided_by=None, note=None, updated_at=now))
            if case.task_id is not None:
                conn.execute(update(review_tasks).where(review_tasks.c.id == case.task_id).values(
                    status="open", decided_at=None, weight=total, lease_owner=user.actor, lease_expires_at=now + timedelta(seconds=s.lease_seconds),
                ))
            corrections = self._correct(conn, case, reports, list(detail.get("webhook_events") or []), user, now)
            conn.execute(insert(audit_log).values(
                at=now, actor=user.actor, action="report.undo", target=f"{case.target_kind}:{case.target_id}"[:256],
                detail={"case_id": case_id, "decision": case.status, "by": case.decided_by, "why": why,
                        "item_decision_id": detail.get("item_decision_id"), "webhook_events": corrections},
            ))
        return CaseUndone(case_id, case.task_id, item_undone)

    def _correct(self, conn: Connection, case: Any, reports: Any, events: list[str], user: User, now: datetime) -> list[str]:
        o = webhook_outbox.c
        delivered = set(conn.execute(select(o.event_id).where(o.event_id.in_(events), o.delivered_at.is_not(None))).scalars()) if events else set()
        if events:
            conn.execute(update(webhook_outbox).where(o.event_id.in_(events), o.delivered_at.is_(None), o.cancelled_at.is_(None))
                         .values(cancelled_at=now))
        if not delivered:
            return []
        keys = sorted({r.api_key_id for r in reports})
        urls = dict(conn.execute(select(api_keys.c.id, api_keys.c.webhook_url).where(api_keys.c.id.in_(keys))).all())
        return [webhooks.enqueue(conn, item_pk=case.item_pk, decision_id=None, url=urls[r.api_key_id], api_key_id=r.api_key_id, not_before=now,
                                 payload={"type": "report.decision_undone", "report_id": r.id, "reporter_id": r.reporter_id,
                                          "case_id": case.id, "undone_by": user.actor, "undone_at": now})
                for r in reports if urls.get(r.api_key_id)]


def _target(conn: Connection, api_key_id: int, report: NewReport) -> Any:
    """The item a case shows: the reported item, or the reported author's latest item;
    only among the items this key submitted, like every read of a key."""
    cols = (items.c.pk, items.c.id, items.c.author_id, items.c.final_decision)
    if report.target_kind == "item":
        row = conn.execute(select(*cols).where(items.c.id == report.target_id, items.c.api_key_id == api_key_id)).first()
        if row is None:
            raise InvalidInput(f"no item {report.target_id!r} to report: a report names an item this key sent to /v1/moderate",
                               fault="unknown_target")
        return row
    row = conn.execute(
        select(*cols).where(items.c.author_id == report.target_id, items.c.api_key_id == api_key_id)
        .order_by(items.c.created_at.desc(), items.c.pk.desc()).limit(1)
    ).first()
    if row is None:
        raise InvalidInput(f"no item of author {report.target_id!r}: a reported member has items this key sent to /v1/moderate",
                           fault="unknown_target")
    return row


def _check_context(conn: Connection, api_key_id: int, ids: tuple[str, ...]) -> None:
    if not ids:
        return
    found = set(conn.execute(select(items.c.id).where(items.c.id.in_(list(ids)), items.c.api_key_id == api_key_id)).scalars())
    missing = [i for i in dict.fromkeys(ids) if i not in found]
    if missing:
        raise InvalidInput(f"unknown context items {', '.join(map(repr, missing[:10]))}: send them to /v1/moderate "
                           "first, or inline as context_items", fault="unknown_context_item", missing=missing[:50])


def _case_weight(conn: Connection, case_id: int) -> float:
    """Each reporter counted once, at their heaviest open report in the case."""
    per_reporter = (
        select(func.max(member_reports.c.weight).label("w"))
        .where(member_reports.c.case_id == case_id, member_reports.c.status == "open")
        .group_by(member_reports.c.reporter_id)
        .subquery()
    )
    return round(float(conn.execute(select(func.coalesce(func.sum(per_reporter.c.w), 0.0))).scalar_one()), 4)


def _target_out(kind: str, target_id: str) -> dict[str, str | None]:
    return {"item_id": target_id if kind == "item" else None, "author_id": target_id if kind == "author" else None}


def _report_view(conn: Connection, report_id: str) -> dict[str, Any]:
    r = conn.execute(
        select(member_reports, report_cases.c.target_kind, report_cases.c.target_id, report_cases.c.status.label("case_status"),
               report_cases.c.weight.label("case_weight"), report_cases.c.task_id, report_cases.c.decided_at.label("case_decided_at"))
        .join(report_cases, report_cases.c.id == member_reports.c.case_id)
        .where(member_reports.c.id == report_id)
    ).one()
    counts = conn.execute(
        select(func.count(), func.count(func.distinct(member_reports.c.reporter_id))).where(member_reports.c.case_id == r.case_id)
    ).one()
    in_review = r.task_id is not None and conn.execute(
        select(review_tasks.c.id).where(review_tasks.c.id == r.task_id, review_tasks.c.status == "open")
    ).first() is not None
    return {
        "id": r.id,
        "reporter_id": r.reporter_id,
        "target": _target_out(r.target_kind, r.target_id),
        "category": r.category,
        "text": r.text,
        "context_item_ids": list(r.context_item_ids or []),
        "status": r.status,
        "weight": r.weight,
        "created_at": aware(r.created_at),
        "decided_at": aware(r.decided_at),
        "case": {
            "id": r.case_id,
            "status": r.case_status,
            "weight": r.case_weight,
            "reports": int(counts[0]),
            "reporters": int(counts[1]),
            "in_review": in_review,
            "decided_at": aware(r.case_decided_at),
        },
    }


def _reporter_view(conn: Connection, settings: ReportSettings, reporter_id: str) -> dict[str, Any]:
    r = conn.execute(select(reporters).where(reporters.c.reporter_id == reporter_id)).first()
    if r is None:
        raise NotFound(f"no reporter {reporter_id!r}")
    open_reports = conn.execute(
        select(func.count()).where(member_reports.c.reporter_id == reporter_id, member_reports.c.status == "open")
    ).scalar_one()
    bad = r.bad_faith_at is not None
    return {
        "reporter_id": r.reporter_id,
        "upheld": r.upheld,
        "dismissed": r.dismissed,
        "weight": reporter_weight(r.upheld, r.dismissed, settings, bad_faith=bad),
        "bad_faith": bad,
        "bad_faith_at": aware(r.bad_faith_at),
        "bad_faith_by": r.bad_faith_by,
        "open_reports": int(open_reports),
    }
