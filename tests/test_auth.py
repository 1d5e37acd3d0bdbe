"""Accounts on a real SQLite file and a real PostgreSQL server: Argon2id passwords,
sessions whose lifetimes follow the policy, purging expired sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from moderation.auth import Accounts
from moderation.errors import Conflict
from moderation.store.repository import Store, hash_secret, utcnow


def test_purge_deletes_only_sessions_expired_longer_than_the_grace(store) -> None:  # type: ignore[no-untyped-def]

    from sqlalchemy import func, select, update

    from moderation.auth import Accounts
    from moderation.store.repository import utcnow
    from moderation.store.tables import sessions

    accounts = Accounts(store.engine)
    accounts.create_user("mo", "a long passphrase", "moderator")
    tokens = [accounts.login("mo", "a long passphrase")[0] for _ in range(3)]
    ages = [timedelta(days=2), timedelta(seconds=1)]  # the third session is live
    with store.engine.begin() as conn:
        for token, age in zip(tokens, ages):
            conn.execute(update(sessions).where(sessions.c.token_hash == hash_secret(token)).values(expires_at=utcnow() - age))
    assert accounts.purge_expired() == 1
    with store.engine.begin() as conn:
        assert conn.execute(select(func.count()).select_from(sessions)).scalar() == 2


def test_accounts_hash_passwords_and_refuse_wrong_ones(store: Store) -> None:
    accounts = Accounts(store.engine)
    accounts.create_user("carol", "correct horse", "moderator")
    with pytest.raises(Conflict):
        accounts.create_user("carol", "another pass", "admin")
    from sqlalchemy import select

    from moderation.store.tables import users

    with store.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    token, _session = accounts.login("carol", "correct horse")
    assert accounts.session(token).user.username == "carol"
    from moderation.errors import Unauthorized

    with pytest.raises(Unauthorized):
        accounts.login("carol", "wrong")
    with pytest.raises(Unauthorized):
        accounts.login("nobody", "correct horse")
    accounts.set_disabled("carol", True)
    with pytest.raises(Unauthorized):
        accounts.session(token)

def test_session_lifetimes_follow_the_current_policy(store: Store) -> None:

    from sqlalchemy import update

    from moderation.auth import SessionPolicy
    from moderation.store.tables import sessions

    current = [SessionPolicy(idle=timedelta(minutes=60))]
    accounts = Accounts(store.engine, lambda: current[0])
    accounts.create_user("eve", "a long passphrase", "moderator")
    token, first = accounts.login("eve", "a long passphrase")
    current[0] = SessionPolicy(idle=timedelta(minutes=5))  # a policy reload
    with store.engine.begin() as conn:  # the next request after the once-a-minute touch
        conn.execute(update(sessions).values(last_seen_at=utcnow() - timedelta(minutes=2)))
    assert accounts.session(token).expires_at < first.expires_at - timedelta(minutes=50)


def test_login_throttle_is_shared_through_the_database_and_never_locks_out_a_client_that_did_not_fail(store: Store) -> None:
    from moderation.auth import (
        LOGIN_MAX_PER_ACCOUNT,
        LOGIN_MAX_PER_CLIENT,
        LOGIN_WINDOW,
    )
    from moderation.errors import Overloaded, Unauthorized

    # two Accounts over one database: two API processes
    a, b = Accounts(store.engine), Accounts(store.engine)
    a.create_user("dana", "the real passphrase", "moderator")
    now = utcnow()
    for k in range(LOGIN_MAX_PER_ACCOUNT):  # an attacker spreads guesses over addresses and processes
        with pytest.raises(Unauthorized):
            (a if k % 2 else b).login("dana", f"guess {k}", client=f"10.0.0.{k}", now=now)
    with pytest.raises(Overloaded):  # an address that guessed is refused, whichever process it reaches
        a.login("dana", "the real passphrase", client="10.0.0.3", now=now)
    token, _ = b.login("dana", "the real passphrase", client="192.0.2.7", now=now)  # the real user is not
    assert a.session(token).user.username == "dana"
    # by address: one client failing on many names is stopped too
    for k in range(LOGIN_MAX_PER_CLIENT):
        with pytest.raises(Unauthorized):
            b.login(f"name{k}", "x", client="198.51.100.9", now=now)
    with pytest.raises(Overloaded):
        a.login("dana", "the real passphrase", client="198.51.100.9", now=now)
    # the window passes: everyone may try again
    later = now + LOGIN_WINDOW + timedelta(seconds=1)
    a.login("dana", "the real passphrase", client="198.51.100.9", now=later)
    a.login("dana", "the real passphrase", client="10.0.0.3", now=later)


@pytest.mark.parametrize("same_name", [False, True], ids=["by-client", "by-account"])
def test_concurrent_wrong_passwords_are_checked_at_most_the_limit(store: Store, same_name: bool) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from moderation.auth import LOGIN_MAX_PER_ACCOUNT, LOGIN_MAX_PER_CLIENT
    from moderation.errors import Overloaded, Unauthorized

    accounts = Accounts(store.engine)
    accounts.create_user("erin", "the real passphrase", "moderator")
    now = utcnow()
    limit = LOGIN_MAX_PER_ACCOUNT if same_name else LOGIN_MAX_PER_CLIENT

    def guess(k: int) -> str:
        try:
            accounts.login("erin" if same_name else f"name{k}", f"guess {k}", client="203.0.113.5", now=now)
        except Unauthorized:
            return "checked"
        except Overloaded:
            return "throttled"
        return "logged in"

    # more guesses at once than the API's thread pool runs: each one that passes the
    # throttle pays for an Argon2 check, so none may pass on a count read before the others
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(guess, range(3 * limit)))
    assert answers.count("checked") == limit
    assert answers.count("throttled") == 2 * limit
    with pytest.raises(Overloaded):  # the real password too, from that address
        accounts.login("erin", "the real passphrase", client="203.0.113.5", now=now)
    accounts.login("erin", "the real passphrase", client="192.0.2.8", now=now)  # elsewhere: fine


def test_a_successful_login_is_not_counted_as_a_failure(store: Store) -> None:
    from moderation.auth import LOGIN_MAX_PER_CLIENT

    accounts = Accounts(store.engine)
    accounts.create_user("finn", "the real passphrase", "moderator")
    for _ in range(LOGIN_MAX_PER_CLIENT + 5):
        accounts.login("finn", "the real passphrase", client="198.51.100.20")
