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

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from moderation.models import MODELS_DIR, ModelError, verified_model
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
        manifest, raw = verified_model(name, models_dir)
        with np.load(io.BytesIO(raw), allow_pickle=False) as data:  # the bytes that were checked
            ngrams = data["ngrams"].tolist()
            logprob = data["logprob"].astype(np.float32)
            logprior = data["logprior"].astype(np.float32)
            languages = tuple(data["languages"].tolist())
            orders = tuple(int(n) for n in data["orders"])
        return cls(languages=languages, index={g: i for i, g in enumerate(ngrams)}, logprob=logprob,
                   logprior=logprior, orders=orders, version=manifest.version, name=name)


_MAX_PACKED_ORDER = 3  # three 21-bit code points fill an int64


def _codes(s: str) -> np.ndarray:
    """The code points of `s` as int64."""
    return np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


def _pack(grams: np.ndarray) -> np.ndarray:
    """Rows of n code points (n <= 3) as one int64 each; a code point fits in 21 bits."""
    packed = np.zeros(len(grams), dtype=np.int64)
    for j in range(grams.shape[1]):
        packed = (packed << 21) | grams[:, j]
    return packed


def _letters(text: str) -> str:
    # casefold, letters only (digits and punctuation say nothing about the language), one space between words
    return " " + " ".join(_NOT_LETTERS.sub(" ", text[:MAX_CHARS].casefold()).split()) + " "


class LanguageDetector:
    """`detect` and `detect_batch` over a loaded `LanguageModel`."""

    def __init__(self, model: LanguageModel | None = None) -> None:
        self.model = model or LanguageModel.load()
        self._unseen = len(self.model.logprob) - 1
        self._report = np.array([self.model.languages.index(lang) for lang in REPORTED])
        if max(self.model.orders) > _MAX_PACKED_ORDER:
            raise ModelError(f"{self.model.name}: n-grams longer than {_MAX_PACKED_ORDER} characters are not supported")
        # Per order, the n-grams packed into integers (sorted) and their rows: a batch's
        # n-grams are then looked up with one searchsorted instead of a dict get each.
        self._tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for n in self.model.orders:
            grams = [(g, i) for g, i in self.model.index.items() if len(g) == n]
            keys = _pack(_codes("".join(g for g, _ in grams)).reshape(-1, n)) if grams else np.empty(0, np.int64)
            rows = np.array([i for _, i in grams], dtype=np.int64)
            order = np.argsort(keys, kind="stable")
            self._tables[n] = (keys[order], rows[order])

    def _sums(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each text's summed n-gram log-probabilities [len(texts), n_languages] and its n-gram count.

        All texts of the batch are joined into one array of code points; per order, every
        window inside one text is packed, looked up, and summed per text by differences of
        one cumulative sum (a text's n-grams are contiguous in the joined array).
        """
        padded = [_letters(t) for t in texts]
        sizes = np.array([len(p) for p in padded], dtype=np.int64)
        codes = _codes("".join(padded))
        text_end = np.repeat(np.cumsum(sizes), sizes)  # where each character's text ends
        sums = np.zeros((len(texts), len(self.model.languages)), dtype=np.float64)
        counts = np.zeros(len(texts), dtype=np.int64)
        for n in self.model.orders:
            if len(codes) < n:
                continue
            # the n-gram starting at each position, kept when it lies inside one text
            inside = np.arange(len(codes) - n + 1) + n <= text_end[: len(codes) - n + 1]
            packed = _pack(np.lib.stride_tricks.sliding_window_view(codes, n)[inside])
            keys, table_rows = self._tables[n]
            if len(keys):
                at = np.searchsorted(keys, packed).clip(max=len(keys) - 1)
                rows = np.where(keys[at] == packed, table_rows[at], self._unseen)
            else:
                rows = np.full(len(packed), self._unseen)
            per_text = np.maximum(sizes - n + 1, 0)
            running = np.zeros((len(rows) + 1, sums.shape[1]), dtype=np.float64)
            np.cumsum(self.model.logprob[rows], axis=0, out=running[1:])
            bounds = np.concatenate(([0], np.cumsum(per_text)))
            sums += running[bounds[1:]] - running[bounds[:-1]]
            counts += per_text
        counts[sizes <= 2] = 0  # padding only: no letters, no language
        return sums, counts

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """P(language | text) for every trained language, float32 [len(texts), n_languages]; rows of zeros for texts without letters."""
        out = np.zeros((len(texts), len(self.model.languages)), dtype=np.float32)
        if not texts:
            return out
        sums, lengths = self._sums(texts)
        has = lengths > 0
        if not has.any():
            return out
        # prior added once per text, so it weighs less the longer the text; mean per n-gram, scaled, softmax
        logits = (sums[has] + self.model.logprior) / lengths[has, None] * TEMPERATURE
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


class LanguageSignal(TextSignal):
    """Sets each item's `language` and `language_confidence` (no reasons, no scores)."""

    name = "language"

    def __init__(self, detector: LanguageDetector | None = None) -> None:
        self.detector = detector or LanguageDetector()

    def analyze_batch(self, texts: Sequence[TextInput]) -> list[Signals]:
        found = self.detector.detect_batch([t.item.text or "" for t in texts])
        return [Signals(language=lang, language_confidence=p) for lang, p in found]
