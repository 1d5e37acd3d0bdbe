"""QA: a share of automatically decided items is sampled (deterministically, by a hash of
the item id) into the `qa` queue, and a share of human decisions into `second-review` for
another moderator. Both are judged blind (the first decision is not shown) and feed the
stats: automated precision and reviewer agreement. Human decisions on texts are also the
training labels of `moderation train text`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from moderation.review.tasks import QA_QUEUE, QueuePart
from moderation.store.repository import utcnow
from moderation.store.tables import decisions, items, review_cursors, review_tasks

# A text's reason category -> the training label of `moderation train text`.
LABEL_OF_CATEGORY = {
    "profanity": "profanity_insult",
    "sexual": "profanity_insult",
    "contact_info": "contact_info",
    "spam_link": "spam_link",
    "spam": "spam_other",
}
TRAINING_LABELS = ("ok", "profanity_insult", "contact_info", "spam_link", "spam_other", "ambiguous")


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

    def sample_qa(self, batch: int = 1000, now: datetime | None = None) -> int:
        """Look at automatically decided items not seen yet; put a share into the QA queue.
        Returns how many were queued. A compare-and-set on the cursor keeps two nodes
        from sampling the same items."""
        share = self.policy.review.qa_sample_auto
        now = now or utcnow()
        with self._tx() as conn:
            cur = conn.execute(select(review_cursors.c.value).where(review_cursors.c.name == "qa_auto")).scalar()
            if cur is None:
                conn.execute(insert(review_cursors).values(name="qa_auto", value=0))
                cur = 0
            rows = conn.execute(
                select(items.c.pk, items.c.id, items.c.first_decision).where(items.c.pk > cur).order_by(items.c.pk).limit(batch)
            ).all()
            if not rows:
                return 0
            res = conn.execute(
                update(review_cursors).where(review_cursors.c.name == "qa_auto", review_cursors.c.value == cur).values(value=rows[-1].pk)
            )
            if res.rowcount != 1:
                return 0
            picks = [r for r in rows if r.first_decision != "review" and sampled(r.id, "qa", share)]
            if picks:
                conn.execute(
                    insert(review_tasks),
                    [{"item_pk": r.pk, "queue": QA_QUEUE, "priority": 9, "status": "open", "created_at": now} for r in picks],
                )
        return len(picks)

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
