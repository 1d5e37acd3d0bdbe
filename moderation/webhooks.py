"""Webhooks of final decisions: a durable outbox, signed deliveries, exponential backoff.

An event is written to `webhook_outbox` in the same transaction as the decision that
causes it, and sent later by `deliver_due` (run by the service's review loop). A crash
anywhere loses nothing: an event is only marked delivered after the receiver answered
2xx, so delivery is at-least-once and receivers deduplicate on `event_id` (in the body
and in `X-Moderation-Event-Id`).

The body is signed with the API key's secret: `X-Moderation-Signature: sha256=<hex>` is
HMAC-SHA256 over the exact body bytes. Failed attempts are retried after
`base * 2**(attempts-1)` seconds (capped, with +-20% jitter so that a receiver coming
back is not hit by every event at once), and given up after `max_attempts`.

A receiver URL is a request the service makes on a client's behalf, so
`check_receiver_url` refuses what would reach inside our network (SSRF): schemes other
than http(s), credentials in the URL, ports other than 80 and 443, and hosts that are or
resolve to loopback, private, link-local, multicast, reserved, unspecified or cloud
metadata addresses, unless the operator allow-listed the host or its network
(`MODERATION_WEBHOOK_ALLOWED_HOSTS`). `deliver_due` checks again when it sends, and
connects to the address it checked (a name that resolves elsewhere the second time,
DNS rebinding, gets nowhere); a refused event is given up at once, with the reason.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import random
import re
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx
from sqlalchemy import Engine, and_, insert, or_, select, update
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool

from moderation.errors import InvalidInput
from moderation.store.repository import Repository, claim_rows, utcnow
from moderation.store.tables import api_keys, webhook_outbox

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Moderation-Signature"
EVENT_HEADER = "X-Moderation-Event-Id"


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[..., list[tuple[Any, ...]]]  # socket.getaddrinfo's shape

# Cloud instance metadata services (AWS, AWS over IPv6, Alibaba, Oracle): refused even
# when their network is allow-listed, since no receiver lives there.
_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192")
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOSTNAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*")


@dataclass(frozen=True)
class _CheckedReceiver:
    """A receiver URL that passed `check_receiver_url`, and the addresses it was checked at."""

    url: str
    parts: SplitResult
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def allow_list(entries: Sequence[str]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    """Parse allow-list entries into (hostnames, networks); an entry that is neither a
    hostname nor an address or CIDR network raises ValueError."""
    return _allow_list(tuple(entries))


@functools.lru_cache(maxsize=16)
def _allow_list(entries: tuple[str, ...]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    hosts: set[str] = set()
    networks: list[IPNetwork] = []
    for raw in entries:
        entry = raw.strip().lower().rstrip(".")
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        if not _HOSTNAME.fullmatch(entry) or len(entry) > 253:
            raise ValueError(f"webhook allow-list entry {raw!r} is neither a hostname nor an address or CIDR network")
        hosts.add(entry)
    return frozenset(hosts), tuple(networks)


def check_receiver_url(url: str, allowed: Sequence[str] = (), *, resolve: Resolver = socket.getaddrinfo) -> str:
    """Return `url` when the service may send webhooks to it; raise InvalidInput saying why not.

    Refused: a scheme other than http or https; a user or password in the URL; a port other
    than 80 or 443; a host written as a number in any form but a.b.c.d (2130706433,
    0x7f.1, 0177.0.0.1, 127.1); a host that is, or resolves (every address of it) to, a
    loopback, private, link-local, multicast, reserved, unspecified or cloud metadata
    address, IPv4 inside IPv6 included. `allowed` lists hostnames and CIDR networks whose
    receivers may use any port and those addresses (metadata addresses excepted).
    Resolves names with `resolve` (blocking: call it from a thread, not the event loop).
    """
    try:
        return _check_receiver(url, allowed, resolve).url
    except OSError as exc:  # socket.gaierror: no such name, or DNS is not answering
        raise InvalidInput(f"callback_url's host does not resolve: {exc.strerror or exc}") from None


def _check_receiver(url: str, allowed: Sequence[str], resolve: Resolver) -> _CheckedReceiver:
    """`check_receiver_url`, with a failed lookup left as the OSError it is (a delivery
    retries it later) and the checked addresses returned."""
    hosts, networks = allow_list(allowed)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"callback_url is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise InvalidInput("callback_url must be an http or https URL")
    if "@" in parts.netloc:
        raise InvalidInput("callback_url must not contain a user or password; the signature authenticates the service")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidInput("callback_url has no host")
    literal = _numeric_host(host)
    port = _DEFAULT_PORTS[scheme] if port is None else port
    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    else:
        try:
            found = resolve(host, port, type=socket.SOCK_STREAM)
        except UnicodeError:  # a label the IDNA codec refuses (empty, over 63 characters)
            raise InvalidInput(f"callback_url's host {host!r} is not a valid name") from None
        addresses = tuple(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "no address")
    host_allowed = host in hosts
    for address in addresses:
        why = _refusal(_unmapped(address))
        if why is None or (why != "cloud metadata" and (host_allowed or _allowed(address, networks))):
            continue
        shown = host if literal is not None else f"{host} ({address})"
        article = "an" if why[0] in "aeiou" else "a"
        raise InvalidInput(f"callback_url's host {shown} is {article} {why} address; receivers must be public")
    if port not in (80, 443) and not host_allowed and not all(_allowed(a, networks) for a in addresses):
        raise InvalidInput(f"callback_url's port {port} is not accepted; receivers listen on 80 or 443")
    return _CheckedReceiver(url=url, parts=parts, host=host, port=port, addresses=addresses)


def _numeric_host(host: str) -> IPAddress | None:
    """The address a host written as an IP literal names, or None for a name. IPv4 in any
    form but a.b.c.d (which C resolvers, and so HTTP clients, read as an address) is refused:
    it is only ever written that way to slip past a check like this one."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        packed = socket.inet_aton(host)
    except OSError:
        return None
    raise InvalidInput(
        f"callback_url's host {host!r} is an IPv4 address ({ipaddress.IPv4Address(packed)}) written as a number; "
        "write addresses as a.b.c.d"
    )


def _allowed(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    plain = _unmapped(address)
    return any(plain in network for network in networks if network.version == plain.version)


def _unmapped(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped IPv6 one (::ffff:127.0.0.1), else the address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _refusal(address: IPAddress) -> str | None:
    """Why a receiver may not be at `address` (\"loopback\", \"private\", ...), or None."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv4 carried inside IPv6 reaches that IPv4 address: 6to4, Teredo, NAT64.
        inner = address.sixtofour or (address.teredo[1] if address.teredo else None)
        if inner is None and address in _NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None and (why := _refusal(inner)):
            return why
    for why, flag in (
        ("cloud metadata", address in _METADATA),
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-public", not address.is_global),
    ):
        if flag:
            return why
    return None


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does: recompute the HMAC over the raw body and compare in constant time."""
    return bool(header) and hmac.compare_digest(sign(secret, body), header or "")


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 2.0
    max_seconds: float = 600.0
    max_attempts: int = 25
    timeout_seconds: float = 10.0

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the `attempts`-th failure."""
        raw = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return raw * (rng or random).uniform(0.8, 1.2)


def enqueue(
    conn: Connection,
    *,
    item_pk: int,
    decision_id: int | None,
    url: str,
    api_key_id: int | None,
    payload: dict[str, Any],
    not_before: datetime,
) -> str:
    """Write one event in the caller's transaction; returns its event id."""
    event_id = uuid.uuid4().hex
    body = json.dumps({"event_id": event_id, **payload}, default=_json_default, separators=(",", ":"), sort_keys=True)
    conn.execute(
        insert(webhook_outbox).values(
            event_id=event_id,
            item_pk=item_pk,
            decision_id=decision_id,
            url=url,
            api_key_id=api_key_id,
            body=body,
            attempts=0,
            next_attempt_at=not_before,
            created_at=utcnow(),
        )
    )
    return event_id


def cancel_for_decision(conn: Connection, decision_id: int) -> int:
    """Cancel the undelivered events of an undone decision; returns how many were already delivered."""
    now = utcnow()
    conn.execute(
        update(webhook_outbox)
        .where(
            webhook_outbox.c.decision_id == decision_id,
            webhook_outbox.c.delivered_at.is_(None),
            webhook_outbox.c.cancelled_at.is_(None),
        )
        .values(cancelled_at=now, last_error="decision undone")
    )
    delivered = conn.execute(
        select(webhook_outbox.c.id).where(
            webhook_outbox.c.decision_id == decision_id, webhook_outbox.c.delivered_at.is_not(None)
        )
    ).all()
    return len(delivered)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        v = value if value.tzinfo else value.replace(tzinfo=UTC)
        return v.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


@dataclass(frozen=True)
class Due:
    id: int
    event_id: str
    url: str
    body: str
    attempts: int
    secret: str | None


class Outbox(Repository):
    """The outbox's reads and writes outside a decision's transaction."""

    def __init__(self, engine: Engine, lock_seconds: float = 60.0) -> None:
        super().__init__(engine)
        self.lock_seconds = lock_seconds

    def claim_due(self, limit: int = 50, now: datetime | None = None) -> list[Due]:
        """Lock due events for this sender (for `lock_seconds`), so several service nodes
        do not send the same event at the same moment."""
        now = now or utcnow()

        def due(t: Any) -> Any:
            return and_(t.c.delivered_at.is_(None), t.c.cancelled_at.is_(None), t.c.next_attempt_at <= now,
                        or_(t.c.locked_until.is_(None), t.c.locked_until < now))

        w = webhook_outbox.alias("candidate")
        sub = select(w.c.id).where(due(w)).order_by(w.c.next_attempt_at).limit(limit)
        with self._tx() as conn:
            ids = claim_rows(conn, webhook_outbox, sub, w, due(webhook_outbox),
                             {"locked_until": now + timedelta(seconds=self.lock_seconds)})
        if not ids:
            return []
        with self._tx() as conn:
            rows = conn.execute(
                select(webhook_outbox, api_keys.c.webhook_secret)
                .select_from(webhook_outbox.outerjoin(api_keys, api_keys.c.id == webhook_outbox.c.api_key_id))
                .where(webhook_outbox.c.id.in_(ids))
                .order_by(webhook_outbox.c.id)
            ).all()
        return [Due(r.id, r.event_id, r.url, r.body, r.attempts, r.webhook_secret) for r in rows]

    def mark_delivered(self, event_id: int) -> None:
        with self._tx() as conn:
            conn.execute(
                update(webhook_outbox)
                .where(webhook_outbox.c.id == event_id)
                .values(delivered_at=utcnow(), locked_until=None, attempts=webhook_outbox.c.attempts + 1, last_error=None)
            )

    def mark_failed(self, due: Due, error: str, backoff: Backoff) -> None:
        attempts = due.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "locked_until": None, "last_error": error[:1000]}
        if attempts >= backoff.max_attempts:
            values["cancelled_at"] = utcnow()
            log.error("webhook %s to %s given up after %d attempts: %s", due.event_id, due.url, attempts, error)
        else:
            values["next_attempt_at"] = utcnow() + timedelta(seconds=backoff.delay(attempts))
        with self._tx() as conn:
            conn.execute(update(webhook_outbox).where(webhook_outbox.c.id == due.id).values(**values))

    def mark_refused(self, due: Due, error: str) -> None:
        """Give an event up without sending it: its receiver is not one we send to, and
        will not become one by waiting."""
        log.error("webhook %s refused, not sent: %s", due.event_id, error)
        with self._tx() as conn:
            conn.execute(
                update(webhook_outbox)
                .where(webhook_outbox.c.id == due.id)
                .values(attempts=due.attempts + 1, locked_until=None, cancelled_at=utcnow(), last_error=error[:1000])
            )


async def deliver_due(
    outbox: Outbox,
    client: httpx.AsyncClient,
    backoff: Backoff,
    limit: int = 50,
    allowed_hosts: Sequence[str] = (),
    resolve: Resolver = socket.getaddrinfo,
) -> int:
    """Send every due event once; returns how many were delivered.

    Each receiver is checked again (`check_receiver_url`, with the `allowed_hosts`
    allow-list) and sent to at the address that passed; a refused one is given up with the
    reason as its error, a name that does not resolve is retried like a receiver that is down.
    """
    allow_list(allowed_hosts)  # a bad entry raises here, before any event is claimed
    batch: Sequence[Due] = await run_in_threadpool(outbox.claim_due, limit)
    delivered = 0
    for due in batch:
        body = due.body.encode()
        headers = {"Content-Type": "application/json", EVENT_HEADER: due.event_id, "User-Agent": "moderation-webhooks/1"}
        if due.secret:
            headers[SIGNATURE_HEADER] = sign(due.secret, body)
        try:
            receiver = await run_in_threadpool(_check_receiver, due.url, allowed_hosts, resolve)
        except InvalidInput as exc:
            await run_in_threadpool(outbox.mark_refused, due, f"receiver refused: {exc.detail}")
            continue
        except OSError as exc:
            await run_in_threadpool(outbox.mark_failed, due, f"receiver does not resolve: {exc}", backoff)
            continue
        url, extensions = _pinned(receiver)
        headers["Host"] = receiver.parts.netloc
        try:
            resp = await client.post(
                url, content=body, headers=headers, timeout=backoff.timeout_seconds,
                follow_redirects=False, extensions=extensions,
            )
            ok = 200 <= resp.status_code < 300
            error = "" if ok else f"HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            ok, error = False, f"{type(exc).__name__}: {exc}"
        if ok:
            await run_in_threadpool(outbox.mark_delivered, due.id)
            delivered += 1
        else:
            await run_in_threadpool(outbox.mark_failed, due, error, backoff)
    return delivered


def _pinned(receiver: _CheckedReceiver) -> tuple[str, dict[str, Any]]:
    """The URL that connects to the checked address, and for https the extension that
    still sends (and verifies the certificate of) the host's name."""
    address = receiver.addresses[0]
    shown = f"[{address}]" if address.version == 6 else str(address)
    url = receiver.parts._replace(netloc=f"{shown}:{receiver.port}").geturl()
    is_name = _numeric_host(receiver.host) is None
    extensions = {"sni_hostname": receiver.host} if receiver.parts.scheme.lower() == "https" and is_name else {}
    return url, extensions
