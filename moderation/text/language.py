"""Which language a message is in: English, French, or something else.

A character n-gram naive Bayes (1- to 3-grams of the casefolded text padded with spaces,
accents kept: "é", "ç" and " qu" are among the best French clues). The table is shipped
as `models/lang-enfr.npz` with a manifest and card beside it, built by
`models/build/build_lang_model.py` from the word frequencies that the `wordfreq` package
ships (a word's n-grams weighted by its frequency approximate running text).

It is trained on twelve languages so that German or Spanish do not fall to the nearer of
English and French; all but English and French are reported as "other". It is a dozen
numpy operations per batch, tens of thousands of short texts per second on one core.

Confidence is a softmax of the per-n-gram mean log-likelihoods scaled by `TEMPERATURE`:
naive Bayes sums are overconfident, and a mean keeps a long text's score comparable to a
short one's. A text with no letters is ("other", 0.0): no language, no confidence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moderation.models import MODELS_DIR, verified_manifest
from moderation.signals import TextInput, TextSignal
from moderation.types import Signals

DEFAULT_MODEL = "lang-enfr"
MAX_CHARS = 300  # the first sentences decide; a 1 MB text costs the same as a tweet
TEMPERATURE = 8.0
REPORTED = ("en", "fr")
_NOT_LETTERS = re.compile(r"[\W\d_]+")


@dataclass(frozen=True)
class LanguageModel:
    """The n-gram table: `index[ngram]` is a row of `logprob` (one column per language)."""

    languages: tuple[str, ...]
    index: dict[str, int]
    logprob: np.ndarray  # float32 [n_ngrams + 1, n_languages]; the last row is the unseen n-gram
    logprior: np.ndarray  # float32 [n_languages]
    orders: tuple[int, ...]
    version: str
    name: str

    @classmethod
    def load(cls, name: str = DEFAULT_MODEL, models_dir: Path = MODELS_DIR) -> LanguageModel:
        """Read the .npz after checking its sha256 against the manifest, like the ONNX models."""
        manifest = verified_manifest(name, models_dir)
        with np.load(manifest.path, allow_pickle=False) as data:
            ngrams = data["ngrams"].tolist()
            logprob = data["logprob"].astype(np.float32)
            logprior = data["logprior"].astype(np.float32)
            languages = tuple(data["languages"].tolist())
            orders = tuple(int(n) for n in data["orders"])
        return cls(languages=languages, index={g: i for i, g in enumerate(ngrams)}, logprob=logprob,
                   logprior=logprior, orders=orders, version=manifest.version, name=name)


def _letters(text: str) -> str:
    # casefold, letters only (digits and punctuation say nothing about the language), one space between words
    return " " + " ".join(_NOT_LETTERS.sub(" ", text[:MAX_CHARS].casefold()).split()) + " "


class LanguageDetector:
    """`detect` and `detect_batch` over a loaded `LanguageModel`."""

    def __init__(self, model: LanguageModel | None = None) -> None:
        self.model = model or LanguageModel.load()
        self._unseen = len(self.model.logprob) - 1
        self._report = np.array([self.model.languages.index(lang) for lang in REPORTED])

    def _ids(self, text: str) -> list[int]:
        padded = _letters(text)
        if len(padded) <= 2:
            return []
        get, unseen = self.model.index.get, self._unseen
        return [get(padded[i : i + n], unseen) for n in self.model.orders for i in range(len(padded) - n + 1)]

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """P(language | text) for every trained language, float32 [len(texts), n_languages]; rows of zeros for texts without letters."""
        ids = [self._ids(t) for t in texts]
        lengths = np.array([len(i) for i in ids], dtype=np.int64)
        out = np.zeros((len(texts), len(self.model.languages)), dtype=np.float32)
        has = lengths > 0
        if not has.any():
            return out
        flat = np.fromiter((j for row in ids for j in row), dtype=np.int64, count=int(lengths.sum()))
        # sum the log-probabilities of each text's n-grams in one pass over the flat id array
        starts = np.concatenate(([0], np.cumsum(lengths[has])[:-1]))
        sums = np.add.reduceat(self.model.logprob[flat], starts, axis=0)
        # prior added once per text, so it weighs less the longer the text; mean per n-gram, scaled, softmax
        logits = (sums + self.model.logprior) / lengths[has, None] * TEMPERATURE
        logits -= logits.max(axis=1, keepdims=True)
        expd = np.exp(logits)
        out[has] = expd / expd.sum(axis=1, keepdims=True)
        return out

    def detect_batch(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """("en" | "fr" | "other", probability of that answer) per text."""
        probs = self.probabilities(texts)
        reported = probs[:, self._report]
        other = 1.0 - reported.sum(axis=1)
        results = []
        for row, rest, total in zip(reported.tolist(), other.tolist(), probs.sum(axis=1).tolist()):
            if total == 0.0:
                results.append(("other", 0.0))
                continue
            best = int(np.argmax(row))
            if row[best] >= rest:
                results.append((REPORTED[best], round(row[best], 4)))
            else:
                results.append(("other", round(max(rest, 0.0), 4)))
        return results

    def detect(self, text: str) -> tuple[str, float]:
        return self.detect_batch([text])[0]


_default: LanguageDetector | None = None


def detect_language(text: str) -> tuple[str, float]:
    """("en" | "fr" | "other", confidence) with the shipped model, loaded on first use."""
    return detect_languages([text])[0]


def detect_languages(texts: Sequence[str]) -> list[tuple[str, float]]:
    """The batch form of `detect_language`."""
    global _default
    if _default is None:
        _default = LanguageDetector()
    return _default.detect_batch(texts)


class LanguageSignal(TextSignal):
    """Puts `language` and `language_confidence` in each item's features (no reasons, no scores)."""

    name = "language"

    def __init__(self, detector: LanguageDetector | None = None) -> None:
        self.detector = detector or LanguageDetector()

    def analyze_batch(self, texts: Sequence[TextInput]) -> list[Signals]:
        found = self.detector.detect_batch([t.item.text or "" for t in texts])
        return [Signals(features={"language": lang, "language_confidence": p}) for lang, p in found]
