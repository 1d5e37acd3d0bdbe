"""`moderation serve` in its own process: for restart tests and end-to-end benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


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

    def create_key(self, name: str = "pipeline") -> str:
        return self.cli("keys", "create", name).strip().splitlines()[-1]

    def start(self, timeout: float = 180) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moderation.cli", "serve", "--port", str(self.port), "--log-level", "warning"],
            env=self.env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited with {self.proc.returncode}")
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
