"""The shipped toxicity classifier: scores, hostile inputs, reasons, the manifest check, eval targets."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from servers import EVAL_DIR, REPO

from moderation.models import ModelError
from moderation.signals import TextInput
from moderation.text.classifier import MAX_MODEL_CHARS, ToxicityClassifier, prepare_text
from moderation.text.normalize import normalize
from moderation.types import Item, ItemType, Source


@pytest.fixture(scope="module")
def clf() -> ToxicityClassifier:
    return ToxicityClassifier()


def _inputs(*texts: str) -> list[TextInput]:
    return [
        TextInput(item=Item(id=f"t{i}", type=ItemType.TEXT, context="chat", author_id="a", text=t), normalized=normalize(t))
        for i, t in enumerate(texts)
    ]


@pytest.mark.parametrize(
    ("raw", "prepared"),
    [
        ("Vous êtes des PU7E", "vous etes des pute"),  # accents, case, leet digit inside a word
        ("sh!t, you idiot!", "shit, you idiot!"),  # "!" is a letter only between letters
        ("deserve to d i e", "deserve to die"),  # spaced letters glued
        ("15 € à 7h30", "15 € a 7h30"),  # prices and times keep their digits
        ("a\x00b\u200bc\td", "a bc d"),  # controls become spaces, zero-width characters vanish
        ("ＦＵＣＫ", "fuck"),  # full-width letters folded
        ("", ""),
    ],
)
def test_prepare_text_folds_evasions(raw: str, prepared: str) -> None:
    assert prepare_text(raw) == prepared


def test_predict_returns_one_probability_per_text_in_order(clf: ToxicityClassifier) -> None:
    texts = ["See you at the station at 6pm, thanks!", "You are a worthless piece of shit."] * 3
    p = clf.predict(texts)
    assert p.shape == (6,) and p.dtype == np.float32
    assert np.all((p >= 0) & (p <= 1))
    assert np.allclose(p[0::2], p[0]) and np.allclose(p[1::2], p[1])


@pytest.mark.parametrize(
    ("text", "abusive"),
    [
        ("You are a worthless piece of shit.", True),
        ("Immigrants are vermin and should all be sent back.", True),
        ("I want to kill all gay people.", True),
        ("Ferme ta gueule, connard.", True),
        ("Les musulmans sont des rats.", True),
        ("Je vais te buter, sale pute.", True),
        ("See you at the station at 6pm, thanks!", False),
        ("Can you pick up some bread on your way home?", False),
        ("On se retrouve à la gare à 18h.", False),
        ("Merci pour le trajet, à la semaine prochaine !", False),
    ],
)
def test_obvious_cases_fall_on_the_right_side_of_half(clf: ToxicityClassifier, text: str, abusive: bool) -> None:
    assert bool(clf.predict([text])[0] >= 0.5) is abusive


def test_hostile_inputs_are_scored_without_error(clf: ToxicityClassifier) -> None:
    huge = "bonjour " * 131_072  # 1 MiB
    texts = ["", "\x00\x01\x02\x7f", "\u202e\u200b\ufeff", "💩" * 1000, huge, "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace")]
    p = clf.predict(texts)
    assert p.shape == (len(texts),)
    assert all(math.isfinite(x) and 0.0 <= x <= 1.0 for x in p.tolist())


def test_long_text_is_scored_on_its_first_chars(clf: ToxicityClassifier) -> None:
    head = "Merci pour le trajet, à bientôt. " * 70
    tail = " connard de merde" * 10_000
    assert len(head) > MAX_MODEL_CHARS
    assert clf.predict([head + tail])[0] == pytest.approx(clf.predict([head])[0], abs=1e-6)


def test_scores_do_not_depend_on_batch_size() -> None:
    texts = [f"message {i}: you are an idiot" if i % 3 == 0 else f"message {i}: see you soon" for i in range(50)]
    one = ToxicityClassifier(batch_size=1).predict(texts)
    many = ToxicityClassifier(batch_size=64).predict(texts)
    assert np.allclose(one, many, atol=1e-6)


def test_analyze_batch_gives_a_model_reason_at_min_score(clf: ToxicityClassifier) -> None:
    results = clf.analyze_batch(_inputs("You are a worthless piece of shit.", "See you at 6pm!"))
    assert len(results) == 2
    hit, clean = results
    assert hit.scores["profanity"] >= 0.5 and clean.scores["profanity"] < 0.5
    (reason,) = hit.reasons
    assert reason.source is Source.MODEL and reason.category == "profanity"
    assert reason.detector == f"profanity-enfr@{clf.manifest.version}"
    assert reason.score == pytest.approx(hit.scores["profanity"])
    assert clean.reasons == []


def test_min_score_sets_when_a_reason_is_given() -> None:
    strict = ToxicityClassifier(min_score=1.0)
    lax = ToxicityClassifier(min_score=0.0)
    texts = _inputs("See you at 6pm!", "")
    assert all(s.reasons == [] for s in strict.analyze_batch(texts))
    assert all(len(s.reasons) == 1 for s in lax.analyze_batch(texts))


def test_reconfigure_takes_min_score_and_rejects_unknown_keys(clf: ToxicityClassifier) -> None:
    c = ToxicityClassifier()
    c.reconfigure({"min_score": 0.9})
    assert c.min_score == 0.9
    with pytest.raises(ValueError):
        c.reconfigure({"threshold": 0.5})
    with pytest.raises(ValueError):
        c.reconfigure({"min_score": 2})
    with pytest.raises(ValueError):
        ToxicityClassifier(min_score=-0.1)


def test_model_whose_bytes_do_not_match_its_manifest_is_refused(tmp_path: Path) -> None:
    models = REPO / "models"
    for suffix in (".onnx", ".json"):
        shutil.copy(models / f"profanity-enfr{suffix}", tmp_path / f"profanity-enfr{suffix}")
    ToxicityClassifier(models_dir=tmp_path)  # the intact copy loads
    data = bytearray((tmp_path / "profanity-enfr.onnx").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "profanity-enfr.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256"):
        ToxicityClassifier(models_dir=tmp_path)


def test_manifest_documents_the_model(clf: ToxicityClassifier) -> None:
    meta = clf.manifest.meta
    for key in ("file", "sha256", "version", "labels", "input", "source", "license", "training_data", "quality"):
        assert key in meta, key
    card = (REPO / "models" / "profanity-enfr.md").read_text()
    assert meta["sha256"] in card


@pytest.mark.skipif(not (EVAL_DIR / "text" / "messages.dev.jsonl.gz").is_file(), reason="no eval data")
def test_combined_profanity_f1_meets_target_in_english_and_french() -> None:
    from moderation.text.profanity_eval import evaluate_profanity, format_table

    result = evaluate_profanity(EVAL_DIR)
    scores = result["scores"]
    assert scores["hatecheck/en"]["combined"]["f1"] >= 0.75, format_table(result)
    assert scores["mhc/fr"]["combined"]["f1"] >= 0.75, format_table(result)
    # everyday English chat must stay mostly unflagged
    assert scores["sms/en"]["combined"]["ok_flag_rate"] <= 0.05, format_table(result)
