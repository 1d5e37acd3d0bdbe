"""The review UI's pages and catalogues: the language chosen from the browser, and every word
the scripts ask for present in both languages."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
from fastapi import FastAPI

from moderation.api.routes.ui import REVIEW_UI, preferred_locale, router

LOCALES = REVIEW_UI / "static" / "locales"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _catalogue(lang: str) -> dict:
    return json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))


def _placeholders(entry: str | dict) -> set[str]:
    texts = entry.values() if isinstance(entry, dict) else [entry]
    return {name for text in texts for name in PLACEHOLDER.findall(text)}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("en-GB,en;q=0.9,fr;q=0.8", "en"),
        ("de-DE,fr;q=0.5", "fr"),
        ("de-DE", "en"),
        ("en;q=0.2,fr;q=0.7", "fr"),
        ("fr;q=bogus,en", "en"),
        ("FR", "fr"),
    ],
)
def test_preferred_locale_follows_accept_language(
    header: str | None, expected: str
) -> None:
    assert preferred_locale(header) == expected


def test_catalogues_have_the_same_keys_and_placeholders() -> None:
    en, fr = _catalogue("en"), _catalogue("fr")
    assert sorted(en) == sorted(fr)
    for key in en:
        assert _placeholders(en[key]) == _placeholders(fr[key]), key
        if isinstance(en[key], dict):
            assert {"one", "other"} <= set(en[key]) and {"one", "other"} <= set(
                fr[key]
            ), key


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for path in (REVIEW_UI / "static").glob("*.js"):
        keys |= set(
            re.findall(
                r"""\bt\(\s*["']([\w.-]+)["']""", path.read_text(encoding="utf-8")
            )
        )
    for path in REVIEW_UI.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r'data-i18n="([\w.-]+)"', text))
        keys |= set(re.findall(r'data-title="([\w.-]+)"', text))
        for attrs in re.findall(r'data-i18n-attr="([^"]+)"', text):
            keys |= {pair.split(":", 1)[1] for pair in attrs.split() if ":" in pair}
    return keys


def test_every_word_the_ui_asks_for_is_in_the_catalogue() -> None:
    missing = _used_keys() - set(_catalogue("en"))
    assert not missing, sorted(missing)


def test_review_page_language_follows_the_browser() -> None:
    app = FastAPI()
    app.include_router(router)

    async def fetch(accept: str) -> str:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ui"
        ) as client:
            return (
                await client.get("/review", headers={"Accept-Language": accept})
            ).text

    assert '<html lang="fr">' in asyncio.run(fetch("fr-FR,fr;q=0.9"))
    assert '<html lang="en">' in asyncio.run(fetch("en-US"))
