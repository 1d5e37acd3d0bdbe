"""Normalization: both views, the offset map, and hostile input."""

from __future__ import annotations

import pytest

from moderation.text.normalize import (
    Normalized,
    join_spaced_chars,
    normalize,
    normalize_for_contacts,
)


def _assert_offsets_valid(norm: Normalized) -> None:
    n = len(norm.text)
    assert len(norm.offsets) == n
    ends = norm.ends if norm.ends is not None else [o + 1 for o in norm.offsets]
    assert len(ends) == n
    for start, end in zip(norm.offsets, ends):
        assert 0 <= start < end <= len(norm.original)
    # source positions never go backwards
    assert list(norm.offsets) == sorted(norm.offsets)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Connard", "connard"),  # case folded; a double letter stays double
        ("CONNNNNARD", "connard"),  # stretched letters
        ("c.o.n.n.a.r.d", "connard"),  # split by dots
        ("s p a m", "spam"),  # split by spaces
        ("c-o-n-n-a-r-d !", "connard !"),  # split by dashes, trailing punctuation kept
        ("с\u043everture", "coverture"),  # Cyrillic с and о
        ("ΜΕRDΕ", "merde"),  # Greek capitals Μ and Ε
        ("co\u200bn\u200dnard", "connard"),  # zero-width space and joiner
        ("ｃｏｎｎａｒｄ", "connard"),  # full-width letters
        ("c0nn4rd", "connard"),  # leetspeak digits
        ("$al@pe", "salape"),  # leetspeak symbols
        ("Élève à Noël, œuvre", "eleve a noel, oeuvre"),  # accents stripped, ligature expanded
        ("il y a un chat", "il y a un chat"),  # two single letters are not a split word
        ("", ""),  # empty
    ],
)
def test_normalize_folds_evasions(text: str, expected: str) -> None:
    norm = normalize(text)
    assert norm.text == expected
    _assert_offsets_valid(norm)


def test_normalize_for_contacts_keeps_digits_and_symbols() -> None:
    norm = normalize_for_contacts("Tél: ０６ 1\u200b2, Ｊean＠gmail．com 3️⃣")
    assert norm.text == "tel: 06 12, jean@gmail.com 3"
    _assert_offsets_valid(norm)


def test_span_to_original_covers_homoglyphs_and_zero_width() -> None:
    original = "salut c\u200bо\u200bnnnnard !"  # Cyrillic о, zero-width spaces, stretched n
    norm = normalize(original)
    start = norm.text.index("connard")
    span = norm.span_to_original(start, start + len("connard"))
    assert span == (6, 17)
    assert original[span[0] : span[1]] == "c\u200bо\u200bnnnnard"


def test_span_to_original_covers_split_letters() -> None:
    original = "t'es un c.o.n.n.a.r.d"
    norm = normalize(original)
    start = norm.text.index("connard")
    assert original[slice(*norm.span_to_original(start, start + 7))] == "c.o.n.n.a.r.d"


def test_span_to_original_covers_keycap_marks() -> None:
    original = "0️⃣6️⃣"
    norm = normalize_for_contacts(original)
    assert norm.text == "06"
    assert norm.span_to_original(0, 2) == (0, len(original))
    assert norm.span_to_original(1, 2) == (3, 6)


def test_span_to_original_round_trips_every_character() -> None:
    original = "ＡＢ\u200bс ﬁ e\u0301 x"
    norm = normalize(original)
    for i in range(len(norm.text)):
        start, end = norm.span_to_original(i, i + 1)
        assert 0 <= start < end <= len(original)


def test_span_to_original_rejects_out_of_range() -> None:
    norm = normalize("abc")
    with pytest.raises(ValueError):
        norm.span_to_original(0, 10)
    with pytest.raises(ValueError):
        norm.span_to_original(2, 1)


def test_span_to_original_empty_span_is_empty() -> None:
    norm = normalize("abc")
    assert norm.span_to_original(1, 1) == (1, 1)
    assert norm.span_to_original(3, 3) == (3, 3)


def test_join_spaced_chars_joins_only_runs_of_single_chars() -> None:
    norm = join_spaced_chars(normalize_for_contacts("mail: j u l i e @ x . f r merci"))
    assert norm.text == "mail: julie@x.fr merci"
    _assert_offsets_valid(norm)


@pytest.mark.parametrize(
    "text",
    [
        "\x00\x01\x1b[31m\x7f",  # control characters become spaces
        "\ud800abc\udfff",  # lone surrogates vanish
        "مرحبا Привет 你好 γειά",  # mixed scripts
        "👩\u200d👩\u200d👧 🇫🇷",  # emoji sequences
        "\U000e0041\U000e0042tag",  # tag characters
        "\ufdfa",  # one character that NFKC turns into eighteen
    ],
)
def test_normalize_survives_hostile_input(text: str) -> None:
    for norm in (normalize(text), normalize_for_contacts(text)):
        _assert_offsets_valid(norm)
        assert "\u200b" not in norm.text


def test_normalize_control_characters_become_spaces() -> None:
    assert normalize_for_contacts("a\x00b\nc").text == "a b c"


def test_normalize_rejects_non_text() -> None:
    with pytest.raises(TypeError):
        normalize(b"bytes")  # type: ignore[arg-type]


@pytest.mark.parametrize("unit", ["a", "é ", "c.o.", "0 ", "\u200bx", "aa"])
def test_normalize_maps_a_megabyte_of_hostile_text_back_in_order(unit: str) -> None:
    # No timing here: a quadratic pass shows as a slow suite, not as a flaky assertion.
    text = unit * (1_000_000 // len(unit))
    norm = normalize(text)
    assert len(norm.offsets) == len(norm.text)
    assert all(a <= b for a, b in zip(norm.offsets, norm.offsets[1:]))
    assert not norm.offsets or (norm.offsets[0] >= 0 and norm.offsets[-1] < len(text))


def test_fold_of_ascii_text_is_one_character_per_character() -> None:
    # plain text skips the irregular-character search on this promise
    for cp in range(128):
        assert len(normalize_for_contacts(chr(cp)).text) == 1, hex(cp)


def test_both_views_of_one_text_agree_when_folded_in_a_row() -> None:
    # the second view reuses the first one's fold: it must be the same text's
    text = "Ｔél 0\u200b6 12 34 56 78 ça va"
    words, contacts = normalize(text), normalize_for_contacts(text)
    assert contacts.text == "tel 06 12 34 56 78 ca va"
    assert words.original == contacts.original == text
    assert normalize_for_contacts("autre chose").text == "autre chose"
