"""`/docs`, the interactive API documentation, served whole by the service: Swagger UI's
script and stylesheet come from the `fastapi-offline` package (Swagger UI 5, which reads
the OpenAPI 3.1 document FastAPI writes), so the page works with no network and names no
other host. `/` points a visitor at the review UI."""

from __future__ import annotations

import importlib.resources

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
router = APIRouter()


def mount_docs_assets(app: FastAPI) -> None:
    static = importlib.resources.files("fastapi_offline") / "static"
    app.mount(ASSETS, StaticFiles(directory=str(static)), name="docs-assets")


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
async def docs_page() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="Moderation service - API",
        swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS}/favicon.png",
        oauth2_redirect_url=None,
    )


@router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    return RedirectResponse("/review", status_code=307)
