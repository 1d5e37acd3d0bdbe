"""Builders shared by the review tests: items stored through the real Store, users through
the real Accounts, policies parsed from the shipped policy with a review section added."""

from __future__ import annotations

import re
from typing import Any

from moderation.auth import User
from moderation.config import DEFAULT_POLICY
from moderation.policy import Policy, parse_policy
from moderation.review import Review
from moderation.store.repository import NewItem, Store


def policy_text(review: str = "", qa: str = "") -> str:
    """The shipped policy with these keys set in its review and qa sections ("  key: value"
    lines), the file's other settings kept (its bans among them)."""
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    return _with_section(_with_section(text, "review", review), "qa", qa)


def _with_section(text: str, name: str, lines: str) -> str:
    """Each key of `lines` replaces the section's own entry for it (the key's line and the
    more indented lines under it); a section the file lacks is appended. (A second
    top-level `review:` would silently drop the whole first one.)"""
    if not lines:
        return text
    doc = text.splitlines(keepends=True)
    if f"{name}:\n" not in doc:
        return text + f"\n{name}:\n" + lines
    first = doc.index(f"{name}:\n") + 1
    last = first  # past the section's last indented line
    for k in range(first, len(doc)):
        if doc[k].startswith(" "):
            last = k + 1
        elif doc[k].strip():
            break
    given = set(re.findall(r"^  (\w+):", lines, re.MULTILINE))
    kept, key = [], None
    for line in doc[first:last]:
        m = re.match(r"^  (\w+):", line)
        if m:
            key = m.group(1)
        elif not line.startswith("    "):
            key = None  # a comment between entries
        if key not in given:
            kept.append(line)
    return "".join(doc[:first] + kept) + lines + "".join(doc[last:])


def policy(review: str = "", qa: str = "") -> Policy:
    return parse_policy(policy_text(review, qa), "<test policy>")


def review_item(
    item_id: str,
    *,
    text: str | None = "call me 06 12 34 56 78",
    image: bytes | None = None,
    author: str = "author-1",
    queue: str = "contact-info",
    priority: int = 2,
    decision: str = "review",
    reasons: list[dict[str, Any]] | None = None,
    phash: str | None = None,
    callback_url: str | None = None,
    api_key_id: int | None = None,
    language: str | None = "fr",
    qa_sample: bool = False,
) -> NewItem:
    if reasons is None:
        if image is None:
            start = (text or "").find("06")
            reasons = [{"source": "rule", "category": "contact_info", "detector": "contact.phone", "score": 1.0, "span": [max(0, start), max(0, start) + 14]}]
        else:
            reasons = [{"source": "model", "category": "nudity", "detector": "nudity@1", "score": 0.5, "detail": {"boxes": [[0.1, 0.1, 0.5, 0.6]]}}]
    features = {"phash": phash, "pdq": "0" * 64, "pdq_quality": 100} if phash else None
    return NewItem(
        id=item_id,
        type="photo" if image is not None else "text",
        context="car_photo" if image is not None else "message",
        author_id=author,
        content_sha256=item_id,
        text=None if image is not None else text,
        image=image,
        media_type="image/jpeg" if image is not None else None,
        locale="fr-FR",
        language=language,
        metadata=None,
        api_key_id=api_key_id,
        callback_url=callback_url,
        decision=decision,
        reasons=reasons,
        scores={r["category"]: r["score"] for r in reasons},
        features=features,
        policy_version="test",
        queue=queue if decision == "review" else None,
        priority=priority,
        qa_sample=qa_sample,
    )


ALICE = User(1, "alice", "moderator")
BOB = User(2, "bob", "moderator")
ADMIN = User(3, "root", "admin")


def queue_for(store: Store, review: str = "", qa: str = "") -> Review:
    """The review queue over `store`'s engine with the shipped policy plus these sections."""
    p = policy(review, qa)
    return Review(store.engine, lambda: p)
