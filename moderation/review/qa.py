"""QA: a share of automatically decided items is sampled (deterministically, by a hash of
the item id, when the item is written: `Moderation.moderate` draws, `Store.save_items`
writes the task in the item's transaction) into the `qa` queue, and a share of human decisions into `second-review` for
another moderator. Both are judged blind (the first decision is not shown) and feed the
stats: automated precision and reviewer agreement. Human decisions on texts are also the
training labels of `moderation train text`.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from moderation.review.tasks import QueuePart
from moderation.store.repository import utcnow
from moderation.store.tables import decisions, items

# A text's reason category -> the training label of `moderation train text`.
LABEL_OF_CATEGORY = {
    "profanity": "profanity_insult",
    "sexual": "profanity_insult",
    "contact_info": "contact_info",
    "spam_link": "spam_link",
    "spam": "spam_other",
}
TRAINING_LABELS = ("ok", "profanity_insult", "contact_info", "spam_link", "spam_other", "ambiguous")
# A moderator's explicit label -> the category it says the item belongs to.
CATEGORY_OF_LABEL = {"profanity_insult": "profanity", "contact_info": "contact_info", "spam_link": "spam_link", "spam_other": "spam"}


def sampled(item_id: str, salt: str, share: float) -> bool:
    """Deterministic sampling: the same item is always in or out, on every node."""
    if share <= 0:
        return False
    h = int.from_bytes(hashlib.sha256(f"{salt}:{item_id}".encode()).digest()[:8], "big")
    return h / 2**64 < share


def training_label(decision: str, reasons: Sequence[dict[str, Any]], explicit: str | None) -> str | None:
    """An approved text is `ok`; a rejected one takes the label of its first mapped
    reason, or the moderator's explicit label. None: not teachable."""
    if explicit:
        return explicit
    if decision == "approve":
        return "ok"
    for r in reasons:
        label = LABEL_OF_CATEGORY.get(r.get("category", ""))
        if label:
            return label
    return None


class QA(QueuePart):
    """QA sampling and the labeled texts moderators' decisions make."""

    def labeled_texts(self) -> Iterator[dict[str, str]]:
        """Human-decided texts as training rows (text, label, lang): the last standing
        human decision of each item."""
        with self._tx() as conn:
            rows = conn.execute(
                select(decisions.c.item_pk, decisions.c.decision, decisions.c.reasons.label("human"), items.c.text, items.c.language, items.c.locale, items.c.reasons)
                .join(items, items.c.pk == decisions.c.item_pk)
                .where(decisions.c.kind == "human", decisions.c.undone.is_(False), items.c.type == "text")
                .order_by(decisions.c.id)
            ).all()
        last = {r.item_pk: r for r in rows}
        for r in last.values():
            explicit = ((r.human or [{}])[0] or {}).get("label")
            label = training_label(r.decision, r.reasons or [], explicit)
            if label and r.text:
                yield {"text": r.text, "label": label, "lang": r.language or (r.locale or "")[:2]}

    def decision_quality(self, now: datetime | None = None, hours: int = 24) -> list[dict[str, Any]]:
        """How much of the window's items was decided without a human, and how well, over
        all items ("all") and per category, as `moderation eval` reports it for a file.

        The truth about an item is its last standing human decision (a review, an upheld
        report), else its last standing QA decision: "approve" says acceptable, "reject"
        harmful. An item belongs to the category its moderator's explicit label names,
        else to those of its stored reasons, else to "none". Per group: `automation_rate`
        (share not sent to review), `approve_precision` and `reject_precision` (share of
        the automatic approvals, rejections, with a truth, that the truth confirms) and
        `harm_approved` (share of the items found harmful that were approved
        automatically). Items no human looked at count in the rate only."""
        now = now or utcnow()
        since = now - timedelta(hours=hours)
        with self._tx() as conn:
            judged = conn.execute(
                select(decisions.c.item_pk, decisions.c.kind, decisions.c.decision, decisions.c.reasons)
                .join(items, items.c.pk == decisions.c.item_pk)
                .where(items.c.created_at >= since, decisions.c.kind.in_(("human", "qa")), decisions.c.undone.is_(False))
                .order_by(decisions.c.id)
            ).all()
            rows = conn.execute(
                select(items.c.pk, items.c.first_decision, items.c.reasons)
                .where(items.c.created_at >= since)
                .execution_options(yield_per=5000)
            )
            # a human decision outranks a QA sample of the same item; the later one of a kind wins
            truth: dict[int, tuple[str, str | None]] = {}
            for r in sorted(judged, key=lambda r: r.kind == "human"):
                truth[r.item_pk] = (r.decision, ((r.reasons or [{}])[0] or {}).get("label"))
            tally: dict[str, list[int]] = defaultdict(lambda: [0] * 8)
            for pk, first, reasons in rows:
                decided, label = truth.get(pk, (None, None))
                if label in CATEGORY_OF_LABEL:
                    groups = {CATEGORY_OF_LABEL[label]}
                else:
                    groups = {r.get("category") for r in reasons or [] if r.get("category")} or {"none"}
                for group in ("all", *sorted(groups)):
                    _count(tally[group], first, decided)
        return [_quality(group, t) for group, t in sorted(tally.items(), key=lambda kv: (kv[0] != "all", kv[0]))]


# tally slots: items, automated, approved with a truth, of them right, rejected with a
# truth, of them right, harmful, of them approved automatically
def _count(t: list[int], first: str, truth: str | None) -> None:
    t[0] += 1
    t[1] += first != "review"
    if truth is None:
        return
    if first == "approve":
        t[2] += 1
        t[3] += truth == "approve"
    elif first == "reject":
        t[4] += 1
        t[5] += truth == "reject"
    if truth == "reject":
        t[6] += 1
        t[7] += first == "approve"


def _rate(k: int, n: int) -> dict[str, Any]:
    return {"value": round(k / n, 4) if n else None, "count": k, "of": n}


def _quality(group: str, t: list[int]) -> dict[str, Any]:
    return {
        "category": group,
        "items": t[0],
        "automated": t[1],
        "automation_rate": round(t[1] / t[0], 4) if t[0] else None,
        "approve_precision": _rate(t[3], t[2]),
        "reject_precision": _rate(t[5], t[4]),
        "harm_approved": _rate(t[7], t[6]),
    }
