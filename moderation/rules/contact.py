"""Contact details and links, found by `moderation.text.contact` however disguised.

Two rules usually share one detector run: `contact.details` (phones, e-mails, handles,
category contact_info) and `links` (URLs and bare domains outside `allowed_domains`,
category spam_link). The detector runs once per text (`TextInput.contacts`), whatever
the number of rules asking.
"""

from __future__ import annotations

from moderation.errors import PolicyError
from moderation.rules.base import Rule, RuleSpec
from moderation.signals import TextInput
from moderation.text.contact import (
    DEFAULT_REGIONS,
    KINDS,
    check_domains,
    listed_domain,
    locale_regions,
    phone_region,
    shared_detector,
    url_host,
)
from moderation.types import Reason


class ContactRule(Rule):
    PARAMS = frozenset({"kinds", "regions", "allowed_domains"})

    def __init__(self, spec: RuleSpec) -> None:
        super().__init__(spec)
        self.check_params(spec.params, self.PARAMS)
        kinds = tuple(spec.params.get("kinds", ("phone", "email", "handle")))
        bad = [k for k in kinds if k not in KINDS]
        if bad or not kinds:
            raise PolicyError(f"kinds must be among {KINDS}, not {bad or '[]'}")
        self.kinds = frozenset(kinds)
        self.regions = tuple(str(r).upper() for r in spec.params.get("regions", DEFAULT_REGIONS))
        shared_detector(self.regions)  # validates the regions now (and loads the detector), not on the hot path
        self.allowed = check_domains(spec.params.get("allowed_domains", ()))

    def _allowed(self, host: str) -> bool:
        return listed_domain(url_host(host), self.allowed) is not None

    def match(self, text: TextInput) -> list[Reason]:
        out = []
        for m in text.contacts(self.regions):
            if m.kind not in self.kinds or (m.kind == "url" and self._allowed(m.value)):
                continue
            if m.kind != "phone":
                out.append(self.reason(m.span, m.value, kind=m.kind, via=m.detector))
                continue
            # The number decides its region (its country code, the way it is grouped, its
            # type); the author's locale only breaks a tie the digits leave open.
            value, region = m.value, m.region
            if m.alternatives:
                preferred = locale_regions(text.item.locale)
                readings = [(m.value, m.region), *((e, phone_region(e)) for e in m.alternatives)]
                value, region = min(readings, key=lambda r: preferred.index(r[1]) if r[1] in preferred else len(preferred))
            out.append(self.reason(m.span, value, kind=m.kind, via=m.detector, region=region))
        return out
