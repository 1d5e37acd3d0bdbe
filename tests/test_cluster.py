"""Shared state on a cluster: several API processes on one database and one Ray cluster
agree (banks, campaigns, QA, idempotency), and the cluster's shared actors heal.

The multi-process and node-loss tests are marked `fault` (`make test-slow`); killing an
index shard in place runs in `make test`."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import ray
from images import make_jpeg
from servers import (
    ALL_SCOPES,
    LiveService,
    PostgresServer,
    ServedProcess,
    free_port,
    fresh_postgres_database,
    kill_shared_actors,
    make_settings,
    photo_item,
    text_item,
    wait_for,
)
from sqlalchemy import select

from moderation.config import DEFAULT_POLICY
from moderation.review.qa import sampled
from moderation.store import make_engine
from moderation.store.tables import items, review_tasks

CAMPAIGN = "Bonjour à tous, covoiturage pas cher toutes les semaines, écrivez-moi vite sur mon site promo"


def test_a_killed_index_shard_reloads_and_photos_recover_without_restart(ray_session: None, tmp_path: Path) -> None:
    live = LiveService(make_settings(tmp_path))
    try:
        with live.client(live.api_key()) as c:
            banned = make_jpeg(seed=501)
            assert c.post("/v1/banks/banned/photos", files={"image": ("b.jpg", banned, "image/jpeg")}).status_code == 201
            [shard] = live.service.index.handles()
            ray.kill(shard, no_restart=False)  # Ray restarts it: it must reload from the database
            answers = []

            def banned_copy_answer() -> bool:
                resp = c.post("/v1/moderate", json={"items": [photo_item(f"after-kill-{len(answers)}", banned)]})
                answers.append(resp.status_code)
                # while the shard reloads: 503 with Retry-After, never an approval
                assert resp.status_code in (200, 503), resp.text
                return resp.status_code == 200 and resp.json()["results"][0]["decision"] == "reject"

            wait_for(banned_copy_answer, timeout=60, interval=0.2, what="the banned photo rejected again")
            assert c.get("/readyz").status_code == 200
            texts = c.post("/v1/moderate", json={"items": [text_item("after-kill-text")]})
            assert texts.status_code == 200 and texts.json()["results"][0]["decision"] == "approve"
    finally:
        live.stop()


# -- several API processes ------------------------------------------------------------------


@pytest.fixture
def two_processes(ray_session: None, postgres_url: str, tmp_path: Path) -> Iterator[tuple[ServedProcess, ServedProcess, str, str]]:
    """Two `moderation serve` processes on one PostgreSQL database, joining the session's Ray."""
    url = fresh_postgres_database(postgres_url)
    policy = tmp_path / "policy.yaml"
    policy.write_text(DEFAULT_POLICY.read_text() + "\nqa:\n  sample_auto: 0.3\n")
    env = {
        "MODERATION_DATABASE_URL": url,
        "MODERATION_POLICY_PATH": str(policy),
        "RAY_ADDRESS": ray.get_runtime_context().gcs_address,
        "MODERATION_TEXT_WORKERS": "1",
        "MODERATION_PHOTO_WORKERS": "1",
        "MODERATION_STOP_SHARED_ACTORS": "false",
    }
    a = ServedProcess(tmp_path / "a", free_port(), **env)
    b = ServedProcess(tmp_path / "b", free_port(), **env)
    key = a.create_key("pipeline", *ALL_SCOPES)
    a.start()
    b.start()
    try:
        yield a, b, key, url
    finally:
        a.kill()
        b.kill()
        kill_shared_actors(url)


@pytest.mark.fault
@pytest.mark.postgres
def test_two_processes_share_banks_campaigns_qa_and_idempotency(two_processes: tuple[ServedProcess, ServedProcess, str, str]) -> None:
    a, b, key, url = two_processes
    headers = {"Authorization": f"Bearer {key}"}
    ca, cb = httpx.Client(base_url=a.url, headers=headers, timeout=60), httpx.Client(base_url=b.url, headers=headers, timeout=60)
    # A ban through A holds through B at once: the exact photo and a re-encoded copy.
    banned = make_jpeg(seed=777)
    assert ca.post("/v1/banks/banned/photos", files={"image": ("b.jpg", banned, "image/jpeg")}).status_code == 201
    # (posted by their own author: its strikes restrict it, and the texts below are another's)
    res = cb.post("/v1/moderate", json={"items": [photo_item("p-banned", banned, author="banned-poster"),
                                                  photo_item("p-copy", make_jpeg(seed=777, quality=70), author="banned-poster")]})
    assert [r["decision"] for r in res.json()["results"]] == ["reject", "reject"]
    # A photo approved through A is `seen`: another author's copy through B is a duplicate.
    original = make_jpeg(seed=778)
    assert ca.post("/v1/moderate", json={"items": [photo_item("p-own", original, author="owner")]}).json()["results"][0]["decision"] == "approve"
    copy = cb.post("/v1/moderate", json={"items": [photo_item("p-stolen", original, author="thief")]}).json()["results"][0]
    assert "duplicate" in {r["category"] for r in copy["reasons"]}
    # Copies through different processes count as one campaign.
    decisions = [
        (ca if k % 2 else cb).post("/v1/moderate", json={"items": [text_item(f"camp-{k}", CAMPAIGN, author=f"spammer-{k}")]}).json()["results"][0]
        for k in range(3)
    ]
    assert "spam" in {r["category"] for r in decisions[-1]["reasons"]}
    # The same id through both at once is stored once; the other answer is its replay.
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda c: c.post("/v1/moderate", json={"items": [text_item("same-id", "bonjour")]}), (ca, cb)))
    assert [r.status_code for r in both] == [200, 200]
    assert {r.json()["results"][0]["decision"] for r in both} == {"approve"}
    # Failed logins through either process count together.
    from moderation.auth import LOGIN_MAX_PER_ACCOUNT

    for k in range(LOGIN_MAX_PER_ACCOUNT):
        resp = (ca if k % 2 else cb).post("/v1/auth/login", json={"username": "nobody-here", "password": f"guess {k}"})
        assert resp.status_code == 401
    assert ca.post("/v1/auth/login", json={"username": "nobody-here", "password": "again"}).status_code == 429
    assert cb.post("/v1/auth/login", json={"username": "nobody-here", "password": "again"}).status_code == 429
    # QA is drawn at write time by whichever process wrote the item: none is skipped.
    ids = [f"qa-{k}" for k in range(60)]
    for k in range(0, 60, 6):
        (ca if k % 12 else cb).post("/v1/moderate", json={"items": [text_item(i, "merci pour le trajet") for i in ids[k:k + 6]]})
    engine = make_engine(url)
    with engine.connect() as conn:
        queued = sorted(conn.execute(
            select(items.c.id).join(review_tasks, review_tasks.c.item_pk == items.c.pk).where(review_tasks.c.queue == "qa")
        ).scalars())
        automatic = conn.execute(select(items.c.id).where(items.c.first_decision != "review")).scalars().all()
    engine.dispose()
    assert set(ids) <= set(automatic)
    assert queued == sorted(i for i in automatic if sampled(i, "qa", 0.3)) and queued


@pytest.mark.fault
@pytest.mark.postgres
def test_a_process_that_dies_leaves_the_other_serving_photos(two_processes: tuple[ServedProcess, ServedProcess, str, str]) -> None:
    # A created the shared index; when A dies, B finds it gone and creates it again.
    a, b, key, _ = two_processes
    headers = {"Authorization": f"Bearer {key}"}
    banned = make_jpeg(seed=880)
    with httpx.Client(base_url=a.url, headers=headers, timeout=60) as ca:
        assert ca.post("/v1/banks/banned/photos", files={"image": ("b.jpg", banned, "image/jpeg")}).status_code == 201
    a.kill()
    with httpx.Client(base_url=b.url, headers=headers, timeout=60) as cb:
        seen: list[int] = []

        def rejected() -> bool:
            resp = cb.post("/v1/moderate", json={"items": [photo_item(f"after-a-{len(seen)}", banned)]})
            seen.append(resp.status_code)
            assert resp.status_code in (200, 503), resp.text
            return resp.status_code == 200 and resp.json()["results"][0]["decision"] == "reject"

        wait_for(rejected, timeout=90, interval=0.5, what="B rejecting the banned photo after A died")
        wait_for(lambda: cb.get("/readyz").status_code == 200, timeout=30, what="B ready")


# -- node loss on a local multi-node cluster -----------------------------------------------

# Run inside the cluster: where each named actor lives, as the temp dir of its node.
_WHERE = """
import json, ray
ray.init(address="auto", namespace="moderation", log_to_driver=False)
nodes = {n["NodeID"]: n["ObjectStoreSocketName"] for n in ray.nodes() if n["Alive"]}
out = [(a["ActorClassName"].rsplit(".", 1)[-1], nodes.get(a["Address"]["NodeID"], ""))
       for a in ray._private.state.actors().values() if a["State"] == "ALIVE"]
print(json.dumps(out))
"""


class LocalCluster:
    """A head (no CPUs: it only coordinates) and two worker nodes on this machine, each
    `ray start`ed with its own temp dir; a node is killed by the PIDs of its own processes."""

    def __init__(self, root: Path) -> None:
        import os
        import tempfile

        self.env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
        self.env.pop("RAY_ADDRESS", None)
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.dirs = [tempfile.mkdtemp(prefix=f"rn{k}", dir="/tmp") for k in range(3)]  # short: socket paths
        self._ray(["start", "--head", "--node-ip-address=127.0.0.1", f"--port={self.port}", "--num-cpus=0",
                   f"--temp-dir={self.dirs[0]}", "--include-dashboard=false", "--disable-usage-stats"])
        for d in self.dirs[1:]:
            self._ray(["start", f"--address={self.address}", "--node-ip-address=127.0.0.1", "--num-cpus=2", f"--temp-dir={d}"])

    def _ray(self, args: list[str]) -> None:
        import subprocess
        import sys

        subprocess.run([str(Path(sys.executable).parent / "ray"), *args], env=self.env, check=True, capture_output=True, timeout=120)

    def where(self) -> list[tuple[str, str]]:
        """(actor class, temp dir of its node) of every live actor."""
        import json
        import subprocess
        import sys

        out = subprocess.run([sys.executable, "-c", _WHERE], env={**self.env, "RAY_ADDRESS": self.address},
                             check=True, capture_output=True, text=True, timeout=120)
        return [(cls, next((d for d in self.dirs if sock.startswith(d)), "")) for cls, sock in json.loads(out.stdout.splitlines()[-1])]

    def pids(self, temp_dir: str) -> list[int]:
        """The node's processes (their command line names its temp dir) and their children
        (the actors' worker processes)."""
        import os

        parent: dict[int, int] = {}
        found: set[int] = set()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                parent[int(pid)] = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if temp_dir in cmd:
                found.add(int(pid))
        grew = True
        while grew:
            children = {p for p, pp in parent.items() if pp in found} - found
            found |= children
            grew = bool(children)
        return sorted(found)

    def kill_node(self, temp_dir: str) -> int:
        import os
        import signal

        pids = self.pids(temp_dir)
        for pid in pids:
            with __import__("contextlib").suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def stop(self) -> None:
        import shutil

        for d in reversed(self.dirs):
            self.kill_node(d)
            shutil.rmtree(d, ignore_errors=True)


@pytest.mark.fault
def test_losing_the_node_that_holds_the_actors_heals_without_restart_and_loses_nothing(tmp_path: Path) -> None:
    cluster = LocalCluster(tmp_path)
    served = ServedProcess(tmp_path / "var", free_port(), RAY_ADDRESS=cluster.address, RAY_AUTH_MODE="disabled",
                           MODERATION_TEXT_WORKERS="1", MODERATION_PHOTO_WORKERS="1")
    try:
        key = served.create_key("pipeline", *ALL_SCOPES)
        served.start(timeout=240)
        headers = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=served.url, headers=headers, timeout=60) as c:
            banned = make_jpeg(seed=990)
            assert c.post("/v1/banks/banned/photos", files={"image": ("b.jpg", banned, "image/jpeg")}).status_code == 201
            where = cluster.where()
            # The worker node holding the bank index if it is on one (the head, which only
            # coordinates, cannot be lost without the cluster), else the busier one.
            on_workers = [(cls, d) for cls, d in where if d in cluster.dirs[1:]]
            index_nodes = [d for cls, d in on_workers if cls == "IndexActor"]
            target = index_nodes[0] if index_nodes else max(cluster.dirs[1:], key=lambda d: sum(x == d for _, x in on_workers))
            assert {cls for cls, d in on_workers if d == target} & {"IndexActor", "TextWorker", "PhotoWorker"}, where
            acknowledged: dict[str, str] = {}
            statuses: list[int] = []

            def send(n: int) -> None:
                # the banned photo's poster collects strikes (and a restriction): not the texts' author
                items = [text_item(f"n{n}-t{k}", "merci pour le trajet") for k in range(5)] + [photo_item(f"n{n}-p", banned, author="banned-poster")]
                resp = c.post("/v1/moderate", json={"items": items})
                statuses.append(resp.status_code)
                assert resp.status_code in (200, 503), resp.text
                if resp.status_code == 200:
                    acknowledged.update({r["id"]: r["decision"] for r in resp.json()["results"]})

            for n in range(3):
                send(n)
            assert cluster.kill_node(target) > 0
            rounds = iter(range(3, 10_000))

            def healed() -> bool:
                n = next(rounds)
                send(n)
                return statuses[-1] == 200 and acknowledged[f"n{n}-p"] == "reject" and acknowledged[f"n{n}-t0"] == "approve"

            wait_for(healed, timeout=180, interval=1.0, what="texts and photos served again after the node died")
            wait_for(lambda: c.get("/readyz").status_code == 200, timeout=60, what="ready again")
            assert all(d != target for _, d in cluster.where())
            # nothing acknowledged is lost: every answered item is stored with its decision
            for item_id, decision in acknowledged.items():
                assert c.get(f"/v1/items/{item_id}").json()["first_decision"] == decision
    finally:
        served.kill()
        cluster.stop()


def test_a_restarted_campaign_window_rebuilds_from_the_stored_texts(ray_session: None, tmp_path: Path) -> None:
    live = LiveService(make_settings(tmp_path))
    try:
        with live.client(live.api_key()) as c:
            for k in range(2):
                first = c.post("/v1/moderate", json={"items": [text_item(f"rc-{k}", CAMPAIGN, author=f"rc-author-{k}")]})
                assert "spam" not in {r["category"] for r in first.json()["results"][0]["reasons"]}
            ray.kill(ray.get_actor(live.service.campaigns), no_restart=False)  # Ray restarts it, empty
            wait_for(lambda: c.post("/v1/moderate", json={"items": [text_item(f"rc-probe-{time.monotonic()}", "merci")]}).status_code == 200,
                     timeout=60, interval=0.5, what="texts served again")
            third = c.post("/v1/moderate", json={"items": [text_item("rc-2", CAMPAIGN, author="rc-author-2")]}).json()["results"][0]
            assert "spam" in {r["category"] for r in third["reasons"]}  # the two before still count
    finally:
        live.stop()


# -- outages and overload -------------------------------------------------------------------


@pytest.mark.fault
@pytest.mark.postgres
def test_a_30_second_postgres_outage_is_503_with_retry_after_then_serves_again(ray_session: None, tmp_path: Path) -> None:
    server = PostgresServer()  # its own server: the session's other tests keep theirs
    served = ServedProcess(tmp_path / "var", free_port(), MODERATION_DATABASE_URL=server.url,
                           RAY_ADDRESS=ray.get_runtime_context().gcs_address,
                           MODERATION_TEXT_WORKERS="1", MODERATION_PHOTO_WORKERS="1")
    try:
        key = served.create_key()
        served.start()
        with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
            assert c.post("/v1/moderate", json={"items": [text_item("before-outage")]}).status_code == 200
            server.pause()
            started = time.monotonic()
            during = []
            while time.monotonic() - started < 30:
                resp = c.post("/v1/moderate", json={"items": [text_item(f"during-{len(during)}")]})
                during.append(resp.status_code)
                assert resp.status_code == 503 and int(resp.headers["retry-after"]) > 0, resp.text
                assert c.get("/readyz").status_code == 503
                time.sleep(1.0)
            server.start()
            wait_for(lambda: c.get("/readyz").status_code == 200, timeout=60, interval=0.5, what="ready after the outage")
            assert c.post("/v1/moderate", json={"items": [text_item("after-outage")]}).status_code == 200
            assert c.get("/v1/items/before-outage").json()["first_decision"] == "approve"
            assert all(c.get(f"/v1/items/during-{k}").status_code == 404 for k in range(len(during)))  # none half-stored
        log = served.log.read_text(errors="replace")
        assert log.count("Traceback") <= 3, log[-3000:]  # once per state change, not every half second
    finally:
        served.kill()
        server.stop()


@pytest.mark.fault
def test_overload_is_refused_with_429_and_memory_stays_bounded(ray_session: None, tmp_path: Path) -> None:
    served = ServedProcess(tmp_path / "var", free_port(), RAY_ADDRESS=ray.get_runtime_context().gcs_address,
                           MODERATION_TEXT_WORKERS="1", MODERATION_PHOTO_WORKERS="1", MODERATION_MAX_IN_FLIGHT="200")
    try:
        key = served.create_key()
        served.start()
        assert served.proc is not None
        rss = [_rss_mib(served.proc.pid)]
        statuses: list[int] = []

        def flood(k: int) -> None:
            with httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as c:
                for n in range(15):
                    items = [text_item(f"f{k}-{n}-{i}", f"texte numéro {i} " * 20) for i in range(100)]
                    statuses.append(c.post("/v1/moderate", json={"items": items}).status_code)
                    rss.append(_rss_mib(served.proc.pid))

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(flood, range(16)))
        assert set(statuses) <= {200, 429} and 429 in statuses and 200 in statuses
        assert max(rss) < rss[0] + 600, rss  # bounded: refused work holds no memory
    finally:
        served.kill()


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
