"""Links to listed domains: a deny list (known scam, adult or phishing sites) with
exceptions (`allow`), on the links `moderation.text.contact` finds however disguised.

Parameters: `deny` (required, domains; a subdomain of a listed domain matches too),
`allow` (optional; wins over `deny`, e.g. deny `example.com` but allow
`help.example.com`), `regions` (optional, default the detector's: only used to share
the detector run with the `contact` rules of the same regions, see
`moderation.rules.contact`).

Each listed domain is run through the URL detector at load: a domain the detector
cannot see (an unknown top-level domain) would never fire, so it is refused.
"""

from __future__ import annotations

import re
from dataclasses import replace

from moderation.errors import PolicyError
from moderation.rules.base import RuleSpec
from moderation.rules.contact import ContactRule
from moderation.signals import TextInput
from moderation.text.contact import DEFAULT_REGIONS, shared_detector
from moderation.types import Reason

_PARAMS = {"deny", "allow", "regions"}
_DOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])?)+")


def _host(value: str) -> str:
    host = value.lower().split("/", 1)[0]
    return host.removeprefix("www.")


def _listed(host: str, domains: frozenset[str]) -> str | None:
    """The listed domain `host` is, or is a subdomain of; None when there is none."""
    parts = host.split(".")
    for k in range(len(parts) - 1):
        candidate = ".".join(parts[k:])
        if candidate in domains:
            return candidate
    return None


class DomainsRule(ContactRule):
    """A url-only contact rule whose links are filtered by the deny and allow lists."""

    def __init__(self, spec: RuleSpec) -> None:
        p = spec.params
        self.check_params(p, _PARAMS)
        regions = list(p.get("regions", DEFAULT_REGIONS))
        # The parent sets up the shared detector run (same regions, same cache).
        super().__init__(replace(spec, params={"kinds": ["url"], "regions": regions}))
        self.spec = spec
        self.deny = self._domains(p.get("deny"), "deny", required=True)
        self.allow_list = self._domains(p.get("allow"), "allow", required=False)

    def _domains(self, raw: object, key: str, required: bool) -> frozenset[str]:
        if raw is None and not required:
            return frozenset()
        if not isinstance(raw, list) or (required and not raw):
            raise PolicyError(f"`{key}` must be a non-empty list of domains")
        out = set()
        detector = shared_detector(self.regions)
        for d in raw:
            domain = str(d).strip().lower().lstrip(".")
            if not _DOMAIN.fullmatch(domain):
                raise PolicyError(f"`{key}`: {d!r} is not a domain")
            seen = [m for m in detector.find(f"http://{domain}/") if m.kind == "url"]
            if not seen or _host(seen[0].value) != domain:
                raise PolicyError(f"`{key}`: the link detector does not recognise {domain!r} (unknown top-level domain?)")
            out.add(domain)
        return frozenset(out)

    def match(self, text: TextInput) -> list[Reason]:
        out = []
        for m in text.contacts(self.regions):
            if m.kind != "url":
                continue
            host = _host(m.value)
            listed = _listed(host, self.deny)
            if listed is None or _listed(host, self.allow_list) is not None:
                continue
            out.append(self.reason(m.span, m.value, domain=listed)
            )
        return out
