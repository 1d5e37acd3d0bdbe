"""Measure contact detection on the development data in `shared/eval/text`.

The data is read from a path at run time and never copied into the repository. Three
files: `contact_leakage.dev.jsonl` (disguise styles, one per row), `carpool.dev.jsonl`
(carpooling messages full of harmless numbers, with the gold `span` of each contact
detail) and the rows of `messages.dev.jsonl.gz` (English SMS; `contact_info` there was
labelled by a regex, see the data README). A text counts as flagged when
`find_contacts` returns a phone, e-mail or handle; links are counted separately, since
they are `spam_link`, not `contact_info`.
"""

from __future__ import annotations

import gzip
import json
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from moderation.text.contact import DEFAULT_REGIONS, ContactDetector, ContactMatch

__all__ = ["evaluate_contacts", "format_table", "read_jsonl"]

_CONTACT_KINDS = frozenset({"phone", "email", "handle"})


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The rows of a JSONL file, gzipped when it ends in .gz; blank lines skipped."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


class _Tally:
    def __init__(self) -> None:
        self.pos = self.tp = self.neg = self.fp = 0

    def add(self, positive: bool, flagged: bool) -> None:
        if positive:
            self.pos += 1
            self.tp += flagged
        else:
            self.neg += 1
            self.fp += flagged

    def as_dict(self) -> dict[str, Any]:
        return {
            "positives": self.pos,
            "recall": self.tp / self.pos if self.pos else None,
            "negatives": self.neg,
            "false_positive_rate": self.fp / self.neg if self.neg else None,
            "false_positives": self.fp,
        }


def _flagged(matches: Sequence[ContactMatch]) -> bool:
    return any(m.kind in _CONTACT_KINDS for m in matches)


def _labelled_file(
    detector: ContactDetector, path: Path, group_key: str, with_spans: bool
) -> dict[str, Any]:
    total, groups = _Tally(), defaultdict(_Tally)
    misses: list[str] = []
    false_alarms: list[dict[str, Any]] = []
    exact = overlap = spanned = 0
    for row in read_jsonl(path):
        if row.get("label") == "ambiguous":
            continue
        positive = row["label"] == "contact_info"
        matches = detector.find(row["text"])
        flagged = _flagged(matches)
        total.add(positive, flagged)
        groups[str(row.get(group_key) or row.get("kind") or "none")].add(positive, flagged)
        if positive and not flagged:
            misses.append(row["id"])
        if not positive and flagged:
            false_alarms.append({"id": row["id"], "matches": [m.value for m in matches]})
        if with_spans and positive and row.get("span"):
            spanned += 1
            gold = tuple(row["span"])
            spans = [m.span for m in matches if m.kind in _CONTACT_KINDS]
            exact += gold in spans
            overlap += any(_iou(gold, s) >= 0.5 for s in spans)
    out = {"total": total.as_dict(), "groups": {k: v.as_dict() for k, v in sorted(groups.items())}}
    out["missed_ids"] = misses
    out["false_alarms"] = false_alarms
    if with_spans:
        out["span_exact"] = exact / spanned if spanned else None
        out["span_iou50"] = overlap / spanned if spanned else None
    return out


def _iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union else 0.0


def _messages(detector: ContactDetector, path: Path) -> dict[str, Any]:
    """SMS and hate-speech rows: contact_info in `labels` is positive, `ok` negative."""
    total, groups = _Tally(), defaultdict(_Tally)
    other_flagged: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses: list[str] = []
    false_alarms: list[dict[str, Any]] = []
    for row in read_jsonl(path):
        if row.get("ambiguous") or row["label"] == "ambiguous":
            continue
        matches = detector.find(row["text"])
        flagged = _flagged(matches)
        positive = "contact_info" in row["labels"]
        if positive or row["label"] == "ok":
            total.add(positive, flagged)
            groups[row["source"]].add(positive, flagged)
            if positive and not flagged:
                misses.append(row["id"])
            if not positive and flagged:
                false_alarms.append({"id": row["id"], "matches": [m.value for m in matches]})
        else:
            # spam without a contact label: flagged here is not a contact_info error
            counts = other_flagged[row["label"]]
            counts[0] += 1
            counts[1] += flagged
    return {
        "total": total.as_dict(),
        "groups": {k: v.as_dict() for k, v in sorted(groups.items())},
        "other_labels_flagged": {k: {"rows": v[0], "flagged": v[1]} for k, v in other_flagged.items()},
        "missed_ids": misses,
        "false_alarms": false_alarms,
    }


def evaluate_contacts(eval_dir: Path, regions: Sequence[str] = DEFAULT_REGIONS) -> dict[str, Any]:
    """Recall and false-positive rate per file and per style; span accuracy on carpool.

    `eval_dir` is the `shared/eval` folder (the one holding `text/`). Raises
    FileNotFoundError when a file is missing, rather than reporting on less data.
    """
    text_dir = Path(eval_dir) / "text"
    detector = ContactDetector(regions)
    started = time.perf_counter()
    report: dict[str, Any] = {
        "contact_leakage": _labelled_file(detector, text_dir / "contact_leakage.dev.jsonl", "style", False),
        "carpool": _labelled_file(detector, text_dir / "carpool.dev.jsonl", "style", True),
        "messages": _messages(detector, text_dir / "messages.dev.jsonl.gz"),
    }
    report["seconds"] = time.perf_counter() - started
    return report


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_table(report: dict[str, Any]) -> str:
    """A plain-text table of `evaluate_contacts` output, one line per file and group."""
    lines = [f"{'data / group':40s} {'pos':>5s} {'recall':>7s} {'neg':>5s} {'fp':>4s} {'fp rate':>7s}"]
    for name in ("contact_leakage", "carpool", "messages"):
        part = report[name]
        rows = [(name, part["total"])] + [(f"  {k}", v) for k, v in part["groups"].items()]
        for label, t in rows:
            lines.append(
                f"{label:40s} {t['positives']:5d} {_fmt(t['recall']):>7s} {t['negatives']:5d} "
                f"{t['false_positives']:4d} {_fmt(t['false_positive_rate']):>7s}"
            )
        if "span_exact" in part:
            lines.append(f"  span exact {_fmt(part['span_exact'])}, IoU>=0.5 {_fmt(part['span_iou50'])}")
        if "other_labels_flagged" in part:
            for label, c in sorted(part["other_labels_flagged"].items()):
                lines.append(f"  ({label}: {c['flagged']} of {c['rows']} flagged, not scored)")
    lines.append(f"evaluated in {report['seconds']:.2f} s")
    return "\n".join(lines)
