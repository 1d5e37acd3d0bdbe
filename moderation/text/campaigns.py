"""Copy-paste campaigns: the same or nearly the same text from many authors in a short window.

A scammer posts one message from many accounts ("gagnez 500 € par jour, écrivez-moi
sur ..."), changing a word or a number now and then. Each text long enough to matter
gets two fingerprints of its normalized words (`moderation.text.normalize`, so
"GAGNEZ", "gagnez" and "g.a.g.n.e.z" agree):

* an exact key: the words joined by single spaces (punctuation and spacing ignored);
* a 64-bit SimHash over 3-word shingles (Charikar, "Similarity estimation techniques
  from rounding algorithms", STOC 2002; the Manku/Jain/Das Sarma near-duplicate setup,
  WWW 2007): every shingle's 64-bit hash votes +1/-1 per bit, the sign of the sum is the
  bit. Editing one word changes at most 3 of the shingles, so the hash moves a few bits.

`CampaignWindow` keeps the fingerprints of the last `window_seconds` and answers, for
each new text, how many distinct authors (the new one included) wrote it exactly or
within `simhash_max_distance` bits. Near lookups are exact, not sampled: by pigeonhole,
two 64-bit hashes within d bits agree on at least one of d + 1 bands, so each band value
is an index key and only texts sharing a band are compared.

Nothing here imports Ray: `moderation.workers.actors.CampaignActor` holds one window
shared by every text worker; tests use a window directly.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "CampaignCount",
    "CampaignSettings",
    "CampaignWindow",
    "exact_key",
    "fingerprints",
    "hamming",
    "simhash",
]

_WORD = re.compile(r"\w+")
SHINGLE = 3  # words per shingle
_MASK = (1 << 64) - 1


@dataclass(frozen=True)
class CampaignSettings:
    """The policy's `campaigns` section; checked when built (ValueError names the field)."""

    window_seconds: float = 3600.0
    min_authors: int = 3
    simhash_max_distance: int = 3
    min_chars: int = 20
    max_texts: int = 200_000  # memory bound: the oldest texts go first beyond it

    def __post_init__(self) -> None:
        if not self.window_seconds > 0:
            raise ValueError("window_seconds must be positive")
        if self.min_authors < 2:
            raise ValueError("min_authors must be at least 2 (one author repeating himself is no campaign)")
        if not 0 <= self.simhash_max_distance <= 15:
            raise ValueError("simhash_max_distance must lie in [0, 15] (of 64 bits)")
        if self.min_chars < 1:
            raise ValueError("min_chars must be at least 1")
        if self.max_texts < 1:
            raise ValueError("max_texts must be at least 1")


@dataclass(frozen=True, slots=True)
class CampaignCount:
    """What the window knows of one text: distinct authors (itself included) of the same
    text exactly and of the same or a near text, and when the earliest of those was seen.
    `authors == 0` means the text was too short to be counted."""

    authors: int
    exact_authors: int
    first_seen: float | None

    def __reduce__(self) -> tuple[object, ...]:
        # a batch of these returns from the shared actor per call: a tuple pickles ~15x faster
        return (CampaignCount, (self.authors, self.exact_authors, self.first_seen))


def _words(normalized: str) -> list[str]:
    return _WORD.findall(normalized)


def exact_key(normalized: str) -> str:
    """The words of a normalized text, single-spaced: punctuation and spacing do not count."""
    return _key(_words(normalized))


def _key(words: list[str]) -> str:
    return " ".join(words)


def _hash64(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "big")


_BIT_SHIFTS = np.arange(64, dtype=np.uint64)
_BIT_VALUES = np.uint64(1) << _BIT_SHIFTS


def _shingles(words: list[str]) -> list[str]:
    # every run of SHINGLE consecutive words; a short text is its words (an empty one, "")
    if len(words) >= SHINGLE:
        return [" ".join(words[k : k + SHINGLE]) for k in range(len(words) - SHINGLE + 1)]
    return words or [""]


def _simhashes(shingle_lists: list[list[str]]) -> list[int]:
    """The SimHash of each list of shingles, with one numpy pass over all their hashes."""
    counts = np.array([len(sh) for sh in shingle_lists], dtype=np.int64)
    flat = [sh for shingles in shingle_lists for sh in shingles]
    hashes = np.fromiter((_hash64(sh) for sh in flat), dtype=np.uint64, count=len(flat))
    # Votes: each shingle's hash adds +1 to the bits it sets and -1 to the others: a
    # shingles x 64 bit matrix, summed per text (every text has at least one shingle).
    bits = ((hashes[:, None] >> _BIT_SHIFTS) & np.uint64(1)).astype(np.int32)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    votes = 2 * np.add.reduceat(bits, starts, axis=0) - counts[:, None]
    # The sign of each bit's total is the bit (ties to 0).
    return np.bitwise_or.reduce(np.where(votes > 0, _BIT_VALUES, np.uint64(0)), axis=1).tolist()


def simhash(normalized: str) -> int:
    """64-bit SimHash of the text's 3-word shingles (single words when shorter)."""
    return _simhashes([_shingles(_words(normalized))])[0]


def fingerprints(texts: Sequence[str]) -> list[tuple[str, int]]:
    """(exact key, SimHash) of each normalized text, what the campaign window compares: a
    text worker's batch costs one numpy pass."""
    if not texts:
        return []
    words = [_words(t) for t in texts]
    hashes = _simhashes([_shingles(w) for w in words])
    return [(_key(w), h) for w, h in zip(words, hashes)]


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & _MASK).bit_count()


def _bands(distance: int) -> tuple[tuple[int, int], ...]:
    """(shift, width) of distance + 1 bands covering the 64 bits as evenly as possible."""
    n = distance + 1
    out, shift = [], 0
    for k in range(n):
        width = 64 // n + (1 if k < 64 % n else 0)
        out.append((shift, width))
        shift += width
    return tuple(out)


@dataclass(slots=True)
class WindowEntry:
    seq: int
    time: float
    author: str
    key: str
    hash: int


# A count stops at AUTHORS_LIMIT distinct authors ("at least"), and one text looks at no
# more than SCAN_LIMIT remembered texts: enough to tell a campaign, bounded in a wave.
AUTHORS_LIMIT = 16
SCAN_LIMIT = 64


@dataclass
class CampaignWindow:
    """The texts of the last `window_seconds`, indexed by exact key and SimHash bands."""

    settings: CampaignSettings = field(default_factory=CampaignSettings)
    _entries: deque[WindowEntry] = field(default_factory=deque, init=False, repr=False)
    _by_key: dict[str, dict[int, WindowEntry]] = field(default_factory=dict, init=False, repr=False)
    _by_band: dict[tuple[int, int], dict[int, WindowEntry]] = field(default_factory=dict, init=False, repr=False)
    _bands: tuple[tuple[int, int], ...] = field(default=(), init=False, repr=False)
    _seq: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._bands = _bands(self.settings.simhash_max_distance)

    def __len__(self) -> int:
        return len(self._entries)

    def configure(self, settings: CampaignSettings) -> None:
        """Take new settings (a policy reload); the band index is rebuilt if the distance changed."""
        if settings == self.settings:
            return
        rebuild = settings.simhash_max_distance != self.settings.simhash_max_distance
        self.settings = settings
        if rebuild:
            self._bands = _bands(settings.simhash_max_distance)
            self._by_band.clear()
            for e in self._entries:
                self._index_bands(e)

    def _band_keys(self, h: int) -> list[tuple[int, int]]:
        return [(k, (h >> shift) & ((1 << width) - 1)) for k, (shift, width) in enumerate(self._bands)]

    def _index_bands(self, e: WindowEntry) -> None:
        for bk in self._band_keys(e.hash):
            self._by_band.setdefault(bk, {})[e.seq] = e

    def _drop(self, e: WindowEntry) -> None:
        bucket = self._by_key.get(e.key)
        if bucket is not None:
            bucket.pop(e.seq, None)
            if not bucket:
                del self._by_key[e.key]
        for bk in self._band_keys(e.hash):
            bucket = self._by_band.get(bk)
            if bucket is not None:
                bucket.pop(e.seq, None)
                if not bucket:
                    del self._by_band[bk]

    def _expire(self, now: float) -> None:
        horizon = now - self.settings.window_seconds
        while self._entries and (self._entries[0].time < horizon or len(self._entries) > self.settings.max_texts):
            self._drop(self._entries.popleft())

    def observe(self, texts: list[tuple[str, str]], now: float) -> list[CampaignCount]:
        """Count each (author, normalized text), then remember it; in order, so the third
        of three copies in one batch already sees the first two."""
        prints = fingerprints([text for _, text in texts])
        return self.observe_fingerprints([(author, *fp) for (author, _), fp in zip(texts, prints)], now)

    def observe_fingerprints(self, items: list[tuple[str, str, int]], now: float) -> list[CampaignCount]:
        """`observe` for (author, exact key, SimHash) computed elsewhere: the text workers
        fingerprint in parallel, the one shared window only counts."""
        out = []
        for author, key, h in items:
            self._expire(now)
            if len(key) < self.settings.min_chars:
                out.append(CampaignCount(0, 0, None))
                continue
            # Newest first, and only as far as it takes to tell a campaign: a spam wave of
            # thousands of copies costs each new copy a bounded scan, not one per copy.
            budget = SCAN_LIMIT
            exact_authors = {author}
            first = now
            for e in reversed(self._by_key.get(key, {}).values()):
                exact_authors.add(e.author)
                first = min(first, e.time)
                budget -= 1
                if budget <= 0 or len(exact_authors) >= AUTHORS_LIMIT:
                    break
            authors = set(exact_authors)
            d = self.settings.simhash_max_distance
            for bk in self._band_keys(h):
                if budget <= 0 or len(authors) >= AUTHORS_LIMIT:
                    break
                for e in reversed(self._by_band.get(bk, {}).values()):
                    if e.key != key and hamming(e.hash, h) <= d:
                        authors.add(e.author)
                        first = min(first, e.time)
                    budget -= 1
                    if budget <= 0 or len(authors) >= AUTHORS_LIMIT:
                        break
            out.append(CampaignCount(len(authors), len(exact_authors), first))
            self._seq += 1
            entry = WindowEntry(self._seq, now, author, key, h)
            self._entries.append(entry)
            self._by_key.setdefault(key, {})[entry.seq] = entry
            self._index_bands(entry)
        self._expire(now)
        return out
