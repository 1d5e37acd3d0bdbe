"""Banks of photo hashes (`banned`, `allowed`, `seen`, ...) and matching a photo against them.

One `BankIndex` holds every bank: exact SHA-256 lookups in a dict, near matches through
one pHash and one PDQ `HashIndex` per bank. It is a plain class; the Ray index actor
(`moderation.workers.IndexActor`) is a thin shell over it, rebuilt from the database
at start and updated incrementally on every add or removal.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from moderation.errors import InvalidInput
from moderation.photos.hashing import PhotoHashes
from moderation.photos.index import HashIndex, index_photos, match_photo
from moderation.policy import BankPolicy, HashMatching
from moderation.types import Reason, Source


@dataclass(frozen=True)
class BankEntry:
    """A bank entry as the index needs it; the database row has more (note, created_at)."""

    entry_id: int
    bank: str
    author_id: str | None
    sha256: str | None
    phash: bytes | None
    pdq: bytes | None
    phash_variants: tuple[bytes, ...] = ()
    pdq_variants: tuple[bytes, ...] = ()
    item_id: str | None = None
    pdq_quality: int = 100

    def as_hashes(self) -> PhotoHashes:
        return PhotoHashes(
            sha256=self.sha256 or "",
            phash=self.phash or b"",
            pdq=self.pdq or b"",
            pdq_quality=self.pdq_quality if self.pdq else 0,
            phash_variants=self.phash_variants,
            pdq_variants=self.pdq_variants,
        )


# Bits of the hash a match's distance counts (the joint rule reports its PDQ distance).
HASH_BITS = {"sha256": 256, "phash": 64, "pdq": 256, "phash+pdq": 256}


@dataclass(frozen=True)
class BankMatch:
    bank: str
    entry_id: int
    hash_type: str  # "sha256" | "phash" | "pdq" | "phash+pdq"
    distance: int
    author_id: str | None
    item_id: str | None
    hash_hex: str

    @property
    def similarity(self) -> float:
        """1 - distance / bits: comparable across hash types (8 of 64 pHash bits is further
        than 10 of 256 PDQ bits)."""
        return 1.0 - self.distance / HASH_BITS[self.hash_type]


class _Bank:
    def __init__(self) -> None:
        self.sha256: dict[str, set[int]] = {}
        self.phash = HashIndex(64)
        self.pdq = HashIndex(256)


class BankIndex:
    def __init__(self, pdq_min_quality: int = 50) -> None:
        self._banks: dict[str, _Bank] = {}
        self._entries: dict[int, BankEntry] = {}
        self.pdq_min_quality = pdq_min_quality

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entries: Iterable[BankEntry]) -> None:
        by_bank: dict[str, list[BankEntry]] = {}
        for e in entries:
            if e.entry_id in self._entries:
                continue
            self._entries[e.entry_id] = e
            by_bank.setdefault(e.bank, []).append(e)
        for bank_name, group in by_bank.items():
            bank = self._banks.setdefault(bank_name, _Bank())
            for e in group:
                if e.sha256:
                    bank.sha256.setdefault(e.sha256, set()).add(e.entry_id)
            # Indexed under every variant (flips, rotations, trimmed, cropped), so a
            # re-upload dodging the filter matches with a plain query.
            index_photos([(e.entry_id, e.as_hashes()) for e in group], bank.phash, bank.pdq, self.pdq_min_quality)

    def remove(self, entry_ids: Sequence[int]) -> None:
        by_bank: dict[str, list[int]] = {}
        for eid in entry_ids:
            e = self._entries.pop(eid, None)
            if e is None:
                continue
            bank = self._banks[e.bank]
            if e.sha256 and e.sha256 in bank.sha256:
                bank.sha256[e.sha256].discard(eid)
                if not bank.sha256[e.sha256]:
                    del bank.sha256[e.sha256]
            by_bank.setdefault(e.bank, []).append(eid)
        for name, ids in by_bank.items():  # one pass over each index, not one per id
            self._banks[name].phash.remove(ids)
            self._banks[name].pdq.remove(ids)

    def match(self, hashes: PhotoHashes, thresholds: HashMatching) -> list[BankMatch]:
        """The best match per bank entry, best first: exact SHA-256, then by similarity
        (distance over the hash's bits, so pHash and PDQ distances compare)."""
        best: dict[int, BankMatch] = {}

        def rank(m: BankMatch) -> tuple[bool, float, int]:
            return (m.hash_type != "sha256", -m.similarity, m.entry_id)

        def offer(bank: str, eid: int, hash_type: str, distance: int) -> None:
            entry = self._entries[eid]
            stored = {"sha256": entry.sha256, "phash": entry.phash, "pdq": entry.pdq, "phash+pdq": entry.pdq}[hash_type]
            hex_ = stored if isinstance(stored, str) else (stored.hex() if stored else "")
            new = BankMatch(bank, eid, hash_type, distance, entry.author_id, entry.item_id, hex_)
            if eid not in best or rank(new) < rank(best[eid]):
                best[eid] = new

        rule = thresholds.match_thresholds
        for name, bank in self._banks.items():
            for eid in bank.sha256.get(hashes.sha256, ()):
                offer(name, eid, "sha256", 0)
            for m in match_photo(hashes, bank.phash, bank.pdq, rule):
                offer(name, m.entry_id, m.hash_type, m.distance)
        return sorted(best.values(), key=rank)


def match_reasons(matches: Sequence[BankMatch], author_id: str, banks: dict[str, BankPolicy]) -> list[Reason]:
    """Bank matches -> reasons: one per bank (the nearest entry), named with entry and distance.

    A match in a bank marked `other_authors_only` (the seen set) counts only when another
    author uploaded it: re-uploading one's own photo is not theft.
    """
    out: list[Reason] = []
    done: set[str] = set()
    for m in matches:
        policy = banks.get(m.bank)
        if policy is None or m.bank in done:
            continue
        if policy.other_authors_only and m.author_id == author_id:
            continue
        done.add(m.bank)
        out.append(
            Reason(
                source=Source.HASH,
                category=policy.category,  # type: ignore[attr-defined]
                detector=f"bank:{m.bank}/{m.hash_type}",
                score=m.similarity,
                distance=m.distance,
                entry_id=m.entry_id,
                matched=f"{m.hash_type}:{m.hash_hex}",
                detail={"bank": m.bank, "hash_type": m.hash_type, "item_id": m.item_id},
            )
        )
    return out


# -- CSV exchange ---------------------------------------------------------------------------
# One row per hash: hash_type (sha256 | phash | pdq), hash_hex, note, and optionally
# quality (PDQ quality, 0-100). This is the shape of the PDQ hash lists other systems
# (ThreatExchange, HMA) exchange, so their lists import as they are.

CSV_COLUMNS = ("hash_type", "hash_hex", "note", "quality", "entry_id")
_HEX_LEN = {"sha256": 64, "phash": 16, "pdq": 64}
_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class ImportedHash:
    hash_type: str
    hash_hex: str
    note: str | None
    quality: int | None


def parse_bank_csv(text: str, max_rows: int = 1_000_000) -> list[ImportedHash]:
    """Validate a whole CSV before anything is stored; errors name the line."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"hash_type", "hash_hex"} <= {f.strip() for f in reader.fieldnames}:
        raise InvalidInput("the CSV needs a header with at least hash_type and hash_hex columns")
    out: list[ImportedHash] = []
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
        out.append(ImportedHash(kind, value, row.get("note") or None, quality))
    if not out:
        raise InvalidInput("the CSV has no rows")
    return out


def bank_csv(entries: Iterable[dict[str, Any]]) -> str:
    """Entries as exchange CSV: one row per stored hash (variants stay internal)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for e in entries:
        note = _csv_safe(e.get("note") or "")
        for kind in ("sha256", "phash", "pdq"):
            if e.get(kind):
                quality = e.get("pdq_quality") if kind == "pdq" else None
                w.writerow((kind, e[kind], note, "" if quality is None else quality, e["entry_id"]))
    return buf.getvalue()


def _csv_safe(value: str) -> str:
    """Notes are free text: a leading = + - @ would be a formula in a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
