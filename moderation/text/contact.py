"""Contact details in free text: phone numbers, e-mail addresses, messaging handles, links.

A carpooling platform loses its commission when a driver and a passenger move to a phone
call, so authors disguise their details: "zéro six douze trente-quatre...", "O6 l2 34",
keycap emoji, "jean (at) gmail (dot) com", "mon snap c'est @x". Everything here reads the
digit-preserving view of `moderation.text.normalize.normalize_for_contacts` and maps each
match back to the characters the author typed.

Phones: the text is cut into tokens (digit runs, words, '+'); neighbouring tokens that can
stand for digits (digits, number words in French/English and a few neighbours, letters
used as digits when glued to digits) form chains; windows of a chain are validated by
`phonenumbers` for the configured regions. Two chains split by a few words ("06 12 et la
fin c'est 34 56 78") are tried together. Validation is what keeps prices, dates, times,
postcodes and references out: a window must be a valid number of at least 8 national
digits, and Luxembourg numbers written without +352 count only when they are mobiles,
because Luxembourg accepts 4 to 11 digit fixed lines and would match postcodes and years.

Every regular expression has bounded repetition and a look-behind that stops it from
restarting inside a word, so a hostile 1 MB text costs linear time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from moderation.errors import PolicyError
from moderation.text.normalize import (
    Normalized,
    join_spaced_chars,
    normalize_for_contacts,
)

__all__ = [
    "DEFAULT_REGIONS",
    "ContactDetector",
    "ContactMatch",
    "find_contacts",
]

DEFAULT_REGIONS: tuple[str, ...] = ("FR", "BE", "CH", "LU", "ES", "PT", "IT", "DE", "NL", "GB", "PL")

KINDS = ("phone", "email", "handle", "url")


@dataclass(frozen=True, slots=True)
class ContactMatch:
    """One contact detail: `span` is [start, end) in the ORIGINAL text."""

    kind: str  # "phone" | "email" | "handle" | "url"
    span: tuple[int, int]
    value: str  # E.164 number, "local@domain", "@handle", or the link
    detector: str  # stable id: contact.phone, contact.email, contact.handle, contact.invite, contact.url


# --- number words ----------------------------------------------------------------------

_UNITS: dict[str, int] = {}
for _words, _value in (
    ("zero oh o nought nul null cero", 0),
    ("un une one uno eins een um", 1),
    ("deux two dos due zwei zwo twee dois", 2),
    ("trois three tres tre drei drie", 3),
    ("quatre four cuatro quattro vier quatro", 4),
    ("cinq five cinco cinque funf fuenf vijf", 5),
    ("six seis sei sechs zes", 6),
    ("sept seven siete sette sieben zeven sete", 7),
    ("huit eight ocho otto acht oito", 8),
    ("neuf nine nueve nove neun negen", 9),
):
    for _w in _words.split():
        _UNITS[_w] = _value
_TEENS: dict[str, int] = {
    "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}
_TENS: dict[str, int] = {
    "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
    "septante": 70, "huitante": 80, "octante": 80, "nonante": 90,
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}
_REPEAT = {"double": 2, "triple": 3}
_NUMBER_WORDS = frozenset(_UNITS) | frozenset(_TEENS) | frozenset(_TENS) | frozenset(_REPEAT) | {"et"}

# --- phone chains ----------------------------------------------------------------------

# only tokens that may stand for digits; any other word between two of them shows up
# in the gap and breaks the chain, so plain prose costs one C-level scan
_TOKEN = re.compile(
    r"\+|\d+|(?<![^\W\d_])(?:"
    + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
    + r"|[oli]{1,4})(?![^\W\d_])"
)
# what may sit between two tokens of one number: spaces and the usual separators
_GAP = re.compile(r"[\s.\-/(),_*~·•|\\]{0,4}")
# between the two halves of a split number: a few words, no digits
_SPLIT_GAP = re.compile(r"(?:[^\W\d_]|[\s'’:\-]){1,40}")
_SPLIT_WORD = re.compile(r"[^\W\d_]{2,}")
_LEET_DIGITS = str.maketrans("oli", "011")
_LEET_TOKEN = re.compile(r"[oli]{1,4}")
_MIN_NATIONAL, _MAX_DIGITS = 9, 15
# "1 2 3 4 5 6 7 8 9" counts; it is a valid Polish number all the same
_COUNTING = "01234567891011121314151617181920"
_TYPE_RANK = {
    PhoneNumberType.MOBILE: 0,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: 1,
    PhoneNumberType.FIXED_LINE: 3,
    PhoneNumberType.UNKNOWN: 4,
}
# validations one text may spend; a normal message needs a handful
_VALIDATION_BUDGET = 4000


@dataclass(frozen=True, slots=True)
class _Unit:
    """Digits standing for a stretch [start, end) of the contact view."""

    digits: str
    start: int
    end: int
    plus: bool = False


def _tokens(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _is_digitish(tok: str) -> bool:
    return tok == "+" or tok.isdigit() or tok in _NUMBER_WORDS or bool(_LEET_TOKEN.fullmatch(tok))


def _chains(text: str) -> list[list[_Unit]]:
    """Maximal runs of digit-like tokens, each turned into digit units."""
    toks = _tokens(text)
    chains: list[list[_Unit]] = []
    i, n = 0, len(toks)
    while i < n:
        if not _is_digitish(toks[i][0]):
            i += 1
            continue
        j = i
        while j + 1 < n and _is_digitish(toks[j + 1][0]) and _GAP.fullmatch(text, toks[j][2], toks[j + 1][1]):
            if toks[j + 1][0] == "+":
                break
            if "," in text[toks[j][2] : toks[j + 1][1]] and toks[j][0].isdigit() and toks[j + 1][0].isdigit():
                break  # "bus 8,22,65" is a list; "zéro six, douze, trente" is one number
            j += 1
        units = _units(text, toks[i : j + 1])
        if units:
            chains.extend(units)
        i = j + 1
    return chains


def _units(text: str, run: list[tuple[str, int, int]]) -> list[list[_Unit]]:
    """Turn one run of tokens into units; a token that cannot stand for digits splits it."""
    out: list[list[_Unit]] = []
    cur: list[_Unit] = []
    k, n = 0, len(run)
    while k < n:
        tok, s, e = run[k]
        if tok == "+":
            if cur:
                out.append(cur)
            cur = [_Unit("", s, e, plus=True)]
            k += 1
        elif tok.isdigit():
            cur.append(_Unit(tok, s, e))
            k += 1
        elif tok in _NUMBER_WORDS:
            value, used = _parse_words([t for t, _, _ in run[k : k + 4]])
            if value is None:
                if cur:
                    out.append(cur)
                cur = []
                k += 1
                continue
            cur.append(_Unit(value, s, run[k + used - 1][2]))
            k += used
        else:
            # letters for digits ("O6", "0l5l2", "O45O OO"): only glued to a digit, or all O
            glued = (k > 0 and run[k - 1][0].isdigit() and run[k - 1][2] == s) or (
                k + 1 < n and run[k + 1][0].isdigit() and run[k + 1][1] == e
            )
            near_digits = (k > 0 and cur) and k + 1 < n and _is_digitish(run[k + 1][0])
            if glued or (set(tok) == {"o"} and near_digits):
                cur.append(_Unit(tok.translate(_LEET_DIGITS), s, e))
            else:
                if cur:
                    out.append(cur)
                cur = []
            k += 1
    if cur:
        out.append(cur)
    return out


def _parse_words(words: list[str]) -> tuple[str | None, int]:
    """Read one number from the start of `words`: its digits and how many words it used.

    French pairs ("trente-quatre", "soixante-dix-huit", "quatre-vingt-douze", Belgian and
    Swiss "septante", "nonante") and English tens ("seventy four") make two digits.
    """
    w = words[0]
    nxt = words[1] if len(words) > 1 else None
    if w in _REPEAT and nxt is not None and nxt in _UNITS:
        return str(_UNITS[nxt]) * _REPEAT[w], 2
    if w == "quatre" and nxt in ("vingt", "vingts"):
        value, used = 80, 2
        rest = words[2:]
        return _add_tail(value, rest, used, allow_teen=True)
    if w in _UNITS:
        return str(_UNITS[w]), 1
    if w == "dix" and nxt is not None and _UNITS.get(nxt, 0) >= 7:
        return str(10 + _UNITS[nxt]), 2
    if w in _TEENS:
        return str(_TEENS[w]), 1
    if w in _TENS:
        return _add_tail(_TENS[w], words[1:], 1, allow_teen=_TENS[w] == 60)
    return None, 1


def _add_tail(value: int, rest: list[str], used: int, allow_teen: bool) -> tuple[str, int]:
    if rest and rest[0] == "et" and len(rest) > 1 and rest[1] in ("un", "une", "onze"):
        rest, used = rest[1:], used + 1
    if rest:
        head = rest[0]
        if allow_teen and head == "dix" and len(rest) > 1 and _UNITS.get(rest[1], 0) >= 7:
            return str(value + 10 + _UNITS[rest[1]]), used + 2
        if allow_teen and head in _TEENS:
            return str(value + _TEENS[head]), used + 1
        if head in _UNITS and _UNITS[head] > 0 and head not in ("o", "oh"):
            return str(value + _UNITS[head]), used + 1
    return str(value), used


# --- e-mails, handles, links -------------------------------------------------------------

_PROVIDERS = (
    "gmail|googlemail|hotmail|outlook|live|msn|yahoo|ymail|icloud|me|aol|orange|wanadoo|free|sfr|"
    "laposte|bbox|neuf|numericable|gmx|web|t-online|libero|virgilio|tiscali|alice|proton|protonmail|"
    "pm|tutanota|skynet|telenet|bluewin|hispeed|sunrise|pt|post|zoho|yandex|mail|qq|wp|onet|o2|interia"
)
_TLDS = (
    "com|net|org|info|biz|fr|be|ch|lu|es|pt|it|de|nl|uk|co\\.uk|pl|eu|io|me|co|tv|ly|gl|xyz|app|"
    "dev|online|site|shop|store|link|club|top|ru|us|ca|at|ie|dk|se|no|fi|cz|gr|ro|hu|ma|tn|dz|sn"
)
# TLDs that are also common words or abbreviations: a bare domain needs www/scheme/path
_WEAK_TLDS = frozenset(["be", "ch", "lu", "es", "pt", "it", "de", "nl", "pl", "me", "co", "at", "no", "se", "us", "ca", "ma"])

# The words that stand for "@": bracketed ("(chez)") or spaced ("jean arobase gmail").
_AT_BRACKETED = ("at", "arobase", "arroba", "chez")
_AT_SPACED = ("at", "arobase", "arroba", "chiocciola", "at sign")
_AT = (
    r"(?:\s{0,3}@\s{0,3}"
    rf"|\s{{0,3}}[(\[{{<]\s{{0,2}}(?:@|{'|'.join(_AT_BRACKETED)})\s{{0,2}}[)\]}}>]\s{{0,3}}"
    rf"|\s{{1,3}}(?:{'|'.join(_AT_SPACED)})\s{{1,3}})"
)
_DOT = (
    r"(?:\.|\s{1,2}\.\s{1,2}"
    r"|\s{0,3}[(\[{<]\s{0,2}(?:dot|point|punto|punkt|ponto|\.)\s{0,2}[)\]}>]\s{0,3}"
    r"|\s{1,3}(?:dot|point|punto|punkt|ponto)\s{1,3})"
)
# what every _AT alternative contains: most messages have none, and skip _EMAIL's backtracking
# Every alternative of _AT needs an "@" or one of its words: the e-mail search starts only where one is.
_AT_HINT = re.compile(rf"@|(?<![a-z0-9])(?:{'|'.join(sorted(set(_AT_BRACKETED + _AT_SPACED)))})(?![a-z0-9])")
_PROVIDER = re.compile(_PROVIDERS)
_HANDLE_LIKE = re.compile(r"[._\d]|\s")
_WORD = r"[a-z0-9](?:[a-z0-9_%+\-]{0,40}[a-z0-9_])?"
_EMAIL = re.compile(
    rf"(?<![a-z0-9_%+\-.@])(?P<local>{_WORD}(?:{_DOT}{_WORD}){{0,4}})"
    rf"{_AT}(?P<domain>[a-z0-9](?:[a-z0-9\-]{{0,40}}[a-z0-9])?)"
    rf"(?P<tld>(?:{_DOT}(?:{_TLDS})(?![a-z0-9])){{0,2}})"
)
# "jean.dupont sur gmail", "lucia.garcia en gmail", "jonas.mueller bei gmx"
_EMAIL_HINT = re.compile(
    rf"(?<![a-z0-9_%+\-.@])(?P<local>[a-z0-9][a-z0-9_.\-]{{1,40}}[a-z0-9_])\s{{1,3}}"
    rf"(?:sur|on|en|bei|su|chez|via|at|auf|na|em)\s{{1,3}}(?P<provider>{_PROVIDERS})(?![a-z0-9.@])"
)
_PLATFORMS = (
    "whatsapp|whats app|watsap|wa|telegram|tg|signal|snapchat|snap|sc|instagram|insta|ig|tiktok|"
    "facebook|fb|messenger|discord|skype|kik|wechat|viber|twitter|threads|linkedin"
)
_HANDLE_AFTER_PLATFORM = re.compile(
    rf"(?<![a-z0-9_])(?P<platform>{_PLATFORMS})(?![a-z0-9_])"
    r"(?P<filler>(?:[\s:=\-–>,]{0,3}(?:c'est|c est|cest|is|es|ist|e|my|mon|ma|mi|il mio|id|"
    r"pseudo|name|username|user|handle|account|compte|me|moi|:|=)(?![a-z0-9_])){0,3}[\s:=\-–>,]{1,3})"
    r"(?P<handle>@?[a-z0-9_](?:[a-z0-9_.]{1,29}[a-z0-9_])?)(?![a-z0-9_@])"
)
_AT_HANDLE = re.compile(r"(?<![a-z0-9_.@%+\-/])@(?P<handle>[a-z0-9_](?:[a-z0-9_.]{0,28}[a-z0-9_])?)(?![a-z0-9_@])")
_INVITE = re.compile(
    r"(?<![a-z])(?:add|ajoute|ajoutez|contacte|contactez|ecris|ecrivez|ecrit|text|message|msg|write|ping|"
    r"dm|mp|follow|suis|suivez|retrouve|retrouvez|joins|rejoins|find|trouve|parle|parlons|talk|chat)"
    r"(?:[-\s]{1,2}(?:me|moi|nous|us))?\s{1,3}(?:on|sur|via|par|en|by|over|su|auf)\s{1,3}"
    rf"(?P<platform>{_PLATFORMS})(?![a-z0-9_])"
)
_URL = re.compile(
    r"(?<![a-z0-9_.@\-/])(?P<url>(?P<scheme>https?://)?(?P<www>www\.)?"
    r"(?P<host>[a-z0-9](?:[a-z0-9\-]{0,62})(?:\.[a-z0-9](?:[a-z0-9\-]{0,62})){0,4})"
    r"\.(?P<tld>" + _TLDS + r")(?![a-z0-9\-@])(?P<path>/[^\s]{0,200})?)"
)
_STOP_HANDLES = frozenset(
    ["me", "moi", "you", "toi", "the", "le", "la", "les", "un", "une", "pour", "for", "and", "et", "ou", "or", "to", "au", "a", "is", "est", "c'est", "cest", "aussi", "too", "please", "stp", "svp", "merci", "thanks", "so", "plus", "easier", "when", "quand", "si", "if"]
)


def _clean_email_part(part: str) -> str:
    part = re.sub(r"\s*[(\[{<]\s*(?:dot|point|punto|punkt|ponto|\.)\s*[)\]}>]\s*", ".", part)
    part = re.sub(r"\s+(?:dot|point|punto|punkt|ponto)\s+", ".", part)
    return re.sub(r"\s+", "", part)


# --- detection ---------------------------------------------------------------------------


class ContactDetector:
    """Compiled detector for one set of phone regions (validated at construction)."""

    def __init__(self, regions: Sequence[str] = DEFAULT_REGIONS) -> None:
        regions = tuple(str(r).upper() for r in regions)
        if not regions:
            raise PolicyError("contact detection needs at least one phone region")
        unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise PolicyError(f"unknown phone regions: {', '.join(unknown)}")
        self.regions = regions
        self._country_codes = frozenset(
            str(phonenumbers.country_code_for_region(r)) for r in regions
        )
        self._national_prefix = {
            r: phonenumbers.PhoneMetadata.metadata_for_region(r).national_prefix for r in regions
        }
        self._validate = lru_cache(maxsize=16384)(self._validate_uncached)

    # phones ------------------------------------------------------------------------------

    def _validate_uncached(self, digits: str, intl: bool) -> str | None:
        """E.164 form of `digits` if it is a valid number, else None."""
        if intl:
            body = digits.removeprefix("00")
            found = _parse_valid("+" + body, None)
            if found is None:
                # "+33 (0)6 ..." keeps the trunk zero after the country code
                for cc_len in (1, 2, 3):
                    if body[cc_len : cc_len + 1] == "0" and body[:cc_len] != "39":
                        found = _parse_valid("+" + body[:cc_len] + body[cc_len + 1 :], None)
                        if found is not None:
                            break
            if found is None and digits.startswith("00"):
                # a national number with one zero too many: "008704050406"
                return self._validate(digits[1:], False)
            return found
        if len(digits) < _MIN_NATIONAL or digits in _COUNTING:
            return None
        best: tuple[int, str] | None = None
        for region in self.regions:
            prefix = self._national_prefix[region]
            if prefix and not digits.startswith(prefix):
                continue  # parse() would read it as a bare national number: "2024 118 4472"
            num = _parse(digits, region)
            if num is None or not phonenumbers.is_valid_number(num):
                continue
            if len(phonenumbers.national_significant_number(num)) < 8:
                continue
            kind = phonenumbers.number_type(num)
            if region == "LU" and kind != PhoneNumberType.MOBILE:
                continue
            if str(num.country_code) not in self._country_codes:
                continue  # (region_code_for_number would say GG for a British 07911)
            # the likelier reading of a number valid in several regions: a mobile, then
            # a service number, then a fixed line ("07911..." is GB, not an Italian landline)
            rank = _TYPE_RANK.get(kind, 2)
            if best is None or rank < best[0]:
                best = (rank, phonenumbers.format_number(num, PhoneNumberFormat.E164))
            if rank == 0:
                break
        if best is not None:
            return best[1]
        # a country code written without + or 00 ("44 7732 584351")
        if len(digits) >= 11 and any(digits.startswith(cc) for cc in self._country_codes):
            return _parse_valid("+" + digits, None)
        return None

    def _phones(self, view: Normalized) -> Iterable[ContactMatch]:
        text = view.text
        chains = _chains(text)
        found: list[tuple[int, int, str]] = []
        budget = [_VALIDATION_BUDGET]
        for chain in chains:
            if sum(len(u.digits) for u in chain) >= 8:
                found.extend(self._windows(chain, budget))
        # numbers split in two by a few words: "06 12 et la fin c'est 34 56 78"
        used_chains: set[int] = set()
        matched = [(s, e) for s, e, _ in found]
        for ci in range(len(chains) - 1):
            a, b = chains[ci], chains[ci + 1]
            if ci in used_chains or _covered(a, matched) or _covered(b, matched):
                continue
            if not _SPLIT_GAP.fullmatch(text, a[-1].end, b[0].start):
                continue
            if _glued(text, a[0].start, a[-1].end) or _glued(text, b[0].start, b[-1].end):
                continue  # "RES-5880BW ... vol V7 6797": codes, not halves of a number
            if len(text[a[-1].end : b[0].start].split()) > 6:
                continue
            digits_a = "".join(u.digits for u in a)
            digits_b = "".join(u.digits for u in b)
            if len(a[0].digits) < 2 or len(b[0].digits) < 2:
                continue  # "2 100 wkly draw txt MUSIC to 87066": a count, not half a number
            if not _SPLIT_WORD.search(text, a[-1].end, b[0].start):
                continue  # "864233. £2.50": a price after a number, no words between
            joined = a + b
            intl = joined[0].plus or digits_a.startswith("00")
            if len(digits_a) + len(digits_b) > _MAX_DIGITS:
                continue
            e164 = self._validate(digits_a + digits_b, intl)
            if e164 is not None:
                found.append((a[0].start, b[-1].end, e164))
                used_chains.update((ci, ci + 1))
        for start, end, e164 in found:
            yield ContactMatch("phone", view.span_to_original(start, end), e164, "contact.phone")

    def _windows(self, chain: list[_Unit], budget: list[int]) -> Iterable[tuple[int, int, str]]:
        """Valid numbers among contiguous stretches of a chain, longest first, no overlap.

        `budget` bounds the validations spent on one text, so that a megabyte of
        "0 0 0 0" costs linear time; what was found before it ran out is kept.
        """
        n = len(chain)
        sums = [0]
        for unit in chain:
            sums.append(sums[-1] + len(unit.digits))
        i = 0
        while i < n and budget[0] > 0:
            hit = None
            intl = chain[i].plus or chain[i].digits.startswith("00")
            low = 8 if intl else _MIN_NATIONAL
            last = i
            while last + 1 < n and sums[last + 2] - sums[i] <= _MAX_DIGITS + 2:
                last += 1
            for j in range(last, i - 1, -1):
                total = sums[j + 1] - sums[i]
                if total < low:
                    break
                budget[0] -= 1
                e164 = self._validate("".join(u.digits for u in chain[i : j + 1]), intl)
                if e164 is not None:
                    hit = (j, chain[i].start, chain[j].end, e164)
                    break
            unit = chain[i]
            if hit is None and len(unit.digits) >= 10 and unit.end - unit.start == len(unit.digits):
                # a number glued to what follows: "087123002209am", "0871277810910p/min"
                for k in range(min(len(unit.digits) - 1, _MAX_DIGITS), _MIN_NATIONAL - 1, -1):
                    budget[0] -= 1
                    e164 = self._validate(unit.digits[:k], unit.digits.startswith("00"))
                    if e164 is not None:
                        hit = (i, unit.start, unit.start + k, e164)
                        break
            if hit is None:
                i += 1
                continue
            j, start, end, e164 = hit
            yield start, end, e164
            i = j + 1

    # e-mails, handles, links ------------------------------------------------------------

    def _emails(self, view: Normalized) -> Iterable[ContactMatch]:
        text = view.text
        pos = 0 if _AT_HINT.search(text) else len(text)  # no "@" nor "at" word: nothing to find
        while (m := _EMAIL.search(text, pos)) is not None:
            local, domain, tld = m.group("local"), m.group("domain"), m.group("tld")
            at_text = text[m.end("local") : m.start("domain")]
            symbolic = "@" in at_text or "(" in at_text or "[" in at_text or "{" in at_text
            known = _PROVIDER.fullmatch(domain) is not None
            handle_like = _HANDLE_LIKE.search(local) is not None
            # "see you at home", "farting at me": a word "at" needs a TLD, or a provider
            # after an address-like name; "x@y" with neither needs an address-like name
            if not tld and not (known and (handle_like or symbolic)):
                pos = m.start("domain")  # the domain may start the next address
                continue
            pos = m.end()
            value = f"{_clean_email_part(local)}@{domain}{_clean_email_part(tld)}"
            yield ContactMatch("email", view.span_to_original(m.start(), m.end()), value, "contact.email")
        for m in _EMAIL_HINT.finditer(text):
            local = m.group("local")
            if not re.search(r"[a-z]", local) or not re.search(r"[._\d]", local):
                continue  # "je suis sur gmail" is not an address
            value = f"{local}@{m.group('provider')}"
            yield ContactMatch("email", view.span_to_original(m.start(), m.end()), value, "contact.email")

    def _handles(self, view: Normalized) -> Iterable[ContactMatch]:
        text = view.text
        for m in _HANDLE_AFTER_PLATFORM.finditer(text):
            handle = m.group("handle")
            bare = handle.lstrip("@")
            if handle.startswith("@"):
                pass
            elif bare in _STOP_HANDLES or bare.isdigit() or bare in _NUMBER_WORDS:
                continue
            elif not re.search(r"[\d_.]", bare) and ":" not in m.group("filler"):
                continue  # "sur insta demain": a plain word is a handle only after a colon
            if not re.search(r"[a-z]", bare) or len(bare) < 3:
                continue
            span = view.span_to_original(m.start("handle"), m.end("handle"))
            yield ContactMatch("handle", span, f"{m.group('platform')}:@{bare}", "contact.handle")
        for m in _AT_HANDLE.finditer(text):
            bare = m.group("handle")
            if not re.search(r"[a-z]", bare) or len(bare) < 3:
                continue
            yield ContactMatch("handle", view.span_to_original(m.start(), m.end()), f"@{bare}", "contact.handle")
        for m in _INVITE.finditer(text):
            yield ContactMatch(
                "handle", view.span_to_original(m.start(), m.end()), m.group("platform"), "contact.invite"
            )

    def _urls(self, view: Normalized) -> Iterable[ContactMatch]:
        text = view.text
        for m in _URL.finditer(text):
            if m.group("tld") in _WEAK_TLDS and not (m.group("scheme") or m.group("www") or m.group("path")):
                continue
            host = f"{m.group('www') or ''}{m.group('host')}.{m.group('tld')}"
            yield ContactMatch("url", view.span_to_original(m.start(), m.end()), host, "contact.url")

    def find(self, text: str) -> list[ContactMatch]:
        """All contact details in `text`, in order, overlaps resolved (longest wins)."""
        if not isinstance(text, str):
            raise TypeError(f"find_contacts() takes a str, not {type(text).__name__}")
        view = normalize_for_contacts(text)
        joined = join_spaced_chars(view)
        found: list[ContactMatch] = []
        found.extend(self._phones(view))
        found.extend(self._emails(joined))
        found.extend(self._handles(joined))
        found.extend(self._urls(joined))
        if any(m.detector != "contact.invite" for m in found):
            # "add me on insta @x": the handle says it all
            found = [m for m in found if m.detector != "contact.invite"]
        return _resolve(found)


_PRIORITY = {"email": 0, "phone": 1, "url": 2, "handle": 3}


def _resolve(found: list[ContactMatch]) -> list[ContactMatch]:
    """Drop matches overlapping a better one: e-mail, then phone, link, handle; longer first.

    One sweep in start order, so that a text with thousands of matches stays linear.
    """
    kept: list[ContactMatch] = []
    for c in sorted(found, key=lambda c: (c.span[0], -c.span[1])):
        if kept and c.span[0] < kept[-1].span[1]:
            if _rank(c) < _rank(kept[-1]):
                kept[-1] = c
            continue
        kept.append(c)
    return kept


def _rank(c: ContactMatch) -> tuple[int, int]:
    return (_PRIORITY[c.kind], c.span[0] - c.span[1])


def _glued(text: str, start: int, end: int) -> bool:
    """True when letters or digits touch the stretch: it is part of a code."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    if before in "-/" and start > 1 and text[start - 2].isalnum():
        return True  # "BKG-48213"
    return before.isalnum() or after.isalnum()


def _covered(chain: list[_Unit], matched: list[tuple[int, int]]) -> bool:
    return any(s < chain[-1].end and chain[0].start < e for s, e in matched)


def _parse(digits: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None


def _parse_valid(number: str, region: str | None) -> str | None:
    num = _parse(number, region)
    if num is None or not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, PhoneNumberFormat.E164)


@lru_cache(maxsize=32)
def shared_detector(regions: tuple[str, ...]) -> ContactDetector:
    return ContactDetector(regions)


def find_contacts(text: str, regions: Sequence[str] = DEFAULT_REGIONS) -> list[ContactMatch]:
    """Phone numbers, e-mails, messaging handles and links in `text`, spans into `text`."""
    return shared_detector(tuple(regions)).find(text)


def check_domains(domains: Sequence[str] | object, key: str = "allowed_domains") -> frozenset[str]:
    """Validated, lower-cased domain names without `www.` (an allow or deny list), as a set
    for `listed_domain`; `key` names the list in the error."""
    if isinstance(domains, str) or not isinstance(domains, (list, tuple, set, frozenset)):
        raise PolicyError(f"`{key}` must be a list of domain names")
    out = []
    for d in domains:
        d = str(d).strip().lower().lstrip(".").removeprefix("www.")
        if not re.fullmatch(r"[a-z0-9](?:[a-z0-9\-]{0,62})(?:\.[a-z0-9\-]{1,63})+", d):
            raise PolicyError(f"`{key}`: {d!r} is not a domain")
        out.append(d)
    return frozenset(out)


def url_host(url: str) -> str:
    """The host of a found link, lower-cased, without `www.` and path."""
    return url.lower().split("/", 1)[0].removeprefix("www.")


def listed_domain(host: str, domains: frozenset[str]) -> str | None:
    """The most specific domain of `domains` that `host` (from `url_host`) is or is a
    subdomain of; None when there is none. A walk over the host's suffixes: a few set
    lookups however long the list (a deny list of 20,000 domains scanned in 5 ms a link)."""
    labels = host.split(".")
    return next((d for i in range(len(labels) - 1) if (d := ".".join(labels[i:])) in domains), None)
