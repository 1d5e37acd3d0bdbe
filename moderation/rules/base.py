"""The Rule ABC: one compiled text rule, cheap to run on a batch of normalized texts.

A rule is built (and validated, and compiled) once, when the policy loads; `match`
is the hot path and must never parse configuration, compile a regex or raise on
hostile content. A rule kind is one class here or in a sibling module, registered in
`moderation.rules.loader.RULE_KINDS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from moderation.errors import PolicyError
from moderation.signals import TextInput
from moderation.types import Reason, Source


@dataclass(frozen=True)
class RuleSpec:
    """What the YAML said about a rule, kept for errors and for the examples check."""

    id: str
    kind: str
    category: str
    action: str | None  # "reject" | "review" | None (the category's thresholds decide)
    description: str = ""
    languages: tuple[str, ...] = ()
    contexts: tuple[str, ...] = ()
    shadow: bool = False
    score: float = 1.0
    params: dict[str, Any] = field(default_factory=dict)
    examples_match: tuple[str, ...] = ()
    examples_no_match: tuple[str, ...] = ()
    where: str = "?"  # file:line of the rule in the policy


class Rule(ABC):
    # A rule that reads the hits of earlier rules on the same text (kind `combine`) sets
    # `needs_hits`; `run_rules` then calls `match_with` instead of `match`. `refs` names
    # the rules it reads, which must come earlier in the policy (checked at load).
    needs_hits: bool = False
    refs: tuple[str, ...] = ()

    def __init__(self, spec: RuleSpec) -> None:
        self.spec = spec

    @staticmethod
    def check_params(params: dict[str, Any], known: frozenset[str] | set[str]) -> None:
        """Unknown parameters are errors, never ignored (compile_rule adds file:line)."""
        unknown = set(params) - set(known)
        if unknown:
            raise PolicyError(f"unknown parameters {sorted(unknown)} (known: {sorted(known)})")

    @property
    def id(self) -> str:
        return self.spec.id

    def applies_to(self, context: str, language: str | None) -> bool:
        context_ok = not self.spec.contexts or context in self.spec.contexts
        return context_ok and (not self.spec.languages or not language or language in self.spec.languages)

    @abstractmethod
    def match(self, text: TextInput) -> list[Reason]:
        """Reasons for every hit in this text, spans on the original text."""

    def match_with(self, text: TextInput, hits: Sequence[Reason]) -> list[Reason]:
        """Like `match`, also seeing the reasons of the rules run before it on this text."""
        return self.match(text)

    def reason(self, span: tuple[int, int], matched: str, **detail: Any) -> Reason:
        """A hit of this rule: its id, category and score, the span on the original text,
        and the rule-wide detail (action, shadow) beside the hit's own."""
        return Reason(
            source=Source.RULE,
            category=self.spec.category,
            detector=self.spec.id,
            score=self.spec.score,
            span=span,
            matched=matched,
            detail={**detail, **self.detail()},
        )

    def detail(self) -> dict[str, Any]:
        """What every reason of this rule carries besides its span: action and shadow flag."""
        out: dict[str, Any] = {}
        if self.spec.action:
            out["action"] = self.spec.action
        if self.spec.shadow:
            out["shadow"] = True
        return out
