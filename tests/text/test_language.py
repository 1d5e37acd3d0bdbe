"""Language detection: English, French, other; cheap, total on hostile input, checked against its manifest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from servers import EVAL_DIR, REPO

from moderation.models import ModelError
from moderation.signals import TextInput
from moderation.text.language import (
    LanguageDetector,
    LanguageModel,
    LanguageSignal,
)
from moderation.text.normalize import normalize
from moderation.types import Item, ItemType


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    return LanguageDetector()


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Can you pick me up at the station tomorrow morning?", "en"),
        ("thx, see u l8r at the gym", "en"),  # SMS spelling
        ("Je serai à la gare demain matin, tu peux venir me chercher ?", "fr"),
        ("Le trajet coûte quinze euros par personne.", "fr"),
        ("Ich hole dich morgen früh am Bahnhof ab.", "other"),  # German
        ("¿Puedes recogerme mañana en la estación?", "other"),  # Spanish
        ("Domani mattina ti vengo a prendere alla stazione.", "other"),  # Italian
        ("Я заберу тебя завтра утром на вокзале.", "other"),  # Russian
        ("我明天早上去车站接你。", "other"),  # Chinese
    ],
)
def test_detects_the_language_of_a_sentence(detector: LanguageDetector, text: str, lang: str) -> None:
    found, confidence = detector.detect(text)
    assert found == lang
    assert 0.5 <= confidence <= 1.0


@pytest.mark.parametrize("text", ["", "   ", "12345 678", "!!! ??? ...", "\x00\x01\u200b"])
def test_text_without_letters_has_no_language(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) == ("other", 0.0)


def test_batch_matches_one_at_a_time(detector: LanguageDetector) -> None:
    texts = ["Bonjour à tous", "", "Hello everyone, how are you doing?", "Hallo zusammen", "ok"]
    assert detector.detect_batch(texts) == [detector.detect(t) for t in texts]


def test_huge_text_is_decided_on_its_beginning(detector: LanguageDetector) -> None:
    huge = "Merci beaucoup pour ce trajet. " * 40_000 + "Thank you so much for the ride. " * 40_000
    assert detector.detect(huge)[0] == "fr"


def test_probabilities_sum_to_one_over_trained_languages(detector: LanguageDetector) -> None:
    probs = detector.probabilities(["Good morning", "Bonjour", "Guten Morgen", ""])
    assert probs.shape == (4, len(detector.model.languages))
    assert probs[:3].sum(axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-4)
    assert probs[3].sum() == 0.0


def test_language_signal_puts_language_in_features() -> None:
    items = [
        TextInput(item=Item(id=str(i), type=ItemType.TEXT, context="chat", author_id="a", text=t), normalized=normalize(t))
        for i, t in enumerate(["On se voit demain à la gare ?", "See you tomorrow at the station?"])
    ]
    fr, en = LanguageSignal().analyze_batch(items)
    assert fr.language == "fr" and en.language == "en"
    assert fr.reasons == [] and fr.scores == {}


def test_table_whose_bytes_do_not_match_its_manifest_is_refused(tmp_path: Path) -> None:
    for suffix in (".npz", ".json"):
        shutil.copy(REPO / "models" / f"lang-enfr{suffix}", tmp_path / f"lang-enfr{suffix}")
    assert LanguageModel.load(models_dir=tmp_path).languages[:2] == ("en", "fr")
    data = bytearray((tmp_path / "lang-enfr.npz").read_bytes())
    data[100] ^= 0xFF
    (tmp_path / "lang-enfr.npz").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        LanguageModel.load(models_dir=tmp_path)


@pytest.mark.skipif(not (EVAL_DIR / "text" / "messages.dev.jsonl.gz").is_file(), reason="no eval data")
def test_accuracy_on_eval_messages(detector: LanguageDetector) -> None:
    from moderation.text.evaluate import read_jsonl

    rows = list(read_jsonl(EVAL_DIR / "text" / "messages.dev.jsonl.gz"))
    rows += list(read_jsonl(EVAL_DIR / "text" / "messages_extra_de_es_it.jsonl.gz"))[::5]
    found = detector.detect_batch([r["text"] for r in rows])
    for lang, floor in (("en", 0.97), ("fr", 0.98), ("other", 0.97)):
        pairs = [(f[0], r) for f, r in zip(found, rows) if (r["lang"] if r["lang"] in ("en", "fr") else "other") == lang]
        accuracy = sum(f == lang for f, _ in pairs) / len(pairs)
        assert accuracy >= floor, (lang, accuracy)
