"""`moderation eval text|photos`: quality of the whole pipeline on labeled data.

Both run the same analyzers the Ray workers run (`moderation.pipeline`) with the
configured policy, in this process, so what is measured is what is deployed. The data
is read from its path at run time (default `../shared/eval`) and never copied.
"""

from __future__ import annotations

import csv
import hashlib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moderation.banks import index_entry, photo_entry
from moderation.config import Settings
from moderation.errors import InvalidInput
from moderation.photos.banks import BankIndex
from moderation.photos.evaluate import EVAL_LIMITS, evaluate_photos, format_table
from moderation.photos.hashing import hash_upload
from moderation.pipeline import (
    PhotoAnalyzer,
    TextAnalyzer,
    photo_signals_for,
    text_signals_for,
)
from moderation.policy import Policy, load_policy
from moderation.text.evaluate import read_jsonl
from moderation.types import CATEGORIES, Decision, Item, ItemType

# Dataset label -> the reason category that should catch it.
LABEL_CATEGORY = {"contact_info": "contact_info", "profanity_insult": "profanity", "spam_link": "spam_link"}
TEXT_FILES = ("messages.dev.jsonl.gz", "contact_leakage.dev.jsonl", "carpool.dev.jsonl")


HALVES = ("A", "B")


def dev_half(row_id: str) -> str:
    """"A" or "B": the half of a labeled set a row belongs to, by the parity of the sha1
    of its id. Fixed, seedless and independent of order and of the other rows, so that
    thresholds tuned on A can be measured on B, which they never saw."""
    return HALVES[hashlib.sha1(str(row_id).encode()).digest()[-1] & 1]


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


def run_text_eval(path: Path, policy: Policy, batch: int = 256, half: str | None = None) -> dict[str, Any]:
    """Precision and recall per category and per (source, language), plus false alarms on
    `ok`; only the rows of `half` (`dev_half`) when given."""
    analyzer = TextAnalyzer(policy, text_signals=text_signals_for(policy))
    # counts[group][category] = [tp, fp, fn]; ok[group] = [flagged, total, flagged_contact]
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))
    ok: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    decided: dict[str, Counter[str]] = defaultdict(Counter)  # primary label -> decisions
    for file in _text_files(path):
        rows = [r for r in read_jsonl(file) if r.get("label") != "ambiguous" and not r.get("ambiguous")]
        if half is not None:
            rows = [r for k, r in enumerate(rows) if dev_half(str(r.get("id", k))) == half]
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


def eval_text(path: Path, settings: Settings, half: str | None = None, policy_path: Path | None = None) -> str:
    report = run_text_eval(path, load_policy(policy_path or settings.policy_path), half=half)
    return ("" if half is None else f"half {half} of the rows (moderation.evaluation.dev_half)\n") + format_text_report(report)


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


@dataclass(frozen=True)
class LabeledPhoto:
    """One photo of a labeled set: `label` is "ok" or the category that should catch it
    (None for a photo that is only a bank's reference); `bank`, when set, is the bank the
    photo is put in before the run (a banned original, an allowed logo)."""

    file: Path
    label: str | None
    context: str = "car_photo"
    bank: str | None = None


def read_photo_labels(path: Path, policy: Policy) -> list[LabeledPhoto]:
    """A labeled photo file: JSONL rows {"file", "label", "context", "bank"}, `file`
    relative to the file's folder, `label` "ok" or a category, `context` a photo context of
    the policy (default car_photo), `bank` one of its banks. A bad row raises InvalidInput
    naming its line: a half-read set would give figures for data nobody chose."""
    photos = []
    for line, row in enumerate(read_jsonl(path), 1):
        if not isinstance(row, dict) or not isinstance(row.get("file"), str):
            raise InvalidInput(f"{path}:{line}: a row needs a \"file\"")
        label, context, bank = row.get("label"), row.get("context", "car_photo"), row.get("bank")
        if label is not None and label != "ok" and label not in CATEGORIES:
            raise InvalidInput(f"{path}:{line}: label {label!r} is neither \"ok\" nor a category")
        ctx = policy.contexts.get(context)
        if ctx is None or ctx.type is not ItemType.PHOTO:
            raise InvalidInput(f"{path}:{line}: {context!r} is not a photo context of the policy")
        if bank is not None and bank not in policy.banks:
            raise InvalidInput(f"{path}:{line}: bank {bank!r} is not in the policy")
        if label is None and bank is None:
            raise InvalidInput(f"{path}:{line}: a row needs a label, a bank or both")
        file = path.parent / row["file"]
        if not file.is_file():
            raise InvalidInput(f"{path}:{line}: no file {file}")
        photos.append(LabeledPhoto(file, label, context, bank))
    return photos


def manifest_photo_labels(directory: Path) -> list[LabeledPhoto]:
    """The near-duplicate set as labeled photos: every other original, in id order, is
    banned, and it and its edits are labeled `banned_match`; the other originals and
    their edits are photos no bank holds, labeled `ok`. So one run measures both what
    is caught and what is let through."""
    rows = list(csv.DictReader((directory / "manifest.csv").open(newline="")))
    banned = set(sorted({r["original_id"] for r in rows})[::2])
    photos = []
    for r in rows:
        is_banned = r["original_id"] in banned
        bank = "banned" if is_banned and r["transform"] == "original" else None
        photos.append(LabeledPhoto(directory / r["file"], "banned_match" if is_banned else "ok", bank=bank))
    return photos


def run_photo_automation(photos: Sequence[LabeledPhoto], policy: Policy, batch: int = 32) -> dict[str, dict[str, int]]:
    """Decisions per label (label -> decision -> count): the banks' photos go in a scratch
    index first, then every labeled photo runs through the photo analyzer, with the models
    its context checks, and the policy, as a photo worker would."""
    bank = BankIndex(pdq_min_quality=policy.hash_matching.pdq_min_quality)
    entries = []
    for photo in photos:
        if photo.bank is not None:
            h = hash_upload(photo.file.read_bytes(), EVAL_LIMITS)
            entry = photo_entry(photo.bank, h, note=None, author_id="bank", item_id=photo.file.name, actor="eval")
            entries.append(index_entry(len(entries), entry))
    bank.add(entries)
    analyzer = PhotoAnalyzer(
        policy,
        EVAL_LIMITS,
        matcher=lambda hashes: [bank.match(h, policy.hash_matching) for h in hashes],
        photo_signals=photo_signals_for(policy),
    )
    labeled = [p for p in photos if p.label is not None]
    decided: dict[str, Counter[str]] = defaultdict(Counter)
    for start in range(0, len(labeled), batch):
        chunk = labeled[start : start + batch]
        items = [
            Item(id=str(start + k), type=ItemType.PHOTO, context=p.context, author_id="eval", image=p.file.read_bytes())
            for k, p in enumerate(chunk)
        ]
        for photo, item, sig in zip(chunk, items, analyzer.analyze(items)):
            decided[photo.label or "ok"][policy.decide(item, sig).decision.value] += 1
    return {label: dict(c) for label, c in sorted(decided.items())}


def eval_photos(path: Path, settings: Settings) -> str:
    """The near-duplicate table and the automation figures for a folder with a
    `manifest.csv`; the automation figures alone for a labeled JSONL file."""
    policy = load_policy(settings.policy_path)
    if path.is_file():
        decided = run_photo_automation(read_photo_labels(path, policy), policy)
        return f"policy {policy.version}\n" + "\n".join(format_automation(decided))
    table = format_table(run_photo_eval(path, policy))
    decided = run_photo_automation(manifest_photo_labels(path), policy)
    automation_lines = format_automation(decided)
    return f"policy {policy.version}\n\n{table}\n\nevery other original banned, the rest unbanked:" + "\n".join(automation_lines)
