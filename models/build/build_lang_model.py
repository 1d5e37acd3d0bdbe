"""Rebuild `models/lang-enfr.{npz,json,md}`: the n-gram table of `moderation.text.language`.

    python3 -m venv /tmp/clf-venv && /tmp/clf-venv/bin/pip install wordfreq==3.1.1 numpy
    /tmp/clf-venv/bin/python models/build/build_lang_model.py

For each language, the top `WORDS` words of wordfreq's "best" list, each padded with
spaces (" word "), give their 1- to 3-grams weighted by the word's frequency; the
`PER_LANG` most frequent n-grams of every language form the vocabulary. Log-probabilities
use add-`ALPHA` smoothing; the extra last row is the probability of an unseen n-gram.
Deterministic: the same wordfreq version gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import wordfreq

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
NAME = "lang-enfr"
VERSION = "1.0.0"
LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "pl", "tr", "ru", "ar", "zh")
ORDERS = (2, 3)
WORDS = 20_000
PER_LANG = 4_000
ALPHA = 0.5
# The service's traffic is mostly English and French: a prior that says so keeps short, slangy
# English ("ok lor, in da car park") from falling to whichever language has the nearest n-grams.
PRIOR = {"en": 0.4, "fr": 0.4}
_NOT_LETTERS = re.compile(r"[\W\d_]+")


def ngram_counts(lang: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    freqs = wordfreq.get_frequency_dict(lang, wordlist="best")
    for word, weight in sorted(freqs.items(), key=lambda kv: (-kv[1], kv[0]))[:WORDS]:
        # the same cleaning as moderation.text.language._letters
        cleaned = " ".join(_NOT_LETTERS.sub(" ", word.casefold()).split())
        if not cleaned:
            continue
        padded = f" {cleaned} "
        for n in ORDERS:
            for i in range(len(padded) - n + 1):
                gram = padded[i : i + n]
                if gram != " ":
                    counts[gram] += weight
    return counts


def build() -> tuple[bytes, dict]:
    counts = {lang: ngram_counts(lang) for lang in LANGUAGES}
    vocab = sorted({g for c in counts.values() for g, _ in c.most_common(PER_LANG)})
    in_vocab = set(vocab)
    table = np.zeros((len(vocab) + 1, len(LANGUAGES)), dtype=np.float64)
    for j, lang in enumerate(LANGUAGES):
        c = counts[lang]
        # counts scaled so the total is a pseudo-corpus of 1e6 n-grams, then add-alpha smoothing
        total = sum(c.values())
        col = np.array([c.get(g, 0.0) for g in vocab]) / total * 1e6
        unseen_mass = sum(v for g, v in c.items() if g not in in_vocab) / total * 1e6
        denom = col.sum() + unseen_mass + ALPHA * (len(vocab) + 1)
        table[:-1, j] = np.log((col + ALPHA) / denom)
        table[-1, j] = np.log((unseen_mass / max(len(c) - len(vocab), 1) + ALPHA) / denom)
    rest = (1.0 - sum(PRIOR.values())) / (len(LANGUAGES) - len(PRIOR))
    logprior = np.log(np.array([PRIOR.get(lang, rest) for lang in LANGUAGES]))
    buf = io.BytesIO()
    np.savez_compressed(buf, ngrams=np.array(vocab, dtype=np.str_), logprob=table.astype(np.float32),
                        logprior=logprior.astype(np.float32), languages=np.array(LANGUAGES, dtype=np.str_), orders=np.array(ORDERS, dtype=np.int64))
    meta = {
        "version": VERSION,
        "name": NAME,
        "format": "npz: ngrams str[V], logprob float32[V+1, L] (last row: unseen n-gram), logprior float32[L], languages str[L], orders int[]",
        "labels": ["en", "fr", "other"],
        "trained_languages": list(LANGUAGES),
        "source": f"built by models/build/build_lang_model.py from wordfreq 3.1.1 "
                  f"(top {WORDS} words per language, {PER_LANG} n-grams per language)",
        "license": "CC BY-SA 4.0 (derived from wordfreq's data; wordfreq by Robyn Speer, Apache-2.0 code, "
                   "CC BY-SA 4.0 data)",
        "training_data": "wordfreq 3.1.1 'best' word frequency lists (large where available) (Wikipedia, subtitles, news, books, web, "
                         "Reddit, Twitter) -- word frequencies only, no sentences",
    }
    return buf.getvalue(), meta


def main() -> int:
    data, meta = build()
    path = MODELS_DIR / f"{NAME}.npz"
    path.write_bytes(data)
    meta = {"file": path.name, "sha256": hashlib.sha256(data).hexdigest(), **meta}
    (MODELS_DIR / f"{NAME}.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")
    print(f"{path}: {len(data)} bytes, sha256 {meta['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
