"""QA: a share of automatically decided items is sampled (deterministically, by a hash of
the item id, when the item is written: `Moderation.moderate` draws, `Store.save_items`
writes the task in the item's transaction) into the `qa` queue, and a share of human decisions into `second-review` for
another moderator. Both are judged blind (the first decision is not shown) and feed the
stats: automated precision and reviewer agreement. Human decisions on texts are also the
training labels of `moderation train text`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select

from moderation.review.tasks import QueuePart
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
