"""`moderation eval text|photos`: quality of the whole pipeline on labeled data.

Both run the same analyzers the Ray workers run (`moderation.pipeline`) with the
configured policy, in this process, so what is measured is what is deployed. The data
is read from its path at run time (default `../shared/eval`) and never copied.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from moderation.banks import index_entry, photo_entry
from moderation.config import Settings
from moderation.photos.banks import BankIndex
from moderation.photos.evaluate import EVAL_LIMITS, evaluate_photos, format_table
from moderation.photos.hashing import hash_upload
from moderation.pipeline import PhotoAnalyzer, TextAnalyzer, text_signals_for
from moderation.policy import Policy, load_policy
from moderation.text.evaluate import read_jsonl
from moderation.types import Decision, Item, ItemType

# Dataset label -> the reason category that should catch it.
LABEL_CATEGORY = {"contact_info": "contact_info", "profanity_insult": "profanity", "spam_link": "spam_link"}
TEXT_FILES = ("messages.dev.jsonl.gz", "contact_leakage.dev.jsonl", "carpool.dev.jsonl")


def _labels(row: dict[str, Any]) -> set[str]:
    labels = set(row.get("labels") or [])
    if not labels and row.get("label") and row["label"] != "ok":
        labels = {row["label"]}
    return labels


def _text_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return [path / name for name in TEXT_FILES if (path / name).is_file()]


def _flagged_categories(policy: Policy, item: Item, signals: Any) -> set[str]:
    return {r.category for r in signals.reasons if policy.action_for(item.context, r) in ("review", "reject")}


def run_text_eval(path: Path, policy: Policy, batch: int = 256) -> dict[str, Any]:
    """Precision and recall per category and per (source, language), plus false alarms on `ok`."""
    analyzer = TextAnalyzer(policy, text_signals=text_signals_for(policy))
    # counts[group][category] = [tp, fp, fn]; ok[group] = [flagged, total, flagged_contact]
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    ok: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    decided: dict[str, Counter[str]] = defaultdict(Counter)  # primary label -> decisions
    for file in _text_files(path):
        rows = [r for r in read_jsonl(file) if r.get("label") != "ambiguous" and not r.get("ambiguous")]
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            items = [
                Item(id=str(r.get("id", k)), type=ItemType.TEXT, context="message", author_id="eval", text=r["text"] or " ")
                for k, r in enumerate(chunk)
            ]
            for row, item, sig in zip(chunk, items, analyzer.analyze(items)):
                flagged = _flagged_categories(policy, item, sig)
                labels = _labels(row)
                decision = policy.decide(item, sig).decision
                decided[row.get("label") or "ok"][decision.value] += 1
                # an ok text counts as a false alarm when anything flags it or it is not approved
                false_alarm = not labels and (bool(flagged) or decision is not Decision.APPROVE)
                lang = row.get("lang") or "?"
                groups = ("all", f"{file.name.split('.')[0]}/{lang}")
                for group in groups:
                    for label, category in LABEL_CATEGORY.items():
                        want, got = label in labels, category in flagged
                        c = counts[group][category]
                        c[0] += want and got
                        c[1] += got and not want
                        c[2] += want and not got
                    if not labels:
                        o = ok[group]
                        o[0] += false_alarm
                        o[1] += 1
                        o[2] += "contact_info" in flagged
    return {
        "counts": {g: dict(c) for g, c in counts.items()},
        "ok": dict(ok),
        "decided": {label: dict(c) for label, c in decided.items()},
        "policy_version": policy.version,
    }


# A realistic carpooling mix: 95 % of texts are acceptable (the product's figure).
REALISTIC_OK_SHARE = 0.95


def automation(decided: dict[str, dict[str, int]], ok_share: float | None = None) -> dict[str, Any]:
    """How much is decided without a human, and how well, from decisions per true label
    (`ok` or a harm). `ok_share` reweights to a mix with that share of acceptable items,
    the harms keeping their relative frequencies (None: as sent).

    automation: share approved or rejected automatically; approve_precision: share of the
    automatic approvals that were acceptable; reject_precision: share of the automatic
    rejections that were harmful; precision: both together; harm_approved: per harm label,
    the share of its items approved automatically."""
    n_ok = sum(decided.get("ok", {}).values())
    n_harm = sum(sum(d.values()) for label, d in decided.items() if label != "ok")
    weight = {label: 1.0 for label in decided}
    if ok_share is not None and n_ok and n_harm:
        weight = {label: (ok_share / n_ok if label == "ok" else (1 - ok_share) / n_harm) for label in decided}

    def total(labels: Any, decision: str) -> float:
        return sum(weight[label] * decided[label].get(decision, 0) for label in labels)

    harms = [label for label in decided if label != "ok"]
    everything = sum(weight[label] * sum(d.values()) for label, d in decided.items())
    approved, rejected = total(decided, "approve"), total(decided, "reject")
    right = total(["ok"] if "ok" in decided else [], "approve") + total(harms, "reject")
    return {
        "automation": (approved + rejected) / everything if everything else None,
        "approve_precision": total(["ok"], "approve") / approved if approved and "ok" in decided else None,
        "reject_precision": total(harms, "reject") / rejected if rejected else None,
        "precision": right / (approved + rejected) if approved + rejected else None,
        "harm_approved": {label: decided[label].get("approve", 0) / sum(decided[label].values()) for label in sorted(harms)},
    }


def format_automation(decided: dict[str, dict[str, int]]) -> list[str]:
    def fmt(x: float | None) -> str:
        return "    -" if x is None else f"{x:6.1%}"

    lines = ["", f"{'mix':24s} {'automated':>9s} {'precision':>9s} {'approve ok':>10s} {'reject ok':>9s}  harm approved"]
    for name, share in (("as sent", None), (f"{REALISTIC_OK_SHARE:.0%} acceptable", REALISTIC_OK_SHARE)):
        a = automation(decided, share)
        harm = ", ".join(f"{label} {v:.1%}" for label, v in a["harm_approved"].items())
        lines.append(f"{name:24s} {fmt(a['automation']):>9s} {fmt(a['precision']):>9s} {fmt(a['approve_precision']):>10s} "
                     f"{fmt(a['reject_precision']):>9s}  {harm}")
    lines += ["", f"{'label':24s} {'items':>6s} {'approve':>8s} {'review':>8s} {'reject':>8s}"]
    for label, d in sorted(decided.items()):
        n = sum(d.values())
        lines.append(f"{label:24s} {n:6d} " + " ".join(f"{d.get(k, 0) / n:8.1%}" for k in ("approve", "review", "reject")))
    return lines


def _prf(tp: int, fp: int, fn: int) -> tuple[float | None, float | None, float | None]:
    p = tp / (tp + fp) if tp + fp else None
    r = tp / (tp + fn) if tp + fn else None
    f = 2 * p * r / (p + r) if p and r else (0.0 if p is not None and r is not None else None)
    return p, r, f


def format_text_report(report: dict[str, Any]) -> str:
    def fmt(x: float | None) -> str:
        return "   -  " if x is None else f"{x:6.3f}"

    lines = [f"policy {report['policy_version']}", "", f"{'group':28s} {'category':12s} {'prec':>6s} {'recall':>6s} {'F1':>6s}  tp/fp/fn"]
    for group in sorted(report["counts"], key=lambda g: (g != "all", g)):
        for category, (tp, fp, fn) in sorted(report["counts"][group].items()):
            if tp + fp + fn == 0:
                continue
            p, r, f = _prf(tp, fp, fn)
            lines.append(f"{group:28s} {category:12s} {fmt(p)} {fmt(r)} {fmt(f)}  {tp}/{fp}/{fn}")
    lines += ["", f"{'group':28s} {'ok texts':>8s} {'flagged':>8s} {'for contact':>11s}"]
    for group in sorted(report["ok"], key=lambda g: (g != "all", g)):
        flagged, total, contact = report["ok"][group]
        lines.append(f"{group:28s} {total:8d} {flagged / total:8.3%} {contact / total:11.3%}")
    if report.get("decided"):
        lines += format_automation(report["decided"])
    return "\n".join(lines)


def eval_text(path: Path, settings: Settings) -> str:
    return format_text_report(run_text_eval(path, load_policy(settings.policy_path)))


def run_photo_eval(directory: Path, policy: Policy) -> list[dict[str, Any]]:
    """Ban every original in a scratch bank, then run every file through the photo
    analyzer and the policy; a file counts as matched to the originals whose bank
    entries matched it, and only when the policy rejects it."""
    rows = list(csv.DictReader((directory / "manifest.csv").open(newline="")))
    originals = sorted({r["original_id"]: r["file"] for r in rows if r["transform"] == "original"}.items())
    bank = BankIndex(pdq_min_quality=policy.hash_matching.pdq_min_quality)
    entries = []
    for entry_id, (_, file) in enumerate(originals):
        data = (directory / file).read_bytes()
        h = hash_upload(data, EVAL_LIMITS)
        entries.append(index_entry(entry_id, photo_entry("banned", h, note=None, author_id=None, item_id=file, actor="eval")))
    bank.add(entries)
    seen: list[list[Any]] = []

    def matcher(hashes: Any) -> list[Any]:
        found = [bank.match(h, policy.hash_matching) for h in hashes]
        seen.extend(found)
        return found

    analyzer = PhotoAnalyzer(policy, EVAL_LIMITS, matcher=matcher)

    def match(data: bytes) -> set[str]:
        seen.clear()
        item = Item(id="eval", type=ItemType.PHOTO, context="car_photo", author_id="eval", image=data)
        [sig] = analyzer.analyze([item])
        if policy.decide(item, sig).decision is not Decision.REJECT:
            return set()
        return {originals[m.entry_id][0] for ms in seen for m in ms if m.bank == "banned"}

    return evaluate_photos(directory, match=match)


def eval_photos(directory: Path, settings: Settings) -> str:
    policy = load_policy(settings.policy_path)
    return f"policy {policy.version}\n\n" + format_table(run_photo_eval(directory, policy))
