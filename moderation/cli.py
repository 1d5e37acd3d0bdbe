"""`moderation`: serve, keys, users, eval, export, train, tune, backtest.

    moderation serve [--host H] [--port P]
    moderation keys create NAME [--webhook-url URL] [--scope S]...
    moderation keys list [--json] | moderation keys revoke ID|NAME
    moderation users create NAME [--role moderator|admin]   (password on stdin)
    moderation users list [--json] | users disable NAME | users enable NAME | users role NAME ROLE
    moderation eval photos [DIR|FILE] | moderation eval text [FILE]
    moderation export labels [--out FILE]
    moderation train text (LABELED.jsonl | --from-db) [--current NAME] [--out DIR]
    moderation tune [--file LABELED.jsonl] [--precision 0.99] [--write PATH]
    moderation backtest POLICY_FILE [--file LABELED.jsonl] [--workers local|ray]

Every command that opens the database says which one on stderr (`config.default_data_dir`
unless MODERATION_DATA_DIR or MODERATION_DATABASE_URL says otherwise).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from moderation.config import Settings
from moderation.errors import ModerationError

# Each command imports what it uses when it runs: `keys create` must not pay for Ray,
# FastAPI or the models.


def _store(settings: Settings):  # type: ignore[no-untyped-def]
    from moderation.store import make_engine, migrate  # per command, see above
    from moderation.store.repository import Store  # per command

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url()
    # on stderr, so that stdout stays what scripts read (a new key on the last line)
    print(f"database: {_shown_url(url)}", file=sys.stderr)
    engine = make_engine(url)
    migrate(engine)
    return Store(engine)


def _shown_url(url: str) -> str:
    """A database URL fit to print: its password masked."""
    from sqlalchemy.engine import make_url  # per command

    return make_url(url).render_as_string(hide_password=True)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn  # per command

    from moderation.api.app import create_app  # per command

    settings = Settings()
    # status_url links follow the address served unless MODERATION_PUBLIC_URL says where
    # clients reach it (behind a proxy, or when serving on 0.0.0.0)
    explicit = "public_url" in settings.model_fields_set
    if not explicit and args.host not in ("0.0.0.0", "::") and (args.port != 8000 or args.host != "127.0.0.1"):
        settings = settings.model_copy(update={"public_url": f"http://{args.host}:{args.port}"})
    db = settings.resolved_database_url()
    print(f"moderation service on http://{args.host}:{args.port}", flush=True)
    print(f"  API docs:   http://{args.host}:{args.port}/docs", flush=True)
    print(f"  review UI:  http://{args.host}:{args.port}/review", flush=True)
    print(f"  metrics:    http://{args.host}:{args.port}/metrics", flush=True)
    print(f"  database:   {_shown_url(db)}", flush=True)
    print(f"  policy:     {settings.policy_path}", flush=True)
    print(f"  ray:        {settings.ray_address or 'local (started by the service)'}", flush=True)
    print("  API key:    .venv/bin/moderation keys create NAME", flush=True)
    # uvicorn's own proxy headers would trust X-Forwarded-For from 127.0.0.1 (its default
    # FORWARDED_ALLOW_IPS): the app reads them itself, from MODERATION_TRUSTED_PROXIES only.
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        proxy_headers=False,
    )
    return 0


def cmd_keys_create(args: argparse.Namespace) -> int:
    from moderation.webhooks import check_receiver_url  # per command

    settings = Settings()
    if args.webhook_url is not None:
        try:
            check_receiver_url(args.webhook_url, settings.webhook_allowed_hosts)
        except ModerationError as exc:
            print(f"--webhook-url refused: {exc.detail}", file=sys.stderr)
            return 2
    from moderation.store.repository import DEFAULT_SCOPES  # per command

    scopes = args.scope or list(DEFAULT_SCOPES)
    store = _store(settings)
    key, secret = store.create_api_key(args.name, webhook_url=args.webhook_url, scopes=scopes)
    store.audit("cli", "api_key.create", args.name, {"webhook_url": args.webhook_url, "scopes": scopes})
    print(f"API key {args.name!r} created with scopes {', '.join(scopes)}. Send it as 'Authorization: Bearer <key>'. "
          "Both are shown only once.")
    print("Webhook signing secret (X-Moderation-Signature: sha256=HMAC-SHA256(secret, body)), then the key:")
    print(secret)
    print(key)
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    """The password comes from stdin (first line), never from the command line or history."""
    from moderation.auth import Accounts  # per command

    store = _store(Settings())
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        user = Accounts(store.engine).create_user(args.name, password, args.role)
    except ModerationError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    store.audit("cli", "user.create", user.username, {"role": user.role})
    print(f"user {user.username!r} created with role {user.role}")
    return 0


def _table(rows: list[list[str]]) -> str:
    """Columns padded to their widest cell: read by people (scripts: --json)."""
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def _when(t: object) -> str:
    return t.isoformat(timespec="seconds") if t is not None else "-"  # type: ignore[attr-defined]


def cmd_keys_list(args: argparse.Namespace) -> int:
    keys = _store(Settings()).list_api_keys()
    if args.json:
        print(json.dumps(keys, indent=2, default=str))
        return 0
    rows = [["id", "name", "prefix", "scopes", "created", "last used", "revoked"]]
    rows += [
        [str(k["id"]), k["name"], k["prefix"], ",".join(k["scopes"]), _when(k["created_at"]), _when(k["last_used_at"]), _when(k["revoked_at"])]
        for k in keys
    ]
    print(_table(rows) if keys else "no API keys")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    """By id, or by name when one live key has it."""
    store = _store(Settings())
    keys = store.list_api_keys()
    if args.key.isdigit():
        chosen = [k for k in keys if k["id"] == int(args.key)]
    else:
        chosen = [k for k in keys if k["name"] == args.key and k["revoked_at"] is None]
    if len(chosen) != 1:
        why = "no such key" if not chosen else f"several live keys are named so (ids {', '.join(str(k['id']) for k in chosen)}): give the id"
        print(f"error: {args.key!r}: {why}", file=sys.stderr)
        return 2
    key = chosen[0]
    if store.revoke_api_key(key["id"]):
        store.audit("cli", "api_key.revoke", str(key["id"]), {"name": key["name"]})
        print(f"API key {key['id']} ({key['name']!r}) revoked; a running service refuses it within 30 s")
    else:
        print(f"API key {key['id']} ({key['name']!r}) was already revoked")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    from moderation.auth import Accounts  # per command

    users = Accounts(_store(Settings()).engine).list_users()
    if args.json:
        print(json.dumps(users, indent=2, default=str))
        return 0
    rows = [["username", "role", "created", "state"]]
    rows += [[u["username"], str(u["role"]), _when(u["created_at"]), "disabled" if u["disabled"] else "active"] for u in users]
    print(_table(rows) if users else "no users")
    return 0


def cmd_users_change(args: argparse.Namespace) -> int:
    """disable, enable, role: one account change, audited as the API's are."""
    from moderation.auth import Accounts  # per command

    store = _store(Settings())
    accounts = Accounts(store.engine)
    try:
        if args.users_command == "role":
            accounts.set_role(args.name, args.role)
            store.audit("cli", "user.role", args.name, {"role": args.role})
            print(f"user {args.name!r} is now {args.role}")
        else:
            accounts.set_disabled(args.name, args.users_command == "disable")
            store.audit("cli", f"user.{args.users_command}", args.name, None)
            print(f"user {args.name!r} {args.users_command}d")
    except ModerationError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    return 0


def cmd_eval_photos(args: argparse.Namespace) -> int:
    from moderation.evaluation import eval_photos  # per command

    settings = Settings()
    path = Path(args.path) if args.path else settings.eval_dir / "photos"
    if not (path.is_file() or (path / "manifest.csv").is_file()):
        print(f"no evaluation photos at {path} (set MODERATION_EVAL_DIR, or pass a folder with a "
              "manifest.csv or a labeled JSONL file)", file=sys.stderr)
        return 2
    try:
        print(eval_photos(path, settings))
    except ModerationError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    return 0


def cmd_eval_text(args: argparse.Namespace) -> int:
    from moderation.evaluation import eval_text  # per command

    settings = Settings()
    path = Path(args.file) if args.file else settings.eval_dir / "text"
    if not path.exists():
        print(f"no evaluation texts at {path} (set MODERATION_EVAL_DIR or pass FILE)", file=sys.stderr)
        return 2
    print(eval_text(path, settings, half=args.half, policy_path=Path(args.policy) if args.policy else None))
    return 0


def cmd_train_text(args: argparse.Namespace) -> int:
    import tempfile  # per command

    from moderation.models import MODELS_DIR  # per command
    from moderation.text.training import train_text_model  # per command

    if (args.file is None) == (not args.from_db):
        print("give either a labeled JSONL file or --from-db", file=sys.stderr)
        return 2
    caps = {k: v for k, v in (("word_features", args.word_features), ("char_features", args.char_features))
            if v is not None}
    with tempfile.TemporaryDirectory() as tmp:
        labeled = Path(args.file) if args.file else Path(tmp) / "moderators-labels.jsonl"
        if args.from_db:
            n = _write_labels(Settings(), labeled)
            print(f"{n} labeled texts from the database", file=sys.stderr)
        # The new model must beat the current one on the held-out split, or nothing is written.
        report = train_text_model(labeled, Path(args.out) if args.out else MODELS_DIR, args.current,
                                  models_dir=MODELS_DIR, **caps)
    print(json.dumps(report.to_dict(), indent=2, default=str))
    if report.improved:
        print(f"wrote {report.name}@{report.version}: {', '.join(str(p) for p in report.written)}")
    else:
        print(f"kept {args.current}: the new model's held-out F1 is not higher; nothing written")
    return 0


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _write_labels(settings: Settings, path: Path | None) -> int:
    """Moderators' labeled texts (`QA.labeled_texts`) as JSON lines to `path` (None: stdout)."""
    from moderation.policy import load_policy  # per command
    from moderation.review.qa import QA  # per command

    store = _store(settings)
    policy = load_policy(settings.policy_path)
    qa = QA(store.engine, lambda: policy)
    n = 0
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(path, "w", encoding="utf-8")) if path else sys.stdout
        for row in qa.labeled_texts():
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    store.engine.dispose()
    return n


def cmd_export_labels(args: argparse.Namespace) -> int:
    """Human-decided texts as JSON lines (text, label, lang): the input of `train text`."""
    n = _write_labels(Settings(), Path(args.out) if args.out else None)
    print(f"{n} labeled texts", file=sys.stderr)
    return 0


def _precision(value: str) -> float:
    number = float(value)
    if not 0.0 < number <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1], got {number}")
    return number


def _share(value: str) -> float:
    number = float(value)
    if not 0.0 < number < 1.0:
        raise argparse.ArgumentTypeError(f"must lie in (0, 1), got {number}")
    return number


def cmd_tune(args: argparse.Namespace) -> int:
    """Thresholds that automate the most at the target precision, from the real analyzers'
    scores over labeled outcomes (the database's human decisions, or a labeled file)."""
    from moderation.photos.decode import DecodeLimits  # per command
    from moderation.policy import load_policy  # per command
    from moderation.tuning import (  # per command
        LocalAnalyzers,
        analyze_examples,
        file_examples,
        format_tune,
        store_examples,
        tune,
    )

    settings = Settings()
    policy_path = Path(args.policy) if args.policy else settings.policy_path
    policy = load_policy(policy_path)
    if args.file:
        examples = file_examples(Path(args.file), args.context, half=args.half)
    else:
        store = _store(settings)
        examples = [e for batch in store_examples(store, labeled_only=True) for e in batch]
        store.engine.dispose()
    if not any(e.labels is not None for e in examples):
        print("no labeled items to tune on", file=sys.stderr)
        return 2
    signals = analyze_examples(LocalAnalyzers(policy, _limits(settings, DecodeLimits)), policy, examples)
    result = tune(policy, examples, signals, args.precision, origin=policy_path.name, ok_share=args.ok_share)
    print(format_tune(result))
    if args.write:
        Path(args.write).write_text(result["policy_text"], encoding="utf-8")
        print(f"wrote {args.write}", file=sys.stderr)
    return 0


def _limits(settings: Settings, cls):  # type: ignore[no-untyped-def]
    return cls(max_bytes=settings.max_image_bytes, max_pixels=settings.max_image_pixels,
               max_decoded_bytes=settings.max_decoded_bytes)


def cmd_backtest(args: argparse.Namespace) -> int:
    """Replay stored items (or a labeled file) through a candidate policy; stored decisions
    stay as they are, the summary is kept in `backtests`."""
    from moderation.photos.decode import DecodeLimits  # per command
    from moderation.policy import load_policy  # per command
    from moderation.tuning import (  # per command
        LocalAnalyzers,
        RayAnalyzers,
        backtest,
        file_examples,
        format_backtest,
        store_examples,
    )

    settings = Settings()
    try:
        candidate = load_policy(Path(args.policy_file))
    except ModerationError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 2
    workers = args.workers or ("ray" if settings.ray_address else "local")
    if workers == "ray":
        why = "the service's Ray worker pools, " + (f"cluster {settings.ray_address}" if settings.ray_address else "a local Ray")
        analyze = RayAnalyzers(candidate, _limits(settings, DecodeLimits), settings.ray_address, settings.text_workers,
                               settings.photo_workers, settings.worker_batch_size)
    else:
        why = ("TextAnalyzer/PhotoAnalyzer in this process, the code the workers run: "
               + ("asked for" if args.workers else "no RAY_ADDRESS configured"))
        analyze = LocalAnalyzers(candidate, _limits(settings, DecodeLimits))
    store = _store(settings)
    try:
        if args.file:
            baseline = load_policy(settings.policy_path)
            batch = file_examples(Path(args.file), args.context)
            bt = backtest(candidate, [batch[k : k + 2000] for k in range(0, len(batch), 2000)], analyze, baseline=baseline,
                          baseline_analyze=LocalAnalyzers(baseline, _limits(settings, DecodeLimits)),
                          examples_per_change=args.examples)
            source = f"file:{Path(args.file).name}"
        else:
            bt = backtest(candidate, store_examples(store), analyze, examples_per_change=args.examples)
            source = "store"
    finally:
        analyze.close()
    summary = bt.summary(source, workers, why)
    backtest_id = store.save_backtest("cli", summary)
    store.audit("cli", "backtest.run", str(backtest_id), {"policy_version": candidate.version, "changed": summary["changed"]})
    store.engine.dispose()
    if args.json:
        print(json.dumps({**summary, "id": backtest_id, "changed_ids": bt.changed}, indent=2, default=str))
    else:
        print(format_backtest(summary, bt.changed))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="moderation", description="Content and photo moderation service")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="start the API (and a local Ray unless RAY_ADDRESS is set)")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--log-level", default="info")
    s.set_defaults(func=cmd_serve)

    k = sub.add_parser("keys", help="API keys of the upload pipeline")
    ksub = k.add_subparsers(dest="keys_command", required=True)
    kc = ksub.add_parser("create", help="create a key; prints it on the last line")
    kc.add_argument("name")
    kc.add_argument("--webhook-url", default=None, help="where final decisions are posted; prints the signing secret")
    kc.add_argument(
        "--scope",
        action="append",
        choices=["moderate", "items:read", "banks:read", "banks:write"],
        help="what the key may do, repeated for several (default: moderate and items:read): submit items, "
        "read its own items, read banks, change banks",
    )
    kc.set_defaults(func=cmd_keys_create)
    kl = ksub.add_parser("list", help="every key: id, name, prefix, scopes, created, last used, revoked")
    kl.add_argument("--json", action="store_true")
    kl.set_defaults(func=cmd_keys_list)
    kr = ksub.add_parser("revoke", help="revoke a key by id, or by name when one live key has it")
    kr.add_argument("key")
    kr.set_defaults(func=cmd_keys_revoke)

    u = sub.add_parser("users", help="moderator accounts of the review UI")
    usub = u.add_subparsers(dest="users_command", required=True)
    uc = usub.add_parser("create", help="create a user; reads the password from stdin")
    uc.add_argument("name")
    uc.add_argument("--role", choices=["moderator", "admin"], default="moderator")
    uc.set_defaults(func=cmd_users_create)
    ul = usub.add_parser("list", help="every user: role, created, active or disabled")
    ul.add_argument("--json", action="store_true")
    ul.set_defaults(func=cmd_users_list)
    for verb, what in (("disable", "disable a user and end their sessions"), ("enable", "enable a disabled user")):
        ud = usub.add_parser(verb, help=what)
        ud.add_argument("name")
        ud.set_defaults(func=cmd_users_change)
    ur = usub.add_parser("role", help="make a user a moderator or an admin")
    ur.add_argument("name")
    ur.add_argument("role", choices=["moderator", "admin"])
    ur.set_defaults(func=cmd_users_change)

    e = sub.add_parser("eval", help="measure quality on labeled data")
    esub = e.add_subparsers(dest="eval_command", required=True)
    ep = esub.add_parser("photos", help="duplicate matching per edit, automation and its precision per label")
    ep.add_argument("path", nargs="?", help="a folder with a manifest.csv, or a labeled JSONL file")
    ep.set_defaults(func=cmd_eval_photos)
    et = esub.add_parser("text", help="precision and recall per category")
    et.add_argument("file", nargs="?")
    et.add_argument("--half", choices=["A", "B"], default=None,
                    help="only the rows of this half (by sha1 of the id): tune on A, measure on B")
    et.add_argument("--policy", default=None, help="the policy to measure (default: MODERATION_POLICY_PATH)")
    et.set_defaults(func=cmd_eval_text)

    x = sub.add_parser("export", help="export data")
    xsub = x.add_subparsers(dest="export_command", required=True)
    xl = xsub.add_parser("labels", help="moderators' decided texts as JSONL for `train text`")
    xl.add_argument("--out", default=None, help="file to write (default: standard output)")
    xl.set_defaults(func=cmd_export_labels)

    t = sub.add_parser("train", help="train models from labeled data")
    tsub = t.add_subparsers(dest="train_command", required=True)
    tt = tsub.add_parser("text", help="train the text classifier from a labeled JSONL file or moderators' labels")
    tt.add_argument("file", nargs="?")
    tt.add_argument("--from-db", action="store_true", help="train on moderators' decided texts in the database")
    tt.add_argument("--out", default=None, help="models directory (default: the shipped models/)")
    tt.add_argument("--current", default="profanity-enfr",
                    help="the shipped model the new one must beat on the held-out split (default: profanity-enfr)")
    tt.add_argument("--word-features", type=_positive_int, default=None,
                    help="most frequent word 1-2-grams kept (default: training.WORD_FEATURES)")
    tt.add_argument("--char-features", type=_positive_int, default=None,
                    help="most frequent character 1-4-grams kept (default: training.CHAR_FEATURES)")
    tt.set_defaults(func=cmd_train_text)

    tu = sub.add_parser("tune", help="propose score thresholds that automate the most at a target precision")
    tu.add_argument("--file", default=None, help="labeled JSONL(.gz) with label/labels (default: the database's human decisions)")
    tu.add_argument("--precision", type=_precision, default=0.99, help="target precision of each automatic action (default 0.99)")
    tu.add_argument("--policy", default=None, help="the policy to start from (default: MODERATION_POLICY_PATH)")
    tu.add_argument("--context", default="message", help="the context of a file's texts (default: message)")
    tu.add_argument("--write", default=None, help="write the proposed policy to this path")
    tu.add_argument("--ok-share", type=_share, default=None,
                    help="judge precision in a mix with this share of acceptable items, e.g. 0.95 (default: as labeled)")
    tu.add_argument("--half", choices=["A", "B"], default=None,
                    help="only a file's rows of this half (by sha1 of the id): tune on A, measure on B")
    tu.set_defaults(func=cmd_tune)

    b = sub.add_parser("backtest", help="replay items through a candidate policy; nothing stored changes")
    b.add_argument("policy_file")
    b.add_argument("--file", default=None, help="a labeled JSONL(.gz) instead of the stored items")
    b.add_argument("--context", default="message", help="the context of a file's texts (default: message)")
    b.add_argument("--workers", choices=["local", "ray"], default=None,
                   help="ray: the service's worker pools; local: the analyzers in this process (default: ray when RAY_ADDRESS is set)")
    b.add_argument("--examples", type=_positive_int, default=3, help="examples shown per kind of change (default 3)")
    b.add_argument("--json", action="store_true", help="print the summary and every changed id as JSON")
    b.set_defaults(func=cmd_backtest)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
