"""The review queue hour by hour: what the dashboard's charts draw, computed from the stored
items, decisions and review tasks (no separate metrics table to keep in step).

A task's open interval is [created_at, decided_at): the queue's depth and its oldest
waiting task at the end of each hour are read back from those two columns. An undo
re-opens a task and clears its `decided_at`, so the history shows it as open from its
creation: the past is redrawn as the tasks stand now, which is what a moderator asking
"how deep was it" at 3 pm cares about only approximately.
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from moderation.errors import InvalidInput
from moderation.review.tasks import QueuePart
from moderation.store.repository import aware, utcnow
from moderation.store.tables import decisions, items, review_tasks

MAX_SERIES_HOURS = 24 * 31


class Series(QueuePart):
    """Hourly points over the last `hours` hours, the current (partial) hour last."""

    def hourly(self, now: datetime | None = None, hours: int = 48) -> dict[str, Any]:
        if not 1 <= hours <= MAX_SERIES_HOURS:
            raise InvalidInput(f"hours must lie in [1, {MAX_SERIES_HOURS}]")
        now = now or utcnow()
        end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        start = end - timedelta(hours=hours)
        starts = [start + timedelta(hours=k) for k in range(hours)]
        # where each point's depth is read: the end of its hour, or now for the current one
        marks = [min(s + timedelta(hours=1), now) for s in starts]
        t, d = review_tasks.c, decisions.c
        with self._tx() as conn:
            item_rows = conn.execute(
                select(items.c.created_at, items.c.first_decision)
                .where(items.c.created_at >= start, items.c.created_at < end)
                .execution_options(yield_per=5000)
            ).all()
            decision_rows = conn.execute(
                select(d.created_at).where(
                    d.kind.in_(("human", "qa")),
                    d.undone.is_(False),
                    d.created_at >= start,
                    d.created_at < end,
                )
            ).all()
            task_rows = conn.execute(
                select(t.created_at, t.decided_at)
                .where(
                    t.created_at < end,
                    or_(t.decided_at.is_(None), t.decided_at >= start),
                )
                .where(or_(t.status == "open", t.decided_at.is_not(None)))
            ).all()
        points: list[dict[str, Any]] = [
            {
                "hour": s,
                "items": 0,
                "automated": 0,
                "human_decisions": 0,
                "open_tasks": 0,
                "oldest_open_seconds": None,
            }
            for s in starts
        ]

        def bucket(at: datetime) -> int:
            return int((aware(at) - start).total_seconds() // 3600)

        for created, first in item_rows:
            p = points[bucket(created)]
            p["items"] += 1
            p["automated"] += first != "review"
        for (created,) in decision_rows:
            points[bucket(created)]["human_decisions"] += 1
        tasks = sorted(
            ((aware(c), aware(dec)) for c, dec in task_rows), key=lambda task: task[0]
        )
        created_at = [c for c, _ in tasks]
        for p, mark in zip(points, marks, strict=True):
            upto = bisect.bisect_right(created_at, mark)
            waiting = [c for c, dec in tasks[:upto] if dec is None or dec > mark]
            p["open_tasks"] = len(waiting)
            # the tasks are sorted by creation: the first still open is the oldest
            if waiting:
                p["oldest_open_seconds"] = round((mark - waiting[0]).total_seconds(), 1)
        for p in points:
            p["automation_rate"] = (
                round(p["automated"] / p["items"], 4) if p["items"] else None
            )
        return {"generated_at": now, "hours": hours, "points": points}
