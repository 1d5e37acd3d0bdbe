"""The dashboard and the admin pages (banks, API keys, users, audit log) in Debian's
chromium through Playwright: who may see them, every action through its buttons, hostile
notes shown as text, French and English, light and dark, and axe-core finding no serious or
critical accessibility violation on any of them."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from browser_helpers import ARGS, CHROMIUM, serious_violations
from images import make_jpeg
from review_helpers import policy_text, review_item
from servers import LiveService, make_settings

pytestmark = pytest.mark.browser

PASSWORD = "password-1"
XSS_NOTE = '<img src=x onerror="window.__xss=1"> stolen <script>window.__xss=2</script>'
XSS_AUTHOR = '<img src=x onerror="window.__xss=3">'
PAGES = [
    "/review/dashboard",
    "/review/admin/banks",
    "/review/admin/keys",
    "/review/admin/users",
    "/review/admin/audit",
]


@pytest.fixture(scope="module")
def live(
    ray_session: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium)")
    tmp = tmp_path_factory.mktemp("admin-ui")
    path = tmp / "policy.yaml"
    path.write_text(policy_text(review="  undo_seconds: 1\n"), encoding="utf-8")
    svc = LiveService(make_settings(tmp, policy_path=path))
    accounts = svc.service.accounts
    mod = accounts.create_user("mod", PASSWORD, "moderator")
    accounts.create_user("boss", PASSWORD, "admin")
    accounts.create_user("claire", PASSWORD, "moderator")
    store = svc.service.store
    store.save_items(
        [
            review_item(
                f"adm-{k}",
                text=f"appelle le 06 12 34 56 {k:02d}",
                author=f"author-{k % 3}",
            )
            for k in range(8)
        ]
        + [
            review_item(f"auto-{k}", decision="approve", queue=None, reasons=[])
            for k in range(12)
        ]
        + [review_item("warned-item", text="bonjour", author="author-w", decision="approve", queue=None, reasons=[])]
        + [
            review_item(
                "xss-author-item",
                text="bonjour",
                author=XSS_AUTHOR,
                decision="approve",
                queue=None,
                reasons=[],
            )
        ]
    )
    for task in svc.service.review.tasks.claim(mod, limit=3):
        svc.service.review.decisions.decide(mod, task["task_id"], "reject")
    # an account action: the dashboard's appeals count it apart from the rejections
    svc.service.moderation.enforcement.act(mod, "author-w", "warn", note="rude at the pick-up")
    store.create_api_key("old-pipeline")
    try:
        yield svc
    finally:
        svc.stop()


@pytest.fixture(scope="module")
def browser(live: LiveService):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(
    browser,
    live: LiveService,
    user: str | None,
    *,
    locale: str = "en-GB",
    scheme: str = "light",
    csp: bool = False,
):
    """A fresh context logged in as `user` (None: anonymous). The CSP is bypassed unless
    asked for, so that the tests can inject axe-core; `csp=True` proves the pages run under it."""
    ctx = browser.new_context(
        locale=locale,
        color_scheme=scheme,
        viewport={"width": 1440, "height": 900},
        bypass_csp=not csp,
    )
    if user:
        resp = ctx.request.post(
            live.url + "/v1/auth/login", data={"username": user, "password": PASSWORD}
        )
        assert resp.status == 200, resp.text()
    page = ctx.new_page()
    page.set_default_timeout(15_000)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.console_errors = []
    page.on(
        "console",
        lambda m: page.console_errors.append(m.text) if m.type == "error" else None,
    )
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.accept()))
    return ctx, page


def settle(page, state: str = "ready") -> None:
    page.wait_for_selector(f"body[data-state={state}]")


def test_anonymous_visitors_are_sent_to_log_in_and_moderators_told_admins_only(
    browser, live: LiveService
) -> None:
    ctx, page = open_page(browser, live, None)
    page.goto(live.url + "/review/admin/keys")
    settle(page, "gated")
    assert "not logged in" in page.text_content("#gate")
    assert (
        page.get_attribute("#gate a", "href") == "/review?next=%2Freview%2Fadmin%2Fkeys"
    )
    page.click("#gate a")  # log in on the queue page: it sends the admin back here
    page.wait_for_selector("#login-form")
    page.fill("#username", "boss")
    page.fill("#password", PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url("**/review/admin/keys")
    settle(page)
    ctx.close()
    ctx, page = open_page(browser, live, "mod")
    for path in PAGES[1:]:
        page.goto(live.url + path)
        settle(page, "gated")
        assert "Admins only" in page.text_content("#gate"), path
        assert page.locator("table").count() == 0
    page.goto(live.url + "/review/dashboard")
    settle(page)
    links = page.locator(".site-nav a").all_text_contents()
    assert links == [
        "Queue",
        "Dashboard",
    ]  # the admin links are not offered to a moderator
    assert page.errors == []
    ctx.close()


def test_pages_run_under_the_content_security_policy(
    browser, live: LiveService
) -> None:
    ctx, page = open_page(browser, live, "boss", csp=True)
    for path in PAGES:
        page.goto(live.url + path)
        settle(page)
        assert page.locator(".site-nav a[aria-current=page]").count() == 1, path
    assert page.errors == [] and not [
        m for m in page.console_errors if "Content Security Policy" in m
    ]
    ctx.close()


def test_dashboard_draws_charts_figures_and_moderators_from_stored_data(
    browser, live: LiveService
) -> None:
    ctx, page = open_page(browser, live, "boss")
    page.goto(live.url + "/review/dashboard")
    settle(page)
    assert page.locator("#charts figure svg").count() == 5
    assert (
        page.locator("#charts svg .bar").count() >= 2
    )  # items and decisions this hour
    assert page.locator("#charts svg path.line").count() == 3
    figures = page.text_content("#figures")
    assert (
        "22" in figures and "items received" in figures
    )  # 8 for review, 14 decided automatically
    assert "63.6%" in figures.replace("\u202f", "").replace(
        " ", ""
    )  # 14 of 22 automated
    assert "user:mod" in page.text_content("#moderators")
    # the 3 rejections by user:mod, none appealed yet
    appeals = page.text_content("#appeals")
    assert "user:mod" in appeals and "contact_info" not in appeals  # the ground in words
    assert "warning, by a moderator" in appeals  # the account action, in words
    assert "contact details and spam" in page.text_content("#queues")  # the queue's name in words
    # automation and how right it was, over all items first, then per category
    first = page.locator("#quality table tbody tr").first.locator("td")
    assert [first.nth(k).text_content() for k in range(2)] == ["all items", "22"]
    assert first.nth(2).text_content().replace("\u202f", "").replace(" ", "") == "63.6%"
    assert page.locator("#quality table tbody tr").count() >= 2
    page.select_option("#dash-hours", "24")
    settle(page)
    assert page.locator("#charts figure").count() == 5 and page.errors == []
    ctx.close()


def test_banks_page_searches_adds_imports_exports_and_unbans(
    browser, live: LiveService, tmp_path: Path
) -> None:
    ctx, page = open_page(browser, live, "boss")
    page.goto(live.url + "/review/admin/banks")
    settle(page)
    assert "This bank is empty" in page.text_content("#bank-entries")
    photo = tmp_path / "leak.jpg"
    photo.write_bytes(make_jpeg(320, 240, seed=5150))
    page.set_input_files("#add-image", str(photo))
    page.fill("#bank-add input[name=note]", XSS_NOTE)
    page.fill("#bank-add input[name=id]", "adm-1")
    page.click("#bank-add button[type=submit]")
    page.wait_for_selector("table.bank-table tbody tr")
    row = page.locator("table.bank-table tbody tr").first
    assert XSS_NOTE in row.text_content()  # the note is text, never markup
    assert (
        page.locator("#bank-entries img, #bank-entries script").count() == 0
        and page.evaluate("window.__xss") is None
    )
    assert row.locator("a[href='/review/items/adm-1']").count() == 1
    csv = tmp_path / "import.csv"
    csv.write_text(
        "hash_type,hash_hex,note,quality\n"
        + "".join(f"sha256,{k:064x},imported {k},\n" for k in range(1, 4)),
        encoding="utf-8",
    )
    page.set_input_files("#import-file", str(csv))
    page.click("#bank-import button[type=submit]")
    page.wait_for_function(
        "document.querySelectorAll('table.bank-table tbody tr').length === 4"
    )
    assert "3 entries imported" in page.text_content("#toast")
    page.fill("#bank-q", "IMPORTED 2")
    page.press("#bank-q", "Enter")
    page.wait_for_function(
        "document.querySelectorAll('table.bank-table tbody tr').length === 1"
    )
    assert "imported 2" in page.text_content("table.bank-table")
    exported = ctx.request.get(live.url + page.get_attribute("#bank-export", "href"))
    assert exported.status == 200 and "imported 3" in exported.text()
    page.fill("#bank-q", "")
    page.press("#bank-q", "Enter")
    page.wait_for_function(
        "document.querySelectorAll('table.bank-table tbody tr').length === 4"
    )
    entry = (
        page.locator("table.bank-table tbody tr")
        .first.locator("button")
        .get_attribute("data-entry-id")
    )
    page.locator("table.bank-table tbody tr").first.locator(
        "button", has_text="Unban"
    ).click()
    page.wait_for_function(
        "document.querySelectorAll('table.bank-table tbody tr').length === 3"
    )
    assert page.dialogs and "Remove entry" in page.dialogs[-1]
    assert int(entry) not in [
        e["entry_id"] for e in live.service.store.list_bank("banned", 100)[1]
    ]
    assert page.errors == []
    ctx.close()


def test_keys_page_creates_a_key_shown_once_and_revokes_it(
    browser, live: LiveService
) -> None:
    ctx, page = open_page(browser, live, "boss")
    page.goto(live.url + "/review/admin/keys")
    settle(page)
    old = page.locator("#key-list tr", has_text="old-pipeline").text_content()
    assert "never" in old  # last used
    page.fill("#key-create input[name=name]", "curator")
    page.uncheck("#key-create input[value=moderate]")
    page.check("#key-create input[value='banks:write']")
    page.click("#key-create button[type=submit]")
    page.wait_for_selector("#key-secret:not([hidden]) #new-key")
    key = page.text_content("#new-key")
    assert key.startswith("mk_") and page.text_content("#new-secret").startswith(
        "whsec_"
    )
    found = live.service.store.authenticate(key)
    assert found is not None and found.scopes == {"items:read", "banks:write"}
    page.wait_for_function(
        "document.getElementById('key-list').textContent.includes('curator')"
    )
    page.reload()
    settle(page)
    assert key not in page.content()  # shown once: gone with the page
    page.locator("button[aria-label='Revoke curator']").click()
    page.wait_for_selector("#key-list .state-revoked")
    assert live.service.store.authenticate(key) is None
    page.fill("#key-create input[name=name]", "bad\u0007name")
    page.click("#key-create button[type=submit]")
    page.wait_for_selector("#toast.bad")
    assert "Failed" in page.text_content("#toast") and page.errors == []
    ctx.close()


def test_users_page_creates_disables_enables_and_promotes(
    browser, live: LiveService
) -> None:
    ctx, page = open_page(browser, live, "boss")
    page.goto(live.url + "/review/admin/users")
    settle(page)
    page.fill("#user-create input[name=username]", "newbie")
    page.fill("#user-create input[name=password]", "long enough")
    page.click("#user-create button[type=submit]")
    page.wait_for_selector("button[aria-label='Disable newbie']")
    page.click("button[aria-label='Disable newbie']")
    page.wait_for_selector("button[aria-label='Enable newbie']")
    assert {u["username"]: u["disabled"] for u in live.service.accounts.list_users()}[
        "newbie"
    ] is True
    page.click("button[aria-label='Enable newbie']")
    page.click("button[aria-label='Make admin newbie']")
    page.wait_for_selector("button[aria-label='Make moderator newbie']")
    users = {u["username"]: u for u in live.service.accounts.list_users()}
    assert users["newbie"]["role"] == "admin" and users["newbie"]["disabled"] is False
    assert (
        page.locator("tr", has_text="boss").locator("button").count() == 0
    )  # not on one's own account
    assert page.errors == []
    ctx.close()


def test_audit_page_filters_pages_and_links_each_target(
    browser, live: LiveService
) -> None:
    ctx, page = open_page(browser, live, "boss")
    page.goto(live.url + "/review/admin/audit?action=review.human_decision")
    settle(page)
    rows = page.locator("table.audit-table tbody tr")
    assert rows.count() == 3
    href = rows.first.locator("a.target").get_attribute("href")
    assert href.startswith("/review/items/adm-")
    page.fill("#audit-filter input[name=action]", "")
    page.fill("#audit-filter input[name=actor]", "user:boss")
    page.click("#audit-filter button[type=submit]")
    page.wait_for_function(
        "new URLSearchParams(location.search).get('actor') === 'user:boss'"
    )
    settle(page)
    page.wait_for_function(
        "[...document.querySelectorAll('table.audit-table tbody tr td:nth-child(2)')].every(td => td.textContent === 'user:boss')"
    )
    page.fill("#audit-filter input[name=actor]", "")
    page.fill("#audit-filter input[name=target]", "no-such-target")
    page.click("#audit-filter button[type=submit]")
    page.wait_for_selector("#audit-list .empty-state")
    page.goto(live.url + "/review/admin/audit")
    settle(page)
    if page.locator(".pager .next:not([disabled])").count():
        page.click(".pager .next")
        page.wait_for_function(
            "new URLSearchParams(location.search).get('offset') === '50'"
        )
        assert page.text_content(".pager .range").startswith("51")
    csv = ctx.request.get(live.url + page.get_attribute("#audit-csv", "href"))
    assert csv.status == 200 and csv.text().startswith("id,at,actor")
    assert page.errors == []
    ctx.close()


def test_author_page_shows_history_and_takes_actions_with_a_mandatory_note(
    browser, live: LiveService
) -> None:
    ctx, page = open_page(browser, live, "mod")
    page.goto(live.url + "/review/authors/author-2")
    settle(page)
    assert page.text_content("#author-title") == "Author author-2"
    assert "Active" in page.text_content("#author-summary")
    items = page.locator("#author-items tbody tr")
    assert (
        items.count() == 2
        and page.locator("#author-items a[href='/review/items/adm-2']").count() == 1
    )
    assert "No action on this account" in page.text_content("#author-enforcements")
    page.click(
        "#author-action button[value=warn]"
    )  # no note: the form refuses, nothing is sent
    assert (
        ctx.request.get(live.url + "/v1/authors/author-2").json()["enforcements"] == []
    )
    page.fill(
        "#author-action textarea[name=note]",
        "numéro de téléphone dans 3 messages, <b>pas</b> de doute",
    )
    page.select_option("#author-category", "contact_info")
    page.fill("#author-action input[name=days]", "3")
    page.click("#author-action button[value=suspend]")
    page.wait_for_selector("#author-enforcements tbody tr")
    row = page.text_content("#author-enforcements tbody tr")
    assert "Suspend" in row and "<b>pas</b>" in row and "contact details" in row
    assert "Suspended" in page.text_content("#author-summary")
    state = ctx.request.get(live.url + "/v1/authors/author-2").json()
    assert state["author"]["state"] == "suspended" and state["enforcements"][0][
        "note"
    ].startswith("numéro")
    page.click("#author-enforcements button[data-enforcement-id]")
    page.wait_for_selector("#author-enforcements .state-revoked")
    assert (
        ctx.request.get(live.url + "/v1/authors/author-2").json()["author"]["state"]
        == "active"
    )
    page.goto(live.url + "/review/authors/nobody-at-all")
    settle(page, "missing")
    assert "No item of this author" in page.text_content("#author-summary")
    page.goto(live.url + "/review/authors/" + quote(XSS_AUTHOR, safe=""))
    settle(page)
    assert page.text_content("#author-title") == f"Author {XSS_AUTHOR}"
    assert (
        page.locator("main img").count() == 0 and page.evaluate("window.__xss") is None
    )
    assert page.errors == []
    ctx.close()


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_in_french_and_english_light_and_dark_passes_axe(
    browser, live: LiveService, locale: str, scheme: str
) -> None:
    ctx, page = open_page(browser, live, "boss", locale=locale, scheme=scheme)
    for path in [*PAGES, "/review/authors/author-0"]:
        page.goto(live.url + path)
        settle(page)
        assert page.evaluate("document.documentElement.lang") == locale[:2]
        title = page.title()
        assert title and title != "Review" and "." not in title, (
            path,
            title,
        )  # a word, not a catalogue key
        nav = page.text_content(".site-nav")
        assert ("Tableau de bord" in nav) == (locale == "fr-FR"), nav
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        dark = sum(int(c) for c in background[4:-1].split(",")[:3]) < 200
        assert dark == (scheme == "dark"), (path, background)
        assert serious_violations(page) == [], (path, locale, scheme)
    assert page.errors == []
    ctx.close()


def test_admin_undoes_a_moderators_decision_from_the_audit_log(
    browser, live: LiveService
) -> None:
    ctx, page = open_page(browser, live, "boss", locale="fr-FR")
    page.goto(live.url + "/review/admin/audit?action=review.human_decision")
    settle(page)
    row = page.locator("table.audit-table tbody tr").first
    item_id = row.locator("a.target").text_content()
    decision = json.loads(row.locator("code").text_content())
    page.on("dialog", lambda dialog: dialog.accept())
    row.locator("button.undo").click()
    row.locator(".done").wait_for()
    assert row.locator(".done").text_content() == "annulée"
    item = ctx.request.get(live.url + f"/v1/review/items/{item_id}").json()
    [undone] = [h for h in item["history"] if h.get("decision_id") == decision["decision_id"]]
    assert undone["undone"] is True
    page.goto(live.url + "/review/admin/audit?action=review.undo")
    settle(page)
    assert page.locator("table.audit-table tbody tr").first.locator("a.target").text_content() == item_id
    assert page.errors == []
    ctx.close()
