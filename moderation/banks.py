"""Banks of photos (`banned`, `allowed`, `seen`, ...): the only way into and out of a bank.

The database is the truth; the index shards are a copy built from it. Every way in (a
bank upload, a CSV import, an approved photo remembered as seen, a moderator's decision
after its undo window) stores the entry first, then adds it to the index; every way out
removes it from the database, then from the index. This module is also the one place an
entry changes shape: a stored row, a new entry, the index's `BankEntry`, a CSV line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import URL, make_url
from starlette.concurrency import run_in_threadpool

from moderation.errors import InvalidInput
from moderation.photos.banks import BankEntry
from moderation.photos.decode import DecodeLimits
from moderation.photos.hashing import PhotoHashes, hash_upload
from moderation.spreadsheet import safe_cell
from moderation.store import StoreRef
from moderation.store.repository import NewBankEntry, Store
from moderation.workers.actors import ShardedIndex

log = logging.getLogger(__name__)

# -- conversions --------------------------------------------------------------------------


def index_entry(entry_id: int, e: NewBankEntry | dict[str, Any]) -> BankEntry:
    """A stored entry (a row as `Store` returns it, or the entry just written) as the index
    holds it: hashes as bytes, variants as tuples."""
    row = e if isinstance(e, dict) else e.__dict__
    variants = row.get("variants") or {}
    return BankEntry(
        entry_id=entry_id,
        bank=row["bank"],
        author_id=row.get("author_id"),
        sha256=row.get("sha256"),
        phash=bytes.fromhex(row["phash"]) if row.get("phash") else None,
        pdq=bytes.fromhex(row["pdq"]) if row.get("pdq") else None,
        phash_variants=tuple(bytes.fromhex(h) for h in variants.get("phash", ())),
        pdq_variants=tuple(bytes.fromhex(h) for h in variants.get("pdq", ())),
        item_id=row.get("item_id"),
        pdq_quality=row.get("pdq_quality") or 0,
    )


def photo_entry(bank: str, hashes: PhotoHashes, *, note: str | None, author_id: str | None, item_id: str | None, actor: str) -> NewBankEntry:
    """A photo's hashes (and their variants) as a new entry of `bank`."""
    return NewBankEntry(
        bank=bank,
        sha256=hashes.sha256,
        phash=hashes.phash.hex(),
        pdq=hashes.pdq.hex(),
        pdq_quality=hashes.pdq_quality,
        variants={"phash": [h.hex() for h in hashes.phash_variants], "pdq": [h.hex() for h in hashes.pdq_variants]},
        note=note,
        author_id=author_id,
        item_id=item_id,
        created_by=actor,
    )


def entry_out(entry_id: int, e: NewBankEntry) -> dict[str, Any]:
    """What the API answers for an entry just added."""
    return {"entry_id": entry_id, **{k: v for k, v in e.__dict__.items() if k != "created_by"}}


# -- CSV exchange ---------------------------------------------------------------------------
# One row per hash: hash_type (sha256 | phash | pdq), hash_hex, note, and optionally
# quality (PDQ quality, 0-100). This is the shape of the PDQ hash lists other systems
# (ThreatExchange, HMA) exchange, so their lists import as they are.

CSV_COLUMNS = ("hash_type", "hash_hex", "note", "quality", "entry_id")
_HEX_LEN = {"sha256": 64, "phash": 16, "pdq": 64}
_HEX = re.compile(r"^[0-9a-f]+$")


def parse_csv(text: str, bank: str, actor: str, max_rows: int = 1_000_000) -> list[NewBankEntry]:
    """Validate a whole CSV before anything is stored; errors name the line."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"hash_type", "hash_hex"} <= {f.strip() for f in reader.fieldnames}:
        raise InvalidInput("the CSV needs a header with at least hash_type and hash_hex columns")
    out: list[NewBankEntry] = []
    for row in reader:
        line = reader.line_num
        if len(out) >= max_rows:
            raise InvalidInput(f"more than {max_rows} rows; split the file")
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        kind = row.get("hash_type", "").lower()
        value = row.get("hash_hex", "").lower()
        if kind not in _HEX_LEN:
            raise InvalidInput(f"line {line}: hash_type must be sha256, phash or pdq, not {kind!r}")
        if len(value) != _HEX_LEN[kind] or not _HEX.match(value):
            raise InvalidInput(f"line {line}: a {kind} hash is {_HEX_LEN[kind]} hex digits, got {value[:80]!r}")
        quality: int | None = None
        if row.get("quality"):
            try:
                quality = int(row["quality"])
            except ValueError:
                raise InvalidInput(f"line {line}: quality must be an integer 0-100") from None
            if not 0 <= quality <= 100:
                raise InvalidInput(f"line {line}: quality must be an integer 0-100")
        out.append(
            NewBankEntry(
                bank=bank,
                sha256=value if kind == "sha256" else None,
                phash=value if kind == "phash" else None,
                pdq=value if kind == "pdq" else None,
                pdq_quality=(quality if quality is not None else 100) if kind == "pdq" else None,
                variants=None,
                note=row.get("note") or None,
                author_id=None,
                item_id=None,
                created_by=actor,
            )
        )
    if not out:
        raise InvalidInput("the CSV has no rows")
    return out


def read_csv(data: bytes, bank: str, actor: str) -> list[NewBankEntry]:
    """`parse_csv` of an uploaded file's bytes (UTF-8, with or without a byte order mark)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInput(f"line {line}: the CSV must be UTF-8") from None
    return parse_csv(text, bank, actor)


def export_csv(entries: Iterable[dict[str, Any]]) -> str:
    """Entries as exchange CSV: one row per stored hash (variants stay internal)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for e in entries:
        note = safe_cell(e.get("note") or "")
        for kind in ("sha256", "phash", "pdq"):
            if e.get(kind):
                quality = e.get("pdq_quality") if kind == "pdq" else None
                w.writerow((kind, e[kind], note, "" if quality is None else quality, e["entry_id"]))
    return buf.getvalue()


# -- what the index shards read --------------------------------------------------------------


class BankFeed:
    """The database as the index shards read it (`workers.actors.BankSource`): a shard's
    entries, the bank log's changes, entries by id. Picklable: it travels to the shards as
    a database URL, and each process opens its own engine."""

    def __init__(self, database_url: str) -> None:
        self.ref = StoreRef(database_url)

    @property
    def store(self) -> Store:
        return self.ref.store

    def position(self) -> int:
        return self.store.bank_log_position()

    def load(self, shard: int, shards: int) -> Iterator[list[BankEntry]]:
        for rows in self.store.iter_bank_entries(shard=(shard, shards)):
            yield [index_entry(r["entry_id"], r) for r in rows]

    def changes(self, after: int, since: datetime, shard: int, shards: int) -> list[tuple[int, int, str]]:
        return self.store.bank_log_after(after, since, (shard, shards))

    def entries(self, ids: Sequence[int]) -> list[BankEntry]:
        return [index_entry(r["entry_id"], r) for r in self.store.bank_entries_by_id(ids)]


def index_name(database_url: str) -> str:
    """The bank index actors' name: one index per database, shared by every API process
    on it (and a test's service on its own database gets its own). The password is left
    out of what is hashed: actor names are listed to anyone who reaches the Ray cluster,
    and a rotated password must not start a second index. A URL without one hashes as it
    always did, so running indexes keep their names."""
    url = make_url(database_url)
    if url.password is not None or "password" in url.query:
        url = URL.create(url.drivername, url.username, None, url.host, url.port, url.database, url.query)
        database_url = url.difference_update_query(["password"]).render_as_string(hide_password=False)
    return "bank-index-" + hashlib.sha256(database_url.encode()).hexdigest()[:16]


# -- the way in and out ---------------------------------------------------------------------


class Banks:
    """Bank writes and reads over the store and the index shards."""

    def __init__(self, store: Store, index: ShardedIndex, limits: DecodeLimits) -> None:
        self.store = store
        self.index = index
        self.limits = limits

    async def store_entries(self, entries: Sequence[NewBankEntry]) -> list[int]:
        """The one way into a bank: stored (and logged) in the database first; every index
        shard, whichever process it serves, follows the log; this one's are told to catch
        up now, so the entry matches when this returns."""
        if not entries:
            return []
        ids = await run_in_threadpool(self.store.add_bank_entries, entries)
        await self.sync()
        return ids

    async def sync(self) -> None:
        """Tell this process's shards to catch up with the log now (a change stored elsewhere
        in this process, such as an approved photo's seen entry, matches at once)."""
        # The change is stored: an index that cannot be reached now catches up when it
        # can (it follows the log, or reloads), so the write is not failed for it.
        try:
            await self.index.sync()
        except Exception as exc:  # noqa: BLE001 - stored and logged: the shards follow the log
            log.warning("bank index will catch up from the log: %s", getattr(exc, "detail", exc))

    def hash_photo(self, data: bytes) -> PhotoHashes:
        return hash_upload(data, self.limits)

    async def add_photo(self, bank: str, data: bytes, *, note: str | None, author_id: str | None, item_id: str | None, actor: str) -> dict[str, Any]:
        hashes = await run_in_threadpool(self.hash_photo, data)
        entry = photo_entry(bank, hashes, note=note, author_id=author_id, item_id=item_id, actor=actor)
        [entry_id] = await self.store_entries([entry])
        await run_in_threadpool(self.store.audit, actor, "bank.add", f"{bank}/{entry_id}", {"note": note, "item_id": item_id})
        return entry_out(entry_id, entry)

    async def import_csv(self, bank: str, data: bytes, actor: str) -> list[int]:
        """A whole CSV file (UTF-8), validated first: a bad line refuses the file and stores
        nothing. Then every row in one transaction, inserted in chunks: all or nothing.
        Decoding and parsing (a second or more for a million rows) run in the thread pool,
        off the event loop."""
        entries = await run_in_threadpool(read_csv, data, bank, actor)
        ids = await self.store_entries(entries)
        await run_in_threadpool(self.store.audit, actor, "bank.import", bank, {"rows": len(ids)})
        return ids

    def export(self, bank: str) -> str:
        return export_csv(e for batch in self.store.iter_bank_entries(bank=bank) for e in batch)

    async def remove_entry(self, bank: str, entry_id: int, actor: str) -> None:
        await run_in_threadpool(self.store.delete_bank_entry, bank, entry_id)
        await self.sync()
        await run_in_threadpool(self.store.audit, actor, "bank.remove", f"{bank}/{entry_id}", None)

    async def apply_due_changes(self) -> int:
        """Moderators' bank changes whose undo window has passed: each photo is hashed
        from its stored blob and added, the entry and the change's record in one
        transaction (a failure between the two would leave an entry no unban finds). A
        change undone meanwhile adds nothing."""
        done = 0
        for ch in await run_in_threadpool(self.store.claim_due_bank_changes):
            try:
                data, _ = await run_in_threadpool(self.store.get_blob, ch["blob_sha256"])
                hashes = await run_in_threadpool(self.hash_photo, data)
            except Exception as exc:  # noqa: BLE001 - a photo that no longer decodes is logged and skipped
                log.warning("bank change %s for %s skipped: %s", ch["id"], ch["item_id"], exc)
                await run_in_threadpool(self.store.set_bank_entry, ch["id"], None)
                continue
            entry = photo_entry(ch["bank"], hashes, note=f"review decision {ch['decision_id']}", author_id=ch["author_id"], item_id=ch["item_id"], actor=ch["actor"])
            entry_id = await run_in_threadpool(self.store.apply_bank_change, ch["id"], entry)
            if entry_id is None:  # undone while it was being applied
                continue
            await self.sync()
            await run_in_threadpool(self.store.audit, ch["actor"], "bank.add", f"{ch['bank']}/{entry_id}", {"item_id": ch["item_id"], "decision_id": ch["decision_id"]})
            done += 1
        return done
