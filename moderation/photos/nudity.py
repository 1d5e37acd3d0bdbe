"""Nudity, suggestiveness and faces in a photo, from the NudeNet v3 320n detector.

NudeNet (https://github.com/notAI-tech/NudeNet, model card `models/nudenet-320n.md`) is a
YOLOv8n detector with 18 body-part classes, two of which are faces. One forward pass
gives three signals: explicit nudity, suggestive content, and the faces a profile photo
needs. The pipeline runs each photo through its checks one after the other, and
`NudityDetector.detect` keeps the last image's detections, so the nudity and profile
checks of a photo share one model pass; `analyze_with` takes detections a caller
already has.

Why it is not `nudenet.NudeDetector`:
* nudenet decodes with OpenCV and resizes the full-size photo; here the photo is already
  decoded small (DCT-scaled, longer side about 512), so the letterbox is one Pillow resize.
* nudenet's post-processing is a Python loop over the 2,100 output rows (about 7 ms); here
  it is a few numpy operations on the rows above the score threshold (about 0.1 ms).
* no OpenCV: box decoding and non-maximum suppression are numpy.
* no 320 x 320 square: the input is only padded to a multiple of 64 (`letterbox`, step);
  and the box branch runs only for the anchors whose class passes the threshold, in
  numpy, not for all 1,680 of them (`split_model`, `box_rows`): a 4:3 photo costs 18 ms
  instead of 28, with the same detections (model card).

The score threshold, IoU threshold and the class groups come from the model's manifest;
the thresholds at which a reason is emitted are constructor arguments (set by the
policy); the decisions themselves belong to the policy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from PIL import Image

from moderation.errors import InvalidImage, PolicyError
from moderation.models import ModelError, session_from, verified_model
from moderation.signals import PhotoSignal
from moderation.types import Item, Reason, Signals, Source

INPUT_SIZE = 320
# Rectangular inputs round the shorter side up to a multiple of this. YOLOv8 takes any
# multiple of 32 (one session takes every size: `split_model`), but less padding moves
# the scores more: on the 391 eval files, 64 kept every detection of the square input
# (scores within 0.024); 32 lost or added 9 weak ones (0.26 to 0.33), scores within 0.078.
RECT_STEP = 64


class HasImage(Protocol):
    """What the signals need of a `moderation.photos.decode.Photo`: its small RGB pixels."""

    image: Image.Image


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected region.

    `box` is (x0, y0, x1, y1) normalized to [0, 1] of the analysed image, so it applies to
    the original photo and to any thumbnail the review UI shows, whatever the scaling.
    """

    label: str
    score: float
    box: tuple[float, float, float, float]

    @property
    def area(self) -> float:
        """Fraction of the image the box covers."""
        return (self.box[2] - self.box[0]) * (self.box[3] - self.box[1])

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "score": round(self.score, 4), "box": [round(v, 4) for v in self.box]}


@dataclass(frozen=True, slots=True)
class Letterbox:
    """Where the image sits in the square model input: input = image * scale + pad."""

    scale: float
    pad_left: int
    pad_top: int
    width: int
    height: int


def letterbox(image: Image.Image, size: int = INPUT_SIZE, step: int | None = None) -> tuple[np.ndarray, Letterbox]:
    """The NCHW float32 model input for an RGB image, and the geometry to map boxes back.

    The image is scaled so its longer side is `size` and centred on black, as NudeNet 3.0
    does (it uses cv2.resize; Pillow's bilinear filter also antialiases, which only
    matters when shrinking by more than 2x, and the decoder already shrank the photo).
    With `step`, the black canvas is only as large as the scaled image rounded up to a
    multiple of `step` (rectangular inference, as Ultralytics' own predict does) instead
    of `size` x `size`: a 4:3 photo is 320 x 256, a fifth less to compute.
    """
    if size < 32:
        raise ValueError("size must be >= 32")
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidImage("empty image")
    if image.mode != "RGB":
        image = image.convert("RGB")
    # Longer side to `size`, the other in proportion (at least one pixel).
    scale = size / max(width, height)
    new_w = max(1, min(size, round(width * scale)))
    new_h = max(1, min(size, round(height * scale)))
    resized = image.resize((new_w, new_h), Image.Resampling.BILINEAR) if (new_w, new_h) != (width, height) else image
    canvas_w, canvas_h = (size, size) if step is None else (
        min(size, -(-new_w // step) * step), min(size, -(-new_h // step) * step))
    # Centre on black; an odd padding puts the extra pixel right / bottom.
    pad_left, pad_top = (canvas_w - new_w) // 2, (canvas_h - new_h) // 2
    canvas = np.zeros((canvas_h, canvas_w, 3), dtype=np.uint8)
    canvas[pad_top : pad_top + new_h, pad_left : pad_left + new_w] = np.asarray(resized)
    # HWC uint8 -> NCHW float32 in [0, 1].
    blob = np.ascontiguousarray(canvas.transpose(2, 0, 1), dtype=np.float32)[None]
    blob *= np.float32(1.0 / 255.0)
    geometry = Letterbox(scale=new_w / width if width >= height else new_h / height,
                         pad_left=pad_left, pad_top=pad_top, width=width, height=height)
    return blob, geometry


@dataclass(frozen=True)
class BoxBranch:
    """One feature level's box branch of the YOLOv8 head (`cv2.i`), as numpy weights:
    conv 3x3 + SiLU, conv 3x3 + SiLU, conv 1x1 to 4 x 16 distance bins."""

    w1: np.ndarray  # [c2, c_in * 9]
    b1: np.ndarray
    w2: np.ndarray  # [c2, c2 * 9]
    b2: np.ndarray
    w3: np.ndarray  # [64, c2]
    b3: np.ndarray
    stride: int


@dataclass(frozen=True)
class SplitModel:
    """The export cut in two: the trunk (backbone, neck and class branch, any input size)
    for onnxruntime, the box branches and DFL bins for numpy (`box_rows`)."""

    trunk: bytes
    branches: tuple[BoxBranch, ...]
    bins: np.ndarray  # the DFL's fixed weights: 0..15


def split_model(model: bytes) -> SplitModel:
    """Cut the NudeNet (YOLOv8) export after its class logits; keep the box branch as weights.

    Why: the box branch runs on every anchor of the three feature maps (with its DFL and
    box decoding, about a quarter of the model's time), but only the few anchors whose
    class score passes the threshold need a box; `box_rows` computes it for those alone,
    as the export would. The trunk has no size-dependent constant left (those were the
    anchors, in the cut part), so its input size is freed: one session for every
    rectangular input. Refuses a graph without the expected head, rather than guess.
    """
    # onnx's graph tools are needed once, when the model is cut: not on every import
    import onnx
    from onnx import numpy_helper

    graph = onnx.load_from_string(model)
    nodes = {n.name: n for n in graph.graph.node}
    weights = {i.name: numpy_helper.to_array(i) for i in graph.graph.initializer}
    branches, features, logits = [], [], []
    for level, stride in enumerate((8, 16, 32)):
        names = [f"/model.22/cv2.{level}/cv2.{level}.0/conv/Conv", f"/model.22/cv2.{level}/cv2.{level}.1/conv/Conv",
                 f"/model.22/cv2.{level}/cv2.{level}.2/Conv", f"/model.22/cv3.{level}/cv3.{level}.2/Conv"]
        if not all(n in nodes and len(nodes[n].input) == 3 for n in names):
            raise ModelError("not the YOLOv8 head split_model expects (cv2.i / cv3.i convolutions)")
        convs = [nodes[n] for n in names[:3]]
        kernels = [weights[c.input[1]] for c in convs]
        if [k.shape[2:] for k in kernels] != [(3, 3), (3, 3), (1, 1)] or kernels[2].shape[0] != 64:
            raise ModelError("unexpected YOLOv8 box branch shapes")
        w1, w2, w3 = (k.reshape(len(k), -1) for k in kernels)
        b1, b2, b3 = (weights[c.input[2]] for c in convs)
        branches.append(BoxBranch(w1, b1, w2, b2, w3, b3, stride))
        features.append(convs[0].input[0])
        logits.append(nodes[names[3]].output[0])
    bins = weights.get("model.22.dfl.conv.weight")
    if bins is None or bins.size != 16:
        raise ModelError("no DFL weights in the YOLOv8 head")
    graph = onnx.shape_inference.infer_shapes(graph)  # the extractor reads the inner tensors from value_info
    trunk = onnx.utils.Extractor(graph).extract_model([graph.graph.input[0].name], features + logits)
    # Free the spatial size: drop the inferred shapes and name the input's height and width.
    del trunk.graph.value_info[:]
    for output in trunk.graph.output:
        output.type.tensor_type.ClearField("shape")
    dims = trunk.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    return SplitModel(trunk.SerializeToString(), tuple(branches), bins.ravel().astype(np.float32))


# Offsets of a 3 x 3 window, row by row (the order of a conv kernel's taps).
_DY = np.repeat(np.arange(-1, 2), 3)
_DX = np.tile(np.arange(-1, 2), 3)


def _silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def box_rows(branch: BoxBranch, bins: np.ndarray, feature: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """[4, k] box centre and size (input pixels) of the anchors at (ys, xs) of one level,
    as the export computes them: the branch's convolutions at those anchors only, then
    the DFL (softmax over 16 distance bins, their mean) and Ultralytics' `dist2bbox`.

    `feature` is the level's [1, c, h, w] input to the branch."""
    _, channels, height, width = feature.shape
    # The first conv is needed at the 3 x 3 neighbours of each anchor (the second conv's
    # window); a neighbour outside the map is the second conv's zero padding. Each cell
    # is computed once: neighbouring anchors share most of their neighbours, and an image
    # where every anchor passes then costs about what the dense branch does.
    ny, nx = ys[:, None] + _DY, xs[:, None] + _DX  # [k, 9]
    inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
    cells, which = np.unique(ny[inside] * width + nx[inside], return_inverse=True)
    cy, cx = np.divmod(cells, width)
    padded = np.pad(feature[0], ((0, 0), (1, 1), (1, 1)))  # the first conv's own zero padding
    patches = padded[:, cy[:, None] + _DY + 1, cx[:, None] + _DX + 1]  # [c, cells, 9 taps]
    at_cells = _silu(patches.transpose(1, 0, 2).reshape(len(cells), channels * 9) @ branch.w1.T + branch.b1)
    first = np.zeros((len(ys), 9, at_cells.shape[1]), dtype=at_cells.dtype)  # [k, 9 taps of the second conv, c2]
    first[inside] = at_cells[which.ravel()]
    second = _silu(first.transpose(0, 2, 1).reshape(len(ys), -1) @ branch.w2.T + branch.b2)
    distribution = (second @ branch.w3.T + branch.b3).reshape(len(ys), 4, 16)
    distribution = np.exp(distribution - distribution.max(axis=2, keepdims=True))
    left, top, right, bottom = ((distribution / distribution.sum(axis=2, keepdims=True)) @ bins).T
    ax, ay = xs + 0.5, ys + 0.5
    x0, y0, x1, y1 = ax - left, ay - top, ax + right, ay + bottom
    return np.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0]) * branch.stride


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices of the boxes greedy non-maximum suppression keeps, best score first.

    `boxes` is (n, 4) as x0, y0, x1, y1. A box is dropped when its IoU with a kept, better
    box is above `iou_threshold` (OpenCV's `dnn.NMSBoxes` rule, which NudeNet uses).
    """
    if boxes.ndim != 2 or boxes.shape[1] != 4 or len(boxes) != len(scores):
        raise ValueError("boxes must be (n, 4) and match scores")
    order = np.argsort(-scores, kind="stable")
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None)
    keep: list[int] = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(int(best))
        # Intersection of the best box with every remaining one.
        iw = np.clip(np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]), 0, None)
        ih = np.clip(np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]), 0, None)
        inter = iw * ih
        union = areas[best] + areas[rest] - inter
        iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def decode_output(
    raw: np.ndarray,
    geometry: Letterbox,
    labels: Sequence[str],
    score_threshold: float = 0.25,
    iou_threshold: float = 0.45,
) -> list[Detection]:
    """Detections from YOLOv8's (1, 4 + classes, anchors) output, best score first.

    Each anchor's class is its best class (as NudeNet); suppression is class-agnostic.
    """
    if raw.ndim != 3 or raw.shape[0] != 1 or raw.shape[1] != 4 + len(labels):
        raise ValueError(f"expected output (1, {4 + len(labels)}, n), got {raw.shape}")
    rows = raw[0]
    # Best class and its score per anchor; only anchors above the threshold go on.
    class_scores = rows[4:]
    class_ids = class_scores.argmax(axis=0)
    best = class_scores[class_ids, np.arange(rows.shape[1])]
    kept = np.flatnonzero(best > score_threshold)
    if kept.size == 0:
        return []
    cx, cy, w, h = rows[:4, kept].astype(np.float64)
    # Centre/size in model input pixels -> corners in the analysed image's pixels.
    x0 = (cx - w / 2 - geometry.pad_left) / geometry.scale
    y0 = (cy - h / 2 - geometry.pad_top) / geometry.scale
    x1 = (cx + w / 2 - geometry.pad_left) / geometry.scale
    y1 = (cy + h / 2 - geometry.pad_top) / geometry.scale
    # Normalize to [0, 1] of the image; boxes reaching into the padding are clipped.
    boxes = np.stack([x0 / geometry.width, y0 / geometry.height, x1 / geometry.width, y1 / geometry.height], axis=1)
    np.clip(boxes, 0.0, 1.0, out=boxes)
    scores = best[kept].astype(np.float64)
    return [
        Detection(label=labels[class_ids[kept[i]]], score=float(scores[i]), box=tuple(float(v) for v in boxes[i]))  # type: ignore[arg-type]
        for i in nms(boxes * [geometry.width, geometry.height, geometry.width, geometry.height], scores, iou_threshold)
    ]


class NudityDetector(PhotoSignal):
    """Scores `nudity` (exposed genitalia, breasts, anus, buttocks) and `suggestive`
    (covered intimate parts, exposed belly, bare male chest) and exposes the faces.

    The onnxruntime session is loaded once, here; `detect` is the hot path. Which labels
    count as which category is the manifest's `groups`, so it changes with the model.
    """

    name = "nudity"

    def __init__(self, threads: int = 1, model: str = "nudenet-320n", min_score: float = 0.25,
                 rect: bool = True) -> None:
        self._last: tuple[Image.Image, list[Detection]] | None = None
        if not 0.0 <= min_score <= 1.0:
            raise ValueError("min_score must be in [0, 1]")
        self.manifest, data = verified_model(model)
        # The trunk in onnxruntime, the box branch in numpy for the anchors that pass
        # (`split_model`); inputs padded only to a multiple of RECT_STEP (`letterbox`).
        self.split = split_model(data)
        self.trunk = session_from(self.split.trunk, threads=threads)
        self.step = RECT_STEP if rect else None
        meta = self.manifest.meta
        self.labels: tuple[str, ...] = tuple(meta["labels"])
        self.groups: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in meta["groups"].items()}
        unknown = set().union(*self.groups.values()) - set(self.labels)
        if unknown or not {"nudity", "suggestive", "face"} <= self.groups.keys():
            raise ModelError(f"manifest of {model}: bad groups (unknown labels {sorted(unknown)})")
        self.size = int(meta["input"]["shape"][2])
        self.score_threshold = float(meta["postprocess"]["score_threshold"])
        self.iou_threshold = float(meta["postprocess"]["iou_threshold"])
        self.input_name = self.trunk.get_inputs()[0].name
        self.min_score = min_score

    def reconfigure(self, config: dict[str, Any]) -> None:
        """Takes `min_score` (the score above which a reason is emitted); nothing else."""
        unknown = set(config) - {"min_score"}
        if unknown:
            raise PolicyError(f"nudity: unknown settings {sorted(unknown)}")
        if "min_score" in config:
            value = float(config["min_score"])
            if not 0.0 <= value <= 1.0:
                raise PolicyError("nudity: min_score must be in [0, 1]")
            self.min_score = value

    def detect(self, image: Image.Image) -> list[Detection]:
        """Every detection above the model's score threshold, best first, boxes normalized.

        The last image's detections are kept, so the nudity and profile checks of one
        photo share a single model run."""
        last = self._last
        if last is not None and last[0] is image:
            return last[1]
        detections = self._detect(image)
        self._last = (image, detections)
        return detections

    def _detect(self, image: Image.Image) -> list[Detection]:
        blob, geometry = letterbox(image, self.size, self.step)
        return decode_output(self.raw_output(blob), geometry, self.labels, self.score_threshold, self.iou_threshold)

    def raw_output(self, blob: np.ndarray) -> np.ndarray:
        """The export's output, (1, 4 + classes, anchors), for a letterboxed input, with
        box rows only for the anchors whose best class passes the score threshold (the
        others are never read: `decode_output`)."""
        try:
            outputs = self.trunk.run(None, {self.input_name: blob})
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelError(f"{self.manifest.tag} failed: {exc}") from exc
        features, logits = outputs[:3], outputs[3:]
        widths = [f.shape[3] for f in features]
        flat = np.concatenate([x.reshape(x.shape[1], -1) for x in logits], axis=1)
        raw = np.zeros((1, 4 + flat.shape[0], flat.shape[1]), dtype=np.float32)
        raw[0, 4:] = 1.0 / (1.0 + np.exp(-flat))
        kept = np.flatnonzero(raw[0, 4:].max(axis=0) > self.score_threshold)
        starts = np.cumsum([0] + [x.shape[2] * x.shape[3] for x in logits])
        for level, branch in enumerate(self.split.branches):
            at = kept[(kept >= starts[level]) & (kept < starts[level + 1])]
            if at.size:
                ys, xs = np.divmod(at - starts[level], widths[level])
                raw[0, :4, at] = box_rows(branch, self.split.bins, features[level], ys, xs).T
        return raw

    def faces(self, detections: Sequence[Detection]) -> list[Detection]:
        """The face detections among `detections`, best first."""
        return [d for d in detections if d.label in self.groups["face"]]

    def analyze(self, item: Item, photo: HasImage) -> Signals:
        return self.analyze_with(self.detect(photo.image))

    def analyze_with(self, detections: Sequence[Detection]) -> Signals:
        """Signals from detections already computed (the pipeline shares one pass)."""
        signals = Signals(detections=tuple(detections))
        for category in ("nudity", "suggestive"):
            hits = [d for d in detections if d.label in self.groups[category]]
            top = max((d.score for d in hits), default=0.0)
            signals.scores[category] = top
            if hits and top >= self.min_score:
                signals.reasons.append(Reason(
                    source=Source.MODEL, category=category, detector=self.manifest.tag, score=top,
                    detail={"boxes": [d.to_dict() for d in hits if d.score >= self.min_score]},
                ))
        return signals


def pixel_spread(image: Image.Image, side: int = 64) -> tuple[float, float]:
    """Standard deviation (0-255) and histogram entropy (bits, 0-8) of the gray pixels.

    A blank or solid-colour photo has both near zero; measured on a `side`-pixel
    thumbnail, because JPEG noise on a flat area is high-frequency and averages out.
    """
    if side < 8:
        raise ValueError("side must be >= 8")
    # Gray thumbnail (box filter: every source pixel counts once).
    gray = np.asarray(image.convert("L").resize((side, side), Image.Resampling.BOX), dtype=np.float64)
    # Shannon entropy of the 256-bin histogram.
    p = np.bincount(gray.astype(np.uint8).ravel(), minlength=256) / gray.size
    p = p[p > 0]
    return float(gray.std()), float(-(p * np.log2(p)).sum()) + 0.0  # + 0.0: no -0.0


@dataclass(frozen=True)
class ProfileThresholds:
    """When a face counts as clearly visible and a photo as blank; set by the policy."""

    face_min_score: float = 0.5
    face_min_area: float = 0.01
    min_std: float = 6.0
    min_entropy: float = 2.0

    def __post_init__(self) -> None:
        if not (0.0 <= self.face_min_score <= 1.0 and 0.0 <= self.face_min_area <= 1.0):
            raise ValueError("face_min_score and face_min_area must be in [0, 1]")
        if self.min_std < 0 or not 0.0 <= self.min_entropy <= 8.0:
            raise ValueError("min_std must be >= 0 and min_entropy in [0, 8]")


class ProfilePhotoCheck(PhotoSignal):
    """A profile photo shows exactly one clearly visible face and is not blank.

    Emits `no_face` (detail `count`: 0, or how many faces when there are several, with
    their `boxes`) and
    `low_quality` (detail `std`, `entropy`). It reuses the nudity detector's pass: `analyze`
    asks the detector, which returns the detections it already made for this image.
    """

    name = "profile_photo"

    def __init__(self, detector: NudityDetector, thresholds: ProfileThresholds = ProfileThresholds()) -> None:
        self.detector = detector
        self.thresholds = thresholds

    def reconfigure(self, config: dict[str, Any]) -> None:
        try:
            self.thresholds = dataclasses.replace(self.thresholds, **config)
        except (TypeError, ValueError) as exc:
            raise PolicyError(f"profile_photo: {exc}") from exc

    def analyze(self, item: Item, photo: HasImage) -> Signals:
        return self.analyze_with(self.detector.detect(photo.image), photo)

    def analyze_with(self, detections: Sequence[Detection], photo: HasImage) -> Signals:
        t = self.thresholds
        faces = self.detector.faces(detections)
        clear = [f for f in faces if f.score >= t.face_min_score and f.area >= t.face_min_area]
        best = max((f.score for f in faces), default=0.0)
        signals = Signals(scores={"face": best}, faces=[f.to_dict() for f in clear])
        tag = self.detector.manifest.tag
        if not clear:
            # How sure we are there is no usable face: 1 - the best face-like score.
            signals.reasons.append(Reason(source=Source.MODEL, category="no_face", detector=tag,
                                          score=1.0 - best, detail={"count": 0}))
        elif len(clear) > 1:
            # Several people: as sure as the second clearest face.
            # where they are too: the review UI draws the boxes over the photo
            signals.reasons.append(Reason(source=Source.MODEL, category="no_face", detector=tag,
                                          score=clear[1].score, detail={"count": len(clear), "boxes": [f.to_dict() for f in clear]}))
        std, entropy = pixel_spread(photo.image)
        signals.pixel_spread = (std, entropy)
        if std < t.min_std or entropy < t.min_entropy:
            signals.reasons.append(Reason(source=Source.RULE, category="low_quality", detector="profile_photo.blank",
                                          detail={"std": round(std, 2), "entropy": round(entropy, 3)}))
        return signals
