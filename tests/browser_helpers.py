"""What the browser tests share: Debian's chromium, axe-core injected into the page (a
test-only asset: tests/browser/package.json, installed by `make deps`, never served by the
service), and where screenshots go."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = (
    Path(__file__).resolve().parent
    / "browser"
    / "node_modules"
    / "axe-core"
    / "axe.min.js"
)
# Each language with the scheme the system asks for: both languages in both schemes.
LOOKS = [("en", "light"), ("fr", "dark"), ("en", "dark"), ("fr", "light")]
LOCALES = {"en": "en-GB", "fr": "fr-FR"}


def screenshots(default: Path) -> Path:
    """$MODERATION_SCREENSHOTS (docs/screenshots for `make screenshots`), else `default`."""
    out = Path(os.environ.get("MODERATION_SCREENSHOTS") or default)
    out.mkdir(parents=True, exist_ok=True)
    return out


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each
    (rule, impact, the first offending elements)."""
    if not AXE.exists():
        pytest.fail(
            "axe-core is not installed: run `make deps` (npm ci in tests/browser)"
        )
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes'][:3]]} {v['nodes'][0].get('failureSummary', '')[:200]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
