"""The review queue's contract on a real SQLite file and a real PostgreSQL server:
claiming under leases (never the same task twice), deciding, releasing, undoing, QA."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from review_helpers import policy, review_item

from moderation.auth import Accounts, User
from moderation.errors import Conflict, Forbidden, InvalidInput, PolicyError
from moderation.review import Review
from moderation.review.qa import sampled, training_label
from moderation.store.repository import Store, utcnow

ALICE = User(1, "alice", "moderator")
BOB = User(2, "bob", "moderator")
ADMIN = User(3, "root", "admin")


def queue_for(store: Store, review: str = "", qa: str = "") -> Review:
    p = policy(review, qa)
    return Review(store.engine, lambda: p)


def test_concurrent_claimers_never_receive_the_same_task(store: Store) -> None:
    store.save_items([review_item(f"c-{i}") for i in range(120)])
    q = queue_for(store)
    got: dict[int, list[int]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(12)

    def claimer(k: int) -> None:
        user = User(100 + k, f"m{k}", "moderator")
        mine: list[int] = []
        try:
            store.ping()  # open this thread's connection before the race starts
            barrier.wait()
            while True:
                batch = q.tasks.claim(user, limit=3)
                if not batch:
                    break
                mine.extend(t["task_id"] for t in batch)
                time.sleep(0.002)  # a moderator looks at the tasks before claiming more
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        got[k] = mine

    threads = [threading.Thread(target=claimer, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    every = [tid for ids in got.values() for tid in ids]
    assert len(every) == 120 and len(set(every)) == 120  # each task to exactly one claimer
    assert sum(1 for ids in got.values() if ids) > 1  # and the work was really shared


def test_claim_orders_by_sla_then_priority_then_age(store: Store) -> None:
    store.save_items([review_item("low-old", queue="texts", priority=3)])
    store.save_items([review_item("high-new", queue="contact-info", priority=2)])
    q = queue_for(store)
    order = [t["item"]["id"] for t in q.tasks.claim(ALICE, limit=5)]
    assert order == ["high-new", "low-old"]
    for tid in [1, 2]:
        q.tasks.release(ALICE, tid)
    # once the texts task is older than its queue's 120 min SLA, it goes first
    from sqlalchemy import update

    from moderation.store.tables import review_tasks

    with store.engine.begin() as conn:
        conn.execute(update(review_tasks).where(review_tasks.c.id == 1).values(created_at=utcnow() - timedelta(minutes=121)))
    order = [t["item"]["id"] for t in q.tasks.claim(ALICE, limit=5)]
    assert order == ["low-old", "high-new"]


def test_claim_returns_item_reasons_lease_and_authors_recent_items(store: Store) -> None:
    store.save_items([review_item("old-1", decision="approve", author="x"), review_item("r-1", author="x", text="<b>06 12 34 56 78</b>")])
    [task] = queue_for(store, review="  lease_seconds: 42\n").tasks.claim(ALICE, limit=1)
    assert task["item"]["id"] == "r-1" and task["item"]["text"] == "<b>06 12 34 56 78</b>"
    assert task["reasons"][0]["category"] == "contact_info"
    assert 40 <= (task["lease_expires_at"] - utcnow()).total_seconds() <= 42
    assert [a["id"] for a in task["author_recent"]] == ["old-1"]
    assert task["author_recent"][0]["decision"] == "approve"


def test_expired_lease_returns_task_to_queue_and_late_decision_is_409(store: Store) -> None:
    store.save_items([review_item("lease-1")])
    q = queue_for(store, review="  lease_seconds: 60\n")
    [task] = q.tasks.claim(ALICE, limit=1)
    assert q.tasks.claim(BOB, limit=1) == []  # leased to Alice
    later = utcnow() + timedelta(seconds=61)
    [again] = q.tasks.claim(BOB, limit=1, now=later)
    assert again["task_id"] == task["task_id"]
    with pytest.raises(Conflict, match="leased to user:bob"):
        q.decisions.decide(ALICE, task["task_id"], "approve", now=later)
    q.decisions.decide(BOB, task["task_id"], "reject", now=later)
    with pytest.raises(Conflict, match="already decided"):
        q.decisions.decide(ALICE, task["task_id"], "approve")


def test_decision_on_expired_lease_nobody_took_is_accepted(store: Store) -> None:
    store.save_items([review_item("lease-2")])
    q = queue_for(store, review="  lease_seconds: 1\n")
    [task] = q.tasks.claim(ALICE, limit=1)
    [d] = q.decisions.decide(ALICE, task["task_id"], "approve", now=utcnow() + timedelta(seconds=5))
    assert d.item_id == "lease-2"


def test_human_decision_becomes_final_with_history(store: Store) -> None:
    store.save_items([review_item("final-1")])
    q = queue_for(store)
    [task] = q.tasks.claim(ALICE, limit=1)
    q.decisions.decide(ALICE, task["task_id"], "reject", note="phone number")
    state = store.get_item("final-1")
    assert state["first_decision"] == "review"
    assert state["human_decision"] == "reject" and state["final_decision"] == "reject"
    assert state["status"] == "decided"
    assert [h["kind"] for h in state["history"]] == ["auto", "human"]
    assert state["history"][1]["actor"] == "user:alice" and state["history"][1]["note"] == "phone number"


def test_release_puts_task_back_for_others(store: Store) -> None:
    store.save_items([review_item("rel-1")])
    q = queue_for(store)
    [task] = q.tasks.claim(ALICE, limit=1)
    with pytest.raises(Conflict):
        q.tasks.release(BOB, task["task_id"])
    q.tasks.release(ALICE, task["task_id"])
    assert [t["task_id"] for t in q.tasks.claim(BOB, limit=1)] == [task["task_id"]]


def test_resume_returns_tasks_still_held(store: Store) -> None:
    store.save_items([review_item(f"res-{i}") for i in range(4)])
    q = queue_for(store)
    held = {t["task_id"] for t in q.tasks.claim(ALICE, limit=2)}
    assert {t["task_id"] for t in q.tasks.claim(ALICE, limit=2)}.isdisjoint(held)
    assert held <= {t["task_id"] for t in q.tasks.claim(ALICE, limit=4, resume=True)}


def test_undo_within_window_restores_item_and_reopens_task(store: Store) -> None:
    store.save_items([review_item("undo-1")])
    q = queue_for(store, review="  undo_seconds: 10\n")
    [task] = q.tasks.claim(ALICE, limit=1)
    [d] = q.decisions.decide(ALICE, task["task_id"], "approve")
    with pytest.raises(Forbidden):
        q.decisions.undo(BOB, d.decision_id)
    q.decisions.undo(ALICE, d.decision_id)
    state = store.get_item("undo-1")
    assert state["final_decision"] is None and state["human_decision"] is None and state["status"] == "pending_review"
    assert [h["kind"] for h in state["history"]] == ["auto", "human", "undo"] and state["history"][1]["undone"]
    with pytest.raises(Conflict, match="already undone"):
        q.decisions.undo(ALICE, d.decision_id)
    # the task is back, leased to Alice, and can be decided again
    [d2] = q.decisions.decide(ALICE, task["task_id"], "reject")
    assert store.get_item("undo-1")["final_decision"] == "reject"
    # after the window only an admin can undo
    with pytest.raises(Conflict, match="undo window"):
        q.decisions.undo(ALICE, d2.decision_id, now=utcnow() + timedelta(seconds=11))
    q.decisions.undo(ADMIN, d2.decision_id, now=utcnow() + timedelta(hours=1), why="wrong call")
    assert store.get_item("undo-1")["final_decision"] is None


def test_apply_to_duplicates_decides_the_cluster(store: Store) -> None:
    from images import make_jpeg

    img = make_jpeg(seed=1)
    store.save_items([
        review_item("dup-a", image=img, phash="ffff0000ffff0000", queue="photos-sensitive", priority=1),
        review_item("dup-b", image=make_jpeg(seed=2), phash="ffff0000ffff0001", author="other", queue="photos-sensitive", priority=1),
        review_item("dup-far", image=make_jpeg(seed=3), phash="0000ffff0000ffff", queue="photos-sensitive", priority=1),
    ])
    q = queue_for(store)
    [task] = q.tasks.claim(ALICE, limit=1)
    assert task["item"]["id"] == "dup-a" and task["sensitive"]
    assert [(d["item_id"], d["distance"]) for d in task["duplicates"]] == [("dup-b", 1)]
    out = q.decisions.decide(ALICE, task["task_id"], "reject", apply_to_duplicates=True)
    assert [d.item_id for d in out] == ["dup-a", "dup-b"]
    assert store.get_item("dup-b")["final_decision"] == "reject"
    assert store.get_item("dup-far")["final_decision"] is None


def test_duplicates_panel_sees_every_open_photo_however_long_the_queue(store: Store) -> None:
    # The panel once read at most 5,000 open photo tasks (in table order): a copy queued
    # after them was never shown. 5,100 unrelated photos, one malformed hash, then the copy.
    from images import make_jpeg

    img = make_jpeg(seed=4)
    rng = __import__("random").Random(5)
    far = [f"{rng.getrandbits(64) | 0xF0F0F0F0F0F0F0F0:016x}" for _ in range(5100)]  # >= 32 bits from the pair
    store.save_items([review_item("first", image=img, phash="0000000000000000", queue="photos-sensitive", priority=0)]
                     + [review_item(f"filler-{i}", image=img, phash=h, queue="photos-sensitive") for i, h in enumerate(far)]
                     + [review_item("broken", image=img, phash="not-a-hash", queue="photos-sensitive"),
                        review_item("copy", image=img, phash="0000000000000003", author="other", queue="photos-sensitive")])
    [task] = queue_for(store).tasks.claim(ALICE, limit=1)
    assert task["item"]["id"] == "first"
    assert [(d["item_id"], d["distance"], d["author_id"]) for d in task["duplicates"]] == [("copy", 2, "other")]


def test_bulk_decide_reports_refused_tasks(store: Store) -> None:
    store.save_items([review_item(f"bulk-{i}") for i in range(3)])
    q = queue_for(store)
    mine = [t["task_id"] for t in q.tasks.claim(ALICE, limit=2)]
    [bobs] = [t["task_id"] for t in q.tasks.claim(BOB, limit=1)]
    res = q.decisions.bulk_decide(ALICE, mine + [bobs], "approve")
    assert sorted(d.task_id for d in res["decided"]) == sorted(mine)
    assert [r["task_id"] for r in res["refused"]] == [bobs] and res["refused"][0]["status"] == 409


def test_qa_samples_auto_decisions_and_stats_show_precision(store: Store) -> None:
    store.save_items([review_item(f"auto-{i}", decision="approve") for i in range(200)])
    q = queue_for(store, qa="  sample_auto: 0.1\n")
    n = q.qa.sample_qa()
    expected = sum(sampled(f"auto-{i}", "qa", 0.1) for i in range(200))
    assert n == expected and 5 <= n <= 40
    assert q.qa.sample_qa() == 0  # the cursor moved on: nothing is sampled twice
    tasks = q.tasks.claim(ALICE, limit=100, queue="qa")
    assert len(tasks) == n and all(t["item"]["first_decision"] is None for t in tasks)  # blind
    for k, t in enumerate(tasks):
        q.decisions.decide(ALICE, t["task_id"], "reject" if k == 0 else "approve")
    stats = q.reports.stats()
    assert stats["automated_precision"] == {"value": round((n - 1) / n, 4), "agree": n - 1, "of": n}
    assert store.get_item("auto-0")["final_decision"] == "approve"  # QA never changes the outcome
    assert stats["automation_rate"] == 1.0


def test_second_review_goes_to_another_moderator_and_measures_agreement(store: Store) -> None:
    store.save_items([review_item(f"sec-{i}") for i in range(6)])
    q = queue_for(store, qa="  second_review: 1.0\n")
    for t in q.tasks.claim(ALICE, limit=6, queue="contact-info"):
        q.decisions.decide(ALICE, t["task_id"], "reject")
    assert q.tasks.claim(ALICE, limit=10, queue="second-review") == []  # never your own
    seconds = q.tasks.claim(BOB, limit=10, queue="second-review")
    assert len(seconds) == 6
    for k, t in enumerate(seconds):
        q.decisions.decide(BOB, t["task_id"], "approve" if k < 2 else "reject")
    assert q.reports.stats()["reviewer_agreement"] == {"value": round(4 / 6, 4), "agree": 4, "of": 6}


def test_stats_report_queue_depth_age_and_decisions_per_moderator(store: Store) -> None:
    store.save_items([review_item(f"st-{i}") for i in range(5)])
    q = queue_for(store)
    for t in q.tasks.claim(ALICE, limit=2):
        q.decisions.decide(ALICE, t["task_id"], "approve")
    s = q.reports.stats()
    [row] = [r for r in s["queues"] if r["queue"] == "contact-info"]
    assert row["depth"] == 3 and row["oldest_age_seconds"] >= 0 and row["sla_minutes"] == 60
    [(actor, hours)] = s["decisions_per_moderator_hour"].items()
    assert actor == "user:alice" and sum(hours.values()) == 2


def test_labeled_texts_export_rows_for_training(store: Store) -> None:
    store.save_items([review_item("lab-1", text="06 12 34 56 78"), review_item("lab-2", text="bonjour 06 00 00 00 00", language="fr")])
    q = queue_for(store)
    t1, t2 = q.tasks.claim(ALICE, limit=2)
    q.decisions.decide(ALICE, t1["task_id"], "reject")
    q.decisions.decide(ALICE, t2["task_id"], "approve")
    rows = sorted(q.qa.labeled_texts(), key=lambda r: r["text"])
    assert rows == [
        {"text": "06 12 34 56 78", "label": "contact_info", "lang": "fr"},
        {"text": "bonjour 06 00 00 00 00", "label": "ok", "lang": "fr"},
    ]


@pytest.mark.parametrize(
    "decision, reasons, explicit, label",
    [
        ("approve", [{"category": "profanity"}], None, "ok"),  # a human approval overrides the detector
        ("reject", [{"category": "profanity"}], None, "profanity_insult"),
        ("reject", [{"category": "spam"}], None, "spam_other"),
        ("reject", [{"category": "low_quality"}], None, None),  # not a text label: not teachable
        ("reject", [], "spam_link", "spam_link"),  # the moderator's explicit label wins
    ],
)
def test_training_label(decision, reasons, explicit, label) -> None:
    assert training_label(decision, reasons, explicit) == label


@pytest.mark.parametrize(
    "review, qa",
    [
        ("  lease_secs: 3\n", ""),  # unknown key
        ("  lease_seconds: 0\n", ""),  # a lease must last
        ("", "  sample_auto: 1.5\n"),  # a share above 1
        ("", "  sample_everything: 0.1\n"),  # unknown qa key
        ("  ban_rejected_photos: {nudity: maybe}\n", ""),  # not a boolean
    ],
)
def test_bad_review_settings_are_refused(review: str, qa: str) -> None:
    with pytest.raises(PolicyError):
        policy(review, qa)


def test_claim_limit_is_checked(store: Store) -> None:
    with pytest.raises(InvalidInput):
        queue_for(store).tasks.claim(ALICE, limit=0)


def test_accounts_hash_passwords_and_refuse_wrong_ones(store: Store) -> None:
    accounts = Accounts(store.engine)
    accounts.create_user("carol", "correct horse", "moderator")
    with pytest.raises(Conflict):
        accounts.create_user("carol", "another pass", "admin")
    from sqlalchemy import select

    from moderation.store.tables import users

    with store.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    token, _session = accounts.login("carol", "correct horse")
    assert accounts.session(token).user.username == "carol"
    from moderation.errors import Unauthorized

    with pytest.raises(Unauthorized):
        accounts.login("carol", "wrong")
    with pytest.raises(Unauthorized):
        accounts.login("nobody", "correct horse")
    accounts.set_disabled("carol", True)
    with pytest.raises(Unauthorized):
        accounts.session(token)


def test_approved_photos_join_the_seen_bank_unless_the_policy_says_not(store: Store) -> None:
    # One rule for moderators' approvals and automatic ones (Policy.seen_bank).
    assert policy().seen_bank == "seen"
    assert policy(review="  remember_approved_photos: false\n").seen_bank is None


def test_session_lifetimes_follow_the_current_policy(store: Store) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from moderation.auth import SessionPolicy
    from moderation.store.tables import sessions

    current = [SessionPolicy(idle=timedelta(minutes=60))]
    accounts = Accounts(store.engine, lambda: current[0])
    accounts.create_user("eve", "a long passphrase", "moderator")
    token, first = accounts.login("eve", "a long passphrase")
    current[0] = SessionPolicy(idle=timedelta(minutes=5))  # a policy reload
    with store.engine.begin() as conn:  # the next request after the once-a-minute touch
        conn.execute(update(sessions).values(last_seen_at=utcnow() - timedelta(minutes=2)))
    assert accounts.session(token).expires_at < first.expires_at - timedelta(minutes=50)


def test_a_claimed_bank_change_is_retried_until_recorded_and_an_undo_cancels_it(store: Store) -> None:
    from images import make_jpeg

    store.save_items([review_item(f"bc-{k}", image=make_jpeg(seed=40 + k), phash=f"{k:016x}", queue="photos-sensitive") for k in range(2)])
    q = queue_for(store)
    tasks = {t["item"]["id"]: t["task_id"] for t in q.tasks.claim(ALICE, limit=2)}
    first = q.decisions.decide(ALICE, tasks["bc-0"], "reject")[0]
    q.decisions.decide(ALICE, tasks["bc-1"], "reject")
    later = utcnow() + timedelta(seconds=30)  # past the undo window
    claimed = store.claim_due_bank_changes(now=later)
    assert sorted(c["item_id"] for c in claimed) == ["bc-0", "bc-1"]
    assert store.claim_due_bank_changes(now=later) == []  # leased
    # The node died before recording them: after the lease they come back.
    retry = {c["item_id"]: c for c in store.claim_due_bank_changes(now=later + timedelta(seconds=61))}
    assert sorted(retry) == ["bc-0", "bc-1"]
    assert store.set_bank_entry(retry["bc-1"]["id"], 7)
    # An undo while bc-0 is being applied cancels it: recording it then says so.
    q.decisions.undo(ADMIN, first.decision_id, why="wrong call")
    assert not store.set_bank_entry(retry["bc-0"]["id"], 8)
    assert store.claim_due_bank_changes(now=later + timedelta(hours=1)) == []
