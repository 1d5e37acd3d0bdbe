"""The service's periodic jobs, each given its collaborators explicitly.

- `run_review_jobs`: deliver due webhooks, apply bank changes past their undo window, and
  hourly delete long-expired sessions;
- `watch_policy`: reload the policy when its file or a word list it reads changes.

A failing pass is logged once when the failure starts (with its traceback) and once when
it ends, not on every pass: a database outage is one message, not one every half second.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import httpx
from starlette.concurrency import run_in_threadpool

from moderation import webhooks
from moderation.auth import Accounts
from moderation.banks import Banks
from moderation.errors import PolicyError
from moderation.policy import Policy

log = logging.getLogger(__name__)

SESSION_PURGE_SECONDS = 3600.0


def backoff_of(policy: Policy) -> webhooks.Backoff:
    """The webhook retry schedule the policy's review section sets."""
    s = policy.review
    return webhooks.Backoff(
        base_seconds=s.webhook_retry_base_seconds,
        max_seconds=s.webhook_retry_max_seconds,
        max_attempts=s.webhook_max_attempts,
    )


class _FailureLog:
    """Logs the first failure of a run of failures, and the recovery."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.failing_since: float | None = None

    def failed(self) -> None:
        if self.failing_since is None:
            self.failing_since = time.monotonic()
            log.exception("%s failed; retrying quietly until it recovers", self.what)

    def ok(self) -> None:
        if self.failing_since is not None:
            log.warning("%s recovered after %.0f s", self.what, time.monotonic() - self.failing_since)
            self.failing_since = None


async def run_review_jobs(
    policy: Callable[[], Policy],
    outbox: webhooks.Outbox,
    banks: Banks,
    accounts: Accounts,
    allowed_hosts: Sequence[str] = (),
    interval: float = 0.5,
) -> None:
    """Runs until cancelled; one failing pass never stops the loop. `allowed_hosts`: the
    webhook receivers allowed inside our network (`MODERATION_WEBHOOK_ALLOWED_HOSTS`)."""
    purged_at = float("-inf")
    failures = _FailureLog("review background pass")
    async with httpx.AsyncClient(follow_redirects=False) as client:
        while True:
            try:
                await webhooks.deliver_due(outbox, client, backoff_of(policy()), allowed_hosts=allowed_hosts)
                await banks.apply_due_changes()
                if time.monotonic() - purged_at > SESSION_PURGE_SECONDS:
                    await run_in_threadpool(accounts.purge_expired)
                    purged_at = time.monotonic()
                failures.ok()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - logged once per outage by _FailureLog
                failures.failed()
            await asyncio.sleep(interval)


async def every(seconds: float, job: Callable[[], Awaitable[None]], what: str) -> None:
    """Run `job` every `seconds` until cancelled; failures logged once per outage."""
    failures = _FailureLog(what)
    while True:
        try:
            await job()
            failures.ok()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - logged once per outage by _FailureLog
            failures.failed()
        await asyncio.sleep(seconds)


def newest_mtime(paths: Sequence[Path]) -> int:
    newest = 0
    for path in paths:
        try:
            newest = max(newest, path.stat().st_mtime_ns)
        except OSError:
            continue
    return newest


async def watch_policy(
    paths: Callable[[], Sequence[Path]],
    reload: Callable[[], Awaitable[str]],
    report: Callable[[str | None], None],
    interval: float = 2.0,
) -> None:
    """Reload when the newest modification time of `paths()` (the policy file and the word
    lists its rules read) changes. `report` gets the refusal of an invalid file (the
    running policy stays), or None after a good reload."""
    last = newest_mtime(paths())
    while True:
        await asyncio.sleep(interval)
        mtime = newest_mtime(paths())
        if mtime == last:
            continue
        last = mtime
        try:
            version = await reload()
            report(None)
            log.info("policy reloaded: %s", version)
        except PolicyError as exc:
            report(exc.detail)
            log.error("policy file refused: %s", exc.detail)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            report(f"policy reload failed: {exc}")
            log.exception("policy reload failed")
