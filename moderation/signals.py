"""The one small interface every signal sits behind.

A signal is a function of an item that returns reasons and scores. Text signals see
the item together with its normalized text (normalization runs once per item, not once
per signal) and work on whole batches, because the classifier is only fast in batches.
Photo signals see the decoded, downscaled photo (decoding runs once per item).

A new signal is one class plus one line in `moderation.pipeline.build_signals`; the
policy names which signals run in which context.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from moderation.text.contact import ContactMatch, shared_detector
from moderation.types import Item, Signals

if TYPE_CHECKING:
    from moderation.photos.decode import Photo
    from moderation.text.normalize import Normalized


@dataclass(frozen=True, slots=True)
class TextInput:
    item: Item
    normalized: Normalized
    # Contact matches of the original text per region set, found once for all the rules
    # that ask (contact details, links, domain lists).
    _contacts: dict[tuple[str, ...], list[ContactMatch]] = field(default_factory=dict, compare=False, repr=False)

    def contacts(self, regions: tuple[str, ...]) -> list[ContactMatch]:
        """`moderation.text.contact` matches in the original text, spans into it."""
        found = self._contacts.get(regions)
        if found is None:
            found = self._contacts[regions] = shared_detector(regions).find(self.normalized.original)
        return found


class TextSignal(ABC):
    """Looks at a batch of texts; returns one `Signals` per text, in order."""

    name: str

    @abstractmethod
    def analyze_batch(self, texts: Sequence[TextInput]) -> list[Signals]:
        """Must return exactly len(texts) results, never raise on hostile content."""

    def reconfigure(self, config: dict[str, Any]) -> None:
        """Take new tunables (thresholds, lists) without reloading heavy state."""


class PhotoSignal(ABC):
    """Looks at one decoded photo."""

    name: str

    @abstractmethod
    def analyze(self, item: Item, photo: Photo) -> Signals:
        """Never raises on a photo that decoded; returns empty Signals when nothing fires."""
