"""Search in the review UI, in Debian's chromium through Playwright: words with and without
accents in French and English, by author and by category; hostile texts stay text; a
result opens the item's page, which shows its decisions and audit trail; the queue's keys
work again as soon as a search is made. One browser and one page for the module; the
tests run in order on that page. Screenshots at 1440x900 go to $MODERATION_SCREENSHOTS
(or the test's temporary directory)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from images import make_jpeg
from review_helpers import ALICE, policy_text, review_item
from servers import LiveService, make_settings

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
XSS = "<img src=x onerror=\"window.__xss=1;alert(1)\"> trajet suspect <script>window.__xss=2</script>"
FR = "L'élève de l'auto-école conduit très mal, espèce d'abruti !"
INSULT = [{"source": "rule", "category": "insult", "detector": "words.fr", "score": 1.0, "span": [FR.find("abruti"), FR.find("abruti") + 6]}]


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = Path(os.environ.get("MODERATION_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="module")
def live(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("search-ui")
    path = tmp / "policy.yaml"
    path.write_text(policy_text(review="  undo_seconds: 10\n"), encoding="utf-8")
    svc = LiveService(make_settings(tmp, policy_path=path))
    svc.service.accounts.create_user("mod", "password1", "moderator")
    store = svc.service.store
    store.save_items([
        review_item("fr-eleve", text=FR, author="claire",
                    queue="texts", reasons=INSULT),
        review_item("en-cafe", text="The café was closed and the driver's excuse was naïve.", author="brian",
                    decision="approve", queue=None, reasons=[]),
        review_item("xss-1", text=XSS, author="mallory", decision="approve", queue=None, reasons=[]),
        review_item("photo-1", image=make_jpeg(320, 240, seed=77), author="claire", queue="photos", priority=1),
    ] + [review_item(f"queued-{k}", text=f"appelle-moi au 06 12 34 56 {k:02d}", queue="contact-info") for k in range(4)])
    # a moderator decided the French text: the item page shows who, why, and the audit trail
    [task] = svc.service.review.tasks.claim(ALICE, limit=1, queue="texts")
    svc.service.review.decisions.decide(ALICE, task["task_id"], "reject", note="insulte caractérisée")
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="module")
def page(live: LiveService):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # CSP off for the page, as in test_review_ui.py: Playwright's waits evaluate strings,
        # and the XSS checks then prove the escaping alone keeps payloads inert.
        pg = browser.new_page(bypass_csp=True, viewport={"width": 1440, "height": 900})
        pg.dialogs = []
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
        pg.errors = []
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))
        pg.set_default_timeout(15_000)
        try:
            yield pg
        finally:
            browser.close()


def search(page, text: str) -> list[str]:
    """Type a search with the keyboard alone (/ focuses the box), return the result ids."""
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search"
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.wait_for_function("document.body.dataset.view === 'results' && !!document.querySelector('#results h2')")
    page.wait_for_function(f"document.querySelector('#results h2').textContent.includes({text!r})")
    return [n.get_attribute("data-item-id") for n in page.query_selector_all("#results .hit")]


def test_log_in_and_search_french_words_with_and_without_accents(live: LiveService, page, shots: Path) -> None:
    page.goto(live.url + "/review")
    page.fill("#username", "mod")
    page.fill("#password", "password1")
    page.press("#password", "Enter")
    page.wait_for_function("document.body.dataset.state === 'ready'")
    assert search(page, "eleve ecole") == ["fr-eleve"]
    assert page.evaluate("document.activeElement.id") != "search"  # the keys are free again
    assert [m.text_content() for m in page.query_selector_all("#results .hit mark")] == ["élève", "école"]
    assert search(page, "ÉLÈVE") == ["fr-eleve"]
    assert search(page, "TRÈS mal") == ["fr-eleve"]
    card = page.locator("#results .hit").first
    assert "final: rejected" in card.text_content() and "insult" in card.text_content()
    page.screenshot(path=str(shots / "search-results.png"))


def test_search_english_words_with_and_without_accents(page) -> None:
    assert search(page, "cafe") == ["en-cafe"]
    assert search(page, "Naïve DRIVER") == ["en-cafe"]
    assert search(page, "excus") == ["en-cafe"]  # a prefix of "excuse"


def test_search_by_author_and_by_category(page) -> None:
    assert search(page, "author:brian") == ["en-cafe"]
    assert search(page, "author:claire") == ["photo-1", "fr-eleve"]
    assert search(page, "category:insult") == ["fr-eleve"]
    assert search(page, "author:claire category:nudity") == ["photo-1"]
    assert search(page, "nothingmatchesthis") == []
    assert "Nothing found" in page.text_content("#results")


def test_hostile_text_in_a_result_is_shown_never_run(page) -> None:
    assert search(page, "trajet suspect") == ["xss-1"]
    assert page.text_content("#results .hit .excerpt") == XSS
    assert page.locator("#results img, #results script").count() == 0
    assert page.evaluate("window.__xss") is None and page.dialogs == []


def test_keys_move_between_results_and_escape_returns_to_the_queue(live: LiveService, page) -> None:
    assert search(page, "author:claire") == ["photo-1", "fr-eleve"]
    page.keyboard.press("j")
    assert page.get_attribute("#results .hit.current", "data-item-id") == "fr-eleve"
    page.keyboard.press("a")  # no decision while the queue is out of sight
    page.keyboard.press("Escape")
    page.wait_for_function("document.body.dataset.view === 'queue'")
    assert page.is_visible("#workspace") and not page.is_visible("#results")
    before = int(page.get_attribute("#decided-count", "data-count"))
    page.keyboard.press("a")  # the queue's keys work again, focus never stayed in the box
    page.wait_for_function(f"document.getElementById('decided-count').dataset.count === '{before + 1}'")
    assert before == 0


def test_a_result_opens_the_item_page_with_decisions_and_audit_trail(live: LiveService, page, shots: Path) -> None:
    search(page, "abruti")
    page.click("#results .hit[data-item-id='fr-eleve']")
    page.wait_for_url("**/review/items/fr-eleve")
    page.wait_for_function("document.body.dataset.state === 'ready'")
    assert page.text_content("h1") == "text fr-eleve"
    assert page.text_content("#item .text") == FR
    assert page.locator("#item mark").first.get_attribute("data-category") == "insult"
    decisions = page.text_content("table.decisions")
    assert "user:alice" in decisions and "insulte caractérisée" in decisions and "policy test" in decisions
    audit = page.text_content("table.audit")
    assert "review.claim" in audit and "review.human_decision" in audit and "user:alice" in audit
    assert page.get_attribute("a.author", "href") == "/review/authors/claire"
    page.screenshot(path=str(shots / "item-page.png"), full_page=True)
    page.keyboard.press("Escape")  # back to the queue
    page.wait_for_url("**/review")
    page.wait_for_function("['ready', 'empty'].includes(document.body.dataset.state)")


def test_photo_item_page_shows_the_photo_through_the_image_route(live: LiveService, page, shots: Path) -> None:
    page.goto(live.url + "/review/items/photo-1")
    page.wait_for_function("document.body.dataset.state === 'ready'")
    assert page.locator("#item .photo.blurred").count() == 1  # a nudity reason: blurred until V
    page.keyboard.press("v")
    assert page.locator("#item .photo.blurred").count() == 0
    page.wait_for_function("document.querySelector('#item .photo img').naturalWidth === 320")
    page.screenshot(path=str(shots / "item-photo.png"))


def test_hostile_text_on_its_item_page_is_shown_never_run(live: LiveService, page) -> None:
    page.goto(live.url + "/review/items/xss-1")
    page.wait_for_function("document.body.dataset.state === 'ready'")
    assert page.text_content("#item .text") == XSS
    assert page.locator("#item img, #item script").count() == 0
    assert page.evaluate("window.__xss") is None and page.dialogs == [] and page.errors == []


def test_unknown_item_and_logged_out_visitor_get_a_message(live: LiveService, page) -> None:
    page.goto(live.url + "/review/items/" + "no%20such%20item")
    page.wait_for_function("document.body.dataset.state === 'error'")
    assert "No item no such item." in page.text_content("#item")
    page.context.clear_cookies()
    page.goto(live.url + "/review/items/fr-eleve")
    page.wait_for_function("document.body.dataset.state === 'login'")
    assert page.get_attribute("#item a", "href") == "/review?next=%2Freview%2Fitems%2Ffr-eleve"
    page.click("#item a")
    page.fill("#username", "mod")
    page.fill("#password", "password1")
    page.press("#password", "Enter")
    page.wait_for_url("**/review/items/fr-eleve")  # logged in, back to the item
    page.wait_for_function("document.body.dataset.state === 'ready'")
