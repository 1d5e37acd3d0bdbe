"""Finding stored items: full text over their texts, and filters by id, author, reason
category, decision, queue and date.

The words are made here, in Python, for both databases: each text is folded the way the
rules see it (`text.normalize.normalize_for_contacts`: case, accents, ligatures,
Cyrillic look-alikes), then cut into runs of letters and digits. SQLite keeps them in an
FTS5 table, PostgreSQL in a `tsvector` column under a GIN index; neither parses the text
itself, so both hold the same words whatever their tokenizer, parser or locale, and
answer a query alike (no `unaccent` extension to install either). A query is folded the
same way; every word must be found, a word of three characters or more as a prefix
("annul" finds "annulé" and "annulation"), a shorter one whole ("06"). There is no
stemming: prefixes give most of what French and English plurals need without a
dictionary per language.

Items are written once and never change their text or reasons, so the index is written
with the item (`index_items`, in `Store.save_items`'s transaction) and never updated.
A change of the folding or of `words` needs the index rebuilt (`rebuild`), as the
migration that created it does.

    TextIndex          the full-text index of one database: create, add, match
    ├── Fts5Index      SQLite: a contentless FTS5 table, rowid = item pk
    └── TsvectorIndex  PostgreSQL: item_search(item_pk, words tsvector) + GIN
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    cast,
    column,
    insert,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlalchemy.engine import Connection
from sqlalchemy.types import Text

from moderation.errors import InvalidInput
from moderation.store.tables import item_categories, items, review_tasks
from moderation.text.normalize import normalize_for_contacts

_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script; "_" separates like punctuation
MAX_WORD = 64  # longer runs (base64, hashes) are not words anyone searches for: not indexed
PREFIX_FROM = 3  # a query word this long matches as a prefix; shorter ones match whole
MAX_TERMS = 16
MAX_LIMIT = 100
MAX_OFFSET = 10_000  # deep pages cost a scan of everything before them: narrow the search instead
EXCERPT_CHARS = 200
DECISIONS: Final = ("approve", "reject", "review")


def words(text: str | None) -> list[str]:
    """The distinct words of a text as the index holds them, sorted."""
    if not text:
        return []
    return sorted({w for w in _WORD.findall(normalize_for_contacts(text).text) if len(w) <= MAX_WORD})


def query_terms(q: str) -> list[str]:
    """The words of a query, in order, once each."""
    seen: dict[str, None] = {}
    for w in _WORD.findall(normalize_for_contacts(q).text):
        if len(w) <= MAX_WORD:
            seen.setdefault(w)
    return list(seen)


def _matches(word: str, term: str) -> bool:
    return word.startswith(term) if len(term) >= PREFIX_FROM else word == term


@dataclass(frozen=True)
class SearchQuery:
    """What a moderator looks for; every field narrows the search. Checked when built:
    InvalidInput names the first bad field."""

    text: str | None = None
    item_id: str | None = None
    author_id: str | None = None
    category: str | None = None
    decision: str | None = None  # the decision in force: approve, reject, or review (still waiting)
    queue: str | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    limit: int = 20
    offset: int = 0
    terms: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        if self.text is not None:
            terms = query_terms(self.text)
            if not terms:
                raise InvalidInput("the query has no word to search for (letters or digits)", field="q")
            if len(terms) > MAX_TERMS:
                raise InvalidInput(f"the query has {len(terms)} words; at most {MAX_TERMS}", field="q")
            object.__setattr__(self, "terms", tuple(terms))
        if self.decision is not None and self.decision not in DECISIONS:
            raise InvalidInput(f"decision must be one of {', '.join(DECISIONS)}", field="decision")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must lie in [1, {MAX_LIMIT}]", field="limit")
        if not 0 <= self.offset <= MAX_OFFSET:
            raise InvalidInput(f"offset must lie in [0, {MAX_OFFSET}]", field="offset")
        for name in ("since", "until"):
            t = getattr(self, name)
            if t is not None:
                if t.tzinfo is None:
                    raise InvalidInput(f"{name} needs a time zone (e.g. 2026-01-31T00:00:00Z)", field=name)
                try:
                    # SQLite stores UTC without its zone: compare in UTC on both databases
                    object.__setattr__(self, name, t.astimezone(UTC))
                except OverflowError:
                    raise InvalidInput(f"{name} is out of range", field=name) from None
        if self.since is not None and self.until is not None and self.since > self.until:
            raise InvalidInput("since is after until", field="since")


@dataclass(frozen=True)
class SearchPage:
    hits: list[dict[str, Any]]
    more: bool  # another page follows


class TextIndex(ABC):
    """The full-text index of item texts in one database. Rows are (item pk, words)."""

    name = "item_search"

    @abstractmethod
    def create(self, conn: Connection) -> None:
        """Create the index's tables (a migration step)."""

    @abstractmethod
    def drop(self, conn: Connection) -> None:
        """Drop them (the migration's downgrade)."""

    @abstractmethod
    def add(self, conn: Connection, rows: Sequence[tuple[int, list[str]]]) -> None:
        """Index items given as (pk, words); no row is written for an item without words."""

    @abstractmethod
    def source(self, terms: Sequence[str]) -> tuple[Any, ColumnElement[Any], ColumnElement[bool]]:
        """(what to select from, its item pk column, the match condition) for `terms`,
        joined to `items` by the caller."""

    @abstractmethod
    def size_bytes(self, conn: Connection) -> int:
        """Bytes the index takes on disk (tables and indexes): what it costs."""


class Fts5Index(TextIndex):
    """A contentless FTS5 table: words only, no copy of the text (the text is in `items`),
    no positions (`detail=none`: no phrase queries, and the smallest index). The `ascii`
    tokenizer splits on ASCII punctuation and spaces only, so the words `words` made are
    kept exactly as they are."""

    _table = table("item_search", column("rowid"), column("words"))

    def create(self, conn: Connection) -> None:
        conn.exec_driver_sql(
            "CREATE VIRTUAL TABLE item_search USING fts5(words, content='', detail='none', tokenize='ascii')"
        )

    def drop(self, conn: Connection) -> None:
        conn.exec_driver_sql("DROP TABLE IF EXISTS item_search")

    def add(self, conn: Connection, rows: Sequence[tuple[int, list[str]]]) -> None:
        values = [{"rowid": pk, "words": " ".join(ws)} for pk, ws in rows if ws]
        if values:
            conn.execute(insert(self._table), values)

    def source(self, terms: Sequence[str]) -> tuple[Any, ColumnElement[Any], ColumnElement[bool]]:
        # terms are letters and digits only: quoting them leaves no FTS5 syntax to inject
        expr = " AND ".join(f'"{t}"*' if len(t) >= PREFIX_FROM else f'"{t}"' for t in terms)
        return self._table, self._table.c.rowid, literal_column("item_search").op("MATCH")(bindparam("fts", expr))

    def size_bytes(self, conn: Connection) -> int:
        # FTS5 keeps its data in shadow tables item_search_*; dbstat sums their pages
        return int(
            conn.exec_driver_sql("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name LIKE 'item\\_search\\_%' ESCAPE '\\'").scalar_one()
        )


class TsvectorIndex(TextIndex):
    """`item_search(item_pk, words tsvector)` under a GIN index. The tsvector is built with
    `array_to_tsvector` from the words as they are (no parser, no dictionary), and a query
    is cast to `tsquery` as written (`'word':*`), so PostgreSQL's parser and locale never
    see the text."""

    _table = table("item_search", column("item_pk"), column("words"))

    def create(self, conn: Connection) -> None:
        conn.exec_driver_sql("CREATE TABLE item_search (item_pk BIGINT PRIMARY KEY, words TSVECTOR NOT NULL)")
        conn.exec_driver_sql("CREATE INDEX ix_item_search_words ON item_search USING gin (words)")

    def drop(self, conn: Connection) -> None:
        conn.exec_driver_sql("DROP TABLE IF EXISTS item_search")

    def add(self, conn: Connection, rows: Sequence[tuple[int, list[str]]]) -> None:
        values = [{"pk": pk, "words": ws} for pk, ws in rows if ws]
        if values:
            conn.execute(
                text("INSERT INTO item_search (item_pk, words) VALUES (:pk, array_to_tsvector(:words))").bindparams(
                    bindparam("words", type_=ARRAY(Text))
                ),
                values,
            )

    def source(self, terms: Sequence[str]) -> tuple[Any, ColumnElement[Any], ColumnElement[bool]]:
        expr = " & ".join(f"'{t}':*" if len(t) >= PREFIX_FROM else f"'{t}'" for t in terms)
        return self._table, self._table.c.item_pk, self._table.c.words.op("@@")(cast(bindparam("tsq", expr), TSQUERY))

    def size_bytes(self, conn: Connection) -> int:
        return int(conn.exec_driver_sql("SELECT pg_total_relation_size('item_search')").scalar_one())


INDEXES: dict[str, type[TextIndex]] = {"sqlite": Fts5Index, "postgresql": TsvectorIndex}


def text_index(dialect: str) -> TextIndex:
    try:
        return INDEXES[dialect]()
    except KeyError:
        raise InvalidInput(f"no full-text index for database {dialect!r}; known: {', '.join(INDEXES)}") from None


def categories(reasons: Iterable[dict[str, Any]] | None) -> list[str]:
    return sorted({str(r["category"])[:64] for r in reasons or [] if isinstance(r, dict) and r.get("category")})


def index_items(conn: Connection, rows: Sequence[tuple[int, str | None, list[dict[str, Any]] | None]]) -> None:
    """Index freshly stored items, given as (pk, text, reasons), in the caller's transaction."""
    text_index(conn.dialect.name).add(conn, [(pk, words(t)) for pk, t, _ in rows])
    cats = [{"item_pk": pk, "category": c} for pk, _, reasons in rows for c in categories(reasons)]
    if cats:
        conn.execute(insert(item_categories), cats)


def rebuild(conn: Connection, batch: int = 2000) -> int:
    """Index every stored item (the index and `item_categories` empty): what a migration
    runs once. Keyset paging, so each batch costs the same however far in. Returns the
    number of items read."""
    last, n = 0, 0
    while True:
        rows = conn.execute(
            select(items.c.pk, items.c.text, items.c.reasons).where(items.c.pk > last).order_by(items.c.pk).limit(batch)
        ).all()
        if not rows:
            return n
        index_items(conn, [(r.pk, r.text, r.reasons) for r in rows])
        last, n = rows[-1].pk, n + len(rows)


def find(conn: Connection, q: SearchQuery) -> SearchPage:
    """The items matching `q`, newest first (by insertion), a page at a time."""
    c = items.c
    cols = [c.pk, c.id, c.type, c.context, c.author_id, c.text, c.status, c.first_decision, c.human_decision,
            c.final_decision, c.reasons, c.created_at]
    stmt: Select[Any]
    if q.terms:
        source, key, matched = text_index(conn.dialect.name).source(q.terms)
        # ordered by the index's own key: FTS5 walks its matches newest first and stops at the limit
        stmt = select(*cols).select_from(source.join(items, c.pk == key)).where(matched).order_by(key.desc())
    else:
        stmt = select(*cols).order_by(c.pk.desc())
    if q.item_id is not None:
        stmt = stmt.where(c.id == q.item_id)
    if q.author_id is not None:
        stmt = stmt.where(c.author_id == q.author_id)
    if q.category is not None:
        stmt = stmt.where(c.pk.in_(select(item_categories.c.item_pk).where(item_categories.c.category == q.category)))
    if q.decision == "review":
        stmt = stmt.where(c.status == "pending_review")
    elif q.decision is not None:
        stmt = stmt.where(c.final_decision == q.decision)
    if q.queue is not None:
        stmt = stmt.where(c.pk.in_(select(review_tasks.c.item_pk).where(review_tasks.c.queue == q.queue)))
    if q.since is not None:
        stmt = stmt.where(c.created_at >= q.since)
    if q.until is not None:
        stmt = stmt.where(c.created_at < q.until)
    rows = conn.execute(stmt.limit(q.limit + 1).offset(q.offset)).all()
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    queues: dict[int, list[dict[str, str]]] = {}
    if rows:
        t = review_tasks.c
        for r in conn.execute(select(t.item_pk, t.queue, t.status).where(t.item_pk.in_([r.pk for r in rows])).order_by(t.id)):
            queues.setdefault(r.item_pk, []).append({"queue": r.queue, "status": r.status})
    hits = []
    for r in rows:
        shown, marks = excerpt(r.text, q.terms) if r.text is not None else (None, [])
        hits.append(
            {
                "id": r.id,
                "type": r.type,
                "context": r.context,
                "author_id": r.author_id,
                "status": r.status,
                "first_decision": r.first_decision,
                "human_decision": r.human_decision,
                "final_decision": r.final_decision,
                "categories": categories(r.reasons),
                "review": queues.get(r.pk, []),
                "created_at": r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC),
                "excerpt": shown,
                "highlights": marks,
            }
        )
    return SearchPage(hits, more)


def excerpt(original: str, terms: Sequence[str], width: int = EXCERPT_CHARS) -> tuple[str, list[list[int]]]:
    """Up to `width` characters of the text around its first match, and the [start, end)
    spans of the matched words in that excerpt (an ellipsis marks a cut)."""
    marks: list[tuple[int, int]] = []
    if terms:
        norm = normalize_for_contacts(original)
        for m in _WORD.finditer(norm.text):
            if any(_matches(m.group(), t) for t in terms):
                marks.append(norm.span_to_original(m.start(), m.end()))
    start = max(0, marks[0][0] - width // 4) if marks else 0
    end = min(len(original), start + width)
    start = max(0, min(start, end - width))
    head, tail = ("…" if start > 0 else ""), ("…" if end < len(original) else "")
    shift = len(head) - start
    spans = [[s + shift, min(e, end) + shift] for s, e in marks if s >= start and s < end]
    return head + original[start:end] + tail, spans
