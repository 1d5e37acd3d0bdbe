"""`moderation tune` and `moderation backtest` over the real pipeline and a real store: the
threshold search, the rewritten policy file, and replays that change no stored decision."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from review_helpers import ALICE, policy_text

from moderation.photos.decode import DecodeLimits
from moderation.pipeline import TextAnalyzer, text_signals_for
from moderation.policy import CategoryAction, Policy, parse_policy
from moderation.review import Review
from moderation.store.repository import NewItem, Store
from moderation.tuning import (
    GRID,
    Labeled,
    LocalAnalyzers,
    Scored,
    analyze_examples,
    backtest,
    decisions_under,
    file_examples,
    mix_weights,
    rewrite_policy,
    search,
    store_examples,
    threshold_entries,
    tune,
    wilson,
)
from moderation.types import Item, ItemType

# -- the numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "k, n, low, high",
    [
        (10, 10, 0.7225, 1.0),  # all right: the interval still admits 28 % errors on 10 items
        (5, 10, 0.2366, 0.7634),  # symmetric around one half
        (0, 4, 0.0, 0.4899),  # none right stays inside [0, 1]
        (990, 1000, 0.9817, 0.9946),  # a 0.99 precision measured on 1,000 items
    ],
)
def test_wilson_interval_golden_values(k: int, n: int, low: float, high: float) -> None:
    w = wilson(k, n)
    assert (w["low"], w["high"]) == (low, high) and w["value"] == round(k / n, 4)


def test_wilson_of_nothing_is_unknown_not_zero() -> None:
    assert wilson(0, 0)["value"] is None
    with pytest.raises(ValueError):
        wilson(3, 2)


def _scored(scores: list[float], harmful: list[bool], floor: list[int] | None = None) -> Scored:
    s = np.array(scores)
    return Scored(np.array(floor or [0] * len(scores), dtype=np.int8), s, np.array(harmful), np.array(harmful))


def test_search_rejects_from_the_lowest_score_that_stays_precise() -> None:
    # ten harmful items from 0.80 up, one acceptable item at 0.75 below them
    scores = [0.75] + [0.80 + 0.01 * k for k in range(10)]
    harmful = [False] + [True] * 10
    review, reject = search(_scored(scores, harmful), CategoryAction(review=0.5, reject=0.97), 0.99)
    assert reject == 0.8  # 0.75 would take the acceptable one in: 10/11 < 0.99
    assert review == 0.76  # approvals under review: the acceptable 0.75 only, the nearest qualifying value to 0.5 above it


def test_search_moves_when_one_label_changes() -> None:
    scores = [0.75] + [0.80 + 0.01 * k for k in range(10)]
    harmful = [False] + [True] * 10
    harmful[3] = False  # the item at 0.82 is acceptable: rejecting from 0.80 is now wrong
    _, reject = search(_scored(scores, harmful), CategoryAction(review=0.5, reject=0.97), 0.99)
    assert reject == 0.83


def test_search_turns_rejection_off_when_no_threshold_is_precise_enough() -> None:
    # the top score is acceptable: every reject threshold that rejects anything is wrong once
    scores, harmful = [0.9, 0.95, 1.0], [True, True, False]
    review, reject = search(_scored(scores, harmful), CategoryAction(review=0.5, reject=0.97), 0.99)
    assert reject is None and review == 0.5


def test_search_in_a_reweighted_mix_rejects_only_where_the_mix_stays_precise() -> None:
    # one acceptable item at 0.85 among ten harmful ones from 0.80: as sent, rejecting from
    # 0.86 is 9/9 right; an acceptable item weighing 20 harmful ones changes nothing there,
    # but from 0.80 it would cost 20 of 30: only the weights tell
    scores = [0.85] + [0.80 + 0.01 * k for k in range(10)]
    harmful = [False] + [True] * 10
    s = _scored(scores, harmful)
    assert search(s, CategoryAction(review=0.5, reject=0.97), 0.6)[1] == 0.8  # as sent: 10/11 >= 0.6
    heavy = dataclasses.replace(s, weight=np.array([20.0] + [1.0] * 10))
    assert search(heavy, CategoryAction(review=0.5, reject=0.97), 0.6)[1] == 0.86  # 10/30 < 0.6 from 0.80


def test_mix_weights_give_acceptable_items_their_share() -> None:
    def ex(labels: frozenset[str] | None) -> Labeled:
        return Labeled(Item(id="x", type=ItemType.TEXT, context="message", author_id="a", text="t"), labels)

    examples = [ex(frozenset())] * 3 + [ex(frozenset({"profanity_insult"}))] * 7 + [ex(None)]
    w = mix_weights(examples, 0.95)
    assert sum(w[:3]) == pytest.approx(0.95 * 10) and sum(w[3:10]) == pytest.approx(0.05 * 10)
    assert mix_weights(examples, None) == [1.0] * 11


def test_file_examples_of_the_two_halves_split_the_file_without_overlap(tmp_path) -> None:
    path = tmp_path / "labeled.jsonl"
    path.write_text("".join(f'{{"id": "r{k}", "text": "t{k}", "label": "ok"}}\n' for k in range(200)))
    a, b = file_examples(path, half="A"), file_examples(path, half="B")
    ids_a, ids_b = {e.item.id for e in a}, {e.item.id for e in b}
    assert not ids_a & ids_b and len(ids_a | ids_b) == 200
    assert 70 < len(ids_a) < 130  # about half each, by the hash of the id
    assert {e.item.id for e in file_examples(path, half="A")} == ids_a  # the same rows every time


def test_items_another_reason_rejects_never_count_for_the_threshold() -> None:
    # floor 2: a rule rejects these acceptable items anyway, so they say nothing about this
    # threshold (counted, they would turn rejection off): the current value stays
    s = _scored([0.6, 0.7, 0.99], [False, False, False], floor=[2, 2, 2])
    assert search(s, CategoryAction(review=0.5, reject=0.97), 0.99) == (0.5, 0.97)
    assert decisions_under(s, 0.5, 0.6).tolist() == [2, 2, 2]


# -- the policy file -------------------------------------------------------------------------


def test_rewritten_policy_changes_only_the_tuned_values(tmp_path) -> None:
    text = policy_text().replace("  sexual: {review: 0.5, reject: 0.9}", "  sexual:\n    review: 0.5\n    reject: 0.9  # block style")
    policy = parse_policy(text)
    entries = {e.where: e for e in threshold_entries(policy)}

    class P:  # the two fields rewrite_policy reads, and `changed`
        def __init__(self, where: str, review: float | None, reject: float | None) -> None:
            self.entry, self.review, self.reject, self.changed = entries[where], review, reject, True

    new = rewrite_policy(text, [P("categories.profanity", 0.6, None), P("categories.sexual", 0.55, 0.8)])
    proposed = parse_policy(new)
    assert proposed.categories["profanity"] == CategoryAction(review=0.6)
    assert proposed.categories["sexual"] == CategoryAction(review=0.55, reject=0.8)
    assert proposed.categories["nudity"] == policy.categories["nudity"]
    changed = [(a, b) for a, b in zip(text.splitlines(), new.splitlines()) if a != b]
    assert changed[0] == ("  profanity: {review: 0.5, reject: 1}", "  profanity: {review: 0.6}")
    # the block mapping's two lines became one flow mapping, under its key
    assert "  sexual:\n    {review: 0.55, reject: 0.8}\n  spam_link: review" in new
    assert len(new.splitlines()) == len(text.splitlines()) - 1


# -- a seeded store --------------------------------------------------------------------------

# (id, context, text, human decision or None)
SEED = [
    ("m-phone-1", "message", "appelle moi au 06 12 34 56 78", "reject"),
    ("m-phone-2", "message", "call me on +33 6 12 34 56 78 tonight", "reject"),
    ("m-phone-3", "trip_description", "mon numéro 06 98 76 54 32 pour le trajet", "approve"),
    ("r-phone", "rating", "super trajet, appelle moi au 06 12 34 56 78", None),
    ("m-ok-1", "message", "bonjour, il reste une place ?", "approve"),
    ("m-ok-2", "message", "départ le 12/06 à 18h30, 465 km", "approve"),
    ("m-ok-3", "message", "see you at the station at 8", None),
    ("m-cash", "message", "paiement en espèces à l'arrivée", "reject"),
    ("m-insult", "message", "you absolute moron", "reject"),
]


def seed(store: Store, policy: Policy) -> None:
    """Items decided by the real analyzers and policy, stored the way the service stores
    them; every automatic decision drawn for QA, so humans can judge any of them."""
    analyzer = TextAnalyzer(policy, text_signals=text_signals_for(policy))
    items = [Item(id=i, type=ItemType.TEXT, context=c, author_id=f"a-{i}", text=t) for i, c, t, _ in SEED]
    new = []
    for item, sig in zip(items, analyzer.analyze(items)):
        v = policy.decide(item, sig)
        new.append(NewItem(id=item.id, type="text", context=item.context, author_id=item.author_id, content_sha256=item.id,
                           text=item.text, image=None, media_type=None, locale=None, language=sig.language, metadata=None,
                           api_key_id=None, callback_url=None, decision=v.decision.value, reasons=[r.to_dict() for r in v.reasons],
                           scores=v.scores, features=None, policy_version=v.policy_version, queue=v.queue, priority=2,
                           qa_sample=True))
    store.save_items(new)
    review = Review(store.engine, lambda: policy)
    human = {i: d for i, _, _, d in SEED}
    for queue in (None, "qa"):
        for task in review.tasks.claim(ALICE, limit=100, queue=queue):
            decision = human[task["item"]["id"]]
            if decision:
                review.decisions.decide(ALICE, task["task_id"], decision)
            else:
                review.tasks.release(ALICE, task["task_id"])


def stored_state(store: Store) -> dict[str, tuple[Any, ...]]:
    return {i: (s["first_decision"], s["final_decision"], s["human_decision"], len(s["history"]))
            for i in (x[0] for x in SEED) for s in [store.get_item(i)]}


STRICTER = policy_text().replace("  message:\n    type: text\n    checks: [language, rules, classifier, spam]\n",
                                 "  message:\n    type: text\n    checks: [language, rules, classifier, spam]\n"
                                 "    categories:\n      contact_info: reject\n")


def test_backtest_of_a_stricter_policy_reports_exactly_the_items_whose_decision_changes(store: Store) -> None:
    current = parse_policy(policy_text())
    seed(store, current)
    before = stored_state(store)
    candidate = parse_policy(STRICTER, "stricter.yaml")
    bt = backtest(candidate, store_examples(store), LocalAnalyzers(candidate, DecodeLimits()))
    # contact details in a message go from review to reject; the rating was rejected already,
    # the trip description keeps the policy-wide review
    assert sorted(bt.changed) == ["m-phone-1", "m-phone-2"]
    s = bt.summary("store", "local", "test")
    assert s["transitions"] == {"review->reject": 2} and s["items"] == len(SEED)
    assert s["by_category"]["contact_info"]["after"] == {"reject": 3, "review": 1}
    # labeled automatic decisions: before, m-ok-1 and m-ok-2 approved (right) and the cash payment
    # approved (wrong: only a shadow rule saw it); after, the two phones rejected (right) too
    assert (s["precision"]["before"]["k"], s["precision"]["before"]["n"]) == (2, 3)
    assert (s["precision"]["after"]["k"], s["precision"]["after"]["n"]) == (4, 5)
    # the shadow rule fired on the cash payment, which a moderator rejected
    assert s["shadow_rules"]["payment.cash"]["hits"] == 1 and s["shadow_rules"]["payment.cash"]["precision"]["value"] == 1.0
    assert stored_state(store) == before  # nothing stored changed
    backtest_id = store.save_backtest("test", s)
    [row] = store.list_backtests()
    assert row["id"] == backtest_id and row["changed"] == 2 and row["summary"]["transitions"] == {"review->reject": 2}


def test_backtest_of_the_same_policy_changes_nothing(store: Store) -> None:
    current = parse_policy(policy_text())
    seed(store, current)
    bt = backtest(current, store_examples(store), LocalAnalyzers(current, DecodeLimits()))
    assert bt.changed == [] and bt.items == len(SEED)


def test_stored_labels_come_from_the_last_human_judgement(store: Store) -> None:
    seed(store, parse_policy(policy_text()))
    labeled = {e.item.id: e for batch in store_examples(store, labeled_only=True) for e in batch}
    assert set(labeled) == {i for i, _, _, d in SEED if d}
    assert labeled["m-phone-1"].labels == {"contact_info"} and labeled["m-ok-1"].labels == frozenset()
    assert labeled["m-insult"].labels == {"profanity_insult"}


def brute_force(policy: Policy, examples: list[Labeled], signals: list[Any], precision: float) -> tuple[Any, Any]:
    """The profanity entry's thresholds found by Policy.decide itself over the grid: first the
    reject threshold rejecting the most items at `precision` (ties: nearest the current one),
    then the review threshold approving the most reasons at `precision` under it."""
    current = policy.categories["profanity"]

    def with_(action: CategoryAction) -> Policy:
        return dataclasses.replace(policy, categories={**policy.categories, "profanity": action})

    without = with_(CategoryAction(fixed="ignore"))
    floor = [without.decide(ex.item, sig).decision.value for ex, sig in zip(examples, signals)]
    mine = [any(r.category == "profanity" and not (r.detail or {}).get("action") for r in sig.reasons) for sig in signals]

    def best(candidates: list[Any], count: Any, now: Any) -> Any:
        ranked = []
        for c in candidates:
            n, right = count(c)
            if not n or right >= precision * n:
                ranked.append(((n, -abs((2.0 if c is None else c) - (2.0 if now is None else now))), c))
        return max(ranked, key=lambda x: x[0])[1]

    def rejects(j: Any) -> tuple[int, int]:
        p = with_(CategoryAction(review=current.review, reject=j))
        hit = [ex for ex, sig, f in zip(examples, signals, floor) if f != "reject" and p.decide(ex.item, sig).decision.value == "reject"]
        return len(hit), sum(ex.harmful for ex in hit)

    reject = best([*GRID, None], rejects, current.reject)

    def approvals(r: Any) -> tuple[int, int]:
        p = with_(CategoryAction(review=r, reject=reject))
        hit = [ex for ex, sig, m in zip(examples, signals, mine) if m and p.decide(ex.item, sig).decision.value == "approve"]
        return len(hit), sum("profanity_insult" not in ex.labels for ex in hit)

    review = best([r for r in GRID if reject is None or r <= reject], approvals, current.review)
    return review, reject


def test_tune_proposes_what_policy_decide_finds_best_and_the_file_decides_it(store: Store) -> None:
    current = parse_policy(policy_text())
    texts = [("you absolute moron", "reject"), ("what a f*cking idiot", "reject"), ("you are so stupid and ugly", "reject"),
             ("shut up you idiot", "approve"), ("tu es un gros connard", "reject"), ("bonjour à tous", "approve"),
             ("I hate mondays so much", "approve"), ("idiot sandwich recipe", "approve"), ("what a lovely trip", "approve")]
    examples = [Labeled(Item(id=f"t{k}", type=ItemType.TEXT, context="message", author_id="a", text=t),
                        frozenset({"profanity_insult"}) if d == "reject" else frozenset(), "profanity_insult" if d == "reject" else "ok")
                for k, (t, d) in enumerate(texts)]
    signals = analyze_examples(LocalAnalyzers(current, DecodeLimits()), current, examples)
    assert any(r.category == "profanity" and r.source.value == "model" for s in signals for r in s.reasons)
    result = tune(current, examples, signals, precision=0.99)
    [p] = [p for p in result["proposals"] if p.entry.where == "categories.profanity"]
    assert (p.review, p.reject) == brute_force(current, examples, signals, 0.99)
    proposed = parse_policy(result["policy_text"])
    assert proposed.categories["profanity"] == CategoryAction(review=p.review, reject=p.reject)
    assert result["diff"].count("\n+  profanity:") == (1 if p.changed else 0)
