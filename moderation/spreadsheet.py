"""CSV cells that a spreadsheet opens as text: exports (audit log, banks) carry free text
written by members and moderators, and a cell starting with = + - @ would run as a formula."""

from __future__ import annotations

from typing import Any


def safe_cell(value: Any) -> str:
    s = "" if value is None else str(value)
    return "'" + s if s[:1] in ("=", "+", "-", "@", "\t", "\r") else s
