"""The moderators' review UI, served at /review (placeholder until the review issue)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from moderation.api.app import REVIEW_UI

router = APIRouter(include_in_schema=False)


@router.get("/review", response_class=HTMLResponse)
async def review_page() -> HTMLResponse:
    return HTMLResponse((REVIEW_UI / "index.html").read_text(encoding="utf-8"))
