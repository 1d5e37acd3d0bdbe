"""The review UI: the queue page, an item's page, the dashboard, the admin pages, and their
static files, served same-origin, no build step."""

from __future__ import annotations

import functools
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from moderation.errors import NotFound

REVIEW_UI = Path(__file__).resolve().parents[3] / "review_ui"
router = APIRouter()

# The UI is same-origin only: scripts and styles from /review/static, images from the
# authenticated image route, nothing inline.
UI_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def mount_static(app: FastAPI) -> None:
    static = REVIEW_UI / "static"
    if static.is_dir():
        app.mount("/review/static", StaticFiles(directory=static), name="review-static")


@functools.lru_cache(maxsize=4)
def _page(name: str) -> str:
    """The pages are shipped files: read once per process, not per request."""
    return (REVIEW_UI / name).read_text(encoding="utf-8")


UI_LOCALES = ("en", "fr")


def preferred_locale(accept_language: str | None) -> str:
    """The UI language from an Accept-Language header: the highest-weighted language the UI
    has a catalogue for, English when none. The page's script may still override it (the
    language switch, remembered in the browser)."""
    best, best_q = UI_LOCALES[0], 0.0
    for part in (accept_language or "")[:1000].split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower()[:2]
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if lang in UI_LOCALES and q > best_q:
            best, best_q = lang, q
    return best


def _html(name: str, request: Request) -> HTMLResponse:
    return _respond(_page(name), request)


def _respond(page: str, request: Request) -> HTMLResponse:
    lang = preferred_locale(request.headers.get("accept-language"))
    return HTMLResponse(
        page.replace('<html lang="en">', f'<html lang="{lang}">', 1),
        headers={
            "Content-Security-Policy": UI_CSP,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


@router.get("/review", response_class=HTMLResponse, include_in_schema=False)
async def review_page(request: Request) -> HTMLResponse:
    return _html("index.html", request)


# The same page for every id: the script reads the id from the address and asks the API,
# so nothing of the id is ever written into the HTML.
@router.get(
    "/review/items/{item_id:path}", response_class=HTMLResponse, include_in_schema=False
)
async def item_page(item_id: str, request: Request) -> HTMLResponse:
    return _html("item.html", request)



# The pages in the shared frame (frame.html: the header, styles, one script): page ->
# (its body in review_ui/pages/, its script, the catalogue key of its title).
FRAMED = {
    "dashboard": ("dashboard.html", "dashboard.js", "dash.title"),
    "banks": ("banks.html", "admin-banks.js", "admin.banks.title"),
    "keys": ("keys.html", "admin-keys.js", "admin.keys.title"),
    "users": ("users.html", "admin-users.js", "admin.users.title"),
    "audit": ("audit.html", "admin-audit.js", "admin.audit.title"),
    "author": ("author.html", "author.js", "author.title"),
}


@functools.lru_cache(maxsize=16)
def _framed(page: str) -> str:
    """A page's body set in the frame. Only shipped files go in: nothing of the request."""
    body, script, title = FRAMED[page]
    return (
        _page("frame.html")
        .replace("<!--script-->", script, 1)
        .replace("<!--title-->", title, 1)
        .replace("<!--main-->", _page(f"pages/{body}"), 1)
    )


def _framed_html(page: str, request: Request) -> HTMLResponse:
    return _respond(_framed(page), request)


@router.get("/review/dashboard", response_class=HTMLResponse, include_in_schema=False)
async def dashboard_page(request: Request) -> HTMLResponse:
    return _framed_html("dashboard", request)


# The admin pages are shipped to anyone: each asks the API who is logged in and shows a
# moderator "admins only" (the API refuses them with 403 anyway).
ADMIN_PAGES = ("banks", "keys", "users", "audit")


@router.get("/review/admin/{page}", response_class=HTMLResponse, include_in_schema=False)
async def admin_page(page: str, request: Request) -> HTMLResponse:
    if page not in ADMIN_PAGES:
        raise NotFound(f"no admin page {page[:64]!r}; there are {', '.join(ADMIN_PAGES)}")
    return _framed_html(page, request)


# The same page for every author: the script reads the id from the address.
@router.get("/review/authors/{author_id:path}", response_class=HTMLResponse, include_in_schema=False)
async def author_page(author_id: str, request: Request) -> HTMLResponse:
    return _framed_html("author", request)
