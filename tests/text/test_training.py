"""Training from labeled messages: export, held-out comparison, writing only a better model."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("skl2onnx")

from moderation.errors import InvalidInput
from moderation.models import file_sha256
from moderation.text.classifier import ToxicityClassifier, prepare_text
from moderation.text.training import (
    build_pipeline,
    close_vocabulary,
    export_average,
    export_onnx,
    fit_pipeline,
    next_version,
    onnx_scores,
    split_holdout,
    train_text_model,
)

INSULTS = {"en": ["idiot", "moron", "loser", "jerk", "clown"], "fr": ["connard", "abruti", "crétin", "débile", "nul"]}
TOXIC = {"en": ["you are a {w}", "shut up {w}", "what a {w} you are"], "fr": ["t'es un {w}", "ta gueule {w}", "espèce de {w}"]}
CLEAN = {
    "en": ["see you at {n} pm", "thanks for the ride number {n}", "the train leaves at {n}", "can you bring {n} bags"],
    "fr": ["rendez-vous à {n} heures", "merci pour le trajet {n}", "le train part à {n}h", "tu peux prendre {n} sacs"],
}


def _rows(n: int, seed: int, flip: float = 0.0) -> list[dict[str, str]]:
    """`n` short labeled messages per language; a `flip` share of labels is swapped (bad moderators)."""
    rng = random.Random(seed)
    rows = []
    for lang in ("en", "fr"):
        for k in range(n):
            toxic = k % 2 == 0
            text = (rng.choice(TOXIC[lang]).format(w=rng.choice(INSULTS[lang])) if toxic
                    else rng.choice(CLEAN[lang]).format(n=rng.randint(1, 99)))
            label = "profanity_insult" if toxic != (rng.random() < flip) else "ok"
            rows.append({"text": text, "label": label, "lang": lang})
    return rows


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_first_model_is_written_with_manifest_and_card_and_loads(tmp_path: Path) -> None:
    data = _write(tmp_path / "labeled.jsonl", _rows(80, seed=1))
    report = train_text_model(data, tmp_path / "models", None, name="profanity-test")
    assert report.improved and report.current is None and report.version == "1.0.0"
    assert report.n_train + report.n_holdout == 160
    assert set(report.per_lang) == {"en", "fr"}
    assert report.new.f1 >= 0.9
    onnx, manifest, card = report.written
    meta = json.loads(manifest.read_text())
    assert meta["sha256"] == file_sha256(onnx)
    assert meta["sha256"] in card.read_text()
    clf = ToxicityClassifier("profanity-test", models_dir=tmp_path / "models")
    p = clf.predict(["t'es un connard", "merci pour le trajet 12", "you are a moron", "see you at 5 pm"])
    assert p[0] > 0.5 and p[2] > 0.5 and p[1] < 0.5 and p[3] < 0.5


def test_worse_model_does_not_replace_the_current_one(tmp_path: Path) -> None:
    models = tmp_path / "models"
    good = _write(tmp_path / "good.jsonl", _rows(80, seed=1))
    train_text_model(good, models, None, name="profanity-test")
    before = {p.name: p.read_bytes() for p in models.iterdir()}
    # every label swapped (a bad batch of decisions), judged on a fixed gold set
    inverted = _write(tmp_path / "inverted.jsonl", _rows(80, seed=2, flip=1.0))
    gold = _write(tmp_path / "gold.jsonl", _rows(30, seed=7))
    report = train_text_model(inverted, models, "profanity-test", models_dir=models, holdout_jsonl=gold)
    assert report.current is not None
    assert report.n_holdout == 60 and report.n_train == 160
    assert not report.improved and report.written == ()
    assert report.new.f1 < report.current.f1
    assert {p.name: p.read_bytes() for p in models.iterdir()} == before


def test_better_model_replaces_the_current_one_with_next_version(tmp_path: Path) -> None:
    models = tmp_path / "models"
    english_only = [r for r in _rows(80, seed=1) if r["lang"] == "en"]
    train_text_model(_write(tmp_path / "en.jsonl", english_only), models, None, name="profanity-test")
    # the moderators' French decisions teach the model French
    both = _write(tmp_path / "both.jsonl", _rows(80, seed=3))
    report = train_text_model(both, models, "profanity-test", models_dir=models)
    assert report.improved and report.version == "1.1.0"
    assert report.current is not None and report.new.f1 > report.current.f1
    assert json.loads((models / "profanity-test.json").read_text())["version"] == "1.1.0"
    assert ToxicityClassifier("profanity-test", models_dir=models).manifest.version == "1.1.0"


def test_onnx_export_matches_scikit_learn() -> None:
    rows = _rows(60, seed=4)
    texts = [prepare_text(r["text"]) for r in rows]
    y = np.array([r["label"] == "profanity_insult" for r in rows], dtype=np.int64)
    pipeline = build_pipeline().fit(texts, y)
    probe = ["You are a CLOWN!", "Rendez-vous à 7 heures", "", "ta gueule l'abruti", "a b c"]
    expected = pipeline.predict_proba([prepare_text(t) for t in probe])[:, 1]
    assert onnx_scores(export_onnx(pipeline), probe) == pytest.approx(expected, abs=1e-4)


def test_close_vocabulary_adds_the_tokens_of_every_ngram() -> None:
    assert close_vocabulary(["you idiot", "you"], "word") == ["idiot", "you", "you idiot"]
    assert close_vocabulary([" \u2018", "ab"], "char") == [" ", " \u2018", "a", "ab", "b", "\u2018"]


def _capped_data() -> tuple[list[str], np.ndarray]:
    rows = _rows(60, seed=4)
    return [prepare_text(r["text"]) for r in rows], np.array([r["label"] == "profanity_insult" for r in rows], dtype=np.int64)


# caps at which the 60-row sample keeps n-grams without some of their tokens (tied frequencies at the cut)
TIGHT_CAPS = {"word_features": 30, "char_features": 30}


def test_capped_model_exports_exactly_with_closed_vocabularies() -> None:
    texts, y = _capped_data()
    pipeline = fit_pipeline(build_pipeline(**TIGHT_CAPS), texts, y)
    blocks = dict(pipeline.named_steps["features"].transformer_list)
    for block in blocks.values():
        vocabulary = set(block.vocabulary_)
        assert all(tok in vocabulary for term in vocabulary for tok in close_vocabulary([term], block.analyzer))
    assert 30 <= len(blocks["words"].vocabulary_) < 40 and 30 <= len(blocks["chars"].vocabulary_) < 40
    probe = ["You are a CLOWN!", "Rendez-vous à 7 heures", "", "ta gueule l'abruti", "the train leaves at 9"]
    expected = pipeline.predict_proba([prepare_text(t) for t in probe])[:, 1]
    assert onnx_scores(export_onnx(pipeline), probe) == pytest.approx(expected, abs=1e-4)


def test_capped_vocabulary_missing_tokens_is_refused_at_export() -> None:
    texts, y = _capped_data()
    # a plain fit cuts at max_features without closing: the export would be wrong, so it is refused
    pipeline = build_pipeline(**TIGHT_CAPS).fit(texts, y)
    with pytest.raises(ValueError, match="fit_pipeline"):
        export_onnx(pipeline)


def test_unknown_label_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "hi", "label": "ok"}\n{"text": "x", "label": "rude"}\n', encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"bad.jsonl:2: unknown label 'rude'"):
        train_text_model(path, tmp_path / "models", None)


def test_one_class_only_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "ok.jsonl", [{"text": f"hello {i}", "label": "ok"} for i in range(20)])
    with pytest.raises(InvalidInput, match="both"):
        train_text_model(path, tmp_path / "models", None)


def test_ambiguous_rows_are_left_out(tmp_path: Path) -> None:
    rows = _rows(40, seed=5) + [{"text": "they are all the same", "label": "ambiguous", "lang": "en"}] * 10
    report = train_text_model(_write(tmp_path / "amb.jsonl", rows), tmp_path / "models", None)
    assert report.n_train + report.n_holdout == 80


def test_holdout_split_is_seeded_and_stratified() -> None:
    rows = _rows(50, seed=6)
    a_train, a_hold = split_holdout(rows, 0.2, seed=0)
    b_train, b_hold = split_holdout(rows, 0.2, seed=0)
    assert a_hold == b_hold and a_train == b_train
    assert {(r["lang"], r["label"] == "profanity_insult") for r in a_hold} == {
        ("en", True), ("en", False), ("fr", True), ("fr", False)
    }


@pytest.mark.parametrize(("current", "following"), [(None, "1.0.0"), ("1.0.0", "1.1.0"), ("2.4.1", "2.5.0"), ("x", "1.0.0")])
def test_next_version(current: str | None, following: str) -> None:
    assert next_version(current) == following


def test_an_averaged_model_scores_the_mean_of_its_members() -> None:
    texts, y = _capped_data()
    first = fit_pipeline(build_pipeline(), texts, y)
    # a member of another corpus: English only, capped, so the n-gram tables differ
    english = [r for r in _rows(60, seed=9) if r["lang"] == "en"]
    second = fit_pipeline(build_pipeline(**TIGHT_CAPS), [prepare_text(r["text"]) for r in english],
                          np.array([r["label"] == "profanity_insult" for r in english], dtype=np.int64))
    probe = ["You are a CLOWN!", "Rendez-vous à 7 heures", "", "ta gueule l'abruti", "thanks for the ride number 4",
             "moron moron moron"]
    a = first.predict_proba([prepare_text(t) for t in probe])[:, 1]
    b = second.predict_proba([prepare_text(t) for t in probe])[:, 1]
    assert not np.allclose(a, b, atol=0.05)  # two different models, or the mean proves nothing
    assert onnx_scores(export_average([first, second]), probe) == pytest.approx((a + b) / 2, abs=1e-4)
    assert onnx_scores(export_average([first]), probe) == pytest.approx(a, abs=1e-4)


def test_training_with_another_corpus_writes_one_averaged_model(tmp_path: Path) -> None:
    data = _write(tmp_path / "labeled.jsonl", _rows(80, seed=1))
    extra = _write(tmp_path / "extra.jsonl", _rows(40, seed=11))
    report = train_text_model(data, tmp_path / "models", None, name="profanity-test", also=[extra])
    meta = json.loads(report.written[1].read_text())
    assert meta["members"] == 2 and "extra.jsonl" in meta["training_data"]
    assert "2 such models in one graph" in report.written[2].read_text()
    clf = ToxicityClassifier("profanity-test", models_dir=tmp_path / "models")
    p = clf.predict(["t'es un connard", "merci pour le trajet 12"])
    assert p[0] > 0.5 > p[1]
