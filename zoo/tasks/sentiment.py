"""Sentiment classification: compile, train from data specs, export for TF Serving, evaluate, predict.

The exported graph takes raw texts, runs the same `pipelines.sentiment.tokenize_tweets` and
vocabulary lookup as training, pads to the longest text of the request, and returns each
text's label with the class probabilities.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from pipelines.errors import DataError
from pipelines.sentiment import (
    CLASS_NAMES,
    FORMATS,
    LabelledTexts,
    read_sentiment,
    sentiment_dataset,
    sentiment_vocabulary,
    split_data,
    token_ids,
)
from pipelines.readers.spec import parse_spec
from pipelines.vocab import Vocabulary, file_table
from zoo.export import ensemble_mean, generic_rnn_kernels, read_card, resolve_export
from zoo.pretrained import check_no_vectors_for_search, vector_options, vocabulary_with_vectors
from zoo.tasks.base import Task
from zoo.tasks.loops import export_module, train, tune

TASK = "sentiment"
MONITOR = "val_accuracy"
SIGNATURES = {
    "serving_default": "text: 1-D string batch of raw texts (tweets, sentences) -> label (class name), "
    "label_id (int32), probabilities (float32, one column per class in the card's `classes` order)",
}


def compile_sentiment(model: keras.Model, *, learning_rate: float = 1e-3, clipnorm: float = 5.0) -> keras.Model:
    """Adam with gradient clipping, cross-entropy on the softmax output, accuracy."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


# ----------------------------------------------------------------------------- data


@dataclasses.dataclass
class SentimentData:
    """What a classifier trains from: labelled texts, the vocabulary and tf.data pipelines."""

    train: LabelledTexts
    dev: LabelledTexts
    vocab: Vocabulary
    train_ds: tf.data.Dataset
    dev_ds: tf.data.Dataset
    info: dict
    embeddings: np.ndarray | None = None  # pretrained rows for `vocab`, (len(vocab), dim)


def read_sentiment_data(train_spec: str, dev_spec: str | None = None):
    """Reads `FORMAT[/SPLIT]:PATHS` specs; without a dev spec, the format's train and dev splits of the files.

    Returns (train, dev, info).
    """
    if dev_spec:
        train, dev = read_sentiment(train_spec), read_sentiment(dev_spec)
    else:
        name, split, paths = parse_spec(train_spec, FORMATS, splits=True)
        if split not in (None, "train"):
            raise DataError(None, None, f"training on the {split!r} split needs a dev spec (--dev); got {train_spec!r}")
        whole = FORMATS[name](paths)
        train, dev = (split_data(whole, name, part) for part in ("train", "dev"))
    return train, dev, {"train": train.source, "dev": dev.source}


def prepare_sentiment_data(
    train: LabelledTexts,
    dev: LabelledTexts,
    *,
    batch_size: int = 64,
    num_buckets: int = 1,
    seed: int = 0,
    min_count: int = 1,
    max_vocab: int | None = None,
    info: dict | None = None,
    word_vectors: str | os.PathLike | None = None,
    vectors_vocab: int = 0,
) -> SentimentData:
    """The vocabulary of the training texts and the train (shuffled) and dev pipelines.

    With `word_vectors` (a GloVe / word2vec text file), the vocabulary also takes the file's first
    `vectors_vocab` words, so words never seen in training still get a meaningful vector, and
    `embeddings` holds the pretrained rows (see `pipelines.word_vectors`).
    """
    vocab = sentiment_vocabulary(train.texts, min_count=min_count, max_size=max_vocab)
    embeddings, info = None, dict(info or {})
    if word_vectors:
        vocab, embeddings, info["word_vectors"] = vocabulary_with_vectors(vocab, word_vectors, first=vectors_vocab,
                                                                          seed=seed)
    return SentimentData(
        train=train,
        dev=dev,
        vocab=vocab,
        train_ds=sentiment_dataset(train, vocab, batch_size=batch_size, num_buckets=num_buckets, seed=seed),
        dev_ds=sentiment_dataset(dev, vocab, batch_size=batch_size, shuffle=False),
        embeddings=embeddings,
        info={**info, "train_texts": len(train), "dev_texts": len(dev), "vocab_size": len(vocab),
              "batch_size": batch_size, "train_positive": int(sum(train.labels))},
    )


# ----------------------------------------------------------------------------- serving graph


class SentimentClassifier(tf.Module):
    """The exported graph: raw texts in, label, label id and class probabilities out.

    With several models (an ensemble of independently trained members), the probabilities are
    the mean of theirs.
    """

    def __init__(self, models: keras.Model | Sequence[keras.Model], vocab_path: str,
                 class_names: Sequence[str] = CLASS_NAMES):
        super().__init__(name="sentiment_classifier")
        self.models = [models] if isinstance(models, keras.Model) else list(models)
        for model in self.models:
            if len(class_names) != model.output_shape[-1]:
                raise ValueError(f"Expected one class name per model output ({model.output_shape[-1]}). "
                                 f"Received: {len(class_names)} class names")
        self.vocab = file_table(vocab_path, default_id=1)
        self.class_names = tf.constant(list(class_names), dtype=tf.string)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve_text(self, text):
        ids = token_ids(text, self.vocab).to_tensor(default_value=0)
        members = []
        for model in self.models:
            with generic_rnn_kernels(model):
                members.append(model(ids, training=False))
        probabilities = ensemble_mean(members)
        label_ids = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {"label": tf.gather(self.class_names, label_ids), "label_id": label_ids,
                "probabilities": probabilities}


def make_classifier(models: keras.Model | Sequence[keras.Model], vocab: Vocabulary,
                    workdir: str | os.PathLike) -> SentimentClassifier:
    """A `SentimentClassifier` of one model or an ensemble, whose vocabulary file (written to `workdir`) becomes an export asset."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    vocab.save(workdir / "vocab.txt")
    return SentimentClassifier(models, str(workdir / "vocab.txt"))


def export_classifier(classifier: SentimentClassifier, *, base_dir: str | os.PathLike, name: str, card: dict) -> Path:
    """Exports the classifier as the next version of `base_dir/name`."""
    return export_module(TASK, classifier, card, base_dir=base_dir, name=name)


# ----------------------------------------------------------------------------- evaluation


def classify(serve, texts: Sequence[str], *, batch_size: int = 256) -> np.ndarray:
    """Class probabilities (texts, classes) through a `serving_default`-style function.

    Texts are batched by length so that little time goes into padding.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    probabilities = None
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        out = serve(text=tf.constant([texts[i] for i in chunk], dtype=tf.string))["probabilities"].numpy()
        if probabilities is None:
            probabilities = np.zeros((len(texts), out.shape[-1]), dtype=np.float32)
        probabilities[chunk] = out
    return probabilities


def sentiment_report(true: Sequence[int], predicted: Sequence[int], class_names: Sequence[str] = CLASS_NAMES) -> dict:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix (rows true, columns predicted)."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(class_names)))
    confusion = confusion_matrix(true, predicted, labels=labels)
    precision, recall, f1, support = precision_recall_fscore_support(true, predicted, labels=labels, zero_division=0)
    return {
        "accuracy": float(np.trace(confusion) / max(confusion.sum(), 1)),
        "errors": int(confusion.sum() - np.trace(confusion)),
        "texts": int(confusion.sum()),
        "classes": {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                    for name, p, r, f, s in zip(class_names, precision, recall, f1, support)},
        "confusion": {"labels": list(class_names), "matrix": confusion.tolist()},
    }


def score(serve, data: LabelledTexts, class_names: Sequence[str] = CLASS_NAMES) -> dict:
    """`sentiment_report` of a `serving_default`-style function on labelled texts."""
    predicted = classify(serve, data.texts).argmax(axis=-1)
    return sentiment_report(data.labels, predicted, class_names)


def format_report(report: dict) -> str:
    """A per-class table and the accuracy."""
    lines = [f"{'class':<12}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for name, row in report["classes"].items():
        lines.append(f"{name:<12}{row['precision']:>10.4f}{row['recall']:>10.4f}{row['f1']:>10.4f}{row['support']:>10}")
    lines.append(f"accuracy: {report['accuracy']:.4f} ({report['errors']} errors in {report['texts']} texts)")
    return "\n".join(lines)


def predict_texts(export: str | os.PathLike, texts: Sequence[str]) -> list[dict]:
    """Each text's label and class probabilities through the export's `serving_default`."""
    from zoo.serving import load

    export = resolve_export(export)
    classes = read_card(export)["classes"]
    out = load(export).signatures["serving_default"](text=tf.constant(list(texts), dtype=tf.string))
    return [{"text": text, "label": label.decode("utf-8"),
             "probabilities": {name: float(p) for name, p in zip(classes, probabilities)}}
            for text, label, probabilities in zip(texts, out["label"].numpy(), out["probabilities"].numpy())]


# ----------------------------------------------------------------------------- the task


class SentimentTask(Task):
    """Text classifiers: early stopping on dev accuracy, ensembles, the `SentimentClassifier` graph, a confusion matrix."""

    name = TASK
    noun = "a sentiment classifier"
    monitor, mode = MONITOR, "max"
    signatures = SIGNATURES
    options = {"freeze_embeddings": False}
    ensembles = True
    picture = "confusion_matrix.png"
    train_pictures = ("training_curves", "confusion_matrix")
    tuned_pictures = "dev confusion matrix of the best model: {workdir}/confusion_matrix.png"

    word_vectors = True

    def read_data(self, args, config):
        train, dev, info = read_sentiment_data(args.data, args.dev)
        data = prepare_sentiment_data(train, dev, batch_size=args.batch_size, seed=args.seed, min_count=args.min_count,
                                      max_vocab=args.max_vocab, info=info, **vector_options(args))
        return data, config, {}

    def sizes(self, data: SentimentData) -> dict:
        return {"vocab_size": len(data.vocab), "num_classes": len(CLASS_NAMES)}

    def compile(self, model, *, learning_rate, data=None, epochs=None, **options):
        return compile_sentiment(model, learning_rate=learning_rate)

    def check_options(self, data, *, tuning=False, **options):
        if tuning:
            check_no_vectors_for_search(data.embeddings)

    def training_card(self, models, runs, *, freeze_embeddings=False, **options):
        return {"parameters": sum(m.count_params() for m in models), "freeze_embeddings": freeze_embeddings}

    def serving_module(self, models, data, workdir, **options):
        return make_classifier(models, data.vocab, workdir)

    def serving_signatures(self, classifier):
        return {"serving_default": classifier.serve_text}

    def card(self, classifier):
        return {"classes": [c.decode("utf-8") for c in classifier.class_names.numpy()],
                "vocab_size": int(classifier.vocab.size())}

    def score(self, classifier, data, *, name, workdir, **options):
        """Dev scores; the dev confusion matrix goes into `workdir`."""
        report = score(classifier.serve_text, data.dev)
        self.draw(report, data, Path(workdir) / "confusion_matrix.png", title=f"{name} on {data.dev.source}")
        return report, {"metrics": {"dev_accuracy": round(report["accuracy"], 4)}}

    def example_inputs(self):
        return {"text": ["what a lovely day :)"]}

    def read_labelled(self, data_spec, card, **options):
        return read_sentiment(data_spec)

    def score_export(self, loaded, card, data):
        return score(loaded.signatures["serving_default"], data, card["classes"])

    format_report = staticmethod(format_report)

    def predict(self, export, inputs, **options):
        return predict_texts(export, inputs)

    def format_predictions(self, inputs, results, *, as_json=False):
        if as_json:
            return json.dumps(results, indent=2, ensure_ascii=False)
        return "\n".join(f"{r['label']:<10}({', '.join(f'{n} {p:.3f}' for n, p in r['probabilities'].items())})  "
                         f"{r['text']}" for r in results)


train_sentiment = functools.partial(train, TASK)
tune_sentiment = functools.partial(tune, TASK)
