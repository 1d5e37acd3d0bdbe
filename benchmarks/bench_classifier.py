"""Toxicity classifier and language detection: batched ONNX against one text at a time.

Run: `.venv/bin/python -m pytest benchmarks/bench_classifier.py -p no:cacheprovider`
(`MODERATION_BENCH_QUICK=1` for a smoke run). The `alt-profanity-check` reference groups
need `alt-profanity-check==1.9.1` (and scikit-learn) and skip without it.

Groups, ours beside the naive way in each (every call scores the same N texts, so the
means compare directly; items/s is in each benchmark's extra_info):
* `classifier`: ours = `ToxicityClassifier.predict` in batches of 100 (one onnxruntime
  thread); naive = `profanity_check.predict_prob([text])` one text at a time, the way a
  request handler would call it; plus profanity_check on the whole list at once.
* `classifier-batch`: ours at batch sizes 1, 100 and 1000.
* `language`: `detect_batch` over all texts against `detect` one text at a time.
Data: seeded synthetic chat messages in English and French (about 60 characters); the
seed is printed.
"""

from __future__ import annotations

import random

import pytest
from benchkit import QUICK, record, throughput

from moderation.text.classifier import ToxicityClassifier
from moderation.text.language import LanguageDetector

SEED = 4242
N_TEXTS = 200 if QUICK else 2000
ROUNDS = 2 if QUICK else 5

OPENERS = ["Hi", "Salut", "Hello", "Bonjour", "Hey", "Coucou", "Thanks", "Merci"]
BODIES = [
    "I can pick you up at the station at {h}, {p} euros is fine",
    "je pars de Lyon vers Paris demain à {h}, {p} € par place",
    "the car is a grey Clio, I'll be there around {h}",
    "il reste {n} places, rendez-vous devant la gare à {h}",
    "you are such an idiot, you were {n} hours late",
    "espèce de connard, tu es arrivé avec {n} heures de retard",
    "great driver, very punctual, {n}/5",
    "super trajet, conduite souple, je recommande !",
]


def chat_texts(n: int, seed: int = SEED) -> list[str]:
    print(f"bench_classifier: seed={seed} texts={n}")
    rng = random.Random(seed)
    return [
        f"{rng.choice(OPENERS)}, "
        + rng.choice(BODIES).format(h=f"{rng.randint(5, 22)}h{rng.choice(['00', '30'])}", p=rng.randint(5, 60), n=rng.randint(1, 5))
        for _ in range(n)
    ]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return chat_texts(N_TEXTS)


def _reference():  # type: ignore[no-untyped-def]
    return pytest.importorskip("profanity_check", reason="alt-profanity-check==1.9.1 not installed")


@pytest.mark.benchmark(group="classifier")
def test_classifier_ours_batched(benchmark, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    clf = ToxicityClassifier(threads=1, batch_size=100)
    result = benchmark.pedantic(clf.predict, args=(texts,), rounds=ROUNDS, warmup_rounds=1)
    assert len(result) == len(texts)
    record(benchmark, "classifier", "ours", len(texts))


@pytest.mark.benchmark(group="classifier")
def test_classifier_naive_profanity_check_one_at_a_time(benchmark, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    ref = _reference()
    benchmark.pedantic(lambda: [ref.predict_prob([t])[0] for t in texts], rounds=ROUNDS, warmup_rounds=1)
    record(benchmark, "classifier", "naive", len(texts))


@pytest.mark.benchmark(group="classifier")
def test_classifier_profanity_check_whole_list(benchmark, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    ref = _reference()
    benchmark.pedantic(ref.predict_prob, args=(texts,), rounds=ROUNDS, warmup_rounds=1)
    throughput(benchmark, len(texts))  # not a side of the ratio: alt-profanity-check batched


@pytest.mark.benchmark(group="classifier-batch")
@pytest.mark.parametrize("batch_size", [1, 100, 1000])
def test_classifier_batch_size(benchmark, texts: list[str], batch_size: int) -> None:  # type: ignore[no-untyped-def]
    clf = ToxicityClassifier(threads=1, batch_size=batch_size)
    benchmark.pedantic(clf.predict, args=(texts,), rounds=ROUNDS, warmup_rounds=1)
    throughput(benchmark, len(texts))


@pytest.mark.benchmark(group="language")
def test_language_ours_batched(benchmark, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    det = LanguageDetector()
    found = benchmark.pedantic(det.detect_batch, args=(texts,), rounds=ROUNDS, warmup_rounds=1)
    assert {lang for lang, _ in found} <= {"en", "fr", "other"}
    record(benchmark, "language", "ours", len(texts))


@pytest.mark.benchmark(group="language")
def test_language_naive_one_at_a_time(benchmark, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    det = LanguageDetector()
    benchmark.pedantic(lambda: [det.detect(t) for t in texts], rounds=ROUNDS, warmup_rounds=1)
    record(benchmark, "language", "naive", len(texts))
