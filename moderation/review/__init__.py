"""The human review queue, one module per responsibility:

- `tasks`: claim under a lease, describe for the moderator, release;
- `duplicates`: near-duplicate photos waiting in the queue;
- `decisions`: decide (one, bulk, with duplicates) and undo, one transaction each;
- `qa`: QA sampling, second reviews, training labels;
- `reports`: stats and the audit log;
- `series`: the queue hour by hour, for the dashboard's charts.

`Review` holds one of each over the same engine and policy.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from moderation.policy import Policy
from moderation.review.decisions import Decided, Decisions, Undone
from moderation.review.qa import QA
from moderation.review.reports import Reports
from moderation.review.series import Series
from moderation.review.tasks import Tasks

__all__ = ["QA", "Decided", "Decisions", "Reports", "Review", "Series", "Tasks", "Undone"]


class Review:
    """The queue's parts. `policy` is a callable so a reloaded policy (SLAs, lease, undo
    window, QA shares) takes effect at once."""

    def __init__(self, engine: Engine, policy: Callable[[], Policy]) -> None:
        self.policy = policy
        self.tasks = Tasks(engine, policy)
        self.decisions = Decisions(engine, policy)
        self.qa = QA(engine, policy)
        self.reports = Reports(engine, policy)
        self.series = Series(engine, policy)
