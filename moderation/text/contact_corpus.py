"""A seeded corpus of contact details and harmless trip numbers, built from `phonenumbers`.

Why generated: the development data holds one example number per region and type, so a
detector tuned on it learns those numbers, not the numbering plans. Here every number
type `phonenumbers` knows for each region is taken from its own metadata: the example
number, plus numbers made by changing a few of its digits and keeping those that
`phonenumbers.is_valid_number` accepts with the same `number_type`. Each number is then
written in every style authors use to slip past a filter, inside a short message, with
the span of the number so that extraction can be scored too. Negatives are the numbers a
carpooling message is full of (prices, dates, times, plates, references, ...) in every
trip format. E-mails and handles are written the same way, from fictional names.

Everything is a plain function of the seed: tests, the benchmark and
`python -m moderation.text.contact_corpus` draw the same corpus and print the same table.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType

from moderation.text.contact import DEFAULT_REGIONS, ContactDetector, ContactMatch

__all__ = [
    "DEFAULT_SEED",
    "EMAIL_STYLES",
    "HANDLE_APPS",
    "NEGATIVE_KINDS",
    "PHONE_STYLES",
    "PHONE_TYPES",
    "TRIP_FORMATS",
    "CorpusNumber",
    "CorpusReport",
    "CorpusText",
    "corpus_numbers",
    "email_texts",
    "evaluate_corpus",
    "format_report",
    "handle_texts",
    "negative_texts",
    "phone_texts",
    "render_phone",
]

DEFAULT_SEED = 20261205

# Every type `phonenumbers` distinguishes for these regions (FIXED_LINE_OR_MOBILE and
# UNKNOWN are answers, not types one can ask an example of).
PHONE_TYPES: dict[str, PhoneNumberType] = {
    "fixed_line": PhoneNumberType.FIXED_LINE,
    "mobile": PhoneNumberType.MOBILE,
    "toll_free": PhoneNumberType.TOLL_FREE,
    "premium_rate": PhoneNumberType.PREMIUM_RATE,
    "shared_cost": PhoneNumberType.SHARED_COST,
    "voip": PhoneNumberType.VOIP,
    "personal_number": PhoneNumberType.PERSONAL_NUMBER,
    "uan": PhoneNumberType.UAN,
    "pager": PhoneNumberType.PAGER,
    "voicemail": PhoneNumberType.VOICEMAIL,
}


@dataclass(frozen=True, slots=True)
class CorpusNumber:
    """A valid number of `region` whose `number_type` is `type_name`.

    `origin` is "example" for `phonenumbers.example_number_for_type`, "varied" for a
    number derived from it by changing digits.
    """

    region: str
    type_name: str
    e164: str
    origin: str

    @property
    def parsed(self) -> PhoneNumber:
        return phonenumbers.parse(self.e164, None)


@dataclass(frozen=True, slots=True)
class CorpusText:
    """One message of the corpus.

    `label` is "contact_info" or "ok"; `kind` is phone / email / handle / none; `style`
    names the disguise (or, for negatives, the kind of harmless number); `value` is the
    E.164 number, the address or the handle; `span` is [start, end) of the detail in
    `text` (None for negatives); `group` is the trip format of a negative or the app of
    a handle.
    """

    text: str
    label: str
    kind: str
    style: str
    lang: str
    region: str | None = None
    type_name: str | None = None
    value: str | None = None
    span: tuple[int, int] | None = None
    group: str | None = None


# --- numbers ----------------------------------------------------------------------------------


def corpus_numbers(
    seed: int = DEFAULT_SEED, variants: int = 4, regions: Sequence[str] = DEFAULT_REGIONS
) -> list[CorpusNumber]:
    """The example number of every (region, type) that has one, and up to `variants`
    numbers made from it by changing one to three digits anywhere in the national number
    (so other area codes and prefixes appear too), kept only when `phonenumbers` says
    they are valid and of the same type."""
    if variants < 0:
        raise ValueError("variants must be >= 0")
    out: list[CorpusNumber] = []
    for region in regions:
        for type_name, ptype in PHONE_TYPES.items():
            example = phonenumbers.example_number_for_type(region, ptype)
            if example is None or phonenumbers.number_type(example) != ptype:
                continue
            e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
            out.append(CorpusNumber(region, type_name, e164, "example"))
            out.extend(_varied(example, region, type_name, ptype, variants, random.Random(f"{seed}:{region}:{type_name}")))
    return out


def _varied(
    example: PhoneNumber, region: str, type_name: str, ptype: PhoneNumberType, n: int, rng: random.Random
) -> list[CorpusNumber]:
    nsn = phonenumbers.national_significant_number(example)
    cc = example.country_code
    seen = {phonenumbers.format_number(example, PhoneNumberFormat.E164)}
    out: list[CorpusNumber] = []
    for _ in range(400):
        if len(out) >= n:
            break
        digits = list(nsn)
        for pos in rng.sample(range(len(digits)), k=min(len(digits), rng.randint(1, 3))):
            digits[pos] = str(rng.randrange(10))
        try:
            num = phonenumbers.parse(f"+{cc}{''.join(digits)}", None)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number(num) or phonenumbers.number_type(num) != ptype:
            continue
        if phonenumbers.region_code_for_number(num) != region:
            continue  # +44 7781 is Guernsey, +39 06 698 is the Vatican: another region
        e164 = phonenumbers.format_number(num, PhoneNumberFormat.E164)
        if e164 not in seen:
            seen.add(e164)
            out.append(CorpusNumber(region, type_name, e164, "varied"))
    return out


# --- number words -----------------------------------------------------------------------------

_DIGIT_WORDS: dict[str, tuple[str, ...]] = {
    "fr": ("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"),
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "es": ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"),
    "pt": ("zero", "um", "dois", "três", "quatro", "cinco", "seis", "sete", "oito", "nove"),
    "it": ("zero", "uno", "due", "tre", "quattro", "cinque", "sei", "sette", "otto", "nove"),
    "de": ("null", "eins", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun"),
    "nl": ("nul", "een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen"),
    "pl": ("zero", "jeden", "dwa", "trzy", "cztery", "pięć", "sześć", "siedem", "osiem", "dziewięć"),
}
# the language a region's members are likeliest to spell digits in, besides French and English
_NATIVE = {"FR": "fr", "BE": "nl", "CH": "de", "LU": "de", "ES": "es", "PT": "pt", "IT": "it", "DE": "de", "NL": "nl", "GB": "en", "PL": "pl"}

_FR_TEENS = ("dix", "onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf")
_EN_TEENS = ("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_EN_TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy", 8: "eighty", 9: "ninety"}


def french_pair(n: int, variant: str = "fr") -> str:
    """0 <= n < 100 in words, the French way ("soixante-dix-huit", "quatre-vingts") or the
    Belgian ("septante", "nonante") or Swiss ("septante", "huitante", "nonante") way."""
    if not 0 <= n < 100:
        raise ValueError(f"{n} is not a two-digit number")
    units = _DIGIT_WORDS["fr"]
    if n < 10:
        return units[n]
    if n < 20:
        return _FR_TEENS[n - 10]
    tens, unit = divmod(n, 10)
    swiss = variant == "ch"
    regional = variant in ("be", "ch")
    named = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}
    if tens in named or (regional and tens in (7, 9)) or (swiss and tens == 8):
        word = named.get(tens) or {7: "septante", 8: "huitante", 9: "nonante"}[tens]
        if unit == 0:
            return word
        return f"{word} et un" if unit == 1 else f"{word}-{units[unit]}"
    if tens == 7:  # soixante-dix ... soixante-dix-neuf
        return "soixante et onze" if unit == 1 else f"soixante-{_FR_TEENS[unit]}"
    if tens == 8:
        return "quatre-vingts" if unit == 0 else f"quatre-vingt-{units[unit]}"
    return f"quatre-vingt-{_FR_TEENS[unit]}"  # 90 to 99


def english_pair(n: int) -> str:
    """0 <= n < 100 in English words; a leading zero is read "oh" ("oh five")."""
    if not 0 <= n < 100:
        raise ValueError(f"{n} is not a two-digit number")
    if n < 10:
        return f"oh {_DIGIT_WORDS['en'][n]}"
    if n < 20:
        return _EN_TEENS[n - 10]
    tens, unit = divmod(n, 10)
    return _EN_TENS[tens] if unit == 0 else f"{_EN_TENS[tens]}-{_DIGIT_WORDS['en'][unit]}"


def _pairs(digits: str) -> list[str]:
    """Digits read two by two, the way numbers are dictated; an odd last digit alone."""
    return [digits[i : i + 2] for i in range(0, len(digits), 2)]


def _spell_pairs(digits: str, pair: Callable[[int], str], lang: str, rng: random.Random) -> str:
    words = []
    for p in _pairs(digits):
        if len(p) == 1:
            words.append(_DIGIT_WORDS[lang][int(p)])
        elif p[0] == "0" and lang != "en":
            words.append(f"{_DIGIT_WORDS[lang][0]} {_DIGIT_WORDS[lang][int(p[1])]}")
        else:
            words.append(pair(int(p)))
    return rng.choice([", ", " ", " - "]).join(words)


# --- phone styles -----------------------------------------------------------------------------


def _national(num: PhoneNumber) -> str:
    return phonenumbers.format_number(num, PhoneNumberFormat.NATIONAL)


def _national_groups(num: PhoneNumber) -> list[str]:
    return re.findall(r"\d+", _national(num))


def _intl_groups(num: PhoneNumber) -> list[str]:
    """The groups after the country code in the international format."""
    return re.findall(r"\d+", phonenumbers.format_number(num, PhoneNumberFormat.INTERNATIONAL))[1:]


def _compact(num: PhoneNumber) -> str:
    return "".join(_national_groups(num))


def _with_trunk0(num: PhoneNumber) -> str | None:
    """"+33 (0)6 12 34 56 78": only where the national format starts with a trunk zero."""
    region = phonenumbers.region_code_for_number(num)
    prefix = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix
    if not prefix or not _compact(num).startswith(prefix):
        return None
    groups = _intl_groups(num)
    return f"+{num.country_code} ({prefix}){' '.join(groups)}"


def _regrouped(num: PhoneNumber, rng: random.Random) -> str:
    """The author's own grouping, not the plan's: "0612 345 678"."""
    digits, out = _compact(num), []
    while digits:
        size = rng.choice((2, 3, 4)) if len(digits) > 4 else len(digits)
        out.append(digits[:size])
        digits = digits[size:]
    return " ".join(out)


def _mixed_separators(num: PhoneNumber, rng: random.Random) -> str:
    groups = _national_groups(num)
    seps = [" ", ".", "-", "/", " - ", " . ", "_", " / ", "  ", "·"]
    return groups[0] + "".join(rng.choice(seps) + g for g in groups[1:])


def _letters(text: str, table: dict[str, str]) -> str | None:
    out = text.translate(str.maketrans(table))
    return out if out != text else None  # a number without that digit has no such style


_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
_SPLIT_FR = (" et après ", " puis ", " et la fin c'est ", ", la suite : ", " et ensuite ")
_SPLIT_EN = (" and then ", " then ", " and the rest is ", ", rest: ", " followed by ")


def _split_in_two(num: PhoneNumber, rng: random.Random, lang: str) -> str | None:
    digits = _compact(num)
    if len(digits) < 8:
        return None  # a five-digit service number is not worth splitting
    cut = rng.randint(max(2, len(digits) // 2 - 2), min(len(digits) - 2, len(digits) // 2 + 2))
    joiner = rng.choice(_SPLIT_FR if lang == "fr" else _SPLIT_EN)
    return digits[:cut] + joiner + digits[cut:]


def _mixed_words(num: PhoneNumber, rng: random.Random, lang: str) -> str:
    digits = _compact(num)
    cut = 2 * rng.randint(1, max(1, len(digits) // 4))
    if lang == "fr":
        tail = _spell_pairs(digits[cut:], french_pair, "fr", rng)
    else:
        tail = _spell_pairs(digits[cut:], english_pair, "en", rng)
    return " ".join(_pairs(digits[:cut])) + " " + tail


def _by_digit(digits: str, words: tuple[str, ...]) -> str:
    return " ".join(words[int(d)] for d in digits)


_Style = Callable[[PhoneNumber, random.Random], "str | None"]

# name -> (renderer, language of the message it goes into: "fr", "en" or "any").
PHONE_STYLES: dict[str, tuple[_Style, str]] = {
    "e164": (lambda n, r: phonenumbers.format_number(n, PhoneNumberFormat.E164), "any"),
    "international": (lambda n, r: phonenumbers.format_number(n, PhoneNumberFormat.INTERNATIONAL), "any"),
    "international_dots": (lambda n, r: f"+{n.country_code}." + ".".join(_intl_groups(n)), "any"),
    "international_dashes": (lambda n, r: f"+{n.country_code}-" + "-".join(_intl_groups(n)), "any"),
    "international_parens": (lambda n, r: f"(+{n.country_code}) " + " ".join(_intl_groups(n)), "any"),
    "prefix_00": (lambda n, r: f"00{n.country_code} " + " ".join(_intl_groups(n)), "any"),
    "prefix_00_compact": (lambda n, r: f"00{n.country_code}" + "".join(_intl_groups(n)), "any"),
    "plus_cc_trunk0": (lambda n, r: _with_trunk0(n), "any"),
    "national": (lambda n, r: _national(n), "any"),
    "national_compact": (lambda n, r: _compact(n), "any"),
    "dots": (lambda n, r: ".".join(_national_groups(n)), "any"),
    "dashes": (lambda n, r: "-".join(_national_groups(n)), "any"),
    "slashes": (lambda n, r: "/".join(_national_groups(n)), "any"),
    "mixed_separators": (_mixed_separators, "any"),
    "regrouped": (_regrouped, "any"),
    "spaced_digits": (lambda n, r: " ".join(_compact(n)), "any"),
    "letter_O_for_zero": (lambda n, r: _letters(_national(n), {"0": "O"}), "any"),
    "letter_o_for_zero": (lambda n, r: _letters(_compact(n), {"0": "o"}), "any"),
    "letter_l_for_one": (lambda n, r: _letters(_national(n), {"1": "l"}), "any"),
    "letter_I_for_one": (lambda n, r: _letters(_national(n), {"1": "I"}), "any"),
    "letters_mixed": (lambda n, r: _letters(_national(n), {"0": "O", "1": "l"}), "any"),
    "fullwidth_digits": (lambda n, r: _national(n).translate(_FULLWIDTH), "any"),
    "keycap_emoji": (lambda n, r: "".join(f"{d}\ufe0f\u20e3" for d in _compact(n)), "any"),
    "zero_width": (lambda n, r: r.choice(_ZERO_WIDTH).join(_compact(n)), "any"),
    "split_in_two_fr": (lambda n, r: _split_in_two(n, r, "fr"), "fr"),
    "split_in_two_en": (lambda n, r: _split_in_two(n, r, "en"), "en"),
    "spelled_en": (lambda n, r: _by_digit(_compact(n), _DIGIT_WORDS["en"]), "en"),
    "spelled_en_oh": (lambda n, r: _by_digit(_compact(n), ("oh",) + _DIGIT_WORDS["en"][1:]), "en"),
    "spelled_en_pairs": (lambda n, r: _spell_pairs(_compact(n), english_pair, "en", r), "en"),
    "spelled_fr": (lambda n, r: _by_digit(_compact(n), _DIGIT_WORDS["fr"]), "fr"),
    "spelled_fr_pairs": (lambda n, r: _spell_pairs(_compact(n), lambda p: french_pair(p, "fr"), "fr", r), "fr"),
    "spelled_fr_pairs_be": (lambda n, r: _spell_pairs(_compact(n), lambda p: french_pair(p, "be"), "fr", r), "fr"),
    "spelled_fr_pairs_ch": (lambda n, r: _spell_pairs(_compact(n), lambda p: french_pair(p, "ch"), "fr", r), "fr"),
    "mixed_digits_words_fr": (lambda n, r: _mixed_words(n, r, "fr"), "fr"),
    "mixed_digits_words_en": (lambda n, r: _mixed_words(n, r, "en"), "en"),
    "spelled_native": (
        lambda n, r: _by_digit(_compact(n), _DIGIT_WORDS[_NATIVE[phonenumbers.region_code_for_number(n)]]),
        "any",
    ),
}


def render_phone(number: CorpusNumber, style: str, rng: random.Random) -> str | None:
    """`number` written in `style`, or None when the style cannot apply to it (a number
    with no 0 has no "letter O" form, a region without trunk prefix no "+CC (0)" form)."""
    if style not in PHONE_STYLES:
        raise ValueError(f"unknown phone style {style!r}")
    return PHONE_STYLES[style][0](number.parsed, rng)


# Messages a number is dropped into; "{n}" is the number. Written for this corpus.
_PHONE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "fr": (
        "{n}",
        "appelle-moi au {n}",
        "mon num c'est {n} 😉",
        "écris-moi sur whatsapp : {n}",
        "dispo ce soir, tél {n}",
        "Trajet Nantes → Rennes samedi, 12 €. Réserve en direct au {n}, sans frais.",
        "Bonjour, je suis la conductrice, voici mon numéro {n}, je serai devant la gare à 18h30.",
        "pour les prochains trajets envoie un sms au {n} !",
    ),
    "en": (
        "{n}",
        "call me on {n}",
        "text me at {n} x",
        "my number is {n}",
        "Leaving Leeds at 7:45 on Friday, £12 per seat. Book directly on {n}, no fees.",
        "Driver here, my phone is {n}, I'll be outside the station at 6:30pm.",
        "whatsapp {n} for the details",
        "next time just ring {n} mate",
    ),
}


def phone_texts(
    seed: int = DEFAULT_SEED,
    numbers: Sequence[CorpusNumber] | None = None,
    styles: Iterable[str] | None = None,
) -> list[CorpusText]:
    """Every number of `numbers` (default `corpus_numbers(seed)`) in every style of
    `styles` (default all) that applies to it, each in a message of the style's language."""
    rng = random.Random(f"{seed}:phones")
    numbers = corpus_numbers(seed) if numbers is None else numbers
    styles = list(PHONE_STYLES) if styles is None else list(styles)
    out = []
    for number in numbers:
        for style in styles:
            rendered = render_phone(number, style, rng)
            if rendered is None:
                continue
            lang = PHONE_STYLES[style][1]
            if lang == "any":
                lang = rng.choice(("fr", "en"))
            template = rng.choice(_PHONE_TEMPLATES[lang])
            start = template.index("{n}")
            text = template.replace("{n}", rendered)
            out.append(
                CorpusText(
                    text, "contact_info", "phone", style, lang, number.region, number.type_name,
                    number.e164, (start, start + len(rendered)), number.origin,
                )
            )
    return out


# --- e-mails and handles ----------------------------------------------------------------------

_FIRST = ("lea", "hugo", "chloe", "lucas", "ines", "nathan", "manon", "tom", "sarah", "jules", "emma", "noah", "zoe", "leo")
_LAST = ("rousseau", "martin", "bernard", "petit", "durand", "leroy", "moreau", "simon", "laurent", "michel", "garcia", "fontaine")
_PROVIDERS = (
    ("gmail", "com"), ("hotmail", "fr"), ("outlook", "fr"), ("outlook", "com"), ("yahoo", "fr"), ("orange", "fr"),
    ("free", "fr"), ("laposte", "net"), ("icloud", "com"), ("gmx", "de"), ("proton", "me"), ("skynet", "be"),
    ("bluewin", "ch"), ("libero", "it"), ("wanadoo", "fr"), ("sfr", "fr"),
)


def _email_parts(rng: random.Random) -> tuple[str, str, str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    provider, tld = rng.choice(_PROVIDERS)
    sep = rng.choice((".", "_", ""))
    suffix = rng.choice(("", "", str(rng.randint(1, 99))))
    return first, f"{first}{sep}{last}{suffix}", provider, tld


def _spaced(s: str) -> str:
    return " ".join(s)


# name -> renderer(first, local, provider, tld) -> (rendered address, lang)
EMAIL_STYLES: dict[str, Callable[[str, str, str, str], tuple[str, str]]] = {
    "plain": lambda f, loc, p, t: (f"{loc}@{p}.{t}", "any"),
    "at_dot_en": lambda f, loc, p, t: (f"{loc} at {p} dot {t}", "en"),
    "parentheses": lambda f, loc, p, t: (f"{loc}(at){p}(dot){t}", "any"),
    "brackets": lambda f, loc, p, t: (f"{loc} [at] {p} [dot] {t}", "any"),
    "arobase_point": lambda f, loc, p, t: (f"{loc.replace('.', ' point ')} arobase {p} point {t}", "fr"),
    "a_commercial": lambda f, loc, p, t: (f"{loc} a commercial {p} point {t}", "fr"),
    "chez_provider": lambda f, loc, p, t: (f"{loc} chez {p}", "fr"),
    "sur_provider": lambda f, loc, p, t: (f"{loc} sur {p}", "fr"),
    "on_provider": lambda f, loc, p, t: (f"{loc} on {p}", "en"),
    "no_symbols": lambda f, loc, p, t: (f"{re.sub(r'[._]', ' ', loc)} {p} {t}", "any"),
    "spaced_symbols": lambda f, loc, p, t: (f"{loc} @ {p} . {t}", "any"),
    "fullwidth_at_dot": lambda f, loc, p, t: (f"{loc}＠{p}．{t}", "any"),
    "letters_spaced": lambda f, loc, p, t: (_spaced(f"{loc}@{p}.{t}"), "any"),
    "no_tld": lambda f, loc, p, t: (f"{loc}@{p}", "any"),
    "words_dot_en": lambda f, loc, p, t: (f"{loc.replace('.', ' dot ')} at {p} dot {t}", "en"),
    "chez_point": lambda f, loc, p, t: (f"{loc.replace('.', ' point ')} chez {p} point {t}", "fr"),
}
_EMAIL_TEMPLATES = {
    "fr": ("{e}", "écris-moi : {e}", "mon mail c'est {e}", "envoie les détails à {e} stp", "contacte-moi par mail {e}"),
    "en": ("{e}", "email me at {e}", "my email is {e}", "drop me a line: {e}", "send the details to {e} please"),
}


def email_texts(seed: int = DEFAULT_SEED, per_style: int = 12) -> list[CorpusText]:
    """`per_style` fictional addresses in each e-mail style, in French or English messages."""
    rng = random.Random(f"{seed}:emails")
    out = []
    for style, render in EMAIL_STYLES.items():
        for _ in range(per_style):
            first, local, provider, tld = _email_parts(rng)
            rendered, lang = render(first, local, provider, tld)
            lang = rng.choice(("fr", "en")) if lang == "any" else lang
            template = rng.choice(_EMAIL_TEMPLATES[lang])
            start = template.index("{e}")
            out.append(
                CorpusText(
                    template.replace("{e}", rendered), "contact_info", "email", style, lang,
                    value=f"{local}@{provider}.{tld}", span=(start, start + len(rendered)),
                )
            )
    return out


# app -> how members name it in a message
HANDLE_APPS: dict[str, tuple[str, ...]] = {
    "whatsapp": ("WhatsApp", "whatsapp", "wa", "watsap"),
    "telegram": ("Telegram", "telegram", "tg", "télégram"),
    "signal": ("Signal",),
    "snapchat": ("Snapchat", "snap", "snp", "sc"),
    "instagram": ("Instagram", "insta", "ig", "Insta"),
    "facebook": ("Facebook", "fb", "Messenger", "messenger"),
    "tiktok": ("TikTok", "tiktok", "tik tok"),
    "discord": ("Discord", "discord"),
    "lydia": ("Lydia", "lydia"),
    "paypal": ("PayPal", "paypal"),
    "revolut": ("Revolut", "revolut", "revtag"),
    "wero": ("Wero", "wero"),
    "twitter": ("Twitter", "twitter"),
    "skype": ("Skype",),
    "viber": ("Viber",),
}
_HANDLE_TEMPLATES = {
    "fr": (
        "ajoute-moi sur {app} : {h}",
        "mon {app} c'est {h}",
        "{app}: {h}",
        "retrouve-moi sur {app} {h} pour qu'on cale le trajet",
        "suis-moi sur {app} @{h}",
        "écris-moi sur {app}, je suis {h}",
        "pour payer, mon {app} : {h}",
    ),
    "en": (
        "add me on {app}: {h}",
        "my {app} is @{h}",
        "{app}: @{h}",
        "find me on {app} as {h}, easier to chat there",
        "hit me up on {app} - {h}",
        "{app} @{h}",
        "pay me on {app}, I'm {h}",
    ),
}


def _handle(rng: random.Random) -> str:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    shape = rng.randrange(5)
    if shape == 0:
        return f"{first}_{last[0]}"
    if shape == 1:
        return f"{first}.{last}"
    if shape == 2:
        return f"{first}{last}{rng.randint(1, 99)}"
    if shape == 3:
        return f"{first}_{last}_{rng.randint(60, 99)}"
    return f"{first}.{last[0]}"


def handle_texts(seed: int = DEFAULT_SEED, per_app: int = 14) -> list[CorpusText]:
    """Handles on every messaging and payment app members use, French and English
    phrasing, `per_app` messages each (every template at least once)."""
    rng = random.Random(f"{seed}:handles")
    out = []
    for app, names in HANDLE_APPS.items():
        for k in range(per_app):
            lang = ("fr", "en")[k % 2]
            templates = _HANDLE_TEMPLATES[lang]
            template = templates[(k // 2) % len(templates)]
            name, h = rng.choice(names), _handle(rng)
            text = template.replace("{app}", name)
            start = text.index("{h}")
            if text[start - 1 : start] == "@":
                start -= 1
                h_typed = "@" + h
                text = text.replace("@{h}", h_typed)
            else:
                h_typed = h
                text = text.replace("{h}", h_typed)
            out.append(
                CorpusText(text, "contact_info", "handle", template, lang, value=h, span=(start, start + len(h_typed)), group=app)
            )
    return out


# --- negatives --------------------------------------------------------------------------------

_MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
_DAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _ordinal(d: int) -> str:
    return f"{d}{'th' if 10 <= d % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(d % 10, 'th')}"


def _neg_price(r: random.Random, lang: str) -> str:
    euros, cents = r.randint(3, 95), r.choice((0, 0, 50, 90, 25))
    big = r.randint(1, 9) * 1000 + r.randrange(0, 1000, 50)
    return r.choice(
        (
            f"{euros} €", f"{euros}€", f"{euros}e", f"{euros} euros", f"{euros},{cents:02d} €", f"€{euros}",
            f"£{euros}", f"£{euros}.{cents:02d}", f"CHF {euros}.{cents:02d}", f"{euros} zł", f"{big // 1000} {big % 1000:03d} €",
            f"{euros} € / {r.randint(2, 4)} = {euros // 2},{cents:02d} €",
        )
    )


def _neg_date(r: random.Random, lang: str) -> str:
    d, m, y = r.randint(1, 28), r.randint(1, 12), r.randint(2024, 2027)
    fr = (f"{d}/{m:02d}", f"{d:02d}/{m:02d}/{y}", f"{d:02d}.{m:02d}.{y}", f"{y}-{m:02d}-{d:02d}", f"{d} {_MONTHS_FR[m - 1]}",
          f"{d:02d}-{m:02d}-{y}", f"{d}/{m}/{y % 100:02d}", f"du {d}/{m:02d} au {d + 2}/{m:02d}")
    en = (f"{d}/{m:02d}", f"{_DAYS_EN[d % 7]} {_ordinal(d)}", f"{_MONTHS_EN[m - 1]} {d}", f"{d:02d}/{m:02d}/{y}",
          f"{y}-{m:02d}-{d:02d}", f"the {_ordinal(d)}", f"{d}.{m:02d}.{y}")
    return r.choice(fr if lang == "fr" else en)


def _neg_time(r: random.Random, lang: str) -> str:
    h, mi = r.randint(5, 23), r.choice((0, 5, 10, 15, 20, 30, 40, 45, 50))
    return r.choice(
        (f"{h}h{mi:02d}", f"{h}h", f"{h}:{mi:02d}", f"{h:02d}:{mi:02d}", f"{h % 12 or 12}:{mi:02d}pm", f"{h % 12 or 12}.{mi:02d}",
         f"{h}h{mi:02d}-{(h + 2) % 24}h{mi:02d}", f"{h:02d}:{mi:02d} - {(h + 3) % 24:02d}:{mi:02d}")
    )


def _neg_duration(r: random.Random, lang: str) -> str:
    h, mi = r.randint(1, 9), r.choice((5, 10, 15, 20, 30, 45))
    return r.choice((f"{h}h{mi:02d}", f"{mi} min", f"{h}h {mi}min", f"about {h}h{mi:02d}", f"{h} heures {mi}", f"({mi} min)"))


def _neg_distance(r: random.Random, lang: str) -> str:
    km = r.randint(12, 1400)
    return r.choice((f"{km} km", f"{km}km", f"{km // 1000} {km % 1000:03d} km" if km >= 1000 else f"{km} kms", f"{km} mi", f"({km}km)",
                     f"{km}.{r.randint(0, 9)} km"))


_POSTCODES = (
    "24 rue de la Paix 75002 Paris", "3 place Bellecour, 69002 Lyon", "96 avenue Louise 1050 Bruxelles",
    "12 rue du Fort, L-2419 Luxembourg", "Bahnhofstrasse 21, 8001 Zürich", "Calle Mayor 5, 28013 Madrid",
    "Rua Augusta 100, 1100-053 Lisboa", "via Roma 14, 20121 Milano", "Hauptstraße 14, 10115 Berlin",
    "Damrak 1, 1012 LG Amsterdam", "129 Briggate, LS1 6HD", "ul. Marszałkowska 10, 00-590 Warszawa",
    "(59000)", "13001 Marseille", "CP 4000 Liège", "1204 Genève", "L-1611", "92130 Issy",
)


def _neg_postcode(r: random.Random, lang: str) -> str:
    return r.choice(_POSTCODES)


def _neg_plate(r: random.Random, lang: str) -> str:
    up = "ABCDEFGHJKLMNPRSTVWXYZ"

    def letters(k: int) -> str:
        return "".join(r.choice(up) for _ in range(k))

    n3, n4 = r.randint(100, 999), r.randint(1000, 9999)
    return r.choice(
        (f"{letters(2)}-{n3}-{letters(2)}", f"1-{letters(3)}-{n3}", f"ZH {r.randint(10000, 999999)}", f"{n4} {letters(3)}",
         f"{letters(2)}-{r.randint(10, 99)}-{letters(2)}", f"{letters(2)} {n3}{letters(2)}", f"B-{letters(2)} {n4}",
         f"{r.randint(10, 99)}-{letters(3)}-{r.randint(1, 9)}", f"{letters(2)}{r.randint(10, 99)} {letters(3)}",
         f"WA {r.randint(10000, 99999)}")
    )


def _neg_booking(r: random.Random, lang: str) -> str:
    return r.choice(
        (f"BKG-{r.randint(10000, 99999)}", f"réf. {r.randint(100000, 999999)}", f"RES-{r.randint(1000, 9999)}{r.choice('ABCDEFGH')}{r.choice('WXYZ')}",
         f"n° {r.randint(2020, 2027)}-{r.randint(100, 999)}-{r.randint(1000, 9999)}", f"#{r.randint(10000, 999999)}",
         f"dossier {r.choice('ABCDEFGH')}{r.randint(100000, 999999)}")
    )


def _neg_train(r: random.Random, lang: str) -> str:
    return r.choice((f"TGV {r.randint(5000, 9999)}", f"Ouigo {r.randint(7000, 7999)}", f"ICE {r.randint(100, 999)}", f"IC {r.randint(1000, 3999)}",
                     f"TER {r.randint(800000, 899999)}", f"Eurostar {r.randint(9000, 9199)}", f"train {r.randint(1000, 9999)} voie {r.randint(1, 24)}"))


def _neg_flight(r: random.Random, lang: str) -> str:
    return r.choice((f"EZY {r.randint(1000, 9999)}", f"AF {r.randint(100, 9999)}", f"FR {r.randint(1000, 9999)}", f"BA {r.randint(100, 999)}",
                     f"KL{r.randint(1000, 1999)}", f"U2 {r.randint(1000, 9999)}", f"LH {r.randint(100, 2999)} terminal {r.randint(1, 3)}"))


def _neg_year(r: random.Random, lang: str) -> str:
    y = r.randint(1998, 2026)
    return r.choice((f"{y}", f"de {y}", f"since {y}", f"{y}-{y + 1}", f"({y})", f"modèle {y}, {r.randint(20, 250)} 000 km"))


def _neg_rating(r: random.Random, lang: str) -> str:
    return r.choice((f"{r.randint(3, 5)}/5", f"{r.randint(6, 10)}/10", f"{r.randint(3, 4)}.{r.randint(0, 9)}/5", "★★★★☆", "5/5 ★★★★★",
                     f"{r.randint(40, 50) / 10} étoiles", f"{r.randint(10, 300)} avis"))


def _neg_count(r: random.Random, lang: str) -> str:
    return r.choice((f"{r.randint(1, 4)} places", f"{r.randint(1, 3)} valises", f"{r.randint(20, 900)} trajets", f"member since {r.randint(2010, 2024)}, {r.randint(10, 400)} trips",
                     f"place {r.randint(1, 120)}, voiture {r.randint(1, 20)}", f"sortie {r.randint(1, 40)}", f"parking P{r.randint(1, 5)} niveau -{r.randint(1, 4)}"))


def _neg_channel(r: random.Random, lang: str) -> str:
    return r.choice(("appelle-moi via l'appli", "call me when you can", "je suis sur whatsapp mais écris ici", "see you at home",
                     "on se parle sur la messagerie", "envoie-moi un message ici", "pas de signal dans le tunnel", "insta demain",
                     "rdv chez paul point barre", "I'm on snap too but let's keep it here"))


NEGATIVE_KINDS: dict[str, Callable[[random.Random, str], str]] = {
    "price": _neg_price, "date": _neg_date, "time": _neg_time, "duration": _neg_duration, "distance": _neg_distance,
    "postcode": _neg_postcode, "plate": _neg_plate, "booking_ref": _neg_booking, "train_number": _neg_train,
    "flight_number": _neg_flight, "year": _neg_year, "rating": _neg_rating, "count": _neg_count, "channel": _neg_channel,
}

# Trip formats: where harmless numbers sit in a message; "{a}" is the kind being tested,
# "{b}" and "{c}" are other harmless numbers beside it.
TRIP_FORMATS: dict[str, tuple[str, str]] = {
    "offer_fr": ("Trajet Lyon → Marseille {a}, {b}. Il reste {c}, réservez sur l'appli.", "fr"),
    "offer_en": ("Driving Leeds to London {a}, {b}. Still {c}, book through the app.", "en"),
    "message_fr": ("Bonjour, c'est noté : {a} et {b}. À bientôt, {c}", "fr"),
    "message_en": ("Hi, all good: {a} and {b}. See you, {c}", "en"),
    "rating_fr": ("Super trajet {a}, conducteur ponctuel {b} {c}", "fr"),
    "rating_en": ("Great ride {a}, punctual driver {b} {c}", "en"),
    "bare": ("{a}", "any"),
    "list": ("{a} {b} {c}", "any"),
}


def negative_texts(seed: int = DEFAULT_SEED, per_cell: int = 16) -> list[CorpusText]:
    """`per_cell` messages for each (kind of harmless number, trip format): the kind in
    slot {a}, two other harmless numbers of random kinds beside it."""
    rng = random.Random(f"{seed}:negatives")
    kinds = list(NEGATIVE_KINDS)
    out = []
    for kind, render in NEGATIVE_KINDS.items():
        for fmt, (template, lang) in TRIP_FORMATS.items():
            for _ in range(per_cell):
                lg = rng.choice(("fr", "en")) if lang == "any" else lang
                others = [NEGATIVE_KINDS[rng.choice(kinds)](rng, lg) for _ in range(2)]
                text = template.format(a=render(rng, lg), b=others[0], c=others[1])
                out.append(CorpusText(text, "ok", "none", kind, lg, group=fmt))
    return out


# --- measuring ----------------------------------------------------------------------------------

_CONTACT_KINDS = frozenset({"phone", "email", "handle"})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the detector did with one corpus text: `found` when a contact detail of the
    right kind overlaps the gold span (any contact detail, for a negative), `exact` when
    that match also carries the gold value (the E.164 number for phones)."""

    item: CorpusText
    found: bool
    exact: bool
    values: tuple[str, ...]


@dataclass
class CorpusReport:
    """Outcomes of a corpus run, with the tallies the table prints."""

    outcomes: list[Outcome]

    def positives(self, kind: str | None = None) -> list[Outcome]:
        return [o for o in self.outcomes if o.item.label == "contact_info" and (kind is None or o.item.kind == kind)]

    def negatives(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.item.label == "ok"]

    def recall_by(self, key: Callable[[CorpusText], object], kind: str | None = None) -> dict[object, tuple[int, int, int]]:
        """(found, exact, total) per key over the positives of `kind`."""
        tally: dict[object, list[int]] = defaultdict(lambda: [0, 0, 0])
        for o in self.positives(kind):
            t = tally[key(o.item)]
            t[0] += o.found
            t[1] += o.exact
            t[2] += 1
        return {k: (v[0], v[1], v[2]) for k, v in sorted(tally.items(), key=lambda kv: str(kv[0]))}

    def false_alarms_by(self, key: Callable[[CorpusText], object]) -> dict[object, tuple[int, int]]:
        tally: dict[object, list[int]] = defaultdict(lambda: [0, 0])
        for o in self.negatives():
            t = tally[key(o.item)]
            t[0] += o.found
            t[1] += 1
        return {k: (v[0], v[1]) for k, v in sorted(tally.items(), key=lambda kv: str(kv[0]))}


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def _outcome(item: CorpusText, matches: Sequence[ContactMatch]) -> Outcome:
    contacts = [m for m in matches if m.kind in _CONTACT_KINDS]
    if item.label != "contact_info" or item.span is None:
        return Outcome(item, bool(contacts), False, tuple(m.value for m in contacts))
    hits = [m for m in contacts if m.kind == item.kind and _overlaps(m.span, item.span)]
    exact = False
    if item.kind == "phone":
        exact = any(m.value == item.value for m in hits)
    elif item.kind == "email" and item.value is not None:
        exact = any(m.value.split("@")[0].replace(".", "").replace("_", "") == item.value.split("@")[0].replace(".", "").replace("_", "") for m in hits)
    elif item.value is not None:
        exact = any(item.value in m.value for m in hits)
    return Outcome(item, bool(hits), exact, tuple(m.value for m in contacts))


def evaluate_corpus(detector: ContactDetector, texts: Iterable[CorpusText]) -> CorpusReport:
    """Run `detector` over `texts`; see `Outcome` for what counts as found."""
    return CorpusReport([_outcome(t, detector.find(t.text)) for t in texts])


def full_corpus(seed: int = DEFAULT_SEED) -> list[CorpusText]:
    """Phones (every number, every style), e-mails, handles and negatives of one seed."""
    return phone_texts(seed) + email_texts(seed) + handle_texts(seed) + negative_texts(seed)


def _rate(found: int, total: int) -> str:
    return f"{found / total:.3f}" if total else "  -  "


def format_report(report: CorpusReport, worst: int = 15) -> str:
    """The tables of a corpus run: phone recall per region, type and style (found, and
    with the exact E.164 value), the worst (region, type, style) cells, e-mail and handle
    recall per style and app, false alarms per kind of harmless number and trip format."""
    lines: list[str] = []

    def recall_table(title: str, rows: dict[object, tuple[int, int, int]]) -> None:
        lines.append(f"{title:28s} {'n':>6s} {'recall':>7s} {'exact':>7s}")
        for key, (found, exact, total) in rows.items():
            lines.append(f"  {key!s:26s} {total:6d} {_rate(found, total):>7s} {_rate(exact, total):>7s}")
        lines.append("")

    phones = report.positives("phone")
    total_found = sum(o.found for o in phones)
    lines.append(f"phones: {len(phones)} texts, recall {_rate(total_found, len(phones))}, "
                 f"exact value {_rate(sum(o.exact for o in phones), len(phones))}")
    lines.append("")
    recall_table("phone region", report.recall_by(lambda t: t.region, "phone"))
    recall_table("phone type", report.recall_by(lambda t: t.type_name, "phone"))
    recall_table("phone style", report.recall_by(lambda t: t.style, "phone"))
    cells = report.recall_by(lambda t: (t.region, t.type_name, t.style), "phone")
    weak = sorted(((f / n, k, f, n) for k, (f, _, n) in cells.items() if f < n), key=lambda c: (c[0], str(c[1])))
    lines.append(f"(region, type, style) cells below 1.000: {len(weak)} of {len(cells)}")
    for rate, key, found, total in weak[:worst]:
        lines.append(f"  {'/'.join(map(str, key)):50s} {found}/{total}")
    lines.append("")
    recall_table("e-mail style", report.recall_by(lambda t: t.style, "email"))
    recall_table("handle app", report.recall_by(lambda t: t.group, "handle"))
    negatives = report.negatives()
    fa = sum(o.found for o in negatives)
    lines.append(f"negatives: {len(negatives)} texts, false alarms {fa} ({fa / max(1, len(negatives)):.3%})")
    for title, key in (("kind", lambda t: t.style), ("trip format", lambda t: t.group)):
        lines.append(f"  per {title}: " + ", ".join(f"{k} {f}/{n}" for k, (f, n) in report.false_alarms_by(key).items()))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m moderation.text.contact_corpus [--seed N] [--show-misses K]`."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--show-misses", type=int, default=0, help="print up to K missed texts and K false alarms")
    args = parser.parse_args(argv)
    report = evaluate_corpus(ContactDetector(DEFAULT_REGIONS), full_corpus(args.seed))
    print(f"seed {args.seed}")
    print(format_report(report))
    if args.show_misses:
        misses = [o for o in report.positives() if not o.found][: args.show_misses]
        alarms = [o for o in report.negatives() if o.found][: args.show_misses]
        for o in misses:
            print("MISS", o.item.region, o.item.type_name, o.item.style, repr(o.item.text), o.values)
        for o in alarms:
            print("FALSE", o.item.style, repr(o.item.text), o.values)
    return 0


if __name__ == "__main__":
    sys.exit(main())
