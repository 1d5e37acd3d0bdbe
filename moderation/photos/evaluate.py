"""Recall per edit and false positives of the photo matcher on a near-duplicate set.

The set's layout is that of `shared/eval/photos` (its README): `manifest.csv` with columns
file, original_id, transform; transform "original" marks the bank. Every original goes in
a bank; every file is looked up. A copy found under its own original is a hit; any other
original returned is a false positive (an original must also not match another original).

`match` maps upload bytes to the matched original ids; `moderation.evaluation.run_photo_eval`
gives the real pipeline's (photo analyzer, bank index, policy), as `moderation eval photos` runs it.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from moderation.photos.decode import DecodeLimits

# The set holds 25 % downscales of small photos (58 px sides); hash them rather than refuse.
EVAL_LIMITS = DecodeLimits(min_side=16)

Matcher = Callable[[bytes], set[str]]


def evaluate_photos(eval_dir: Path, match: Matcher) -> list[dict]:
    """One row per transform (and "original") plus "all" over the edits.

    Each row: transform, n, hits, recall, false_positives (wrong originals returned),
    files_with_fp.
    """
    rows = list(csv.DictReader((eval_dir / "manifest.csv").open(newline="")))
    stats: dict[str, dict] = defaultdict(lambda: {"n": 0, "hits": 0, "false_positives": 0, "files_with_fp": 0})
    for r in rows:
        found = match((eval_dir / r["file"]).read_bytes())
        wrong = found - {r["original_id"]}
        # "all" is over the edits; the originals' own row checks they match only themselves.
        keys = (r["transform"],) if r["transform"] == "original" else (r["transform"], "all")
        for key in keys:
            s = stats[key]
            s["n"] += 1
            s["hits"] += r["original_id"] in found
            s["false_positives"] += len(wrong)
            s["files_with_fp"] += bool(wrong)
    out = []
    for name, s in sorted(stats.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        out.append({"transform": name, **s, "recall": s["hits"] / s["n"] if s["n"] else 0.0})
    return out


def format_table(rows: list[dict]) -> str:
    """A Markdown table of `evaluate_photos` rows."""
    lines = ["| transform | n | recall | false positives |", "|---|---|---|---|"]
    for r in rows:
        name = f"**{r['transform']}**" if r["transform"] == "all" else r["transform"]
        lines.append(f"| {name} | {r['n']} | {r['recall']:.3f} | {r['false_positives']} |")
    return "\n".join(lines)
