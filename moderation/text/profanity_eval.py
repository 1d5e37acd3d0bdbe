"""Measuring the profanity path on the development eval data: classifier, word lists, and both.

The eval data is read at run time from `eval_dir` (default `../shared/eval` beside the
repository) and never copied into the repository. `ambiguous` rows are excluded, as the
eval README asks. Three configurations are scored per subset (English HateCheck, French
MHC, English SMS, everything):

* `classifier`: the ONNX model's probability >= its threshold;
* `lexicon`: a whole-word match of any term of `moderation/rules/lists/{en,fr}.txt`
  over casefolded, accent-stripped text (a stand-in for the rules engine's matcher);
* `combined`: flagged when either one fires, which is what the text path does.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from moderation.models import MODELS_DIR
from moderation.text.evaluate import read_jsonl

LISTS_DIR = Path(__file__).resolve().parent.parent / "rules" / "lists"
DEFAULT_EVAL_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "eval"
SUBSETS = {
    "hatecheck/en": lambda r: r["source"] == "hatecheck",
    "mhc/fr": lambda r: r["source"] == "mhc",
    "sms/en": lambda r: r["source"] == "sms_spam_collection",
    "all": lambda r: True,
}


def fold(text: str) -> str:
    """Casefold and strip accents: the form the word lists are written in."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def load_terms(langs: tuple[str, ...] = ("en", "fr"), lists_dir: Path = LISTS_DIR) -> list[str]:
    terms: set[str] = set()
    for lang in langs:
        terms.update(t for t in (lists_dir / f"{lang}.txt").read_text(encoding="utf-8").split("\n") if t)
    return sorted(terms)


def lexicon_matcher(terms: list[str]) -> re.Pattern[str]:
    """One alternation with letter boundaries: 'ass' must not fire inside 'class'."""
    body = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![a-z])(?:{body})(?![a-z])")


def read_messages(eval_dir: Path) -> list[dict[str, Any]]:
    rows = read_jsonl(eval_dir / "text" / "messages.dev.jsonl.gz")
    return [r for r in rows if not r.get("ambiguous") and r["label"] != "ambiguous"]


def _score(truth: np.ndarray, flagged: np.ndarray, is_ok: np.ndarray) -> dict[str, float]:
    tp = int(np.sum(truth & flagged))
    fp = int(np.sum(~truth & flagged))
    fn = int(np.sum(truth & ~flagged))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    ok_flagged = float(np.sum(is_ok & flagged) / max(int(np.sum(is_ok)), 1))
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f1, 3), "ok_flag_rate": round(ok_flagged, 3),
            "n": int(truth.size), "positives": int(truth.sum())}


def evaluate_profanity(
    eval_dir: Path = DEFAULT_EVAL_DIR,
    *,
    model: str = "profanity-enfr",
    models_dir: Path = MODELS_DIR,
    threshold: float | None = None,
    lists_dir: Path = LISTS_DIR,
) -> dict[str, Any]:
    """F1 of each configuration on each subset of messages.dev; `threshold` defaults to the manifest's."""
    # heavy: onnxruntime, for the evaluation only
    from moderation.text.classifier import ToxicityClassifier

    rows = read_messages(eval_dir)
    clf = ToxicityClassifier(model, models_dir=models_dir)
    thr = float(threshold if threshold is not None else clf.manifest.meta.get("threshold", 0.5))
    probs = clf.predict([r["text"] for r in rows])
    matcher = lexicon_matcher(load_terms(lists_dir=lists_dir))
    lex = np.array([matcher.search(fold(r["text"])) is not None for r in rows])
    truth = np.array([r["label"] == "profanity_insult" for r in rows])
    is_ok = np.array([r["label"] == "ok" for r in rows])
    configs = {"classifier": probs >= thr, "lexicon": lex, "combined": (probs >= thr) | lex}
    result: dict[str, Any] = {"model": clf.detector, "threshold": thr, "scores": {}}
    for subset, keep in SUBSETS.items():
        mask = np.array([keep(r) for r in rows])
        result["scores"][subset] = {
            name: _score(truth[mask], flagged[mask], is_ok[mask]) for name, flagged in configs.items()
        }
    # HateCheck and MHC are templated test suites: the share flagged per functionality says more than totals
    combined = configs["combined"]
    for subset in ("hatecheck/en", "mhc/fr"):
        groups: dict[str, list[bool]] = {}
        for row, flagged in zip(rows, combined.tolist()):
            if SUBSETS[subset](row):
                groups.setdefault(row["source_label"], []).append(flagged)
        result.setdefault("by_functionality", {})[subset] = {
            label: {"flagged": round(sum(v) / len(v), 3), "n": len(v)} for label, v in sorted(groups.items())
        }
    return result


def format_table(result: dict[str, Any]) -> str:
    """A markdown table: one line per subset and configuration."""
    lines = [f"model {result['model']}, classifier threshold {result['threshold']}", "",
             "| subset | config | precision | recall | F1 | ok flagged | n |", "|---|---|---|---|---|---|---|"]
    for subset, configs in result["scores"].items():
        for name, s in configs.items():
            lines.append(f"| {subset} | {name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} "
                         f"| {s['ok_flag_rate']:.3f} | {s['n']} |")
    by_func = result.get("by_functionality", {})
    if by_func:
        subsets = list(by_func)
        labels = sorted({label for groups in by_func.values() for label in groups})
        lines += ["", "Share flagged by `combined`, per functionality (hateful/* and profanity_nh rows are profanity_insult, the other non-hateful/* rows ok):", "",
                  "| functionality | " + " | ".join(subsets) + " |", "|---|" + "---|" * len(subsets)]
        for label in labels:
            cells = [f"{by_func[sub][label]['flagged']:.2f} ({by_func[sub][label]['n']})" if label in by_func[sub] else "-"
                     for sub in subsets]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
