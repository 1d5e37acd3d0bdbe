"""Rule kinds regex, domains and combine: validation at load, matching, spans, ordering."""

from __future__ import annotations

import time

import pytest

from moderation.config import DEFAULT_POLICY
from moderation.errors import PolicyError
from moderation.pipeline import TextAnalyzer
from moderation.policy import parse_policy
from moderation.rules.loader import compile_rules, parse_rule_spec, run_rules
from moderation.rules.regex import compile_pattern
from moderation.signals import TextInput
from moderation.text.campaigns import CampaignWindow
from moderation.text.normalize import normalize
from moderation.types import Decision, Item, ItemType

BASE = DEFAULT_POLICY.read_text()


def spec(where: str = "p.yaml:1", **raw: object):  # type: ignore[no-untyped-def]
    raw.setdefault("category", "spam")
    return parse_rule_spec(raw, where)


def inp(text: str, context: str = "message") -> TextInput:
    item = Item(id="t", type=ItemType.TEXT, context=context, author_id="a", text=text)
    return TextInput(item=item, normalized=normalize(text))


def run(rules, text: str):  # type: ignore[no-untyped-def]
    return run_rules(rules, inp(text))


# -- regex ------------------------------------------------------------------------------


def test_regex_matches_the_normalized_text_and_maps_the_span_back() -> None:
    [rule] = compile_rules([spec(id="pay", kind="regex", pattern=r"\bpaypal\b")])
    text = "envoie sur P.A.Y.P.A.L stp"
    [hit] = run([rule], text)
    assert text[hit.span[0] : hit.span[1]] == "P.A.Y.P.A.L" == hit.matched
    assert hit.detector == "pay" and hit.detail == {"pattern": r"\bpaypal\b"}


def test_regex_on_original_sees_digits_and_ignores_case() -> None:
    [rule] = compile_rules([spec(id="ref", kind="regex", on="original", patterns=[r"\bREF-\d{4}\b"])])
    [hit] = run([rule], "code ref-1234 ok")
    assert hit.matched == "ref-1234"
    assert run([rule], "code ref-12 ok") == []


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"pattern": "(unclosed"}, "does not compile"),
        ({"pattern": "(a+)+b"}, "nests a repeat"),  # classic catastrophic backtracking
        ({"pattern": "(?:x*y?)*z"}, "nests a repeat"),  # inner star under outer star
        ({"pattern": "(a{2,})+"}, "nests a repeat"),  # unbounded inner
        ({"pattern": "a*"}, "matches the empty string"),  # would fire on every text
        ({"pattern": "x", "patterns": ["y"]}, "either `pattern` or `patterns`"),
        ({"pattern": "x", "flavour": "pcre"}, "unknown parameters ['flavour']"),
        ({"pattern": "x", "on": "both"}, "`on` must be"),
        ({"pattern": "x", "max_chars": 0}, "max_chars"),
    ],
)
def test_regex_rule_is_refused_at_load_with_file_and_line(raw: dict, message: str) -> None:
    with pytest.raises(PolicyError) as exc:
        compile_rules([spec("p.yaml:7", id="r", kind="regex", **raw)])
    assert exc.value.detail.startswith("p.yaml:7: rule r:")
    assert message in exc.value.detail


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?>a+)+b",  # atomic inner repeat: no backtracking into it
        r"(?:a++)+b",  # possessive inner repeat
        r"(?:ab){1,3}c{0,2}",  # bounded inside bounded
        r"\b(?:pay|paye)\b[^.]{0,40}?\bapp\b",  # the shipped shape: one bounded gap
    ],
)
def test_regex_safe_patterns_are_accepted(pattern: str) -> None:
    compile_pattern(pattern)


def test_regex_scans_only_max_chars() -> None:
    [rule] = compile_rules([spec(id="r", kind="regex", pattern="needle", max_chars=100)])
    assert run([rule], "abc " * 10 + "needle")
    assert run([rule], "abc " * 100 + "needle") == []


def test_regex_on_hostile_repetition_matches_only_what_is_there() -> None:
    [rule] = compile_rules([spec(id="r", kind="regex", pattern=r"\b(?:pay|paye)\b[^.!?]{0,40}?\b(?:hors|outside)\b")])
    assert run([rule], "pay " * 50_000) == []
    assert len(run([rule], "pay me outside the app. " + "pay " * 50_000)) == 1


# -- domains ----------------------------------------------------------------------------


def test_domains_deny_list_fires_on_subdomains_and_allow_wins() -> None:
    [rule] = compile_rules(
        [spec(id="deny", kind="domains", category="spam_link", action="reject", deny=["scam.com"], allow=["help.scam.com"])]
    )
    text = "va sur https://www.promo.scam.com/win ou help.scam.com ou www.blablacar.fr"
    [hit] = run([rule], text)
    assert hit.detail == {"domain": "scam.com", "action": "reject"}
    assert text[hit.span[0] : hit.span[1]].startswith("https://www.promo.scam.com")


def test_domains_reason_names_the_most_specific_listed_domain() -> None:
    [rule] = compile_rules([spec(id="deny", kind="domains", category="spam_link", deny=["example.com", "evil.example.com"])])
    [hit] = run([rule], "go to https://a.evil.example.com/x now")
    assert hit.detail["domain"] == "evil.example.com"


def test_domains_similar_names_do_not_fire() -> None:
    [rule] = compile_rules([spec(id="deny", kind="domains", category="spam_link", deny=["scam.com"])])
    assert run([rule], "notscam.com et scam.company.org") == []


@pytest.mark.parametrize(
    "raw, message",
    [
        ({}, "`deny` must be a non-empty list"),
        ({"deny": []}, "`deny` must be a non-empty list"),
        ({"deny": ["not a domain"]}, "is not a domain"),
        ({"deny": ["site.unknowntld"]}, "does not recognise"),  # would never fire
        ({"deny": ["a.com"], "kinds": ["url"]}, "unknown parameters ['kinds']"),
    ],
)
def test_domains_rule_is_refused_at_load(raw: dict, message: str) -> None:
    with pytest.raises(PolicyError) as exc:
        compile_rules([spec(id="d", kind="domains", category="spam_link", **raw)])
    assert message in exc.value.detail


# -- combine ----------------------------------------------------------------------------

MONEY = {"id": "money", "kind": "keywords", "words": ["paypal", "virement"]}
CONTACT = {"id": "phone", "kind": "contact", "category": "contact_info", "kinds": ["phone"]}


def combine(**raw: object):  # type: ignore[no-untyped-def]
    return compile_rules([spec(**MONEY), spec(**CONTACT), spec(id="combo", kind="combine", category="contact_info", action="reject", **raw)])


def test_combine_all_fires_once_with_the_earliest_contributing_span() -> None:
    rules = combine(all=["phone", "money"])
    text = "appelle 06 12 34 56 78 pour le paypal"
    hits = run(rules, text)
    [combo] = [h for h in hits if h.detector == "combo"]
    assert text[combo.span[0] : combo.span[1]] == "06 12 34 56 78"
    assert combo.detail == {"rules": ["money", "phone"], "action": "reject"}
    assert not [h for h in run(rules, "appelle 06 12 34 56 78") if h.detector == "combo"]


# Each case: the condition, a text that fires it, a text that does not.
@pytest.mark.parametrize(
    "raw, yes, no",
    [
        ({"any": ["money", "phone"]}, "virement", "bonjour"),
        ({"all": ["money"], "not": ["phone"]}, "virement", "virement au 06 12 34 56 78"),
        ({"min_count": {"rule": "money", "count": 2}}, "paypal ou virement", "paypal seulement"),
        ({"score_at_least": {"category": "contact_info", "score": 1.0}}, "au 06 12 34 56 78", "paypal"),
    ],
)
def test_combine_conditions(raw: dict, yes: str, no: str) -> None:
    rules = combine(**raw)
    assert [h for h in run(rules, yes) if h.detector == "combo"]
    assert not [h for h in run(rules, no) if h.detector == "combo"]


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"all": ["nope"]}, "refers to ['nope']"),  # unknown rule
        ({"not": ["money"]}, "`not` alone"),  # would fire on every text
        ({"all": ["combo"]}, "cannot refer to itself"),
        ({"min_count": {"rule": "money"}}, "`min_count` takes"),
        ({"score_at_least": {"category": "spammy", "score": 0.5}}, "unknown category"),
        ({"all": ["money"], "extra": 1}, "unknown parameters ['extra']"),
    ],
)
def test_combine_rule_is_refused_at_load(raw: dict, message: str) -> None:
    with pytest.raises(PolicyError) as exc:
        combine(**raw)
    assert message in exc.value.detail


def test_combine_must_come_after_the_rules_it_reads() -> None:
    with pytest.raises(PolicyError) as exc:
        compile_rules([spec("p.yaml:3", id="combo", kind="combine", all=["money"]), spec("p.yaml:9", **MONEY)])
    assert exc.value.detail.startswith("p.yaml:3: rule combo: refers to ['money']")


def test_combine_examples_run_after_the_earlier_rules() -> None:
    rules = compile_rules(
        [
            spec(**MONEY),
            spec(id="combo", kind="combine", all=["money"], examples={"match": ["paypal"], "no_match": ["bonjour"]}),
        ]
    )
    assert len(rules) == 2
    with pytest.raises(PolicyError, match="should match but does not"):
        compile_rules([spec(**MONEY), spec(id="combo", kind="combine", all=["money"], examples={"match": ["bonjour"]})])


# -- the shipped policy ------------------------------------------------------------------


def analyze(policy, text: str, context: str = "message"):  # type: ignore[no-untyped-def]
    analyzer = TextAnalyzer(policy)
    item = Item(id="t", type=ItemType.TEXT, context=context, author_id="a", text=text)
    [sig] = analyzer.analyze([item])
    return item, sig


def test_shipped_policy_rejects_contact_details_with_an_off_platform_payment() -> None:
    policy = parse_policy(BASE, "policy.yaml")
    item, sig = analyze(policy, "Payez-moi par PayPal, appelle-moi au 06 12 34 56 78")
    assert {"contact.details", "payment.off_platform", "contact.with_payment"} <= {r.detector for r in sig.reasons}
    assert policy.decide(item, sig).decision is Decision.REJECT


def test_shipped_policy_rejects_a_denied_domain() -> None:
    policy = parse_policy(BASE, "policy.yaml")
    item, sig = analyze(policy, "toutes mes photos sur onlyfans.com/julie")
    assert "links.denied" in {r.detector for r in sig.reasons}
    assert policy.decide(item, sig).decision is Decision.REJECT


def test_shipped_shadow_rule_is_recorded_but_never_decides() -> None:
    policy = parse_policy(BASE, "policy.yaml")
    item, sig = analyze(policy, "paiement en espèces à l'arrivée")
    [cash] = [r for r in sig.reasons if r.detector == "payment.cash"]
    assert cash.detail and cash.detail["shadow"] is True
    assert policy.decide(item, sig).decision is Decision.APPROVE


def test_policy_with_spam_check_needs_a_campaigns_section() -> None:
    start = BASE.index("campaigns:\n")
    end = BASE.index("\ncontexts:")
    with pytest.raises(PolicyError, match="check spam but the policy has no campaigns section"):
        parse_policy(BASE[:start] + BASE[end:], "policy.yaml")


@pytest.mark.parametrize(
    "edit, message",
    [
        (("min_authors: 3", "min_authors: 1"), "min_authors must be at least 2"),
        (("min_authors: 3", "min_authors: 3\n  surprise: 1"), "unknown keys ['surprise']"),
        (("min_authors: 3", "min_authors: three"), "campaigns"),
    ],
)
def test_invalid_campaigns_section_is_refused(edit: tuple[str, str], message: str) -> None:
    with pytest.raises(PolicyError) as exc:
        parse_policy(BASE.replace(*edit, 1), "policy.yaml")
    assert message in exc.value.detail and exc.value.detail.startswith("policy.yaml")


def test_analyzer_flags_the_third_author_through_a_local_window() -> None:
    policy = parse_policy(BASE, "policy.yaml")
    assert policy.campaigns is not None
    window = CampaignWindow(policy.campaigns)
    analyzer = TextAnalyzer(policy, campaigns=lambda batch: window.observe(list(batch), time.time()))
    text = "Bonjour, gagnez 300 euros par semaine en conduisant, écrivez-moi pour en savoir plus"
    items = [Item(id=f"i{k}", type=ItemType.TEXT, context="message", author_id=f"a{k}", text=text) for k in range(3)]
    sigs = analyzer.analyze(items)
    assert [any(r.category == "spam" for r in s.reasons) for s in sigs] == [False, False, True]
    [reason] = [r for r in sigs[2].reasons if r.detector == "campaign"]
    assert reason.detail == {"authors": 3, "window_seconds": 3600, "match": "exact"}
