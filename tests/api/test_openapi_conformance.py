"""Schemathesis over the whole OpenAPI document of a live service: generated requests, valid
and invalid, to every operation, each with the credentials the operation declares (an API
key with every scope, a moderator's session, an admin's session). No answer may be a 5xx,
and every status must be one the document lists for that operation."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import status_code_conformance
from servers import (
    STAFF_PASSWORD,
    LiveService,
    staffed_service,
    text_item,
)

PASSWORD = STAFF_PASSWORD
SEED = 20240601
EXAMPLES = 4  # per operation, identity and generation mode: a smoke run that fits in CI
# Accounts the admin operations must not lock out while the run goes on.
PROTECTED_USERS = {"mod", "boss"}


@pytest.fixture(scope="module")
def live(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    with staffed_service(tmp_path_factory.mktemp("conformance")) as svc:
        yield svc


def session_of(live: LiveService, username: str) -> dict[str, Any]:
    resp = httpx.post(live.url + "/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert resp.status_code == 200, resp.text
    return {"cookies": {"moderation_session": resp.cookies["moderation_session"]}, "headers": {"X-CSRF-Token": resp.json()["csrf_token"]}}


def identities_for(path: str, key: str, live: LiveService) -> list[tuple[str, Any]]:
    """(name, credentials or a function making them) for each identity an operation is run as."""
    bearer = {"cookies": {}, "headers": {"Authorization": f"Bearer {key}"}}
    if path.startswith("/v1/banks"):
        return [("key", bearer), ("admin", session_of(live, "boss"))]
    if path.startswith("/v1/admin"):
        return [("admin", session_of(live, "boss"))]
    if path == "/v1/auth/logout":
        return [("moderator", lambda: session_of(live, "mod"))]  # a fresh session each time: it ends it
    if path.startswith(("/v1/review", "/v1/auth/session")):
        return [("moderator", session_of(live, "mod"))]
    if path.startswith(("/v1/moderate", "/v1/photos", "/v1/items", "/v1/reports")):
        return [("key", bearer)]
    return [("anonymous", {"cookies": {}, "headers": {}})]


def run_operation(live: LiveService, operation: Any, mode: schemathesis.GenerationMode, credentials: Any) -> list[int]:
    """EXAMPLES generated requests to one operation; the statuses answered. Raises on the
    first failing check."""
    sent: list[int] = []
    # Valid requests name a bank the policy defines, or they would all be 404s.
    fixed = {"bank": "banned"} if mode.is_positive and "{bank}" in operation.path else None

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
    def run(case: schemathesis.Case) -> None:
        creds = credentials() if callable(credentials) else credentials
        if (case.path_parameters or {}).get("username") in PROTECTED_USERS:
            case.path_parameters["username"] = "someone-else"
        # Credentials the generator made up from the security schemes give way to the identity's.
        case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in ("authorization", "x-csrf-token")}
        case.cookies = {k: v for k, v in (case.cookies or {}).items() if k != "moderation_session"}
        response = case.call(base_url=live.url, headers=dict(creds["headers"]), cookies=dict(creds["cookies"]))
        sent.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error, status_code_conformance])

    run()
    return sent


def test_every_operation_answers_no_5xx_and_only_documented_statuses(live: LiveService) -> None:
    key = live.api_key("conformance")  # every scope
    # Some state for the generated ids to meet: items and their review tasks.
    with live.client(key) as c:
        c.post("/v1/moderate", json={"items": [text_item(f"conf-{i}", "appelle 06 12 34 56 78") for i in range(5)]})
    schema = schemathesis.openapi.from_url(live.url + "/openapi.json")
    failures: list[str] = []
    operations = requests = 0
    answered: Counter[int] = Counter()
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for identity, credentials in identities_for(operation.path, key, live):
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                try:
                    statuses = run_operation(live, operation, mode, credentials)
                except Unsatisfiable:  # nothing to make invalid: the operation takes no input
                    continue
                except Exception as exc:  # noqa: BLE001 - every operation's failure is collected, then reported together
                    failures.append(f"{operation.method.upper()} {operation.path} as {identity} ({mode.value}): {exc}")
                    continue
                requests += len(statuses)
                answered.update(statuses)
    elapsed = time.monotonic() - started
    print(f"schemathesis: {operations} operations, {requests} requests, {elapsed:.1f} s, {len(failures)} failing, seed {SEED}; statuses {dict(sorted(answered.items()))}")
    assert not failures, "\n\n".join(failures)
    assert operations >= 30 and requests >= operations * EXAMPLES
