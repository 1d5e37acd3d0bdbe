"""Photo bans that do not punish the owner, on both databases: which rejections ban (the
policy's rule, or the moderator's explicit choice) and what is recorded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from images import make_jpeg, reencode
from review_helpers import ALICE, policy, review_item
from sqlalchemy import select

from moderation.errors import InvalidInput
from moderation.policy import Policy
from moderation.review import Review
from moderation.store.repository import Store, utcnow
from moderation.store.tables import decisions

# reasons as the photo path stores them
DUPLICATE = {"source": "hash", "category": "duplicate", "detector": "bank:seen/phash", "score": 0.95, "detail": {"bank": "seen", "item_id": "orig", "author_id": "u-marie"}}
NUDITY = {"source": "model", "category": "nudity", "detector": "nudity@1", "score": 0.5}
LOW_NUDITY = {"source": "model", "category": "nudity", "detector": "nudity@1", "score": 0.2}  # below review: did not act
SUGGESTIVE = {"source": "model", "category": "suggestive", "detector": "nudity@1", "score": 0.7}
NO_FACE = {"source": "model", "category": "no_face", "detector": "faces@1", "score": 1.0}


def queue(store: Store, review: str = "") -> tuple[Review, Policy]:
    p = policy(review)
    return Review(store.engine, lambda: p), p


def photo_tasks(store: Store, reasons_by_id: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    """Photos waiting for review with these reasons; their task ids, claimed by Alice."""
    store.save_items([
        review_item(item_id, image=make_jpeg(seed=70 + k), author="u-x", queue="photos", reasons=reasons)
        for k, (item_id, reasons) in enumerate(reasons_by_id.items())
    ])
    q, _ = queue(store)
    return {t["item"]["id"]: t["task_id"] for t in q.tasks.claim(ALICE, limit=len(reasons_by_id))}


def queued_bans(store: Store) -> list[str]:
    """The items whose ban waits for the end of the undo window."""
    due = store.claim_due_bank_changes(now=utcnow() + timedelta(minutes=5))
    return sorted(c["item_id"] for c in due if c["bank"] == "banned")


def human_reason(store: Store, decision_id: int) -> dict[str, Any]:
    with store.engine.connect() as conn:
        [reason] = conn.execute(select(decisions.c.reasons).where(decisions.c.id == decision_id)).scalar_one()
    return reason


@pytest.mark.parametrize(
    "reasons, banned",
    [
        ([DUPLICATE], False),  # a copy of another author's photo: banning it would ban the owner's
        ([NO_FACE], False),  # about the photo's use, not its content
        ([SUGGESTIVE], False),  # borderline: the moderator decides to ban
        ([DUPLICATE, LOW_NUDITY], False),  # rejected as a duplicate; the nudity score did not act
        ([NUDITY], True),  # content
        ([DUPLICATE, NUDITY], True),  # content among the reasons that sent it to review
    ],
)
def test_a_rejection_bans_a_photo_only_for_content(store: Store, reasons: list[dict[str, Any]], banned: bool) -> None:
    tasks = photo_tasks(store, {"p-1": reasons})
    q, _ = queue(store)
    [d] = q.decisions.decide(ALICE, tasks["p-1"], "reject")
    assert d.banned is banned
    assert queued_bans(store) == (["p-1"] if banned else [])
    assert human_reason(store, d.decision_id).items() >= {"ban": banned, "ban_by": "policy"}.items()


def test_reject_and_ban_image_is_the_moderators_choice_and_is_recorded(store: Store) -> None:
    tasks = photo_tasks(store, {"dup": [DUPLICATE], "nude": [NUDITY]})
    q, _ = queue(store)
    [banned] = q.decisions.decide(ALICE, tasks["dup"], "reject", ban=True, note="explicit in fact")
    [spared] = q.decisions.decide(ALICE, tasks["nude"], "reject", ban=False, note="a statue")
    assert (banned.banned, spared.banned) == (True, False)
    assert queued_bans(store) == ["dup"]
    assert human_reason(store, banned.decision_id)["ban"] is True and human_reason(store, banned.decision_id)["ban_by"] == "moderator"
    assert human_reason(store, spared.decision_id)["ban"] is False and human_reason(store, spared.decision_id)["ban_by"] == "moderator"
    _, audit = q.reports.audit_entries(action="review.human_decision")
    assert {a["target"]: (a["detail"]["ban"], a["detail"]["ban_by"], a["detail"].get("bank")) for a in audit} == {
        "dup": (True, "moderator", "banned"),
        "nude": (False, "moderator", None),
    }


def test_a_ban_is_refused_for_an_approval_or_a_text_and_the_task_stays_open(store: Store) -> None:
    tasks = photo_tasks(store, {"p-ok": [NUDITY]})
    store.save_items([review_item("t-1")])
    q, _ = queue(store)
    [text_task] = [t["task_id"] for t in q.tasks.claim(ALICE, limit=1)]
    with pytest.raises(InvalidInput, match="only a rejection"):
        q.decisions.decide(ALICE, tasks["p-ok"], "approve", ban=True)
    with pytest.raises(InvalidInput, match="cannot ban"):
        q.decisions.decide(ALICE, text_task, "reject", ban=True)
    # refused before anything was written: both can still be decided
    q.decisions.decide(ALICE, text_task, "reject")
    [d] = q.decisions.decide(ALICE, tasks["p-ok"], "approve", ban=False)
    assert not d.banned and queued_bans(store) == []


def test_bulk_and_duplicates_follow_the_policy_unless_told(store: Store) -> None:
    img = make_jpeg(seed=80)
    store.save_items([
        review_item("c-nude", image=img, phash="ffff0000ffff0000", queue="photos", reasons=[NUDITY]),
        review_item("c-copy", image=reencode(img), phash="ffff0000ffff0001", author="other", queue="photos", reasons=[DUPLICATE]),
    ])
    q, _ = queue(store)
    [task] = q.tasks.claim(ALICE, limit=1)
    out = q.decisions.decide(ALICE, task["task_id"], "reject", apply_to_duplicates=True)
    # each by its own reasons: the copy of another author's photo is not banned
    assert {d.item_id: d.banned for d in out} == {"c-nude": True, "c-copy": False}

    photos = photo_tasks(store, {"b-dup": [DUPLICATE], "b-face": [NO_FACE]})
    store.save_items([review_item("b-text")])
    [text_task] = [t["task_id"] for t in q.tasks.claim(ALICE, limit=1)]
    res = q.decisions.bulk_decide(ALICE, [*photos.values(), text_task], "reject", ban=True)
    assert sorted(d.item_id for d in res["decided"] if d.banned) == ["b-dup", "b-face"]
    assert [(r["task_id"], r["status"]) for r in res["refused"]] == [(text_task, 422)]
