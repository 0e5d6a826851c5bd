"""Siamese duplicate detection: compile, train with the triplet loss, calibrate τ, search, export, evaluate.

Two texts are duplicates when the cosine similarity of their encodings reaches a threshold τ.
τ is calibrated on a labelled dev set (the value that maximises accuracy or F1), written into
the model card and used by the exported `serving_default` signature. The exported graph takes
raw strings and runs the same tokenization and id lookup as training (`pipelines.pairs.text_ids`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from pipelines.pairs import labelled, read_pairs
from zoo.errors import ZooError
from zoo.export import read_card, resolve_export
from zoo.losses import TripletLoss
from zoo.pretrained import check_no_vectors_for_search, vector_options
from zoo.metrics.threshold import OBJECTIVES, calibrate_threshold, similarity_report
from zoo.tasks.base import Task
from zoo.tasks.loops import train, tune
from zoo.tasks.siamese.data import (TASK, PairIndex, SiameseData, default_text_ids, prepare_siamese_data,
                                    read_siamese_data)
from zoo.tasks.siamese.search import embed_texts, encode_ids, encoder_function
from zoo.tasks.siamese.serving import make_server

MONITOR = "val_auc"
SIGNATURES = {
    "serving_default": "text_a, text_b: 1-D string batches of the same size -> similarity (float32 cosine of the "
    "two encodings, 0 when a text is empty), is_duplicate (bool, similarity >= the calibrated tau of the card)",
    "embed": "text: 1-D string batch -> embedding (float32 unit vectors, the zero vector for an empty text), "
    "for indexing; the dot product of two embeddings is their similarity",
}


def compile_siamese(model: keras.Model, *, learning_rate: float = 1e-3, margin: float = 0.25,
                    negatives: Sequence[str] = ("mean", "closest"), symmetric: bool = False,
                    clipnorm: float = 5.0) -> keras.Model:
    """Adam with gradient clipping and the triplet loss on the stacked embeddings."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm),
                  loss=TripletLoss(margin=margin, negatives=negatives, symmetric=symmetric))
    return model


def plot_report_histograms(scores, labels, tau: float, path, *, title: str = "") -> str:
    from zoo.plots import plot_similarity_histograms

    scores, labels = np.asarray(scores), np.asarray(labels)
    return plot_similarity_histograms(scores[labels == 1], scores[labels == 0], tau, path, title=title)


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


def dev_metrics(report: dict) -> dict:
    """The figures worth a model card: AUC, and accuracy/P/R/F1 at the calibrated τ and at τ = 0.7."""
    calibrated, course = report["calibrated"], report["at_course_tau"]
    metrics = {f"dev_{k}": round(calibrated[k], 4) for k in ("roc_auc", "accuracy", "precision", "recall", "f1", "tau")}
    metrics.update({f"dev_{k}_at_0.7": round(course[k], 4) for k in ("accuracy", "f1")})
    return metrics


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


# ----------------------------------------------------------------------------- the task


@dataclasses.dataclass
class LabelledPairs:
    """Pairs to evaluate on, and their similarities once scored (for the histograms)."""

    index: PairIndex
    scores: np.ndarray | None = None


class SiameseTask(Task):
    """Siamese encoders: triplet loss, early stopping on dev ROC AUC, ensembles, τ calibrated on dev."""

    name = TASK
    noun = "a Siamese duplicate detector"
    monitor, mode = MONITOR, "max"
    signatures = SIGNATURES
    options = {"margin": 0.25, "negatives": ("mean", "closest"), "symmetric": False, "objective": "accuracy",
               "freeze_embeddings": False, "tau": None}
    ensembles = True
    word_vectors = True
    refits = True  # with the first export's τ (`refit_options`): dev can no longer calibrate it
    picture = "similarity_histograms.png"
    train_pictures = ("training_curves", "similarity_histograms")
    tuned_pictures = "dev similarity histograms of the best model: {workdir}/similarity_histograms.png"

    def read_data(self, args, config, *, with_dev=False):
        """Without `--dev`, 10% of `--data` is held out (no question on both sides); `--extra` adds duplicates."""
        train, dev, info = read_siamese_data([args.data], args.dev, extra_specs=args.extra or (), dev_fraction=0.1,
                                             seed=args.seed)
        if with_dev:  # dev's non-duplicates join as hard negatives, as the training pairs' do
            train, info = train + dev, {**info, "train": [*info["train"], f"dev: {info['dev']}"]}
        data = prepare_siamese_data(train, dev, text_ids=default_text_ids(args.name), batch_size=args.batch_size,
                                    seed=args.seed, min_count=args.min_count, max_vocab=args.max_vocab, info=info,
                                    **vector_options(args))
        return data, config, {}

    def refit_options(self, card):
        return {"tau": card["tau"]}

    def sizes(self, data: SiameseData) -> dict:
        return {"vocab_size": data.num_ids}

    def compile(self, model, *, learning_rate, data=None, epochs=None, margin=0.25, negatives=("mean", "closest"),
                symmetric=False, **options):
        return compile_siamese(model, learning_rate=learning_rate, margin=margin, negatives=negatives,
                               symmetric=symmetric)

    def check_options(self, data, *, tuning=False, objective="accuracy", tau=None, **options):
        if objective not in OBJECTIVES:
            raise ZooError(f"Unknown threshold objective. Received: objective={objective!r}; allowed: {list(OBJECTIVES)}")
        if tau is not None and not -1.0 <= tau <= 1.0:
            raise ZooError(f"tau is a cosine similarity, in [-1, 1]. Received: tau={tau}")
        if tuning:
            check_no_vectors_for_search(data.embeddings)

    def callbacks(self, data, workdir, model=None, **options):
        dev = [DevPairMetrics(data.dev_index, data.dev_ids)]
        return dev if model is None else [*dev, CollapseWarning(model.loss.collapsed_value)]

    def training_card(self, models, runs, *, margin=0.25, negatives=("mean", "closest"), symmetric=False,
                      freeze_embeddings=False, **options):
        return {"parameters": sum(m.count_params() for m in models), "margin": margin, "negatives": list(negatives),
                "symmetric": symmetric, "freeze_embeddings": freeze_embeddings}

    def tuning_card(self, result, *, margin=0.25, negatives=("mean", "closest"), symmetric=False, **options):
        return {"training": {"margin": margin, "negatives": list(negatives), "symmetric": symmetric}}

    def serving_module(self, models, data, workdir, **options):
        return make_server(models, data.vocab, data.text_ids, workdir)

    def serving_signatures(self, server):
        return {"serving_default": server.serve_pairs, "embed": server.serve_embed}

    def card(self, server):
        return {"tau": float(server.tau.numpy()), "vocab_size": int(server.vocab.size()),
                "text_ids": dataclasses.asdict(server.text_ids_config), "embedding_dim": server.embedding_dim,
                "members": len(server.encoders)}

    def score(self, server, data, *, name, workdir, objective="accuracy", tau=None, **options):
        """Calibrates τ of the encoders (one, or an ensemble) on dev, sets it in the serving graph and draws
        the dev similarity histograms into `workdir`. A given `tau` (a refit's: the first export's) is set
        instead, and dev is only reported at it."""
        scores = data.dev_index.similarities(embed_texts(server.embed, data.dev_index.texts))
        report = similarity_report(scores, data.dev_index.labels, objective=objective, tau=tau)
        chosen = report["calibrated"]["tau"] if tau is None else float(tau)
        server.tau.assign(chosen)
        plot_report_histograms(scores, data.dev_index.labels, chosen, Path(workdir) / "similarity_histograms.png",
                               title=f"{name} on dev")
        threshold = ({"objective": objective, "calibrated_on": "dev"} if tau is None
                     else {"given": float(tau), "calibrated_on": "dev, by the first export (refit)"})
        return report, {"threshold": threshold, "metrics": dev_metrics(report)}

    def example_inputs(self):
        return {"text_a": ["How do I learn Python ?"], "text_b": ["What is the best way to learn Python ?"]}

    def read_labelled(self, data_spec, card, **options):
        return LabelledPairs(PairIndex.of(labelled(read_pairs(data_spec))))

    def score_export(self, loaded, card, data):
        def embed(texts):
            return loaded.signatures["embed"](text=tf.constant(list(texts), tf.string, shape=[len(texts)]))["embedding"]

        data.scores = data.index.similarities(embed_texts(embed, data.index.texts))
        return similarity_report(data.scores, data.index.labels, tau=float(card["tau"]))

    def draw(self, report, data, path, *, title):
        plot_report_histograms(data.scores, data.index.labels, report["at_tau"]["tau"], path, title=title)

    format_report = staticmethod(format_report)

    def export_note(self, report):
        return f" (tau {report.get('at_tau', report['calibrated'])['tau']:.3f} in its model card)"

    def predict(self, export, inputs, **options):
        if len(inputs) % 2:
            raise ZooError(f"Siamese models compare pairs: give TEXT_A TEXT_B (an even number of texts). "
                           f"Received: {len(inputs)} texts")
        return predict_pairs(export, inputs[0::2], inputs[1::2])

    def format_predictions(self, inputs, results, *, as_json=False):
        if as_json:
            return json.dumps(results, indent=2, ensure_ascii=False)
        lines = []
        for r in results:
            verdict = "duplicate" if r["is_duplicate"] else "different"
            note = f"  ({r['note']})" if "note" in r else ""
            lines.append(f"{verdict:<10}similarity {r['similarity']:.3f} (tau {r['tau']:.3f}){note}\n"
                         f"  a: {r['text_a']}\n  b: {r['text_b']}")
        return "\n".join(lines)


train_siamese = functools.partial(train, TASK)
tune_siamese = functools.partial(tune, TASK)
