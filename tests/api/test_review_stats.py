"""The stats page's figures over real HTTP: automation and its precision per category,
from what was stored and what QA said about it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from review_helpers import policy_text, review_item
from servers import LiveService, login, staffed_service


@pytest.fixture(scope="module")
def live(ray_session: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    tmp = tmp_path_factory.mktemp("stats")
    path = tmp / "policy.yaml"
    path.write_text(policy_text(), encoding="utf-8")
    with staffed_service(tmp, policy_path=path) as svc:
        yield svc


def test_stats_report_decision_quality_from_qa_verdicts(live: LiveService) -> None:
    live.service.store.save_items(
        [review_item(f"st-{i}", decision="approve", reasons=[], qa_sample=True) for i in range(2)]
        + [review_item("st-rev")]
    )
    with login(live, "mod") as c:
        claimed = c.post("/v1/review/claim", json={"limit": 5, "queue": "qa"}).json()
        for k, task in enumerate(claimed["tasks"]):
            resp = c.post(f"/v1/review/tasks/{task['task_id']}/decision", json={"decision": "reject" if k == 0 else "approve"})
            assert resp.status_code == 200, resp.text
        stats = c.get("/v1/review/stats").json()
    every = next(g for g in stats["decision_quality"] if g["category"] == "all")
    assert (every["items"], every["automated"]) == (3, 2)
    assert every["approve_precision"] == {"value": 0.5, "count": 1, "of": 2}
    assert every["harm_approved"] == {"value": 1.0, "count": 1, "of": 1}
