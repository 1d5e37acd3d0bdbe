"""Banks of photo hashes (`banned`, `allowed`, `seen`, ...) and matching a photo against them.

The numeric side of banks, with no policy in it (`moderation.banks` is the way in and out
of a bank; `Policy.bank_reasons` turns matches into reasons). One `BankIndex` holds every bank: exact SHA-256 lookups in a dict, near matches through
one pHash and one PDQ `HashIndex` per bank. It is a plain class; the Ray index actor
(`moderation.workers.IndexActor`) is a thin shell over it, rebuilt from the database
at start and updated incrementally on every add or removal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from moderation.photos.hashing import PhotoHashes
from moderation.photos.index import (
    HashIndex,
    MatchThresholds,
    index_photos,
    match_photo,
)


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

    def match(self, hashes: PhotoHashes, thresholds: MatchThresholds) -> list[BankMatch]:
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

        for name, bank in self._banks.items():
            for eid in bank.sha256.get(hashes.sha256, ()):
                offer(name, eid, "sha256", 0)
            for m in match_photo(hashes, bank.phash, bank.pdq, thresholds):
                offer(name, m.entry_id, m.hash_type, m.distance)
        return sorted(best.values(), key=rank)
