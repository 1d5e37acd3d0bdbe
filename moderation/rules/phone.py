"""Phone numbers, validated by `phonenumbers` (Google's libphonenumber metadata).

This is the backbone's plain detector; `moderation.text.contact` adds the disguised
forms (spelled digits, letters for digits, split numbers).
"""

from __future__ import annotations

import re

import phonenumbers

from moderation.errors import PolicyError
from moderation.rules.base import Rule, RuleSpec
from moderation.signals import TextInput
from moderation.types import Reason, Source


_DIGIT = re.compile(r"\d")
MIN_DIGITS = 8  # the shortest national number of the supported regions


class PhoneRule(Rule):
    def __init__(self, spec: RuleSpec) -> None:
        super().__init__(spec)
        regions = [str(r).upper() for r in spec.params.get("regions", ["FR"])]
        supported = phonenumbers.SUPPORTED_REGIONS
        unknown = [r for r in regions if r not in supported]
        if unknown:
            raise PolicyError(f"{spec.where}: rule {spec.id}: unknown regions {unknown}")
        self.regions = regions

    def match(self, text: TextInput) -> list[Reason]:
        original = text.normalized.original
        # Most texts hold too few digits to contain a phone number: skip the (slow) matcher.
        if len(_DIGIT.findall(original)) < MIN_DIGITS:
            return []
        seen: set[tuple[int, int]] = set()
        reasons = []
        detail = self.detail()
        for region in self.regions:
            for m in phonenumbers.PhoneNumberMatcher(original, region, leniency=phonenumbers.Leniency.VALID):
                span = (m.start, m.end)
                if span in seen or len(phonenumbers.national_significant_number(m.number)) < 8:
                    continue
                seen.add(span)
                e164 = phonenumbers.format_number(m.number, phonenumbers.PhoneNumberFormat.E164)
                reasons.append(
                    Reason(
                        source=Source.RULE,
                        category=self.spec.category,
                        detector=self.spec.id,
                        score=self.spec.score,
                        span=span,
                        matched=e164,
                        detail=dict(detail),
                    )
                )
        return reasons
