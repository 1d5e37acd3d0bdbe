"""Fixtures of the members' tests: an API key with a webhook, on the store under test."""

from __future__ import annotations

import pytest

from moderation.store.repository import Store


@pytest.fixture
def key(store: Store) -> int:
    """The id of a pipeline key whose webhook receives the events of its items and filings."""
    k, _ = store.create_api_key("pipeline", webhook_url="https://hooks.example.com/members")
    key = store.authenticate(k)
    assert key is not None
    return key.id
