"""Word and phrase lists, compiled once into an Aho-Corasick automaton.

Python's `re` with hundreds of alternations runs about 800 short texts/s here; the
automaton (pyahocorasick, a C extension) stays near 90,000/s with thousands of words,
which is why it is a dependency rather than hand-written.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import ahocorasick

from moderation.errors import PolicyError
from moderation.rules.base import Rule, RuleSpec
from moderation.signals import TextInput
from moderation.text.normalize import normalize
from moderation.types import Reason

LISTS_DIR = Path(__file__).resolve().parent


def word_list_paths(specs: Iterable[RuleSpec]) -> list[Path]:
    """The word-list files these rules read (`words_file`, relative to the lists folder):
    what the policy version digests and the service watches for changes."""
    return [LISTS_DIR / str(spec.params["words_file"]) for spec in specs if spec.params.get("words_file")]


def read_word_list(path: Path) -> list[str]:
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.append(line)
    return words


def _is_word_char(ch: str) -> bool:
    return ch.isalnum()


class KeywordRule(Rule):
    """Whole-word matches of a list on the normalized text."""

    def __init__(self, spec: RuleSpec) -> None:
        super().__init__(spec)
        self.check_params(spec.params, {"words", "words_file"})
        words: list[str] = list(spec.params.get("words", []))
        words_file = spec.params.get("words_file")
        if words_file:
            [path] = word_list_paths([spec])
            if not path.is_file():
                raise PolicyError(f"word list {words_file} not found")
            words.extend(read_word_list(path))
        if not words:
            raise PolicyError("no words")
        self._automaton = ahocorasick.Automaton()
        for word in words:
            # Normalize the list the same way as the texts, so "enculé" matches "3ncul3".
            key = normalize(word).text.strip()
            if key:
                self._automaton.add_word(key, (len(key), word))
        self._automaton.make_automaton()

    def match(self, text: TextInput) -> list[Reason]:
        norm = text.normalized
        s = norm.text
        reasons: list[Reason] = []
        for end, (length, word) in self._automaton.iter(s):
            start = end - length + 1
            # Whole words only: "classic" must not hit "ass".
            if start > 0 and _is_word_char(s[start - 1]):
                continue
            if end + 1 < len(s) and _is_word_char(s[end + 1]):
                continue
            span = norm.span_to_original(start, end + 1)
            reasons.append(self.reason(span, norm.original[span[0] : span[1]], term=word)
            )
        return reasons
