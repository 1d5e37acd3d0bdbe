"""The review routes the queue page calls, over HTTP on a live service: claim filters and
fair share, skip, the exposure counter in the stats, a decision's reason code; bad input
gets a problem+json 4xx, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from review_helpers import review_item
from servers import LiveService, assert_problem, login, staffed_service

NUDE = [
    {"source": "model", "category": "nudity", "detector": "nudenet@3", "score": 0.9}
]


@pytest.fixture(scope="module")
def live(
    ray_session: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveService]:
    with staffed_service(Path(tmp_path_factory.mktemp("queue-api"))) as svc:
        svc.service.store.save_items(
            [review_item(f"q-{k}") for k in range(4)]
            + [review_item("nude", image=b"x", reasons=NUDE, queue="photos-sensitive")]
        )
        yield svc


def test_claim_with_filters_share_and_an_order(live: LiveService) -> None:
    with login(live, "mod") as mod:
        resp = mod.post(
            "/v1/review/claim",
            json={
                "limit": 10,
                "category": "contact_info",
                "sort": "age",
                "share": True,
            },
        )
        assert resp.status_code == 200, resp.text
        tasks = resp.json()["tasks"]
        assert len(tasks) == 2 and all(
            t["item"]["id"].startswith("q-") for t in tasks
        )  # half of 4
        assert all(t["report_case"] is False and t["reports"] == 0 for t in tasks)
        assert [r["code"] for r in tasks[0]["decision_reasons"]][:1] == ["phone_number"]
        for t in tasks:
            assert (
                mod.post(f"/v1/review/tasks/{t['task_id']}/release").status_code == 204
            )


@pytest.mark.parametrize(
    "body",
    [
        {"sort": "random"},  # not an order
        {"min_reports": -1},  # negative
        {"limit": 0},  # nothing to claim
        {"language": "x" * 17},  # too long
        {"share": "maybe"},  # not a boolean
    ],
)
def test_claim_with_bad_filters_is_refused(live: LiveService, body: dict) -> None:
    with login(live, "mod") as mod:
        assert_problem(mod.post("/v1/review/claim", json={"limit": 5, **body}), 422)


def test_skip_gives_the_task_to_the_other_moderator(live: LiveService) -> None:
    with login(live, "mod") as mod, login(live, "boss") as boss:
        [task] = mod.post(
            "/v1/review/claim", json={"limit": 1, "category": "contact_info"}
        ).json()["tasks"]
        assert (
            mod.post(
                f"/v1/review/tasks/{task['task_id']}/release?skip=true"
            ).status_code
            == 204
        )
        again = mod.post(
            "/v1/review/claim", json={"limit": 10, "category": "contact_info"}
        ).json()["tasks"]
        assert task["task_id"] not in [t["task_id"] for t in again]
        for t in again:
            mod.post(f"/v1/review/tasks/{t['task_id']}/release")
        [other] = boss.post(
            "/v1/review/claim", json={"limit": 1, "category": "contact_info"}
        ).json()["tasks"]
        assert other["task_id"] == task["task_id"]
        boss.post(f"/v1/review/tasks/{other['task_id']}/release")


def test_exposure_is_counted_once_and_shown_in_the_stats(live: LiveService) -> None:
    with login(live, "mod") as mod:
        first = mod.post("/v1/review/items/nude/exposure")
        assert first.status_code == 200 and first.json() == {
            "item_id": "nude",
            "counted": True,
        }
        assert mod.post("/v1/review/items/nude/exposure").json()["counted"] is False
        assert_problem(mod.post("/v1/review/items/q-0/exposure"), 422)  # not sensitive
        assert_problem(mod.post("/v1/review/items/nope/exposure"), 404)
        assert mod.get("/v1/review/stats").json()["exposure_today"] == {"user:mod": 1}
    with live.client() as anonymous:
        assert_problem(anonymous.post("/v1/review/items/nude/exposure"), 401)


def test_decision_reason_code_is_checked_against_the_policy(live: LiveService) -> None:
    with login(live, "mod") as mod:
        [task] = mod.post(
            "/v1/review/claim", json={"limit": 1, "category": "contact_info"}
        ).json()["tasks"]
        url = f"/v1/review/tasks/{task['task_id']}/decision"
        assert_problem(
            mod.post(
                url, json={"decision": "reject", "reason_code": "explicit_nudity"}
            ),
            422,
        )
        assert_problem(
            mod.post(url, json={"decision": "reject", "reason_code": "Not A Code!"}),
            422,
        )
        resp = mod.post(
            url,
            json={
                "decision": "reject",
                "reason_code": "phone_number",
                "note": "en lettres",
            },
        )
        assert resp.status_code == 200, resp.text
        item = mod.get(f"/v1/review/items/{task['item']['id']}").json()
        assert [
            (h["reason_code"], h["note"])
            for h in item["history"]
            if h["kind"] == "human"
        ] == [("phone_number", "en lettres")]
