"""The member side as moderators live it in chromium: a reported message upheld with the
case's button counts a strike and warns its author; the author appeals through the API; the
moderator who upheld it is never shown the appeal, and a second one reads the member's words
on the card and overturns with the key: the strike and the warning are gone."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from browser_helpers import ARGS, CHROMIUM, LOCALES, serious_violations
from review_helpers import policy_text
from servers import STAFF_PASSWORD, LiveService, make_settings, text_item, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def live(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("members-ui")
    path = tmp / "policy.yaml"
    path.write_text(policy_text(review="  undo_seconds: 1\n"), encoding="utf-8")
    svc = LiveService(make_settings(tmp, policy_path=path))
    for name in ("mod", "mod2"):
        svc.service.accounts.create_user(name, STAFF_PASSWORD, "moderator")
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="module")
def pipeline(live: LiveService) -> Iterator[httpx.Client]:
    key, _ = live.service.store.create_api_key("carpool", scopes=("moderate", "items:read"))
    with live.client(key) as c:
        yield c


@pytest.fixture(scope="module")
def browser(live: LiveService) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def moderator_page(browser: Any, live: LiveService, user: str, lang: str, queue: str) -> Any:
    ctx = browser.new_context(locale=LOCALES[lang], viewport={"width": 1440, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.set_default_timeout(15_000)
    page.goto(live.url + "/review")
    page.fill("#username", user)
    page.fill("#password", STAFF_PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_function("['ready', 'empty'].includes(document.body.dataset.state)")
    page.select_option("#queue", queue)
    return page


def report(rid: str, item_id: str, reporter: str) -> dict[str, Any]:
    return {"id": rid, "reporter_id": reporter, "target": {"item_id": item_id}, "category": "profanity", "text": "il m'insulte"}


def test_report_upheld_with_a_button_and_its_appeal_overturned_by_another_moderator_with_a_key(
    live: LiveService, pipeline: httpx.Client, browser: Any
) -> None:
    api = pipeline
    ratings = [text_item(f"ui-rate-{k}", f"super trajet, appelle moi au 06 12 34 56 7{k}", context="rating", author="ui-driver") for k in range(2)]
    assert [r["decision"] for r in api.post("/v1/moderate", json={"items": ratings}).json()["results"]] == ["reject", "reject"]
    message = text_item("ui-conv", "Oui mais tu paieras double, t'es vraiment lourd", author="ui-driver")
    assert api.post("/v1/moderate", json={"items": [message]}).json()["results"][0]["decision"] == "approve"
    for k in range(3):
        assert api.post("/v1/reports", json=report(f"ui-rep-{k}", "ui-conv", f"ui-passenger-{k}")).status_code == 201

    # The first moderator upholds the case with the button the card offers (in French).
    mod = moderator_page(browser, live, "mod", "fr", "reports")
    mod.wait_for_selector("#tasks .card[data-item='ui-conv']")
    mod.click("#tasks .card[data-item='ui-conv'] .meta")
    assert mod.text_content("#keys [data-action=reject]").endswith("Confirmer")
    mod.click("#keys [data-action=reject]")
    wait_for(lambda: api.get("/v1/authors/ui-driver").json()["author"]["state"] == "warned", what="the author warned")
    author = api.get("/v1/authors/ui-driver").json()
    assert author["author"]["strikes"] == 4 and api.get("/v1/items/ui-conv").json()["final_decision"] == "reject"

    # The author appeals; the moderator who upheld never sees it.
    appealed = api.post("/v1/appeals", json={"id": "ui-appeal", "item_id": "ui-conv", "author_id": "ui-driver", "statement": "<b>Je plaisantais</b> avec un ami."})
    assert appealed.status_code == 201, appealed.text
    mod.select_option("#queue", "appeals")
    mod.wait_for_function("['ready', 'empty'].includes(document.body.dataset.state)")
    mod.wait_for_timeout(500)
    assert mod.locator("#tasks .card[data-item='ui-conv']").count() == 0
    mod.context.close()

    # A second moderator reads the member's words (as text, never markup) and overturns with A.
    mod2 = moderator_page(browser, live, "mod2", "en", "appeals")
    mod2.wait_for_selector("#tasks .card[data-item='ui-conv']")
    mod2.click("#tasks .card[data-item='ui-conv'] .meta")
    appeal = mod2.locator("#detail .appeal")
    assert "<b>Je plaisantais</b> avec un ami." in appeal.text_content()
    assert appeal.locator("b").count() == 0
    assert "user:mod" in appeal.text_content()
    assert mod2.text_content("#keys [data-action=approve]").endswith("Overturn")
    assert serious_violations(mod2) == []
    mod2.keyboard.press("a")
    wait_for(lambda: api.get("/v1/items/ui-conv").json()["final_decision"] == "approve", what="the decision overturned")
    author = api.get("/v1/authors/ui-driver").json()
    assert (author["author"]["state"], author["author"]["strikes"]) == ("active", 2)
    assert [a["status"] for a in author["appeals"]] == ["overturned"]
    assert mod2.errors == []
    mod2.context.close()
