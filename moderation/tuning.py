"""`moderation tune` and `moderation backtest`: policy changes judged on labeled outcomes.

Both run the real analyzers (`moderation.pipeline`, the code the Ray workers run) once
over the items, then work on the cached signals:

- `tune` searches, for every score-threshold entry of the policy (a category's
  `{review, reject}`, policy-wide or a context's own), the thresholds that automate the
  most items at a target precision, and writes the proposal as a YAML diff. The decision
  of an item under candidate thresholds is computed exactly as `Policy.decide` would (the
  item's other reasons fix a floor; its reasons under the tuned entry add the threshold
  action), and the proposed file is parsed and replayed to check it decides what the
  search predicted.
- `backtest` replays items (stored ones, or a labeled file) through a candidate policy and
  reports what would change, without touching any stored decision.

Labels: a file's `labels` / `label` (empty or `ok`: acceptable), or the last standing human
judgement of a stored item (a moderator's decision or a QA verdict; a rejection takes the
moderator's label, else the label of its first mapped reason, `review.qa.training_label`).

Confidence intervals are 95 % Wilson score intervals of a share (k of n).
"""

from __future__ import annotations

import asyncio
import difflib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from moderation.evaluation import (
    LABEL_CATEGORY,
    REALISTIC_OK_SHARE,
    automation,
    dev_half,
)
from moderation.photos.decode import DecodeLimits
from moderation.pipeline import (
    PhotoAnalyzer,
    TextAnalyzer,
    photo_signals_for,
    text_signals_for,
)
from moderation.policy import CategoryAction, Policy, parse_policy
from moderation.review.qa import training_label
from moderation.store.repository import Store
from moderation.text.evaluate import read_jsonl
from moderation.types import Decision, Item, ItemType, Reason, Signals, Source

# A harm label -> the reason category that should catch it (`spam_other` is what the
# `spam` category's rules and campaigns are for).
CATEGORY_OF_LABEL = {**LABEL_CATEGORY, "spam_other": "spam"}
HARM = "harm"  # a human rejection whose category is not known
Z95 = 1.959964  # the normal quantile of a 95 % two-sided interval
_SEVERITY = {"reject": 2, "review": 1}


def wilson(k: int, n: int, z: float = Z95) -> dict[str, Any]:
    """k of n as a share with its Wilson score interval (Wilson 1927): unlike the normal
    approximation it stays inside [0, 1] and is honest at k = n, the case of a precise rule."""
    if k < 0 or n < 0 or k > n:
        raise ValueError(f"need 0 <= k <= n, got k={k} n={n}")
    if n == 0:
        return {"value": None, "low": None, "high": None, "k": 0, "n": 0}
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return {"value": round(p, 4), "low": round(max(0.0, centre - half), 4), "high": round(min(1.0, centre + half), 4), "k": k, "n": n}


# -- labeled items ----------------------------------------------------------------------


@dataclass(frozen=True)
class Labeled:
    """An item to replay. `labels`: None when no human judged it, empty when acceptable,
    else its harm labels. `primary`: one label for the per-label tables (`ok` when
    acceptable). `first_decision`: the stored automatic decision (None for a file row).
    `carried`: stored reasons a replay cannot recompute (see `carried_reasons`)."""

    item: Item
    labels: frozenset[str] | None
    primary: str | None = None
    first_decision: str | None = None
    carried: tuple[Reason, ...] = ()
    stored_categories: frozenset[str] = frozenset()  # of the stored decision's reasons (shadow ones left out)

    @property
    def harmful(self) -> bool:
        return bool(self.labels)


def file_examples(path: Path, context: str = "message", half: str | None = None) -> list[Labeled]:
    """The rows of a labeled JSONL (.gz) file (`text`, `label` and/or `labels`), all in
    `context`; `ambiguous` rows are left out (they depend on the policy), and so are the
    rows outside `half` (`evaluation.dev_half`) when it is given."""
    out = []
    for k, row in enumerate(read_jsonl(path)):
        if row.get("label") == "ambiguous" or row.get("ambiguous") or "text" not in row:
            continue
        if half is not None and dev_half(str(row.get("id", k))) != half:
            continue
        labels = set(row.get("labels") or [])
        if not labels and row.get("label") and row["label"] != "ok":
            labels = {row["label"]}
        item = Item(id=str(row.get("id", k)), type=ItemType.TEXT, context=context, author_id=str(row.get("author_id", "file")),
                    text=row["text"] or " ")
        out.append(Labeled(item, frozenset(labels), row.get("label") or ("ok" if not labels else min(labels))))
    return out


def carried_reasons(stored: Sequence[dict[str, Any]]) -> tuple[Reason, ...]:
    """Stored reasons that depend on history, not on the item: bank matches (today's banks
    hold the item itself once a moderator rejected it) and campaign counts (the window of
    that hour is gone). A replay keeps them as they were."""
    out = []
    for r in stored:
        if r.get("source") == "hash" or r.get("detector") == "campaign":
            span = r.get("span")
            out.append(Reason(source=Source(r["source"]), category=r["category"], detector=r["detector"],
                              score=float(r.get("score", 1.0)), span=tuple(span) if span else None, matched=r.get("matched"),
                              distance=r.get("distance"), entry_id=r.get("entry_id"), detail=r.get("detail")))
    return tuple(out)


def _judged_labels(row: dict[str, Any]) -> tuple[frozenset[str] | None, str | None]:
    judged = row["judged"]
    if judged is None:
        return None, None
    if judged["decision"] == "approve":
        return frozenset(), "ok"
    if judged["decision"] != "reject":
        return None, None
    label = training_label("reject", row["reasons"], judged.get("label")) or HARM
    return frozenset({label}), label


def store_examples(store: Store, batch: int = 2_000, types: Sequence[str] = ("text", "photo"),
                   labeled_only: bool = False) -> Iterator[list[Labeled]]:
    """Stored items a batch at a time, with their human labels where they have one."""
    for rows in store.iter_replay_items(batch=batch, types=types):
        out = []
        for row in rows:
            labels, primary = _judged_labels(row)
            if labeled_only and labels is None:
                continue
            item = Item(id=row["id"], type=ItemType(row["type"]), context=row["context"], author_id=row["author_id"],
                        text=row["text"], image=row["image"], locale=row["locale"])
            stored = frozenset(r["category"] for r in row["reasons"] if not (r.get("detail") or {}).get("shadow"))
            out.append(Labeled(item, labels, primary, row["first_decision"], carried_reasons(row["reasons"]), stored))
        if out:
            yield out


# -- the analyzers ----------------------------------------------------------------------


class NoBanks:
    """The bank index of a replay: none. Bank matches are carried from the stored
    decision (see `carried_reasons`); picklable, so a Ray photo worker can hold it."""

    def match(self, hashes: Sequence[Any], thresholds: Any) -> list[list[Any]]:
        return [[] for _ in hashes]


Analyze = Callable[[Sequence[Item]], list[Signals]]


class LocalAnalyzers:
    """TextAnalyzer and PhotoAnalyzer in this process: the code the workers run, without Ray."""

    kind = "local"

    def __init__(self, policy: Policy, limits: DecodeLimits) -> None:
        self.text = TextAnalyzer(policy, text_signals=text_signals_for(policy))
        self.photo: PhotoAnalyzer | None = None
        self.policy, self.limits = policy, limits

    def __call__(self, items: Sequence[Item]) -> list[Signals]:
        if all(i.type is ItemType.TEXT for i in items):
            return self.text.analyze(items)
        if self.photo is None:  # the nudity model is loaded only when a photo comes
            self.photo = PhotoAnalyzer(self.policy, self.limits, matcher=NoBanks().match,
                                       photo_signals=photo_signals_for(self.policy))
        return _by_type(items, self.text.analyze, self.photo.analyze)

    def close(self) -> None:
        pass


class RayAnalyzers:
    """The service's worker pools (TextWorker, PhotoWorker actors) built with the candidate
    policy, on the cluster at RAY_ADDRESS or a local Ray. No campaign window and no bank
    index: those reasons are carried from the stored decision."""

    kind = "ray"

    def __init__(self, policy: Policy, limits: DecodeLimits, address: str | None, text_workers: int, photo_workers: int,
                 batch_size: int) -> None:
        # Ray is heavy and only this mode needs it
        import ray

        from moderation.workers.actors import (  # only this mode starts actors
            PhotoWorker,
            TextWorker,
        )
        from moderation.workers.pool import WorkerPool  # with the actors above

        self._started = not ray.is_initialized()
        if self._started:
            ray.init(address=address, include_dashboard=False, namespace="moderation", configure_logging=False)
        self.loop = asyncio.new_event_loop()
        self.text = WorkerPool("text", lambda: TextWorker.remote(policy, None), text_workers, batch_size, 1)
        self.photo = WorkerPool("photo", lambda: PhotoWorker.remote(policy, limits, NoBanks()), photo_workers,
                                max(1, batch_size // 4), 1)

    def __call__(self, items: Sequence[Item]) -> list[Signals]:
        async def both() -> list[Signals]:
            texts = [i for i in items if i.type is ItemType.TEXT]
            photos = [i for i in items if i.type is ItemType.PHOTO]
            t, p = await asyncio.gather(self.text.analyze(texts), self.photo.analyze(photos))
            it, ip = iter(t), iter(p)
            return [next(it) if i.type is ItemType.TEXT else next(ip) for i in items]

        return self.loop.run_until_complete(both())

    def close(self) -> None:
        import ray  # see __init__

        self.text.shutdown()
        self.photo.shutdown()
        self.loop.close()
        if self._started:
            ray.shutdown()


def _by_type(items: Sequence[Item], text: Analyze, photo: Analyze) -> list[Signals]:
    texts = [k for k, i in enumerate(items) if i.type is ItemType.TEXT]
    photos = [k for k, i in enumerate(items) if i.type is ItemType.PHOTO]
    out: list[Signals | None] = [None] * len(items)
    for idx, fn in ((texts, text), (photos, photo)):
        if idx:
            for k, s in zip(idx, fn([items[k] for k in idx])):
                out[k] = s
    return [s for s in out if s is not None]


def analyze_examples(analyze: Analyze, policy: Policy, examples: Sequence[Labeled], batch: int = 512) -> list[Signals]:
    """Signals of every example, in batches, with the carried reasons added back where the
    policy still runs the check that made them."""
    out: list[Signals] = []
    for start in range(0, len(examples), batch):
        chunk = examples[start : start + batch]
        for ex, sig in zip(chunk, analyze([e.item for e in chunk])):
            _carry(policy, ex, sig)
            out.append(sig)
    return out


def _carry(policy: Policy, ex: Labeled, sig: Signals) -> None:
    checks = policy.checks(ex.item.context)
    for r in ex.carried:
        if ("hashes" in checks and r.source is Source.HASH) or ("spam" in checks and r.detector == "campaign"):
            sig.reasons.append(r)
            sig.scores[r.category] = max(sig.scores.get(r.category, 0.0), r.score)


# -- tune -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A score-threshold entry of the policy: `context` None for the policy-wide one."""

    category: str
    context: str | None
    current: CategoryAction
    contexts: tuple[str, ...]  # the contexts whose reasons it decides

    @property
    def where(self) -> str:
        return f"categories.{self.category}" if self.context is None else f"contexts.{self.context}.categories.{self.category}"

    def tuned(self, reason: Reason) -> bool:
        """Whether this entry decides the reason: a context's own entry decides all its
        category's reasons; the policy-wide one those whose rule declared no action."""
        if reason.category != self.category or (reason.detail and reason.detail.get("shadow")):
            return False
        return self.context is not None or not (reason.detail and reason.detail.get("action"))


def threshold_entries(policy: Policy) -> list[Entry]:
    out = []
    for category, action in policy.categories.items():
        if action.fixed is None:
            contexts = tuple(n for n, c in policy.contexts.items() if category not in c.categories)
            out.append(Entry(category, None, action, contexts))
    for name, ctx in policy.contexts.items():
        for category, action in ctx.categories.items():
            if action.fixed is None:
                out.append(Entry(category, name, action, (name,)))
    return out


@dataclass
class Scored:
    """What the search needs of each labeled item under one entry: the severity its other
    reasons fix (0 approve, 1 review, 2 reject; -1: an `allowed` match approves whatever),
    the highest score of the reasons the entry decides (-inf: none), and the truth."""

    floor: np.ndarray
    score: np.ndarray
    harmful: np.ndarray
    positive: np.ndarray  # harmful in the entry's own category
    # what each item counts for in the search: 1 as sent, more or less in a reweighted mix
    weight: np.ndarray | None = None

    @property
    def w(self) -> np.ndarray:
        return np.ones(self.score.shape) if self.weight is None else self.weight


def mix_weights(examples: Sequence[Labeled], ok_share: float | None) -> list[float]:
    """Each labeled example's weight in a mix with `ok_share` acceptable items, the harms
    keeping their relative frequencies (as `evaluation.automation` reweights); 1 each when
    `ok_share` is None or the set lacks either side."""
    n_ok = sum(ex.labels is not None and not ex.labels for ex in examples)
    n_harm = sum(bool(ex.labels) for ex in examples)
    if ok_share is None or not n_ok or not n_harm:
        return [1.0] * len(examples)
    ok_w, harm_w = ok_share * (n_ok + n_harm) / n_ok, (1 - ok_share) * (n_ok + n_harm) / n_harm
    return [harm_w if ex.labels else ok_w for ex in examples]


def scored(policy: Policy, entry: Entry, examples: Sequence[Labeled], signals: Sequence[Signals],
           weights: Sequence[float] | None = None) -> tuple[Scored, list[int]]:
    idx, floors, scores, harmful, positive = [], [], [], [], []
    label = next((lb for lb, c in CATEGORY_OF_LABEL.items() if c == entry.category), None)
    for k, (ex, sig) in enumerate(zip(examples, signals)):
        if ex.labels is None or ex.item.context not in entry.contexts:
            continue
        actions = [(policy.action_for(ex.item.context, r), r) for r in sig.reasons if not entry.tuned(r)]
        mine = [r.score for r in sig.reasons if entry.tuned(r)]
        overruled = any(r.category == "invalid" or (a == "reject" and r.source is Source.HASH) for a, r in actions)
        approve = any(a == "approve" for a, _ in actions) and not overruled
        floors.append(-1 if approve else max((_SEVERITY.get(a, 0) for a, _ in actions), default=0))
        scores.append(max(mine) if mine else -math.inf)
        harmful.append(ex.harmful)
        positive.append(label in ex.labels or HARM in ex.labels if label else ex.harmful)
        idx.append(k)
    weight = None if weights is None else np.array([weights[k] for k in idx], dtype=np.float64)
    return Scored(np.array(floors, dtype=np.int8), np.array(scores, dtype=np.float64), np.array(harmful, dtype=bool),
                  np.array(positive, dtype=bool), weight), idx


def decisions_under(s: Scored, review: float | None, reject: float | None) -> np.ndarray:
    """Each item's decision (0 approve, 1 review, 2 reject) under these thresholds: what
    `Policy.decide` gives, from the floor and the entry's threshold action."""
    action = np.zeros(s.score.shape, dtype=np.int8)
    if review is not None:
        action[s.score >= review] = 1
    if reject is not None:
        action[s.score >= reject] = 2
    out = np.maximum(s.floor, action)
    out[s.floor < 0] = 0
    return out


GRID = tuple(round(k * 0.01, 2) for k in range(101))


def _pick(candidates: Iterable[float | None], count: Callable[[float | None], tuple[float, float]], precision: float,
          current: float | None) -> float | None:
    """The candidate with the most items at `precision` or better (an empty set qualifies);
    ties go to the current value, then to the one nearest it."""
    best: tuple[Any, ...] | None = None
    for c in candidates:
        n, right = count(c)
        if n and right < precision * n:
            continue
        distance = 0.0 if c == current else abs((c if c is not None else 2.0) - (current if current is not None else 2.0)) or 1e-9
        key = (n, -distance)
        if best is None or key > best[0]:
            best = (key, c)
    return current if best is None else best[1]


def search(s: Scored, current: CategoryAction, precision: float) -> tuple[float | None, float | None]:
    """(review, reject) automating the most items with each automatic action at least
    `precision` right: a rejection is right when the item is harmful; an approval the
    entry makes (an item whose entry score stays under `review`) is right when the item
    is not harmful in the entry's own category (harms no reason saw are their detector's
    misses, shown in the per-label tables)."""
    open_ = s.floor >= 0
    # a reject threshold acts on items nothing else rejects
    can_reject = open_ & (s.floor < 2) & np.isfinite(s.score)

    w = s.w

    def rejected(j: float | None) -> tuple[float, float]:
        if j is None:
            return 0, 0
        hit = can_reject & (s.score >= j)
        return float(w[hit].sum()), float(w[hit & s.harmful].sum())

    reject = _pick([*GRID, current.reject, None], rejected, precision, current.reject)

    can_approve = open_ & (s.floor == 0) & np.isfinite(s.score)

    def approved(r: float | None) -> tuple[float, float]:
        top = math.inf if r is None else r
        if reject is not None:
            top = min(top, reject)
        hit = can_approve & (s.score < top)
        return float(w[hit].sum()), float(w[hit & ~s.positive].sum())

    ceiling = reject if reject is not None else math.inf
    candidates = [r for r in {*GRID, current.review} if r is not None and r <= ceiling]
    review = _pick(candidates or [current.review], approved, precision, current.review)
    if review is not None and reject is not None and review > reject:
        review = reject
    return review, reject


def _subset(s: Scored, mask: np.ndarray) -> Scored:
    return Scored(s.floor[mask], s.score[mask], s.harmful[mask], s.positive[mask], None if s.weight is None else s.weight[mask])


def _figures(s: Scored, decided: np.ndarray) -> dict[str, Any]:
    approved, rejected = decided == 0, decided == 2
    return {
        "automation": wilson(int((approved | rejected).sum()), int(decided.size)),
        "reject_precision": wilson(int((rejected & s.harmful).sum()), int(rejected.sum())),
        "approve_precision": wilson(int((approved & ~s.harmful).sum()), int(approved.sum())),
    }


@dataclass
class Proposal:
    entry: Entry
    review: float | None
    reject: float | None
    items: int
    before: dict[str, Any]
    after: dict[str, Any]
    per_context: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return (self.review, self.reject) != (self.entry.current.review, self.entry.current.reject)


def _flow(review: float | None, reject: float | None) -> str:
    parts = [f"{k}: {v:g}" for k, v in (("review", review), ("reject", reject)) if v is not None]
    return "{" + ", ".join(parts) + "}"


def rewrite_policy(text: str, proposals: Sequence[Proposal]) -> str:
    """The policy file with each changed entry's value replaced in place (comments and
    layout elsewhere kept); the value becomes a flow mapping `{review: x, reject: y}`."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    spans = []
    for p in proposals:
        if not p.changed:
            continue
        path = ["categories", p.entry.category] if p.entry.context is None else ["contexts", p.entry.context, "categories", p.entry.category]
        node = root
        for key in path:
            node = next(v for k, v in node.value if k.value == key)
        old = text[node.start_mark.index : node.end_mark.index]
        tail = re.search(r"\s*$", old).group()  # a block mapping's span runs to the next key's indentation
        spans.append((node.start_mark.index, node.end_mark.index, _flow(p.review, p.reject) + tail))
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def policy_diff(old: str, new: str, name: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=name, tofile=f"{name} (proposed)"))


def decided_by_label(policy: Policy, examples: Sequence[Labeled], signals: Sequence[Signals]) -> dict[str, dict[str, int]]:
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for ex, sig in zip(examples, signals):
        if ex.labels is not None:
            out[ex.primary or ("ok" if not ex.labels else min(ex.labels))][policy.decide(ex.item, sig).decision.value] += 1
    return {label: dict(c) for label, c in out.items()}


def tune(policy: Policy, examples: Sequence[Labeled], signals: Sequence[Signals], precision: float = 0.99,
         origin: str = "policy.yaml", ok_share: float | None = None) -> dict[str, Any]:
    """Proposals for every threshold entry, the proposed file and its diff, and the
    automation of the whole labeled set before and after (as sent and reweighted to
    REALISTIC_OK_SHARE acceptable). With `ok_share`, the search counts each item for its
    weight in a mix with that share of acceptable items (`mix_weights`): the precision
    targeted is the one the platform would see, not that of the labeled set's own mix.
    Raises if the proposed file does not decide what the search predicted: that would be
    a bug here, and a wrong proposal."""
    if not 0.0 < precision <= 1.0:
        raise ValueError(f"precision must lie in (0, 1], got {precision}")
    if ok_share is not None and not 0.0 < ok_share < 1.0:
        raise ValueError(f"ok_share must lie in (0, 1), got {ok_share}")
    weights = mix_weights(examples, ok_share)
    # Entries interact (an item's other reasons set its floor), so they are searched one
    # after the other, each over the policy with the previous proposals applied.
    proposals = []
    working = policy
    for entry in threshold_entries(policy):
        s, idx = scored(working, entry, examples, signals, weights)
        if not np.isfinite(s.score).any():
            continue  # no reason of the entry in the data: nothing to learn its thresholds from
        review, reject = search(s, entry.current, precision)
        base, _ = scored(policy, entry, examples, signals)
        p = Proposal(entry, review, reject, len(idx), _figures(base, decisions_under(base, entry.current.review, entry.current.reject)), {})
        proposals.append(p)
        if p.changed:
            working = parse_policy(rewrite_policy(working.source, [p]), f"{origin} (proposed)")
    new_text = rewrite_policy(policy.source, proposals)
    proposed = parse_policy(new_text, f"{origin} (proposed)")
    for p in proposals:
        s, idx = scored(proposed, p.entry, examples, signals)
        after = decisions_under(s, p.review, p.reject)
        # the file must decide what the search computed: a difference is a bug here, and a wrong proposal
        got = [policy_severity(proposed, examples[k].item, signals[k]) for k in idx]
        wrong = [examples[k].item.id for k, g, w in zip(idx, got, after.tolist()) if g != w]
        if wrong:
            raise AssertionError(f"{p.entry.where}: the proposed file decides {len(wrong)} items otherwise than the search, e.g. {wrong[:3]}")
        p.after = _figures(s, after)
        if len(p.entry.contexts) > 1:
            base, _ = scored(policy, p.entry, examples, signals)
            before = decisions_under(base, p.entry.current.review, p.entry.current.reject)
            contexts = np.array([examples[k].item.context for k in idx])
            for ctx in sorted(set(contexts.tolist())):
                m = contexts == ctx
                p.per_context[ctx] = {"before": _figures(_subset(base, m), before[m]), "after": _figures(_subset(s, m), after[m])}
    before_all = decided_by_label(policy, examples, signals)
    after_all = decided_by_label(proposed, examples, signals)
    return {
        "precision_target": precision,
        "ok_share": ok_share,
        "interval": "95 % Wilson score interval",
        "labeled": sum(ex.labels is not None for ex in examples),
        "proposals": proposals,
        "policy_text": new_text,
        "diff": policy_diff(policy.source, new_text, origin),
        "decided": {"before": before_all, "after": after_all},
        "automation": {
            mix: {"before": automation(before_all, share), "after": automation(after_all, share)}
            for mix, share in (("as sent", None), (f"{REALISTIC_OK_SHARE:.0%} acceptable", REALISTIC_OK_SHARE))
        },
    }


def policy_severity(policy: Policy, item: Item, sig: Signals) -> int:
    return policy.decide(item, sig).decision.severity


def _ci(f: dict[str, Any]) -> str:
    if f["value"] is None:
        return "      -        "
    return f"{f['value']:6.1%} [{f['low']:.1%}, {f['high']:.1%}]"


def format_tune(result: dict[str, Any]) -> str:
    mix = "" if result.get("ok_share") is None else f" in a mix of {result['ok_share']:.0%} acceptable items"
    lines = [(f"target precision {result['precision_target']}{mix}, {result['labeled']} labeled items; "
             f"intervals (of the items as sent): {result['interval']}"), ""]
    for p in result["proposals"]:
        cur = _flow(p.entry.current.review, p.entry.current.reject)
        lines.append(f"{p.entry.where}: {cur} -> {_flow(p.review, p.reject)}{'' if p.changed else ' (unchanged)'}, "
                     f"{p.items} items")
        for name in ("automation", "reject_precision", "approve_precision"):
            lines.append(f"  {name:18s} before {_ci(p.before[name])}   after {_ci(p.after[name])}")
        for ctx, f in p.per_context.items():
            lines.append(f"  context {ctx}: automation before {_ci(f['before']['automation'])}   after {_ci(f['after']['automation'])}")
    lines += ["", f"{'mix':20s} {'':6s} {'automated':>9s} {'precision':>9s}  harm approved"]
    for mix, ba in result["automation"].items():
        for when in ("before", "after"):
            a = ba[when]
            harm = ", ".join(f"{k} {v:.1%}" for k, v in a["harm_approved"].items())
            auto = "-" if a["automation"] is None else f"{a['automation']:.1%}"
            prec = "-" if a["precision"] is None else f"{a['precision']:.1%}"
            lines.append(f"{mix:20s} {when:6s} {auto:>9s} {prec:>9s}  {harm}")
    lines += ["", f"{'label':18s} {'items':>6s}  automated before -> after"]
    before, after = result["decided"]["before"], result["decided"]["after"]
    for label in sorted(before):
        n = sum(before[label].values())
        auto_b = (before[label].get("approve", 0) + before[label].get("reject", 0)) / n
        auto_a = (after[label].get("approve", 0) + after[label].get("reject", 0)) / n
        lines.append(f"{label:18s} {n:6d}  {auto_b:6.1%} -> {auto_a:6.1%}")
    lines += ["", result["diff"] or "(no change proposed)"]
    return "\n".join(lines)


# -- backtest ---------------------------------------------------------------------------


def _acting(policy: Policy, item: Item, sig: Signals) -> set[str]:
    cats = {r.category for r in sig.reasons if policy.action_for(item.context, r) in ("review", "reject")}
    return cats or {"none"}


class Backtest:
    """Accumulates a replay batch by batch: before (the stored automatic decision, or the
    baseline policy's for a file) against after (the candidate's)."""

    def __init__(self, candidate: Policy, examples_per_change: int = 3) -> None:
        self.candidate = candidate
        self.per_change = examples_per_change
        self.items = 0
        self.changed: list[str] = []
        self.transitions: Counter[str] = Counter()
        self.examples: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.by_category: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: {"before": Counter(), "after": Counter()})
        self.auto = {"before": 0, "after": 0}
        self.right = {"before": [0, 0], "after": [0, 0]}  # [right, automatic] over labeled items
        self.shadow_ids = [r.id for r in candidate.rules if r.shadow]
        self.shadow = {rid: {"hits": 0, "labeled": 0, "harmful": 0} for rid in self.shadow_ids}

    def add(self, ex: Labeled, before: str, before_categories: set[str], sig: Signals) -> str:
        verdict = self.candidate.decide(ex.item, sig)
        after = verdict.decision.value
        self.items += 1
        for cat in before_categories:
            self.by_category[cat]["before"][before] += 1
        for cat in _acting(self.candidate, ex.item, sig):
            self.by_category[cat]["after"][after] += 1
        for when, d in (("before", before), ("after", after)):
            if d != "review":
                self.auto[when] += 1
                if ex.labels is not None:
                    self.right[when][1] += 1
                    self.right[when][0] += (d == "reject") == ex.harmful
        if after != before:
            change = f"{before}->{after}"
            self.changed.append(ex.item.id)
            self.transitions[change] += 1
            if len(self.examples[change]) < self.per_change:
                self.examples[change].append({
                    "id": ex.item.id,
                    "context": ex.item.context,
                    "text": (ex.item.text or "")[:160] if ex.item.type is ItemType.TEXT else None,
                    "reasons": sorted({f"{r.detector} ({r.category})" for r in sig.reasons
                                       if self.candidate.action_for(ex.item.context, r) in ("review", "reject")}),
                })
        hit = {r.detector for r in sig.reasons if r.source is Source.RULE and r.detail and r.detail.get("shadow")}
        for rid in hit & set(self.shadow):
            s = self.shadow[rid]
            s["hits"] += 1
            if ex.labels is not None:
                s["labeled"] += 1
                s["harmful"] += ex.harmful
        return after

    def summary(self, source: str, workers: str, why: str) -> dict[str, Any]:
        n = self.items
        return {
            "policy_version": self.candidate.version,
            "source": source,
            "workers": workers,
            "workers_why": why,
            "items": n,
            "changed": len(self.changed),
            "transitions": dict(sorted(self.transitions.items())),
            "automation": {w: wilson(self.auto[w], n) for w in ("before", "after")},
            "precision": {w: wilson(*self.right[w]) for w in ("before", "after")},
            "by_category": {c: {w: dict(v[w]) for w in ("before", "after")} for c, v in sorted(self.by_category.items())},
            "examples": dict(sorted(self.examples.items())),
            "shadow_rules": {rid: {"hits": s["hits"], "hit_rate": wilson(s["hits"], n), "precision": wilson(s["harmful"], s["labeled"])}
                             for rid, s in self.shadow.items()},
            "interval": "95 % Wilson score interval",
        }


def backtest(candidate: Policy, batches: Iterable[list[Labeled]], analyze: Analyze, *, baseline: Policy | None = None,
             baseline_analyze: Analyze | None = None, examples_per_change: int = 3) -> Backtest:
    """Replay every batch through `candidate`. Without a baseline the `before` of an item
    is its stored automatic decision (and the categories of its stored reasons); with one
    (a file has no stored decision), the baseline policy's decision over its own analysis."""
    bt = Backtest(candidate, examples_per_change)
    for batch in batches:
        sigs = analyze_examples(analyze, candidate, batch)
        base_sigs = analyze_examples(baseline_analyze or analyze, baseline, batch) if baseline is not None else None
        for k, (ex, sig) in enumerate(zip(batch, sigs)):
            if base_sigs is not None and baseline is not None:
                before = baseline.decide(ex.item, base_sigs[k]).decision.value
                cats = _acting(baseline, ex.item, base_sigs[k])
            else:
                before = ex.first_decision or Decision.APPROVE.value
                cats = set(ex.stored_categories) or {"none"}
            bt.add(ex, before, cats, sig)
    return bt


def format_backtest(summary: dict[str, Any], changed: Sequence[str], show_ids: int = 20) -> str:
    lines = [(f"policy {summary['policy_version']} on {summary['source']}: {summary['items']} items, "
             f"analysed {summary['workers']} ({summary['workers_why']})"),
             f"decisions that change: {summary['changed']}  " + ", ".join(f"{k} {v}" for k, v in summary["transitions"].items()),
             f"automation  before {_ci(summary['automation']['before'])}   after {_ci(summary['automation']['after'])}",
             (f"precision   before {_ci(summary['precision']['before'])}   after {_ci(summary['precision']['after'])}"
             f"   (automatic decisions of human-labeled items; {summary['interval']})"),
             "", f"{'category':16s} {'before a/rv/rj':>18s} {'after a/rv/rj':>18s}"]
    for cat, ba in summary["by_category"].items():
        fmt = "/".join(str(ba["before"].get(d, 0)) for d in ("approve", "review", "reject"))
        fmt2 = "/".join(str(ba["after"].get(d, 0)) for d in ("approve", "review", "reject"))
        lines.append(f"{cat:16s} {fmt:>18s} {fmt2:>18s}")
    for rid, s in summary["shadow_rules"].items():
        lines.append(f"shadow rule {rid}: {s['hits']} hits, rate {_ci(s['hit_rate'])}, precision {_ci(s['precision'])}")
    for change, exs in summary["examples"].items():
        lines.append(f"\n{change}:")
        for e in exs:
            lines.append(f"  {e['id']} [{e['context']}] {e['text']!r} <- {', '.join(e['reasons']) or 'no reason'}")
    if changed:
        lines.append(f"\nchanged ids ({min(show_ids, len(changed))} of {len(changed)}): {', '.join(changed[:show_ids])}")
    return "\n".join(lines)
