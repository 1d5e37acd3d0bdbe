"""QA sampling, second reviews and training labels."""

from __future__ import annotations

import threading

import pytest
from review_helpers import ALICE, BOB, queue_for, review_item

from moderation.review.qa import sampled, training_label
from moderation.store.repository import Store


def test_qa_samples_auto_decisions_and_stats_show_precision(store: Store) -> None:
    store.save_items([review_item(f"auto-{i}", decision="approve", qa_sample=sampled(f"auto-{i}", "qa", 0.1)) for i in range(200)])
    q = queue_for(store, qa="  sample_auto: 0.1\n")
    n = sum(sampled(f"auto-{i}", "qa", 0.1) for i in range(200))
    assert 5 <= n <= 40
    tasks = q.tasks.claim(ALICE, limit=100, queue="qa")
    assert len(tasks) == n and all(t["item"]["first_decision"] is None for t in tasks)  # blind
    for k, t in enumerate(tasks):
        q.decisions.decide(ALICE, t["task_id"], "reject" if k == 0 else "approve")
    stats = q.reports.stats()
    assert stats["automated_precision"] == {"value": round((n - 1) / n, 4), "agree": n - 1, "of": n}
    assert store.get_item("auto-0")["final_decision"] == "approve"  # QA never changes the outcome
    assert stats["automation_rate"] == 1.0


def test_qa_sample_is_written_with_its_item_whatever_order_writers_commit_in(store: Store) -> None:
    # Several writers (API processes) commit interleaved batches; a cursor over primary keys
    # skipped items committed late. Drawn at write time, every drawn item has its task.
    drawn = {f"w{w}-{i}": sampled(f"w{w}-{i}", "qa", 0.3) for w in range(4) for i in range(60)}

    def writer(w: int) -> None:
        for start in range(0, 60, 7):
            store.save_items([review_item(f"w{w}-{i}", decision="approve", qa_sample=drawn[f"w{w}-{i}"]) for i in range(start, min(start + 7, 60))])

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    tasks = queue_for(store).tasks.claim(ALICE, limit=100, queue="qa")
    assert sorted(t["item"]["id"] for t in tasks) == sorted(k for k, v in drawn.items() if v)


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
