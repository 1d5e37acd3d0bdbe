"""The command line, run as a real process on a real SQLite database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from review_helpers import policy, review_item
from servers import REPO

from moderation.evaluation import dev_half
from moderation.review import Review
from moderation.store import make_engine, migrate
from moderation.store.repository import Store


def run_cli(tmp_path: Path, *args: str, stdin: str = "", **env_extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MODERATION_DATA_DIR": str(tmp_path / "var"), **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "moderation.cli", *args], env=env, cwd=REPO, input=stdin, capture_output=True, text=True, check=False
    )


def test_keys_create_refuses_a_webhook_inside_our_network_unless_allowed(tmp_path: Path) -> None:
    out = run_cli(tmp_path, "keys", "create", "pipeline", "--webhook-url", "http://169.254.169.254/latest")
    assert out.returncode == 2 and "--webhook-url refused" in out.stderr and not out.stdout


def test_keys_create_prints_secret_then_key_on_the_last_lines(tmp_path: Path) -> None:
    out = run_cli(tmp_path, "keys", "create", "pipeline", "--webhook-url", "http://127.0.0.1:9/hook",
                  MODERATION_WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
    assert out.returncode == 0, out.stderr
    *_, secret, key = out.stdout.strip().splitlines()
    assert secret.startswith("whsec_") and key.startswith("mk_")
    store = Store(make_engine(f"sqlite:///{tmp_path / 'var' / 'moderation.db'}"))
    found = store.authenticate(key)
    assert found is not None and found.webhook_secret == secret and found.webhook_url == "http://127.0.0.1:9/hook"


def test_keys_create_grants_moderate_and_items_read_unless_scopes_are_given(tmp_path: Path) -> None:
    default = run_cli(tmp_path, "keys", "create", "pipeline")
    banks = run_cli(tmp_path, "keys", "create", "curator", "--scope", "banks:read", "--scope", "banks:write")
    assert default.returncode == 0 and banks.returncode == 0, default.stderr + banks.stderr
    assert "moderate, items:read" in default.stdout and "banks:read, banks:write" in banks.stdout
    store = Store(make_engine(f"sqlite:///{tmp_path / 'var' / 'moderation.db'}"))
    assert store.authenticate(default.stdout.strip().splitlines()[-1]).scopes == {"moderate", "items:read"}
    assert store.authenticate(banks.stdout.strip().splitlines()[-1]).scopes == {"banks:read", "banks:write"}
    unknown = run_cli(tmp_path, "keys", "create", "bad", "--scope", "admin")
    assert unknown.returncode == 2 and "invalid choice" in unknown.stderr


def test_users_create_reads_the_password_from_stdin(tmp_path: Path) -> None:
    ok = run_cli(tmp_path, "users", "create", "alice", "--role", "admin", stdin="a long passphrase\n")
    assert ok.returncode == 0, ok.stderr
    assert "alice" in ok.stdout and "admin" in ok.stdout
    short = run_cli(tmp_path, "users", "create", "bob", "--role", "moderator", stdin="x\n")
    assert short.returncode == 2 and "error" in short.stderr
    bad_role = run_cli(tmp_path, "users", "create", "carol", "--role", "king", stdin="a long passphrase\n")
    assert bad_role.returncode != 0


def test_export_labels_writes_moderators_decisions_as_jsonl(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'moderation.db'}")
    migrate(engine)
    store = Store(engine)
    store.save_items([review_item("cl-1", text="06 12 34 56 78"), review_item("cl-2", text="bonjour tout le monde")])
    q = Review(engine, lambda: policy())
    from moderation.auth import Accounts

    alice = Accounts(engine).create_user("alice", "a long passphrase", "moderator")
    t1, t2 = q.tasks.claim(alice, limit=2)
    q.decisions.decide(alice, t1["task_id"], "reject")
    q.decisions.decide(alice, t2["task_id"], "approve")
    engine.dispose()
    out = run_cli(tmp_path, "export", "labels", "--out", str(tmp_path / "labels.jsonl"))
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert sorted(r["label"] for r in rows) == ["contact_info", "ok"]
    assert "2 labeled texts" in out.stderr


def test_eval_without_data_says_where_it_looked(tmp_path: Path) -> None:
    out = run_cli(tmp_path, "eval", "photos", str(tmp_path / "nowhere"))
    assert out.returncode == 2 and "no evaluation photos" in out.stderr


def _labeled_rows(n: int) -> list[dict[str, str]]:
    insults = ["idiot", "connard", "stupid", "crétin", "moron", "abruti"]
    rows = []
    for i in range(n):
        lang = "en" if i % 2 else "fr"
        if i % 3 == 0:
            text = f"you are a {insults[i % 6]} number {i}" if lang == "en" else f"tu es un {insults[i % 6]} numéro {i}"
            rows.append({"text": text, "label": "profanity_insult", "lang": lang})
        else:
            text = f"leaving at {i % 24} from the station, seat {i}" if lang == "en" else f"départ à {i % 24}h, place {i}"
            rows.append({"text": text, "label": "ok", "lang": lang})
    return rows


def test_train_text_judges_the_new_model_against_the_shipped_one(tmp_path: Path) -> None:
    pytest.importorskip("skl2onnx", reason="the train extra is not installed")
    labeled = tmp_path / "labeled.jsonl"
    labeled.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in _labeled_rows(300)))
    out = run_cli(tmp_path, "train", "text", str(labeled), "--out", str(tmp_path / "models"),
                  "--word-features", "500", "--char-features", "1000")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout[: out.stdout.rindex("}") + 1])
    # The shipped profanity-enfr was scored on the same held-out rows; on this toy task the
    # new model beats it (measured 1.0 against 0.67), so it is written. The other branch,
    # a model that does not beat the current one writes nothing, is
    # tests/text/test_training.py::test_worse_model_does_not_replace_the_current_one.
    assert report["current"] is not None and report["n_holdout"] == 60
    assert report["improved"] and report["new"]["f1"] > report["current"]["f1"]
    written = sorted(p.name for p in (tmp_path / "models").iterdir())
    assert written == ["profanity-enfr.json", "profanity-enfr.md", "profanity-enfr.onnx"]


def test_train_text_refuses_a_zero_feature_cap(tmp_path: Path) -> None:
    labeled = tmp_path / "labeled.jsonl"
    labeled.write_text("\n".join(json.dumps(r) for r in _labeled_rows(30)))
    out = run_cli(tmp_path, "train", "text", str(labeled), "--word-features", "0")
    assert out.returncode == 2 and "must be at least 1" in out.stderr


def test_tune_prints_the_proposed_diff_and_writes_it_only_when_asked(tmp_path: Path) -> None:
    rows = [{"id": f"r{k}", "text": t, "label": lb} for k, (t, lb) in enumerate(
        [("you absolute moron", "profanity_insult"), ("what a f*cking idiot", "profanity_insult"),
         ("bonjour à tous", "ok"), ("see you at the station", "ok"), ("I hate this stupid idiot", "ok")] * 3)]
    labeled = tmp_path / "labeled.jsonl"
    labeled.write_text("\n".join(json.dumps(r) for r in rows))
    out = run_cli(tmp_path, "tune", "--file", str(labeled), "--precision", "0.99")
    assert out.returncode == 0, out.stderr
    assert "target precision 0.99, 15 labeled items" in out.stdout and "Wilson" in out.stdout
    assert not (tmp_path / "proposed.yaml").exists()
    written = run_cli(tmp_path, "tune", "--file", str(labeled), "--write", str(tmp_path / "proposed.yaml"))
    assert written.returncode == 0, written.stderr
    from moderation.policy import load_policy

    assert load_policy(tmp_path / "proposed.yaml").version.startswith("2026")
    assert run_cli(tmp_path, "tune", "--precision", "1.5").returncode == 2


def test_tune_and_eval_text_take_a_half_and_a_realistic_mix(tmp_path: Path) -> None:
    rows = [{"id": f"h{k}", "text": t, "label": lb} for k, (t, lb) in enumerate(
        [("you absolute moron", "profanity_insult"), ("bonjour à tous", "ok"), ("see you at the station", "ok")] * 10)]
    labeled = tmp_path / "labeled.jsonl"
    labeled.write_text("\n".join(json.dumps(r) for r in rows))
    out = run_cli(tmp_path, "tune", "--file", str(labeled), "--half", "A", "--ok-share", "0.95")
    assert out.returncode == 0, out.stderr
    n_a = sum(dev_half(r["id"]) == "A" for r in rows)
    assert f"target precision 0.99 in a mix of 95% acceptable items, {n_a} labeled items" in out.stdout
    assert run_cli(tmp_path, "tune", "--file", str(labeled), "--ok-share", "1").returncode == 2
    measured = run_cli(tmp_path, "eval", "text", str(labeled), "--half", "B")
    assert measured.returncode == 0, measured.stderr
    assert measured.stdout.startswith("half B") and "95% acceptable" in measured.stdout


def test_backtest_replays_stored_items_and_keeps_the_summary(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'moderation.db'}")
    migrate(engine)
    store = Store(engine)
    store.save_items([review_item("bt-1", text="appelle moi au 06 12 34 56 78"), review_item("bt-2", text="bonjour", decision="approve", reasons=[])])
    engine.dispose()
    from review_helpers import policy_text

    stricter = tmp_path / "stricter.yaml"
    stricter.write_text(policy_text().replace("  contact_info: review\n", "  contact_info: reject\n", 1).replace(
        "    category: contact_info\n    action: review\n", "    category: contact_info\n", 1))
    out = run_cli(tmp_path, "backtest", str(stricter), "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert summary["changed_ids"] == ["bt-1"] and summary["transitions"] == {"review->reject": 1}
    assert summary["workers"] == "local" and "no RAY_ADDRESS" in summary["workers_why"]
    store = Store(make_engine(f"sqlite:///{tmp_path / 'var' / 'moderation.db'}"))
    assert store.get_item("bt-1")["first_decision"] == "review" and [b["changed"] for b in store.list_backtests()] == [1]


def test_train_text_from_db_trains_on_moderators_labels(tmp_path: Path) -> None:
    pytest.importorskip("skl2onnx", reason="the train extra is not installed")
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'moderation.db'}")
    migrate(engine)
    store = Store(engine)
    rows = _labeled_rows(300)
    store.save_items([review_item(f"tr-{k}", text=r["text"], language=r["lang"]) for k, r in enumerate(rows)])
    q = Review(engine, lambda: policy())
    from moderation.auth import Accounts

    alice = Accounts(engine).create_user("alice", "a long passphrase", "moderator")
    label = {r["text"]: r["label"] for r in rows}
    while tasks := q.tasks.claim(alice, limit=100):
        for t in tasks:
            bad = label[t["item"]["text"]] == "profanity_insult"
            q.decisions.decide(alice, t["task_id"], "reject" if bad else "approve", label="profanity_insult" if bad else None)
    engine.dispose()
    out = run_cli(tmp_path, "train", "text", "--from-db", "--out", str(tmp_path / "models"),
                  "--word-features", "500", "--char-features", "1000")
    assert out.returncode == 0, out.stderr
    assert "300 labeled texts from the database" in out.stderr
    report = json.loads(out.stdout[: out.stdout.rindex("}") + 1])
    assert report["n_holdout"] == 60 and report["improved"]
    card = (tmp_path / "models" / "profanity-enfr.md").read_text()
    assert "moderators-labels.jsonl: 240 rows" in card and f"| all | {report['new']['precision']} |" in card
    assert run_cli(tmp_path, "train", "text").returncode == 2  # neither a file nor --from-db


def test_keys_list_and_revoke_by_id_or_unique_name(tmp_path: Path) -> None:
    first = run_cli(tmp_path, "keys", "create", "pipeline")
    run_cli(tmp_path, "keys", "create", "twin")
    run_cli(tmp_path, "keys", "create", "twin")
    key = first.stdout.strip().splitlines()[-1]
    listed = run_cli(tmp_path, "keys", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["name"] for r in rows] == ["pipeline", "twin", "twin"] and key.startswith(rows[0]["prefix"])
    assert key not in listed.stdout
    assert "pipeline" in run_cli(tmp_path, "keys", "list").stdout.splitlines()[1]
    assert run_cli(tmp_path, "keys", "revoke", "pipeline").returncode == 0
    store = Store(make_engine(f"sqlite:///{tmp_path / 'var' / 'moderation.db'}"))
    assert store.authenticate(key) is None
    again = run_cli(tmp_path, "keys", "revoke", str(rows[0]["id"]))
    assert again.returncode == 0 and "already revoked" in again.stdout
    ambiguous = run_cli(tmp_path, "keys", "revoke", "twin")
    assert ambiguous.returncode == 2 and "give the id" in ambiguous.stderr
    assert run_cli(tmp_path, "keys", "revoke", "999").returncode == 2


def test_users_list_disable_enable_and_change_role(tmp_path: Path) -> None:
    run_cli(tmp_path, "users", "create", "carol", stdin="a long passphrase\n")
    assert run_cli(tmp_path, "users", "role", "carol", "admin").returncode == 0
    assert run_cli(tmp_path, "users", "disable", "carol").returncode == 0
    [carol] = json.loads(run_cli(tmp_path, "users", "list", "--json").stdout)
    assert carol["role"] == "admin" and carol["disabled"] is True
    assert run_cli(tmp_path, "users", "enable", "carol").returncode == 0
    table = run_cli(tmp_path, "users", "list").stdout
    assert "carol" in table and "active" in table
    missing = run_cli(tmp_path, "users", "disable", "nobody")
    assert missing.returncode == 2 and "no user" in missing.stderr
    assert run_cli(tmp_path, "users", "role", "carol", "owner").returncode == 2


def test_every_database_command_says_which_database_on_stderr(tmp_path: Path) -> None:
    out = run_cli(tmp_path, "keys", "create", "pipeline")
    db = tmp_path / "var" / "moderation.db"
    assert f"database: sqlite:///{db}" in out.stderr and str(db) not in out.stdout
    assert f"database: sqlite:///{db}" in run_cli(tmp_path, "users", "list").stderr
    hidden = run_cli(tmp_path, "keys", "list", MODERATION_DATABASE_URL="postgresql+psycopg://u:hunter2@127.0.0.1:1/x")
    assert "hunter2" not in hidden.stderr + hidden.stdout and "***" in hidden.stderr


def test_data_dir_is_the_checkout_s_var_wherever_the_command_runs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODERATION_")}
    code = "from moderation.config import Settings; print(Settings().data_dir)"
    out = subprocess.run([sys.executable, "-c", code], env={**env, "PYTHONPATH": str(REPO)}, cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    assert Path(out.stdout.strip()) == REPO / "var"
