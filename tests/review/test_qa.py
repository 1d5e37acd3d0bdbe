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


def test_decision_quality_measures_automation_and_its_precision_per_category(store: Store) -> None:
    contact = None  # review_item's default: a contact_info reason
    store.save_items(
        [review_item(f"dq-ok-{i}", decision="approve", reasons=[], qa_sample=True) for i in range(4)]  # approved, QA-sampled
        + [review_item("dq-unsampled", decision="approve", reasons=[])]  # approved, nobody looks
        + [review_item(f"dq-rej-{i}", decision="reject", reasons=contact, qa_sample=True) for i in range(2)]
        + [review_item(f"dq-rev-{i}", reasons=contact) for i in range(3)]  # sent to review
    )
    q = queue_for(store)
    qa_verdicts = {"dq-ok-0": ("reject", "profanity_insult"), "dq-rej-1": ("approve", None)}
    for t in q.tasks.claim(ALICE, limit=10, queue="qa"):
        decision, label = qa_verdicts.get(t["item"]["id"], ("approve" if t["item"]["id"].startswith("dq-ok") else "reject", None))
        q.decisions.decide(ALICE, t["task_id"], decision, label=label)
    reviews = q.tasks.claim(ALICE, limit=10, queue="contact-info")
    for t in reviews:
        q.decisions.decide(ALICE, t["task_id"], "approve" if t["item"]["id"] == "dq-rev-0" else "reject")
    assert len(reviews) == 3
    got = {g["category"]: g for g in q.qa.decision_quality()}
    assert sorted(got) == ["all", "contact_info", "none", "profanity"]
    every = got["all"]
    assert (every["items"], every["automated"], every["automation_rate"]) == (10, 7, 0.7)
    # 4 approvals with a QA verdict, 3 confirmed; 2 rejections, 1 confirmed
    assert every["approve_precision"] == {"value": 0.75, "count": 3, "of": 4}
    assert every["reject_precision"] == {"value": 0.5, "count": 1, "of": 2}
    # 4 items found harmful (1 by QA of an approval, 1 by QA of a rejection, 2 in review): 1 approved
    assert every["harm_approved"] == {"value": 0.25, "count": 1, "of": 4}
    # the moderator's label puts the approved insult under profanity
    assert got["profanity"]["harm_approved"] == {"value": 1.0, "count": 1, "of": 1}
    assert got["profanity"]["approve_precision"] == {"value": 0.0, "count": 0, "of": 1}
    assert (got["none"]["items"], got["none"]["approve_precision"]["of"]) == (4, 3)
    assert got["contact_info"]["automation_rate"] == 0.4
    assert got["contact_info"]["reject_precision"] == {"value": 0.5, "count": 1, "of": 2}
    assert got["contact_info"]["harm_approved"] == {"value": 0.0, "count": 0, "of": 3}


def test_decision_quality_follows_an_undone_decision_back(store: Store) -> None:
    store.save_items([review_item("dq-undo", decision="approve", reasons=[], qa_sample=True)])
    q = queue_for(store)
    [task] = q.tasks.claim(ALICE, limit=1, queue="qa")
    [decided] = q.decisions.decide(ALICE, task["task_id"], "reject")
    assert q.qa.decision_quality()[0]["harm_approved"]["count"] == 1
    q.decisions.undo(ALICE, decided.decision_id)
    assert q.qa.decision_quality()[0]["harm_approved"] == {"value": None, "count": 0, "of": 0}
