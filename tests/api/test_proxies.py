"""The client's address, as the audit log records it: X-Forwarded-For is believed only from
the proxies named in MODERATION_TRUSTED_PROXIES, and then only its right-most hop that is
not one of them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from servers import LiveService, make_settings

from moderation.config import Settings

PASSWORD = "s3cret-pass"


def start(tmp_path, **overrides) -> LiveService:  # type: ignore[no-untyped-def]
    svc = LiveService(make_settings(tmp_path, **overrides))
    svc.service.accounts.create_user("boss", PASSWORD, "admin")
    return svc


@pytest.fixture(scope="module")
def behind_proxy(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    """A service behind a proxy on loopback and a second one inside 10.0.0.0/8."""
    svc = start(tmp_path_factory.mktemp("proxied"), trusted_proxies="127.0.0.1, 10.0.0.0/8")
    try:
        yield svc
    finally:
        svc.stop()


def logged_in_ip(live: LiveService, forwarded: str | None) -> str:
    """Log in (sending `forwarded` as X-Forwarded-For) and read the address the audit log kept."""
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    with httpx.Client(base_url=live.url, timeout=30) as c:
        assert c.post("/v1/auth/login", json={"username": "boss", "password": PASSWORD}, headers=headers).status_code == 200
        entries = c.get("/v1/admin/audit", params={"action": "auth.login", "limit": 1}).json()["entries"]
    return entries[0]["detail"]["ip"]


def test_forwarded_for_from_an_untrusted_loopback_client_is_ignored(ray_session: None, tmp_path) -> None:
    live = start(tmp_path)  # no trusted proxies: the default
    try:
        assert logged_in_ip(live, "203.0.113.9") == "127.0.0.1"
    finally:
        live.stop()


@pytest.mark.parametrize(
    "forwarded, client",
    [
        ("203.0.113.9", "203.0.113.9"),  # one proxy in front
        ("198.51.100.1, 203.0.113.9", "203.0.113.9"),  # the client wrote the left hop itself
        ("198.51.100.1, 203.0.113.9, 10.1.2.3", "203.0.113.9"),  # two proxies of ours
        ("10.1.2.3, 127.0.0.1", "10.1.2.3"),  # every hop a proxy of ours: the first is the client
        ("203.0.113.9, not-an-address", "127.0.0.1"),  # the right-most hop is garbage: only the peer is sure
        (None, "127.0.0.1"),  # no header: the peer
    ],
)
def test_forwarded_for_from_a_trusted_proxy_gives_the_rightmost_untrusted_hop(behind_proxy: LiveService, forwarded: str | None, client: str) -> None:
    assert logged_in_ip(behind_proxy, forwarded) == client


def test_trusted_proxies_setting_refuses_what_is_not_an_address() -> None:
    assert Settings(trusted_proxies="10.0.0.0/8, ::1").trusted_proxies == ["10.0.0.0/8", "::1"]
    with pytest.raises(ValueError, match="proxy.example"):
        Settings(trusted_proxies="proxy.example")


def test_forwarded_proto_from_a_trusted_proxy_makes_the_cookie_secure(behind_proxy: LiveService) -> None:
    with httpx.Client(base_url=behind_proxy.url) as c:
        body = {"username": "boss", "password": PASSWORD}
        proxied = c.post("/v1/auth/login", json=body, headers={"X-Forwarded-Proto": "https"})
        assert "secure" in proxied.headers["set-cookie"].lower()
        assert "secure" not in c.post("/v1/auth/login", json=body).headers["set-cookie"].lower()
