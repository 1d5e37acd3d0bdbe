"""The review UI: the queue page, an item's page, and their static files, served
same-origin, no build step."""

from __future__ import annotations

import functools
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

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


def _html(name: str) -> HTMLResponse:
    return HTMLResponse(
        _page(name),
        headers={
            "Content-Security-Policy": UI_CSP,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


@router.get("/review", response_class=HTMLResponse, include_in_schema=False)
async def review_page() -> HTMLResponse:
    return _html("index.html")


# The same page for every id: the script reads the id from the address and asks the API,
# so nothing of the id is ever written into the HTML.
@router.get("/review/items/{item_id:path}", response_class=HTMLResponse, include_in_schema=False)
async def item_page(item_id: str) -> HTMLResponse:
    return _html("item.html")
