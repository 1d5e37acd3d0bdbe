"""The ONNX toxicity classifier: one probability of profanity / insult / hate per text.

The shipped model (`models/profanity-enfr.onnx`, card beside it) is a TF-IDF of word
1-2-grams and character 1-4-grams followed by a logistic regression, trained with
`moderation.text.training` and exported with skl2onnx, so the whole featurizer runs
inside onnxruntime and a batch of texts is one `session.run`.

The model sees `prepare_text(text)`, not the raw text: truncated to `MAX_MODEL_CHARS`
(a 1 MB message costs the same as a 2 kB one; abuse past the cut is left to the word
list rules, which see the whole text), control and invisible characters removed,
casefolded, accents stripped, leetspeak digits between letters decoded and s p a c e d
letters glued. Training applies the same function, so the two can never drift apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from moderation.models import MODELS_DIR, ModelError, load_session
from moderation.signals import TextInput, TextSignal
from moderation.types import Reason, Signals, Source

DEFAULT_MODEL = "profanity-enfr"
MAX_MODEL_CHARS = 2000

# C0/C1 controls become spaces; zero-width and soft-hyphen characters vanish (they split words).
_CONTROL = {c: " " for c in [*range(0x20), *range(0x7F, 0xA0)]}
_INVISIBLE = dict.fromkeys([0x00AD, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x180E])
_CLEAN_TABLE = {**_CONTROL, **_INVISIBLE}
_COMBINING = re.compile(r"[\u0300-\u036f]+")
_LEET_TABLE = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})
# A leet character only counts as a letter when a letter touches it ("p0rn", "sh!t", not "15 €").
_LEET = re.compile(r"(?<=[a-z])[013457@$!]+(?=[a-z])|(?<![a-z0-9])[@$](?=[a-z])")
_SPACED = re.compile(r"(?<![a-z])(?:[a-z][ .\-_*]){2,}[a-z](?![a-z])")
_SPACED_SEP = re.compile(r"[ .\-_*]")


def prepare_text(text: str) -> str:
    """The text as the model sees it; see the module docstring for each step and why."""
    # cut first, so that every later step is bounded
    cut = text[:MAX_MODEL_CHARS]
    # controls to spaces, zero-width characters away
    cleaned = cut.translate(_CLEAN_TABLE)
    # compatibility decomposition folds full-width and styled letters, then accents are dropped
    folded = _COMBINING.sub("", unicodedata.normalize("NFKD", cleaned.casefold()))
    # leetspeak digits and symbols inside words become the letters they stand for
    unleet = _LEET.sub(lambda m: m.group(0).translate(_LEET_TABLE), folded)
    # "d i e" and "d.i.e" become "die"
    glued = _SPACED.sub(lambda m: _SPACED_SEP.sub("", m.group(0)), unleet)
    # one space between words, none at the ends
    return " ".join(glued.split())


class ToxicityClassifier(TextSignal):
    """Scores each text with the shipped ONNX model; a reason when the score reaches `min_score`."""

    name = "classifier"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        min_score: float = 0.5,
        threads: int = 1,
        batch_size: int = 256,
        models_dir: Path = MODELS_DIR,
    ) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be in [0, 1], got {min_score}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self._session, self.manifest = load_session(model, threads=threads, models_dir=models_dir)
        self._input = self._session.get_inputs()[0].name
        self._output = str(self.manifest.meta.get("output", "probabilities"))
        self._positive = int(self.manifest.meta.get("positive_index", 1))
        self.min_score = float(min_score)
        self.batch_size = batch_size

    @property
    def detector(self) -> str:
        return self.manifest.tag

    def predict(self, texts: list[str]) -> np.ndarray:
        """Probability of profanity for each text, float32 of shape (len(texts),)."""
        out = np.empty(len(texts), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            chunk = [prepare_text(t) for t in texts[start : start + self.batch_size]]
            batch = np.array(chunk, dtype=object).reshape(-1, 1)
            try:
                (probs,) = self._session.run([self._output], {self._input: batch})
            except Exception as exc:  # onnxruntime raises its own untyped errors
                raise ModelError(f"{self.detector} failed on a batch: {exc}") from exc
            out[start : start + len(chunk)] = probs[:, self._positive]
        return out

    def analyze_batch(self, texts: Sequence[TextInput]) -> list[Signals]:
        scores = self.predict([t.item.text or "" for t in texts])
        results = []
        for p in scores.tolist():
            signals = Signals(scores={"profanity": p})
            if p >= self.min_score:
                signals.reasons.append(
                    Reason(source=Source.MODEL, category="profanity", detector=self.detector, score=p)
                )
            results.append(signals)
        return results

    def reconfigure(self, config: dict[str, Any]) -> None:
        """Accepts `min_score` only; an unknown key is a configuration error, not ignored."""
        unknown = set(config) - {"min_score"}
        if unknown:
            raise ValueError(f"unknown classifier settings: {sorted(unknown)}")
        if "min_score" in config:
            value = float(config["min_score"])
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"min_score must be in [0, 1], got {value}")
            self.min_score = value

