"""YAML rule declarations -> compiled rules, refusing any rule whose own examples fail.

Errors name the policy file and the rule's line, so a bad edit is found at once and
the running policy stays in place (see `moderation.policy.load_policy`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from moderation.errors import PolicyError
from moderation.rules.base import Rule, RuleSpec
from moderation.rules.combine import CombineRule
from moderation.rules.contact import ContactRule
from moderation.rules.domains import DomainsRule
from moderation.rules.keywords import KeywordRule
from moderation.rules.regex import RegexRule
from moderation.signals import TextInput
from moderation.text.normalize import normalize
from moderation.types import CATEGORIES, Item, ItemType, Reason

# The registry: a rule kind is one class plus one line here.
RULE_KINDS: dict[str, Callable[[RuleSpec], Rule]] = {
    "keywords": KeywordRule,
    "contact": ContactRule,
    "regex": RegexRule,
    "domains": DomainsRule,
    "combine": CombineRule,
}

_SPEC_KEYS = {"id", "kind", "category", "action", "description", "languages", "contexts", "shadow", "score", "examples"}
_ACTIONS = {"reject", "review", None}


def parse_rule_spec(raw: dict[str, Any], where: str) -> RuleSpec:
    """Validate one YAML rule mapping; every unknown or missing field is an error."""
    for key in ("id", "kind", "category"):
        if not raw.get(key):
            raise PolicyError(f"{where}: rule is missing {key!r}")
    rid = str(raw["id"])
    if raw["kind"] not in RULE_KINDS:
        raise PolicyError(f"{where}: rule {rid}: unknown kind {raw['kind']!r} (known: {sorted(RULE_KINDS)})")
    if raw["category"] not in CATEGORIES:
        raise PolicyError(f"{where}: rule {rid}: unknown category {raw['category']!r}")
    action = raw.get("action")
    if action not in _ACTIONS:
        raise PolicyError(f"{where}: rule {rid}: action must be reject or review, not {action!r}")
    examples = raw.get("examples") or {}
    if not isinstance(examples, dict) or set(examples) - {"match", "no_match"}:
        raise PolicyError(f"{where}: rule {rid}: examples must be a mapping with match and no_match lists")
    # YAML 1.1 reads a bare `on:` key as the boolean true: it is the `on` parameter of a
    # regex rule, written as people write it. Any other key that is not a string is an error.
    raw = {("on" if k is True else k): v for k, v in raw.items()}
    odd = [k for k in raw if not isinstance(k, str)]
    if odd:
        raise PolicyError(f"{where}: rule {rid}: field names must be words, not {odd!r}")
    params = {k: v for k, v in raw.items() if k not in _SPEC_KEYS and not k.startswith("__")}
    return RuleSpec(
        id=rid,
        kind=str(raw["kind"]),
        category=str(raw["category"]),
        action=action,
        description=str(raw.get("description", "")),
        languages=tuple(raw.get("languages") or ()),
        contexts=tuple(raw.get("contexts") or ()),
        shadow=bool(raw.get("shadow", False)),
        score=float(raw.get("score", 1.0)),
        params=params,
        examples_match=tuple(str(x) for x in examples.get("match") or ()),
        examples_no_match=tuple(str(x) for x in examples.get("no_match") or ()),
        where=where,
    )


def _example_input(text: str) -> TextInput:
    item = Item(id="example", type=ItemType.TEXT, context="example", author_id="example", text=text)
    return TextInput(item=item, normalized=normalize(text))


def compile_rule(spec: RuleSpec, earlier: Sequence[Rule] = ()) -> Rule:
    """Build the rule and run its examples; a failing example refuses the rule.

    `earlier` are the rules before it in the policy: a rule that reads other rules' hits
    (kind `combine`) may only name those, and its examples run after them.
    """
    try:
        rule = RULE_KINDS[spec.kind](spec)
    except PolicyError as exc:  # rule classes say what is wrong; where it is is said here
        raise PolicyError(f"{spec.where}: rule {spec.id}: {exc.detail}") from exc
    except Exception as exc:  # a rule class's own validation error, translated at this boundary
        raise PolicyError(f"{spec.where}: rule {spec.id}: {exc}") from exc
    known = {r.id for r in earlier}
    missing = [ref for ref in rule.refs if ref not in known]
    if missing:
        raise PolicyError(
            f"{spec.where}: rule {spec.id}: refers to {missing}, which must be rules defined before it"
        )

    def hits(text: str) -> list[Reason]:
        inp = _example_input(text)
        if not rule.needs_hits:
            return rule.match(inp)
        so_far: list[Reason] = []
        for r in earlier:
            so_far.extend(r.match_with(inp, so_far) if r.needs_hits else r.match(inp))
        return rule.match_with(inp, so_far)

    for text in spec.examples_match:
        if not hits(text):
            raise PolicyError(f"{spec.where}: rule {spec.id}: example {text!r} should match but does not")
    for text in spec.examples_no_match:
        found = hits(text)
        if found:
            raise PolicyError(
                f"{spec.where}: rule {spec.id}: example {text!r} should not match but matches {found[0].matched!r}"
            )
    return rule


def compile_rules(specs: Sequence[RuleSpec]) -> list[Rule]:
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            raise PolicyError(f"{spec.where}: duplicate rule id {spec.id}")
        seen.add(spec.id)
    rules: list[Rule] = []
    for spec in specs:
        rules.append(compile_rule(spec, rules))
    return rules


def run_rules(rules: Sequence[Rule], text: TextInput, language: str | None = None) -> list[Reason]:
    out: list[Reason] = []
    for rule in rules:
        if rule.applies_to(text.item.context, language):
            out.extend(rule.match_with(text, out) if rule.needs_hits else rule.match(text))
    return out
