"""Spam campaigns and rule-hit counting end to end: real HTTP, real Ray (the campaign
actor shared by the text workers), real SQLite."""

from __future__ import annotations

import re
import uuid

import httpx
from servers import LiveService, text_item


def moderate_one(api: httpx.Client, text: str, author: str) -> dict:
    resp = api.post("/v1/moderate", json={"items": [text_item(uuid.uuid4().hex, text, author=author)]})
    assert resp.status_code == 200, resp.text
    [result] = resp.json()["results"]
    return result


def campaign_reasons(result: dict) -> list[dict]:
    return [r for r in result["reasons"] if r["category"] == "spam" and r["detector"] == "campaign"]


def test_same_text_from_min_authors_authors_flags_the_last_one(api: httpx.Client, live: LiveService) -> None:
    settings = live.service.policy.campaigns
    assert settings is not None
    tag = uuid.uuid4().hex[:8]  # unique text: other tests share this service
    text = f"Gagnez 400 euros par semaine en conduisant pour nous, écrivez vite au recruteur {tag}"
    results = [moderate_one(api, text, f"author-{tag}-{k}") for k in range(settings.min_authors)]
    assert all(campaign_reasons(r) == [] for r in results[:-1])
    [reason] = campaign_reasons(results[-1])
    assert reason["source"] == "rule"
    assert reason["detail"] == {"authors": settings.min_authors, "window_seconds": 3600, "match": "exact"}
    assert results[-1]["decision"] == "review"


def test_nearly_the_same_text_counts_as_near(api: httpx.Client, live: LiveService) -> None:
    settings = live.service.policy.campaigns
    assert settings is not None
    # A fixed text: SimHash distances are a property of the text, and 1 random tag in 8
    # would move this edit past the threshold. The service (and its window) is this module's own.
    tag = "nearcase"
    base = (
        f"Offre {tag}: gagnez de l'argent facilement chaque semaine en partageant vos trajets avec nos clients "
        "fidèles, inscription gratuite et paiement rapide garanti pour tous les conducteurs motivés de la région"
    )
    for k in range(settings.min_authors - 1):
        moderate_one(api, base, f"author-{tag}-{k}")
    last = moderate_one(api, base.replace("région", "ville"), f"author-{tag}-last")
    [reason] = campaign_reasons(last)
    assert reason["detail"]["match"] == "near"


def test_one_author_repeating_himself_is_not_a_campaign(api: httpx.Client, live: LiveService) -> None:
    settings = live.service.policy.campaigns
    assert settings is not None
    tag = uuid.uuid4().hex[:8]
    text = f"Je pars de Lyon samedi matin vers Marseille, il me reste deux places, départ gare {tag}"
    results = [moderate_one(api, text, f"solo-{tag}") for _ in range(settings.min_authors + 1)]
    assert all(campaign_reasons(r) == [] and r["decision"] == "approve" for r in results)


def metric(text: str, rule: str, shadow: str) -> float:
    m = re.search(rf'^moderation_rule_hits_total{{rule="{re.escape(rule)}",shadow="{shadow}"}} (\S+)$', text, re.MULTILINE)
    return float(m.group(1)) if m else 0.0


def test_rule_hits_are_counted_with_their_shadow_flag(api: httpx.Client) -> None:
    before = api.get("/metrics").text
    moderate_one(api, "paiement en espèces à l'arrivée, appelle au 06 12 34 56 78", f"m-{uuid.uuid4().hex[:8]}")
    after = api.get("/metrics").text
    assert metric(after, "payment.cash", "true") == metric(before, "payment.cash", "true") + 1
    assert metric(after, "contact.details", "false") == metric(before, "contact.details", "false") + 1
