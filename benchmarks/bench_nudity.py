"""NudeNet 320n: our path against `nudenet.NudeDetector().detect()`, per image.

Run: `.venv/bin/python -m pytest benchmarks/bench_nudity.py -p no:cacheprovider`
(`MODERATION_BENCH_QUICK=1` for a smoke run). Needs `nudenet==3.0.8` (and through it
opencv-python-headless) for the reference groups; they skip without it.

Groups, ours beside the naive way in each:
* `nudity-e2e`: JPEG bytes -> detections. Ours: DCT-scaled decode (PIL draft) + letterbox
  + session + numpy post-processing. nudenet: cv2.imread of the full photo + its own
  letterbox + the same model + its Python loop.
* `nudity-post`: the (1, 22, 2100) output -> detections, numpy against nudenet's loop.
* `nudity-threads`: the session alone at 1 and 2 intra-op threads.
Data: seeded synthetic 2 MP (1632 x 1224) JPEGs, quality 90; the seed is printed.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from moderation.photos.decode import decode
from moderation.photos.nudity import NudityDetector, decode_output, letterbox

SEED = 1234
QUICK = os.environ.get("MODERATION_BENCH_QUICK") == "1"
N_IMAGES = 2 if QUICK else 8
ROUNDS = 2 if QUICK else 5


def synthetic_jpegs(n: int, seed: int = SEED) -> list[bytes]:
    """Photo-like 2 MP JPEGs: blurred coloured blobs plus sensor-like noise."""
    print(f"bench_nudity: seed={seed} images={n}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        # Low-frequency colour field upscaled, then fine noise, so the JPEG has real detail.
        field = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        base = Image.fromarray(field).resize((1632, 1224), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(8))
        pixels = np.asarray(base, dtype=np.int16) + rng.normal(0, 12, (1224, 1632, 3)).astype(np.int16)
        buf = io.BytesIO()
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


@pytest.fixture(scope="module")
def jpegs() -> list[bytes]:
    return synthetic_jpegs(N_IMAGES)


@pytest.fixture(scope="module")
def jpeg_paths(jpegs: list[bytes], tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("jpegs")
    paths = []
    for i, data in enumerate(jpegs):
        (folder / f"{i}.jpg").write_bytes(data)
        paths.append(str(folder / f"{i}.jpg"))
    return paths


@pytest.fixture(scope="module")
def detector() -> NudityDetector:
    return NudityDetector(threads=1)


def reference():  # type: ignore[no-untyped-def]
    return pytest.importorskip("nudenet.nudenet", reason="nudenet==3.0.8 not installed")


def per_image(benchmark, n: int) -> None:  # type: ignore[no-untyped-def]
    benchmark.extra_info["images_per_round"] = n


@pytest.mark.benchmark(group="nudity-e2e")
def test_e2e_ours(benchmark, detector: NudityDetector, jpegs: list[bytes]) -> None:  # type: ignore[no-untyped-def]
    per_image(benchmark, len(jpegs))
    benchmark.pedantic(lambda: [detector.detect(decode(d).image) for d in jpegs], rounds=ROUNDS, warmup_rounds=1)


@pytest.mark.benchmark(group="nudity-e2e")
def test_e2e_nudenet(benchmark, jpeg_paths: list[str]) -> None:  # type: ignore[no-untyped-def]
    ref = reference()
    nude = ref.NudeDetector(providers=["CPUExecutionProvider"])
    nude.onnx_session = _single_thread_session(str(Path(ref.__file__).parent / "best.onnx"))
    per_image(benchmark, len(jpeg_paths))
    benchmark.pedantic(lambda: [nude.detect(p) for p in jpeg_paths], rounds=ROUNDS, warmup_rounds=1)


def _single_thread_session(path: str):  # type: ignore[no-untyped-def]
    """nudenet's session with our thread setting, so the comparison is of everything else."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def raw_output(detector: NudityDetector, jpegs: list[bytes]) -> tuple[np.ndarray, object]:
    blob, geometry = letterbox(decode(jpegs[0]).image)
    raw = detector.session.run(None, {"images": blob})[0]
    # Lift some anchors over the threshold so both sides decode and suppress boxes.
    rng = np.random.default_rng(SEED)
    hot = rng.choice(raw.shape[2], 60, replace=False)
    raw[0, 4 + rng.integers(0, 18, 60), hot] = rng.uniform(0.3, 0.9, 60)
    return raw, geometry


@pytest.mark.benchmark(group="nudity-post")
def test_post_ours(benchmark, detector: NudityDetector, raw_output) -> None:  # type: ignore[no-untyped-def]
    raw, geometry = raw_output
    benchmark(decode_output, raw, geometry, detector.labels)


@pytest.mark.benchmark(group="nudity-post")
def test_post_nudenet(benchmark, raw_output) -> None:  # type: ignore[no-untyped-def]
    ref = reference()
    raw, _ = raw_output
    benchmark(ref._postprocess, [raw], 1.6, 0, 50)


@pytest.mark.benchmark(group="nudity-threads")
@pytest.mark.parametrize("threads", [1, 2])
def test_session_threads(benchmark, threads: int, jpegs: list[bytes]) -> None:  # type: ignore[no-untyped-def]
    det = NudityDetector(threads=threads)
    blob, _ = letterbox(decode(jpegs[0]).image)
    benchmark.pedantic(lambda: det.session.run(None, {"images": blob}), rounds=10 if QUICK else 40, warmup_rounds=2)

