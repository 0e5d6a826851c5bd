"""Siamese duplicate detection: compile, train with the triplet loss, calibrate τ, search, export, evaluate.

Two texts are duplicates when the cosine similarity of their encodings reaches a threshold τ.
τ is calibrated on a labelled dev set (the value that maximises accuracy or F1), written into
the model card and used by the exported `serving_default` signature. The exported graph takes
raw strings and runs the same tokenization and id lookup as training (`pipelines.pairs.text_ids`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
import warnings
from pathlib import Path
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from pipelines.errors import DataError
from pipelines.pairs import (
    TextIds,
    TripletRows,
    encode_texts,
    is_positive,
    labelled,
    pair_vocabulary,
    read_pairs,
    split_pairs,
    text_ids,
    triplet_dataset,
    triplet_rows,
)
from pipelines.readers.pair import Pair
from pipelines.vocab import Vocabulary, file_table
from zoo.errors import ZooError
from zoo.export import export_serving_module, generic_rnn_kernels, read_card, resolve_export
from zoo.losses import TripletLoss
from zoo.metrics.threshold import COURSE_TAU, OBJECTIVES, calibrate_threshold, roc_auc, similarity_report, threshold_metrics  # noqa: F401
from zoo.registry import build, get_spec
from zoo.training import fit

TASK = "siamese"
MONITOR = "val_auc"
SIGNATURES = {
    "serving_default": "text_a, text_b: 1-D string batches of the same size -> similarity (float32 cosine of the "
    "two encodings, 0 when a text is empty), is_duplicate (bool, similarity >= the calibrated tau of the card)",
    "embed": "text: 1-D string batch -> embedding (float32 unit vectors, the zero vector for an empty text), "
    "for indexing; the dot product of two embeddings is their similarity",
}


def default_text_ids(name: str) -> TextIds:
    """Lower-cased words with digits kept and hashed OOV buckets; word bigrams and character trigrams
    too for bag-of-ids encoders (the settings of `benchmarks/siamese_quora.py`)."""
    if name == "siamese_bow":
        return TextIds(digits_to_zero=False, oov_buckets=2000, word_bigrams=20000, char_ngrams=3, char_buckets=20000)
    return TextIds(digits_to_zero=False, oov_buckets=2000)


def compile_siamese(model: keras.Model, *, learning_rate: float = 1e-3, margin: float = 0.25,
                    negatives: Sequence[str] = ("mean", "closest"), symmetric: bool = False,
                    clipnorm: float = 5.0) -> keras.Model:
    """Adam with gradient clipping and the triplet loss on the stacked embeddings."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm),
                  loss=TripletLoss(margin=margin, negatives=negatives, symmetric=symmetric))
    return model


# ----------------------------------------------------------------------------- metrics and calibration


def plot_report_histograms(scores, labels, tau: float, path, *, title: str = "") -> str:
    from zoo.plots import plot_similarity_histograms

    scores, labels = np.asarray(scores), np.asarray(labels)
    return plot_similarity_histograms(scores[labels == 1], scores[labels == 0], tau, path, title=title)


# ----------------------------------------------------------------------------- data


@dataclasses.dataclass(frozen=True)
class PairIndex:
    """Labelled pairs over a table of distinct texts, so each text is encoded once."""

    texts: list[str]
    a: np.ndarray
    b: np.ndarray
    labels: np.ndarray

    @classmethod
    def of(cls, pairs: Sequence[Pair]) -> "PairIndex":
        index: dict[str, int] = {}
        a = [index.setdefault(p.text_a, len(index)) for p in pairs]
        b = [index.setdefault(p.text_b, len(index)) for p in pairs]
        return cls(list(index), np.array(a, np.int64), np.array(b, np.int64), np.array([p.label for p in pairs], int))

    def similarities(self, vectors: np.ndarray) -> np.ndarray:
        """Cosine similarity of each pair from the unit vectors of `texts`."""
        return np.clip(np.sum(vectors[self.a] * vectors[self.b], axis=-1), -1.0, 1.0)


@dataclasses.dataclass
class SiameseData:
    """What a Siamese model trains from: pairs, vocabulary, text-id config and tf.data pipelines."""

    train: list[Pair]
    dev: list[Pair]
    vocab: Vocabulary
    text_ids: TextIds
    rows: TripletRows
    train_ds: tf.data.Dataset
    dev_ds: tf.data.Dataset | None
    dev_index: PairIndex
    dev_ids: tf.RaggedTensor
    info: dict

    @property
    def num_ids(self) -> int:
        return self.text_ids.num_ids(len(self.vocab))


def read_siamese_data(data_specs: Sequence[str], dev_spec: str | None = None, *, extra_specs: Sequence[str] = (),
                      dev_fraction: float = 0.2, seed: int = 0) -> tuple[list[Pair], list[Pair], dict]:
    """Reads `FORMAT:PATH` specs into (train, labelled dev, info).

    Every pair of `data_specs` trains (duplicates as rows, labelled non-duplicates as hard
    negatives); only the duplicates of `extra_specs` join (label 1, or score >= 4). Without
    `dev_spec`, `dev_fraction` of the first data spec is held out with `split_pairs` (no text on
    both sides).
    """
    if not data_specs:
        raise DataError(None, None, "expected at least one training data spec, got none")
    first = read_pairs(data_specs[0])
    if dev_spec:
        train, dev = first, labelled(read_pairs(dev_spec))
    else:
        train, dev = split_pairs(first, dev_fraction=dev_fraction, seed=seed)
        dev = labelled(dev)
    for spec in data_specs[1:]:
        train += read_pairs(spec)
    extra = [p for spec in extra_specs for p in read_pairs(spec) if is_positive(p)]
    info = {"train": list(data_specs), "extra_positives": list(extra_specs),
            "dev": dev_spec or f"{dev_fraction:.0%} of {data_specs[0]} held out (split_pairs, seed {seed})"}
    return train + [p._replace(label=1) for p in extra], dev, info


def prepare_siamese_data(
    train: Sequence[Pair],
    dev: Sequence[Pair],
    *,
    text_ids: TextIds = TextIds(),
    batch_size: int = 64,
    seed: int = 0,
    min_count: int = 1,
    max_vocab: int | None = None,
    hard_negatives: bool = True,
    info: dict | None = None,
) -> SiameseData:
    """Vocabulary from the training texts, triplet batches for train (and dev, for val_loss), dev pair index."""
    info = dict(info or {})
    dev = labelled(dev)
    dev_index = PairIndex.of(dev)
    if len(set(dev_index.labels.tolist())) < 2:
        raise DataError(info.get("dev"), None, "expected dev pairs with both labels (duplicates and non-duplicates) "
                                               f"to calibrate the threshold, got {len(dev)} pairs all labelled "
                                               f"{dev_index.labels[0] if len(dev) else 'nothing'}")
    rows = triplet_rows(train, hard_negatives=hard_negatives, source=info.get("train", [None])[0])
    vocab = pair_vocabulary(rows.texts, text_ids, min_count=min_count, max_size=max_vocab)
    train_ds = triplet_dataset(rows, encode_texts(rows.texts, vocab, text_ids), batch_size=batch_size, seed=seed)
    dev_ds = None
    try:
        dev_rows = triplet_rows(dev, hard_negatives=hard_negatives)
        dev_ds = triplet_dataset(dev_rows, encode_texts(dev_rows.texts, vocab, text_ids),
                                 batch_size=min(batch_size, dev_rows.num_groups), shuffle=False)
    except DataError:
        pass  # too few dev duplicates for a triplet batch: no val_loss, dev AUC still guides training
    positives = sum(is_positive(p) for p in train)
    return SiameseData(
        train=list(train), dev=dev, vocab=vocab, text_ids=text_ids, rows=rows, train_ds=train_ds, dev_ds=dev_ds,
        dev_index=dev_index, dev_ids=encode_texts(dev_index.texts, vocab, text_ids),
        info={**info, "train_pairs": len(train), "train_duplicates": positives, "train_rows": len(rows.a),
              "duplicate_groups": rows.num_groups, "skipped_contradictory_pairs": rows.skipped,
              "dev_pairs": len(dev), "dev_duplicates": int(dev_index.labels.sum()), "vocab_size": len(vocab),
              "num_ids": text_ids.num_ids(len(vocab)), "batch_size": batch_size, "hard_negatives": hard_negatives,
              "text_ids": dataclasses.asdict(text_ids)},
    )


# ----------------------------------------------------------------------------- encoding, verification, search


def encode_ids(encoder: keras.Model, ids: tf.RaggedTensor, *, batch_size: int = 512, call=None) -> np.ndarray:
    """Unit vectors for ragged ids, batched by length so little time goes into padding.

    `call` is an already traced `encoder_function(encoder)`, to trace once for repeated use.
    """
    lengths = ids.row_lengths().numpy()
    order = np.argsort(lengths, kind="stable")
    vectors = np.zeros((len(lengths), encoder.output.shape[-1]), np.float32)
    call = call or encoder_function(encoder)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        width = max(int(lengths[chunk].max()), 1)
        vectors[chunk] = call(tf.gather(ids, chunk).to_tensor(shape=[len(chunk), width])).numpy()
    return vectors


def encoder_function(encoder: keras.Model):
    """The encoder in inference mode as one traced function for any (batch, time)."""
    return tf.function(lambda ids: encoder(ids, training=False), input_signature=[tf.TensorSpec([None, None], tf.int32)])


def embed_texts(embed: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str], *, batch_size: int = 512) -> np.ndarray:
    """`embed` (strings -> unit vectors, e.g. an export's `embed` signature) over many texts, by length."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = None
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        out = np.asarray(embed([texts[i] for i in chunk]), np.float32)
        if vectors is None:
            vectors = np.zeros((len(texts), out.shape[-1]), np.float32)
        vectors[chunk] = out
    return np.zeros((0, 0), np.float32) if vectors is None else vectors


def warn_empty(texts: Sequence[str], name: str) -> None:
    """Warns about empty texts: they encode to the zero vector, similarity 0, never a duplicate."""
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        warnings.warn(f"{name}{empty[:5]}{'...' if len(empty) > 5 else ''} is empty: an empty text has similarity "
                      "0 to everything and is never a duplicate", stacklevel=3)


def verify(embed: Callable[[Sequence[str]], np.ndarray], text_a: Sequence[str] | str, text_b: Sequence[str] | str,
           tau: float) -> tuple[np.ndarray, np.ndarray]:
    """One-shot verification: cosine similarity of the encodings of `text_a[i]` and `text_b[i]`, and `>= tau`."""
    text_a = [text_a] if isinstance(text_a, str) else list(text_a)
    text_b = [text_b] if isinstance(text_b, str) else list(text_b)
    if len(text_a) != len(text_b):
        raise ValueError(f"text_a and text_b must have the same length. Received: {len(text_a)} and {len(text_b)}")
    warn_empty(text_a, "text_a")
    warn_empty(text_b, "text_b")
    vectors = embed_texts(embed, text_a + text_b)
    similarity = np.clip(np.sum(vectors[: len(text_a)] * vectors[len(text_a):], axis=-1), -1.0, 1.0)
    return similarity, similarity >= tau


class DuplicateIndex:
    """Nearest-duplicate search: a collection encoded once, then the top-k most similar for new texts.

    Example:
        >>> index = DuplicateIndex(export.embed, questions)
        >>> index.search(["How do I learn Python ?"], k=3)[0]   # [(position, similarity), ...]
    """

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str], *, batch_size: int = 512):
        self.embed = embed
        self.texts = list(texts)
        self.batch_size = batch_size
        self.vectors = tf.constant(embed_texts(embed, self.texts, batch_size=batch_size))

    def search(self, queries: Sequence[str], *, k: int = 5) -> list[list[tuple[int, float]]]:
        """For each query, up to `k` (position in `texts`, similarity) pairs, most similar first."""
        if k < 1:
            raise ValueError(f"k must be at least 1. Received: k={k}")
        k = min(k, len(self.texts))
        queries = list(queries)
        if not queries or not k:
            return [[] for _ in queries]
        vectors = tf.constant(embed_texts(self.embed, queries, batch_size=self.batch_size))
        results = []
        for start in range(0, len(queries), self.batch_size):
            top = tf.math.top_k(tf.matmul(vectors[start:start + self.batch_size], self.vectors, transpose_b=True), k=k)
            results += [list(zip(i.tolist(), s.tolist())) for i, s in zip(top.indices.numpy(), top.values.numpy())]
        return results


# ----------------------------------------------------------------------------- serving graph


class SiameseServer(tf.Module):
    """The exported graph: strings in, similarity / is_duplicate or unit vectors out.

    With several models (an ensemble of independently trained encoders), a text's embedding is
    the concatenation of their unit vectors divided by sqrt(count): a unit vector again, whose dot
    products are the mean of the members' cosine similarities.
    """

    def __init__(self, models: keras.Model | Sequence[keras.Model], vocab_path: str, *, vocab_size: int,
                 text_ids: TextIds, tau: float):
        super().__init__(name="siamese")
        models = [models] if isinstance(models, keras.Model) else list(models)
        self.encoders = [model.get_layer("encoder") for model in models]
        self.vocab = file_table(vocab_path, default_id=1)
        self.vocab_size = vocab_size
        self.text_ids_config = text_ids
        self.tau = tf.Variable(float(tau), trainable=False, name="tau", dtype=tf.float32)

    @property
    def embedding_dim(self) -> int:
        return sum(int(encoder.output.shape[-1]) for encoder in self.encoders)

    def _embed(self, texts):
        ids = text_ids(texts, self.vocab, vocab_size=self.vocab_size, config=self.text_ids_config)
        width = tf.maximum(tf.reduce_max(tf.concat([ids.row_lengths(), [0]], 0)), 1)
        # At least one step: a batch of empty strings still runs the encoder and gets zero vectors.
        dense = ids.to_tensor(default_value=0, shape=tf.stack([tf.cast(tf.size(texts), tf.int64), width]))
        vectors = []
        for encoder in self.encoders:
            with generic_rnn_kernels(encoder):
                vectors.append(encoder(dense, training=False))
        if len(vectors) == 1:
            return vectors[0]
        return tf.concat(vectors, axis=-1) / math.sqrt(len(vectors))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text_a"),
                                  tf.TensorSpec([None], tf.string, name="text_b")])
    def serve_pairs(self, text_a, text_b):
        same = tf.debugging.assert_equal(tf.size(text_a), tf.size(text_b),
                                         message="text_a and text_b must hold the same number of texts")
        with tf.control_dependencies([same]):
            vectors = self._embed(tf.concat([text_a, text_b], 0))
        size = tf.size(text_a)
        similarity = tf.clip_by_value(tf.reduce_sum(vectors[:size] * vectors[size:], axis=-1), -1.0, 1.0)
        return {"similarity": similarity, "is_duplicate": similarity >= self.tau}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve_embed(self, text):
        return {"embedding": self._embed(text)}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.serve_embed(text=tf.constant(list(texts), tf.string, shape=[len(texts)]))["embedding"].numpy()


def make_server(models: keras.Model | Sequence[keras.Model], vocab: Vocabulary, text_ids: TextIds,
                workdir: str | os.PathLike, *, tau: float = COURSE_TAU) -> SiameseServer:
    """A `SiameseServer` whose vocabulary file (written to `workdir`) becomes an asset of the export."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    vocab.save(workdir / "vocab.txt")
    return SiameseServer(models, str(workdir / "vocab.txt"), vocab_size=len(vocab), text_ids=text_ids, tau=tau)


def export_siamese(server: SiameseServer, *, base_dir: str | os.PathLike, name: str, card: dict) -> Path:
    """Exports the server as the next version of `base_dir/name`; the card records τ and the text-id config."""
    card = {"task": TASK, "signatures": SIGNATURES, "tau": float(server.tau.numpy()),
            "vocab_size": int(server.vocab.size()), "text_ids": dataclasses.asdict(server.text_ids_config),
            "embedding_dim": server.embedding_dim, "members": len(server.encoders), **card}
    signatures = {"serving_default": server.serve_pairs, "embed": server.serve_embed}
    return export_serving_module(server, signatures, card, base_dir=base_dir, name=name)


class SiameseExport:
    """A loaded export with its card: `verify` uses the calibrated τ unless told otherwise."""

    def __init__(self, export: str | os.PathLike):
        from zoo.serving import load

        self.path = resolve_export(export)
        self.card = read_card(self.path)
        if self.card.get("task") != TASK:
            raise ZooError(f"{self.path}: a {self.card.get('task')!r} model, not a Siamese duplicate detector")
        self.loaded = load(self.path)
        self.tau = float(self.card["tau"])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = self.loaded.signatures["embed"](text=tf.constant(list(texts), tf.string, shape=[len(texts)]))
        return out["embedding"].numpy()

    def verify(self, text_a, text_b, tau: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        return verify(self.embed, text_a, text_b, self.tau if tau is None else tau)

    def index(self, texts: Sequence[str]) -> DuplicateIndex:
        return DuplicateIndex(self.embed, texts)


# ----------------------------------------------------------------------------- training


class DevPairMetrics(keras.callbacks.Callback):
    """Adds `val_auc` and `val_accuracy` (at the best τ for the epoch) on labelled dev pairs to the logs."""

    def __init__(self, index: PairIndex, ids: tf.RaggedTensor):
        super().__init__()
        self.index = index
        self.ids = ids

    def on_train_begin(self, logs=None):
        self.encoder = self.model.get_layer("encoder")
        self.call = encoder_function(self.encoder)

    def on_epoch_end(self, epoch, logs=None):
        scores = self.index.similarities(encode_ids(self.encoder, self.ids, call=self.call))
        if not np.all(np.isfinite(scores)):
            return  # a NaN epoch: StopOnNaN reports it
        calibrated = calibrate_threshold(scores, self.index.labels)
        if logs is not None:
            logs["val_auc"] = calibrated["roc_auc"]
            logs["val_accuracy"] = calibrated["accuracy"]


class CollapseWarning(keras.callbacks.Callback):
    """Says so when the training loss sits at the value it takes when all embeddings coincide.

    A triplet loss stuck there (the margin, for mean + closest negatives) means the encoder maps
    every text to the same vector, so no negative is ever below a positive. After `patience`
    such epochs in a row, training stops.
    """

    def __init__(self, collapsed_value: float, *, tolerance: float = 0.01, patience: int = 2):
        super().__init__()
        self.collapsed_value = float(collapsed_value)
        self.tolerance = tolerance
        self.patience = patience
        self.stuck = 0
        self.collapsed_epochs: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or not math.isfinite(float(loss)):
            return
        if abs(float(loss) - self.collapsed_value) <= self.tolerance * max(self.collapsed_value, 1e-6):
            self.stuck += 1
            self.collapsed_epochs.append(epoch)
            print(f"\nzoo: the training loss {float(loss):.4f} is stuck at {self.collapsed_value:.4f}, its value when "
                  "all embeddings coincide: the encoder has collapsed (every text maps to the same vector). "
                  "Try a lower learning rate, a smaller margin, or check that the texts differ.")
            if self.stuck >= self.patience:
                self.model.stop_training = True
                print(f"zoo: training stopped after {self.stuck} collapsed epochs.")
        else:
            self.stuck = 0


def train_siamese(
    name: str,
    data: SiameseData,
    *,
    epochs: int,
    workdir: str | os.PathLike,
    export_dir: str | os.PathLike = "saved_models",
    preset: str | None = None,
    config: dict | None = None,
    learning_rate: float = 1e-3,
    margin: float = 0.25,
    negatives: Sequence[str] = ("mean", "closest"),
    symmetric: bool = False,
    objective: str = "accuracy",
    patience: int = 3,
    members: int = 1,
    seed: int = 0,
    verbose: int | str = "auto",
) -> tuple[Path, dict]:
    """Builds, trains (early stopping on dev AUC), calibrates τ on dev and exports; returns (path, dev report).

    With `members` > 1, that many models are trained with seeds `seed`, `seed + 1`, ... (each in
    `workdir/member_i`) and exported together as one ensemble encoder (see `SiameseServer`).
    """
    if members < 1:
        raise ZooError(f"members must be at least 1. Received: members={members}")
    spec = _check_training(name, objective)
    models, runs = [], []
    started = time.perf_counter()
    for member in range(members):
        keras.utils.set_random_seed(seed + member)
        model = build(name, preset=preset, vocab_size=data.num_ids, **(config or {}))
        compile_siamese(model, learning_rate=learning_rate, margin=margin, negatives=negatives, symmetric=symmetric)
        history = fit(model, data.train_ds, data.dev_ds, epochs=epochs, monitor=MONITOR, mode="max", patience=patience,
                      workdir=Path(workdir) / f"member_{member}" if members > 1 else workdir, verbose=verbose,
                      extra_callbacks=[DevPairMetrics(data.dev_index, data.dev_ids),
                                       CollapseWarning(model.loss.collapsed_value)])
        models.append(model)
        runs.append({"seed": seed + member, "epochs_run": len(history.get("loss", [])),
                     "best_dev_roc_auc": round(max(history.get(MONITOR, [float("nan")])), 4), "history": history})
    seconds = time.perf_counter() - started
    training = {"epochs_run": runs[0]["epochs_run"], "parameters": sum(m.count_params() for m in models),
                "learning_rate": learning_rate, "margin": margin, "negatives": list(negatives), "symmetric": symmetric,
                "seed": seed, "seconds": round(seconds, 1), "history": runs[0]["history"],
                **({"members": runs} if members > 1 else {})}
    return calibrate_and_export(models, data, name=name, workdir=workdir, export_dir=export_dir, objective=objective,
                                extra_card={"config": spec.config(preset, **(config or {}), vocab_size=data.num_ids),
                                            "training": training})


def tune_siamese(name: str, data: SiameseData, *, workdir: str | os.PathLike,
                 export_dir: str | os.PathLike = "saved_models", config: dict | None = None, margin: float = 0.25,
                 negatives: Sequence[str] = ("mean", "closest"), symmetric: bool = False, objective: str = "accuracy",
                 **search) -> tuple[Path, dict, dict]:
    """Searches an encoder's space on dev ROC AUC, calibrates τ on dev and exports the best model.

    Args:
        name: a registered Siamese model.
        data: from `prepare_siamese_data`; its id count is fixed.
        workdir: the best model's similarity histograms.
        export_dir: the export is the next version of `export_dir/name`.
        config: fixes keys the space does not search.
        margin, negatives, symmetric: the triplet loss of every trial (see `compile_siamese`).
        objective: what τ maximises ("accuracy" or "f1").
        **search: `zoo.tuning.run_search`'s options (directory, algorithm, max_trials, max_epochs, preset,
            seed, verbose); the same directory resumes the search.

    Returns:
        (export path, dev report, best hyperparameters).
    """
    import functools

    import keras_tuner as kt

    from zoo.tuning import run_search

    _check_training(name, objective)
    loss = {"margin": margin, "negatives": tuple(negatives), "symmetric": symmetric}
    result = run_search(name, {**(config or {}), "vocab_size": data.num_ids},
                        functools.partial(compile_siamese, **loss), data.train_ds, data.dev_ds,
                        objective=kt.Objective(MONITOR, "max"), callbacks=[DevPairMetrics(data.dev_index, data.dev_ids)],
                        **search)
    path, report = calibrate_and_export([result.model], data, name=name, workdir=workdir, export_dir=export_dir,
                                        objective=objective,
                                        extra_card={"config": result.config, "tuning": result.summary,
                                                    "training": {**loss, "negatives": list(negatives)}})
    return path, report, result.hyperparameters


def calibrate_and_export(models: Sequence[keras.Model], data: SiameseData, *, name: str,
                         workdir: str | os.PathLike, export_dir: str | os.PathLike, objective: str,
                         extra_card: dict) -> tuple[Path, dict]:
    """Calibrates τ of trained encoders (one, or an ensemble) on dev, draws the dev similarity histograms
    into `workdir` and exports them with τ in the model card.

    Returns:
        (export path, dev report).
    """
    server = make_server(models, data.vocab, data.text_ids, workdir)
    scores = data.dev_index.similarities(embed_texts(server.embed, data.dev_index.texts))
    report = similarity_report(scores, data.dev_index.labels, objective=objective)
    server.tau.assign(report["calibrated"]["tau"])
    plot_report_histograms(scores, data.dev_index.labels, report["calibrated"]["tau"],
                           Path(workdir) / "similarity_histograms.png", title=f"{name} on dev")
    card = {"model": name, "threshold": {"objective": objective, "calibrated_on": "dev"},
            "metrics": dev_metrics(report), "data": data.info, **extra_card}
    return export_siamese(server, base_dir=export_dir, name=name, card=card), report


def _check_training(name: str, objective: str):
    """The spec of a Siamese model, after checking the threshold objective."""
    spec = get_spec(name)
    if spec.task != TASK:
        raise ZooError(f"{name!r} is a {spec.task!r} model; `train` with pair data needs one of the Siamese models")
    if objective not in OBJECTIVES:
        raise ZooError(f"Unknown threshold objective. Received: objective={objective!r}; allowed: {list(OBJECTIVES)}")
    return spec


def dev_metrics(report: dict) -> dict:
    """The figures worth a model card: AUC, and accuracy/P/R/F1 at the calibrated τ and at τ = 0.7."""
    calibrated, course = report["calibrated"], report["at_course_tau"]
    metrics = {f"dev_{k}": round(calibrated[k], 4) for k in ("roc_auc", "accuracy", "precision", "recall", "f1", "tau")}
    metrics.update({f"dev_{k}_at_0.7": round(course[k], 4) for k in ("accuracy", "f1")})
    return metrics


# ----------------------------------------------------------------------------- evaluation and prediction


def evaluate_export(export: str | os.PathLike, data_spec: str, out_dir: str | os.PathLike | None = None) -> tuple[dict, Path]:
    """Scores an export on a labelled pair file at its card's τ; writes `report.json` and `similarity_histograms.png`."""
    model = SiameseExport(export)
    pairs = labelled(read_pairs(data_spec))
    index = PairIndex.of(pairs)
    scores = index.similarities(embed_texts(model.embed, index.texts))
    report = {**similarity_report(scores, index.labels, tau=model.tau), "export": str(model.path), "data": data_spec}
    card = model.card
    out_dir = Path(out_dir or Path("reports") / f"{card['name']}_v{card.get('version')}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    plot_report_histograms(scores, index.labels, model.tau, out_dir / "similarity_histograms.png",
                           title=f"{card['name']} v{card.get('version')} on {data_spec}")
    return report, out_dir


def format_report(report: dict) -> str:
    """Accuracy / precision / recall / F1 at each threshold, and ROC AUC."""
    lines = [f"{'threshold':<28}{'tau':>8}{'accuracy':>10}{'precision':>10}{'recall':>10}{'f1':>8}"]
    rows = [("model card tau", report.get("at_tau")),
            (f"best {report['calibrated']['objective']} on this data", report["calibrated"]),
            ("course tau", report["at_course_tau"])]
    for label, row in rows:
        if row:
            lines.append(f"{label:<28}{row['tau']:>8.3f}{row['accuracy']:>10.4f}{row['precision']:>10.4f}"
                         f"{row['recall']:>10.4f}{row['f1']:>8.4f}")
    lines.append(f"ROC AUC: {report['roc_auc']:.4f} over {report['calibrated']['pairs']} pairs "
                 f"({report['calibrated']['duplicates']} duplicates)")
    return "\n".join(lines)


def predict_pairs(export: str | os.PathLike, text_a: Sequence[str], text_b: Sequence[str]) -> list[dict]:
    """Similarity and verdict (at the card's τ) for each pair, through the export's `serving_default`."""
    from zoo.serving import load

    loaded = load(export)
    tau = read_card(resolve_export(export))["tau"]
    out = loaded.signatures["serving_default"](text_a=tf.constant(list(text_a), tf.string, shape=[len(text_a)]),
                                               text_b=tf.constant(list(text_b), tf.string, shape=[len(text_b)]))
    return [{"text_a": a, "text_b": b, "similarity": float(s), "is_duplicate": bool(d), "tau": tau,
             **({"note": "an empty text is similar to nothing"} if not (a.strip() and b.strip()) else {})}
            for a, b, s, d in zip(text_a, text_b, out["similarity"].numpy(), out["is_duplicate"].numpy())]
