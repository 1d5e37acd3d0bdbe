"""Photo bans that do not punish the owner, on both databases: which rejections ban (the
policy's rule, or the moderator's explicit choice), what is recorded, and the whole path
of an owner's photo and a thief's copy through the seen and banned banks.

The bank index here is a `BankIndex` built from the database, as every index shard builds
its share; the Ray shards are not needed to see what the banks hold."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from images import make_jpeg, reencode
from review_helpers import ADMIN, ALICE, policy, review_item
from sqlalchemy import select

from moderation.banks import Banks, index_entry, photo_entry
from moderation.errors import InvalidInput, NotFound
from moderation.photos.banks import BankIndex
from moderation.photos.decode import DecodeLimits
from moderation.photos.hashing import hash_upload
from moderation.policy import Policy
from moderation.review import Review
from moderation.store.repository import Store, utcnow
from moderation.store.tables import decisions
from moderation.types import Item, ItemType, Reason, Signals, Source

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
    """The items whose ban waits for the end of the undo window (claimed: call it once)."""
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


def test_a_claimed_photo_says_whether_a_plain_rejection_bans_it(store: Store) -> None:
    store.save_items([review_item("t-1")])
    photo_tasks(store, {"p-dup": [DUPLICATE], "p-nude": [NUDITY]})
    q, _ = queue(store)
    tasks = q.tasks.claim(ALICE, limit=3, resume=True)
    assert {t["item"]["id"]: t["reject_bans"] for t in tasks} == {"p-dup": False, "p-nude": True, "t-1": False}


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

    # told to ban, the cluster is banned, except a blind (QA) copy, which never bans
    store.save_items([
        review_item("k-1", image=img, phash="0f0f0f0f0f0f0f0f", queue="photos", reasons=[DUPLICATE]),
        review_item("k-qa", image=reencode(img), phash="0f0f0f0f0f0f0f0e", decision="approve", reasons=[], qa_sample=True),
    ])
    [task] = [t for t in q.tasks.claim(ALICE, limit=5) if t["item"]["id"] == "k-1"]
    out = q.decisions.decide(ALICE, task["task_id"], "reject", apply_to_duplicates=True, ban=True)
    assert {d.item_id: d.banned for d in out} == {"k-1": True, "k-qa": False}

    photos = photo_tasks(store, {"b-dup": [DUPLICATE], "b-face": [NO_FACE]})
    store.save_items([review_item("b-text")])
    [text_task] = [t["task_id"] for t in q.tasks.claim(ALICE, limit=1)]
    res = q.decisions.bulk_decide(ALICE, [*photos.values(), text_task], "reject", ban=True)
    assert sorted(d.item_id for d in res["decided"] if d.banned) == ["b-dup", "b-face"]
    assert [(r["task_id"], r["status"]) for r in res["refused"]] == [(text_task, 422)]


# -- the owner's photo and a thief's copy, through the banks ---------------------------------


class _LogOnlyShards:
    """The index shards follow the bank log on their own; nothing to tell them here."""

    async def sync(self) -> None:
        return None


class Uploads:
    """Photos through the policy as `Moderation.moderate` takes them (bank reasons, plus
    the model reasons given, then the decision; stored; an approved photo joins `seen`),
    and moderators' bank changes applied as the background job applies them."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.review, self.policy = queue(store, review="  undo_seconds: 0\n")
        self.banks = Banks(store, _LogOnlyShards(), DecodeLimits())  # type: ignore[arg-type]

    def upload(self, item_id: str, data: bytes, author: str, *, models: tuple[Reason, ...] = ()) -> dict[str, Any]:
        p = self.policy
        hashes = hash_upload(data, DecodeLimits())
        index = BankIndex(p.hash_matching.pdq_min_quality)
        index.add(index_entry(r["entry_id"], r) for batch in self.store.iter_bank_entries() for r in batch)
        reasons = p.bank_reasons(index.match(hashes, p.hash_matching), author) + list(models)
        verdict = p.decide(Item(id=item_id, type=ItemType.PHOTO, context="car_photo", author_id=author), Signals(reasons=reasons))
        item = review_item(item_id, image=data, author=author, decision=verdict.decision.value, queue=verdict.queue or "photos",
                           reasons=[r.to_dict() for r in reasons])
        if verdict.decision.value == "approve":  # as Moderation stores it: the seen entry with the item
            item = replace(item, seen=photo_entry(p.seen_bank, hashes, note=None, author_id=author, item_id=item_id, actor="policy"))
        self.store.save_items([item])
        return {"decision": verdict.decision.value, "reasons": {r.category: r.detail for r in reasons}}

    def reject(self, item_id: str, ban: bool | None = None) -> bool:
        [task] = [t for t in self.review.tasks.claim(ALICE, limit=10) if t["item"]["id"] == item_id]
        [d] = self.review.decisions.decide(ALICE, task["task_id"], "reject", ban=ban)
        asyncio.run(self.banks.apply_due_changes())
        return d.banned


def test_rejecting_a_thiefs_copy_as_a_duplicate_leaves_the_owners_photo_alone(store: Store) -> None:
    owner = make_jpeg(seed=90)
    copy = reencode(owner, quality=75, scale=0.9)
    up = Uploads(store)
    assert up.upload("marie-1", owner, "u-marie")["decision"] == "approve"
    stolen = up.upload("x-1", copy, "u-x")
    # the later copy by another author is the duplicate, naming the owner's upload
    assert stolen["decision"] == "review"
    assert stolen["reasons"]["duplicate"].items() >= {"item_id": "marie-1", "author_id": "u-marie"}.items()
    assert up.reject("x-1") is False
    assert store.list_bank("banned")[0] == 0 and store.bank_entries_for_item("x-1") == []
    # the owner uploads her photo again: hers, approved; the thief again: still a duplicate of hers
    assert up.upload("marie-2", owner, "u-marie") == {"decision": "approve", "reasons": {}}
    assert up.upload("x-2", copy, "u-x")["reasons"]["duplicate"]["item_id"] == "marie-1"


def test_a_content_ban_of_a_copy_applies_to_everyone_and_an_unban_lifts_it(store: Store) -> None:
    owner = make_jpeg(seed=91)
    up = Uploads(store)
    assert up.upload("marie-1", owner, "u-marie")["decision"] == "approve"
    nude = Reason(source=Source.MODEL, category="nudity", detector="nudity@1", score=0.5)
    stolen = up.upload("x-1", reencode(owner, quality=75), "u-x", models=(nude,))
    assert stolen["decision"] == "review" and set(stolen["reasons"]) == {"duplicate", "nudity"}
    assert up.reject("x-1") is True  # for its content: the policy bans it
    [entry] = store.bank_entries_for_item("x-1")
    assert entry["bank"] == "banned" and entry["actor"] == ALICE.actor and entry["applied_at"] is not None
    # banned content is banned content, whoever uploads it: the owner's copy too
    again = up.upload("marie-2", owner, "u-marie")
    assert again["decision"] == "reject" and again["reasons"]["banned_match"]["item_id"] == "x-1"
    # the item page's unban removes what the rejection put in the bank
    asyncio.run(up.banks.remove_entry(entry["bank"], entry["entry_id"], ADMIN.actor))
    assert store.bank_entries_for_item("x-1") == []
    assert up.upload("marie-3", owner, "u-marie")["decision"] == "approve"


def test_the_owner_stays_the_owner_after_a_later_copy_is_approved(store: Store) -> None:
    owner = make_jpeg(seed=92)
    copy = reencode(owner, quality=75)
    up = Uploads(store)
    up.upload("marie-1", owner, "u-marie")
    assert up.upload("x-1", copy, "u-x")["decision"] == "review"
    [task] = up.review.tasks.claim(ALICE, limit=1)
    up.review.decisions.decide(ALICE, task["task_id"], "approve")  # a moderator let the copy through
    asyncio.run(up.banks.apply_due_changes())
    assert store.list_bank("seen")[0] == 2
    # Marie's photo again, even byte for byte the copy's version (nearer to the copy than
    # to her own upload): still hers. Anyone else's is a duplicate of hers, the earliest.
    assert up.upload("marie-2", owner, "u-marie") == {"decision": "approve", "reasons": {}}
    assert up.upload("marie-3", copy, "u-marie") == {"decision": "approve", "reasons": {}}
    assert up.upload("y-1", copy, "u-y")["reasons"]["duplicate"]["author_id"] == "u-marie"


def test_bank_entries_for_item_lists_only_entries_still_in_a_bank(store: Store) -> None:
    tasks = photo_tasks(store, {"e-1": [NUDITY], "e-2": [NUDITY]})
    q, _ = queue(store, review="  undo_seconds: 0\n")
    [d1] = q.decisions.decide(ALICE, tasks["e-1"], "reject")
    q.decisions.decide(ALICE, tasks["e-2"], "reject")
    assert store.bank_entries_for_item("e-1") == []  # not applied yet: an undo would cancel it
    assert asyncio.run(Banks(store, _LogOnlyShards(), DecodeLimits()).apply_due_changes()) == 2  # type: ignore[arg-type]
    [entry] = store.bank_entries_for_item("e-1")
    assert entry["decision_id"] == d1.decision_id and entry["bank"] == "banned"
    assert store.bank_entries_for_item("e-1", bank="seen") == []
    store.delete_bank_entry("banned", entry["entry_id"])
    assert store.bank_entries_for_item("e-1") == [] and len(store.bank_entries_for_item("e-2")) == 1
    with pytest.raises(NotFound):
        store.bank_entries_for_item("nobody")
