"""Contact detection measured on the generated corpus: every phonenumbers type of every
region in every style, e-mails, handles, and the harmless numbers of trip messages.

The corpus is drawn once per module from `DEFAULT_SEED` (about 17,000 texts, a few
seconds); each parametrized test reads its slice of the outcomes.
"""

from __future__ import annotations

import random
from collections import defaultdict

import phonenumbers
import pytest

from moderation.rules.base import RuleSpec
from moderation.rules.loader import compile_rule
from moderation.signals import TextInput
from moderation.text.contact import DEFAULT_REGIONS, ContactDetector
from moderation.text.contact_corpus import (
    DEFAULT_SEED,
    EMAIL_STYLES,
    HANDLE_APPS,
    NEGATIVE_KINDS,
    PHONE_STYLES,
    PHONE_TYPES,
    CorpusReport,
    corpus_numbers,
    english_pair,
    evaluate_corpus,
    format_report,
    french_pair,
    full_corpus,
    render_phone,
)
from moderation.text.normalize import normalize
from moderation.types import Item, ItemType

# The targets: recall >= 0.98 for every region, type and style; <= 0.5 % of
# harmless texts flagged.
MIN_RECALL = 0.98
MAX_FALSE_ALARMS = 0.005

NUMBERS = corpus_numbers(DEFAULT_SEED)
REGION_TYPES = sorted({(n.region, n.type_name) for n in NUMBERS})


@pytest.fixture(scope="module")
def report() -> CorpusReport:
    return evaluate_corpus(ContactDetector(DEFAULT_REGIONS), full_corpus(DEFAULT_SEED))


def _recall(outcomes: list) -> tuple[float, list[str]]:  # type: ignore[type-arg]
    missed = [f"{o.item.style}: {o.item.text!r}" for o in outcomes if not o.found]
    return 1 - len(missed) / len(outcomes), missed


def test_corpus_numbers_cover_every_type_phonenumbers_has_for_each_region() -> None:
    for region in DEFAULT_REGIONS:
        for type_name, ptype in PHONE_TYPES.items():
            has_example = phonenumbers.example_number_for_type(region, ptype) is not None
            assert has_example == ((region, type_name) in REGION_TYPES), (region, type_name)


def test_corpus_numbers_are_valid_numbers_of_their_region_and_type() -> None:
    for n in NUMBERS:
        num = n.parsed
        assert phonenumbers.is_valid_number(num), n
        assert phonenumbers.number_type(num) == PHONE_TYPES[n.type_name], n
        assert phonenumbers.region_code_for_number(num) == n.region, n
    # beside each example, numbers varied from it: other digits, same plan
    assert sum(n.origin == "varied" for n in NUMBERS) >= 3 * len(REGION_TYPES)


def test_full_corpus_is_the_same_for_the_same_seed_and_differs_for_another() -> None:
    first, again, other = full_corpus(7), full_corpus(7), full_corpus(8)
    assert first == again
    assert [t.text for t in first] != [t.text for t in other]


def test_render_phone_keeps_the_number_in_the_span() -> None:
    number = next(n for n in NUMBERS if n.region == "FR" and n.type_name == "mobile")
    rng = random.Random(1)
    # golden renderings of the FR mobile example number
    assert render_phone(number, "national", rng) == "06 12 34 56 78"
    assert render_phone(number, "plus_cc_trunk0", rng) == "+33 (0)6 12 34 56 78"
    assert render_phone(number, "spelled_fr_pairs_be", random.Random(0)).startswith("zéro six")
    assert render_phone(number, "keycap_emoji", rng).startswith("0\ufe0f\u20e3")
    with pytest.raises(ValueError):
        render_phone(number, "no such style", rng)


@pytest.mark.parametrize(
    ("n", "fr", "be", "ch", "en"),
    [
        (7, "sept", "sept", "sept", "oh seven"),  # a leading zero, read out
        (17, "dix-sept", "dix-sept", "dix-sept", "seventeen"),
        (21, "vingt et un", "vingt et un", "vingt et un", "twenty-one"),
        (71, "soixante et onze", "septante et un", "septante et un", "seventy-one"),
        (80, "quatre-vingts", "quatre-vingts", "huitante", "eighty"),
        (89, "quatre-vingt-neuf", "quatre-vingt-neuf", "huitante-neuf", "eighty-nine"),
        (97, "quatre-vingt-dix-sept", "nonante-sept", "nonante-sept", "ninety-seven"),
    ],
)
def test_pairs_are_spelled_the_french_belgian_swiss_and_english_way(n: int, fr: str, be: str, ch: str, en: str) -> None:
    assert (french_pair(n, "fr"), french_pair(n, "be"), french_pair(n, "ch"), english_pair(n)) == (fr, be, ch, en)


@pytest.mark.parametrize(("region", "type_name"), REGION_TYPES)
def test_find_contacts_catches_every_style_of_each_region_and_type(report: CorpusReport, region: str, type_name: str) -> None:
    outcomes = [o for o in report.positives("phone") if (o.item.region, o.item.type_name) == (region, type_name)]
    recall, missed = _recall(outcomes)
    assert recall >= MIN_RECALL, missed


@pytest.mark.parametrize("style", sorted(PHONE_STYLES))
def test_find_contacts_catches_every_region_and_type_in_each_style(report: CorpusReport, style: str) -> None:
    outcomes = [o for o in report.positives("phone") if o.item.style == style]
    assert outcomes, style
    recall, missed = _recall(outcomes)
    assert recall >= MIN_RECALL, missed


def test_find_contacts_reads_international_numbers_exactly(report: CorpusReport) -> None:
    # with a country code the digits leave no doubt: the value is the number written
    intl = ("e164", "international", "international_dots", "international_dashes", "prefix_00", "plus_cc_trunk0")
    wrong = [(o.item.value, o.values) for o in report.positives("phone") if o.item.style in intl and not o.exact]
    assert not wrong


@pytest.mark.parametrize("style", sorted(EMAIL_STYLES))
def test_find_contacts_catches_emails_in_each_style(report: CorpusReport, style: str) -> None:
    outcomes = [o for o in report.positives("email") if o.item.style == style]
    recall, missed = _recall(outcomes)
    # a bare name before "sur gmail" with no word about mail is let go: "dupont sur free"
    assert recall >= 0.9, missed


@pytest.mark.parametrize("app", sorted(HANDLE_APPS))
def test_find_contacts_catches_handles_on_each_app(report: CorpusReport, app: str) -> None:
    outcomes = [o for o in report.positives("handle") if o.item.group == app]
    recall, missed = _recall(outcomes)
    assert recall >= MIN_RECALL, missed


@pytest.mark.parametrize("kind", sorted(NEGATIVE_KINDS))
def test_find_contacts_ignores_harmless_numbers_of_each_kind_in_every_trip_format(report: CorpusReport, kind: str) -> None:
    outcomes = [o for o in report.negatives() if o.item.style == kind]
    alarms = [(o.item.text, o.values) for o in outcomes if o.found]
    assert len(alarms) <= MAX_FALSE_ALARMS * len(outcomes) + 1, alarms


def test_find_contacts_flags_few_generated_negatives(report: CorpusReport) -> None:
    negatives = report.negatives()
    assert len(negatives) >= 1500
    assert sum(o.found for o in negatives) / len(negatives) <= MAX_FALSE_ALARMS


def test_format_report_prints_every_region_type_and_style(report: CorpusReport) -> None:
    table = format_report(report)
    for name in (*DEFAULT_REGIONS, *PHONE_TYPES, *PHONE_STYLES):
        assert f"  {name} " in table, name
    cells: dict[str, int] = defaultdict(int)
    for o in report.positives("phone"):
        cells[o.item.region or ""] += 1
    assert min(cells.values()) > 500  # every region is measured on hundreds of texts


def _reason(text: str, locale: str | None):  # type: ignore[no-untyped-def]
    rule = compile_rule(RuleSpec(id="r", kind="contact", category="contact_info", action="review", params={}, where="t:1"))
    item = Item(id="1", type=ItemType.TEXT, context="message", author_id="a", text=text, locale=locale)
    [reason] = rule.match(TextInput(item=item, normalized=normalize(text)))
    return reason


@pytest.mark.parametrize(
    ("text", "locale", "e164", "region"),
    [
        # grouped the British way: British whatever the locale
        ("call me on 0800 123 4567", "en", "+448001234567", "GB"),
        ("call me on 0800 123 4567", "de", "+448001234567", "GB"),
        # the digits alone fit Germany, the Netherlands and Britain: the locale decides
        ("call me on 08001234567", "en", "+448001234567", "GB"),
        ("call me on 08001234567", "en-GB", "+448001234567", "GB"),
        # the country code decides, never the locale
        ("+44 7400 123456", "fr", "+447400123456", "GB"),
        # grouped the Swiss way; compact, it is a French mobile unless the locale says Swiss
        ("tel 078 123 45 67", "fr", "+41781234567", "CH"),
        ("tel 0781234567", "fr-CH", "+41781234567", "CH"),
        ("tel 0781234567", None, "+33781234567", "FR"),
    ],
)
def test_contact_rule_reports_the_region_of_the_number(text: str, locale: str | None, e164: str, region: str) -> None:
    reason = _reason(text, locale)
    assert (reason.matched, reason.detail["region"]) == (e164, region)
