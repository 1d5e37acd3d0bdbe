"""Running the service for tests: in this process (`LiveService`, sharing the session's
Ray) or as the real CLI in its own process (`ServedProcess`: restarts, benchmarks).

Test modules import these from here, never from `conftest` (tests/ and benchmarks/ each
have a conftest module, and only one of them can be imported under that name)."""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
# The development data (../shared/eval), read in place; tests that need it skip without it.
EVAL_DIR = Path(os.environ.get("MODERATION_EVAL_DIR", REPO.parent / "shared" / "eval"))


# Every scope of an API key (moderation.store.repository.API_KEY_SCOPES).
ALL_SCOPES = ("moderate", "items:read", "banks:read", "banks:write")


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.05, what: str = "condition") -> None:
    """Poll `predicate` until it is true; an AssertionError naming `what` after `timeout` s."""
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"{what} not met within {timeout:g} s")
        time.sleep(interval)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def text_item(item_id: str, text: str = "bonjour", context: str = "message", author: str = "a1") -> dict[str, Any]:
    """A text item of a `/v1/moderate` body."""
    return {"id": item_id, "type": "text", "context": context, "author_id": author, "text": text}


def photo_item(item_id: str, data: bytes, context: str = "car_photo", author: str = "a1") -> dict[str, Any]:
    """A photo item of a `/v1/moderate` body (base64 JPEG, PNG, WebP or GIF bytes)."""
    return {"id": item_id, "type": "photo", "context": context, "author_id": author, "image_b64": b64(data)}


@contextlib.contextmanager
def local_ray() -> Iterator[None]:
    """One local Ray for a test or benchmark session (it takes 5 to 10 s to start); when one
    is already running in this process, it is used and left running."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            namespace="moderation-tests",
            configure_logging=False,
            log_to_driver=False,
            object_store_memory=512 * 1024 * 1024,
        )
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveService:
    """The real app under uvicorn on a free port, in a thread of this process (sharing
    the session's Ray)."""

    def __init__(self, settings: Any) -> None:
        import uvicorn

        from moderation.api.app import create_app

        self.port = free_port()
        self.keys: dict[tuple[str, str | None, tuple[str, ...]], str] = {}
        self.settings = settings.model_copy(update={"public_url": f"http://127.0.0.1:{self.port}"})
        self.app = create_app(self.settings, watch_policy=True)
        # As `moderation serve` runs it: forwarded headers are the app's business (TrustedProxies).
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False, proxy_headers=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("service did not start")
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def service(self) -> Any:
        return self.app.state.service

    def api_key(self, name: str = "test", webhook_url: str | None = None, scopes: tuple[str, ...] = ALL_SCOPES) -> str:
        """A key with every scope unless told: the suites that test scopes pass their own.
        One key per name, webhook and scopes, as a pipeline keeps its key: a key reads only
        the items it submitted, and tests read back with `api_key()` again."""
        wanted = (name, webhook_url, tuple(sorted(scopes)))
        if wanted not in self.keys:
            self.keys[wanted], _ = self.service.store.create_api_key(name, webhook_url=webhook_url, scopes=scopes)
        return self.keys[wanted]

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)


def make_settings(tmp_path: Path, **overrides: Any) -> Any:
    from moderation.config import Settings

    values: dict[str, Any] = {
        "data_dir": tmp_path / "var",
        "text_workers": 1,
        "photo_workers": 1,
    }
    values.update(overrides)
    return Settings(**values)


class ServedProcess:
    """The real CLI entry point on a port, with its own local Ray and data directory."""

    def __init__(self, data_dir: Path, port: int, **env_overrides: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        self.env["MODERATION_DATA_DIR"] = str(data_dir)
        self.env.update(env_overrides)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "moderation.cli", *args], env=self.env, cwd=REPO, capture_output=True, text=True, check=True
        )
        return out.stdout

    def create_key(self, name: str = "pipeline", *scopes: str) -> str:
        """`moderation keys create`; without scopes the key gets the CLI's default ones."""
        args = [a for s in scopes for a in ("--scope", s)]
        return self.cli("keys", "create", name, *args).strip().splitlines()[-1]

    def start(self, timeout: float = 180) -> None:
        # The service's output goes to a log beside its data, quoted when it fails to start.
        self.log = Path(self.env["MODERATION_DATA_DIR"]).parent / f"serve-{self.port}.log"
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moderation.cli", "serve", "--port", str(self.port), "--log-level", "warning"],
                env=self.env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-4000:]
                raise RuntimeError(f"service exited with {self.proc.returncode}:\n{tail}")
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("service not ready in time")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, as a rolling deploy sends it; the exit code once the process is gone."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            self.kill()


class Receiver:
    """A real HTTP server that records what it receives; it can be started late and
    answer errors for a while."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/hook"
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    self.send_response(503)
                else:
                    receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()


PROBLEM = "application/problem+json"


def assert_problem(resp: httpx.Response, status: int, type_suffix: str | None = None) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body = resp.json()
    assert body["status"] == status and body["detail"] and body["type"].startswith("https://")
    if type_suffix:
        assert body["type"].endswith(type_suffix), body
    return body


class PostgresServer:
    """A throwaway PostgreSQL cluster from the installed initdb/pg_ctl binaries."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="moderation-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(["initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale"])
        self.start()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(["pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"), "-w", "start"])

    def pause(self) -> None:
        """Stop the server, keeping its data: an outage that `start` ends."""
        self._run(["pg_ctl", "-D", str(self.data), "-m", "fast", "stop"])

    def _run(self, cmd: list[str]) -> None:
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, cwd=self.root)

    def stop(self) -> None:
        try:
            self._run(["pg_ctl", "-D", str(self.data), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def fresh_postgres_database(server_url: str) -> str:
    """A new empty database on the server, so each test starts clean."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


STAFF_PASSWORD = "s3cret-pass"


@contextlib.contextmanager
def staffed_service(tmp: Path, **overrides: Any) -> Iterator[LiveService]:
    """A live service with a moderator `mod` and an admin `boss` (password STAFF_PASSWORD)."""
    svc = LiveService(make_settings(tmp, **overrides))
    svc.service.accounts.create_user("mod", STAFF_PASSWORD, "moderator")
    svc.service.accounts.create_user("boss", STAFF_PASSWORD, "admin")
    try:
        yield svc
    finally:
        svc.stop()


@contextlib.contextmanager
def login(live: LiveService, username: str) -> Iterator[httpx.Client]:
    """A client logged in as `username`, sending the session's CSRF token."""
    with httpx.Client(base_url=live.url, timeout=30) as c:
        resp = c.post("/v1/auth/login", json={"username": username, "password": STAFF_PASSWORD})
        assert resp.status_code == 200, resp.text
        c.headers["X-CSRF-Token"] = resp.json()["csrf_token"]
        yield c


def kill_shared_actors(database_url: str, shards: int = 1) -> None:
    """The bank index and campaign actors API processes on `database_url` shared: detached
    when several processes share them, so a test kills them itself (in the service's Ray
    namespace) once its processes are gone."""
    import ray

    from moderation.banks import index_name

    name = index_name(database_url)
    for actor_name in [f"{name}-{k}of{shards}" for k in range(shards)] + ["campaigns-" + name.removeprefix("bank-index-")]:
        try:
            ray.kill(ray.get_actor(actor_name, namespace="moderation"))
        except ValueError:
            pass  # already gone
