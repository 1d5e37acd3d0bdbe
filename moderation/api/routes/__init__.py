"""One router per resource; `create_app` includes them all."""

from __future__ import annotations

from moderation.api.routes import (
    admin,
    auth,
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
    banks.router,
    auth.router,
    review.router,
    admin.router,
    keys.router,
    ui.router,
)
