"""Moderator accounts and their browser sessions.

Passwords are hashed with Argon2id (argon2-cffi's defaults). A session is a random
token in an HttpOnly cookie; the database keeps only its SHA-256, the idle and absolute
expiry, and a CSRF token that every state-changing call must echo in `X-CSRF-Token`
(the cookie alone never authorizes a write).

Roles: `moderator` works the queue; `admin` also reloads the policy, manages users and
reads the audit log. API keys of the upload pipeline are a different kind of credential
and never open these routes.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, insert, select, update

from moderation.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Overloaded,
    Unauthorized,
)
from moderation.store.repository import Repository, aware, hash_secret, utcnow
from moderation.store.tables import login_failures, sessions, users

ROLES = ("moderator", "admin")
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{2,64}$")
MIN_PASSWORD = 8

_hasher = PasswordHasher()
# Verified against when the username is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
# The login throttle: failures counted over this window, by client and by account.
LOGIN_WINDOW = timedelta(minutes=5)
LOGIN_MAX_PER_CLIENT = 20
LOGIN_MAX_PER_ACCOUNT = 10
# Any constant: the advisory lock that serializes login throttle checks on PostgreSQL.
_LOGIN_LOCK = 0x6C6F67  # "log"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str

    @property
    def actor(self) -> str:
        """How this user is named in decisions and the audit log."""
        return f"user:{self.username}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=60)
    absolute: timedelta = timedelta(hours=12)


class Accounts(Repository):
    """Users and sessions over the store's engine."""

    def __init__(self, engine: Engine, policy: Callable[[], SessionPolicy] = SessionPolicy) -> None:
        # A function, not a value: a policy reload changes session lifetimes at once.
        super().__init__(engine)
        self._policy = policy

    @property
    def policy(self) -> SessionPolicy:
        return self._policy()

    # -- users ----------------------------------------------------------------------------

    def create_user(self, username: str, password: str, role: str) -> User:
        if not _USERNAME.match(username):
            raise InvalidInput("username: 2 to 64 letters, digits, '_', '.' or '-'")
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise InvalidInput(f"password: at least {MIN_PASSWORD} characters")
        try:
            with self._tx() as conn:
                res = conn.execute(
                    insert(users).values(
                        username=username, password_hash=_hasher.hash(password), role=role, created_at=utcnow()
                    )
                )
        except Conflict:
            raise Conflict(f"user {username!r} already exists") from None
        return User(id=int(res.inserted_primary_key[0]), username=username, role=role)

    def list_users(self) -> list[dict[str, object]]:
        with self._tx() as conn:
            rows = conn.execute(select(users).order_by(users.c.username)).all()
        return [
            {"username": r.username, "role": r.role, "created_at": r.created_at, "disabled": r.disabled_at is not None}
            for r in rows
        ]

    def set_disabled(self, username: str, disabled: bool) -> None:
        """Disabling also ends every session of the user at once."""
        with self._tx() as conn:
            row = conn.execute(select(users.c.id).where(users.c.username == username)).first()
            if row is None:
                raise NotFound(f"no user {username!r}")
            conn.execute(update(users).where(users.c.id == row.id).values(disabled_at=utcnow() if disabled else None))
            if disabled:
                conn.execute(delete(sessions).where(sessions.c.user_id == row.id))

    def set_role(self, username: str, role: str) -> None:
        """A new role takes effect on the user's next request: sessions read it live."""
        if role not in ROLES:
            raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
        with self._tx() as conn:
            res = conn.execute(update(users).where(users.c.username == username).values(role=role))
            if res.rowcount == 0:
                raise NotFound(f"no user {username!r}")

    # -- sessions -------------------------------------------------------------------------

    def login(self, username: str, password: str, client: str = "unknown", now: datetime | None = None) -> tuple[str, Session]:
        """Returns (cookie token, session). Raises Unauthorized with one message for every
        failure, so the answer does not tell which usernames exist; Overloaded while
        `client` is throttled (`throttle`)."""
        now = now or utcnow()
        attempt = self.throttle(username, client, now)
        with self._tx() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        stored = row.password_hash if row is not None else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
            ok = row is not None and row.disabled_at is None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            raise Unauthorized("wrong username or password")  # the attempt stays counted
        assert row is not None
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + self.policy.idle
        with self._tx() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.id == attempt))  # it did not fail
            if _hasher.check_needs_rehash(row.password_hash):
                conn.execute(update(users).where(users.c.id == row.id).values(password_hash=_hasher.hash(password)))
            conn.execute(
                insert(sessions).values(
                    token_hash=hash_secret(token),
                    user_id=row.id,
                    csrf_token=csrf,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires,
                )
            )
        return token, Session(User(row.id, row.username, row.role), csrf, expires)

    def throttle(self, username: str, client: str, now: datetime) -> int:
        """Refuse (Overloaded, 429) a client with too many failed logins in the window, or
        count this attempt as failed until it succeeds; returns the id of its row. Counted
        in the database so that every API process counts the same ones:
        - by client address: LOGIN_MAX_PER_CLIENT failures, whatever the usernames;
        - by account: LOGIN_MAX_PER_ACCOUNT failures of this username, but only for the
          clients that took part in them. A client that did not fail is never refused
          for the account's sake: an attacker elsewhere cannot lock the real user out.

        The check and the count are one transaction, serialized across processes (SQLite's
        write lock, taken by the insert that starts it; on PostgreSQL an advisory lock held
        to the commit), and made before the password is checked: concurrent guesses cannot
        all pass the check before any of them is counted."""
        since = now - LOGIN_WINDOW
        f = login_failures.c
        wait = int(LOGIN_WINDOW.total_seconds())
        with self._tx() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(_LOGIN_LOCK)))
            # counted first, so that on SQLite the transaction starts as a write and holds the lock
            attempt = int(
                conn.execute(insert(login_failures).values(username=username[:64], client=client[:64], at=now)).inserted_primary_key[0]
            )
            earlier = f.id != attempt
            by_client = conn.execute(select(func.count()).where(f.client == client[:64], f.at >= since, earlier)).scalar_one()
            on_account = conn.execute(select(func.count()).where(f.username == username[:64], f.at >= since, earlier)).scalar_one()
            mine = conn.execute(
                select(func.count()).where(f.username == username[:64], f.client == client[:64], f.at >= since, earlier)
            ).scalar_one()
            # raised inside the transaction: a refused attempt is rolled back, not counted
            if by_client >= LOGIN_MAX_PER_CLIENT:
                raise Overloaded("too many failed logins from this address; wait a few minutes", retry_after=wait)
            if on_account >= LOGIN_MAX_PER_ACCOUNT and mine:
                raise Overloaded(f"too many failed logins for {username!r}; wait a few minutes", retry_after=wait)
        return attempt

    def session(self, token: str) -> Session:
        """The live session of a cookie token, its idle expiry pushed forward; Unauthorized
        when unknown, expired, or its user is disabled."""
        now = utcnow()
        th = hash_secret(token)
        with self._tx() as conn:
            row = conn.execute(
                select(sessions, users.c.username, users.c.role, users.c.disabled_at)
                .join(users, users.c.id == sessions.c.user_id)
                .where(sessions.c.token_hash == th)
            ).first()
            if row is None:
                raise Unauthorized("not logged in")
            if aware(row.expires_at) <= now or row.disabled_at is not None:
                conn.execute(delete(sessions).where(sessions.c.token_hash == th))
                raise Unauthorized("session expired; log in again")
            expires = min(now + self.policy.idle, aware(row.created_at) + self.policy.absolute)
            # Touch at most once a minute: a busy moderator does not write on every request.
            if (now - aware(row.last_seen_at)).total_seconds() > 60:
                conn.execute(
                    update(sessions).where(sessions.c.token_hash == th).values(last_seen_at=now, expires_at=expires)
                )
            else:
                expires = aware(row.expires_at)
        return Session(User(row.user_id, row.username, row.role), row.csrf_token, expires)

    def logout(self, token: str) -> None:
        with self._tx() as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == hash_secret(token)))

    def purge_expired(self, grace: timedelta = timedelta(days=1)) -> int:
        """Delete sessions that expired more than `grace` ago (until then a stale cookie is
        told "session expired", not "unknown"), and failed logins out of the throttle's
        window. Run by the review background loop."""
        with self._tx() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.at < utcnow() - LOGIN_WINDOW))
            return int(conn.execute(delete(sessions).where(sessions.c.expires_at <= utcnow() - grace)).rowcount)


def check_csrf(session: Session, header: str | None) -> None:
    if not header or not hmac.compare_digest(header.encode(), session.csrf_token.encode()):
        raise Forbidden("missing or wrong X-CSRF-Token")


def require_admin(user: User) -> None:
    if not user.is_admin:
        raise Forbidden("this needs the admin role")
