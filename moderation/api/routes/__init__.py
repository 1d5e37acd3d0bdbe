"""One router per resource; `create_app` includes them all."""

from __future__ import annotations

from moderation.api.routes import (
    admin,
    appeals,
    auth,
    authors,
    banks,
    docs,
    keys,
    moderate,
    ops,
    reports,
    review,
    ui,
)

ROUTERS = (
    ops.router,
    docs.router,
    moderate.router,
    reports.router,
    appeals.router,
    authors.router,
    banks.router,
    auth.router,
    review.router,
    admin.router,
    keys.router,
    ui.router,
)
