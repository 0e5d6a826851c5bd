"""Named-entity recognition: compile, train from data files, export for TF Serving, evaluate.

The exported graph takes raw sentences, tokenizes and looks tokens up with the same ops the
training pipeline used (`pipelines.text`), runs the tagger and decodes tag names, so a client
sends strings and gets tags back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import time
from pathlib import Path
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from pipelines.errors import DataError
from pipelines.features import FeatureSpec, TokenFeatures, build_char_vocabulary, word_key_strings
from pipelines.ner import ner_dataset, ner_vocabularies, unknown_rates
from pipelines.readers import TaggedSentence, read_tagged
from pipelines.spans import entity_spans
from pipelines.tags import convert
from pipelines.text import tokenize
from pipelines.vocab import Vocabulary, file_table
from zoo.errors import ZooError
from zoo.export import export_versioned, read_card, resolve_export
from zoo.layers.crf import CRF
from zoo.losses import MaskedSparseNLL
from zoo.metrics import MaskedAccuracy
from zoo.pretrained import build_with_vectors, check_no_vectors_for_search, vocabulary_with_vectors
from zoo.registry import get_spec
from zoo.training import fit

TASK = "ner"
MONITOR = "val_f1"
SCHEMES = ("iob2", "iobes")
SIGNATURES = {
    "serving_default": "text: 1-D string batch of raw sentences -> tokens, tags (IOB2; 2-D string, '' past "
    "each sentence's end), scores (probability of each chosen tag), lengths, and entity spans: span_types, "
    "span_starts, span_ends (inclusive token indices), span_texts, num_spans",
    "tag_tokens": "tokens: 2-D string batch of pre-tokenized sentences ('' = padding) -> the same outputs",
}


def crf_layer(model: keras.Model) -> CRF | None:
    """The model's CRF head, if it has one."""
    return next((layer for layer in model.layers if isinstance(layer, CRF)), None)


def compile_tagger(
    model: keras.Model, *, learning_rate: float = 1e-3, clipnorm: float = 5.0, decay_steps: int | None = None,
    decay_rate: float = 0.05,
) -> keras.Model:
    """Adam with gradient clipping; CRF likelihood or padding-aware NLL; token accuracy.

    With `decay_steps` the learning rate decays as lr / (1 + decay_rate * step / decay_steps)
    (pass the steps of one epoch for the per-epoch schedule of Lample et al. and Ma & Hovy).
    """
    if decay_steps:
        learning_rate = keras.optimizers.schedules.InverseTimeDecay(learning_rate, decay_steps, decay_rate)
    crf = crf_layer(model)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm),
        loss=crf.loss if crf else MaskedSparseNLL(),
        metrics=[MaskedAccuracy()],
    )
    return model


# ----------------------------------------------------------------------------- data


@dataclasses.dataclass
class NerData:
    """Everything a tagger is trained from: sentences, vocabularies and tf.data pipelines.

    `train` and `dev` keep their IOB2 tags; the pipelines carry `scheme` tags.
    """

    train: list
    dev: list
    vocab: Vocabulary
    tags: Vocabulary
    chars: Vocabulary | None
    features: FeatureSpec
    scheme: str
    train_ds: tf.data.Dataset
    dev_ds: tf.data.Dataset
    info: dict
    embeddings: np.ndarray | None = None  # pretrained rows for `vocab`, (len(vocab), dim)

    def sizes(self) -> dict:
        """The data-dependent builder arguments."""
        sizes = {"vocab_size": len(self.vocab), "num_tags": len(self.tags)}
        if self.chars is not None:
            sizes["char_vocab_size"] = len(self.chars)
        return sizes


def read_ner_data(train_spec: str, dev_spec: str | None = None, *, dev_fraction: float = 0.1,
                  scheme: str | None = None):
    """Reads `FORMAT:PATH` specs; without a dev file the last `dev_fraction` of train is held out.

    `scheme` is the files' tag scheme when it is not their format's default (see `read_tagged`).
    """
    train = read_tagged(train_spec, scheme=scheme)
    if dev_spec:
        dev = read_tagged(dev_spec, scheme=scheme)
    else:
        cut = max(1, int(len(train) * (1 - dev_fraction)))
        if cut >= len(train):
            raise DataError(train_spec, None, "too few sentences to hold out a dev split; pass --dev")
        train, dev = train[:cut], train[cut:]
    return train, dev, {"train": train_spec, "dev": dev_spec or f"last {dev_fraction:.0%} of train"}


def split_long(sentences: Sequence, max_length: int) -> list:
    """Sentences longer than `max_length` tokens cut into consecutive pieces (training only).

    An entity that crosses a cut is split in two; the second piece starts with `B-`, so
    every piece is valid IOB2.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1. Received: max_length={max_length}")
    pieces = []
    for sentence in sentences:
        for start in range(0, len(sentence.tokens), max_length):
            tags = list(sentence.tags[start:start + max_length])
            if tags[0].startswith("I-"):
                tags[0] = "B-" + tags[0][2:]
            pieces.append(TaggedSentence(tuple(sentence.tokens[start:start + max_length]), tuple(tags)))
    return pieces


def _in_scheme(sentences: Sequence, scheme: str) -> list:
    if scheme == "iob2":
        return list(sentences)
    return [TaggedSentence(s.tokens, tuple(convert(s.tags, "iob2", scheme))) for s in sentences]


def prepare_ner_data(
    train: Sequence,
    dev: Sequence,
    *,
    model: str = "bilstm_ner",
    scheme: str = "iob2",
    batch_size: int = 64,
    seed: int = 0,
    min_count: int = 1,
    max_vocab: int | None = None,
    max_length: int = 250,
    info: dict | None = None,
    word_vectors: str | os.PathLike | None = None,
    vectors_vocab: int = 0,
    singleton_unk: float = 0.0,
    word_dropout: float = 0.0,
) -> NerData:
    """Vocabularies from the training sentences and bucketed pipelines for train and dev.

    Args:
        train, dev: IOB2-tagged sentences.
        model: the registered tagger; its inputs decide the features (characters, word shapes).
        scheme: tags the model learns: "iob2" or "iobes" (outputs are always IOB2).
        max_length: training sentences longer than this are split (see `split_long`).
        word_vectors: a GloVe / word2vec text file whose vectors start the word embedding
            (`embeddings`); its first `vectors_vocab` words join the vocabulary as lookup keys.
        singleton_unk, word_dropout: training batches show each word seen once in `train` as
            `<UNK>` with probability `singleton_unk` (Lample et al. 2016: 0.5), every other
            training word with probability `word_dropout` (see `pipelines.ner.unknown_rates`).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"Unknown training tag scheme. Received: scheme={scheme!r}; allowed: {list(SCHEMES)}")
    features = FeatureSpec.for_inputs(get_spec(model).inputs)
    long = sum(len(s.tokens) > max_length for s in train)
    if long:
        print(f"zoo: {long} training sentences longer than {max_length} tokens were split into pieces")
    pieces = _in_scheme(split_long(train, max_length), scheme)
    vocab, tags = ner_vocabularies(pieces, min_count=min_count, max_size=max_vocab, lowercase=features.lowercase)
    embeddings, info = None, dict(info or {})
    if word_vectors:
        vocab, embeddings, info["word_vectors"] = vocabulary_with_vectors(
            vocab, word_vectors, first=vectors_vocab, seed=seed,
            keys=functools.partial(word_key_strings, lowercase=features.lowercase))
    chars = build_char_vocabulary(s.tokens for s in pieces) if features.chars else None
    scheme_dev = _in_scheme(dev, scheme)
    unseen = sorted({t for s in scheme_dev for t in s.tags} - set(tags.tokens))
    if unseen:
        raise DataError((info or {}).get("dev"), None,
                        f"dev data uses tags the training data never does: {unseen}; training tags: {list(tags.tokens)}")
    token_features = TokenFeatures(features, vocab.table(), chars.table() if chars else None)
    unknown = unknown_rates(pieces, vocab, singletons=singleton_unk, others=word_dropout,
                            lowercase=features.lowercase) if singleton_unk or word_dropout else None
    return NerData(
        train=list(train),
        dev=list(dev),
        vocab=vocab,
        tags=tags,
        chars=chars,
        features=features,
        scheme=scheme,
        train_ds=ner_dataset(pieces, vocab, tags, batch_size=batch_size, seed=seed, features=token_features,
                             unknown=unknown),
        dev_ds=ner_dataset(scheme_dev, vocab, tags, batch_size=batch_size, shuffle=False, features=token_features),
        embeddings=embeddings,
        info={**info, "train_sentences": len(train), "dev_sentences": len(dev), "vocab_size": len(vocab),
              "char_vocab_size": len(chars) if chars else None, "num_tags": len(tags), "tag_scheme": scheme,
              "batch_size": batch_size, "max_length": max_length, "singleton_unk": singleton_unk,
              "word_dropout": word_dropout},
    )


# ----------------------------------------------------------------------------- serving graph


@contextlib.contextmanager
def generic_rnn_kernels(model: keras.Model):
    """Traces recurrent layers with the generic kernels: cuDNN-only ops do not run on CPU servers."""
    layers = [layer for layer in model._flatten_layers(include_self=False) if hasattr(layer, "use_cudnn")]
    saved = [layer.use_cudnn for layer in layers]
    for layer in layers:
        layer.use_cudnn = False
    try:
        yield
    finally:
        for layer, value in zip(layers, saved):
            layer.use_cudnn = value


def iob2_name(tag: str) -> str:
    """The IOB2 name of an IOB2 or IOBES tag (S- -> B-, E- -> I-)."""
    return {"S-": "B-", "E-": "I-"}.get(tag[:2], tag[:2]) + tag[2:] if tag != "O" else tag


class Tagger(tf.Module):
    """The exported NER graph: strings in; tokens, IOB2 tags, scores and entity spans out."""

    def __init__(self, model: keras.Model, features: FeatureSpec, tags: Vocabulary, vocab_path: str,
                 chars_path: str | None = None):
        super().__init__(name="tagger")
        self.model = model
        self.features = TokenFeatures(
            features, file_table(vocab_path, default_id=1), file_table(chars_path, default_id=1) if chars_path else None
        )
        self.tag_names = tf.constant([iob2_name(t) for t in tags.tokens], dtype=tf.string)

    def _tag(self, tokens: tf.RaggedTensor) -> dict:
        lengths = tokens.row_lengths()
        longest = tf.reduce_max(tf.concat([lengths, [0]], 0))
        # At least one step: a batch of empty strings still runs the model and returns 0 tokens.
        width = tf.maximum(longest, 1)
        batch = tf.cast(tf.shape(lengths)[0], tf.int64)
        inputs = {}
        for key, values in self.features(tokens).items():
            shape = [batch, width] + ([-1] if values.ragged_rank == 2 else [])
            inputs[key] = values.to_tensor(default_value=0, shape=shape)
        mask = tf.sequence_mask(lengths, width)
        crf = crf_layer(self.model)
        with generic_rnn_kernels(self.model):
            outputs = self.model(inputs if len(inputs) > 1 else inputs["token_ids"], training=False)
        if crf is not None:
            tag_ids = crf.decode(outputs, mask)
            scores = tf.gather(crf.marginals(outputs, mask), tag_ids, batch_dims=2)
        else:
            tag_ids = tf.argmax(outputs, axis=-1)
            scores = tf.exp(tf.reduce_max(outputs, axis=-1))
        tags = tf.where(mask, tf.gather(self.tag_names, tag_ids), "")[:, :longest]
        tokens = tokens.to_tensor(default_value="")[:, :longest]
        return {
            "tokens": tokens,
            "tags": tags,
            "scores": tf.where(mask, scores, 0.0)[:, :longest],
            "lengths": lengths,
            **entity_spans(tokens, tags),
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve_text(self, text):
        return self._tag(tokenize(text))

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="tokens")])
    def serve_tokens(self, tokens):
        return self._tag(tf.RaggedTensor.from_tensor(tokens, padding=""))


def make_tagger(model: keras.Model, data: NerData, workdir: str | os.PathLike) -> Tagger:
    """A `Tagger` whose vocabulary files (written to `workdir`) become assets of the export."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    data.vocab.save(workdir / "vocab.txt")
    data.tags.save(workdir / "tags.txt")
    if data.chars is not None:
        data.chars.save(workdir / "chars.txt")
    tagger = Tagger(model, data.features, data.tags, str(workdir / "vocab.txt"),
                    str(workdir / "chars.txt") if data.chars is not None else None)
    tagger.tags_file = tf.saved_model.Asset(str(workdir / "tags.txt"))
    return tagger


def export_tagger(tagger: Tagger, *, base_dir: str | os.PathLike, name: str, card: dict) -> Path:
    """Exports the tagger as the next version of `base_dir/name`."""
    from zoo.serving import check_serving_ops

    def write(path: str) -> None:
        signatures = {"serving_default": tagger.serve_text, "tag_tokens": tagger.serve_tokens}
        tf.saved_model.save(tagger, path, signatures=signatures)
        check_serving_ops(path)

    tags = sorted({t.decode("utf-8") for t in tagger.tag_names.numpy()}, key=lambda t: (t != "O", t[2:], t[:2]))
    card = {"task": TASK, "signatures": SIGNATURES, "num_tags": len(tags), "tags": tags,
            "features": dataclasses.asdict(tagger.features.spec), **card}
    return export_versioned(write, base_dir, name, card=card)


class DevF1(keras.callbacks.Callback):
    """Adds `val_f1` (strict IOB2 entity F1 of Viterbi/argmax paths on dev) to each epoch's logs."""

    def __init__(self, data: NerData, workdir: str | os.PathLike):
        super().__init__()
        self.data = data
        self.workdir = Path(workdir)
        self._tagger = None

    def __deepcopy__(self, memo):
        # keras-tuner copies callbacks for every trial; the data (tables, datasets) is shared.
        return DevF1(self.data, self.workdir)

    def on_epoch_end(self, epoch, logs=None):
        if self._tagger is None or self._tagger.model is not self.model:  # a tuner brings a new model per trial
            self._tagger = make_tagger(self.model, self.data, self.workdir / "dev_f1")
        predicted = tag_token_lists(self._tagger.serve_tokens, [s.tokens for s in self.data.dev])
        if logs is not None:
            logs["val_f1"] = ner_report([s.tags for s in self.data.dev], predicted)["f1"]


# ----------------------------------------------------------------------------- evaluation


def tag_token_lists(tag_tokens: Callable, token_lists: Sequence[Sequence[str]], *, batch_size: int = 256) -> list[list[str]]:
    """Tags for pre-tokenized sentences through a `tag_tokens`-style function (in-process or loaded).

    Sentences are sorted by length before batching so little time goes into padding.
    """
    order = sorted(range(len(token_lists)), key=lambda i: len(token_lists[i]))
    predicted: list[list[str]] = [[] for _ in token_lists]
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        width = max(len(token_lists[i]) for i in chunk)
        padded = [list(token_lists[i]) + [""] * (width - len(token_lists[i])) for i in chunk]
        out = tag_tokens(tokens=tf.constant(padded, dtype=tf.string, shape=[len(chunk), width]))
        tags = out["tags"].numpy()
        for row, i in enumerate(chunk):
            predicted[i] = [t.decode("utf-8") for t in tags[row, : len(token_lists[i])]]
    return predicted


def ner_report(true_tags: Sequence[Sequence[str]], pred_tags: Sequence[Sequence[str]]) -> dict:
    """Masked token accuracy, strict IOB2 entity P/R/F1 per type (seqeval), confusion counts."""
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    flat_true = [t for tags in true_tags for t in tags]
    flat_pred = [t for tags in pred_tags for t in tags]
    labels = sorted(set(flat_true) | set(flat_pred), key=lambda t: (t != "O", t[2:], t[:2]))
    index = {t: i for i, t in enumerate(labels)}
    confusion = np.zeros((len(labels), len(labels)), dtype=int)
    np.add.at(confusion, ([index[t] for t in flat_true], [index[t] for t in flat_pred]), 1)
    report = classification_report(
        [list(t) for t in true_tags], [list(t) for t in pred_tags],
        mode="strict", scheme=IOB2, output_dict=True, zero_division=0,
    )
    entities = {k: {m: float(v[m]) for m in ("precision", "recall", "f1-score")} | {"support": int(v["support"])}
                for k, v in report.items()}
    micro = entities.get("micro avg", {"precision": 0.0, "recall": 0.0, "f1-score": 0.0})
    return {
        "token_accuracy": float(np.trace(confusion) / max(confusion.sum(), 1)),
        "precision": micro["precision"],
        "recall": micro["recall"],
        "f1": micro["f1-score"],
        "f1_scheme": "seqeval strict IOB2 (entity level, micro average)",
        "entities": entities,
        "confusion": {"labels": labels, "matrix": confusion.tolist()},
        "sentences": len(true_tags),
        "tokens": len(flat_true),
    }


def headline(report: dict) -> dict:
    """The figures worth a model card: accuracy and micro P/R/F1."""
    return {k: round(report[k], 4) for k in ("token_accuracy", "precision", "recall", "f1")}


def evaluate_export(export: str | os.PathLike, data_spec: str, out_dir: str | os.PathLike | None = None, *,
                    scheme: str | None = None) -> tuple[dict, Path]:
    """Scores an export on a labelled file; writes `report.json` and `confusion_matrix.png`."""
    from zoo.plots import plot_confusion_matrix
    from zoo.serving import load

    export = resolve_export(export)
    card = read_card(export)
    if card.get("task") != TASK:
        raise ZooError(f"{export}: a {card.get('task')!r} model, not an NER tagger")
    sentences = read_tagged(data_spec, scheme=scheme)
    unknown = sorted({t for s in sentences for t in s.tags} - set(card["tags"]))
    if unknown:
        raise DataError(data_spec, None, f"uses tags the model does not know: {unknown}; model tags: {card['tags']}")
    loaded = load(export)
    predicted = tag_token_lists(loaded.signatures["tag_tokens"], [s.tokens for s in sentences])
    report = ner_report([s.tags for s in sentences], predicted)
    report.update({"export": str(export), "data": data_spec})
    out_dir = Path(out_dir or Path("reports") / f"{card['name']}_v{card.get('version')}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    plot_confusion_matrix(np.array(report["confusion"]["matrix"]), report["confusion"]["labels"],
                          out_dir / "confusion_matrix.png", title=f"{card['name']} v{card.get('version')} on {data_spec}")
    return report, out_dir


def format_report(report: dict) -> str:
    """A per-type table in the shape of seqeval's and conlleval's reports."""
    lines = [f"{'type':<14}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for name, row in report["entities"].items():
        lines.append(f"{name:<14}{row['precision']:>10.4f}{row['recall']:>10.4f}{row['f1-score']:>10.4f}{row['support']:>10}")
    lines.append(f"token accuracy (padding masked): {report['token_accuracy']:.4f} over {report['tokens']} tokens")
    lines.append(f"entity F1: {report['f1']:.4f} ({report['f1_scheme']})")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- training


def train_ner(
    name: str,
    data: NerData,
    *,
    epochs: int,
    workdir: str | os.PathLike,
    export_dir: str | os.PathLike = "saved_models",
    preset: str | None = None,
    config: dict | None = None,
    learning_rate: float = 1e-3,
    lr_decay: float = 0.0,
    clipnorm: float = 5.0,
    patience: int = 3,
    freeze_embeddings: bool = False,
    seed: int = 0,
    verbose: int | str = "auto",
) -> tuple[Path, dict]:
    """Builds, trains (early stopping on dev F1), scores and exports a registered tagger.

    `lr_decay` > 0 divides the learning rate by (1 + lr_decay * epoch), stepwise. With pretrained
    word vectors in `data`, the word embedding starts from them (fixed with `freeze_embeddings`).
    Returns the export path and the dev report.
    """
    spec = get_spec(name)
    if spec.task != TASK:
        raise ZooError(f"{name!r} is a {spec.task!r} model; `train` with NER data needs one of the NER models")
    keras.utils.set_random_seed(seed)
    model, config = build_with_vectors(name, embeddings=data.embeddings, freeze=freeze_embeddings, preset=preset,
                                       config=config, **data.sizes())
    steps = sum(1 for _ in data.train_ds) if lr_decay else None
    compile_tagger(model, learning_rate=learning_rate, clipnorm=clipnorm, decay_steps=steps, decay_rate=lr_decay)
    started = time.perf_counter()
    history = fit(model, data.train_ds, data.dev_ds, epochs=epochs, workdir=workdir, monitor=MONITOR, mode="max",
                  patience=patience, extra_callbacks=[DevF1(data, workdir)], verbose=verbose)
    seconds = time.perf_counter() - started
    return export_and_score(model, data, name=name, export_dir=export_dir, workdir=workdir, extra_card={
        "config": spec.config(preset, **(config or {}), **data.sizes()),
        "training": {"epochs_run": len(history.get("loss", [])), "learning_rate": learning_rate, "lr_decay": lr_decay,
                     "clipnorm": clipnorm, "freeze_embeddings": freeze_embeddings, "seed": seed, "seconds": round(seconds, 1),
                     "history": history},
    })


def export_and_score(model, data: NerData, *, name: str, export_dir, workdir, extra_card: dict) -> tuple[Path, dict]:
    """Scores a trained tagger on dev through the serving graph, then exports it with the scores."""
    tagger = make_tagger(model, data, workdir)
    report = ner_report([s.tags for s in data.dev], tag_token_lists(tagger.serve_tokens, [s.tokens for s in data.dev]))
    card = {"model": name, "metrics": {f"dev_{k}": v for k, v in headline(report).items()}, "data": data.info,
            "tag_scheme": data.scheme, **data.sizes(), **extra_card}
    return export_tagger(tagger, base_dir=export_dir, name=name, card=card), report


def predict_texts(export: str | os.PathLike, texts: Sequence[str]) -> list[list[tuple[str, str, float]]]:
    """(token, tag, score) triples per sentence, through the export's `serving_default`."""
    from zoo.serving import load

    loaded = load(export)
    out = loaded.signatures["serving_default"](text=tf.constant(list(texts), dtype=tf.string))
    results = []
    for tokens, tags, scores, length in zip(out["tokens"].numpy(), out["tags"].numpy(), out["scores"].numpy(),
                                            out["lengths"].numpy()):
        results.append([(tokens[i].decode("utf-8"), tags[i].decode("utf-8"), float(scores[i])) for i in range(length)])
    return results


def tune_ner(name: str, data: NerData, *, workdir: str | os.PathLike, export_dir: str | os.PathLike = "saved_models",
             config: dict | None = None, **search) -> tuple[Path, dict, dict]:
    """Searches the model's space on dev F1, exports the best model; returns (path, dev report, best hp).

    `config` fixes keys the space does not search; `**search` are `zoo.tuning.run_search`'s options
    (directory, algorithm, max_trials, max_epochs, preset, seed, verbose).
    """
    import keras_tuner as kt

    from zoo.tuning import run_search

    spec = get_spec(name)
    if spec.task != TASK:
        raise ZooError(f"{name!r} is a {spec.task!r} model, not an NER tagger")
    check_no_vectors_for_search(data.embeddings)
    result = run_search(
        name, {**(config or {}), **data.sizes()}, compile_tagger, data.train_ds, data.dev_ds,
        objective=kt.Objective(MONITOR, "max"), callbacks=[DevF1(data, workdir)], **search,
    )
    path, report = export_and_score(result.model, data, name=name, export_dir=export_dir, workdir=workdir,
                                    extra_card={"config": result.config, "tuning": result.summary})
    return path, report, result.hyperparameters
