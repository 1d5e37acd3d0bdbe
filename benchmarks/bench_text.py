"""The whole text path (normalize, language, rules, contact detectors, classifier) in
batches of 100, against the naive way: a Python loop over compiled regexes plus
`profanity_check.predict_prob` one text at a time.

Single process, one onnxruntime thread: items/s here is per core.
"""

from __future__ import annotations

import re

import pytest
from benchkit import QUICK, SEED, record
from data import texts

from moderation.config import DEFAULT_POLICY
from moderation.pipeline import TextAnalyzer, text_signals_for
from moderation.policy import load_policy
from moderation.types import Item, ItemType

N = 500 if QUICK else 3000
BATCH = 100


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return texts(N, SEED)


@pytest.fixture(scope="module")
def analyzer() -> TextAnalyzer:
    policy = load_policy(DEFAULT_POLICY)
    return TextAnalyzer(policy, text_signals=text_signals_for(policy))


@pytest.mark.benchmark(group="text-path")
def test_text_path_batched(benchmark, analyzer, corpus) -> None:
    items = [Item(id=str(i), type=ItemType.TEXT, context="message", author_id="a", text=t) for i, t in enumerate(corpus)]

    def run() -> int:
        n = 0
        for start in range(0, len(items), BATCH):
            n += len(analyzer.analyze(items[start : start + BATCH]))
        return n

    assert benchmark.pedantic(run, rounds=2 if QUICK else 5, warmup_rounds=1) == N
    record(benchmark, "text-path", "ours", N)


@pytest.mark.benchmark(group="text-path")
def test_text_path_naive(benchmark, corpus) -> None:
    profanity_check = pytest.importorskip("profanity_check")
    words = [w.strip() for w in (DEFAULT_POLICY.parent / "rules/lists/en.txt").read_text().splitlines() if w.strip()]
    words += [w.strip() for w in (DEFAULT_POLICY.parent / "rules/lists/fr.txt").read_text().splitlines() if w.strip()]
    # What a user would assemble: one compiled regex per concern, looped per text.
    patterns = [
        re.compile(r"(?:\+|00)?\d[\d .\-/]{7,}\d"),  # phone-like digit runs
        re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),  # e-mails
        re.compile(r"https?://\S+|www\.\S+"),  # links
        re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words[:200]) + r")\b", re.IGNORECASE),  # 200 words
    ]

    def run() -> int:
        flagged = 0
        for t in corpus[: max(50, N // 10)]:
            hit = any(p.search(t) for p in patterns)
            score = profanity_check.predict_prob([t])[0]
            flagged += hit or score > 0.5
        return flagged

    benchmark.pedantic(run, rounds=1 if QUICK else 3, warmup_rounds=1)
    record(benchmark, "text-path", "naive", max(50, N // 10))
