"""The store's contract, on a real SQLite file and a real PostgreSQL server alike."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest
from sqlalchemy import inspect

from moderation.errors import InvalidInput, NotFound
from moderation.store import migrate
from moderation.store.repository import NewBankEntry, NewItem, Store, utcnow
from moderation.store.tables import metadata


def new_item(item_id: str, decision: str = "approve", content: str = "c1", image: bytes | None = None) -> NewItem:
    return NewItem(
        id=item_id,
        type="photo" if image else "text",
        context="message",
        author_id="author",
        content_sha256=content,
        text=None if image else "hello",
        image=image,
        media_type="image/jpeg" if image else None,
        locale="fr",
        language=None,
        metadata={"k": [1, 2]},
        api_key_id=None,
        callback_url=None,
        decision=decision,
        reasons=[{"source": "rule", "category": "contact_info", "detector": "x", "score": 1.0, "span": [0, 3]}],
        scores={"contact_info": 1.0},
        features=None,
        policy_version="v1",
        queue="texts" if decision == "review" else None,
        priority=3,
    )


def test_migrations_create_every_table_of_the_metadata(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_migrate_twice_is_a_no_op(store: Store) -> None:
    migrate(store.engine)
    assert store.count_items() == 0


def test_save_items_stores_item_decision_and_review_task_together(store: Store) -> None:
    stored = store.save_items([new_item("a", "approve"), new_item("b", "review")])
    assert stored["a"].final_decision == "approve" and stored["a"].status == "decided"
    assert stored["b"].final_decision is None and stored["b"].status == "pending_review"
    state = store.get_item("b")
    assert state["history"][0]["kind"] == "auto" and state["history"][0]["decision"] == "review"
    assert state["review"][0]["queue"] == "texts"
    assert state["metadata"] == {"k": [1, 2]}
    assert state["reasons"][0]["span"] == [0, 3]
    assert store.queue_depths() == {"texts": 1}


def test_save_items_keeps_the_first_row_for_an_id(store: Store) -> None:
    store.save_items([new_item("dup", content="first")])
    again = store.save_items([new_item("dup", content="second"), new_item("fresh")])
    assert again["dup"].content_sha256 == "first"
    assert again["fresh"].first_decision == "approve"
    assert len(store.get_item("dup")["history"]) == 1


def test_concurrent_saves_of_one_id_store_it_once(store: Store) -> None:
    errors: list[BaseException] = []

    def save(k: int) -> None:
        try:
            store.save_items([new_item("race", content=f"c{k}")])
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count_items() == 1
    assert len(store.get_item("race")["history"]) == 1


def test_photo_bytes_are_stored_once_per_content(store: Store) -> None:
    store.save_items([new_item("p1", image=b"\xff\xd8\xffabc"), new_item("p2", image=b"\xff\xd8\xffabc")])
    import hashlib

    data, media = store.get_blob(hashlib.sha256(b"\xff\xd8\xffabc").hexdigest())
    assert data == b"\xff\xd8\xffabc" and media == "image/jpeg"


def test_get_unknown_item_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        store.get_item("missing")


def test_api_keys_are_stored_as_hashes_and_authenticate(store: Store) -> None:
    key, secret = store.create_api_key("pipeline", webhook_url="http://127.0.0.1:9/hook")
    assert secret and secret.startswith("whsec_")
    found = store.authenticate(key)
    assert found is not None and found.name == "pipeline" and found.webhook_secret == secret
    assert store.authenticate(key + "x") is None
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT key_hash FROM api_keys").all()
    assert key not in {r[0] for r in rows}


def test_api_key_scopes_default_to_moderate_and_items_read(store: Store) -> None:
    default, _ = store.create_api_key("pipeline")
    banks, _ = store.create_api_key("curator", scopes=["banks:write", "banks:read"])
    assert store.authenticate(default).scopes == {"moderate", "items:read"}
    assert store.authenticate(banks).scopes == {"banks:read", "banks:write"}
    with pytest.raises(InvalidInput, match="unknown scope admin"):
        store.create_api_key("bad", scopes=["moderate", "admin"])


def test_key_owns_only_the_items_it_submitted(store: Store) -> None:
    mine, _ = store.create_api_key("mine")
    theirs, _ = store.create_api_key("theirs")
    key = store.authenticate(mine)
    store.save_items([replace(new_item("owned"), api_key_id=key.id)])
    assert store.key_owns_item(key.id, "owned")
    assert not store.key_owns_item(store.authenticate(theirs).id, "owned")
    assert not store.key_owns_item(key.id, "missing")


def test_migration_gives_existing_keys_the_default_scopes(database_url: str) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from moderation.store import (  # the engine of one test, not the fixture's
        alembic_config,
        make_engine,
    )

    engine = make_engine(database_url)
    try:
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002")
            conn.exec_driver_sql(
                "INSERT INTO api_keys (name, key_hash, prefix, created_at) VALUES ('old', 'h', 'mk_old', CURRENT_TIMESTAMP)"
            )
        migrate(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT scopes FROM api_keys WHERE name = 'old'").scalar_one() == "moderate,items:read"
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert [d for d in diff if "api_keys" in repr(d)] == []
    finally:
        engine.dispose()


def test_bank_entries_add_list_iterate_and_delete(store: Store) -> None:
    entries = [
        NewBankEntry("banned", f"{i:064x}", f"{i:016x}", f"{i:064x}", 90, {"phash": [], "pdq": []}, "n", "a", None, "t")
        for i in range(5)
    ]
    ids = store.add_bank_entries(entries)
    assert len(set(ids)) == 5
    total, page = store.list_bank("banned", limit=2, offset=1)
    assert total == 5 and [e["entry_id"] for e in page] == ids[1:3]
    assert [e["entry_id"] for batch in store.iter_bank_entries(batch=2) for e in batch] == ids
    [other] = store.add_bank_entries([NewBankEntry("seen", "f" * 64, "f" * 16, "f" * 64, 90, {"phash": [], "pdq": []}, None, "b", None, "t")])
    assert [e["entry_id"] for batch in store.iter_bank_entries(batch=2, bank="banned") for e in batch] == ids
    assert [e["entry_id"] for batch in store.iter_bank_entries(batch=2, bank="seen") for e in batch] == [other]
    store.delete_bank_entry("banned", ids[0])
    assert store.list_bank("banned")[0] == 4
    with pytest.raises(NotFound):
        store.delete_bank_entry("banned", ids[0])
    with pytest.raises(NotFound):
        store.delete_bank_entry("allowed", ids[1])


def test_bank_entries_of_a_long_import_are_stored_in_chunks_in_order_and_logged(store: Store) -> None:
    from moderation.store.repository import BANK_INSERT_CHUNK

    n = 2 * BANK_INSERT_CHUNK + 7  # three chunks, the last one short
    ids = store.add_bank_entries([NewBankEntry("banned", None, None, f"{i:064x}", 100, None, f"row {i}", None, None, "csv") for i in range(n)])
    assert len(ids) == n and ids == sorted(ids)
    stored = {e["entry_id"]: e["note"] for batch in store.iter_bank_entries() for e in batch}
    assert [stored[i] for i in ids] == [f"row {i}" for i in range(n)]  # each id names its own row
    assert [entry_id for _, entry_id, op in store.bank_log_after(0, utcnow()) if op == "add"] == ids


def test_bank_entries_are_all_or_nothing_when_a_later_chunk_fails(store: Store) -> None:
    from moderation.errors import Conflict
    from moderation.store.repository import BANK_INSERT_CHUNK

    good = [NewBankEntry("banned", None, None, f"{i:064x}", 100, None, None, None, None, "csv") for i in range(BANK_INSERT_CHUNK + 1)]
    bad = replace(good[-1], bank=None)  # type: ignore[arg-type]  # NOT NULL: refused by the database
    with pytest.raises(Conflict):
        store.add_bank_entries([*good, bad])
    assert store.list_bank("banned")[0] == 0
    assert store.bank_log_after(0, utcnow()) == []


def test_audit_log_appends(store: Store) -> None:
    store.audit("cli", "api_key.create", "pipeline", {"x": 1})
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT actor, action, target FROM audit_log").all()
    assert [tuple(r) for r in rows] == [("cli", "api_key.create", "pipeline")]


def test_a_deleted_bank_entry_id_is_never_given_again(store: Store) -> None:
    # the bank log and the index shards name entries by id: "remove 7" must not remove a
    # later entry that SQLite would otherwise number 7 again
    entry = NewBankEntry(bank="banned", sha256="ab" * 32, phash=None, pdq=None, pdq_quality=None, variants=None,
                         note=None, author_id=None, item_id=None, created_by="test")
    [first] = store.add_bank_entries([entry])
    store.delete_bank_entry("banned", first)
    [second] = store.add_bank_entries([entry])
    assert second > first
    assert [op for _, entry_id, op in store.bank_log_after(0, utcnow()) if entry_id == first] == ["add", "remove"]


def test_applying_a_bank_change_adds_its_entry_only_if_no_undo_cancelled_it(store: Store) -> None:
    from datetime import timedelta

    from images import make_jpeg
    from review_helpers import ADMIN, ALICE, queue_for, review_item

    store.save_items([review_item(f"ap-{k}", image=make_jpeg(seed=60 + k), phash=f"{k:016x}", queue="photos-sensitive") for k in range(2)])
    q = queue_for(store)
    tasks = {t["item"]["id"]: t["task_id"] for t in q.tasks.claim(ALICE, limit=2)}
    first = q.decisions.decide(ALICE, tasks["ap-0"], "reject", ban=True)[0]
    q.decisions.decide(ALICE, tasks["ap-1"], "reject", ban=True)
    claimed = {c["item_id"]: c for c in store.claim_due_bank_changes(now=utcnow() + timedelta(seconds=30))}
    entry = NewBankEntry(bank="banned", sha256="cd" * 32, phash=None, pdq=None, pdq_quality=None, variants=None,
                         note=None, author_id=None, item_id="ap-1", created_by="test")
    applied = store.apply_bank_change(claimed["ap-1"]["id"], entry)
    assert applied is not None and [e["entry_id"] for e in store.bank_entries_for_item("ap-1")] == [applied]
    q.decisions.undo(ADMIN, first.decision_id, why="wrong call")  # cancels ap-0's change while it is claimed
    before = store.list_bank("banned")[0]
    assert store.apply_bank_change(claimed["ap-0"]["id"], entry) is None
    assert store.list_bank("banned")[0] == before  # nothing added for the cancelled change


def test_migration_drops_the_unused_review_cursors_table_and_can_put_it_back(database_url: str) -> None:
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from moderation.store import alembic_config, make_engine

    engine = make_engine(database_url)
    try:
        migrate(engine)
        assert "review_cursors" not in inspect(engine).get_table_names()
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert [d for d in diff if "review_cursors" in repr(d)] == []
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0008")
        assert "review_cursors" in inspect(engine).get_table_names()
        migrate(engine)
        assert "review_cursors" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_api_keys_are_listed_with_their_last_use_and_revoked_once(store: Store) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from moderation.store.tables import api_keys

    key, _ = store.create_api_key("pipeline", scopes=["moderate"])
    [listed] = [k for k in store.list_api_keys() if k["name"] == "pipeline"]
    assert listed["last_used_at"] is None and listed["revoked_at"] is None and listed["scopes"] == ["moderate"]
    found = store.authenticate(key)
    [listed] = [k for k in store.list_api_keys() if k["id"] == found.id]
    first = listed["last_used_at"]
    assert first is not None
    store.authenticate(key)  # within the minute: no write
    assert next(k for k in store.list_api_keys() if k["id"] == found.id)["last_used_at"] == first
    with store.engine.begin() as conn:
        conn.execute(update(api_keys).where(api_keys.c.id == found.id).values(last_used_at=first - timedelta(minutes=5)))
    store.authenticate(key)
    assert next(k for k in store.list_api_keys() if k["id"] == found.id)["last_used_at"] > first - timedelta(minutes=5)
    assert store.revoke_api_key(found.id) is True
    assert store.revoke_api_key(found.id) is False  # the first revocation time stays
    assert store.authenticate(key) is None
    with pytest.raises(NotFound):
        store.revoke_api_key(10**9)
