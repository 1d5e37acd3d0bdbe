"""The one converter of bank entries: a photo's hashes to a stored entry, a stored row to
the index's entry, and CSV in and out (validated whole, formula cells quoted)."""

from __future__ import annotations

import hashlib

import pytest
from images import make_jpeg

from moderation.banks import export_csv, index_entry, index_name, parse_csv, photo_entry
from moderation.errors import InvalidInput
from moderation.photos.decode import DecodeLimits
from moderation.photos.hashing import hash_upload


def test_photo_entry_round_trips_to_the_index_entry_with_its_variants() -> None:
    hashes = hash_upload(make_jpeg(seed=3), DecodeLimits())
    new = photo_entry("banned", hashes, note="n", author_id="u1", item_id="i1", actor="policy")
    stored_row = {"entry_id": 7, **new.__dict__}
    for entry in (index_entry(7, new), index_entry(7, stored_row)):
        assert entry.entry_id == 7 and entry.bank == "banned" and entry.author_id == "u1" and entry.item_id == "i1"
        assert (entry.phash, entry.pdq, entry.sha256) == (hashes.phash, hashes.pdq, hashes.sha256)
        assert entry.phash_variants == hashes.phash_variants and entry.pdq_variants == hashes.pdq_variants
        assert entry.pdq_quality == hashes.pdq_quality


def test_csv_import_gives_one_entry_per_row_and_export_writes_them_back() -> None:
    text = "hash_type,hash_hex,note,quality\npdq," + "ab" * 32 + ",partner list,80\nphash,00ff00ff00ff00ff,,\n"
    entries = parse_csv(text, "banned", "api-key:x")
    assert [(e.pdq, e.phash, e.pdq_quality, e.note) for e in entries] == [
        ("ab" * 32, None, 80, "partner list"),
        (None, "00ff00ff00ff00ff", None, None),
    ]
    out = export_csv([{"entry_id": k, **e.__dict__} for k, e in enumerate(entries, 1)])
    assert out.splitlines() == ["hash_type,hash_hex,note,quality,entry_id", "pdq," + "ab" * 32 + ",partner list,80,1", "phash,00ff00ff00ff00ff,,,2"]


@pytest.mark.parametrize(
    "text, where",
    [
        ("hash,hex\nx,y\n", "header"),  # no hash_type / hash_hex columns
        ("hash_type,hash_hex\nmd5," + "0" * 32 + "\n", "line 2"),  # unknown hash type
        ("hash_type,hash_hex\nphash,00ff\n", "line 2"),  # too short
        ("hash_type,hash_hex,quality\npdq," + "0" * 64 + ",101\n", "line 2"),  # quality out of range
        ("hash_type,hash_hex\n", "no rows"),  # nothing to import
    ],
)
def test_bad_csv_is_refused_naming_where(text: str, where: str) -> None:
    with pytest.raises(InvalidInput, match=where):
        parse_csv(text, "banned", "api-key:x")


def test_exported_notes_cannot_run_as_spreadsheet_formulas() -> None:
    out = export_csv([{"entry_id": 1, "sha256": "0" * 64, "note": "=HYPERLINK(\"http://x\")"}])
    assert "\"'=HYPERLINK" in out


def test_index_name_leaves_the_database_password_out() -> None:
    named = {index_name(u) for u in (
        "postgresql://mod:first-secret@db.internal:5432/moderation",
        "postgresql://mod:rotated@db.internal:5432/moderation",  # a rotated password: the same index
        "postgresql://mod@db.internal:5432/moderation?password=in-the-query",
    )}
    assert named == {index_name("postgresql://mod@db.internal:5432/moderation")}
    assert index_name("postgresql://mod@db.internal:5432/other") not in named


@pytest.mark.parametrize("url", [
    "sqlite:////var/lib/moderation/moderation.db",  # the default layout
    "postgresql://mod@db.internal:5432/moderation?sslmode=require",  # password from the environment or .pgpass
])
def test_index_name_of_a_url_without_password_is_unchanged(url: str) -> None:
    # running indexes keep their names across the upgrade
    assert index_name(url) == "bank-index-" + hashlib.sha256(url.encode()).hexdigest()[:16]
