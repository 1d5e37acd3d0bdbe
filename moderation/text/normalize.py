"""Text normalization with a map back to the original characters.

Authors who want to slip a word or a phone number past a filter write it with accents,
capitals, Cyrillic look-alikes, zero-width spaces, full-width or keycap digits, leetspeak,
stretched letters or letters split by dots. Rules should see one canonical spelling, and
moderators should still see the characters the author typed: every normalized character
therefore remembers the [start, end) range of original characters it came from.

Two views, because leetspeak and phone numbers disagree about digits:

* `normalize(text)`: for word matching (profanity lists, banned phrases). NFKC, case
  folding, accents stripped, invisible characters removed, homoglyphs to Latin, leetspeak
  (0 1 3 4 @ $ -> o i e a a s), letters split by spaces or punctuation joined
  ("c.o.n.n.a.r.d"), then every run of three or more of a letter collapsed to TWO letters
  ("connnnard" and "connard" both become "conard"). Word lists must therefore be passed
  through `normalize` too before they are matched against this view.
* `normalize_for_contacts(text)`: the same character folding, but digits stay digits,
  nothing is joined or collapsed. `moderation.text.contact` reads this one.

Speed: the folding of every character in the common blocks (Latin, Greek, Cyrillic,
punctuation, full-width forms, emoji) is computed once at import. A text made only of
such characters that fold one-to-one goes through one `str.translate` call and gets the
identity offset map; only texts with an expanding or vanishing character (ligature,
zero-width space, combining accent, keycap, rare script) take the per-character loop.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Normalized", "join_spaced_chars", "normalize", "normalize_for_contacts"]


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalized text and, per normalized character, where it came from.

    `offsets[i]` is the index in `original` of the first source character of normalized
    character i; `ends[i]` (when not None) is one past its last source character, so a
    collapsed "nnnn" or a keycap "6\\ufe0f\\u20e3" maps back to all of it. `ends=None` means
    `offsets[i] + 1`, the common one-to-one case.
    """

    original: str
    text: str
    offsets: tuple[int, ...]
    ends: tuple[int, ...] | None = None

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        """[start, end) on `text` -> [start, end) on `original`, covering every source char.

        An empty span maps to an empty span at the matching position; out-of-range
        arguments raise ValueError, since they can only come from a bug in the caller.
        """
        n = len(self.text)
        if not 0 <= start <= end <= n:
            raise ValueError(f"span [{start}, {end}) outside normalized text of length {n}")
        if start == end:
            pos = self.offsets[start] if start < n else len(self.original)
            return (pos, pos)
        last = self.ends[end - 1] if self.ends is not None else self.offsets[end - 1] + 1
        return (self.offsets[start], last)


# --- character folding tables ------------------------------------------------------------

# Look-alikes that NFKC keeps in their own script. Upper-case forms are listed where the
# lower-case form would look different (Greek Η is Latin H, but η is closer to n).
_HOMOGLYPHS: dict[str, str] = {
    # Cyrillic
    "а": "a", "б": "b", "в": "b", "г": "r", "е": "e", "ё": "e", "з": "3", "и": "u", "к": "k",
    "м": "m", "н": "h", "о": "o", "п": "n", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x",
    "ц": "u", "ч": "4", "ш": "w", "щ": "w", "ъ": "b", "ь": "b", "ѕ": "s", "і": "i", "ї": "i",
    "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ɡ": "g", "ᴀ": "a",
    "В": "b", "Н": "h", "М": "m", "Т": "t", "К": "k", "П": "n", "Р": "p", "С": "c",
    # Greek
    "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m", "Ν": "n",
    "Ο": "o", "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x", "α": "a", "β": "b", "γ": "y", "δ": "d",
    "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "ς": "c", "σ": "o",
    "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    # Latin letters NFKC leaves alone
    "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t", "ƀ": "b", "ɨ": "i",
    "œ": "oe", "æ": "ae", "ĳ": "ij", "ß": "ss", "þ": "th", "ð": "d",
    # keycap ten, and blank-looking letters that render as nothing
    "🔟": "10", "ㅤ": "", "ᅟ": "", "ᅠ": "", "⠀": " ",
}

# Categories that vanish: format characters (zero-width, bidi, tags), combining marks
# (accents after NFD, variation selectors, the keycap enclosure), lone surrogates.
_VANISH = frozenset({"Cf", "Mn", "Me", "Cs"})
# Categories that become a plain space: control characters and every kind of space.
_SPACE = frozenset({"Cc", "Zs", "Zl", "Zp"})


def _fold_char(ch: str) -> str:
    """The folded form of one character (possibly empty or several characters)."""
    cat = unicodedata.category(ch)
    if cat in _VANISH:
        return ""
    if cat in _SPACE:
        return " "
    if ch in _HOMOGLYPHS:
        return _HOMOGLYPHS[ch]
    if cat == "Nd":
        # any script's decimal digit (Arabic-Indic, Devanagari, full-width) -> ASCII
        return str(unicodedata.digit(ch))
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        if c in _HOMOGLYPHS:
            out.append(_HOMOGLYPHS[c])
            continue
        for d in unicodedata.normalize("NFD", c.casefold()):
            if unicodedata.category(d) in _VANISH:
                continue
            if d in _HOMOGLYPHS:
                out.append(_HOMOGLYPHS[d])
            elif not d.isascii() and unicodedata.category(d) == "Nd":
                out.append(str(unicodedata.digit(d)))
            else:
                out.append(d)
    return "".join(out)


# Blocks folded at import: Latin, Greek, Cyrillic, Latin Extended Additional, general
# punctuation, currency, letter-like symbols, CJK punctuation, full-width forms, emoji.
_PRECOMPUTED_RANGES = (
    (0x0000, 0x0530), (0x1E00, 0x1F00), (0x2000, 0x2190), (0x2460, 0x2500),
    (0x3000, 0x3040), (0x3130, 0x3190), (0xFE00, 0xFE70), (0xFF00, 0xFFF0),
    (0x1F000, 0x1FB00),
)


def _build_tables() -> tuple[dict[int, str], frozenset[str], dict[str, str]]:
    unit: dict[int, str] = {}
    regular: list[str] = []
    cache: dict[str, str] = {}
    for lo, hi in _PRECOMPUTED_RANGES:
        for cp in range(lo, hi):
            ch = chr(cp)
            folded = _fold_char(ch)
            cache[ch] = folded
            if len(folded) == 1:
                regular.append(ch)
                if folded != ch:
                    unit[cp] = folded
    # the fast path takes a text made only of characters of the blocks that fold to one
    # character; a set test costs a tenth of a character-class search
    return unit, frozenset(regular), cache


_UNIT_TABLE, _REGULAR_CHARS, _FOLD_CACHE = _build_tables()
_FOLD_CACHE_LIMIT = 200_000

# leetspeak for the word view; applied after folding, so full-width and keycap digits too
_LEET_TABLE = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "@": "a", "$": "s"})

# A run of at least three one-character tokens ("c.o.n", "s p a m", "c-o-n-n-a-r-d");
# separators are at most three non-word characters, never a newline.
_SPLIT_LETTERS = re.compile(r"(?<![^\W_])[^\W_](?:[^\w\n]{1,3}[^\W_](?![^\W_])){2,}")
_LETTER = re.compile(r"[^\W_]")
# A letter repeated three times or more: "nnnn" -> "nn". Not to one letter: that would
# make "butt" read "but" and "ass" read "as" (digits are left to the contact view).
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")
# For contacts: runs of single non-space characters separated by single spaces
_SPACED_CHARS = re.compile(r"(?<!\S)\S(?: \S(?!\S)){2,}")


# The last text folded and its fold: the pipeline asks for both views of one text in a
# row (`normalize`, then `normalize_for_contacts` in the contact detector), and folding
# is their common, costlier half. One (text, result) pair, replaced whole, so a thread
# switch between two reads sees either pair, never a mix.
_last_fold: tuple[str, Normalized] = ("", Normalized("", "", ()))


def _fold(text: str) -> Normalized:
    """Character folding shared by both views, with the offset map."""
    global _last_fold
    last = _last_fold
    if last[0] is text or last[0] == text:
        return last[1]
    folded = _fold_uncached(text)
    _last_fold = (text, folded)
    return folded


def _fold_uncached(text: str) -> Normalized:
    # every ASCII character folds to exactly one (a test pins it)
    if text.isascii() or _REGULAR_CHARS.issuperset(text):
        # every character folds to exactly one: offsets are the identity
        return Normalized(text, text.translate(_UNIT_TABLE), tuple(range(len(text))))
    cache = _FOLD_CACHE
    parts: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for i, ch in enumerate(text):
        folded = cache.get(ch)
        if folded is None:
            folded = _fold_char(ch)
            if len(cache) < _FOLD_CACHE_LIMIT:
                cache[ch] = folded
        n = len(folded)
        if n == 1:
            parts.append(folded)
            starts.append(i)
            ends.append(i + 1)
        elif n == 0:
            # a combining mark (accent, keycap, variation selector) belongs to its base
            if ends and unicodedata.category(ch) in ("Mn", "Me") and ends[-1] == i:
                ends[-1] = i + 1
        else:
            parts.append(folded)
            starts.extend([i] * n)
            ends.extend([i + 1] * n)
    return Normalized(text, "".join(parts), tuple(starts), tuple(ends))


def _starts_ends(norm: Normalized) -> tuple[tuple[int, ...], tuple[int, ...] | list[int]]:
    if norm.ends is not None:
        return norm.offsets, norm.ends
    return norm.offsets, range(1, len(norm.offsets) + 1)  # type: ignore[return-value]


def _rebuild(norm: Normalized, kept: Iterable[tuple[int, int, int]]) -> Normalized:
    """A new view made of normalized characters `kept`: (index, first, last) triples.

    Each kept character is `norm.text[index]`, mapped back to the original range from
    the start of `first` to the end of `last` (first == last == index for a plain copy).
    """
    starts, ends = _starts_ends(norm)
    text = norm.text
    chars: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    for index, first, last in kept:
        chars.append(text[index])
        new_starts.append(starts[first])
        new_ends.append(ends[last])
    return Normalized(norm.original, "".join(chars), tuple(new_starts), tuple(new_ends))


def _drop_separators(norm: Normalized, pattern: re.Pattern[str], keep: re.Pattern[str]) -> Normalized:
    """Inside each match of `pattern`, keep only the characters matching `keep`."""
    text = norm.text
    if not pattern.search(text):
        return norm

    def kept() -> Iterable[tuple[int, int, int]]:
        pos = 0
        for m in pattern.finditer(text):
            for i in range(pos, m.start()):
                yield (i, i, i)
            for k in keep.finditer(text, m.start(), m.end()):
                i = k.start()
                yield (i, i, i)
            pos = m.end()
        for i in range(pos, len(text)):
            yield (i, i, i)

    return _rebuild(norm, kept())


def _collapse_repeats(norm: Normalized) -> Normalized:
    text = norm.text
    if not _REPEATS.search(text):
        return norm

    def kept() -> Iterable[tuple[int, int, int]]:
        pos = 0
        for m in _REPEATS.finditer(text):
            for i in range(pos, m.start()):
                yield (i, i, i)
            yield (m.start(), m.start(), m.start())
            yield (m.start() + 1, m.start() + 1, m.end() - 1)
            pos = m.end()
        for i in range(pos, len(text)):
            yield (i, i, i)

    return _rebuild(norm, kept())


def normalize(text: str) -> Normalized:
    """The word-matching view: folded, de-leeted, split letters joined, repeats collapsed."""
    if not isinstance(text, str):
        raise TypeError(f"normalize() takes a str, not {type(text).__name__}")
    folded = _fold(text)
    leet = folded.text.translate(_LEET_TABLE)
    norm = Normalized(text, leet, folded.offsets, folded.ends)
    norm = _drop_separators(norm, _SPLIT_LETTERS, _LETTER)
    return _collapse_repeats(norm)


def normalize_for_contacts(text: str) -> Normalized:
    """The contact view: folded like `normalize`, but digits, '@' and '+' stay as typed."""
    if not isinstance(text, str):
        raise TypeError(f"normalize_for_contacts() takes a str, not {type(text).__name__}")
    return _fold(text)


def join_spaced_chars(norm: Normalized) -> Normalized:
    """Remove the spaces of runs like "j u l i e @ g m a i l . c o m" (three or more)."""
    return _drop_separators(norm, _SPACED_CHARS, _NOT_SPACE)


_NOT_SPACE = re.compile(r"\S")
