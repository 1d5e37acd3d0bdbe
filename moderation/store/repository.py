"""`Store`: every read and write the service makes, one method per operation.

Methods are synchronous (SQLAlchemy Core); the API calls them from a thread pool.
Writes that belong together (an item, its blob, its decision, its review task) are
one transaction, committed before the API answers: an item is durable before its
answer is returned.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Alias,
    ColumnElement,
    Engine,
    Select,
    Table,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError

from moderation.errors import Conflict, InvalidInput, NotFound, Unavailable
from moderation.store import search
from moderation.store.tables import (
    api_keys,
    audit_log,
    backtests,
    bank_changes,
    bank_entries,
    bank_log,
    blobs,
    decisions,
    items,
    review_tasks,
)

# Automatic decisions sampled for a blind second look (`moderation.review.qa`).
QA_QUEUE = "qa"
# How precisely an API key's last use is kept: one write per key per minute at most.
KEY_USE_RESOLUTION = timedelta(minutes=1)
# How long a claimed bank change waits before another claim may retry it.
BANK_CHANGE_LEASE = timedelta(seconds=60)


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(t: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes for timezone-aware columns: they are UTC."""
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def claim_rows(conn: Connection, table: Table, candidates: Select, candidate_alias: Alias,
               guard: ColumnElement[bool], values: dict[str, Any]) -> list[int]:
    """`UPDATE table SET values WHERE id IN (candidates) AND guard RETURNING id`: how review
    tasks, due bank changes and webhook events are claimed, so that two nodes never get
    the same row.

    `candidates` selects ids from `candidate_alias` (an alias of `table`: a plain table in
    the subquery would be correlated to the UPDATE's row and its LIMIT would not bind);
    `guard` re-checks the claim condition on the row updated. On PostgreSQL the candidates
    are locked first with FOR UPDATE SKIP LOCKED, skipping rows another claimer holds
    (inside `IN (...)` PostgreSQL may rescan a locking subquery and overshoot the LIMIT);
    SQLite runs one statement, having taken its write lock first.
    """
    target: ColumnElement[bool]
    if conn.dialect.name == "postgresql":
        picked = list(conn.execute(candidates.with_for_update(of=candidate_alias, skip_locked=True)).scalars())
        if not picked:
            return []
        target = table.c.id.in_(picked)
    else:
        target = table.c.id.in_(candidates)
    return list(conn.execute(update(table).where(target, guard).values(**values).returning(table.c.id)).scalars())


def hash_secret(secret: str) -> str:
    """API keys and session tokens are 32 random bytes: a plain SHA-256 is enough to store
    them (no dictionary to attack), and it can be looked up."""
    return hashlib.sha256(secret.encode()).hexdigest()


# What a key may do: submit items, read its own items, read banks, change banks.
API_KEY_SCOPES = ("moderate", "items:read", "banks:read", "banks:write")
DEFAULT_SCOPES = ("moderate", "items:read")


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    webhook_url: str | None
    webhook_secret: str | None
    scopes: frozenset[str] = frozenset(DEFAULT_SCOPES)


@dataclass(frozen=True)
class NewItem:
    """An analysed item ready to be stored with its first decision."""

    id: str
    type: str
    context: str
    author_id: str
    content_sha256: str
    text: str | None
    image: bytes | None
    media_type: str | None
    locale: str | None
    language: str | None
    metadata: dict[str, Any] | None
    api_key_id: int | None
    callback_url: str | None
    decision: str
    reasons: list[dict[str, Any]]
    scores: dict[str, float]
    features: dict[str, Any] | None
    policy_version: str
    queue: str | None
    priority: int
    qa_sample: bool = False  # an automatic decision drawn for QA: its qa task is written with it
    seen: NewBankEntry | None = None  # an approved photo's entry in the seen bank, written with it


@dataclass(frozen=True)
class StoredItem:
    pk: int
    id: str
    type: str
    content_sha256: str
    first_decision: str
    final_decision: str | None
    status: str
    reasons: list[dict[str, Any]]
    scores: dict[str, float]
    policy_version: str
    locale: str | None = None
    human_decision: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    context: str | None = None

    def state(self) -> dict[str, Any]:
        """The fields `Policy.item_statement` reads, as `get_item` names them."""
        return {"type": self.type, "context": self.context, "first_decision": self.first_decision, "final_decision": self.final_decision,
                "human_decision": self.human_decision, "reasons": self.reasons, "locale": self.locale,
                "created_at": self.created_at, "updated_at": self.updated_at}


@dataclass(frozen=True)
class NewBankEntry:
    bank: str
    sha256: str | None
    phash: str | None
    pdq: str | None
    pdq_quality: int | None
    variants: dict[str, list[str]] | None
    note: str | None
    author_id: str | None
    item_id: str | None
    created_by: str


class Repository:
    """Reads and writes over one engine, each in a `Transaction`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _tx(self) -> Transaction:
        return Transaction(self.engine)


class BankRepository(Repository):
    """Bank entries, the bank log the index shards follow, and moderators' bank changes."""

    def add_bank_entries(self, entries: Sequence[NewBankEntry]) -> list[int]:
        """Store entries and log them, in one transaction (all or nothing, however many:
        a CSV import of a million rows included): the index shards follow the log."""
        with self._tx() as conn:
            return _insert_bank_entries(conn, entries, utcnow())

    def list_bank(
        self, bank: str, limit: int = 100, offset: int = 0, query: str | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        """A page of a bank, oldest first. `query` keeps the entries whose note contains it
        (case-insensitive), whose hash (SHA-256, pHash, PDQ) starts with it, or whose item
        or author id is it: what an admin has at hand when looking for one entry."""
        b = bank_entries.c
        where = b.bank == bank
        if query:
            q = query.strip()
            hexq = q.lower()
            where = and_(
                where,
                or_(
                    func.lower(b.note).contains(q.lower(), autoescape=True),
                    b.sha256.startswith(hexq, autoescape=True),
                    b.phash.startswith(hexq, autoescape=True),
                    b.pdq.startswith(hexq, autoescape=True),
                    b.item_id == q,
                    b.author_id == q,
                ),
            )
        with self._tx() as conn:
            total = conn.execute(select(func.count()).select_from(bank_entries).where(where)).scalar_one()
            rows = conn.execute(
                select(bank_entries)
                .where(where)
                .order_by(bank_entries.c.id)
                .limit(limit)
                .offset(offset)
            ).all()
        return int(total), [_bank_row(r) for r in rows]

    def delete_bank_entry(self, bank: str, entry_id: int) -> None:
        with self._tx() as conn:
            res = conn.execute(
                delete(bank_entries).where(bank_entries.c.bank == bank, bank_entries.c.id == entry_id)
            )
            if res.rowcount == 0:
                raise NotFound(f"no entry {entry_id} in bank {bank!r}")
            _log_bank_changes(conn, [(entry_id, "remove")])

    def iter_bank_entries(
        self, batch: int = 10_000, bank: str | None = None, shard: tuple[int, int] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every entry of one bank or of every bank (or of one index shard: `(k, n)` keeps the
        ids equal to k modulo n), in id order, a batch at a time (keyset paging: each batch
        costs the same however far in): the index rebuild, CSV export."""
        last = 0
        while True:
            query = select(bank_entries).where(bank_entries.c.id > last)
            if bank is not None:
                query = query.where(bank_entries.c.bank == bank)
            if shard is not None:
                query = query.where(bank_entries.c.id % shard[1] == shard[0])
            with self._tx() as conn:
                rows = conn.execute(query.order_by(bank_entries.c.id).limit(batch)).all()
            if not rows:
                return
            last = rows[-1].id
            yield [_bank_row(r) for r in rows]

    def bank_log_position(self) -> int:
        """The newest change's sequence number (0 before the first)."""
        with self._tx() as conn:
            return int(conn.execute(select(func.coalesce(func.max(bank_log.c.seq), 0))).scalar_one())

    def bank_log_after(self, after: int, since: datetime, shard: tuple[int, int] | None = None) -> list[tuple[int, int, str]]:
        """(seq, entry id, op) of the changes past `after`, and of those logged since `since`:
        on PostgreSQL writers commit out of order, so a change numbered below one already
        seen can appear later; a follower re-reads the recent past and skips what it applied."""
        c = bank_log.c
        query = select(c.seq, c.entry_id, c.op).where(or_(c.seq > after, c.at >= since))
        if shard is not None:
            query = query.where(c.entry_id % shard[1] == shard[0])
        with self._tx() as conn:
            return [(int(r.seq), int(r.entry_id), str(r.op)) for r in conn.execute(query.order_by(c.seq))]

    def bank_entries_by_id(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """The entries still stored among `ids`."""
        out: list[dict[str, Any]] = []
        with self._tx() as conn:
            for chunk in _chunks(list(ids), 500):
                out += [_bank_row(r) for r in conn.execute(select(bank_entries).where(bank_entries.c.id.in_(chunk)))]
        return out

    def claim_due_bank_changes(self, limit: int = 20, now: datetime | None = None) -> list[dict[str, Any]]:
        """Moderators' bank changes past their undo window, each leased for a minute: its
        `due_at` moves forward, so a node that fails between the claim and `set_bank_entry`
        (the index down, the database busy) leaves it to be retried, not lost.
        `applied_at` is set only once applied."""
        now = now or utcnow()
        c = bank_changes.c

        def due(table: Any) -> Any:
            return and_(table.c.applied_at.is_(None), table.c.cancelled_at.is_(None), table.c.due_at <= now)

        bc = bank_changes.alias("candidate")
        sub = select(bc.c.id).where(due(bc)).order_by(bc.c.due_at).limit(limit)
        with self._tx() as conn:
            ids = claim_rows(conn, bank_changes, sub, bc, due(bank_changes), {"due_at": now + BANK_CHANGE_LEASE})
        if not ids:
            return []
        with self._tx() as conn:
            rows = conn.execute(
                select(bank_changes, items.c.id.label("item_id"), items.c.author_id, items.c.blob_sha256)
                .join(items, items.c.pk == c.item_pk)
                .where(c.id.in_(ids))
            ).all()
        return [dict(r._mapping) for r in rows]

    def apply_bank_change(self, change_id: int, entry: NewBankEntry) -> int | None:
        """Add a claimed change's entry and record the change as applied, in one transaction;
        None (and nothing added) when an undo cancelled the change meanwhile."""
        now = utcnow()
        try:
            with self._tx() as conn:
                [entry_id] = _insert_bank_entries(conn, [entry], now)
                done = conn.execute(
                    update(bank_changes)
                    .where(bank_changes.c.id == change_id, bank_changes.c.cancelled_at.is_(None), bank_changes.c.applied_at.is_(None))
                    .values(entry_id=entry_id, applied_at=now)
                )
                if done.rowcount != 1:
                    raise _ChangeCancelled
        except _ChangeCancelled:
            return None
        return entry_id

    def set_bank_entry(self, change_id: int, entry_id: int | None) -> bool:
        """Record a claimed change as applied (as `entry_id`), or as given up (None). False
        when an undo cancelled it meanwhile: the caller removes the entry it added."""
        now = utcnow()
        values: dict[str, Any] = {"entry_id": entry_id, "applied_at": now} if entry_id is not None else {"cancelled_at": now}
        with self._tx() as conn:
            done = conn.execute(
                update(bank_changes)
                .where(bank_changes.c.id == change_id, bank_changes.c.cancelled_at.is_(None), bank_changes.c.applied_at.is_(None))
                .values(**values)
            )
        return bool(done.rowcount)

    def bank_entries_for_item(self, item_id: str, bank: str | None = None) -> list[dict[str, Any]]:
        """The bank entries moderators' decisions on an item put in a bank (of `bank`, or of
        every bank) that are still there, oldest first: what an unban removes. A change
        still in its undo window has no entry yet (undoing the decision cancels it)."""
        c = bank_changes.c
        query = (
            select(c.bank, c.entry_id, c.decision_id, c.actor, c.applied_at)
            .join(items, items.c.pk == c.item_pk)
            .join(bank_entries, and_(bank_entries.c.id == c.entry_id, bank_entries.c.bank == c.bank))
            .where(items.c.id == item_id, c.applied_at.is_not(None), c.cancelled_at.is_(None))
            .order_by(c.id)
        )
        if bank is not None:
            query = query.where(c.bank == bank)
        with self._tx() as conn:
            if conn.execute(select(items.c.pk).where(items.c.id == item_id)).first() is None:
                raise NotFound(f"no item with id {item_id!r}")
            rows = conn.execute(query).all()
        return [
            {"bank": r.bank, "entry_id": int(r.entry_id), "decision_id": int(r.decision_id), "actor": r.actor, "applied_at": aware(r.applied_at)}
            for r in rows
        ]



class BacktestRepository(Repository):
    """Stored items as a replay reads them, and the backtests' summaries."""

    def iter_replay_items(self, batch: int = 2_000, types: Sequence[str] = ("text", "photo")) -> Iterator[list[dict[str, Any]]]:
        """Stored items with what a replay needs, a batch at a time in primary-key order
        (keyset paging): content (a photo's bytes), the automatic decision and its reasons,
        and `judged`, the last standing human judgement (a moderator's decision or a QA
        verdict: `{"decision", "label"}`, the label a moderator gave if any), else None."""
        last = 0
        while True:
            query = (
                select(items.c.pk, items.c.id, items.c.type, items.c.context, items.c.author_id, items.c.text,
                       items.c.locale, items.c.first_decision, items.c.reasons, blobs.c.data)
                .outerjoin(blobs, blobs.c.sha256 == items.c.blob_sha256)
                .where(items.c.pk > last, items.c.type.in_(list(types)))
                .order_by(items.c.pk)
                .limit(batch)
            )
            with self._tx() as conn:
                rows = conn.execute(query).all()
                if not rows:
                    return
                judged: dict[int, dict[str, Any]] = {}
                human = conn.execute(
                    select(decisions.c.item_pk, decisions.c.decision, decisions.c.reasons)
                    .where(decisions.c.item_pk.in_([r.pk for r in rows]), decisions.c.kind.in_(("human", "qa")),
                           decisions.c.undone.is_(False))
                    .order_by(decisions.c.id)
                )
                for h in human:  # the last one stands
                    label = ((h.reasons or [{}])[0] or {}).get("label")
                    judged[h.item_pk] = {"decision": h.decision, "label": label}
            last = rows[-1].pk
            yield [
                {"id": r.id, "type": r.type, "context": r.context, "author_id": r.author_id, "text": r.text,
                 "locale": r.locale, "image": bytes(r.data) if r.data is not None else None,
                 "first_decision": r.first_decision, "reasons": r.reasons or [], "judged": judged.get(r.pk)}
                for r in rows
            ]

    def save_backtest(self, actor: str, summary: dict[str, Any]) -> int:
        """Keep a backtest's summary; its headline figures also go in their own columns."""
        with self._tx() as conn:
            res = conn.execute(
                insert(backtests).values(
                    created_at=utcnow(),
                    actor=actor,
                    policy_version=summary["policy_version"],
                    source=summary["source"][:256],
                    workers=summary["workers"],
                    items=summary["items"],
                    changed=summary["changed"],
                    automation_before=summary["automation"]["before"]["value"],
                    automation_after=summary["automation"]["after"]["value"],
                    precision_before=summary["precision"]["before"]["value"],
                    precision_after=summary["precision"]["after"]["value"],
                    summary=summary,
                )
            )
            return int(res.inserted_primary_key[0])

    def list_backtests(self, limit: int = 20) -> list[dict[str, Any]]:
        """The last backtests, newest first."""
        with self._tx() as conn:
            rows = conn.execute(select(backtests).order_by(backtests.c.id.desc()).limit(limit)).all()
        return [
            {"id": r.id, "created_at": aware(r.created_at), "actor": r.actor, "policy_version": r.policy_version,
             "source": r.source, "workers": r.workers, "items": r.items, "changed": r.changed,
             "automation_before": r.automation_before, "automation_after": r.automation_after,
             "precision_before": r.precision_before, "precision_after": r.precision_after, "summary": r.summary}
            for r in rows
        ]



class Store(BankRepository, BacktestRepository):
    """Items, blobs, banks, API keys and the audit log."""

    def ping(self) -> None:
        with self._tx() as conn:
            conn.execute(select(1))

    # -- API keys ---------------------------------------------------------------------------

    def create_api_key(
        self, name: str, webhook_url: str | None = None, scopes: Sequence[str] = DEFAULT_SCOPES
    ) -> tuple[str, str]:
        """Returns (key, webhook secret). Only the key's hash is stored; the key is shown once."""
        unknown = sorted(set(scopes) - set(API_KEY_SCOPES))
        if unknown:
            raise InvalidInput(f"unknown scope {', '.join(unknown)}; known: {', '.join(API_KEY_SCOPES)}")
        key = "mk_" + secrets.token_urlsafe(32)
        # Every key gets a signing secret: webhooks to an item's own callback_url are signed too.
        secret = "whsec_" + secrets.token_urlsafe(32)
        with self._tx() as conn:
            conn.execute(
                insert(api_keys).values(
                    name=name,
                    key_hash=hash_secret(key),
                    prefix=key[:8],
                    webhook_url=webhook_url,
                    webhook_secret=secret,
                    created_at=utcnow(),
                    scopes=",".join(sc for sc in API_KEY_SCOPES if sc in scopes),
                )
            )
        return key, secret

    def authenticate(self, key: str) -> ApiKey | None:
        """The live key, its `last_used_at` brought up to date (a write at most once a minute
        per key: the API caches a checked key for 30 s, so this runs once per 30 s at most)."""
        now = utcnow()
        with self._tx() as conn:
            row = conn.execute(
                select(api_keys).where(api_keys.c.key_hash == hash_secret(key), api_keys.c.revoked_at.is_(None))
            ).first()
            if row is not None and (row.last_used_at is None or now - aware(row.last_used_at) > KEY_USE_RESOLUTION):
                conn.execute(update(api_keys).where(api_keys.c.id == row.id).values(last_used_at=now))
        if row is None:
            return None
        return ApiKey(
            id=row.id,
            name=row.name,
            webhook_url=row.webhook_url,
            webhook_secret=row.webhook_secret,
            scopes=frozenset(sc for sc in row.scopes.split(",") if sc),
        )

    def list_api_keys(self) -> list[dict[str, Any]]:
        """Every key, revoked ones included (an admin sees what was revoked and when); never
        the key or its signing secret, which are shown once at creation."""
        with self._tx() as conn:
            rows = conn.execute(select(api_keys).order_by(api_keys.c.id)).all()
        return [
            {
                "id": r.id,
                "name": r.name,
                "prefix": r.prefix,
                "scopes": [sc for sc in r.scopes.split(",") if sc],
                "webhook_url": r.webhook_url,
                "created_at": aware(r.created_at),
                "last_used_at": aware(r.last_used_at),
                "revoked_at": aware(r.revoked_at),
            }
            for r in rows
        ]

    def revoke_api_key(self, key_id: int) -> bool:
        """Revoke a key; False when it was revoked already (its first revocation time stays).
        Other processes may accept it for up to their key cache's 30 s."""
        with self._tx() as conn:
            if conn.execute(select(api_keys.c.id).where(api_keys.c.id == key_id)).first() is None:
                raise NotFound(f"no API key {key_id}")
            res = conn.execute(
                update(api_keys).where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)).values(revoked_at=utcnow())
            )
        return bool(res.rowcount)

    def key_owns_item(self, key_id: int, item_id: str) -> bool:
        """Whether the item was submitted with this key: a key reads only its own items."""
        with self._tx() as conn:
            row = conn.execute(select(items.c.api_key_id).where(items.c.id == item_id)).first()
        return row is not None and row.api_key_id == key_id

    # -- items ------------------------------------------------------------------------------

    def find_items(self, ids: Sequence[str]) -> dict[str, StoredItem]:
        if not ids:
            return {}
        out: dict[str, StoredItem] = {}
        with self._tx() as conn:
            for chunk in _chunks(list(ids), 500):
                for row in conn.execute(select(items).where(items.c.id.in_(chunk))):
                    out[row.id] = _stored(row)
        return out

    def save_items(self, new: Sequence[NewItem]) -> dict[str, StoredItem]:
        """Insert items with their first decision (and review task) in one transaction.

        Returns what is stored for every id: for an id that a concurrent request stored
        first, the earlier row (the caller compares content hashes for idempotency).
        """
        if not new:
            return {}
        now = utcnow()
        try:
            with self._tx() as conn:
                pks = self._insert_items(conn, new, now)
        except Conflict:
            # A concurrent request stored some of these ids first: insert the others one by
            # one, then read back what is stored (theirs or ours) for every id.
            for item in new:
                try:
                    with self._tx() as conn:
                        self._insert_items(conn, [item], now)
                except Conflict:
                    pass
            return self.find_items([i.id for i in new])
        # The common case: everything is ours, no need to read it back.
        return {i.id: _stored_new(i, pks[i.id], now) for i in new}

    def _insert_items(self, conn: Connection, new: Sequence[NewItem], now: datetime) -> dict[str, int]:
        """Insert the rows; returns each item's primary key."""
        # Each image's SHA-256 once: it names the blob row and the item's reference to it.
        blob_sha = [hashlib.sha256(i.image).hexdigest() if i.image is not None else None for i in new]
        blob_rows = {
            sha: {"sha256": sha, "media_type": i.media_type or "application/octet-stream", "data": i.image}
            for i, sha in zip(new, blob_sha)
            if sha is not None
        }
        if blob_rows:
            present = set(conn.execute(select(blobs.c.sha256).where(blobs.c.sha256.in_(list(blob_rows)))).scalars())
            missing = [r for s, r in blob_rows.items() if s not in present]
            if missing:
                conn.execute(insert(blobs), missing)
        rows = []
        for i, sha in zip(new, blob_sha):
            status, final = _first_state(i.decision)
            rows.append(
                {
                    "id": i.id,
                    "type": i.type,
                    "context": i.context,
                    "author_id": i.author_id,
                    "content_sha256": i.content_sha256,
                    "text": i.text,
                    "blob_sha256": sha,
                    "locale": i.locale,
                    "language": i.language,
                    "metadata": i.metadata,
                    "api_key_id": i.api_key_id,
                    "callback_url": i.callback_url,
                    "status": status,
                    "first_decision": i.decision,
                    "final_decision": final,
                    "reasons": i.reasons,
                    "scores": i.scores,
                    "features": i.features,
                    "policy_version": i.policy_version,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        conn.execute(insert(items), rows)
        pks = dict(conn.execute(select(items.c.id, items.c.pk).where(items.c.id.in_([i.id for i in new]))).all())
        search.index_items(conn, [(pks[i.id], i.text, i.reasons) for i in new])
        conn.execute(
            insert(decisions),
            [
                {
                    "item_pk": pks[i.id],
                    "kind": "auto",
                    "decision": i.decision,
                    "reasons": i.reasons,
                    "policy_version": i.policy_version,
                    "actor": "policy",
                    "undone": False,
                    "created_at": now,
                }
                for i in new
            ],
        )
        tasks = [
            {
                "item_pk": pks[i.id],
                "queue": i.queue or f"{i.type}s",
                "priority": i.priority,
                "status": "open",
                "created_at": now,
            }
            for i in new
            if i.decision == "review"
        ] + [
            # QA is drawn when the item is written, in its transaction: no cursor to skip past
            # items that several writers commit out of order
            {"item_pk": pks[i.id], "queue": QA_QUEUE, "priority": 9, "status": "open", "created_at": now}
            for i in new
            if i.qa_sample and i.decision != "review"
        ]
        if tasks:
            conn.execute(insert(review_tasks), tasks)
        # approved photos join the seen bank in the same transaction: an answered approval
        # is never left out of it (a retry of the request replays, it does not analyse again)
        _insert_bank_entries(conn, [i.seen for i in new if i.seen is not None], now)
        return pks

    def get_item(self, item_id: str) -> dict[str, Any]:
        with self._tx() as conn:
            row = conn.execute(select(items).where(items.c.id == item_id)).first()
            if row is None:
                raise NotFound(f"no item with id {item_id!r}")
            history = conn.execute(
                select(decisions).where(decisions.c.item_pk == row.pk).order_by(decisions.c.id)
            ).all()
            tasks = conn.execute(select(review_tasks).where(review_tasks.c.item_pk == row.pk)).all()
        human = [h for h in history if h.kind == "human" and not h.undone]
        return {
            "id": row.id,
            "type": row.type,
            "context": row.context,
            "author_id": row.author_id,
            "status": row.status,
            "first_decision": row.first_decision,
            "human_decision": row.human_decision,
            "final_decision": row.final_decision,
            "reasons": row.reasons,
            "scores": row.scores,
            "policy_version": row.policy_version,
            "language": row.language,
            "locale": row.locale,
            "metadata": row.metadata,
            "text": row.text,
            "has_photo": row.blob_sha256 is not None,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "human_decided_at": human[-1].created_at if human else None,
            "history": [
                {
                    "decision_id": h.id,
                    "kind": h.kind,
                    "decision": h.decision,
                    "actor": h.actor,
                    "note": h.note,
                    "reason_code": (h.reasons[0] or {}).get("reason_code") if h.kind in ("human", "qa") and h.reasons else None,
                    "policy_version": h.policy_version,
                    "undone": bool(h.undone),
                    "at": h.created_at,
                }
                for h in history
            ],
            "review": [{"task_id": t.id, "queue": t.queue, "status": t.status} for t in tasks],
        }

    def search(self, query: search.SearchQuery) -> search.SearchPage:
        """Items matching `query`, newest first (`moderation.store.search`)."""
        with self._tx() as conn:
            return search.find(conn, query)

    def recent_texts(self, since: datetime, contexts: Sequence[str]) -> list[tuple[str, str, float]]:
        """(author, text, epoch seconds) of the texts of `contexts` stored since `since`, oldest
        first: what the campaign window is rebuilt from when it restarts."""
        if not contexts:
            return []
        query = (
            select(items.c.author_id, items.c.text, items.c.created_at)
            .where(items.c.created_at >= since, items.c.type == "text", items.c.context.in_(list(contexts)))
            .order_by(items.c.created_at, items.c.pk)
        )
        with self._tx() as conn:
            return [(r.author_id, r.text or "", aware(r.created_at).timestamp()) for r in conn.execute(query)]

    def count_items(self) -> int:
        with self._tx() as conn:
            return int(conn.execute(select(func.count()).select_from(items)).scalar_one())

    def queue_depths(self) -> dict[str, int]:
        with self._tx() as conn:
            rows = conn.execute(
                select(review_tasks.c.queue, func.count())
                .where(review_tasks.c.status == "open")
                .group_by(review_tasks.c.queue)
            ).all()
        return {q: int(n) for q, n in rows}

    def get_blob(self, sha256: str) -> tuple[bytes, str]:
        with self._tx() as conn:
            row = conn.execute(select(blobs).where(blobs.c.sha256 == sha256)).first()
        if row is None:
            raise NotFound("no such blob")
        return bytes(row.data), row.media_type

    # -- audit ------------------------------------------------------------------------------

    def audit(self, actor: str, action: str, target: str | None = None, detail: dict[str, Any] | None = None) -> None:
        with self._tx() as conn:
            conn.execute(insert(audit_log).values(at=utcnow(), actor=actor, action=action, target=target, detail=detail))


class Transaction:
    """A transaction whose database errors come out as our exceptions."""

    def __init__(self, engine: Engine) -> None:
        self._cm = engine.begin()

    def __enter__(self) -> Connection:
        try:
            return self._cm.__enter__()
        except OperationalError as exc:
            raise Unavailable(f"database unavailable: {exc.orig}") from exc

    def __exit__(self, exc_type, exc, tb) -> bool:  # type: ignore[no-untyped-def]
        try:
            self._cm.__exit__(exc_type, exc, tb)
        except IntegrityError as e:
            raise Conflict(f"conflicting write: {e.orig}") from e
        except OperationalError as e:
            raise Unavailable(f"database unavailable: {e.orig}") from e
        if isinstance(exc, IntegrityError):
            raise Conflict(f"conflicting write: {exc.orig}") from exc
        if isinstance(exc, OperationalError):
            raise Unavailable(f"database unavailable: {exc.orig}") from exc
        return False


def _chunks(seq: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _first_state(decision: str) -> tuple[str, str | None]:
    """(status, final decision) of an item right after its automatic decision."""
    return ("pending_review", None) if decision == "review" else ("decided", decision)


# Any constant: the advisory lock that orders bank log writers on PostgreSQL.
_BANK_LOG_LOCK = 0x6D6F64  # "mod"


class _ChangeCancelled(Exception):
    """Rolls back a bank change's entry when an undo cancelled the change first."""


# Rows per INSERT of bank entries: one statement's parameters stay small however long a
# CSV import is (SQLAlchemy sends each as multi-row VALUES with RETURNING).
BANK_INSERT_CHUNK = 5_000


def _insert_bank_entries(conn: Connection, entries: Sequence[NewBankEntry], now: datetime) -> list[int]:
    """Insert entries in chunks of BANK_INSERT_CHUNK (executemany, ids returned in the
    entries' order), then log them; all in the caller's transaction."""
    ids: list[int] = []
    statement = insert(bank_entries).returning(bank_entries.c.id, sort_by_parameter_order=True)
    for chunk in _chunks(list(entries), BANK_INSERT_CHUNK):
        rows = [
            {"bank": e.bank, "sha256": e.sha256, "phash": e.phash, "pdq": e.pdq, "pdq_quality": e.pdq_quality,
             "variants": e.variants, "note": e.note, "author_id": e.author_id, "item_id": e.item_id,
             "created_at": now, "created_by": e.created_by}
            for e in chunk
        ]
        ids += [int(i) for i in conn.execute(statement, rows).scalars()]
    if ids:
        _log_bank_changes(conn, [(i, "add") for i in ids])
    return ids


def _log_bank_changes(conn: Connection, changes: Sequence[tuple[int, str]]) -> None:
    """Append (entry id, add | remove) to the bank log, last thing in the transaction. On
    PostgreSQL writers first take one advisory lock, held to their commit: sequence numbers
    then become visible in order, so a shard that has read up to N never sees a change
    below N later (SQLite serializes writers already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_BANK_LOG_LOCK)))
    now = utcnow()
    conn.execute(insert(bank_log), [{"entry_id": e, "op": op, "at": now} for e, op in changes])


def _stored_new(i: NewItem, pk: int, now: datetime) -> StoredItem:
    """What `_stored` would read back for an item just inserted (see `_insert_items`)."""
    status, final = _first_state(i.decision)
    return StoredItem(
        pk=pk,
        id=i.id,
        type=i.type,
        content_sha256=i.content_sha256,
        first_decision=i.decision,
        final_decision=final,
        status=status,
        reasons=i.reasons,
        scores=i.scores,
        policy_version=i.policy_version,
        locale=i.locale,
        created_at=now,
        updated_at=now,
        context=i.context,
    )


def _stored(row: Any) -> StoredItem:
    return StoredItem(
        pk=row.pk,
        id=row.id,
        type=row.type,
        content_sha256=row.content_sha256,
        first_decision=row.first_decision,
        final_decision=row.final_decision,
        status=row.status,
        reasons=row.reasons,
        scores=row.scores,
        policy_version=row.policy_version,
        locale=row.locale,
        human_decision=row.human_decision,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
        context=row.context,
    )


def _bank_row(r: Any) -> dict[str, Any]:
    return {
        "entry_id": r.id,
        "bank": r.bank,
        "sha256": r.sha256,
        "phash": r.phash,
        "pdq": r.pdq,
        "pdq_quality": r.pdq_quality,
        "variants": r.variants,
        "note": r.note,
        "author_id": r.author_id,
        "item_id": r.item_id,
        "created_at": r.created_at,
        "created_by": r.created_by,
    }
