"""Throughput of the contact path: normalize + find_contacts, beside a naive regex loop.

Run: .venv/bin/python -m pytest benchmarks/bench_contact.py -o python_files='bench_*.py'
     --benchmark-only  (MODERATION_BENCH_QUICK=1 for a quick pass)

The texts are generated from a fixed seed: short carpooling messages, 70 % harmless
(prices, times, dates, plates), 30 % with a phone number or e-mail in one of several
disguises. The naive baseline is what one writes first: lower-case the text and loop over
a handful of compiled regular expressions; it misses most disguises, so it is the floor
for speed, not a competitor on quality.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest
from benchkit import QUICK, record, throughput

from moderation.text.contact import ContactDetector, find_contacts
from moderation.text.contact_corpus import (
    DEFAULT_SEED,
    evaluate_corpus,
    format_report,
    full_corpus,
)
from moderation.text.normalize import normalize, normalize_for_contacts

SEED = 20240611
N_TEXTS = 300 if QUICK else 3000

_HARMLESS = [
    "Départ {h}h{m:02d} de la gare, {p} € la place, {s} places dispo.",
    "Leaving at {h}:{m:02d}, £{p} per seat, {s} seats left.",
    "RDV au {n} rue de la Paix {cp} Paris le {d}/0{mo}.",
    "Mon train TGV {tr} arrive à {h}h{m:02d}, tu peux attendre {s}0 min ?",
    "Voiture grise immatriculée AB-{n}-CD, je suis au niveau -{s}.",
    "Trajet de {h}h{m:02d}, {km} km, super conducteur, {s}/5 ★★★★☆",
    "Référence de réservation BKG-{tr}{s}, {p} euros réglés.",
]
_CONTACT = [
    "appelle moi au 0{a} {b:02d} {c:02d} {d:02d} {e:02d}",
    "mon num +33 {a} {b:02d} {c:02d} {d:02d} {e:02d} 😉",
    "tel O{a}.{b:02d}.{c:02d}.{d:02d}.{e:02d} stp",
    "écris moi : prenom.nom{b}(at)gmail(dot)com",
    "whatsapp zéro {word} {b:02d} {c:02d} {d:02d} {e:02d}",
    "add me on insta @ride_{b}{c}",
    "0\u200b{a}\u200b{b:02d}\u200b{c:02d}\u200b{d:02d}\u200b{e:02d}",
]
_WORDS = {6: "six", 7: "sept"}


def _texts(n: int) -> list[str]:
    rng = random.Random(SEED)
    out = []
    for _ in range(n):
        values = {
            "h": rng.randint(5, 22), "m": rng.choice([0, 10, 15, 30, 45]), "p": rng.randint(5, 60),
            "s": rng.randint(1, 4), "n": rng.randint(1, 200), "cp": rng.randint(10000, 95999),
            "d": rng.randint(1, 28), "mo": rng.randint(1, 9), "tr": rng.randint(1000, 9999),
            "km": rng.randint(20, 900), "a": rng.choice([6, 7]), "b": rng.randint(10, 99),
            "c": rng.randint(0, 99), "e": rng.randint(0, 99),
        }
        values["word"] = _WORDS[values["a"]]
        pool = _CONTACT if rng.random() < 0.3 else _HARMLESS
        out.append(rng.choice(pool).format(**values))
    return out


_NAIVE = [
    re.compile(r"(?:\+|00)\d{2}[\s.\-]?\d(?:[\s.\-]?\d{2}){4}"),
    re.compile(r"0\d(?:[\s.\-]?\d{2}){4}"),
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
    re.compile(r"https?://\S+|www\.\S+"),
    re.compile(r"@\w{3,}"),
]


def naive_find(text: str) -> list[tuple[int, int]]:
    low = text.lower()
    return [m.span() for rx in _NAIVE for m in rx.finditer(low)]


def _run(fn: Callable[[str], object], texts: list[str]) -> int:
    for t in texts:
        fn(t)
    return len(texts)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    print(f"\nseed={SEED} texts={N_TEXTS} quick={QUICK}")
    return _texts(N_TEXTS)


@pytest.mark.benchmark(group="contact")
def test_bench_normalize(benchmark, texts):  # type: ignore[no-untyped-def]
    benchmark(_run, normalize, texts)
    throughput(benchmark, len(texts))


@pytest.mark.benchmark(group="contact")
def test_bench_normalize_for_contacts(benchmark, texts):  # type: ignore[no-untyped-def]
    benchmark(_run, normalize_for_contacts, texts)
    throughput(benchmark, len(texts))


@pytest.mark.benchmark(group="contact")
def test_bench_find_contacts(benchmark, texts):  # type: ignore[no-untyped-def]
    """Both views, as the pipeline runs them: word view for rules, contact view here."""

    def both(text: str) -> None:
        normalize(text)
        find_contacts(text)

    benchmark(_run, both, texts)
    record(benchmark, "contact", "ours", len(texts))


@pytest.mark.benchmark(group="contact")
def test_bench_naive_regex_loop(benchmark, texts):  # type: ignore[no-untyped-def]
    benchmark(_run, naive_find, texts)
    record(benchmark, "contact", "naive", len(texts))  # faster, but misses most disguises


def test_generated_texts_are_found(texts):  # type: ignore[no-untyped-def]
    """The benchmark measures real work: the contact texts are found, the others not."""
    flagged = sum(bool(find_contacts(t)) for t in texts)
    assert 0.2 * len(texts) < flagged < 0.4 * len(texts), flagged


def test_generated_corpus_table(capsys):  # type: ignore[no-untyped-def]
    """Recall per region, type and style and false alarms on the generated corpus (the
    table of benchmarks/README.md); the same with `python -m moderation.text.contact_corpus`."""
    report = evaluate_corpus(ContactDetector(), full_corpus(DEFAULT_SEED))
    with capsys.disabled():
        print(f"\ncorpus seed={DEFAULT_SEED}\n{format_report(report)}")
    assert report.positives("phone") and report.negatives()
