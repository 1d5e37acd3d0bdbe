"""The versioned policy: load and validate the YAML file, then decide(item, signals) -> Verdict.

Thresholds, lists and actions live in the policy file, never in code. Unknown keys,
contexts, categories or actions are errors, not silent fallbacks: a policy that does
not validate is refused with the file and line, and the running one stays.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from moderation.errors import PolicyError
from moderation.photos.banks import BankMatch
from moderation.photos.index import MatchThresholds
from moderation.rules.base import RuleSpec
from moderation.rules.keywords import word_list_paths
from moderation.rules.loader import compile_rules, parse_rule_spec
from moderation.text.campaigns import CampaignSettings
from moderation.types import (
    CATEGORIES,
    Decision,
    Item,
    ItemType,
    Reason,
    Signals,
    Source,
    Verdict,
)

TEXT_CHECKS = {"rules", "classifier", "language", "spam"}
PHOTO_CHECKS = {"hashes", "nudity", "profile"}
_TOP_KEYS = {"version", "categories", "hash_matching", "banks", "queues", "contexts", "rules", "review", "qa", "campaigns", "statements", "reports",
             "enforcement", "appeals"}
_FIXED_ACTIONS = {"approve", "review", "reject", "ignore"}


@dataclass(frozen=True)
class CategoryAction:
    """Either a fixed action, or thresholds on the reason's score."""

    fixed: str | None = None
    review: float | None = None
    reject: float | None = None

    def action_for(self, score: float) -> str:
        if self.fixed is not None:
            return self.fixed
        if self.reject is not None and score >= self.reject:
            return "reject"
        if self.review is not None and score >= self.review:
            return "review"
        return "ignore"


@dataclass(frozen=True)
class ContextPolicy:
    name: str
    type: ItemType
    checks: tuple[str, ...]
    categories: dict[str, CategoryAction] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueRule:
    name: str
    types: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    priority: int = 5
    sla_minutes: int = 120

    def accepts(self, item_type: str, categories: set[str]) -> bool:
        type_ok = not self.types or item_type in self.types
        return type_ok and (not self.categories or bool(categories & set(self.categories)))


@dataclass(frozen=True)
class BankPolicy:
    name: str
    category: str
    other_authors_only: bool = False


# The review and QA sections' keys; anything else is refused.
_REVIEW_KEYS = {
    "lease_seconds",
    "undo_seconds",
    "session_idle_minutes",
    "session_max_hours",
    "ban_rejected_photos",
    "remember_approved_photos",
    "webhook_retry_base_seconds",
    "webhook_retry_max_seconds",
    "webhook_max_attempts",
    "rule_alert_ratio",
    "rule_alert_min_hits",
    "decision_reasons",
}
_QA_KEYS = {"sample_auto", "second_review"}
# Reasons that say nothing against the image itself: banning it for them would reject
# everyone's copy, the owner's original first (a `duplicate` is by definition a copy of
# a photo another author uploaded earlier; a photo with no face is a fine car photo). The
# policy file may not make them ban; a moderator who sees banned content in such a photo
# bans it explicitly.
NEVER_BANNING = frozenset({"duplicate", "no_face", "low_quality", "invalid", "allowed_match"})


@dataclass(frozen=True)
class ReviewSettings:
    """The `review:` and `qa:` sections of the policy file, parsed with the rest of it:
    plain values, so a policy pickled to every Ray worker carries no import with it."""

    lease_seconds: float = 300.0
    undo_seconds: float = 10.0
    session_idle_minutes: float = 60.0
    session_max_hours: float = 12.0
    # category -> whether a photo a moderator rejects for it joins the `banned` bank;
    # unlisted: no (a ban needs a content category that says so, or a moderator)
    ban_rejected_photos: dict[str, bool] = field(default_factory=dict)
    remember_approved_photos: bool = True
    webhook_retry_base_seconds: float = 2.0
    webhook_retry_max_seconds: float = 600.0
    webhook_max_attempts: int = 25
    # a rule alerts when its share of the last 24 h's items is this many times its share of
    # the 7 days before, on at least this many items
    rule_alert_ratio: float = 3.0
    rule_alert_min_hits: int = 10
    qa_sample_auto: float = 0.0
    qa_second_review: float = 0.0
    # category -> reason code -> its label per language: the reasons a moderator may give
    # for a decision on an item of that category (the review UI's list)
    decision_reasons: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    def bans(self, category: str) -> bool:
        return self.ban_rejected_photos.get(category, False)

    def reasons_for(self, categories: Iterable[str]) -> dict[str, dict[str, str]]:
        """The decision reasons the policy offers for an item of these categories, each code
        once, in the file's order."""
        out: dict[str, dict[str, str]] = {}
        for c in categories:
            for code, labels in self.decision_reasons.get(c, {}).items():
                out.setdefault(code, labels)
        return out


def review_settings(review: Any, qa: Any) -> ReviewSettings:
    """Validate the review and QA sections; unknown keys or out-of-range values raise."""
    raw = dict(review or {})
    unknown = set(raw) - _REVIEW_KEYS
    if unknown:
        raise PolicyError(f"review: unknown keys {sorted(unknown)} (known: {sorted(_REVIEW_KEYS)})")
    qa_raw = qa if qa is not None else {}
    if not isinstance(qa_raw, dict) or set(qa_raw) - _QA_KEYS:
        raise PolicyError(f"qa: a mapping with keys {sorted(_QA_KEYS)}")
    reasons = decision_reasons(raw.pop("decision_reasons", {}) or {})
    bans = raw.pop("ban_rejected_photos", {}) or {}
    if not isinstance(bans, dict) or not all(isinstance(v, bool) for v in bans.values()):
        raise PolicyError("review: ban_rejected_photos maps a category to true or false")
    unknown = sorted(set(bans) - set(CATEGORIES))
    if unknown:
        raise PolicyError(f"review: ban_rejected_photos: unknown categories {unknown} (known: {', '.join(CATEGORIES)})")
    forbidden = sorted(c for c, v in bans.items() if v and c in NEVER_BANNING)
    if forbidden:
        raise PolicyError(f"review: ban_rejected_photos: {forbidden} never ban (they say nothing against the image itself)")
    try:
        ints = ("webhook_max_attempts", "rule_alert_min_hits")
        values = {k: float(v) for k, v in raw.items() if k != "remember_approved_photos" and k not in ints}
        values |= {k: int(raw[k]) for k in ints if k in raw}
        s = ReviewSettings(
            ban_rejected_photos=dict(bans),
            decision_reasons=reasons,
            remember_approved_photos=bool(raw.get("remember_approved_photos", True)),
            qa_sample_auto=float(qa_raw.get("sample_auto", 0.0)),
            qa_second_review=float(qa_raw.get("second_review", 0.0)),
            **values,
        )
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"review: {exc}") from exc
    if s.rule_alert_ratio <= 1 or s.rule_alert_min_hits < 1:
        raise PolicyError("review: rule_alert_ratio must be > 1 and rule_alert_min_hits >= 1")
    if s.lease_seconds <= 0 or s.undo_seconds < 0 or s.webhook_retry_base_seconds <= 0:
        raise PolicyError("review: lease_seconds and webhook_retry_base_seconds must be > 0, undo_seconds >= 0")
    if not (0.0 <= s.qa_sample_auto <= 1.0 and 0.0 <= s.qa_second_review <= 1.0):
        raise PolicyError("qa: shares lie in [0, 1]")
    return s


STATEMENT_LANGUAGES = ("en", "fr")
_STATEMENT_KEYS = {"appeal_days", "templates", "items", "grounds", "enforcement"}
# What an account enforcement says: the sentence (automated, or by a moderator) around the
# action's own words and the ground.
_ENFORCEMENT_TEXTS = {"automated", "human", "warn", "restrict", "suspend", "ban"}

_REASON_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


def decision_reasons(raw: Any) -> dict[str, dict[str, dict[str, str]]]:
    """`review.decision_reasons`: category -> {code: {en: label, fr: label}}. Unknown
    categories, codes that are not short snake_case words, or a label missing a language
    raise."""
    if not isinstance(raw, dict):
        raise PolicyError("review: decision_reasons maps a category to {code: {en: ..., fr: ...}}")
    raw = {k: v for k, v in raw.items() if k != "__line__"}
    unknown = sorted(set(raw) - set(CATEGORIES))
    if unknown:
        raise PolicyError(f"review: decision_reasons: unknown categories {unknown} (known: {', '.join(CATEGORIES)})")
    out: dict[str, dict[str, dict[str, str]]] = {}
    for category, codes in raw.items():
        codes = {k: v for k, v in (codes or {}).items() if k != "__line__"} if isinstance(codes, dict) else codes
        if not isinstance(codes, dict):
            raise PolicyError(f"review: decision_reasons: {category}: a mapping of reason codes to labels")
        out[category] = {}
        for code, labels in codes.items():
            if not isinstance(code, str) or not _REASON_CODE.fullmatch(code):
                raise PolicyError(f"review: decision_reasons: {category}: {code!r} is not a reason code (a-z, 0-9, _)")
            labels = {k: v for k, v in labels.items() if k != "__line__"} if isinstance(labels, dict) else labels
            if not isinstance(labels, dict) or set(labels) != set(STATEMENT_LANGUAGES) or not all(isinstance(v, str) and v.strip() for v in labels.values()):
                raise PolicyError(f"review: decision_reasons: {category}.{code}: a label in each of {', '.join(STATEMENT_LANGUAGES)}")
            out[category][code] = {k: str(v).strip() for k, v in labels.items()}
    return out


@dataclass(frozen=True)
class Statements:
    """The `statements:` section: what a member is told about a refusal, in their language
    (the DSA's Article 17 elements: the decision, its ground in the platform's rules,
    whether it was automated, how to appeal)."""

    appeal_days: int
    templates: dict[str, dict[str, str]]  # automated | human | appeal -> language -> text
    items: dict[str, dict[str, str]]  # item type -> language -> noun
    grounds: dict[str, dict[str, str]]  # category (or "other") -> language -> rule text
    # automated | human | warn | restrict | suspend | ban -> language -> text; empty: the
    # policy enforces nothing on accounts
    enforcement: dict[str, dict[str, str]] = field(default_factory=dict)

    def appeal_until(self, decided_at: datetime) -> datetime:
        """The last moment to appeal a decision made at `decided_at`: what the statement
        tells the member and what `POST /v1/appeals` holds them to."""
        if decided_at.tzinfo is None:  # SQLite gives back naive datetimes: they are UTC
            decided_at = decided_at.replace(tzinfo=UTC)
        return decided_at + timedelta(days=self.appeal_days)

    def _said(self, text: str, lang: str, category: str, automated: bool, decided_at: datetime) -> dict[str, Any]:
        """A statement's elements around its decision's sentence: the ground, automated or
        not, and how to appeal until when."""
        until = self.appeal_until(decided_at)
        how = self.templates["appeal"][lang].format(until=_day(until, lang))
        return {
            "text": f"{text} {how}",
            "locale": lang,
            "ground": {"category": category, "rule": self.grounds[category][lang]},
            "automated": automated,
            "appeal": {"possible": True, "until": until.isoformat(), "how": how},
        }

    def enforcement_statement(
        self, *, action: str, category: str, locale: str | None, automated: bool, decided_at: datetime, until: datetime | None = None,
    ) -> dict[str, Any]:
        """The statement of reasons of an action on a member's account (warn, restrict,
        suspend until `until`, ban): the same elements as an item's."""
        lang = language_of(locale)
        category = category if category in self.grounds else "other"
        words = self.enforcement[action][lang].format(until=_day(until, lang) if until else "")
        text = self.enforcement["automated" if automated else "human"][lang].format(action=words, ground=self.grounds[category][lang])
        return self._said(text, lang, category, automated, decided_at)

    def statement(
        self, *, decision: str | None, categories: Sequence[str], item_type: str, locale: str | None,
        automated: bool, decided_at: datetime,
    ) -> dict[str, Any] | None:
        """The statement of reasons of a decision that restricts a member; None for others.
        The ground is the first of `categories` (the reasons' order) the policy has a rule
        text for, else the generic one."""
        if decision != "reject":
            return None
        lang = language_of(locale)
        category = next((c for c in categories if c in self.grounds), "other")
        text = self.templates["automated" if automated else "human"][lang].format(
            item=self.items.get(item_type, self.items["text"])[lang], ground=self.grounds[category][lang]
        )
        return self._said(text, lang, category, automated, decided_at)


def decision_time(item: dict[str, Any]) -> datetime:
    """When the decision in force on a stored item (`Store.get_item`'s shape) was made: the
    moderator's, else the automatic one (its last change: an undo restores it anew). The
    appeal window runs from it, in the statement and in `POST /v1/appeals` alike."""
    human = item.get("human_decision") is not None
    at = (item.get("human_decided_at") if human else None) or item.get("updated_at") or item["created_at"]
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def language_of(locale: str | None) -> str:
    """The language a member is told things in: French for a French locale, else English."""
    return "fr" if (locale or "").lower().startswith("fr") else "en"


def _day(at: datetime, lang: str) -> str:
    return f"{at.date():%d/%m/%Y}" if lang == "fr" else f"{at.date():%d %B %Y}"


def _statements(raw: Any, origin: str) -> Statements:
    where = f"{origin}: statements"
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: the policy needs a statements section (what members are told)")
    raw = _strip_lines(raw)
    unknown = set(raw) - _STATEMENT_KEYS
    if unknown:
        raise PolicyError(f"{where}: unknown keys {sorted(unknown)}")

    def texts(section: str, keys: set[str], required: set[str]) -> dict[str, dict[str, str]]:
        value = raw.get(section)
        if not isinstance(value, dict):
            raise PolicyError(f"{where}: {section} must be a mapping")
        if set(value) - keys:
            raise PolicyError(f"{where}: {section}: unknown keys {sorted(set(value) - keys)}")
        if required - set(value):
            raise PolicyError(f"{where}: {section}: missing {sorted(required - set(value))}")
        for key, by_lang in value.items():
            if not isinstance(by_lang, dict) or set(by_lang) != set(STATEMENT_LANGUAGES) or not all(
                isinstance(t, str) and t.strip() for t in by_lang.values()
            ):
                raise PolicyError(f"{where}: {section}: {key} needs a text in each of {list(STATEMENT_LANGUAGES)}")
        return {k: dict(v) for k, v in value.items()}

    # every category that can refuse an item has its ground; allowed_match never refuses
    rejectable = set(CATEGORIES) - {"allowed_match"}
    grounds = texts("grounds", set(CATEGORIES) | {"other"}, rejectable | {"other"})
    templates = texts("templates", {"automated", "human", "appeal"}, {"automated", "human", "appeal"})
    items = texts("items", {t.value for t in ItemType}, {t.value for t in ItemType})
    enforcement = texts("enforcement", _ENFORCEMENT_TEXTS, _ENFORCEMENT_TEXTS) if "enforcement" in raw else {}
    for key, by_lang in enforcement.items():
        for lang, text in by_lang.items():
            try:
                text.format(action="x", ground="y", until="z")
            except (KeyError, IndexError, ValueError) as exc:
                raise PolicyError(f"{where}: enforcement: {key}: {lang}: {exc}") from None
    days = raw.get("appeal_days", 14)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 365:
        raise PolicyError(f"{where}: appeal_days must be a whole number of days in 1..365")
    for key, by_lang in templates.items():
        for lang, text in by_lang.items():
            try:
                text.format(item="x", ground="y", until="z")
            except (KeyError, IndexError, ValueError) as exc:
                raise PolicyError(f"{where}: templates: {key}: {lang}: {exc}") from None
    return Statements(appeal_days=days, templates=templates, items=items, grounds=grounds, enforcement=enforcement)


# What members may report besides the reason categories the `reports` section lists.
OTHER_REPORT_CATEGORY = "other"
_REPORTS_KEYS = {"queue", "categories", "prior_upheld", "prior_dismissed", "max_weight", "reopen_weight"}


@dataclass(frozen=True)
class ReportSettings:
    """The `reports:` section: what members may report, and how much a report weighs.

    A reporter's weight is the posterior odds that their next report is upheld, with a
    Beta(prior_upheld, prior_dismissed) prior over their past outcomes
    (`moderation.members.reports.reporter_weight`), capped at `max_weight`."""

    queue: str = "reports"
    categories: tuple[str, ...] = ("contact_info", "profanity", "sexual", "spam_link", "spam", "nudity", "suggestive", OTHER_REPORT_CATEGORY)
    prior_upheld: float = 1.0
    prior_dismissed: float = 1.0
    max_weight: float = 20.0
    # a case on an item already decided goes back to a human once its weight reaches this
    reopen_weight: float = 3.0


def report_settings(raw: Any) -> ReportSettings:
    """Validate the reports section; unknown keys, categories or out-of-range values raise."""
    raw = dict(raw or {})
    unknown = set(raw) - _REPORTS_KEYS
    if unknown:
        raise PolicyError(f"reports: unknown keys {sorted(unknown)} (known: {sorted(_REPORTS_KEYS)})")
    cats = raw.pop("categories", None)
    if cats is not None:
        if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
            raise PolicyError("reports: categories is a list of category names")
        bad = [c for c in cats if c not in CATEGORIES and c != OTHER_REPORT_CATEGORY]
        if bad:
            raise PolicyError(f"reports: unknown categories {bad} (known: {', '.join(CATEGORIES)}, {OTHER_REPORT_CATEGORY})")
        if OTHER_REPORT_CATEGORY not in cats:
            raise PolicyError(f"reports: categories must include {OTHER_REPORT_CATEGORY!r}, for what no category names")
    queue = raw.pop("queue", "reports")
    if not isinstance(queue, str) or not queue:
        raise PolicyError("reports: queue names a queue")
    try:
        if any(isinstance(v, bool) for v in raw.values()):
            raise ValueError("values must be numbers")
        s = ReportSettings(queue=queue, **({"categories": tuple(dict.fromkeys(cats))} if cats is not None else {}),
                           **{k: float(v) for k, v in raw.items()})
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"reports: {exc}") from exc
    if min(s.prior_upheld, s.prior_dismissed, s.max_weight, s.reopen_weight) <= 0:
        raise PolicyError("reports: prior_upheld, prior_dismissed, max_weight and reopen_weight must be > 0")
    return s


# The actions a strike threshold (or a moderator) takes on a member's account, mildest first.
ENFORCEMENT_ACTIONS = ("warn", "restrict", "suspend", "ban")


@dataclass(frozen=True)
class StrikeRule:
    """What one rejection for a category counts against its author, and for how long."""

    weight: int
    days: int


@dataclass(frozen=True)
class Threshold:
    """`action` once the author's live strike total reaches `strikes`; `days`: a suspension's length."""

    strikes: int
    action: str
    days: int | None = None

    def out(self) -> dict[str, Any]:
        return {"strikes": self.strikes, "action": self.action, "days": self.days}


@dataclass(frozen=True)
class EnforcementSettings:
    """The `enforcement:` section: every rejection counts a strike against its author, with
    a weight and an expiry per category (a category not listed counts none: a blurred
    photo is no offence); the live (unexpired) total crossing a threshold takes its action."""

    strikes: dict[str, StrikeRule]  # category (or "other") -> rule
    thresholds: tuple[Threshold, ...]  # ascending by strikes

    def crossed(self, before: int, after: int) -> list[Threshold]:
        """The thresholds a total going from `before` to `after` reaches, mildest first."""
        return [t for t in self.thresholds if before < t.strikes <= after]

    def next_threshold(self, total: int) -> Threshold | None:
        return next((t for t in self.thresholds if t.strikes > total), None)


def enforcement_settings(raw: Any) -> EnforcementSettings | None:
    """Validate the enforcement section (None when the policy has none: no strikes are counted)."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or set(raw) - {"strikes", "thresholds"}:
        raise PolicyError("enforcement: a mapping with keys strikes and thresholds")
    strikes_raw = raw.get("strikes") or {}
    if not isinstance(strikes_raw, dict) or not strikes_raw:
        raise PolicyError("enforcement: strikes maps categories to {weight, days}")
    strikes = {}
    for cat, rule in strikes_raw.items():
        if cat not in CATEGORIES and cat != OTHER_REPORT_CATEGORY:
            raise PolicyError(f"enforcement: strikes: unknown category {cat!r} (known: {', '.join(CATEGORIES)}, {OTHER_REPORT_CATEGORY})")
        if not isinstance(rule, dict) or set(rule) != {"weight", "days"} or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in rule.values()
        ):
            raise PolicyError(f"enforcement: strikes: {cat}: needs weight and days, whole numbers >= 1")
        strikes[cat] = StrikeRule(weight=rule["weight"], days=rule["days"])
    thresholds = []
    for k, t in enumerate(raw.get("thresholds") or []):
        where = f"enforcement: thresholds[{k}]"
        if not isinstance(t, dict) or not {"strikes", "action"} <= set(t) <= {"strikes", "action", "days"}:
            raise PolicyError(f"{where}: needs strikes and action (and days for suspend)")
        if t["action"] not in ENFORCEMENT_ACTIONS:
            raise PolicyError(f"{where}: action must be one of {', '.join(ENFORCEMENT_ACTIONS)}, not {t['action']!r}")
        if not isinstance(t["strikes"], int) or isinstance(t["strikes"], bool) or t["strikes"] < 1:
            raise PolicyError(f"{where}: strikes is a whole number >= 1")
        days = t.get("days")
        if (t["action"] == "suspend") != (days is not None):
            raise PolicyError(f"{where}: days goes with suspend, and only with it")
        if days is not None and (not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650):
            raise PolicyError(f"{where}: days is a whole number in 1..3650")
        thresholds.append(Threshold(strikes=t["strikes"], action=t["action"], days=days))
    if not thresholds:
        raise PolicyError("enforcement: thresholds lists at least one {strikes, action}")
    ordered = sorted(thresholds, key=lambda t: t.strikes)
    if ordered != thresholds or len({t.strikes for t in thresholds}) != len(thresholds):
        raise PolicyError("enforcement: thresholds go up, one action per strike total")
    severity = [ENFORCEMENT_ACTIONS.index(t.action) for t in thresholds]
    if severity != sorted(severity):
        raise PolicyError("enforcement: a higher threshold never takes a milder action")
    return EnforcementSettings(strikes=strikes, thresholds=tuple(thresholds))


@dataclass(frozen=True)
class AppealSettings:
    """The `appeals:` section: the queue appeals wait in (its SLA in `queues`); the window to
    appeal is `statements.appeal_days`, what the statement of reasons tells the member."""

    queue: str = "appeals"


def appeal_settings(raw: Any) -> AppealSettings:
    raw = dict(raw or {})
    if set(raw) - {"queue"}:
        raise PolicyError(f"appeals: unknown keys {sorted(set(raw) - {'queue'})} (known: ['queue'])")
    queue = raw.get("queue", "appeals")
    if not isinstance(queue, str) or not queue:
        raise PolicyError("appeals: queue names a queue")
    return AppealSettings(queue=queue)


@dataclass(frozen=True)
class Policy:
    version: str
    categories: dict[str, CategoryAction]
    contexts: dict[str, ContextPolicy]
    hash_matching: MatchThresholds
    banks: dict[str, BankPolicy]
    queues: tuple[QueueRule, ...]
    rules: tuple[RuleSpec, ...]
    review: ReviewSettings
    source: str
    campaigns: CampaignSettings | None = None  # copy-paste campaigns (check `spam`); None: not configured
    seen_bank_name: str = "seen"  # the file's `hash_matching.seen_bank`
    statements: Statements | None = None  # always set by parse_policy


    reports: ReportSettings = field(default_factory=ReportSettings)  # members' reports
    enforcement: EnforcementSettings | None = None  # strikes and account actions; None: none counted
    appeals: AppealSettings = field(default_factory=AppealSettings)

    def context(self, name: str) -> ContextPolicy:
        try:
            return self.contexts[name]
        except KeyError:
            raise PolicyError(f"unknown context {name!r}; the policy defines {sorted(self.contexts)}") from None

    def lowest_threshold(self, category: str, default: float = 0.5) -> float:
        """The lowest score at which any context acts on `category` (its review or reject
        threshold, policy-wide or a context's own); `default` when only fixed actions or
        none are set. A model states a reason from there, so that every threshold the
        file sets is one the model's reasons can reach."""
        actions = [self.categories.get(category)] + [c.categories.get(category) for c in self.contexts.values()]
        found = [t for a in actions if a is not None and a.fixed is None for t in (a.review, a.reject) if t is not None]
        return min(found, default=default)

    def action_for(self, context: str, reason: Reason) -> str:
        return self._action(context, reason.category, reason.score, reason.detail)

    def _action(self, context: str, category: str, score: float, detail: dict[str, Any] | None) -> str:
        """Shadow rules never act; then the context's own setting for the category, then
        the rule's declared action, then the policy-wide setting for the category."""
        if detail and detail.get("shadow"):
            return "ignore"
        ctx = self.contexts.get(context)
        if ctx is not None and category in ctx.categories:
            return ctx.categories[category].action_for(score)
        if detail and detail.get("action"):
            return str(detail["action"])
        rule = self.categories.get(category)
        if rule is None:
            return "review"  # a category the policy forgot is a human's call, never an approval
        return rule.action_for(score)

    def checks(self, context: str) -> tuple[str, ...]:
        """The checks a context runs (none for an unknown context)."""
        ctx = self.contexts.get(context)
        return ctx.checks if ctx else ()

    def decide(self, item: Item, signals: Signals) -> Verdict:
        """Every reason's action; the most severe wins, except that an `allowed` bank match
        approves (unless the photo is also banned, or invalid)."""
        actions = [(self.action_for(item.context, r), r) for r in signals.reasons]
        # An `allowed` match (a known-good photo) outweighs the models, never a banned match.
        overruled = any(r.category == "invalid" or (a == "reject" and r.source is Source.HASH) for a, r in actions)
        if any(a == "approve" for a, _ in actions) and not overruled:
            decision = Decision.APPROVE
        elif any(a == "reject" for a, _ in actions):
            decision = Decision.REJECT
        elif any(a == "review" for a, _ in actions):
            decision = Decision.REVIEW
        else:
            decision = Decision.APPROVE
        queue = None
        if decision is Decision.REVIEW:
            cats = {r.category for a, r in actions if a == "review"}
            queue = self.queue_for(item.type.value, cats)
        return Verdict(
            decision=decision,
            reasons=tuple(signals.reasons),
            scores=dict(signals.scores),
            policy_version=self.version,
            queue=queue,
        )

    @property
    def seen_bank(self) -> str | None:
        """Where an approved photo goes, by a moderator or automatically: the seen bank,
        unless `review.remember_approved_photos` is off or the bank is not defined."""
        seen = self.seen_bank_name
        return seen if self.review.remember_approved_photos and seen in self.banks else None

    def rejection_bans(self, context: str, reasons: Sequence[dict[str, Any]]) -> bool:
        """Whether a moderator's rejection of a photo bans it when the moderator does not
        say: when a category `review.ban_rejected_photos` marks as banning is among the
        reasons that sent it to review or rejected it (their action under this policy).
        Reasons that did not act (below their thresholds, shadow) do not count: a
        duplicate with a low nudity score is rejected as a duplicate, and not banned."""
        return any(
            self.review.bans(r.get("category", ""))
            and self._action(context, r.get("category", ""), float(r.get("score", 1.0)), r.get("detail")) in ("review", "reject")
            for r in reasons
        )

    def item_statement(self, item: dict[str, Any]) -> dict[str, Any] | None:
        """The statement of reasons of a stored item's current decision (`Store.get_item`'s
        shape): automated unless a moderator decided."""
        assert self.statements is not None
        return self.statements.statement(
            decision=item.get("final_decision") or item.get("first_decision"),
            categories=self._ground_order(item),
            item_type=item.get("type", "text"),
            locale=item.get("locale"),
            automated=item.get("human_decision") is None,
            decided_at=decision_time(item),
        )

    def _ground_order(self, item: dict[str, Any]) -> list[str]:
        # the ground is the reason that rejected, then one that sent it to review: a copy of
        # a banned photo is refused for the ban, not for being a copy
        severity = {"reject": 0, "review": 1}
        reasons = sorted(
            item.get("reasons") or [],
            key=lambda r: severity.get(
                self._action(item.get("context", ""), r.get("category", ""), float(r.get("score", 1.0)), r.get("detail")), 2
            ),
        )
        return [r.get("category", "") for r in reasons]

    def ground(self, item: dict[str, Any]) -> str:
        """The category a rejection of this item is grounded on (its statement's ground, the
        strike it counts): the reason that rejected, else the one that sent it to review,
        else `other`."""
        assert self.statements is not None
        return next((c for c in self._ground_order(item) if c in self.statements.grounds), "other")

    def bank_for_decision(self, item_type: str, decision: str, *, ban: bool) -> str | None:
        """The bank a human decision on a photo puts it in: a rejection that bans it (by
        the moderator's choice or `rejection_bans`), `banned`; an approval, the seen bank."""
        if item_type != "photo":
            return None
        if decision == "reject":
            return "banned" if ban and "banned" in self.banks else None
        return self.seen_bank

    def bank_reasons(self, matches: Sequence[BankMatch], author_id: str) -> list[Reason]:
        """Bank matches -> reasons: one per bank, named with entry and distance.

        In most banks the reason names the nearest entry. In a bank marked
        `other_authors_only` (the seen set) it names the earliest entry that matches (the
        lowest id: entries are numbered as photos join), whose author owns the photo; it
        counts only when that owner is another author. The owner re-uploading their photo
        is never a duplicate, even after a later copy of it by someone else was approved;
        a later copy by another author is the duplicate, naming the owner's upload."""
        # Each bank's chosen entry: the nearest (matches come best first), or the earliest.
        chosen: dict[str, BankMatch] = {}
        for m in matches:
            bank = self.banks.get(m.bank)
            if bank is None:
                continue
            if m.bank not in chosen or (bank.other_authors_only and m.entry_id < chosen[m.bank].entry_id):
                chosen[m.bank] = m
        out: list[Reason] = []
        for name, m in chosen.items():
            bank = self.banks[name]
            detail: dict[str, Any] = {"bank": m.bank, "hash_type": m.hash_type, "item_id": m.item_id}
            if bank.other_authors_only:
                if m.author_id == author_id:
                    continue
                detail["author_id"] = m.author_id
            out.append(
                Reason(
                    source=Source.HASH,
                    category=bank.category,
                    detector=f"bank:{m.bank}/{m.hash_type}",
                    score=m.similarity,
                    distance=m.distance,
                    entry_id=m.entry_id,
                    matched=f"{m.hash_type}:{m.hash_hex}",
                    detail=detail,
                )
            )
        return out

    def queue_for(self, item_type: str, categories: set[str]) -> str:
        """The first queue whose filters match; the members' reports and appeals queues
        take report cases and appeals only, whatever their filters."""
        for q in self.queues:
            if q.name not in (self.reports.queue, self.appeals.queue) and q.accepts(item_type, categories):
                return q.name
        return f"{item_type}s"

    def queue_rule(self, name: str) -> QueueRule:
        for q in self.queues:
            if q.name == name:
                return q
        return QueueRule(name=name)


class _LineLoader(yaml.SafeLoader):
    """Records each mapping's line as `__line__`, so errors can say file:line."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def _category_action(raw: Any, where: str) -> CategoryAction:
    if isinstance(raw, str):
        if raw not in _FIXED_ACTIONS:
            raise PolicyError(f"{where}: action must be one of {sorted(_FIXED_ACTIONS)}, not {raw!r}")
        return CategoryAction(fixed=raw)
    if isinstance(raw, dict):
        raw = _strip_lines(raw)
        unknown = set(raw) - {"review", "reject"}
        if unknown:
            raise PolicyError(f"{where}: unknown threshold keys {sorted(unknown)}")
        vals = {k: float(v) for k, v in raw.items()}
        if any(not 0.0 <= v <= 1.0 for v in vals.values()):
            raise PolicyError(f"{where}: thresholds must lie in [0, 1]")
        if "review" in vals and "reject" in vals and vals["review"] > vals["reject"]:
            raise PolicyError(f"{where}: review threshold above reject threshold")
        return CategoryAction(review=vals.get("review"), reject=vals.get("reject"))
    raise PolicyError(f"{where}: expected an action or thresholds, got {raw!r}")


def _categories(raw: Any, where: str) -> dict[str, CategoryAction]:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: categories must be a mapping")
    out = {}
    for cat, val in raw.items():
        if cat == "__line__":
            continue
        if cat not in CATEGORIES:
            raise PolicyError(f"{where}: unknown category {cat!r} (known: {', '.join(CATEGORIES)})")
        out[cat] = _category_action(val, f"{where}: {cat}")
    return out


def _campaigns(raw: Any, origin: str, contexts: dict[str, ContextPolicy]) -> CampaignSettings | None:
    """The `campaigns` section; required as soon as a context runs the `spam` check."""
    spam_contexts = sorted(n for n, c in contexts.items() if "spam" in c.checks)
    if raw is None:
        if spam_contexts:
            raise PolicyError(f"{origin}: contexts {spam_contexts} check spam but the policy has no campaigns section")
        return None
    where = f"{origin}:{raw.get('__line__', '?') if isinstance(raw, dict) else '?'}: campaigns"
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: must be a mapping")
    values = _strip_lines(raw)
    known = set(CampaignSettings.__dataclass_fields__)
    unknown = set(values) - known
    if unknown:
        raise PolicyError(f"{where}: unknown keys {sorted(unknown)} (known: {sorted(known)})")
    try:
        converted = {
            k: float(v) if k == "window_seconds" else int(v)
            for k, v in values.items()
            if not isinstance(v, bool)
        }
        if len(converted) != len(values):
            raise ValueError("values must be numbers")
        return CampaignSettings(**converted)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{where}: {exc}") from exc


def parse_policy(text: str, origin: str = "<policy>") -> Policy:
    """Validate a policy document completely, compiling its rules to run their examples."""
    try:
        raw = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{origin}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise PolicyError(f"{origin}: a policy is a mapping")
    unknown = set(raw) - _TOP_KEYS - {"__line__"}
    if unknown:
        raise PolicyError(f"{origin}: unknown top-level keys {sorted(unknown)}")
    if not raw.get("version"):
        raise PolicyError(f"{origin}: the policy needs a version")
    digest = hashlib.sha256(text.encode())

    categories = _categories(raw.get("categories") or {}, f"{origin}: categories")

    hm_raw = _strip_lines(raw.get("hash_matching") or {})
    seen_bank_name = str(hm_raw.pop("seen_bank", "seen"))
    try:
        hash_matching = MatchThresholds(**hm_raw)
    except (TypeError, ValueError) as exc:
        raise PolicyError(f"{origin}: hash_matching: {exc}") from exc

    banks = {}
    for name, b in _strip_lines(raw.get("banks") or {}).items():
        if b.get("category") not in CATEGORIES:
            raise PolicyError(f"{origin}: bank {name}: unknown category {b.get('category')!r}")
        banks[name] = BankPolicy(name=name, category=b["category"], other_authors_only=bool(b.get("other_authors_only")))

    queues = []
    for q in raw.get("queues") or []:
        where = f"{origin}:{q.get('__line__', '?')}"
        q = _strip_lines(q)
        try:
            queues.append(
                QueueRule(
                    name=q["name"],
                    types=tuple(q.get("types") or ()),
                    categories=tuple(q.get("categories") or ()),
                    priority=int(q.get("priority", 5)),
                    sla_minutes=int(q.get("sla_minutes", 120)),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PolicyError(f"{where}: queue: {exc}") from exc

    contexts = {}
    raw_contexts = raw.get("contexts") or {}
    if not isinstance(raw_contexts, dict) or not (set(raw_contexts) - {"__line__"}):
        raise PolicyError(f"{origin}: the policy needs at least one context")
    for name, c in raw_contexts.items():
        if name == "__line__":
            continue
        where = f"{origin}:{c.get('__line__', '?')}: context {name}"
        unknown = set(c) - {"type", "checks", "categories", "__line__"}
        if unknown:
            raise PolicyError(f"{where}: unknown keys {sorted(unknown)}")
        try:
            item_type = ItemType(c.get("type"))
        except ValueError:
            raise PolicyError(f"{where}: type must be text or photo") from None
        checks = tuple(c.get("checks") or ())
        allowed = TEXT_CHECKS if item_type is ItemType.TEXT else PHOTO_CHECKS
        bad = [x for x in checks if x not in allowed]
        if bad:
            raise PolicyError(f"{where}: unknown checks {bad} for {item_type.value} (known: {sorted(allowed)})")
        contexts[name] = ContextPolicy(
            name=name,
            type=item_type,
            checks=checks,
            categories=_categories(c.get("categories") or {}, where),
        )

    campaigns = _campaigns(raw.get("campaigns"), origin, contexts)

    specs = []
    for r in raw.get("rules") or []:
        where = f"{origin}:{r.get('__line__', '?')}"
        specs.append(parse_rule_spec(_strip_lines(r), where))
    # The version names what decides: the file and the word lists its rules read.

    for path in word_list_paths(specs):
        try:
            digest.update(path.read_bytes())
        except OSError:
            pass  # compile_rules below names the missing file
    version = f"{raw['version']}+{digest.hexdigest()[:8]}"
    compile_rules(specs)  # validates and runs every rule's examples

    try:
        review = review_settings(_strip_lines(raw.get("review") or {}), _strip_lines(raw.get("qa") or {}))
    except PolicyError as exc:
        raise PolicyError(f"{origin}: {exc.detail}") from exc
    raw_reports = raw.get("reports")
    if raw_reports is not None and not isinstance(raw_reports, dict):
        raise PolicyError(f"{origin}: reports: must be a mapping")
    try:
        reports = report_settings(_strip_lines(raw_reports or {}))
    except PolicyError as exc:
        raise PolicyError(f"{origin}:{(raw_reports or {}).get('__line__', '?')}: {exc.detail}") from exc
    try:
        enforcement = enforcement_settings(_strip_lines(raw.get("enforcement")))
        appeals = appeal_settings(_strip_lines(raw.get("appeals")))
    except PolicyError as exc:
        raise PolicyError(f"{origin}: {exc.detail}") from exc
    statements = _statements(raw.get("statements"), origin)
    if enforcement is not None and not statements.enforcement:
        raise PolicyError(f"{origin}: statements: enforcement: the policy enforces strikes, so it says what members are told of it")
    policy = Policy(
        version=version,
        categories=categories,
        contexts=contexts,
        hash_matching=hash_matching,
        banks=banks,
        queues=tuple(queues),
        rules=tuple(specs),
        review=review,
        source=text,
        campaigns=campaigns,
        seen_bank_name=seen_bank_name,
        statements=statements,


        reports=reports,
        enforcement=enforcement,
        appeals=appeals,
    )
    return policy


def load_policy(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy {path}: {exc}") from exc
    return parse_policy(text, str(path))
