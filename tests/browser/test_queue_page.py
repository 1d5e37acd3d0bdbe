"""The queue page and the item page as a moderator reads them, in Debian's chromium through
Playwright: French and English, light and dark, axe-core finding no serious or critical
violation; badges that say why each task is there; reasons in plain words with the
technical detail on D; a near-copy beside its original; face boxes on B; a button for
every key and the ? overlay; a decision's reason and note; skip; filters; undo from the
item page. Screenshots at 1440x900 go to $MODERATION_SCREENSHOTS (`make screenshots`:
docs/screenshots/)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from browser_helpers import (
    ARGS,
    CHROMIUM,
    LOCALES,
    LOOKS,
    screenshots,
    serious_violations,
)
from images import make_jpeg
from review_helpers import policy_text, review_item
from servers import LiveService, make_settings, wait_for

from moderation.members.reports import MemberReports, NewReport
from moderation.store.repository import utcnow
from moderation.store.tables import api_keys, items, review_tasks

pytestmark = pytest.mark.browser

WORDS = "appelle-moi au zéro six douze trente-quatre cinquante-six soixante-dix-huit"
PHONE = [
    {
        "source": "rule",
        "category": "contact_info",
        "detector": "contact.details",
        "score": 1.0,
        "span": [15, len(WORDS)],
        "matched": "+33612345678",
        "detail": {"kind": "phone", "via": "contact.phone", "region": "FR"},
    }
]
NUDE = [
    {
        "source": "model",
        "category": "nudity",
        "detector": "nudenet-320n@3.4",
        "score": 0.91,
        "detail": {
            "boxes": [
                {
                    "label": "FEMALE_BREAST_EXPOSED",
                    "score": 0.91,
                    "box": [0.2, 0.3, 0.5, 0.6],
                }
            ]
        },
    }
]
FACES = [
    {
        "source": "model",
        "category": "no_face",
        "detector": "nudenet-320n@3.4",
        "score": 0.7,
        "detail": {
            "count": 2,
            "boxes": [
                {"label": "FACE_FEMALE", "score": 0.8, "box": [0.1, 0.1, 0.3, 0.4]},
                {"label": "FACE_MALE", "score": 0.7, "box": [0.6, 0.1, 0.8, 0.4]},
            ],
        },
    }
]
SPAM = [
    {
        "source": "rule",
        "category": "spam",
        "detector": "campaign",
        "score": 1.0,
        "detail": {"authors": 5, "window_seconds": 600},
    }
]
COPY = [
    {
        "source": "hash",
        "category": "duplicate",
        "detector": "bank:seen/pdq",
        "score": 0.95,
        "distance": 12,
        "entry_id": 1,
        "matched": "pdq:" + "ab" * 32,
        "detail": {
            "bank": "seen",
            "hash_type": "pdq",
            "item_id": "orig-1",
            "author_id": "u-marie",
        },
    }
]


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return screenshots(tmp_path_factory.mktemp("shots"))


@pytest.fixture(scope="module")
def live(
    ray_session: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("queue-ui")
    path = tmp / "policy.yaml"
    path.write_text(policy_text(review="  undo_seconds: 2\n"), encoding="utf-8")
    svc = LiveService(make_settings(tmp, policy_path=path))
    for name, role in (("mod", "moderator"), ("mod2", "moderator"), ("boss", "admin")):
        svc.service.accounts.create_user(name, "password1", role)
    store = svc.service.store
    store.create_api_key("pipeline")
    with store.engine.connect() as conn:
        key_id = conn.execute(
            select(api_keys.c.id).where(api_keys.c.name == "pipeline")
        ).scalar_one()
    # the original first: the copy names it, and it is the earliest
    store.save_items(
        [
            review_item(
                "orig-1",
                image=make_jpeg(320, 240, seed=5),
                author="u-marie",
                decision="approve",
                reasons=[],
            )
        ]
    )
    photo = make_jpeg(320, 240, seed=7)
    store.save_items(
        [
            review_item(
                "nude-1",
                image=photo,
                author="u-nina",
                queue="photos-sensitive",
                priority=1,
                reasons=NUDE,
                phash="00ff00ff00ff00ff",
            ),
            review_item(
                "nude-2",
                image=photo,
                author="u-otto",
                queue="photos-sensitive",
                priority=1,
                reasons=NUDE,
                phash="00ff00ff00ff00fe",
            ),
            review_item(
                "copy-1",
                image=make_jpeg(320, 240, seed=5),
                author="u-paul",
                queue="photos",
                priority=2,
                reasons=COPY,
            ),
            review_item(
                "faces-1",
                image=make_jpeg(320, 240, seed=9),
                author="u-rose",
                queue="photos",
                priority=2,
                reasons=FACES,
            ),
            review_item(
                "words-1",
                text=WORDS,
                author="u-sam",
                queue="contact-info",
                priority=3,
                reasons=PHONE,
                api_key_id=key_id,
            ),
            review_item(
                "late-1",
                text="mon 06 12 34 56 00 stp",
                author="u-tom",
                queue="contact-info",
                priority=3,
            ),
        ]
        + [
            review_item(
                f"fill-{k}",
                text=f"message {k}: 06 12 34 56 {k:02d}",
                queue="contact-info",
                priority=3,
            )
            for k in range(6)
        ]
    )
    # a backlog behind them (a long queue: the page keeps 8 or more tasks ahead), and a
    # short one: four spam messages
    store.save_items(
        [
            review_item(
                f"bulk-{k}",
                text=f"trajet {k}: 06 12 34 57 {k:02d}",
                queue="contact-info",
                priority=3,
            )
            for k in range(30)
        ]
        + [
            review_item(
                f"spam-{k}",
                text=f"gagnez un iphone {k}",
                queue="contact-info",
                priority=3,
                reasons=SPAM,
            )
            for k in range(4)
        ]
    )
    reports = MemberReports(store.engine, lambda: svc.service.policy)
    for k in range(2):
        reports.file(
            key_id,
            NewReport(
                id=f"rep-{k}",
                reporter_id=f"member-{k}",
                target_kind="item",
                target_id="words-1",
                category="spam",
            ),
        )
    # one task waited past its queue's SLA (60 min)
    with store.engine.begin() as conn:
        pk = conn.execute(select(items.c.pk).where(items.c.id == "late-1")).scalar_one()
        conn.execute(
            update(review_tasks)
            .where(review_tasks.c.item_pk == pk)
            .values(created_at=utcnow() - timedelta(hours=3))
        )
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="module")
def browser(live: LiveService) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(
    browser: Any,
    lang: str = "en",
    scheme: str = "light",
    width: int = 1440,
    height: int = 900,
) -> Any:
    """A fresh context in this language and colour scheme. CSP off, as in test_review_ui.py:
    Playwright's waits and axe-core are injected scripts."""
    ctx = browser.new_context(
        locale=LOCALES[lang],
        color_scheme=scheme,
        viewport={"width": width, "height": height},
        bypass_csp=True,
    )
    page = ctx.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.set_default_timeout(15_000)
    return page


def log_in(page: Any, live: LiveService, user: str = "mod") -> None:
    page.goto(live.url + "/review")
    page.wait_for_selector("#login-form")
    page.fill("#username", user)
    page.fill("#password", "password1")
    page.press("#password", "Enter")
    page.wait_for_function("['ready', 'empty'].includes(document.body.dataset.state)")


def go_to(page: Any, item_id: str, queue: str | None = None) -> None:
    """Make the item's task (in `queue`, when the item has several) the current one, by a
    click on its card."""
    where = f"[data-queue='{queue}']" if queue else ""
    page.click(f"#tasks .card[data-item='{item_id}']{where} .meta")
    page.wait_for_function(
        f"document.querySelector('#detail h2').dataset.itemId === {item_id!r}"
    )


@pytest.fixture(scope="module")
def page(browser: Any, live: LiveService) -> Iterator[Any]:
    pg = open_page(browser)
    log_in(pg, live)
    yield pg
    pg.context.close()


# -- languages, schemes, accessibility -------------------------------------------------


@pytest.mark.parametrize(("lang", "scheme"), LOOKS)
def test_queue_and_item_pages_read_in_each_language_and_scheme_without_accessibility_faults(
    browser: Any, live: LiveService, shots: Path, lang: str, scheme: str
) -> None:
    page = open_page(browser, lang, scheme)
    log_in(page, live, "mod2")
    assert page.evaluate("document.documentElement.lang") == lang
    approve = page.text_content("#keys [data-action=approve]")
    assert approve.endswith({"en": "Approve", "fr": "Approuver"}[lang])
    bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (bg == "rgb(22, 24, 28)") == (scheme == "dark")
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / f"queue-{lang}-{scheme}.png"))
    page.keyboard.press("?")
    assert page.is_visible("#help")
    assert serious_violations(page) == []
    if scheme == "light":
        page.screenshot(path=str(shots / f"keys-{lang}.png"))
    page.keyboard.press("Escape")
    assert not page.is_visible("#help")
    page.goto(live.url + "/review/items/words-1")
    page.wait_for_function("document.body.dataset.state === 'ready'")
    assert serious_violations(page) == []
    page.screenshot(path=str(shots / f"item-{lang}-{scheme}.png"), full_page=True)
    # 1024 px wide: nothing runs off the side
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(live.url + "/review")
    page.wait_for_function("['ready', 'empty'].includes(document.body.dataset.state)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    if scheme == "light":
        page.screenshot(path=str(shots / f"queue-{lang}-1024.png"))
    assert page.errors == []
    page.click("#logout")  # its tasks go back to the queue
    page.wait_for_selector("#login-form", state="visible")
    page.context.close()


def test_language_switch_changes_the_page_and_is_remembered(
    browser: Any, live: LiveService
) -> None:
    page = open_page(browser, "en")
    log_in(page, live, "mod2")
    page.select_option("header #locale", "fr")
    page.wait_for_function(
        "document.documentElement.lang === 'fr' && ['ready', 'empty'].includes(document.body.dataset.state)"
    )
    assert page.text_content("#logout") == "Se déconnecter"
    # the shipped queues by their names in the moderator's language
    page.wait_for_function(
        "(document.querySelector(\"#queue option[value='contact-info']\") || {}).textContent?.startsWith('coordonnées et spam')"
    )
    page.reload()
    page.wait_for_function("['ready', 'empty'].includes(document.body.dataset.state)")
    assert page.evaluate("document.documentElement.lang") == "fr"
    page.click("#logout")
    page.wait_for_selector("#login-form", state="visible")
    page.context.close()


# -- read at a glance --------------------------------------------------------------------


def test_cards_show_category_sla_state_and_reports(page: Any) -> None:
    page.wait_for_function("document.querySelectorAll('#tasks .card').length >= 8")
    assert (
        page.get_attribute("#tasks .card >> nth=0", "data-item") == "late-1"
    )  # past its SLA: first
    nude = page.locator("#tasks .card[data-item='nude-1']")
    assert nude.locator(".badge.cat-nudity").text_content() == "nudity"
    assert nude.locator(".badge.sla").text_content() == "on time"
    go_to(page, "late-1")
    assert page.locator("#detail .badge.sla.late").text_content() == "late"
    go_to(page, "words-1", "contact-info")
    assert page.locator("#detail .badge.reports").text_content() == "2 reports"
    # the item's review task and its members' report case: both say so, nothing else does
    assert {
        c.get_attribute("data-item")
        for c in page.locator("#tasks .card:has(.badge.reports)").all()
    } == {"words-1"}
    go_to(page, "words-1", "reports")
    assert page.text_content("#keys [data-action=approve]").endswith("Dismiss report")
    assert page.text_content("#keys [data-action=reject]").endswith("Uphold")


def test_reasons_read_in_plain_words_with_the_technical_detail_on_d(page: Any) -> None:
    go_to(page, "words-1", "contact-info")
    reason = page.locator("#detail .reasons li").first
    assert (
        reason.locator(".plain").text_content()
        == "Phone number (France) written in words"
    )
    assert not reason.locator(".tech").is_visible()
    page.keyboard.press("d")
    assert reason.locator(".tech").is_visible()
    assert (
        "contact.details" in reason.locator(".tech").text_content()
        and "[15," in reason.locator(".tech").text_content()
    )
    page.keyboard.press("d")
    assert not reason.locator(".tech").is_visible()
    assert "contact.details" in reason.get_attribute(
        "title"
    )  # never gone: also on hover
    go_to(page, "nude-1")
    assert (
        page.text_content("#detail .reasons .plain")
        == "Nudity detector: female breast exposed, 0.91"
    )


def test_near_copy_is_shown_beside_its_original(page: Any, shots: Path) -> None:
    go_to(page, "copy-1")
    assert page.text_content("#detail .reasons .plain").startswith(
        "Near-copy of a photo posted by u-marie on "
    )
    assert "(PDQ distance 12)" in page.text_content("#detail .reasons .plain")
    figures = page.locator("#detail .compare figure")
    assert figures.count() == 2
    assert (
        figures.nth(0).get_attribute("data-item-id") == "copy-1"
        and "u-paul" in figures.nth(0).text_content()
    )
    original = figures.nth(1)
    assert (
        original.get_attribute("data-item-id") == "orig-1"
        and "u-marie" in original.text_content()
    )
    assert (
        original.locator(".badge.original").count() == 1
        and figures.nth(0).locator(".badge.original").count() == 0
    )
    page.wait_for_function(
        "document.querySelectorAll('#detail .compare img')[1].naturalWidth === 320"
    )
    page.screenshot(path=str(shots / "near-copy-en.png"))


def test_face_boxes_are_drawn_on_b_and_the_panel_stays(page: Any) -> None:
    go_to(page, "faces-1")
    assert page.text_content("#detail .reasons .plain") == "2 faces found, one expected"
    assert page.locator("#detail .box").count() == 0
    page.keyboard.press("b")
    assert page.locator("#detail .box").count() == 2
    assert page.get_attribute("#detail .box >> nth=1", "style").startswith("left: 60%")
    assert (
        page.get_attribute("#detail h2", "data-item-id") == "faces-1"
    )  # the panel is still there
    page.keyboard.press("b")
    assert page.locator("#detail .box").count() == 0


def test_every_copy_of_a_sensitive_photo_is_blurred_and_a_reveal_counts_once(
    live: LiveService, page: Any
) -> None:
    go_to(page, "nude-1")
    assert page.locator("#detail > figure.photo.blurred").count() == 1
    assert (
        page.locator("#detail .dups .photo.blurred").count() == 1
    )  # its near-copy waiting too
    assert page.locator("#tasks .card .photo.blurred").count() == 2
    page.keyboard.press("v")
    assert page.locator("#detail .photo.blurred").count() == 0
    page.keyboard.press("v")
    page.keyboard.press("v")
    wait_for(
        lambda: live.service.review.tasks.exposure_today() == {"user:mod": 1},
        timeout=10,
        what="one exposure",
    )
    stats = page.evaluate("fetch('/v1/review/stats').then(r => r.json())")
    assert stats["exposure_today"] == {"user:mod": 1}


def test_grayscale_is_remembered_and_keys_work_after_clicking_a_checkbox(
    page: Any,
) -> None:
    page.click("#grayscale")  # the focus is on the checkbox now: no trap
    assert page.evaluate("document.activeElement.id") == "grayscale"
    before = page.get_attribute("#detail h2", "data-item-id")
    page.keyboard.press("j")
    assert page.get_attribute("#detail h2", "data-item-id") != before
    page.reload()
    page.wait_for_function("document.body.dataset.state === 'ready'")
    assert page.is_checked("#grayscale") and "grayscale" in page.evaluate(
        "document.body.className"
    )
    page.keyboard.press("g")
    assert not page.is_checked("#grayscale")


# -- decide well -------------------------------------------------------------------------


def test_help_overlay_lists_every_key_and_buttons_sit_beside_them(page: Any) -> None:
    page.click("#keys [data-action=help]")
    assert page.text_content("#help h2") == "Keyboard shortcuts"
    assert (
        page.locator("#help tr").count() - 1 >= 17
    )  # every action and every other key
    page.keyboard.press("Escape")
    assert not page.is_visible("#help")
    go_to(page, "faces-1")
    labels = page.locator("#keys button").all_text_contents()
    assert any(
        label.endswith("Reject and ban image") for label in labels
    )  # a photo: the ban is its own button
    go_to(page, "words-1", "contact-info")
    assert not any(
        label.endswith("Reject and ban image")
        for label in page.locator("#keys button").all_text_contents()
    )


def test_decision_carries_the_policy_reason_and_a_note(
    live: LiveService, page: Any
) -> None:
    go_to(page, "words-1", "contact-info")
    depth = page.text_content("#queue option[value='contact-info']")
    options = page.locator("#reason-code option").all_text_contents()
    assert "Shares a phone number" in options and "Nudity" not in " ".join(options)
    page.select_option("#reason-code", "phone_number")
    page.keyboard.press("n")
    assert page.evaluate("document.activeElement.id") == "note"
    page.keyboard.type(
        "numéro écrit en lettres"
    )  # the keys type into the note, nothing is decided
    assert page.get_attribute("#detail h2", "data-item-id") == "words-1"
    page.keyboard.press("Escape")
    page.click("#keys [data-action=reject]")  # the button, not the key
    wait_for(
        lambda: live.service.store.get_item("words-1")["final_decision"] == "reject",
        timeout=10,
        what="words-1 rejected",
    )
    [human] = [
        h
        for h in live.service.store.get_item("words-1")["history"]
        if h["kind"] == "human"
    ]
    assert (
        human["reason_code"] == "phone_number"
        and human["note"] == "numéro écrit en lettres"
    )
    audit = live.service.review.reports.item_audit("words-1")
    assert [
        a["detail"]["reason_code"]
        for a in audit
        if a["action"] == "review.human_decision"
    ] == ["phone_number"]
    # the queue list's count follows the decisions
    page.wait_for_function(
        f"document.querySelector(\"#queue option[value='contact-info']\").textContent !== {depth!r}"
    )
    before, after = (
        int(text.split("(")[1].split()[0])
        for text in (depth, page.text_content("#queue option[value='contact-info']"))
    )
    assert after == before - 1


def test_moderator_undoes_their_own_decision_from_the_item_page_within_the_window(
    live: LiveService, browser: Any
) -> None:
    other = open_page(browser, "fr")
    log_in(other, live, "mod2")
    other.click(
        "#tasks .card:not([data-queue='reports']) .meta"
    )  # an item's task, not a report case
    item_id = other.get_attribute("#tasks .card.current", "data-item")
    other.keyboard.press("a")
    other.goto(live.url + "/review/items/" + item_id)
    other.wait_for_function("document.body.dataset.state === 'ready'")
    assert "approuvé par user:mod2" in other.text_content("form.undo")
    other.click("#undo")
    other.wait_for_function("!document.getElementById('undo')")
    assert live.service.store.get_item(item_id)["human_decision"] is None
    other.goto(live.url + "/review")
    other.wait_for_function("document.body.dataset.state === 'ready'")
    other.click("#logout")
    other.wait_for_selector("#login-form", state="visible")
    other.context.close()


def test_search_results_read_in_french(browser: Any, live: LiveService) -> None:
    fr = open_page(browser, "fr")
    log_in(fr, live, "mod2")
    fr.keyboard.press("/")
    fr.keyboard.type("author:u-sam")
    fr.keyboard.press("Enter")
    fr.wait_for_function(
        "document.body.dataset.view === 'results' && !!document.querySelector('#results h2')"
    )
    assert fr.text_content("#results h2") == "1 résultat pour « author:u-sam »"
    assert "finale :" in fr.text_content("#results .hit")
    assert serious_violations(fr) == []
    fr.keyboard.press("/")
    fr.keyboard.type("introuvablexyz")
    fr.keyboard.press("Enter")
    fr.wait_for_function(
        "document.querySelector('#results h2').textContent.startsWith('0 résultat')"
    )
    assert fr.text_content("#results .empty").startswith("Rien trouvé")
    fr.keyboard.press("Escape")
    fr.click("#logout")
    fr.wait_for_selector("#login-form", state="visible")
    fr.context.close()


def test_skip_leaves_the_task_to_another_moderator(
    live: LiveService, page: Any
) -> None:
    go_to(page, "late-1")
    page.click("#keys [data-action=skip]")
    page.wait_for_function(
        "!document.querySelector(\"#tasks .card[data-item='late-1']\")"
    )
    wait_for(
        lambda: live.service.store.get_item("late-1")["review"][0]["status"] == "open",
        timeout=10,
        what="released",
    )
    page.wait_for_timeout(
        3500
    )  # a poll of the queue passed: the skipper did not claim it back
    assert page.locator("#tasks .card[data-item='late-1']").count() == 0
    with httpx.Client(base_url=live.url, timeout=30) as other:
        csrf = other.post(
            "/v1/auth/login", json={"username": "mod2", "password": "password1"}
        ).json()["csrf_token"]
        claimed = other.post(
            "/v1/review/claim", json={"limit": 1}, headers={"X-CSRF-Token": csrf}
        ).json()["tasks"]
        assert [t["item"]["id"] for t in claimed] == [
            "late-1"
        ]  # late: the first task for the others
        assert (
            other.post(
                f"/v1/review/tasks/{claimed[0]['task_id']}/release",
                headers={"X-CSRF-Token": csrf},
            ).status_code
            == 204
        )


def test_filters_narrow_the_queue_and_sort_by_age(page: Any) -> None:
    page.select_option("#f-category", "contact_info")
    page.wait_for_function(
        "document.body.dataset.state === 'ready' && [...document.querySelectorAll('#tasks .card')].every(c => c.querySelector('.cat-contact_info'))"
    )
    assert page.locator("#tasks .card .cat-nudity").count() == 0
    page.select_option("#f-sort", "age")
    page.wait_for_function("document.body.dataset.state === 'ready'")
    page.fill("#f-reports", "5")
    page.press("#f-reports", "Enter")
    page.wait_for_function("document.body.dataset.state === 'empty'")
    assert (
        page.text_content("#tasks .empty") == "Nothing waiting matches these filters."
    )
    # the empty queue is polled every 3 s, quietly: the page never flickers to "loading"
    page.evaluate(
        "window.seenStates = []; new MutationObserver(() => window.seenStates.push(document.body.dataset.state))"
        ".observe(document.body, { attributes: true, attributeFilter: ['data-state'] })"
    )
    page.wait_for_timeout(6500)
    assert "loading" not in page.evaluate("window.seenStates")
    assert page.text_content("#tasks .empty") == "Nothing waiting matches these filters."
    page.click("#filters button[type=reset]")
    page.wait_for_function(
        "document.body.dataset.state === 'ready' && !!document.querySelector('#tasks .cat-nudity')"
    )


def test_a_short_queue_leaves_work_for_a_second_moderator(
    live: LiveService, page: Any
) -> None:
    page.select_option("#f-category", "spam")
    page.wait_for_function("document.body.dataset.state === 'ready'")
    page.wait_for_timeout(
        3500
    )  # a poll of the queue passed: the page took what it wanted
    assert page.locator("#tasks .card").count() == 2  # half of the four, and no more
    with httpx.Client(base_url=live.url, timeout=30) as other:
        csrf = other.post(
            "/v1/auth/login", json={"username": "mod2", "password": "password1"}
        ).json()["csrf_token"]
        got = other.post(
            "/v1/review/claim",
            json={"limit": 12, "category": "spam", "share": True},
            headers={"X-CSRF-Token": csrf},
        ).json()["tasks"]
        assert got, "the first moderator took the whole short queue"
        for t in got:
            other.post(
                f"/v1/review/tasks/{t['task_id']}/release",
                headers={"X-CSRF-Token": csrf},
            )
    page.click("#filters button[type=reset]")
    page.wait_for_function(
        "document.body.dataset.state === 'ready' && !!document.querySelector('#tasks .cat-nudity')"
    )


def test_item_page_undoes_a_decision_after_the_window_for_an_admin(
    live: LiveService, browser: Any
) -> None:
    wait_for(
        lambda: live.service.store.get_item("words-1")["final_decision"] == "reject",
        timeout=10,
        what="decided",
    )
    admin = open_page(browser, "fr")
    log_in(admin, live, "boss")
    admin.goto(live.url + "/review/items/words-1")
    admin.wait_for_function("document.body.dataset.state === 'ready'")
    assert "Numéro de téléphone (France) écrit en toutes lettres" in admin.text_content(
        "#item .reasons"
    )
    assert "2 signalements" in admin.text_content(
        "#item"
    )  # the members' reports on the item
    assert admin.locator("#item table.reports tr").count() == 3
    assert "phone_number — numéro écrit en lettres" in admin.text_content(
        "table.decisions"
    )
    admin.fill("#undo-why", "erreur")
    admin.click("#undo")
    admin.wait_for_function(
        "!document.getElementById('undo') && document.body.dataset.state === 'ready'"
    )
    assert live.service.store.get_item("words-1")["final_decision"] is None
    assert "annulée" in admin.text_content("table.decisions")
    assert admin.errors == []
    admin.context.close()


def test_reject_and_ban_then_unban_from_the_item_page(
    live: LiveService, browser: Any, page: Any
) -> None:
    page.click("#filters button[type=reset]")
    page.wait_for_function(
        "!!document.querySelector(\"#tasks .card[data-item='nude-2']\")"
    )
    go_to(page, "nude-2")
    page.keyboard.press("i")  # reject and ban image
    wait_for(
        lambda: live.service.store.get_item("nude-2")["final_decision"] == "reject",
        timeout=10,
        what="nude-2 rejected",
    )
    # after the undo window the background job puts the photo in the banned bank
    wait_for(
        lambda: any(
            e["applied_at"]
            for e in live.service.store.bank_entries_for_item("nude-2", bank="banned")
        ),
        timeout=30,
        what="banned",
    )
    admin = open_page(browser)
    log_in(admin, live, "boss")
    admin.goto(live.url + "/review/items/nude-2")
    admin.wait_for_function("document.body.dataset.state === 'ready'")
    assert admin.locator("#item .photo.blurred").count() == 1
    admin.click("#item button.unban")
    admin.wait_for_function("!document.querySelector('#item button.unban')")
    wait_for(
        lambda: live.service.store.bank_entries_for_item("nude-2", bank="banned") == [],
        timeout=10,
        what="unbanned",
    )
    assert admin.errors == []
    admin.context.close()
