"""The policy file: validation with file:line errors, and how reasons become decisions."""

from __future__ import annotations

import re

import pytest
from review_helpers import policy

from moderation.config import DEFAULT_POLICY
from moderation.errors import PolicyError
from moderation.photos.banks import BankMatch
from moderation.policy import load_policy, parse_policy
from moderation.types import Decision, Item, ItemType, Reason, Signals, Source

BASE = DEFAULT_POLICY.read_text()


def item(context: str = "message", type_: ItemType = ItemType.TEXT) -> Item:
    return Item(id="i", type=type_, context=context, author_id="a", text="x")


def reason(category: str, score: float = 1.0, **detail: object) -> Reason:
    return Reason(source=Source.MODEL, category=category, detector="d", score=score, detail=detail or None)


def test_default_policy_loads_with_a_versioned_name() -> None:
    policy = load_policy(DEFAULT_POLICY)
    assert policy.version.startswith("2026.12.05+")
    assert {"message", "trip_description", "rating", "profile_photo", "car_photo"} <= set(policy.contexts)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace("contact_info: review", "contact_info: perhaps", 1), "perhaps"),  # unknown action
        (lambda t: t.replace("  spam: review\n", "  spammy: review\n", 1), "unknown category 'spammy'"),
        (lambda t: t.replace("checks: [hashes, nudity]", "checks: [hashes, telepathy]", 1), "telepathy"),
        (lambda t: t.replace('version: "2026.12.05"', "version:", 1), "needs a version"),
        (lambda t: t + "\nsurprise: 1\n", "unknown top-level keys ['surprise']"),
        (lambda t: re.sub(r"profanity: \{review: [\d.]+, reject: [\d.]+\}", "profanity: {review: 0.9, reject: 0.5}", t), "above reject"),
        (lambda t: t.replace("kind: keywords", "kind: telepathy"), "unknown kind 'telepathy'"),
        (lambda t: t.replace('"you absolute moron"', '"you absolute sweetheart"'), "should match but does not"),
        (lambda t: t.replace('no_match: ["bonjour, départ à 8h"', 'no_match: ["espèce de connard"'), "should not match"),
        (lambda t: t.replace("regions: [FR,", "regions: [XX,"), "unknown phone regions"),
        (lambda t: "version: [unclosed", "not valid YAML"),
    ],
)
def test_invalid_policy_is_refused_with_a_clear_message(edit, message: str) -> None:
    with pytest.raises(PolicyError) as exc:
        parse_policy(edit(BASE), "policy.yaml")
    assert message in exc.value.detail
    assert exc.value.detail.startswith("policy.yaml")


def test_rule_error_names_the_line_of_the_rule() -> None:
    text = BASE.replace('"you absolute moron"', '"you absolute sweetheart"')
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "id: profanity.words.en" in ln)
    with pytest.raises(PolicyError) as exc:
        parse_policy(text, "policy.yaml")
    assert exc.value.detail.startswith(f"policy.yaml:{line}:")


def test_most_severe_action_wins() -> None:
    policy = parse_policy(BASE)
    sig = Signals(reasons=[reason("contact_info"), reason("profanity", 1.0)])
    assert policy.decide(item(), sig).decision is Decision.REJECT


def test_score_below_every_threshold_is_ignored() -> None:
    policy = parse_policy(BASE)
    assert policy.decide(item(), Signals(reasons=[reason("profanity", 0.2)])).decision is Decision.APPROVE
    assert policy.decide(item(), Signals(reasons=[reason("profanity", 0.6)])).decision is Decision.REVIEW


def test_context_setting_overrides_the_rule_action() -> None:
    policy = parse_policy(BASE)
    sig = Signals(reasons=[reason("contact_info", action="review")])
    assert policy.decide(item("rating"), sig).decision is Decision.REJECT
    assert policy.decide(item("message"), sig).decision is Decision.REVIEW


def test_shadow_reason_is_kept_but_never_decides() -> None:
    policy = parse_policy(BASE)
    verdict = policy.decide(item(), Signals(reasons=[reason("profanity", 1.0, shadow=True)]))
    assert verdict.decision is Decision.APPROVE and len(verdict.reasons) == 1


def test_allowed_bank_match_approves_despite_model_scores() -> None:
    policy = parse_policy(BASE)
    sig = Signals(reasons=[reason("allowed_match"), reason("nudity", 0.5)])
    assert policy.decide(item("profile_photo", ItemType.PHOTO), sig).decision is Decision.APPROVE


def test_review_goes_to_the_first_matching_queue() -> None:
    policy = parse_policy(BASE)
    photo = item("profile_photo", ItemType.PHOTO)
    assert policy.decide(photo, Signals(reasons=[reason("nudity", 0.5)])).queue == "photos-sensitive"
    assert policy.decide(item(), Signals(reasons=[reason("contact_info")])).queue == "contact-info"
    assert policy.decide(photo, Signals(reasons=[reason("duplicate")])).queue == "photos"


def test_unknown_category_in_a_reason_is_a_bug() -> None:
    with pytest.raises(ValueError):
        Reason(source=Source.RULE, category="vibes", detector="x")


def test_invalid_review_section_is_refused() -> None:
    with pytest.raises(PolicyError) as exc:
        parse_policy(BASE.replace("lease_seconds: 300", "lease_seconds: -5"), "policy.yaml")
    assert "lease_seconds" in exc.value.detail
    with pytest.raises(PolicyError) as exc:
        parse_policy(BASE.replace("sample_auto: 0.0", "sample_auto: 3"), "policy.yaml")
    assert "qa" in exc.value.detail


def test_banned_match_outweighs_an_allowed_match() -> None:
    policy = parse_policy(BASE)
    hit = Reason(source=Source.HASH, category="banned_match", detector="bank:banned/pdq", distance=3)
    ok = Reason(source=Source.HASH, category="allowed_match", detector="bank:allowed/pdq", distance=3)
    verdict = policy.decide(item("profile_photo", ItemType.PHOTO), Signals(reasons=[ok, hit]))
    assert verdict.decision is Decision.REJECT


def test_a_rule_with_an_unknown_parameter_is_refused() -> None:
    text = BASE.replace("    words_file: lists/en.txt\n", "    words_file: lists/en.txt\n    wordz: [typo]\n", 1)
    with pytest.raises(PolicyError) as exc:
        parse_policy(text, "policy.yaml")
    assert "unknown parameters ['wordz']" in exc.value.detail and exc.value.detail.startswith("policy.yaml:")


def test_a_reload_that_turns_a_check_on_loads_its_model_and_keeps_the_loaded_ones() -> None:
    from moderation.pipeline import photo_signals_for, text_signals_for

    text = DEFAULT_POLICY.read_text()
    without = parse_policy(text.replace("checks: [language, rules, classifier, spam]", "checks: [language, rules, spam]")
                           .replace("checks: [hashes, nudity, profile]", "checks: [hashes]")
                           .replace("checks: [hashes, nudity]", "checks: [hashes]"))
    before = text_signals_for(without)
    assert set(before) == {"language"} and photo_signals_for(without) == {}
    after = text_signals_for(load_policy(DEFAULT_POLICY), before)
    assert set(after) == {"language", "classifier"} and after["language"] is before["language"]
    photos = photo_signals_for(load_policy(DEFAULT_POLICY))
    assert photos["profile"].detector is photos["nudity"]  # one detector for both checks
    assert photo_signals_for(load_policy(DEFAULT_POLICY), photos)["nudity"] is photos["nudity"]


@pytest.mark.parametrize(
    "review, qa",
    [
        ("  lease_secs: 3\n", ""),  # unknown key
        ("  lease_seconds: 0\n", ""),  # a lease must last
        ("", "  sample_auto: 1.5\n"),  # a share above 1
        ("", "  sample_everything: 0.1\n"),  # unknown qa key
        ("  ban_rejected_photos: {nudity: maybe}\n", ""),  # not a boolean
        ("  ban_rejected_photos: {nudes: true}\n", ""),  # unknown category
        ("  ban_rejected_photos: {duplicate: true}\n", ""),  # would ban the owner's original
        ("  ban_rejected_photos: {no_face: true}\n", ""),  # says nothing against the image
    ],
)
def test_bad_review_settings_are_refused(review: str, qa: str) -> None:
    with pytest.raises(PolicyError):
        policy(review, qa)


def test_approved_photos_join_the_seen_bank_unless_the_policy_says_not() -> None:
    # One rule for moderators' approvals and automatic ones (Policy.seen_bank).
    assert policy().seen_bank == "seen"
    assert policy(review="  remember_approved_photos: false\n").seen_bank is None


def stored(category: str, score: float = 1.0) -> dict[str, object]:
    """A reason as an item stores it."""
    return reason(category, score).to_dict()


@pytest.mark.parametrize(
    "reasons, bans",
    [
        ([stored("nudity", 0.8)], True),  # content, rejected automatically
        ([stored("nudity", 0.5)], True),  # content, sent to review
        ([stored("banned_match")], True),  # a copy of banned content
        ([stored("duplicate")], False),  # a copy of another author's photo: the owner's must stay
        ([stored("no_face")], False),  # a fine car photo
        ([stored("low_quality")], False),
        ([stored("suggestive", 0.7)], False),  # borderline: the moderator bans it explicitly
        ([stored("duplicate"), stored("nudity", 0.2)], False),  # the nudity score did not act
        ([stored("duplicate"), stored("nudity", 0.5)], True),  # both sent it to review
        ([], False),
    ],
)
def test_rejection_bans_a_photo_only_for_a_content_reason_that_acted(reasons: list[dict[str, object]], bans: bool) -> None:
    assert policy().rejection_bans("car_photo", reasons) is bans


def test_a_category_the_policy_does_not_list_never_bans() -> None:
    only_nudity = policy(review="  ban_rejected_photos: {nudity: true}\n")
    assert only_nudity.rejection_bans("car_photo", [stored("nudity", 0.8)])
    assert not only_nudity.rejection_bans("car_photo", [stored("banned_match")])


def test_a_human_decision_puts_a_photo_in_a_bank_only_when_it_bans_or_approves() -> None:
    p = policy()
    assert p.bank_for_decision("photo", "reject", ban=True) == "banned"
    assert p.bank_for_decision("photo", "reject", ban=False) is None
    assert p.bank_for_decision("photo", "approve", ban=False) == "seen"
    assert p.bank_for_decision("text", "reject", ban=True) is None


def _seen(entry_id: int, distance: int, author: str, item_id: str) -> BankMatch:
    return BankMatch("seen", entry_id, "phash", distance, author, item_id, "00" * 8)


def test_the_earliest_upload_owns_the_photo_and_a_later_copy_is_the_duplicate() -> None:
    # Marie's photo joined `seen` first (entry 2); a copy by u-x was approved later (entry
    # 5) and is nearer to the query. Matches come nearest first.
    matches = [_seen(5, 1, "u-x", "x-1"), _seen(2, 3, "u-marie", "marie-1")]
    p = parse_policy(BASE)
    assert p.bank_reasons(matches, "u-marie") == []  # the owner re-uploading: never a duplicate
    for author in ("u-x", "u-y"):
        [dup] = p.bank_reasons(matches, author)
        assert dup.category == "duplicate" and dup.entry_id == 2 and dup.distance == 3
        assert dup.detail == {"bank": "seen", "hash_type": "phash", "item_id": "marie-1", "author_id": "u-marie"}


def test_statement_of_reasons_follows_locale_automation_and_the_policy_rule_texts() -> None:
    from datetime import UTC, datetime, timedelta

    statements = load_policy(DEFAULT_POLICY).statements
    at = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    fr = statements.statement(decision="reject", categories=["contact_info"], item_type="text", locale="fr-FR", automated=True, decided_at=at)
    assert fr["locale"] == "fr" and fr["automated"] is True and fr["ground"]["category"] == "contact_info"
    assert fr["text"].startswith("Nous avons refusé votre message automatiquement") and "19/12/2026" in fr["text"]
    assert fr["appeal"]["until"] == (at + timedelta(days=14)).isoformat()
    en = statements.statement(decision="reject", categories=["allowed_match", "nudity"], item_type="photo", locale=None, automated=False, decided_at=at)
    assert en["locale"] == "en" and en["text"].startswith("A moderator refused your photo: nudity") and en["ground"]["category"] == "nudity"
    assert statements.statement(decision="reject", categories=[], item_type="text", locale="en", automated=True, decided_at=at)["ground"]["category"] == "other"
    assert statements.statement(decision="approve", categories=["nudity"], item_type="photo", locale="en", automated=True, decided_at=at) is None


@pytest.mark.parametrize(
    "broken",
    [
        ("      en: \"nudity is not allowed.\"\n      fr: \"la nudité est interdite.\"\n", "      en: \"nudity is not allowed.\"\n"),  # a language missing
        ("  appeal_days: 14\n", "  appeal_days: 0\n"),  # no time to appeal
        ("{ground}\"\n      fr: \"Nous", "{grond}\"\n      fr: \"Nous"),  # a template naming an unknown field
    ],
)
def test_statements_that_cannot_be_shown_are_refused(broken: tuple[str, str]) -> None:
    text = DEFAULT_POLICY.read_text()
    assert broken[0] in text
    with pytest.raises(PolicyError):
        parse_policy(text.replace(broken[0], broken[1], 1))


def _with_reports(section: str) -> str:
    """The shipped policy with its reports section replaced."""
    text = DEFAULT_POLICY.read_text(encoding="utf-8")
    start = text.index("\nreports:\n")
    end = text.index("\n\n", start + 1)
    return text[:start] + "\nreports:\n" + section + text[end:]


def test_reports_section_is_parsed_and_its_queue_takes_no_review_decision() -> None:
    p = parse_policy(_with_reports("  reopen_weight: 5\n  categories: [profanity, other]\n"))
    assert p.reports.reopen_weight == 5.0 and p.reports.categories == ("profanity", "other")
    assert p.reports.queue == "reports" and p.queue_rule("reports").priority == 2
    # the reports queue has no filter, yet an item's review decision never lands there
    assert {p.queue_for(t, set()) for t in ("text", "photo")} == {"texts", "photos"}


@pytest.mark.parametrize(
    "section, message",
    [
        ("  reopen_weigth: 3\n", "unknown keys ['reopen_weigth']"),  # a typo is refused, not ignored
        ("  categories: [profanity, rude, other]\n", "unknown categories ['rude']"),
        ("  categories: [profanity]\n", "must include 'other'"),
        ("  prior_dismissed: 0\n", "must be > 0"),  # the weight divides by it
        ("  max_weight: -1\n", "must be > 0"),
        ("  reopen_weight: yes\n", "values must be numbers"),
        ("  queue: [reports]\n", "queue names a queue"),
    ],
)
def test_bad_reports_section_is_refused_with_a_clear_message(section: str, message: str) -> None:
    with pytest.raises(PolicyError) as exc:
        parse_policy(_with_reports(section), "policy.yaml")
    assert message in exc.value.detail and exc.value.detail.startswith("policy.yaml:")


def test_statement_ground_is_the_reason_that_rejected_not_the_first_listed() -> None:
    from datetime import UTC, datetime

    item = {"type": "photo", "context": "car_photo", "final_decision": "reject", "human_decision": None, "locale": "en",
            "created_at": datetime(2026, 12, 5, tzinfo=UTC),
            "reasons": [reason("duplicate").to_dict(), reason("banned_match").to_dict()]}
    assert policy().item_statement(item)["ground"]["category"] == "banned_match"


def test_decision_reasons_are_offered_per_category_each_code_once() -> None:
    p = load_policy(DEFAULT_POLICY)
    offered = p.review.reasons_for(["contact_info", "nudity"])
    assert list(offered)[:3] == ["phone_number", "email_or_handle", "false_positive"]
    assert "explicit_nudity" in offered and list(offered).count("false_positive") == 1
    assert offered["phone_number"] == {"en": "Shares a phone number", "fr": "Partage un numéro de téléphone"}
    assert p.review.reasons_for(["invalid"]) == {}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("  decision_reasons:\n    gossip:\n      rude: {en: Rude, fr: Impoli}\n", "unknown categories"),  # no such category
        ("  decision_reasons:\n    profanity:\n      Rude Word: {en: Rude, fr: Impoli}\n", "is not a reason code"),  # not snake_case
        ("  decision_reasons:\n    profanity:\n      rude: {en: Rude}\n", "a label in each of en, fr"),  # French missing
        ("  decision_reasons:\n    profanity:\n      rude: {en: Rude, fr: '  '}\n", "a label in each of en, fr"),  # blank label
        ("  decision_reasons: [rude]\n", "maps a category"),  # not a mapping
    ],
)
def test_bad_decision_reasons_are_refused_when_the_policy_loads(section: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        policy(review=section)


def test_lowest_threshold_is_the_lowest_score_any_context_acts_at() -> None:
    assert load_policy(DEFAULT_POLICY).lowest_threshold("profanity") == 0.5
    rating = "  rating:\n    type: text\n    checks: [language, rules, classifier, spam]\n    categories:\n"
    assert rating in BASE
    lower = parse_policy(BASE.replace(rating, rating + "      profanity: {review: 0.3, reject: 0.9}\n"), "policy.yaml")
    assert lower.lowest_threshold("profanity") == 0.3
    # a fixed action has no threshold: the default stands
    assert lower.lowest_threshold("contact_info", default=0.7) == 0.7


def test_the_classifier_states_reasons_from_the_lowest_threshold_of_the_policy() -> None:
    from moderation.pipeline import TextAnalyzer, text_signals_for

    signals = text_signals_for(load_policy(DEFAULT_POLICY))
    candidates = ["this is rubbish", "shut up please", "you are so annoying today", "go away", "stop it"]
    scores = signals["classifier"].predict(candidates)
    text, score = next((t, float(s)) for t, s in zip(candidates, scores) if 0.1 < s < 0.45)
    items = [Item(id="i", type=ItemType.TEXT, context="message", author_id="a", text=text)]
    default = load_policy(DEFAULT_POLICY)
    [sig] = TextAnalyzer(default, text_signals=signals).analyze(items)
    assert default.decide(items[0], sig).decision is Decision.APPROVE  # under 0.5: no reason, approved
    threshold = round(score - 0.05, 3)
    stricter = parse_policy(BASE.replace("  profanity: {review: 0.5, reject: 1}", f"  profanity: {{review: {threshold}, reject: 1}}"))
    analyzer = TextAnalyzer(stricter, text_signals=signals)
    assert signals["classifier"].min_score == threshold
    [sig] = analyzer.analyze(items)
    assert [r.category for r in sig.reasons if r.source is Source.MODEL] == ["profanity"]
    assert stricter.decide(items[0], sig).decision is Decision.REVIEW
    analyzer.reconfigure(default)  # a reload back to 0.5 raises the floor again
    assert signals["classifier"].min_score == 0.5


PREMIUM_SPAM = [
    "FREE msg: Txt STAR to 86688 to enter our weekly draw",
    "You have won a £900 prize! To claim call our team today",
    "Votre sonnerie est prête, 1,50 €/SMS, envoyez STOP au 36111",
]
HONEST = [
    "I'll text you when I get to 5 Rue Lepic, flat 20410",
    "Trajet domicile-travail tous les jours, 40 € par semaine",
    "Départ 18h30 du parking P2, 15 € par passager",
    "Sent the 12 € to you on the app, see you at 7:40",
]


@pytest.mark.parametrize(("text", "spam"), [(t, True) for t in PREMIUM_SPAM] + [(t, False) for t in HONEST])
def test_premium_sms_spam_goes_to_review_and_trip_numbers_do_not(text: str, spam: bool) -> None:
    from moderation.pipeline import TextAnalyzer

    policy = load_policy(DEFAULT_POLICY)
    sample = Item(id="i", type=ItemType.TEXT, context="message", author_id="a", text=text)
    [sig] = TextAnalyzer(policy).analyze([sample])
    assert any(r.detector == "spam.premium_sms" for r in sig.reasons) is spam
    assert (policy.decide(sample, sig).decision is Decision.REVIEW) is spam


def test_a_bare_yaml_on_key_is_the_regex_rules_on_parameter_and_other_odd_keys_are_refused() -> None:
    # YAML 1.1 reads `on:` as the boolean true; the shipped premium-spam rule is written so
    assert "    on: original\n" in BASE
    odd = BASE.replace("    on: original\n", "    on: original\n    2: two\n", 1)
    with pytest.raises(PolicyError, match="field names must be words"):
        parse_policy(odd, "policy.yaml")
