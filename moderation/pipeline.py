"""Ray-agnostic pipeline: the signals of a batch of items, then the policy.

The Ray actors in `moderation.workers` hold one analyzer each and call `analyze`; tests
and benchmarks call the same functions in-process. Nothing here imports Ray.

Path of a text:  normalize -> rules (+ classifier, language) -> Signals
Path of a photo: decode (DCT-scaled) -> hashes -> bank match -> models, unless a bank already decides
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from moderation.errors import InvalidImage
from moderation.photos.banks import BankMatch
from moderation.photos.decode import DecodeLimits, Photo, decode
from moderation.photos.hashing import PhotoHashes, compute_hashes
from moderation.policy import Policy
from moderation.rules.base import Rule
from moderation.rules.loader import compile_rules, run_rules
from moderation.signals import PhotoSignal, TextInput, TextSignal
from moderation.text.campaigns import CampaignCount
from moderation.text.normalize import normalize
from moderation.types import Item, Reason, Signals, Source

# Matches a batch of photo hashes against the banks; the index actor provides it in Ray,
# a local BankIndex in tests.
Matcher = Callable[[Sequence[PhotoHashes]], list[list[BankMatch]]]
# Counts a batch of (author, normalized text) in the shared campaign window, in order; the
# campaign actor provides it in Ray, a local CampaignWindow in tests. It may return the
# counts, or a function returning them later: the worker then sends the batch to the
# actor first and collects the answer after its own rules and models have run.
Campaigns = Callable[[Sequence[tuple[str, str]]], "list[CampaignCount] | Callable[[], list[CampaignCount]]"]


def invalid_signals(exc: InvalidImage) -> Signals:
    """A photo that cannot be analysed: one `invalid` reason naming the fault."""
    fault = exc.extra.get("fault", "invalid")
    reason = Reason(source=Source.RULE, category="invalid", detector=f"decode:{fault}",
                    detail={"fault": fault, "message": str(exc)})
    return Signals(reasons=[reason], fault=exc)


def _finish(out: list[Signals], timings: dict[str, float]) -> list[Signals]:
    # Each category's score is at least that of its strongest reason; stage timings per item.
    for sig in out:
        for r in sig.reasons:
            sig.scores[r.category] = max(sig.scores.get(r.category, 0.0), r.score)
        sig.timings = timings
    return out


def _wanted(policy: Policy) -> set[str]:
    return {c for ctx in policy.contexts.values() for c in ctx.checks}


def text_signals_for(policy: Policy, loaded: dict[str, TextSignal] | None = None) -> dict[str, TextSignal]:
    """The model-backed text signals the policy's contexts ask for, each loaded once: those
    in `loaded` are kept (a reload that turns a check on loads its model, and only that)."""
    loaded = loaded or {}
    wanted = _wanted(policy)
    out: dict[str, TextSignal] = {}
    if "classifier" in wanted:
        # heavy: onnxruntime, loaded only if a context checks it
        from moderation.text.classifier import ToxicityClassifier

        out["classifier"] = loaded.get("classifier") or ToxicityClassifier()
    if "language" in wanted:
        # its n-gram model is loaded only if a context checks the language
        from moderation.text.language import LanguageSignal

        out["language"] = loaded.get("language") or LanguageSignal()
    return out


def photo_signals_for(policy: Policy, loaded: dict[str, PhotoSignal] | None = None) -> dict[str, PhotoSignal]:
    """`text_signals_for` for photos; the nudity and profile checks share one detector."""
    loaded = loaded or {}
    wanted = _wanted(policy)
    out: dict[str, PhotoSignal] = {}
    if "nudity" in wanted or "profile" in wanted:
        # heavy: onnx and onnxruntime, loaded only where a context checks nudity or faces
        from moderation.photos.nudity import NudityDetector, ProfilePhotoCheck

        previous = loaded.get("nudity") or getattr(loaded.get("profile"), "detector", None)
        detector = previous if isinstance(previous, NudityDetector) else NudityDetector()
        if "nudity" in wanted:
            out["nudity"] = detector
        if "profile" in wanted:
            out["profile"] = loaded.get("profile") or ProfilePhotoCheck(detector)
    return out


class TextAnalyzer:
    """What a text worker holds: the compiled rules, the optional models and a way to reach
    the campaign window (check `spam`; without `campaigns` the check finds nothing)."""

    def __init__(
        self,
        policy: Policy,
        *,
        text_signals: dict[str, TextSignal] | None = None,
        campaigns: Campaigns | None = None,
    ) -> None:
        self.text_signals = dict(text_signals or {})
        self.campaigns = campaigns
        self.reconfigure(policy)

    def reconfigure(self, policy: Policy) -> None:
        """Compile the new policy's rules first, then swap: a bad policy leaves the old one running."""
        rules: list[Rule] = compile_rules(policy.rules)
        self.policy = policy
        self.rules = rules
        classifier = self.text_signals.get("classifier")
        if classifier is not None:
            # the classifier states a reason from the lowest profanity threshold the policy sets
            classifier.reconfigure({"min_score": min(1.0, policy.lowest_threshold("profanity"))})

    def analyze(self, items: Sequence[Item]) -> list[Signals]:
        t0 = time.perf_counter()
        inputs = [TextInput(item=i, normalized=normalize(i.text or "")) for i in items]
        out = [Signals() for _ in items]
        pending = self._start_campaigns(inputs)
        # Language first: rules may be limited to languages.
        self._run_signal("language", inputs, out)
        for inp, sig in zip(inputs, out):
            if "rules" in self.policy.checks(inp.item.context):
                sig.reasons.extend(run_rules(self.rules, inp, sig.language))
        for name in self.text_signals:
            if name != "language":
                self._run_signal(name, inputs, out)
        self._finish_campaigns(pending, out)
        return _finish(out, {"text": (time.perf_counter() - t0) / max(len(items), 1)})

    def _start_campaigns(self, inputs: list[TextInput]) -> tuple[list[int], Any] | None:
        """One call to the shared window per batch, for the items whose context checks spam."""
        if self.campaigns is None or self.policy.campaigns is None:
            return None
        idx = [k for k, inp in enumerate(inputs) if "spam" in self.policy.checks(inp.item.context)]
        if not idx:
            return None
        return idx, self.campaigns([(inputs[k].item.author_id, inputs[k].normalized.text) for k in idx])

    def _finish_campaigns(self, pending: tuple[list[int], Any] | None, out: list[Signals]) -> None:
        settings = self.policy.campaigns
        if pending is None or settings is None:
            return
        idx, counts = pending
        if callable(counts):
            counts = counts()
        for k, c in zip(idx, counts):
            if c.authors < settings.min_authors:
                continue
            out[k].reasons.append(
                Reason(
                    source=Source.RULE,
                    category="spam",
                    detector="campaign",
                    detail={
                        "authors": c.authors,
                        "window_seconds": int(settings.window_seconds)
                        if float(settings.window_seconds).is_integer()
                        else settings.window_seconds,
                        "match": "exact" if c.exact_authors >= settings.min_authors else "near",
                    },
                )
            )

    def _run_signal(self, name: str, inputs: list[TextInput], out: list[Signals]) -> None:
        """A model signal runs batched, once, on the items whose context asks for it."""
        signal = self.text_signals.get(name)
        if signal is None:
            return
        idx = [k for k, inp in enumerate(inputs) if name in self.policy.checks(inp.item.context)]
        if idx:
            for k, res in zip(idx, signal.analyze_batch([inputs[k] for k in idx])):
                out[k].merge(res)


class PhotoAnalyzer:
    """What a photo worker holds: decode limits, the models, and a way to reach the banks."""

    def __init__(
        self,
        policy: Policy,
        limits: DecodeLimits,
        matcher: Matcher | None = None,
        photo_signals: dict[str, PhotoSignal] | None = None,
    ) -> None:
        self.policy = policy
        self.limits = limits
        self.matcher = matcher
        self.photo_signals = dict(photo_signals or {})

    def reconfigure(self, policy: Policy) -> None:
        self.policy = policy

    def decode_mode(self, context: str) -> str:
        """"RGB" for a context whose checks run a model on the photo; "L" (gray, a
        cheaper decode) when only the hashes, which read luminance, look at it."""
        checks = self.policy.checks(context)
        return "RGB" if any(name in checks for name in self.photo_signals) else "L"

    def analyze(self, items: Sequence[Item]) -> list[Signals]:
        out: list[Signals] = [Signals() for _ in items]
        decoded: list[tuple[int, Photo, PhotoHashes]] = []
        t0 = time.perf_counter()
        for k, item in enumerate(items):
            try:
                photo = decode(item.image or b"", self.limits, self.decode_mode(item.context))
                hashes = compute_hashes(item.image or b"", photo)
            except InvalidImage as exc:
                out[k] = invalid_signals(exc)
                continue
            out[k].hashes = hashes
            out[k].size = (photo.width, photo.height)
            decoded.append((k, photo, hashes))
        t_decode = time.perf_counter() - t0
        decided: set[int] = set()
        # Bank lookups for the photos whose context checks `hashes` (the others are still
        # hashed: an approved photo joins the seen bank whatever its context).
        matchable = [(k, h) for k, _, h in decoded if "hashes" in self.policy.checks(items[k].context)]
        if self.matcher is not None and matchable:
            matches = self.matcher([h for _, h in matchable])
            for (k, _), ms in zip(matchable, matches):
                reasons = self.policy.bank_reasons(ms, items[k].author_id)
                out[k].reasons.extend(reasons)
                # A banned or allowed photo is decided by its bank: skip the models.
                if any(r.category in ("banned_match", "allowed_match") for r in reasons):
                    decided.add(k)
        t1 = time.perf_counter()
        # One photo at a time through every model its context asks for: the nudity and
        # profile checks of a photo then share one detector pass (the detector keeps the
        # last image's detections; signal by signal over the batch, each photo ran twice).
        for k, photo, _ in decoded:
            if k in decided:
                continue
            checks = self.policy.checks(items[k].context)
            for name, signal in self.photo_signals.items():
                if name in checks:
                    out[k].merge(signal.analyze(items[k], photo))
        t_models = time.perf_counter() - t1
        n = max(len(items), 1)
        return _finish(out, {"decode_hash": t_decode / n, "models": t_models / n})
