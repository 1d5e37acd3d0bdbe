"""Loading the shipped ONNX models: once per worker, checked against their manifest.

Each model lives in `models/` as three files: `NAME.onnx`, `NAME.json` (the manifest:
file, sha256, version, labels, input spec) and `NAME.md` (the model card). A model
whose bytes do not match the manifest's sha256 is refused, so a half-copied or
swapped file can never make decisions silently.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moderation.errors import ModerationError

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


class ModelError(ModerationError):
    type_, status, title = "model-error", 500, "Model cannot be loaded"


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    path: Path
    sha256: str
    meta: dict[str, Any]

    @property
    def tag(self) -> str:
        """How reasons name the model: `name@version`."""
        return f"{self.name}@{self.version}"


def read_manifest(name: str, models_dir: Path = MODELS_DIR) -> Manifest:
    manifest_path = models_dir / f"{name}.json"
    if not manifest_path.is_file():
        raise ModelError(f"no manifest {manifest_path}")
    meta = json.loads(manifest_path.read_text())
    path = models_dir / meta["file"]
    return Manifest(name=name, version=str(meta["version"]), path=path, sha256=meta["sha256"], meta=meta)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verified_model(name: str, models_dir: Path = MODELS_DIR) -> tuple[Manifest, bytes]:
    """A model's manifest and its file's bytes, those bytes checked against the manifest's
    sha256: what is loaded is what was checked, not a file read again later."""
    manifest = read_manifest(name, models_dir)
    if not manifest.path.is_file():
        raise ModelError(f"model file {manifest.path} is missing")
    data = manifest.path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != manifest.sha256:
        raise ModelError(f"model {name}: sha256 {actual} does not match manifest {manifest.sha256}")
    return manifest, data


def load_session(name: str, *, threads: int = 1, models_dir: Path = MODELS_DIR) -> tuple[Any, Manifest]:
    """An onnxruntime session for a shipped model, after checking its sha256.

    `threads` is the intra-op thread count; workers are sized by process count, so
    one thread per session is usually best (measured in benchmarks/README.md).
    """
    manifest, data = verified_model(name, models_dir)
    return session_from(data, threads=threads), manifest


def session_from(model: str | bytes, *, threads: int = 1) -> Any:
    """An onnxruntime CPU session for a model file path or serialized model bytes."""
    import onnxruntime as ort  # heavy: loaded by the processes that run a model, not by every import

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])
