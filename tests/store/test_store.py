"""`StoreRef`, the picklable name of a store: one engine per process, however many
threads ask for it first."""

from __future__ import annotations

import pickle
import threading
from pathlib import Path

from moderation.store import StoreRef


def test_store_ref_opens_one_store_when_threads_ask_at_once(tmp_path: Path) -> None:
    ref = StoreRef(f"sqlite:///{tmp_path / 'moderation.db'}")
    start = threading.Barrier(16)
    got: list[object] = []

    def first_use() -> None:
        start.wait()
        got.append(ref.store)

    threads = [threading.Thread(target=first_use) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 16 and len({id(s) for s in got}) == 1


def test_store_ref_travels_as_its_url_and_opens_its_own_store(tmp_path: Path) -> None:
    ref = StoreRef(f"sqlite:///{tmp_path / 'moderation.db'}")
    here = ref.store
    copy = pickle.loads(pickle.dumps(ref))
    assert copy.database_url == ref.database_url
    assert copy.store is not here and copy.store is copy.store
