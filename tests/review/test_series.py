"""The queue hour by hour (`review.series`): items, automation, human decisions, depth and
the oldest waiting task at each hour's end, read back from known stored rows."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from review_helpers import ALICE, queue_for, review_item
from sqlalchemy import update

from moderation.errors import InvalidInput
from moderation.store.repository import Store, utcnow
from moderation.store.tables import decisions, items, review_tasks


def _place(
    store: Store, item_id: str, created: datetime, decided: datetime | None = None
) -> None:
    """Move an item, its task and its decisions to known times."""
    with store.engine.begin() as conn:
        pk = conn.execute(items.select().where(items.c.id == item_id)).first().pk
        conn.execute(update(items).where(items.c.pk == pk).values(created_at=created))
        conn.execute(
            update(review_tasks)
            .where(review_tasks.c.item_pk == pk)
            .values(created_at=created, decided_at=decided)
        )
        if decided is not None:
            conn.execute(
                update(decisions)
                .where(decisions.c.item_pk == pk, decisions.c.kind == "human")
                .values(created_at=decided)
            )


def test_hourly_points_count_items_decisions_and_the_waiting_queue(
    store: Store,
) -> None:
    now = utcnow().replace(minute=30, second=0, microsecond=0)
    h0 = now.replace(minute=0) - timedelta(hours=3)
    hour = timedelta(hours=1)
    store.save_items(
        [
            review_item("s-old"),
            review_item("s-a"),
            review_item("s-b"),
            review_item("s-d"),
            review_item("s-c", decision="approve"),
        ]
    )
    q = queue_for(store)
    [task] = [
        t for t in q.tasks.claim(ALICE, limit=10) if t["item"]["id"] == "s-a"
    ] or [None]
    assert task is not None
    q.decisions.decide(ALICE, task["task_id"], "approve")
    _place(store, "s-old", h0 - 2 * hour)  # waiting since before the window
    _place(
        store,
        "s-a",
        h0 + timedelta(minutes=10),
        decided=h0 + hour + timedelta(minutes=20),
    )
    _place(store, "s-b", h0 + hour + timedelta(minutes=5))
    _place(store, "s-c", h0 + hour + timedelta(minutes=50))
    _place(store, "s-d", h0 + 3 * hour + timedelta(minutes=1))

    series = q.series.hourly(now=now, hours=4)
    points = series["points"]
    assert [p["hour"] for p in points] == [h0 + k * hour for k in range(4)]
    assert [p["items"] for p in points] == [1, 2, 0, 1]
    assert [p["automated"] for p in points] == [0, 1, 0, 0]
    assert [p["automation_rate"] for p in points] == [0.0, 0.5, None, 0.0]
    assert [p["human_decisions"] for p in points] == [0, 1, 0, 0]
    # at each hour's end (now for the current hour): s-old always; s-a until it was decided
    assert [p["open_tasks"] for p in points] == [2, 2, 2, 3]
    assert [p["oldest_open_seconds"] for p in points] == [
        3 * 3600.0,
        4 * 3600.0,
        5 * 3600.0,
        5.5 * 3600,
    ]


def test_an_empty_store_has_points_with_nothing_waiting(store: Store) -> None:
    points = queue_for(store).series.hourly(hours=3)["points"]
    assert len(points) == 3 and all(
        p["items"] == 0 and p["open_tasks"] == 0 and p["oldest_open_seconds"] is None
        for p in points
    )


@pytest.mark.parametrize("hours", [0, -1, 24 * 31 + 1])
def test_hours_out_of_range_are_refused(store: Store, hours: int) -> None:
    with pytest.raises(InvalidInput):
        queue_for(store).series.hourly(hours=hours)


def test_tasks_created_at_the_same_instant_one_decided_one_open_are_counted(
    store: Store,
) -> None:
    now = utcnow()
    store.save_items([review_item("tie-1"), review_item("tie-2")])
    q = queue_for(store)
    [first, _] = q.tasks.claim(ALICE, limit=2)
    q.decisions.decide(ALICE, first["task_id"], "approve")
    at = now - timedelta(hours=1)
    _place(store, "tie-1", at, decided=now - timedelta(minutes=1))
    _place(store, "tie-2", at)
    assert q.series.hourly(now=now, hours=2)["points"][-1]["open_tasks"] == 1
