"""Regular expressions, compiled once at load, matched on the normalized text by default.

Parameters: `pattern` (one) or `patterns` (a list); `on: normalized` (default: the
folded, leetspeak-decoded view of `moderation.text.normalize`, so patterns are written
in lower case without accents, and digits read as letters: "0" is "o") or
`on: original` (the characters the author typed, case-insensitive unless
`case_sensitive: true`); `max_chars` (default 5000): only that many leading characters
are scanned.

Python's `re` backtracks, so a pattern such as `(a+)+b` takes exponential time on
"aaaa...c". The loader refuses the usual culprit, a repeat inside a repeat where one of
the two is unbounded (`(a+)+`, `(?:x*y?)*`, `(a{2,})+`), unless the inner one is
possessive (`a++`) or atomic (`(?>a+)`), and refuses patterns that match the empty
string (they would fire on every text). Overlapping alternatives under a repeat
(`(a|a)*`) are not detected: `max_chars` bounds what such a pattern can cost.
"""

from __future__ import annotations

import re
import re._constants as sre_c
import re._parser as sre_parse
from typing import Any

from moderation.errors import PolicyError
from moderation.rules.base import Rule, RuleSpec
from moderation.signals import TextInput
from moderation.types import Reason

_PARAMS = {"pattern", "patterns", "on", "max_chars", "case_sensitive"}
_REPEATS = (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT)
DEFAULT_MAX_CHARS = 5000


def _nested_repeat(sub: Any, outer: str | None) -> bool:
    """True when a repeat sits inside another and one of them is unbounded.

    `outer` is None outside any multi-repeat, "bounded" or "unbounded" inside one.
    """
    for op, av in sub:
        if op in _REPEATS and av[1] > 1:
            unbounded = av[1] == sre_c.MAXREPEAT
            if outer == "unbounded" or (outer == "bounded" and unbounded):
                return True
            inner = "unbounded" if unbounded or outer == "unbounded" else "bounded"
            if _nested_repeat(av[2], inner):
                return True
        elif any(_nested_repeat(child, ctx) for child, ctx in _children(op, av, outer)):
            return True
    return False


def _children(op: object, av: object, outer: str | None) -> list[tuple[object, str | None]]:
    """The sub-patterns of one parsed node, each with the repeat context it runs in."""
    if op in _REPEATS:  # a repeat of at most one: its body keeps the outer context
        return [(av[2], outer)]  # type: ignore[index]
    if op is sre_c.POSSESSIVE_REPEAT:  # never gives characters back: safe inside anything
        return [(av[2], None)]  # type: ignore[index]
    if op is sre_c.ATOMIC_GROUP:
        return [(av, None)]
    if op is sre_c.SUBPATTERN:
        return [(av[3], outer)]  # type: ignore[index]
    if op is sre_c.BRANCH:
        return [(b, outer) for b in av[1]]  # type: ignore[index]
    if op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
        return [(av[1], outer)]  # type: ignore[index]
    if op is sre_c.GROUPREF_EXISTS:
        return [(b, outer) for b in av[1:] if b is not None]  # type: ignore[index]
    return []


def compile_pattern(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """Compile one rule pattern, refusing what would backtrack badly or match nothing."""
    if not isinstance(pattern, str) or not pattern:
        raise PolicyError(f"pattern must be a non-empty string, not {pattern!r}")
    try:
        compiled = re.compile(pattern, flags)
    except re.error as exc:
        raise PolicyError(f"pattern {pattern!r} does not compile: {exc}") from exc
    if _nested_repeat(sre_parse.parse(pattern, flags), None):
        raise PolicyError(
            f"pattern {pattern!r} nests a repeat inside a repeat (catastrophic backtracking); "
            "flatten it or make the inner repeat possessive (a++) or atomic ((?>...))"
        )
    if compiled.match("") is not None:
        raise PolicyError(f"pattern {pattern!r} matches the empty string")
    return compiled


class RegexRule(Rule):
    """Every match of any of the patterns; spans on the original text."""

    def __init__(self, spec: RuleSpec) -> None:
        super().__init__(spec)
        p = spec.params
        self.check_params(p, _PARAMS)
        if ("pattern" in p) == ("patterns" in p):
            raise PolicyError("give either `pattern` or `patterns`")
        patterns = [p["pattern"]] if "pattern" in p else p["patterns"]
        if not isinstance(patterns, list) or not patterns:
            raise PolicyError("`patterns` must be a non-empty list")
        self.on = p.get("on", "normalized")
        if self.on not in ("normalized", "original"):
            raise PolicyError(f"`on` must be normalized or original, not {self.on!r}")
        max_chars = p.get("max_chars", DEFAULT_MAX_CHARS)
        if not isinstance(max_chars, int) or isinstance(max_chars, bool) or max_chars < 1:
            raise PolicyError(f"`max_chars` must be a positive integer, not {max_chars!r}")
        self.max_chars = max_chars
        case_sensitive = p.get("case_sensitive", False)
        if not isinstance(case_sensitive, bool):
            raise PolicyError("`case_sensitive` must be true or false")
        flags = 0 if case_sensitive or self.on == "normalized" else re.IGNORECASE
        self.patterns = tuple(compile_pattern(x, flags) for x in patterns)

    def match(self, text: TextInput) -> list[Reason]:
        norm = text.normalized
        subject = (norm.text if self.on == "normalized" else norm.original)[: self.max_chars]
        out: list[Reason] = []
        for pattern in self.patterns:
            for m in pattern.finditer(subject):
                if m.start() == m.end():
                    continue
                span = norm.span_to_original(m.start(), m.end()) if self.on == "normalized" else (m.start(), m.end())
                out.append(self.reason(span, norm.original[span[0] : span[1]], pattern=pattern.pattern))
        return out
