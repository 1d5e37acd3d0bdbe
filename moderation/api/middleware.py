"""ASGI middleware that runs before any body is parsed: the client's address behind trusted
proxies, the body limit, and UTF-8 checks of multipart form fields."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from typing import Any

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from moderation.errors import InvalidInput, ModerationError, Overloaded, PayloadTooLarge

PROBLEM = "application/problem+json"


class TrustedProxies:
    """Puts the client's address from X-Forwarded-For (and the scheme from
    X-Forwarded-Proto) into the scope, only when the direct peer is a trusted proxy.

    Each proxy appends the address it got the request from, so the chain is read from the
    right: the first address that is not a trusted proxy is the client. Anything to its
    left was written by the client and proves nothing. Without trusted proxies the headers
    are ignored: the direct peer is the client, on loopback too."""

    def __init__(self, app: ASGIApp, trusted: Sequence[str]) -> None:
        self.app = app
        self.networks = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def trusts(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in net for net in self.networks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] in ("http", "websocket") and self.networks and client and self.trusts(client[0]):
            headers = dict(scope.get("headers", []))
            scope = dict(scope)
            chain = headers.get(b"x-forwarded-for", b"").decode("latin-1")
            if chain:
                scope["client"] = (self.client_of(chain, client[0]), 0)
            proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                scope["scheme"] = proto if scope["type"] == "http" else {"http": "ws", "https": "wss"}[proto]
        await self.app(scope, receive, send)

    def client_of(self, chain: str, peer: str) -> str:
        hops = [h.strip() for h in chain.split(",") if h.strip()]
        for hop in reversed(hops):
            if self.trusts(hop):
                continue
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:  # not written by a proxy of ours: believe only the peer
                return peer
        return hops[0] if hops else peer  # every hop is a proxy of ours: the first one is the client


class BodyLimit:
    """Refuses bodies over `limit` bytes with 413, by Content-Length or while streaming,
    before any of it is parsed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    await _send_problem(send, PayloadTooLarge(f"body of {declared} bytes is over the limit of {self.limit}"))
                    return
        seen = 0
        too_large = False
        replaced = False

        async def limited() -> Message:
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.request", "body": b"", "more_body": False}
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    # Stop reading here; whatever the app answers is replaced by a 413 below.
                    too_large = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return msg

        async def guarded_send(msg: Message) -> None:
            nonlocal replaced
            if not too_large:
                await send(msg)
                return
            if not replaced:
                replaced = True
                await _send_problem(send, PayloadTooLarge(f"body is over the limit of {self.limit} bytes"))

        await self.app(scope, limited, guarded_send)


class Utf8FormFields:
    """Refuses multipart fields (not files) whose bytes are not UTF-8, with a 422 naming
    the field. Starlette would decode them as Latin-1 and store mojibake silently.

    The body is read once here (BodyLimit, outside, has already bounded it), checked with
    python-multipart's own parser, and replayed to the app unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"") if scope["type"] == "http" else b""
        if not content_type.startswith(b"multipart/form-data"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            msg = await receive()
            if msg["type"] != "http.request":
                break
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body"):
                break
        body = b"".join(chunks)
        bad = _non_utf8_fields(content_type, body)
        if bad:
            await _send_problem(send, InvalidInput(f"form field {bad!r} is not valid UTF-8", fault="bad_encoding"))
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _non_utf8_fields(content_type: bytes, body: bytes) -> str | None:
    """The name of the first non-file part whose bytes do not decode as UTF-8, if any.
    A malformed body is left to the app's own parser, which answers 400."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        return None
    state: dict[str, Any] = {"headers": b"", "data": bytearray(), "bad": None, "field": b"", "value": b""}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        if state["field"].lower() == b"content-disposition":
            state["headers"] = state["value"]
        state["field"], state["value"] = b"", b""

    def on_part_begin() -> None:
        state["headers"], state["data"] = b"", bytearray()

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if b"filename" not in state["headers"]:
            state["data"] += data[start:end]

    def on_part_end() -> None:
        if state["bad"] is None and b"filename" not in state["headers"]:
            try:
                bytes(state["data"]).decode("utf-8")
            except UnicodeDecodeError:
                _, opts = parse_options_header(state["headers"])
                state["bad"] = opts.get(b"name", b"?").decode("latin-1")

    parser = MultipartParser(
        boundary,
        {
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception:  # noqa: BLE001 - malformed multipart: the app's parser says so (400)
        return None
    return state["bad"]


class Admission:
    """Refuses moderation requests with 429 while this process's analysis is full, before
    the body is read, the key checked or the database touched: an overloaded process spends
    nothing on work it would refuse. The bound is per API process (`MODERATION_MAX_IN_FLIGHT`
    items analysed at once); N processes admit N times as much, each within its own means.
    `InFlight` inside still refuses a batch that would overflow it."""

    PATHS = frozenset({"/v1/moderate", "/v1/photos"})

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in self.PATHS:
            service = scope["app"].state.service
            if service.in_flight.full:
                service.metrics.rejected_overload.inc()
                await _send_problem(send, Overloaded(f"{service.in_flight.current} items in flight; retry shortly", retry_after=1))
                return
        await self.app(scope, receive, send)


async def _send_problem(send: Send, exc: ModerationError) -> None:
    body = json.dumps(exc.problem()).encode()
    headers = [(b"content-type", PROBLEM.encode()), (b"content-length", str(len(body)).encode())]
    if isinstance(exc, Overloaded):
        headers.append((b"retry-after", str(exc.retry_after).encode()))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
