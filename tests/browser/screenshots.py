"""`make screenshots`: every page of the review UI at 1440x900, in English and French, from a
service started on a temporary data directory with seeded items, decisions, bank entries,
keys and users. Writes docs/screenshots/<page>-<lang>.png (palette PNGs, to stay small).

    .venv/bin/python tests/browser/screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# this checkout's code, here and in the Ray workers the service starts (they inherit the variable)
sys.path[:0] = [str(REPO), str(REPO / "tests")]
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(REPO), os.environ.get("PYTHONPATH")])
)
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import httpx
from browser_helpers import ARGS, CHROMIUM
from images import make_jpeg
from PIL import Image
from review_helpers import policy_text, review_item
from servers import LiveService, local_ray, make_settings

PASSWORD = "screenshots-1"

# (id, author, language, text, the reason's category, detector, the words it matched, queue)
TEXTS = [
    (
        "msg-1001",
        "claire-b",
        "fr",
        "Salut ! Appelle-moi au zéro six douze trente-quatre cinquante-six soixante-dix-huit pour la voiture.",
        "contact_info",
        "contact.phone_words",
        "zéro six douze trente-quatre cinquante-six soixante-dix-huit",
        "contact-info",
    ),
    (
        "msg-1002",
        "tom-r",
        "en",
        "Great car, but message me on WhatsApp +44 7700 900123 for a better price.",
        "contact_info",
        "contact.phone",
        "+44 7700 900123",
        "contact-info",
    ),
    (
        "msg-1003",
        "u-marie",
        "fr",
        "Espèce d'abruti, tu ne sais pas conduire !",
        "profanity",
        "words.insults_fr",
        "abruti",
        "texts",
    ),
    (
        "msg-1004",
        "jean-p",
        "fr",
        "Écrivez-moi : jean.dupont@example.fr, je réponds vite.",
        "contact_info",
        "contact.email",
        "jean.dupont@example.fr",
        "contact-info",
    ),
    (
        "msg-1005",
        "sam-k",
        "en",
        "Visit cheap-parts.example for 90% off, limited offer!!!",
        "spam_link",
        "links.unknown_domain",
        "cheap-parts.example",
        "contact-info",
    ),
    (
        "msg-1006",
        "claire-b",
        "fr",
        "Le trajet Lyon-Grenoble est toujours possible demain matin ? Sinon 06 98 76 54 32.",
        "contact_info",
        "contact.phone",
        "06 98 76 54 32",
        "contact-info",
    ),
]

RIDES = [
    "Départ de Lyon à {k} h, il reste deux places dans la voiture.",
    "Trajet Paris → Rennes samedi, bagages acceptés, voiture non-fumeur.",
    "Je peux vous déposer à la gare, {k} minutes de détour seulement.",
    "Leaving Bordeaux at {k} pm, room for a small suitcase in the car.",
    "Thanks for the ride, the car was spotless and the music great!",
]


def seed(svc: LiveService) -> dict[str, str]:
    """Items in the queue and decided ones, a decision history, bank entries, keys, users."""
    accounts = svc.service.accounts
    mod = accounts.create_user("alice", PASSWORD, "moderator")
    accounts.create_user("admin", PASSWORD, "admin")
    accounts.create_user("bruno", PASSWORD, "moderator")
    store = svc.service.store
    items = []
    for item_id, author, lang, text, category, detector, matched, queue in TEXTS:
        start = text.index(matched)
        reason = {
            "source": "rule",
            "category": category,
            "detector": detector,
            "score": 1.0,
            "span": [start, start + len(matched)],
            "matched": matched,
        }
        items.append(
            review_item(
                item_id,
                text=text,
                author=author,
                language=lang,
                queue=queue,
                priority=2,
                reasons=[reason],
            )
        )
    items += [
        review_item(
            f"photo-20{k}",
            image=make_jpeg(480, 360, seed=300 + k),
            author=f"seller-{k}",
            queue="photos-sensitive",
            priority=1,
        )
        for k in range(4)
    ]
    items += [
        review_item(
            f"auto-{k}",
            text=RIDES[k % len(RIDES)].format(k=k + 2),
            author=f"driver-{k % 7}",
            language="en" if k % len(RIDES) >= 3 else "fr",
            decision="approve",
            queue=None,
            reasons=[],
        )
        for k in range(30)
    ]
    store.save_items(items)
    review = svc.service.review
    for task in review.tasks.claim(mod, limit=2, queue="contact-info"):
        review.decisions.decide(
            mod, task["task_id"], "reject", note="coordonnées en clair"
        )
    spread_over_two_days(store)
    store.create_api_key("upload-pipeline", scopes=["moderate", "items:read"])
    store.create_api_key("trust-team", scopes=["banks:read", "banks:write"])
    with httpx.Client(base_url=svc.url, timeout=60) as admin:
        admin.headers["X-CSRF-Token"] = admin.post(
            "/v1/auth/login", json={"username": "admin", "password": PASSWORD}
        ).json()["csrf_token"]
        for k, note in enumerate(
            [
                "Leaked ID card, ticket 4411",
                "Scam ad photo reported 12 times",
                "Stolen car listing (police report)",
            ]
        ):
            image = make_jpeg(400, 300, seed=700 + k)
            admin.post(
                "/v1/banks/banned/photos",
                files={"image": ("p.jpg", image, "image/jpeg")},
                data={"note": note, "author_id": f"seller-{k}"},
            ).raise_for_status()
    return {"item": "msg-1003", "author": "claire-b", "search": "voiture"}


def spread_over_two_days(store) -> None:  # type: ignore[no-untyped-def]
    """The automatic items and the two decided ones moved back over the last 40 hours, so
    that the dashboard's charts have a shape."""
    from sqlalchemy import update

    from moderation.store.repository import utcnow
    from moderation.store.tables import decisions, items, review_tasks

    now = utcnow()
    with store.engine.begin() as conn:
        for k in range(30):
            conn.execute(
                update(items)
                .where(items.c.id == f"auto-{k}")
                .values(created_at=now - timedelta(hours=40 - k))
            )
        for k, item_id in enumerate(["msg-1001", "msg-1002"]):
            pk = conn.execute(items.select().where(items.c.id == item_id)).first().pk
            created, decided = (
                now - timedelta(hours=30 - 8 * k),
                now - timedelta(hours=20 - 8 * k),
            )
            conn.execute(
                update(items).where(items.c.pk == pk).values(created_at=created)
            )
            conn.execute(
                update(review_tasks)
                .where(review_tasks.c.item_pk == pk)
                .values(created_at=created, decided_at=decided)
            )
            conn.execute(
                update(decisions)
                .where(decisions.c.item_pk == pk, decisions.c.kind == "human")
                .values(created_at=decided)
            )
        for k in range(4):
            pk = (
                conn.execute(items.select().where(items.c.id == f"photo-20{k}"))
                .first()
                .pk
            )
            conn.execute(
                update(review_tasks)
                .where(review_tasks.c.item_pk == pk)
                .values(created_at=now - timedelta(hours=6 - k))
            )


def shoot(page, path: Path) -> None:
    """A palette PNG: a UI has few colours, and the file is a fraction of the size."""
    raw = page.screenshot(full_page=False)
    image = (
        Image.open(io.BytesIO(raw))
        .convert("RGB")
        .quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    )
    image.save(path, optimize=True)


def take(svc: LiveService, out: Path, names: dict[str, str]) -> list[Path]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for lang, locale in (("en", "en-GB"), ("fr", "fr-FR")):
            anon = browser.new_context(
                locale=locale, viewport={"width": 1440, "height": 900}
            )
            page = anon.new_page()
            page.goto(svc.url + "/review")
            page.wait_for_selector("#login-form", state="visible")
            written.append(out / f"login-{lang}.png")
            shoot(page, written[-1])
            anon.close()
            pages = [
                ("queue", "alice", "/review", "#tasks .card"),
                (
                    "item",
                    "alice",
                    f"/review/items/{names['item']}",
                    "body:not([data-state=loading])",
                ),
                ("search", "alice", "/review", None),
                (
                    "author",
                    "alice",
                    f"/review/authors/{names['author']}",
                    "body:not([data-state=loading])",
                ),
                ("dashboard", "admin", "/review/dashboard", "body[data-state=ready]"),
                (
                    "admin-banks",
                    "admin",
                    "/review/admin/banks",
                    "body[data-state=ready]",
                ),
                ("admin-keys", "admin", "/review/admin/keys", "body[data-state=ready]"),
                (
                    "admin-users",
                    "admin",
                    "/review/admin/users",
                    "body[data-state=ready]",
                ),
                (
                    "admin-audit",
                    "admin",
                    "/review/admin/audit",
                    "body[data-state=ready]",
                ),
            ]
            for name, user, path, ready in pages:
                ctx = browser.new_context(
                    locale=locale, viewport={"width": 1440, "height": 900}
                )
                assert ctx.request.post(
                    svc.url + "/v1/auth/login",
                    data={"username": user, "password": PASSWORD},
                ).ok
                page = ctx.new_page()
                page.set_default_timeout(15_000)
                resp = page.goto(svc.url + path)
                if resp is None or resp.status == 404:
                    print(f"skipped {name}: {path} is not served", file=sys.stderr)
                    ctx.close()
                    continue
                try:
                    if name == "search":
                        page.wait_for_selector("#search")
                        page.fill("#search", names["search"])
                        page.press("#search", "Enter")
                        page.wait_for_selector(
                            "#results:not([hidden]) .card, #results:not([hidden]) a"
                        )
                    elif ready:
                        page.wait_for_selector(ready)
                except PlaywrightTimeout:
                    print(f"{name}: not ready in time; taken as it is", file=sys.stderr)
                page.wait_for_timeout(300)  # fonts and the last paint
                written.append(out / f"{name}-{lang}.png")
                shoot(page, written[-1])
                ctx.close()
        browser.close()
    return written


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, local_ray():
        policy = Path(tmp) / "policy.yaml"
        policy.write_text(policy_text(review="  undo_seconds: 1\n"), encoding="utf-8")
        svc = LiveService(make_settings(Path(tmp), policy_path=policy))
        try:
            written = take(svc, out, seed(svc))
        finally:
            svc.stop()
    total = sum(p.stat().st_size for p in written)
    print(f"{len(written)} screenshots in {out}, {total / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
