"""Settings, read from `MODERATION_*` environment variables (and `RAY_ADDRESS`).

There is no module-level instance: `create_app(settings)` and the CLI build one, so a
test can run several services with different databases side by side.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POLICY = Path(__file__).resolve().parent / "policy.yaml"


def default_data_dir() -> Path:
    """Where the service and the CLI find the same database wherever they are run from:
    a source checkout's own `var/` (what `make run` uses), else the user's data directory
    ($XDG_DATA_HOME/moderation, ~/.local/share/moderation). Never the current directory:
    `moderation keys create` run from elsewhere would make a key the service never sees.
    MODERATION_DATA_DIR overrides it (the container image sets /data)."""
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / "var"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "moderation"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MODERATION_", extra="ignore")

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Where the SQLite database and runtime files live (default: `default_data_dir()`).",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/moderation.db (WAL mode)."
    )
    policy_path: Path = Field(default=DEFAULT_POLICY, description="The YAML policy file.")
    eval_dir: Path = Field(default=REPO_ROOT.parent / "shared" / "eval", description="Development evaluation data.")
    ray_address: str | None = Field(
        default=None,
        validation_alias=AliasChoices("RAY_ADDRESS", "MODERATION_RAY_ADDRESS"),
        description="Join this Ray cluster; unset starts a local one.",
    )
    ray_num_cpus: int | None = Field(default=None, description="CPUs of the local Ray started when no address is set.")
    text_workers: int = Field(default=2, ge=1, description="Text actors in the pool.")
    photo_workers: int = Field(default=2, ge=1, description="Photo actors in the pool.")
    index_shards: int = Field(default=1, ge=1, description="Bank index actors; more spread a large bank.")
    worker_batch_size: int = Field(default=64, ge=1, description="Items per remote call to a worker.")
    max_in_flight: int = Field(default=2048, ge=1, description="Items being analysed at once; above it, 429.")
    max_batch_items: int = Field(default=256, ge=1, description="Items per /v1/moderate request.")
    max_body_bytes: int = Field(default=64 * 1024 * 1024, description="Largest request body accepted (413 above).")
    max_text_chars: int = Field(default=100_000, description="Longest text accepted per item.")
    max_image_bytes: int = Field(default=20_000_000, description="Largest image accepted per item.")
    max_image_pixels: int = Field(default=50_000_000, description="Most pixels an image may declare (bomb guard).")
    max_decoded_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1, description="Most bytes a decoded image may hold in memory (from its header)."
    )
    index_load_wait_seconds: float = Field(
        default=120.0, ge=0, description="How long a starting service waits for the bank index to load before serving."
    )
    stop_shared_actors: bool = Field(
        default=True,
        description="Kill the cluster's bank index and campaign actors when this process stops. Off when "
        "several API processes share them (they are created again by whoever finds them gone).",
    )
    worker_retries: int = Field(default=3, ge=0, description="Retries of a batch whose worker died.")
    public_url: str = Field(default="http://127.0.0.1:8000", description="Base of the status_url links returned.")
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Webhook receivers allowed on loopback, private or link-local addresses and on any port: "
        "hostnames and CIDR networks, comma-separated.",
    )

    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: IP addresses and "
        "CIDR networks, comma-separated. Empty: the direct peer is the client, whatever it sends.",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_trusted_proxies(cls, value: Any) -> Any:
        return [e.strip() for e in value.split(",") if e.strip()] if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"trusted proxy {entry!r} is not an IP address or CIDR network") from None
        return value

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_allowed_hosts(cls, value: Any) -> Any:
        # each entry is checked when the service starts (`webhooks.allow_list`)
        return [e.strip() for e in value.split(",") if e.strip()] if isinstance(value, str) else value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'moderation.db').resolve()}"
