"""Links to listed domains: a deny list (known scam, adult or phishing sites) with
exceptions (`allow`), on the links `moderation.text.contact` finds however disguised.

Parameters: `deny` (required, domains; a subdomain of a listed domain matches too),
`allow` (optional; wins over `deny`, e.g. deny `example.com` but allow
`help.example.com`), `regions` (optional, default the detector's: rules with the same
regions share one detector run per text, `TextInput.contacts`).

Each listed domain is run through the URL detector at load: a domain the detector
cannot see (an unknown top-level domain) would never fire, so it is refused.
"""

from __future__ import annotations

from moderation.errors import PolicyError
from moderation.rules.base import Rule, RuleSpec
from moderation.signals import TextInput
from moderation.text.contact import (
    DEFAULT_REGIONS,
    check_domains,
    listed_domain,
    shared_detector,
    url_host,
)
from moderation.types import Reason

_PARAMS = {"deny", "allow", "regions"}


class DomainsRule(Rule):
    """Links found in the text whose host is on the deny list and not on the allow list."""

    def __init__(self, spec: RuleSpec) -> None:
        super().__init__(spec)
        p = spec.params
        self.check_params(p, _PARAMS)
        self.regions = tuple(str(r).upper() for r in p.get("regions", DEFAULT_REGIONS))
        if not p.get("deny"):
            raise PolicyError("`deny` must be a non-empty list of domains")
        self.deny = self._recognised(check_domains(p["deny"], "deny"), "deny")
        self.allow_list = self._recognised(check_domains(p.get("allow") or [], "allow"), "allow")

    def _recognised(self, domains: frozenset[str], key: str) -> frozenset[str]:
        # A domain the link detector cannot see (an unknown top-level domain) would never fire.
        detector = shared_detector(self.regions)
        for domain in sorted(domains):
            seen = [m for m in detector.find(f"http://{domain}/") if m.kind == "url"]
            if not seen or url_host(seen[0].value) != domain:
                raise PolicyError(f"`{key}`: the link detector does not recognise {domain!r} (unknown top-level domain?)")
        return domains

    def match(self, text: TextInput) -> list[Reason]:
        out = []
        for m in text.contacts(self.regions):
            if m.kind != "url":
                continue
            host = url_host(m.value)
            listed = listed_domain(host, self.deny)
            if listed is not None and listed_domain(host, self.allow_list) is None:
                out.append(self.reason(m.span, m.value, domain=listed))
        return out
