"""A scripted moderator clearing 100 items in chromium on the queue page: 100 texts with the
keys (what `bench_review.py` measured before the page had buttons, badges and plain-word
reasons: 27.8 ms per item in session 2), and 100 mixed items (texts, photos, sensitive
photos revealed with V before the decision) with the keys and with the buttons. The
figure is the time per item, Playwright's round trip included; the old page is measured
by `bench_review.py` at the commit before (benchmarks/README.md says how).

    .venv/bin/pytest benchmarks/bench_review_ui.py -p no:cacheprovider -s
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pytest
from benchkit import median_seconds
from browser_helpers import ARGS, CHROMIUM
from images import make_jpeg
from review_helpers import policy_text, review_item

NUDE = [
    {
        "source": "model",
        "category": "nudity",
        "detector": "nudenet@3",
        "score": 0.8,
        "detail": {"boxes": [[0.1, 0.1, 0.5, 0.5]]},
    }
]


def texts(prefix: str) -> list[Any]:
    return [
        review_item(f"{prefix}-{i}", text=f"item {i}: 06 12 34 56 {i % 100:02d}")
        for i in range(100)
    ]


def mixed(prefix: str) -> list[Any]:
    """60 texts, 25 photos, 15 sensitive photos, in several queues."""
    out = [
        review_item(f"{prefix}-t{i}", text=f"message {i}: 06 12 34 56 {i:02d}")
        for i in range(60)
    ]
    out += [
        review_item(
            f"{prefix}-p{i}",
            image=make_jpeg(320, 240, seed=i),
            queue="photos",
            reasons=[],
        )
        for i in range(25)
    ]
    out += [
        review_item(
            f"{prefix}-n{i}",
            image=make_jpeg(320, 240, seed=100 + i),
            queue="photos-sensitive",
            priority=1,
            reasons=NUDE,
        )
        for i in range(15)
    ]
    return out


def clear(tmp_path: Path, items: list[Any], *, buttons: bool) -> dict[str, Any]:
    """Log in, clear the queue (V first on a sensitive photo), return the timings."""
    from playwright.sync_api import sync_playwright
    from servers import LiveService, make_settings

    path = tmp_path / "policy.yaml"
    path.write_text(policy_text(), encoding="utf-8")
    live = LiveService(make_settings(tmp_path, policy_path=path))
    live.service.accounts.create_user("mod", "password1", "moderator")
    live.service.store.save_items(items)
    waits: list[float] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(
                bypass_csp=True, viewport={"width": 1440, "height": 900}
            )
            page.goto(live.url + "/review")
            page.fill("#username", "mod")
            page.fill("#password", "password1")
            page.press("#password", "Enter")
            page.wait_for_function("document.body.dataset.state === 'ready'")
            t0 = time.perf_counter()
            for k in range(len(items)):
                w0 = time.perf_counter()
                page.wait_for_function(
                    "document.body.dataset.state === 'ready'"
                )  # a task is on screen
                waits.append(time.perf_counter() - w0)
                if page.locator("#detail .photo.blurred").count():
                    page.click(
                        "#keys [data-action=reveal]"
                    ) if buttons else page.keyboard.press("v")
                action = "approve" if k % 4 else "reject"
                if buttons:
                    page.click(f"#keys [data-action={action}]")
                else:
                    page.keyboard.press(action[0])
            page.wait_for_function("document.body.dataset.state === 'empty'")
            seconds = time.perf_counter() - t0
            browser.close()
    finally:
        live.stop()
    done = sum(
        live.service.store.get_item(i.id)["final_decision"] is not None for i in items
    )
    assert done == len(items)
    return {
        "ms_per_item": round(seconds * 1000 / len(items), 1),
        "median_wait_for_next_ms": round(statistics.median(waits) * 1000, 2),
    }


@pytest.mark.browser
@pytest.mark.parametrize(
    ("what", "buttons"),
    [
        ("texts", False),  # as bench_review.py: the before/after comparison
        ("mixed", False),
        ("mixed", True),
    ],
)
def test_scripted_moderator_clears_100_items(
    benchmark, ray_session, tmp_path: Path, what: str, buttons: bool
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    items = texts("k") if what == "texts" else mixed("m")
    result: dict[str, Any] = {}
    benchmark.pedantic(
        lambda: result.update(clear(tmp_path, items, buttons=buttons)),
        rounds=1,
        iterations=1,
    )
    benchmark.extra_info.update(
        result, seconds_with_setup=round(median_seconds(benchmark), 2)
    )
    print("extra", what, "buttons" if buttons else "keys", benchmark.extra_info)
