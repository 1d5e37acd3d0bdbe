"""Combinations of earlier rules' hits on the same text: "contact details AND money words".

Parameters (all given conditions must hold; at least one besides `not`):
  all: [rule ids]             every one of them hit
  any: [rule ids]             at least one of them hit
  not: [rule ids]             none of them hit
  min_count: {rule: id, count: N}          that rule hit at least N times (or a list of such)
  score_at_least: {category: c, score: x}  a reason of category c so far scored >= x (or a list)

A combine rule reads only the reasons of the rules before it in the policy file (the
loader refuses a reference to a later or unknown rule), in this text's context and
language; model signals run after the rules, so `score_at_least` sees rule scores only.
Hits of shadow rules count: a shadow rule can be a building block of a live combination.
It fires one reason, with its own category and action, whose span is the earliest
contributing hit's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from moderation.errors import PolicyError
from moderation.rules.base import Rule, RuleSpec
from moderation.signals import TextInput
from moderation.types import CATEGORIES, Reason, Source

_PARAMS = {"all", "any", "not", "min_count", "score_at_least"}


def _ids(raw: Any, key: str) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) and x for x in raw):
        raise PolicyError(f"`{key}` must be a non-empty list of rule ids")
    return tuple(raw)


def _mappings(raw: Any, key: str, fields: dict[str, type]) -> tuple[dict[str, Any], ...]:
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for m in items:
        if not isinstance(m, dict) or set(m) != set(fields):
            raise PolicyError(f"`{key}` takes {{{', '.join(fields)}}}, not {m!r}")
        try:
            out.append({k: t(m[k]) for k, t in fields.items()})
        except (TypeError, ValueError) as exc:
            raise PolicyError(f"`{key}`: {exc}") from exc
    return tuple(out)


class CombineRule(Rule):
    needs_hits = True

    def __init__(self, spec: RuleSpec) -> None:
        super().__init__(spec)
        p = spec.params
        self.check_params(p, _PARAMS)
        self.all = _ids(p.get("all"), "all")
        self.any = _ids(p.get("any"), "any")
        self.none = _ids(p.get("not"), "not")
        self.min_count = _mappings(p.get("min_count"), "min_count", {"rule": str, "count": int})
        self.score_at_least = _mappings(p.get("score_at_least"), "score_at_least", {"category": str, "score": float})
        if not (self.all or self.any or self.min_count or self.score_at_least):
            raise PolicyError("a combine rule needs all, any, min_count or score_at_least (`not` alone would fire on every text)")
        for m in self.min_count:
            if m["count"] < 1:
                raise PolicyError("`min_count`: count must be at least 1")
        for m in self.score_at_least:
            if m["category"] not in CATEGORIES:
                raise PolicyError(f"`score_at_least`: unknown category {m['category']!r}")
            if not 0.0 <= m["score"] <= 1.0:
                raise PolicyError("`score_at_least`: score must lie in [0, 1]")
        refs = [*self.all, *self.any, *self.none, *(m["rule"] for m in self.min_count)]
        if spec.id in refs:
            raise PolicyError("a combine rule cannot refer to itself")
        self.refs = tuple(dict.fromkeys(refs))

    def match(self, text: TextInput) -> list[Reason]:
        return self.match_with(text, [])

    def match_with(self, text: TextInput, hits: Sequence[Reason]) -> list[Reason]:
        if not hits:
            return []  # every condition but `not` needs a hit: the common case costs nothing
        by_rule: dict[str, list[Reason]] = {}
        for r in hits:
            by_rule.setdefault(r.detector, []).append(r)
        contributing: list[Reason] = []
        for rid in self.all:
            if rid not in by_rule:
                return []
            contributing.extend(by_rule[rid])
        if self.any:
            fired = [r for rid in self.any for r in by_rule.get(rid, ())]
            if not fired:
                return []
            contributing.extend(fired)
        if any(rid in by_rule for rid in self.none):
            return []
        for m in self.min_count:
            got = by_rule.get(m["rule"], [])
            if len(got) < m["count"]:
                return []
            contributing.extend(got)
        for m in self.score_at_least:
            strong = [r for r in hits if r.category == m["category"] and r.score >= m["score"]]
            if not strong:
                return []
            contributing.extend(strong)
        spanned = [r for r in contributing if r.span is not None]
        first = min(spanned, key=lambda r: r.span) if spanned else None  # type: ignore[arg-type,return-value]
        return [
            Reason(
                source=Source.RULE,
                category=self.spec.category,
                detector=self.spec.id,
                score=self.spec.score,
                span=first.span if first else None,
                matched=first.matched if first else None,
                detail={"rules": sorted({r.detector for r in contributing}), **self.detail()},
            )
        ]
