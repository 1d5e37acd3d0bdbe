"""Training a new text model from labeled messages, and replacing the current one only when it is better.

This is how moderators' decisions teach the classifier: their labeled messages (JSON lines
with `text` and `label`, `label` one of the eval labels) are trained on, the new model is
exported to ONNX, and both the new and the current model are scored on the same held-out
split. The new model, its manifest and its card are written only when its F1 on that split
is higher, so a bad batch of labels can never replace a better model.

Needs the `train` extra (scikit-learn, skl2onnx); nothing here is imported at run time by
the service, only by `moderation train` and the build scripts.
"""

from __future__ import annotations

import json
import random
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from moderation.errors import InvalidInput
from moderation.models import MODELS_DIR, file_sha256, load_session
from moderation.text.classifier import MAX_MODEL_CHARS, prepare_text

POSITIVE = "profanity_insult"
KNOWN_LABELS = frozenset({"ok", "profanity_insult", "contact_info", "spam_link", "spam_other"})
SKIPPED_LABELS = frozenset({"ambiguous"})
INPUT_NAME = "text"


@dataclass(frozen=True)
class Metrics:
    precision: float
    recall: float
    f1: float
    n: int


@dataclass(frozen=True)
class TrainingReport:
    """What a training run did; `written` is empty when the current model stayed."""

    name: str
    version: str
    n_train: int
    n_holdout: int
    new: Metrics
    current: Metrics | None
    improved: bool
    threshold: float
    written: tuple[Path, ...] = field(default_factory=tuple)
    per_lang: dict[str, Metrics] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["written"] = [str(p) for p in self.written]
        return out


def read_labeled(path: Path) -> list[dict[str, str]]:
    """Rows with a known label; `ambiguous` rows are dropped (policy-dependent, not teachable)."""
    rows = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, label = row["text"], row["label"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise InvalidInput(f"{path}:{lineno}: not a JSON object with text and label ({exc})") from exc
            if label in SKIPPED_LABELS or row.get("ambiguous"):
                continue
            if label not in KNOWN_LABELS:
                raise InvalidInput(f"{path}:{lineno}: unknown label {label!r}")
            if not isinstance(text, str):
                raise InvalidInput(f"{path}:{lineno}: text is not a string")
            rows.append({"text": text, "label": label, "lang": str(row.get("lang", ""))})
    return rows


def split_holdout(rows: list[dict[str, str]], fraction: float, seed: int) -> tuple[list, list]:
    """A seeded split stratified by (label is positive, lang), so both sides see both languages."""
    rng = random.Random(seed)
    strata: dict[tuple[bool, str], list[dict[str, str]]] = {}
    for row in rows:
        strata.setdefault((row["label"] == POSITIVE, row["lang"]), []).append(row)
    train, hold = [], []
    for key in sorted(strata):
        group = strata[key][:]
        rng.shuffle(group)
        k = max(1, round(len(group) * fraction)) if len(group) > 1 else 0
        hold.extend(group[:k])
        train.extend(group[k:])
    return train, hold


# caps of profanity-enfr 1.1.0: 12k/6k was the smallest pair within 0.01 dev F1 of the uncapped model (8k/4k lost 0.013 in French)
WORD_FEATURES = 6_000
CHAR_FEATURES = 12_000


def build_pipeline(seed: int = 0, *, word_features: int | None = WORD_FEATURES,
                   char_features: int | None = CHAR_FEATURES) -> Any:
    """Word 1-2-grams and character 1-4-grams (spelling tricks keep most character n-grams) into a logistic regression.

    Binary TF-IDF (an n-gram present or not, times its idf, L2-normalized per block): chat
    messages rarely repeat an n-gram, and it is what onnxruntime's TfIdfVectorizer computes
    in one pass (mode IDF), which keeps the exported graph short (see `export_onnx`).

    `word_features` / `char_features` cap each block to its most frequent n-grams (None: no
    cap): onnxruntime writes a dense row as wide as the n-gram pool per text, so the caps set
    the model's speed. Fit it with `fit_pipeline`, which keeps the capped vocabularies
    exportable (`close_vocabulary`); a plain `fit` is only exportable when no cap bites.
    """
    # scikit-learn is the optional `train` extra: the service itself never imports it
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"[a-z0-9]+", lowercase=False,
                            binary=True, min_df=2, max_features=word_features, dtype=np.float32)
    chars = TfidfVectorizer(analyzer="char", ngram_range=(1, 4), lowercase=False, binary=True, min_df=2,
                            max_features=char_features, dtype=np.float32)
    return Pipeline([
        ("features", FeatureUnion([("words", words), ("chars", chars)])),
        ("model", LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced", random_state=seed)),
    ])


def constituents(ngram: str, analyzer: str) -> list[str]:
    """The tokens an n-gram is made of, as the ONNX tokenizer sees them: its words, or its characters."""
    return ngram.split(" ") if analyzer == "word" else list(ngram)


def close_vocabulary(terms: list[str], analyzer: str) -> list[str]:
    """`terms` plus every token of every term, sorted.

    skl2onnx (and onnxruntime's TfIdfVectorizer) store an n-gram as a sequence of pool
    tokens, so each of its tokens must itself be a feature: a capped vocabulary can keep the
    bigram 'you idiot' but cut 'idiot', or keep ' ‘' but cut '‘'. Export then fails (chars)
    or, for words, silently turns the bigram into a token that never matches.
    """
    closed = set(terms)
    for term in terms:
        closed.update(constituents(term, analyzer))
    return sorted(closed)


def fit_pipeline(pipeline: Any, texts: list[str], y: np.ndarray) -> Any:
    """Fit `pipeline` (from `build_pipeline`) so that its capped vocabularies stay exportable.

    Each block first picks its n-grams as scikit-learn does (min_df, then the `max_features`
    most frequent), the pick is closed under constituents (`close_vocabulary`), and the
    pipeline is fitted with those vocabularies fixed: idf and weights still come from `texts`.
    """
    from sklearn.base import clone  # the optional `train` extra

    features = pipeline.named_steps["features"]
    for name, vectorizer in features.transformer_list:
        if vectorizer.vocabulary is not None or (vectorizer.max_features is None and vectorizer.max_df == 1.0):
            # Uncapped, the vocabulary is already closed: a token occurs in every document
            # its n-grams do, so it passes min_df whenever they do. No second fit.
            continue
        picked = clone(vectorizer).fit(texts).vocabulary_
        vocabulary = close_vocabulary(sorted(picked, key=picked.__getitem__), vectorizer.analyzer)
        features.set_params(**{f"{name}__vocabulary": vocabulary})
    return pipeline.fit(texts, y)


def _check_closed(vectorizer: Any, block: str) -> None:
    """Refuse to export a vocabulary whose n-grams use tokens it lacks (see `close_vocabulary`)."""
    vocabulary = vectorizer.vocabulary_
    missing = sorted({tok for term in vocabulary for tok in constituents(term, vectorizer.analyzer)} - set(vocabulary))
    if missing:
        raise ValueError(f"{block} vocabulary lacks tokens of its own n-grams ({missing[:5]!r}, "
                         f"{len(missing)} in all): fit with fit_pipeline")
    # skl2onnx numbers n-gram lengths by their order in the pool: a gap (2-grams and 4-grams, no 3-grams) would shift them
    lengths = {len(constituents(term, vectorizer.analyzer)) for term in vocabulary}
    if lengths != set(range(1, max(lengths) + 1)):
        raise ValueError(f"{block} vocabulary has n-grams of lengths {sorted(lengths)}, not every length from 1")


def export_onnx(pipeline: Any) -> bytes:
    """The fitted pipeline as ONNX: string input `text` [N, 1], output `probabilities` [N, 2].

    skl2onnx writes the tokenizers and n-gram tables; the rest of its graph (log, scale,
    normalize, concatenate, classify: each a pass over a dense [N, 70k] matrix) is replaced
    by the same arithmetic in two passes per block: TfIdfVectorizer in IDF mode gives idf for
    each present n-gram, then one MatMul with [coefficients, idf] gives both w.x and |x|^2;
    score = w.x / |x| summed over blocks, plus the intercept, through a sigmoid. This makes
    the model about four times faster for the same outputs (checked by the parity test).
    `locale` is set to C because onnxruntime's StringNormalizer otherwise asks for en_US,
    which slim machines do not have.
    """
    # skl2onnx is the optional `train` extra; onnx is loaded only to export
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import StringTensorType

    features = pipeline.named_steps["features"]
    blocks = dict(features.transformer_list)
    words, chars = blocks["words"], blocks["chars"]
    _check_closed(words, "words")
    _check_closed(chars, "chars")
    options = {
        id(pipeline.named_steps["model"]): {"zipmap": False},
        id(words): {"tokenexp": words.token_pattern, "locale": "C"},
        id(chars): {"locale": "C"},
    }
    with warnings.catch_warnings():
        # skl2onnx warns that analyzer="char" "may not work"; the parity test checks that it does
        warnings.simplefilter("ignore", UserWarning)
        full = to_onnx(pipeline, initial_types=[(INPUT_NAME, StringTensorType([None, 1]))], options=options,
                       target_opset={"": 17, "ai.onnx.ml": 3})

    graph = full.graph
    by_output = {out: node for node in graph.node for out in node.output}
    vectorizers = [node for node in graph.node if node.op_type == "TfIdfVectorizer"]

    def tokenexp(vec: Any) -> str:
        # TfIdfVectorizer <- Flatten <- Tokenizer: the tokenizer's pattern tells the blocks apart
        tok = by_output[by_output[vec.input[0]].input[0]]
        return next(a.s.decode() for a in tok.attribute if a.name == "tokenexp")

    model = pipeline.named_steps["model"]
    coef = model.coef_[0].astype(np.float32)
    n_words = len(words.vocabulary_)
    parts = {"words": (words, coef[:n_words]), "chars": (chars, coef[n_words:])}
    parts_idf = {"words": words.idf_.astype(np.float32), "chars": chars.idf_.astype(np.float32)}
    vec_nodes = set()
    for vec in vectorizers:
        block = "words" if tokenexp(vec) == words.token_pattern else "chars"
        vectorizer, _ = parts[block]
        attrs = {a.name: helper.get_attribute_value(a) for a in vec.attribute}
        idx = np.asarray(attrs["ngram_indexes"], dtype=np.int64)
        # weights are in pool order; each pool n-gram's output column is its vocabulary index
        weights = vectorizer.idf_.astype(np.float32)[idx]
        new_vec = helper.make_node(
            "TfIdfVectorizer", list(vec.input), [f"x_{block}"], name=f"tfidf_{block}",
            # a capped vocabulary may hold no n-gram as long as ngram_range allows: onnxruntime wants a count per length
            mode="IDF", min_gram_length=attrs["min_gram_length"],
            max_gram_length=min(attrs["max_gram_length"], len(attrs["ngram_counts"])),
            max_skip_count=attrs["max_skip_count"], ngram_counts=attrs["ngram_counts"],
            ngram_indexes=attrs["ngram_indexes"], pool_strings=attrs["pool_strings"], weights=weights.tolist(),
        )
        vec_nodes.add(id(vec))
        parts[block] = (new_vec, parts[block][1])
    # everything upstream of the vectorizers (tokenizers, flatten) stays as skl2onnx wrote it
    needed = {i for block in parts.values() for i in block[0].input}
    while True:
        more = {i for out in needed if out in by_output for i in by_output[out].input} - needed
        if not more:
            break
        needed |= more
    keep = [node for node in graph.node if any(o in needed for o in node.output) and id(node) not in vec_nodes]

    nodes = list(keep)
    inits = [numpy_helper.from_array(np.array([1e-12], dtype=np.float32), "eps"),
             numpy_helper.from_array(np.array([[1.0]], dtype=np.float32), "one"),
             numpy_helper.from_array(np.array([[float(model.intercept_[0])]], dtype=np.float32), "intercept")]
    scores = []
    for block, (vec_node, w) in parts.items():
        nodes.append(vec_node)
        # x_j is idf_j or 0, so x_j ** 2 == idf_j * x_j: |x|^2 is linear in x and rides in the same MatMul as w . x
        idf = parts_idf[block]
        inits.append(numpy_helper.from_array(np.stack([w, idf], axis=1).astype(np.float32), f"coef_{block}"))
        nodes += [
            helper.make_node("MatMul", [f"x_{block}", f"coef_{block}"], [f"proj_{block}"]),
            helper.make_node("Split", [f"proj_{block}"], [f"dot_{block}", f"sq_{block}"], axis=1),
            helper.make_node("Sqrt", [f"sq_{block}"], [f"norm_{block}"]),
            helper.make_node("Max", [f"norm_{block}", "eps"], [f"safe_{block}"]),
            helper.make_node("Div", [f"dot_{block}", f"safe_{block}"], [f"score_{block}"]),
        ]
        scores.append(f"score_{block}")
    nodes += [
        helper.make_node("Sum", [*scores, "intercept"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["p1"]),
        helper.make_node("Sub", ["one", "p1"], ["p0"]),
        helper.make_node("Concat", ["p0", "p1"], ["probabilities"], axis=1),
    ]
    out = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])
    new_graph = helper.make_graph(nodes, "profanity", list(graph.input), [out],
                                  initializer=[i for i in graph.initializer if i.name in needed] + inits)
    model_proto = helper.make_model(new_graph, opset_imports=list(full.opset_import), producer_name="moderation")
    model_proto.ir_version = full.ir_version
    onnx.checker.check_model(model_proto)
    return model_proto.SerializeToString()


def export_average(pipelines: Sequence[Any]) -> bytes:
    """Several fitted pipelines (from `fit_pipeline`, same tokenizers) as one ONNX model whose
    `probabilities` are the mean of theirs. Two logistic regressions trained on different
    corpora rank messages better together than either alone (profanity-enfr 1.2.0).

    The members share the text's tokenization and one n-gram table per block, the union of
    their vocabularies: the vectorizer marks which n-grams are present (0 or 1), and one
    MatMul per block gives every member's w.x and |x|^2 at once, each member's idf folded
    into its columns (0 for an n-gram it does not have). So a second member costs a wider
    table, not a second pass over the text; then each member's score goes through its own
    sigmoid and the probabilities are averaged, exactly as the members would score alone
    (checked by the tests)."""
    import onnx  # the optional `train` extra, needed only to build a model
    from onnx import TensorProto, helper, numpy_helper

    if not pipelines:
        raise ValueError("export_average needs at least one fitted pipeline")
    # the first member's own export gives the tokenizers, which every member shares
    first = onnx.load_from_string(export_onnx(pipelines[0]))
    vec_inputs = {n.name.removeprefix("tfidf_"): n.input[0] for n in first.graph.node if n.op_type == "TfIdfVectorizer"}
    by_output = {out: node for node in first.graph.node for out in node.output}
    needed = set(vec_inputs.values())
    while True:
        more = {i for out in needed if out in by_output for i in by_output[out].input} - needed
        if not more:
            break
        needed |= more
    nodes = [n for n in first.graph.node if any(o in needed for o in n.output)]
    inits = [i for i in first.graph.initializer if i.name in needed]
    inits += [numpy_helper.from_array(np.array([1e-12], dtype=np.float32), "eps"),
              numpy_helper.from_array(np.array([[1.0]], dtype=np.float32), "one"),
              numpy_helper.from_array(np.array([1.0 / len(pipelines)], dtype=np.float32), "mean_weight")]
    members = [dict(p.named_steps["features"].transformer_list) for p in pipelines]
    scores: list[list[str]] = [[] for _ in pipelines]
    for block in ("words", "chars"):
        vectorizers = [m[block] for m in members]
        analyzer = vectorizers[0].analyzer
        if any(v.analyzer != analyzer or v.get_params().get("token_pattern") != vectorizers[0].get_params().get("token_pattern")
               for v in vectorizers):
            raise ValueError(f"{block}: the members do not tokenize alike")
        for v in vectorizers:
            _check_closed(v, block)
        terms = sorted({t for v in vectorizers for t in v.vocabulary_},
                       key=lambda t: (len(constituents(t, analyzer)), t))
        column = {t: k for k, t in enumerate(terms)}
        lengths = [len(constituents(t, analyzer)) for t in terms]
        pool: list[str] = []
        counts = []
        for n in range(1, max(lengths) + 1):
            counts.append(len(pool))
            for t, length in zip(terms, lengths):
                if length == n:
                    pool.extend(constituents(t, analyzer))
        coef = np.zeros((len(terms), 2 * len(pipelines)), dtype=np.float32)
        for k, (pipeline, v) in enumerate(zip(pipelines, vectorizers)):
            w = pipeline.named_steps["model"].coef_[0]
            offset = 0 if block == "words" else len(members[k]["words"].vocabulary_)
            for term, idx in v.vocabulary_.items():
                coef[column[term], 2 * k] = w[offset + idx] * v.idf_[idx]
                coef[column[term], 2 * k + 1] = v.idf_[idx] ** 2
        inits.append(numpy_helper.from_array(coef, f"coef_{block}"))
        parts = [f"{name}_{block}_{k}" for k in range(len(pipelines)) for name in ("dot", "sq")]
        nodes += [
            helper.make_node("TfIdfVectorizer", [vec_inputs[block]], [f"x_{block}"], name=f"tfidf_{block}", mode="IDF",
                             min_gram_length=1, max_gram_length=max(lengths), max_skip_count=0, ngram_counts=counts,
                             ngram_indexes=list(range(len(terms))), pool_strings=pool, weights=[1.0] * len(terms)),
            helper.make_node("MatMul", [f"x_{block}", f"coef_{block}"], [f"proj_{block}"]),
            helper.make_node("Split", [f"proj_{block}"], parts, axis=1),
        ]
        for k in range(len(pipelines)):
            nodes += [
                helper.make_node("Sqrt", [f"sq_{block}_{k}"], [f"norm_{block}_{k}"]),
                helper.make_node("Max", [f"norm_{block}_{k}", "eps"], [f"safe_{block}_{k}"]),
                helper.make_node("Div", [f"dot_{block}_{k}", f"safe_{block}_{k}"], [f"score_{block}_{k}"]),
            ]
            scores[k].append(f"score_{block}_{k}")
    for k, pipeline in enumerate(pipelines):
        intercept = float(pipeline.named_steps["model"].intercept_[0])
        inits.append(numpy_helper.from_array(np.array([[intercept]], dtype=np.float32), f"intercept_{k}"))
        nodes += [helper.make_node("Sum", [*scores[k], f"intercept_{k}"], [f"logit_{k}"]),
                  helper.make_node("Sigmoid", [f"logit_{k}"], [f"p1_{k}"])]
    nodes += [
        helper.make_node("Sum", [f"p1_{k}" for k in range(len(pipelines))], ["p1_sum"]),
        helper.make_node("Mul", ["p1_sum", "mean_weight"], ["p1"]),
        helper.make_node("Sub", ["one", "p1"], ["p0"]),
        helper.make_node("Concat", ["p0", "p1"], ["probabilities"], axis=1),
    ]
    out = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])
    graph = helper.make_graph(nodes, "profanity", list(first.graph.input), [out], initializer=inits)
    model = helper.make_model(graph, opset_imports=list(first.opset_import), producer_name="moderation")
    model.ir_version = first.ir_version
    onnx.checker.check_model(model)
    return model.SerializeToString()


def onnx_scores(model_bytes_or_session: Any, texts: list[str]) -> np.ndarray:
    import onnxruntime as ort  # heavy: loaded only when a model is scored

    session = model_bytes_or_session
    if isinstance(session, bytes):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 3
        session = ort.InferenceSession(session, sess_options=opts, providers=["CPUExecutionProvider"])
    prepared = np.array([prepare_text(t) for t in texts], dtype=object).reshape(-1, 1)
    (probs,) = session.run(["probabilities"], {session.get_inputs()[0].name: prepared})
    return probs[:, 1]


def metrics(truth: np.ndarray, flagged: np.ndarray) -> Metrics:
    """Precision, recall and F1 of the positive class; 0 where undefined."""
    tp = int(np.sum(truth & flagged))
    fp = int(np.sum(~truth & flagged))
    fn = int(np.sum(truth & ~flagged))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Metrics(round(precision, 4), round(recall, 4), round(f1, 4), int(truth.size))


def next_version(current: str | None) -> str:
    """1.0.0 for a first model, else the current minor version plus one."""
    if not current:
        return "1.0.0"
    parts = current.split(".")
    try:
        major, minor = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return "1.0.0"
    return f"{major}.{minor + 1}.0"


def write_model(out_dir: Path, name: str, model_bytes: bytes, meta: dict[str, Any], card: str) -> tuple[Path, ...]:
    """NAME.onnx, then NAME.json with its sha256, then NAME.md; the manifest last, so a reader never sees a new manifest with an old file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / f"{name}.onnx"
    tmp = onnx_path.with_suffix(".onnx.tmp")
    tmp.write_bytes(model_bytes)
    tmp.replace(onnx_path)
    manifest = {"file": onnx_path.name, "sha256": file_sha256(onnx_path), **meta}
    card_path = out_dir / f"{name}.md"
    card_path.write_text(card.replace("{sha256}", manifest["sha256"]), encoding="utf-8")
    manifest_path = out_dir / f"{name}.json"
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return onnx_path, manifest_path, card_path


def default_card(name: str, version: str, meta: dict[str, Any], report_lines: list[str]) -> str:
    lines = [
        f"# {name} {version}",
        "",
        "Probability that a message is profanity, an insult or hate speech (label `profanity_insult`).",
        "",
        f"- **file**: `{name}.onnx`, sha256 `{{sha256}}`",
        (
            f"- **input**: `text`, string tensor [N, 1], each text passed through "
            f"`moderation.text.classifier.prepare_text` (cut at {MAX_MODEL_CHARS} characters, casefolded, accents "
            "stripped, leetspeak decoded)"
        ),
        "- **output**: `probabilities`, float [N, 2]: column 0 ok, column 1 profanity",
        (
            "- **architecture**: binary TF-IDF of word 1-2-grams and character 1-4-grams (each block L2-normalized), "
            "logistic regression (scikit-learn); tokenizers and n-gram tables converted with skl2onnx, the "
            "scoring written as MatMul / Sigmoid (moderation.text.training.export_onnx)"
            + (f"; {meta['members']} such models in one graph, sharing the tokenizers and one n-gram table, their "
               "probabilities averaged (moderation.text.training.export_average)" if meta.get("members", 1) > 1 else "")
        ),
        f"- **training data**: {meta.get('training_data', 'see manifest')}",
        f"- **license**: {meta.get('license', 'see manifest')}",
        "",
        "## Quality",
        "",
        *report_lines,
        "",
    ]
    return "\n".join(lines)


def train_text_model(
    labeled_jsonl: Path,
    out_dir: Path,
    current_model: str | None,
    *,
    name: str | None = None,
    models_dir: Path = MODELS_DIR,
    holdout: float = 0.2,
    seed: int = 0,
    threshold: float = 0.5,
    holdout_jsonl: Path | None = None,
    extra_meta: dict[str, Any] | None = None,
    word_features: int | None = WORD_FEATURES,
    char_features: int | None = CHAR_FEATURES,
    version: str | None = None,
    also: Sequence[Path] = (),
) -> TrainingReport:
    """Train on `labeled_jsonl`, compare with `current_model` (a name in `models_dir`) on a held-out split.

    The held-out rows are a seeded, stratified `holdout` share of `labeled_jsonl`, or all of
    `holdout_jsonl` when given (a fixed gold set that every candidate is judged on; then all
    of `labeled_jsonl` is trained on).

    Writes `out_dir/NAME.{onnx,json,md}` only when there is no current model or the new
    one's held-out F1 at `threshold` is strictly higher. NAME defaults to the current
    model's name (so the loader picks it up) or `profanity-enfr`. `word_features` and
    `char_features` cap the n-gram blocks (see `build_pipeline`); `version` overrides the
    default of the current model's next minor version. Each file of `also` trains one
    more model, all of its rows, and the written model averages them all (`average_onnx`).
    """
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout must be in (0, 1), got {holdout}")
    rows = read_labeled(labeled_jsonl)
    if holdout_jsonl is None:
        train, hold = split_holdout(rows, holdout, seed)
    else:
        train, hold = rows, read_labeled(holdout_jsonl)
    if not hold:
        raise InvalidInput(f"{holdout_jsonl or labeled_jsonl}: no held-out rows to judge the model on")
    y_train = np.array([r["label"] == POSITIVE for r in train])
    if len(set(y_train.tolist())) < 2:
        raise InvalidInput(f"{labeled_jsonl}: training needs both {POSITIVE} and other labels")

    pipeline = build_pipeline(seed, word_features=word_features, char_features=char_features)
    fit_pipeline(pipeline, [prepare_text(r["text"]) for r in train], y_train.astype(np.int64))
    model_bytes = export_onnx(pipeline)
    blocks = dict(pipeline.named_steps["features"].transformer_list)
    n_features = {name: len(vec.vocabulary_) for name, vec in blocks.items()}
    if also:
        members = [pipeline]
        for extra in also:
            extra_rows = read_labeled(extra)
            member = build_pipeline(seed, word_features=word_features, char_features=char_features)
            members.append(fit_pipeline(member, [prepare_text(r["text"]) for r in extra_rows],
                                        np.array([r["label"] == POSITIVE for r in extra_rows]).astype(np.int64)))
        model_bytes = export_average(members)
        # the shared n-gram table: the union of the members' vocabularies
        n_features = {name: len({t for m in members for t in dict(m.named_steps["features"].transformer_list)[name].vocabulary_})
                      for name in n_features}

    truth = np.array([r["label"] == POSITIVE for r in hold])
    hold_texts = [r["text"] for r in hold]
    new_scores = onnx_scores(model_bytes, hold_texts)
    new = metrics(truth, new_scores >= threshold)
    per_lang = {
        lang: metrics(truth[mask], new_scores[mask] >= threshold)
        for lang in sorted({r["lang"] for r in hold} - {""})
        for mask in [np.array([r["lang"] == lang for r in hold])]
    }

    current_metrics = None
    current_version = None
    if current_model is not None:
        session, manifest = load_session(current_model, models_dir=models_dir)
        current_version = manifest.version
        current_metrics = metrics(truth, onnx_scores(session, hold_texts) >= threshold)
    improved = current_metrics is None or new.f1 > current_metrics.f1

    model_name = name or current_model or "profanity-enfr"
    version = version or next_version(current_version)
    written: tuple[Path, ...] = ()
    if improved:
        meta = {
            "version": version,
            "name": model_name,
            "labels": ["ok", "profanity"],
            "positive_index": 1,
            "input": {"name": INPUT_NAME, "type": "string", "shape": [None, 1],
                      "preprocessing": "moderation.text.classifier.prepare_text", "max_chars": MAX_MODEL_CHARS},
            "output": "probabilities",
            "threshold": threshold,
            "members": 1 + len(also),
            "features": {"caps": {"words": word_features, "chars": char_features}, "ngrams": n_features},
            "training_data": f"{labeled_jsonl.name}: {len(train)} rows, judged on "
            + (holdout_jsonl.name if holdout_jsonl else f"{holdout:.0%} held out (seed {seed})")
            + "".join(f"; averaged with a model of all of {p.name}" for p in also),
            "license": "MIT (this project)",
            "quality": {"holdout": asdict(new), "holdout_per_lang": {k: asdict(v) for k, v in per_lang.items()},
                        "replaced": current_model and {"version": current_version, **asdict(current_metrics)}},
            **(extra_meta or {}),
        }
        lines = [f"Held-out rows ({len(hold)}), threshold {threshold}:", "",
                 "| set | precision | recall | F1 | n |", "|---|---|---|---|---|",
                 f"| all | {new.precision} | {new.recall} | {new.f1} | {new.n} |",
                 *[f"| {k} | {v.precision} | {v.recall} | {v.f1} | {v.n} |" for k, v in per_lang.items()]]
        if current_metrics is not None:
            lines += ["", f"Replaced {current_model}@{current_version}, held-out F1 {current_metrics.f1}."]
        card = default_card(model_name, version, meta, lines + list((extra_meta or {}).get("card_lines", [])))
        meta.pop("card_lines", None)
        written = write_model(out_dir, model_name, model_bytes, meta, card)
    return TrainingReport(
        name=model_name, version=version, n_train=len(train), n_holdout=len(hold), new=new,
        current=current_metrics, improved=improved, threshold=threshold, written=written, per_lang=per_lang,
    )
