"""Copy-paste campaign fingerprints and the sliding window (no Ray)."""

from __future__ import annotations

import random

import pytest

from moderation.text.campaigns import (
    CampaignSettings,
    CampaignWindow,
    exact_key,
    hamming,
    simhash,
)
from moderation.text.normalize import normalize

SCAM = "Gagnez 500 euros par jour depuis chez vous, écrivez-moi vite pour savoir comment faire"


def norm(text: str) -> str:
    return normalize(text).text


def window(**kw: object) -> CampaignWindow:
    values: dict[str, object] = {"window_seconds": 3600, "min_authors": 3, "simhash_max_distance": 3, "min_chars": 20}
    values.update(kw)
    return CampaignWindow(CampaignSettings(**values))  # type: ignore[arg-type]


def test_exact_key_ignores_case_punctuation_and_spacing() -> None:
    assert exact_key(norm("GAGNEZ   500 euros !!")) == exact_key(norm("gagnez 500, euros"))


def test_simhash_golden_values_are_stable() -> None:
    # Pinned: a change of hash function or shingling would silently split running campaigns.
    assert f"{simhash('bonjour je cherche une place pour lyon'):016x}" == "967bf67040934c71"


def test_simhash_one_word_changed_stays_close_and_unrelated_text_is_far() -> None:
    base = simhash(norm(SCAM + " et gagner beaucoup plus chaque semaine avec notre méthode secrète"))
    edited = simhash(norm(SCAM + " et gagner beaucoup plus chaque mois avec notre méthode secrète"))
    other = simhash(norm("Départ de Lyon à 8h samedi, deux places libres, retour dimanche soir vers 19h"))
    # One word of 26 moves 3 of 24 shingles: about 15 bits here; unrelated texts sit near 32.
    assert hamming(base, edited) <= 16
    assert hamming(base, other) > 24


def test_third_author_with_the_same_text_makes_a_campaign() -> None:
    w = window()
    counts = w.observe([("a", norm(SCAM)), ("b", norm(SCAM.upper())), ("c", norm(SCAM + " !!"))], now=100.0)
    assert [c.authors for c in counts] == [1, 2, 3]
    assert counts[2].exact_authors == 3 and counts[2].first_seen == 100.0


def test_one_author_repeating_himself_is_not_a_campaign() -> None:
    w = window()
    counts = w.observe([("a", norm(SCAM))] * 5, now=0.0)
    assert {c.authors for c in counts} == {1}


def test_near_duplicate_counts_as_near_not_exact() -> None:
    w = window(simhash_max_distance=15)
    long = SCAM + " et gagner beaucoup plus chaque semaine avec notre méthode secrète et garantie"
    w.observe([("a", norm(long)), ("b", norm(long))], now=0.0)
    [c] = w.observe([("c", norm(long.replace("semaine", "mois")))], now=1.0)
    assert c.exact_authors == 1
    assert c.authors == 3


def test_texts_older_than_the_window_are_forgotten() -> None:
    w = window(window_seconds=60)
    w.observe([("a", norm(SCAM)), ("b", norm(SCAM))], now=0.0)
    [c] = w.observe([("c", norm(SCAM))], now=61.0)
    assert c.authors == 1
    assert len(w) == 1


def test_short_texts_are_not_counted() -> None:
    w = window(min_chars=40)
    counts = w.observe([(a, norm("merci beaucoup, à demain !")) for a in "abcd"], now=0.0)
    assert all(c.authors == 0 for c in counts)
    assert len(w) == 0


def test_max_texts_bounds_memory() -> None:
    w = window(max_texts=10)
    w.observe([(str(k), norm(f"{SCAM} numero {k}")) for k in range(50)], now=0.0)
    assert len(w) == 10


def test_configure_rebuilds_the_band_index_for_a_new_distance() -> None:
    w = window(simhash_max_distance=0)
    long = SCAM + " et gagner beaucoup plus chaque semaine avec notre méthode secrète et garantie"
    w.observe([("a", norm(long)), ("b", norm(long))], now=0.0)
    w.configure(CampaignSettings(window_seconds=3600, min_authors=3, simhash_max_distance=15, min_chars=20))
    [c] = w.observe([("c", norm(long.replace("semaine", "mois")))], now=1.0)
    assert c.authors == 3


def test_band_lookup_finds_every_hash_within_the_distance() -> None:
    # The pigeonhole index must agree with a brute-force scan.
    rng = random.Random(7)
    d = 3
    w = window(simhash_max_distance=d, min_authors=2)
    base = rng.getrandbits(64)
    hashes = [base ^ sum(1 << b for b in rng.sample(range(64), rng.randint(0, 6))) for _ in range(300)]
    for k, h in enumerate(hashes):
        w._seq += 1  # insert raw hashes through the private path: texts cannot target bits
        from moderation.text.campaigns import WindowEntry

        e = WindowEntry(w._seq, 0.0, f"author{k}", f"key{k}", h)
        w._entries.append(e)
        w._by_key.setdefault(e.key, {})[e.seq] = e
        w._index_bands(e)
    probe = base
    found = {e.author for bk in w._band_keys(probe) for e in w._by_band.get(bk, {}).values() if hamming(e.hash, probe) <= d}
    brute = {f"author{k}" for k, h in enumerate(hashes) if hamming(h, probe) <= d}
    assert found == brute and brute


@pytest.mark.parametrize(
    "kw",
    [
        {"min_authors": 1},  # one author is no campaign
        {"window_seconds": 0},  # an empty window
        {"simhash_max_distance": 40},  # most of the 64 bits: everything matches
        {"min_chars": 0},
    ],
)
def test_invalid_settings_are_refused(kw: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        CampaignSettings(**kw)  # type: ignore[arg-type]


def test_a_spam_wave_counts_at_most_the_author_limit_so_each_copy_costs_a_bounded_scan() -> None:
    from moderation.text.campaigns import AUTHORS_LIMIT

    window = CampaignWindow(CampaignSettings(window_seconds=3600, min_authors=3, simhash_max_distance=6, min_chars=20))
    text = "gagnez un iphone gratuit en cliquant sur mon profil maintenant"
    counts = window.observe([(f"author-{i}", text) for i in range(3 * AUTHORS_LIMIT)], now=1000.0)
    assert counts[2].authors == 3  # the third copy is already a campaign
    assert counts[-1].authors == AUTHORS_LIMIT  # "at least AUTHORS_LIMIT", not a count of every copy
