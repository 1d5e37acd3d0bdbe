"""The search's contract, on a real SQLite file (FTS5) and a real PostgreSQL server
(tsvector + GIN) alike: the same queries find the same items."""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from review_helpers import ALICE, policy, review_item

from moderation.errors import InvalidInput
from moderation.review import Review
from moderation.store import alembic_config, make_engine, migrate
from moderation.store.repository import Store
from moderation.store.search import SearchQuery, excerpt, text_index, words

TEXTS = {
    "fr-eleve": "L'élève est arrivée à l'ÉCOLE en retard, quelle déception.",
    "fr-gare": "Rendez-vous devant la gare de Lyon à 8h30, j'ai une Clio.",
    "en-cafe": "Met at the café, the driver was naïve but PUNCTUAL.",
    "en-train": "The trains were cancelled, I will call you at 06 12 34 56 78.",
    "mixed": "Appelez-moi: jean.dupont@gmail.com, Straße 12, ﬁn du trajet.",
}


def seed(store: Store) -> None:
    store.save_items([review_item(k, text=t, author="author-" + k.split("-")[0], decision="approve", queue=None) for k, t in TEXTS.items()])


def ids(store: Store, **kw) -> list[str]:
    return [h["id"] for h in store.search(SearchQuery(**kw)).hits]


# Each case: a query, the items it finds (newest first: insertion order reversed).
@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("eleve", ["fr-eleve"]),  # no accents in the query, accents in the text
        ("ÉLÈVE", ["fr-eleve"]),  # capitals and accents in the query
        ("école", ["fr-eleve"]),
        ("cafe", ["en-cafe"]),
        ("NAIVE punctual", ["en-cafe"]),  # every word must be found, any case
        ("naive retard", []),  # words of two different texts: nothing
        ("decep", ["fr-eleve"]),  # a prefix of "déception"
        ("cancel", ["en-train"]),  # a prefix of "cancelled"
        ("06 12", ["en-train"]),  # short words match whole
        ("0", []),  # ...so "0" is not a prefix of "06"
        ("gmail", ["mixed"]),  # an e-mail address is cut at its punctuation
        ("strasse", ["mixed"]),  # ß folds to ss
        ("fin trajet", ["mixed"]),  # the ligature ﬁ folds to fi
        ("lyon", ["fr-gare"]),
        ("Сlio", ["fr-gare"]),  # a Cyrillic С look-alike in the query folds to Latin
        ("the", ["en-train", "en-cafe"]),
    ],
)
def test_full_text_finds_words_whatever_their_case_and_accents(store: Store, q: str, found: list[str]) -> None:
    seed(store)
    assert ids(store, text=q) == found


def test_filters_by_id_author_category_decision_queue_and_date(store: Store) -> None:
    seed(store)
    store.save_items([
        review_item("waiting", text="call me 06 11 22 33 44", author="bob", queue="contact-info"),
        review_item("insult", text="espèce de connard", author="bob", decision="reject", queue=None,
                    reasons=[{"source": "rule", "category": "insult", "detector": "words.fr", "score": 1.0, "span": [10, 17]}]),
    ])
    assert ids(store, item_id="fr-gare") == ["fr-gare"]
    assert ids(store, author_id="bob") == ["insult", "waiting"]
    assert ids(store, category="insult") == ["insult"]
    assert ids(store, category="contact_info", author_id="bob") == ["waiting"]
    assert ids(store, decision="reject") == ["insult"]
    assert ids(store, decision="review") == ["waiting"]
    assert ids(store, queue="contact-info") == ["waiting"]
    assert ids(store, text="connard", decision="approve") == []
    now = datetime.now(UTC)
    assert len(ids(store, since=now - timedelta(minutes=5), until=now + timedelta(minutes=5))) == 7
    assert ids(store, until=now - timedelta(minutes=5)) == []
    assert ids(store, since=now + timedelta(minutes=5)) == []
    # a zone other than UTC means the same instant
    paris = timezone(timedelta(hours=1))
    assert len(ids(store, since=(now - timedelta(minutes=5)).astimezone(paris))) == 7


def test_hits_carry_decisions_queues_and_an_excerpt_marking_the_match(store: Store) -> None:
    store.save_items([review_item("long", text="x " * 300 + "Le départ est à Nantes. " + "y " * 300, author="carol", queue="texts")])
    [hit] = store.search(SearchQuery(text="depart nantes")).hits
    assert hit["first_decision"] == "review" and hit["final_decision"] is None and hit["status"] == "pending_review"
    assert hit["review"] == [{"queue": "texts", "status": "open"}]
    assert hit["categories"] == ["contact_info"] and hit["author_id"] == "carol" and hit["type"] == "text"
    assert hit["created_at"].tzinfo is not None
    shown = hit["excerpt"]
    assert shown.startswith("…") and shown.endswith("…") and len(shown) <= 202
    assert [shown[s:e] for s, e in hit["highlights"]] == ["départ", "Nantes"]


def test_pages_follow_each_other_and_say_when_more_follow(store: Store) -> None:
    store.save_items([review_item(f"p{k}", text=f"trajet numéro {k}", decision="approve", queue=None) for k in range(5)])
    first = store.search(SearchQuery(text="trajet", limit=2))
    second = store.search(SearchQuery(text="trajet", limit=2, offset=2))
    last = store.search(SearchQuery(text="trajet", limit=2, offset=4))
    assert [h["id"] for h in first.hits + second.hits + last.hits] == ["p4", "p3", "p2", "p1", "p0"]
    assert first.more and second.more and not last.more


def test_a_photo_has_no_text_to_find_but_is_found_by_its_author(store: Store) -> None:
    store.save_items([review_item("ph", image=b"\xff\xd8 not decoded here", author="dan", queue="photos")])
    assert ids(store, author_id="dan") == ["ph"]
    assert store.search(SearchQuery(author_id="dan")).hits[0]["excerpt"] is None


def test_query_syntax_in_the_text_is_only_words(store: Store) -> None:
    seed(store)
    # FTS5 and tsquery operators in a query are punctuation here, never syntax
    for q in ['"lyon', "lyon OR cafe", "lyon & !cafe", "lyon:* | cafe", "NEAR(lyon cafe)", "'; DROP TABLE items; --"]:
        store.search(SearchQuery(text=q))
    assert ids(store, text="lyon OR cafe") == []  # "or" is a word, found in no text


@pytest.mark.parametrize(
    "kw",
    [
        {"text": "!!! ..."},  # no word
        {"text": " ".join(f"w{k}" for k in range(17))},  # too many words
        {"decision": "maybe"},
        {"limit": 0},
        {"limit": 101},
        {"offset": -1},
        {"offset": 10_001},
        {"since": datetime(2026, 1, 1)},  # no time zone
        {"since": datetime(2026, 1, 2, tzinfo=UTC), "until": datetime(2026, 1, 1, tzinfo=UTC)},
        {"since": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))},  # before year 1 in UTC
    ],
)
def test_bad_queries_are_refused(kw: dict) -> None:
    with pytest.raises(InvalidInput):
        SearchQuery(**kw)


def test_index_is_written_with_every_item_and_costs_bytes(store: Store) -> None:
    seed(store)
    with store.engine.connect() as conn:
        assert text_index(conn.dialect.name).size_bytes(conn) > 0


def test_migration_indexes_items_stored_before_it(database_url: str) -> None:
    from alembic import command

    engine = make_engine(database_url)
    try:
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0005")
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO items (id, type, context, author_id, content_sha256, text, status, first_decision, final_decision,"
                " reasons, scores, policy_version, created_at, updated_at) VALUES ('old', 'text', 'message', 'eve', 'h',"
                " 'Trajet annulé au dernier moment', 'decided', 'reject', 'reject',"
                " '[{\"category\": \"insult\", \"source\": \"rule\", \"detector\": \"x\", \"score\": 1.0}]', '{}', 'v0',"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            )
        migrate(engine)
        store = Store(engine)
        assert ids(store, text="annule") == ["old"]
        assert ids(store, category="insult") == ["old"]
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0005")
        migrate(engine)
        assert ids(store, text="annule") == ["old"]
    finally:
        engine.dispose()


def test_words_are_folded_letters_and_digits() -> None:
    assert words("L'Élève—ÇA_va? 06.12 ﬁ") == ["06", "12", "ca", "eleve", "fi", "l", "va"]
    assert words("a" * 65 + " ok") == ["ok"]  # over 64 characters: not a word anyone types
    assert words(None) == []


def test_excerpt_of_a_short_text_is_the_text() -> None:
    assert excerpt("Bonjour Émile", ["emile"]) == ("Bonjour Émile", [[8, 13]])
    assert excerpt("Bonjour", []) == ("Bonjour", [])


def test_decided_review_items_are_found_by_their_final_decision(store: Store) -> None:
    store.save_items([review_item("r1", text="à décider", queue="contact-info")])
    p = policy()
    review = Review(store.engine, lambda: p)
    [task] = review.tasks.claim(ALICE, limit=1)
    review.decisions.decide(ALICE, task["task_id"], "reject")
    assert ids(store, decision="reject") == ["r1"] and ids(store, decision="review") == []
    [hit] = store.search(SearchQuery(item_id="r1")).hits
    assert (hit["first_decision"], hit["human_decision"], hit["final_decision"]) == ("review", "reject", "reject")


def test_search_query_is_a_plain_value() -> None:
    q = SearchQuery(text="Élève")
    assert q.terms == ("eleve",) and replace(q, limit=5).terms == ("eleve",)
