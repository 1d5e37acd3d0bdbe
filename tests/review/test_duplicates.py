"""The near-duplicates panel over the whole open queue."""

from __future__ import annotations

from review_helpers import ALICE, queue_for, review_item

from moderation.store.repository import Store


def test_duplicates_panel_sees_every_open_photo_however_long_the_queue(store: Store) -> None:
    # The panel once read at most 5,000 open photo tasks (in table order): a copy queued
    # after them was never shown. 5,100 unrelated photos, one malformed hash, then the copy.
    from images import make_jpeg

    img = make_jpeg(seed=4)
    rng = __import__("random").Random(5)
    far = [f"{rng.getrandbits(64) | 0xF0F0F0F0F0F0F0F0:016x}" for _ in range(5100)]  # >= 32 bits from the pair
    store.save_items([review_item("first", image=img, phash="0000000000000000", queue="photos-sensitive", priority=0)]
                     + [review_item(f"filler-{i}", image=img, phash=h, queue="photos-sensitive") for i, h in enumerate(far)]
                     + [review_item("broken", image=img, phash="not-a-hash", queue="photos-sensitive"),
                        review_item("copy", image=img, phash="0000000000000003", author="other", queue="photos-sensitive")])
    [task] = queue_for(store).tasks.claim(ALICE, limit=1)
    assert task["item"]["id"] == "first"
    assert [(d["item_id"], d["distance"], d["author_id"]) for d in task["duplicates"]] == [("copy", 2, "other")]
