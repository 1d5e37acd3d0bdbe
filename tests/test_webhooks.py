"""Webhooks of final decisions: durable outbox, HMAC signature, retries with backoff while
the receiver is down, receivers refused inside our network (SSRF), and the end-to-end path
from a moderator's decision."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from review_helpers import policy_text, review_item
from servers import (
    LiveService,
    Receiver,
    free_port,
    make_settings,
    photo_item,
    wait_for,
)
from sqlalchemy import select

from moderation import webhooks
from moderation.errors import InvalidInput
from moderation.store import make_engine, migrate
from moderation.store.repository import Store
from moderation.store.tables import decisions, webhook_outbox


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(free_port())
    yield r
    r.stop()


def test_signature_verifies_and_detects_tampering() -> None:
    body = b'{"item_id":"x","final_decision":"reject"}'
    sig = webhooks.sign("whsec_k", body)
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert webhooks.verify("whsec_k", body, sig)
    assert not webhooks.verify("whsec_k", body.replace(b"reject", b"approve"), sig)
    assert not webhooks.verify("other", body, sig)
    assert not webhooks.verify("whsec_k", body, None)


def test_backoff_doubles_up_to_the_cap() -> None:
    import random

    b = webhooks.Backoff(base_seconds=1, max_seconds=30)
    delays = [b.delay(n, random.Random(0)) for n in range(1, 8)]
    for n, d in enumerate(delays, start=1):
        raw = min(30, 2 ** (n - 1))
        assert 0.8 * raw <= d <= 1.2 * raw


def test_outbox_retries_while_receiver_is_down_then_delivers_once(database_url: str, receiver: Receiver) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    store = Store(engine)
    key, secret = store.create_api_key("hooks", webhook_url=receiver.url)
    key_id = store.authenticate(key).id
    store.save_items([review_item("wh-1")])
    with store._tx() as conn:
        event_id = webhooks.enqueue(
            conn, item_pk=1, decision_id=None, url=receiver.url, api_key_id=key_id,
            payload={"type": "item.decided", "item_id": "wh-1", "final_decision": "reject"},
            not_before=webhooks.utcnow(),
        )
    outbox = webhooks.Outbox(engine)
    backoff = webhooks.Backoff(base_seconds=0.2, max_seconds=1.0, timeout_seconds=2)

    async def pump(seconds: float) -> int:
        delivered = 0
        async with httpx.AsyncClient() as client:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                delivered += await webhooks.deliver_due(outbox, client, backoff, allowed_hosts=["127.0.0.1"])
                await asyncio.sleep(0.05)
        return delivered

    assert asyncio.run(pump(1.0)) == 0  # nobody listens: connection refused, retried with backoff
    [row] = _outbox_rows(engine)
    assert row["delivered_at"] is None and 2 <= row["attempts"] <= 4 and "Connect" in row["last_error"]
    receiver.fail_next = 1  # it comes up, answers one 503, then accepts
    receiver.start()
    assert asyncio.run(pump(3.0)) == 1
    [(headers, body)] = receiver.received
    assert headers["x-moderation-event-id"] == event_id == json.loads(body)["event_id"]
    assert webhooks.verify(secret, body, headers["x-moderation-signature"])
    [row] = _outbox_rows(engine)
    assert row["delivered_at"] is not None and _states(engine) == {"pending": 0, "delivered": 1, "cancelled": 0}
    engine.dispose()


# -- receivers: refused inside our network --------------------------------------------------

# What the fake resolver answers; every other name does not exist.
_DNS = {
    "hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    "localhost": ["127.0.0.1", "::1"],
    "hooks.internal": ["10.1.2.3"],
    "split.example.com": ["93.184.215.14", "192.168.0.9"],  # one public address and one not
    "rebind.test": ["127.0.0.1"],
}


def _resolve(host: str, port: int, **_: object) -> list[tuple[object, ...]]:
    if host not in _DNS:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in _DNS[host]]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.com/hook", "must be an http or https URL"),
        ("file:///etc/passwd", "must be an http or https URL"),
        # Credentials would be sent as Basic auth to whoever the host is.
        ("https://user:secret@hooks.example.com/hook", "must not contain a user or password"),
        ("https://user@hooks.example.com/hook", "must not contain a user or password"),
        ("https://hooks.example.com:8443/hook", "port 8443 is not accepted"),
        ("https://hooks.example.com:99999/hook", "is not a valid URL"),
        ("http:///hook", "has no host"),
        ("http://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("http://[::1]/hook", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/hook", "::ffff:127.0.0.1 is a loopback address"),  # IPv4-mapped
        ("http://[2002:7f00:1::]/hook", "is a loopback address"),  # 6to4 of 127.0.0.1
        ("http://localhost/hook", "localhost (127.0.0.1) is a loopback address"),  # by name
        # IPv4 as one number, hex, octal or shortened: C resolvers read all of them as 127.0.0.1.
        ("http://2130706433/hook", "(127.0.0.1) written as a number"),
        ("http://0x7f.1/hook", "(127.0.0.1) written as a number"),
        ("http://0177.0.0.1/hook", "(127.0.0.1) written as a number"),
        ("http://127.1/hook", "(127.0.0.1) written as a number"),
        ("http://10.0.0.5/hook", "10.0.0.5 is a private address"),
        ("http://172.16.0.1/hook", "172.16.0.1 is a private address"),
        ("http://192.168.1.1/hook", "192.168.1.1 is a private address"),
        ("http://hooks.internal/hook", "hooks.internal (10.1.2.3) is a private address"),
        ("http://split.example.com/hook", "(192.168.0.9) is a private address"),  # every address counts
        ("http://100.64.0.1/hook", "100.64.0.1 is a non-public address"),  # carrier-grade NAT
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254 is a cloud metadata address"),
        ("http://169.254.10.1/hook", "169.254.10.1 is a link-local address"),
        ("http://[fe80::1]/hook", "fe80::1 is a link-local address"),
        ("http://224.0.0.1/hook", "224.0.0.1 is a multicast address"),
        ("http://0.0.0.0/hook", "0.0.0.0 is an unspecified address"),
        ("http://240.0.0.1/hook", "240.0.0.1 is a reserved address"),
        ("https://nowhere.example.com/hook", "does not resolve"),
    ],
)
def test_check_receiver_url_refuses_receivers_inside_our_network(url: str, message: str) -> None:
    with pytest.raises(InvalidInput) as exc_info:
        webhooks.check_receiver_url(url, resolve=_resolve)
    assert message in exc_info.value.detail
    assert exc_info.value.status == 422


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/hook?tenant=7",
        "http://hooks.example.com:80/hook",
        "https://HOOKS.example.com./hook",  # case and a trailing dot do not make another host
        "http://93.184.215.14/hook",
        "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443/hook",
    ],
)
def test_check_receiver_url_accepts_public_receivers(url: str) -> None:
    assert webhooks.check_receiver_url(url, resolve=_resolve) == url


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8123/hook", ["127.0.0.1"]),  # the tests' receiver: loopback, any port
        ("http://[::ffff:127.0.0.1]:8123/hook", ["127.0.0.0/8"]),
        ("http://hooks.internal:9000/hook", ["10.0.0.0/8"]),  # by the network it resolves to
        ("http://hooks.internal:9000/hook", ["HOOKS.internal"]),  # by name
    ],
)
def test_check_receiver_url_accepts_allow_listed_receivers(url: str, allowed: list[str]) -> None:
    assert webhooks.check_receiver_url(url, allowed, resolve=_resolve) == url


@pytest.mark.parametrize(
    ("url", "allowed", "message"),
    [
        ("http://169.254.169.254/latest/meta-data/", ["169.254.0.0/16"], "cloud metadata address"),
        ("http://user:pw@127.0.0.1:8123/hook", ["127.0.0.1"], "must not contain a user or password"),
        ("http://10.9.9.9:8123/hook", ["127.0.0.1"], "10.9.9.9 is a private address"),  # another network
        ("http://2130706433:8123/hook", ["127.0.0.1"], "written as a number"),
    ],
)
def test_check_receiver_url_refuses_allow_listed_receivers_for_other_reasons(
    url: str, allowed: list[str], message: str
) -> None:
    with pytest.raises(InvalidInput) as exc_info:
        webhooks.check_receiver_url(url, allowed, resolve=_resolve)
    assert message in exc_info.value.detail


def test_allow_list_refuses_an_entry_that_is_no_host() -> None:
    assert webhooks.allow_list(["hooks.internal", "10.0.0.0/8", "::1"]) == (
        frozenset({"hooks.internal"}),
        (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1")),
    )
    with pytest.raises(ValueError, match="neither a hostname"):
        webhooks.allow_list(["http://hooks.internal/"])


def _enqueue(engine, url: str) -> str:  # type: ignore[no-untyped-def]
    store = Store(engine)
    key, _ = store.create_api_key("hooks")
    store.save_items([review_item("wh-1")])
    with store._tx() as conn:
        return webhooks.enqueue(
            conn, item_pk=1, decision_id=None, url=url, api_key_id=store.authenticate(key).id,
            payload={"type": "item.decided", "item_id": "wh", "final_decision": "reject"},
            not_before=webhooks.utcnow(),
        )


def test_delivery_refuses_receiver_inside_our_network_without_sending_or_retrying(
    database_url: str, receiver: Receiver
) -> None:
    # Enqueued before the check existed, or resolving elsewhere since: refused when sent too.
    receiver.start()
    engine = make_engine(database_url)
    migrate(engine)
    _enqueue(engine, receiver.url)
    outbox = webhooks.Outbox(engine)
    backoff = webhooks.Backoff(base_seconds=0.01, max_seconds=0.01)

    async def twice() -> int:
        async with httpx.AsyncClient() as client:
            first = await webhooks.deliver_due(outbox, client, backoff)
            await asyncio.sleep(0.05)
            return first + await webhooks.deliver_due(outbox, client, backoff)

    assert asyncio.run(twice()) == 0
    assert receiver.received == []
    [row] = _outbox_rows(engine)
    assert row["attempts"] == 1 and row["cancelled_at"] is not None and row["delivered_at"] is None
    assert row["last_error"] == "receiver refused: callback_url's host 127.0.0.1 is a loopback address; receivers must be public"
    engine.dispose()


def test_delivery_connects_to_the_address_it_checked(database_url: str, receiver: Receiver) -> None:
    # rebind.test resolves (for the check) to the receiver on 127.0.0.1 and nowhere else: no
    # resolver outside this test knows the name, so the event arrives only if the request
    # goes to the checked address, with the name in its Host header.
    receiver.start()
    engine = make_engine(database_url)
    migrate(engine)
    url = f"http://rebind.test:{receiver.port}/hook"
    _enqueue(engine, url)
    outbox = webhooks.Outbox(engine)

    async def deliver() -> int:
        async with httpx.AsyncClient() as client:
            return await webhooks.deliver_due(
                outbox, client, webhooks.Backoff(), allowed_hosts=["rebind.test"], resolve=_resolve
            )

    assert asyncio.run(deliver()) == 1
    [(headers, _body)] = receiver.received
    assert headers["host"] == f"rebind.test:{receiver.port}"
    engine.dispose()


def test_delivery_retries_receiver_whose_name_does_not_resolve(database_url: str) -> None:
    # DNS failing is a receiver that is down, not a refused one: retried with backoff.
    engine = make_engine(database_url)
    migrate(engine)
    _enqueue(engine, "https://nowhere.example.com/hook")
    outbox = webhooks.Outbox(engine)

    async def deliver() -> int:
        async with httpx.AsyncClient() as client:
            return await webhooks.deliver_due(outbox, client, webhooks.Backoff(), resolve=_resolve)

    assert asyncio.run(deliver()) == 0
    [row] = _outbox_rows(engine)
    assert row["attempts"] == 1 and row["cancelled_at"] is None and row["next_attempt_at"] is not None
    assert row["last_error"].startswith("receiver does not resolve")
    engine.dispose()


def _outbox_rows(engine) -> list[dict]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(webhook_outbox).order_by(webhook_outbox.c.id))]


def _states(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    out = {"pending": 0, "delivered": 0, "cancelled": 0}
    for row in _outbox_rows(engine):
        out["delivered" if row["delivered_at"] else "cancelled" if row["cancelled_at"] else "pending"] += 1
    return out


@pytest.fixture(scope="module")
def hooked(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveService, Receiver]]:
    tmp = tmp_path_factory.mktemp("hooks")
    path = tmp / "policy.yaml"
    path.write_text(policy_text(review="  undo_seconds: 1\n  webhook_retry_base_seconds: 0.2\n"), encoding="utf-8")
    # The receiver listens on loopback, which only an allow-listed receiver may.
    svc = LiveService(make_settings(tmp, policy_path=path, webhook_allowed_hosts=["127.0.0.1"]))
    svc.service.accounts.create_user("mod", "password1", "moderator")
    r = Receiver(free_port())
    r.start()
    try:
        yield svc, r
    finally:
        r.stop()
        svc.stop()


@contextlib.contextmanager
def moderator(live: LiveService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as c:
        c.headers["X-CSRF-Token"] = c.post("/v1/auth/login", json={"username": "mod", "password": "password1"}).json()["csrf_token"]
        yield c


def test_moderator_decision_is_delivered_signed_after_the_undo_window(hooked) -> None:
    from images import make_jpeg

    live, receiver = hooked
    key, secret = live.service.store.create_api_key("pipeline", webhook_url=receiver.url)
    key_id = live.service.store.authenticate(key).id
    img = make_jpeg(seed=501)
    live.service.store.save_items([review_item("e2e-photo", image=img, api_key_id=key_id, queue="photos-sensitive", priority=1)])
    with moderator(live) as c:
        [task] = [t for t in c.post("/v1/review/claim", json={"limit": 10}).json()["tasks"] if t["item"]["id"] == "e2e-photo"]
        d = c.post(f"/v1/review/tasks/{task['task_id']}/decision", json={"decision": "reject", "note": "explicit"}).json()
    wait_for(lambda: any(json.loads(b)["item_id"] == "e2e-photo" for _, b in receiver.received))
    # Held back for the undo window (1 s in this policy): the outbox's delivery time is at
    # least the decision's time plus the window. The receiver may see the event before the
    # outbox marks it delivered: wait for the mark.
    def delivered_and_decided():  # type: ignore[no-untyped-def]
        with live.service.engine.connect() as conn:
            return conn.execute(
                select(webhook_outbox.c.delivered_at, decisions.c.created_at)
                .join(decisions, decisions.c.id == webhook_outbox.c.decision_id)
                .where(webhook_outbox.c.decision_id == d["decision_id"])
            ).one()

    wait_for(lambda: delivered_and_decided().delivered_at is not None)
    delivered_at, decided_at = delivered_and_decided()
    assert (delivered_at - decided_at).total_seconds() >= 1.0
    [(headers, body)] = [(h, b) for h, b in receiver.received if json.loads(b)["item_id"] == "e2e-photo"]
    assert webhooks.verify(secret, body, headers["x-moderation-signature"])
    event = json.loads(body)
    assert event["final_decision"] == "reject" and event["decided_by"] == "user:mod"
    assert event["statement"]["automated"] is False and event["statement"]["appeal"]["possible"] is True
    assert event["reasons"][0] == {"source": "human", "actor": "user:mod", "note": "explicit"}
    assert event["decided_at"] and event["created_at"] and event["event_id"] == headers["x-moderation-event-id"]
    # the rejected photo joined the banned bank: a copy from anyone is now rejected
    wait_for(lambda: any(e["item_id"] == "e2e-photo" for e in live.service.store.list_bank("banned", 1000)[1]))
    with live.client(key) as api:
        res = api.post("/v1/moderate", json={"items": [photo_item("e2e-copy", img, author="z")]}).json()
    assert res["results"][0]["decision"] == "reject"
    assert d["undo_until"]


def test_undo_within_the_window_sends_nothing_and_bans_nothing(hooked) -> None:
    from images import make_jpeg

    live, receiver = hooked
    key, _ = live.service.store.create_api_key("pipeline2", webhook_url=receiver.url)
    key_id = live.service.store.authenticate(key).id
    live.service.store.save_items([
        review_item(f"e2e-{name}", image=make_jpeg(seed=seed), api_key_id=key_id, queue="photos-sensitive", priority=1)
        for name, seed in (("undo", 502), ("control", 503))
    ])
    with moderator(live) as c:
        tasks = {t["item"]["id"]: t["task_id"] for t in c.post("/v1/review/claim", json={"limit": 10}).json()["tasks"]}
        d = c.post(f"/v1/review/tasks/{tasks['e2e-undo']}/decision", json={"decision": "reject"}).json()
        undo = c.post(f"/v1/review/decisions/{d['decision_id']}/undo")
        assert undo.status_code == 200 and undo.json()["task"]["task_id"] == tasks["e2e-undo"]
        # A control decided after the undone one: once its webhook and ban are through,
        # the background loop has gone past the undone decision's window too.
        assert c.post(f"/v1/review/tasks/{tasks['e2e-control']}/decision", json={"decision": "reject"}).status_code == 200
    wait_for(lambda: any(json.loads(b)["item_id"] == "e2e-control" for _, b in receiver.received))
    wait_for(lambda: any(e["item_id"] == "e2e-control" for e in live.service.store.list_bank("banned", 1000)[1]))
    assert not any(json.loads(b)["item_id"] == "e2e-undo" for _, b in receiver.received)
    assert not any(e["item_id"] == "e2e-undo" for e in live.service.store.list_bank("banned", 1000)[1])
