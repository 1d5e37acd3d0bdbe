"""Account enforcement on a real SQLite file and a real PostgreSQL server: strikes counted by
rejections, thresholds that act on crossing, states that follow an injected clock (strikes
expire on time, suspensions end), strikes removed with the actions they caused, moderators'
actions and their undo, and the policy section's validation."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from review_helpers import (
    ADMIN,
    ALICE,
    BOB,
    policy,
    policy_text,
    queue_for,
    review_item,
)
from sqlalchemy import select

from moderation.errors import Conflict, Forbidden, InvalidInput, NotFound, PolicyError
from moderation.members.enforcement import (
    Enforcement,
    author_states,
    count_strike,
    remove_strikes,
)
from moderation.policy import parse_policy
from moderation.store.repository import Store, utcnow
from moderation.store.tables import (
    audit_log,
    enforcements,
    items,
    strikes,
    webhook_outbox,
)

START = utcnow().replace(microsecond=0)


def enforcement(store: Store) -> Enforcement:
    p = policy()
    return Enforcement(store.engine, lambda: p)


def strike(store: Store, item_id: str, category: str = "contact_info", at: Any = START) -> list[int]:
    """Count a rejection of a stored item, as a moderator's rejection would, at `at`."""
    p = policy()
    with store.engine.begin() as conn:
        row = conn.execute(select(items).where(items.c.id == item_id)).one()
        return count_strike(conn, p, item=row, decision_id=None, category=category, actor="user:alice", now=at, not_before=at)


def events(store: Store, kind: str) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        bodies = [json.loads(b) for b in conn.execute(select(webhook_outbox.c.body).order_by(webhook_outbox.c.id)).scalars()]
    return [b for b in bodies if b["type"] == kind]


def test_strikes_cross_thresholds_and_expire_on_time(store: Store, key: int) -> None:
    store.save_items([review_item(f"c-{k}", api_key_id=key, author="driver", decision="reject") for k in range(5)])
    e = enforcement(store)
    assert e.states(["driver"], now=START)["driver"].out() | {"next_threshold": None} == {
        "author_id": "driver",
        "state": "active",
        "suspended_until": None,
        "strikes": 0,
        "next_threshold": None,
    }
    assert strike(store, "c-0") == [] and strike(store, "c-1") == []
    [warned] = strike(store, "c-2")  # contact_info weighs 1: the third reaches warn at 3
    state = e.states(["driver"], now=START)["driver"]
    assert (state.state, state.strikes, state.next_threshold) == ("warned", 3, {"strikes": 5, "action": "restrict", "days": None})
    assert strike(store, "c-2") == []  # one live strike per item
    strike(store, "c-3", at=START + timedelta(days=30))
    [restricted] = strike(store, "c-4", at=START + timedelta(days=30))
    assert e.states(["driver"], now=START + timedelta(days=30))["driver"].reviews_everything
    # the first three expire after 90 days: 2 left, under warn; the restriction no longer holds either
    later = e.states(["driver"], now=START + timedelta(days=90, seconds=1))["driver"]
    assert (later.state, later.strikes) == ("active", 2)
    assert e.states(["driver"], now=START + timedelta(days=89))["driver"].state == "restricted"
    taken = [b for b in events(store, "enforcement.taken")]
    assert [(b["enforcement_id"], b["action"], b["automated"]) for b in taken] == [(warned, "warn", True), (restricted, "restrict", True)]
    assert taken[0]["statement"]["locale"] == "fr" and taken[0]["statement"]["ground"]["category"] == "contact_info"
    assert "avertissement" in taken[0]["statement"]["text"]


def test_a_total_falling_below_a_threshold_and_rising_again_acts_again(store: Store, key: int) -> None:
    store.save_items([review_item(f"r-{k}", api_key_id=key, author="again", decision="reject") for k in range(4)])
    for k in range(3):
        strike(store, f"r-{k}")
    assert len(strike(store, "r-3", at=START + timedelta(days=91))) == 0  # 1 live: nothing crossed
    store.save_items([review_item(f"r2-{k}", api_key_id=key, author="again", decision="reject") for k in range(2)])
    strike(store, "r2-0", at=START + timedelta(days=91))
    assert len(strike(store, "r2-1", at=START + timedelta(days=91))) == 1  # 3 again: a new warning


def test_suspension_ends_on_time_and_ban_stays(store: Store, key: int) -> None:
    store.save_items([review_item(f"s-{k}", api_key_id=key, author="heavy", decision="reject") for k in range(4)])
    for k in range(3):
        strike(store, f"s-{k}", category="nudity")  # 3 each: warn at 3, restrict at 5 and suspend at 8 crossed
    e = enforcement(store)
    state = e.states(["heavy"], now=START + timedelta(days=1))["heavy"]
    assert (state.state, state.suspended_until) == ("suspended", START + timedelta(days=7))
    assert state.out()["suspended_until"] == (START + timedelta(days=7)).isoformat()
    assert e.states(["heavy"], now=START + timedelta(days=8))["heavy"].state == "restricted"  # 9 live: restrict holds
    strike(store, "s-3", category="nudity", at=START + timedelta(days=8))  # 12: ban
    assert e.states(["heavy"], now=START + timedelta(days=800))["heavy"].state == "banned"  # every strike expired


def test_removing_a_strike_undoes_the_actions_it_caused_unless_still_deserved(store: Store, key: int) -> None:
    store.save_items([review_item(f"u-{k}", api_key_id=key, author="undo", decision="reject") for k in range(4)])
    for k in range(4):
        strike(store, f"u-{k}", at=START + timedelta(minutes=k))  # the third crosses warn at 3
    p = policy()

    def remove(item_id: str) -> dict[str, list[int]]:
        with store.engine.begin() as conn:
            pk = conn.execute(select(items.c.pk).where(items.c.id == item_id)).scalar_one()
            return remove_strikes(conn, p, item_pk=pk, actor="user:bob", why="appeal overturned", now=START + timedelta(minutes=9))

    # without u-0 the warning would have come with u-3: 3 live now, it stands
    assert remove("u-0")["enforcements"] == []
    assert enforcement(store).states(["undo"], now=START + timedelta(minutes=10))["undo"].state == "warned"
    with store.engine.connect() as conn:
        [warn_id] = conn.execute(select(enforcements.c.id).where(enforcements.c.action == "warn")).scalars().all()
    removed = remove("u-1")  # 2 left: the warning goes
    assert removed["enforcements"] == [warn_id] and len(removed["strikes"]) == 1
    state = enforcement(store).states(["undo"], now=START + timedelta(minutes=10))["undo"]
    assert (state.state, state.strikes) == ("active", 2)


def test_the_moderation_batch_reads_every_author_in_one_query(store: Store, key: int) -> None:
    store.save_items([review_item(f"b-{k}", api_key_id=key, author=f"a-{k % 3}", decision="reject") for k in range(9)])
    for k in range(9):
        strike(store, f"b-{k}")
    statements: list[str] = []

    from sqlalchemy import event  # the hook counts statements: only this test needs it

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        with store.engine.connect() as conn:
            states = author_states(conn, ["a-0", "a-1", "a-2", "nobody"], policy(), START)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
    assert {a: s.state for a, s in states.items()} == {"a-0": "warned", "a-1": "warned", "a-2": "warned", "nobody": "active"}


def test_a_moderators_action_needs_a_note_is_audited_and_lift_ends_it(store: Store, key: int) -> None:
    store.save_items([review_item("m-1", api_key_id=key, author="member", decision="approve")])
    e = enforcement(store)
    with pytest.raises(InvalidInput, match="note"):
        e.act(ALICE, "member", "ban", note="  ")
    with pytest.raises(InvalidInput, match="days"):
        e.act(ALICE, "member", "suspend", note="scam")
    with pytest.raises(NotFound):
        e.act(ALICE, "stranger", "warn", note="who?")
    done = e.act(ALICE, "member", "suspend", note="threats to a driver", days=3, category="profanity", now=START)
    assert done["author"]["state"] == "suspended"
    assert done["author"]["suspended_until"] == (START + timedelta(days=3)).isoformat()
    [taken] = events(store, "enforcement.taken")
    assert taken["automated"] is False and taken["statement"]["ground"]["category"] == "profanity"
    assert "Un modérateur" in taken["statement"]["text"]
    lifted = e.act(BOB, "member", "lift", note="apologised", now=START + timedelta(hours=1))
    assert lifted["author"]["state"] == "active"
    with store.engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(audit_log.c.action).order_by(audit_log.c.id))]
    assert actions[-2:] == ["enforcement.suspend", "enforcement.lift"]


def test_undo_of_a_moderators_action_follows_the_undo_window(store: Store, key: int) -> None:
    store.save_items([review_item("n-1", api_key_id=key, author="member2", decision="approve")])
    e = enforcement(store)
    done = e.act(ALICE, "member2", "restrict", note="many complaints", now=START)
    with pytest.raises(Forbidden):
        e.undo(BOB, done["enforcement_id"], now=START + timedelta(seconds=1))
    undone = e.undo(ALICE, done["enforcement_id"], why="wrong member", now=START + timedelta(seconds=2))
    assert undone["author"]["state"] == "active"
    with store.engine.connect() as conn:
        cancelled = conn.execute(select(webhook_outbox.c.cancelled_at)).scalars().all()
    assert cancelled and all(c is not None for c in cancelled)  # never left: nothing to correct
    with pytest.raises(Conflict, match="already undone"):
        e.undo(ADMIN, done["enforcement_id"])
    late = e.act(ALICE, "member2", "warn", note="rude", now=START)
    with pytest.raises(Conflict, match="undo window"):
        e.undo(ALICE, late["enforcement_id"], now=START + timedelta(minutes=5))
    assert e.undo(ADMIN, late["enforcement_id"], now=START + timedelta(days=5))["author"]["state"] == "active"


def test_a_human_rejection_counts_a_strike_and_its_undo_removes_it(store: Store, key: int) -> None:
    store.save_items([review_item(f"h-{k}", api_key_id=key, author="humanly") for k in range(3)])
    q = queue_for(store)
    decided = []
    for task in q.tasks.claim(ALICE, limit=3):
        decided.append(q.decisions.decide(ALICE, task["task_id"], "reject")[0])
    state = enforcement(store).states(["humanly"])["humanly"]
    assert (state.state, state.strikes) == ("warned", 3)
    q.decisions.undo(ALICE, decided[-1].decision_id)
    state = enforcement(store).states(["humanly"])["humanly"]
    assert (state.state, state.strikes) == ("active", 2)
    with store.engine.connect() as conn:
        assert conn.execute(select(strikes.c.removed_why).where(strikes.c.removed_at.is_not(None))).scalar_one() == "decision undone"
    # the warning's event waited for the undo window with the rejection's: both cancelled
    assert [b["action"] for b in events(store, "enforcement.taken")] == ["warn"]
    with store.engine.connect() as conn:
        pending = conn.execute(select(webhook_outbox.c.body).where(webhook_outbox.c.cancelled_at.is_(None))).scalars().all()
    assert not any(json.loads(b)["type"] == "enforcement.taken" for b in pending)


def test_author_history_for_a_key_shows_its_own_items_only(store: Store, key: int) -> None:
    other, _ = store.create_api_key("other")
    other_key = store.authenticate(other)
    assert other_key is not None
    store.save_items(
        [
            review_item("k-1", api_key_id=key, author="shared", decision="reject"),
            review_item("k-2", api_key_id=other_key.id, author="shared", decision="reject"),
        ]
    )
    strike(store, "k-1")
    strike(store, "k-2")
    e = enforcement(store)
    mine = e.author("shared", api_key_id=key)
    assert [i["id"] for i in mine["items"]] == ["k-1"] and [s["item_id"] for s in mine["strikes"]] == ["k-1"]
    assert mine["author"]["strikes"] == 2  # the account's state is the account's, whole
    assert {i["id"] for i in e.author("shared")["items"]} == {"k-1", "k-2"}
    with pytest.raises(NotFound):
        e.author("nobody", api_key_id=key)


@pytest.mark.parametrize(
    "section, error",
    [
        ("enforcement:\n  strikes: {spam: {weight: 1}}\n  thresholds: [{strikes: 3, action: warn}]\n", "weight and days"),
        ("enforcement:\n  strikes: {bogus: {weight: 1, days: 9}}\n  thresholds: [{strikes: 3, action: warn}]\n", "unknown category"),
        ("enforcement:\n  strikes: {spam: {weight: 1, days: 9}}\n  thresholds: [{strikes: 3, action: jail}]\n", "action must be"),
        ("enforcement:\n  strikes: {spam: {weight: 1, days: 9}}\n  thresholds: [{strikes: 3, action: suspend}]\n", "days goes with suspend"),
        ("enforcement:\n  strikes: {spam: {weight: 1, days: 9}}\n  thresholds: [{strikes: 5, action: warn}, {strikes: 3, action: ban}]\n", "go up"),
        ("enforcement:\n  strikes: {spam: {weight: 1, days: 9}}\n  thresholds: [{strikes: 3, action: ban}, {strikes: 5, action: warn}]\n", "milder"),
        ("enforcement:\n  strikes: {spam: {weight: 1, days: 9}}\n", "at least one"),
        ("appeals:\n  queue: appeals\n  sla: 3\n", "unknown keys"),
    ],
)
def test_enforcement_sections_that_cannot_work_are_refused(section: str, error: str) -> None:
    text = policy_text()
    name = section.split(":")[0]
    start = text.index(f"\n{name}:\n") + 1
    end = text.index("\n\n", start)
    with pytest.raises(PolicyError, match=error):
        parse_policy(text[:start] + section + text[end:])


def test_a_policy_that_enforces_strikes_must_say_what_members_are_told() -> None:
    text = policy_text()
    start = text.index("  # what a member is told of an action on their account")
    end = text.index("\nqa:\n")
    with pytest.raises(PolicyError, match="statements: enforcement"):
        parse_policy(text[:start] + text[end:])


def test_counting_a_rejection_again_adds_nothing_even_after_its_strike_was_removed(store: Store, key: int) -> None:
    store.save_items([review_item("again-1", api_key_id=key, author="replayer", decision="reject")])
    e = enforcement(store)
    pk = store.find_items(["again-1"])["again-1"].pk
    assert e.count_rejections([pk])["replayer"].strikes == 1
    assert e.count_rejections([pk])["replayer"].strikes == 1  # a replayed request
    with store.engine.begin() as conn:
        remove_strikes(conn, policy(), item_pk=pk, actor="user:bob", why="appeal overturned", now=utcnow())
    assert e.count_rejections([pk])["replayer"].strikes == 0


def test_concurrent_rejections_of_one_author_cross_each_threshold_once(store: Store, key: int) -> None:
    store.save_items([review_item(f"cc-{k}", api_key_id=key, author="busy", decision="reject") for k in range(6)])
    pks = [store.find_items([f"cc-{k}"])[f"cc-{k}"].pk for k in range(6)]
    e = enforcement(store)
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda pk: e.count_rejections([pk]), pks))
    with store.engine.connect() as conn:
        taken = conn.execute(select(enforcements.c.action).order_by(enforcements.c.id)).scalars().all()
    assert taken == ["warn", "restrict"]  # contact_info weighs 1: 3 warns, 5 restricts, each once
    assert e.states(["busy"])["busy"].strikes == 6
