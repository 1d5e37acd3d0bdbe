"""The automation figures of `moderation eval`: computed from decisions per true label,
as sent and reweighted to a realistic mix."""

from __future__ import annotations

import pytest

from moderation.evaluation import automation

# 100 acceptable texts and 20 harmful ones, decided as below.
DECIDED = {
    "ok": {"approve": 90, "review": 8, "reject": 2},
    "profanity_insult": {"approve": 2, "review": 8, "reject": 10},
}


def test_automation_as_sent_counts_every_item_once() -> None:
    a = automation(DECIDED)
    assert a["automation"] == pytest.approx((90 + 2 + 2 + 10) / 120)
    assert a["approve_precision"] == pytest.approx(90 / 92)
    assert a["reject_precision"] == pytest.approx(10 / 12)
    assert a["precision"] == pytest.approx((90 + 10) / (92 + 12))
    assert a["harm_approved"] == {"profanity_insult": pytest.approx(2 / 20)}


def test_automation_reweighted_gives_acceptable_items_their_share_of_the_mix() -> None:
    a = automation(DECIDED, ok_share=0.95)
    # each ok item weighs 0.95/100, each harmful one 0.05/20
    approved = 90 * 0.0095 + 2 * 0.0025
    rejected = 2 * 0.0095 + 10 * 0.0025
    assert a["automation"] == pytest.approx(approved + rejected)
    assert a["approve_precision"] == pytest.approx(90 * 0.0095 / approved)
    assert a["reject_precision"] == pytest.approx(10 * 0.0025 / rejected)
    assert a["harm_approved"] == automation(DECIDED)["harm_approved"]  # per label: a share of that label


def test_automation_without_decisions_says_nothing_rather_than_dividing_by_zero() -> None:
    a = automation({"ok": {"review": 3}})
    assert a["automation"] == 0.0 and a["approve_precision"] is None and a["reject_precision"] is None
