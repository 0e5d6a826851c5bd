"""The NER task: compiling taggers, dev entity F1 during training, seqeval reports, the `NerTask` hooks."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import warnings
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from pipelines.errors import DataError
from pipelines.readers import read_tagged
from zoo.errors import ZooError
from zoo.losses import MaskedSparseNLL
from zoo.metrics import MaskedAccuracy
from zoo.pretrained import check_no_vectors_for_search, vector_options
from zoo.tasks.base import Task
from zoo.tasks.loops import train, tune
from zoo.tasks.ner.data import NerData, TASK, prepare_ner_data, read_ner_data
from zoo.tasks.ner.serving import crf_layer, make_tagger, tag_token_lists


MONITOR = "val_f1"
SIGNATURES = {
    "serving_default": "text: 1-D string batch of raw sentences -> tokens, tags (IOB2; 2-D string, '' past "
    "each sentence's end), scores (probability of each chosen tag), lengths, and entity spans: span_types, "
    "span_starts, span_ends (inclusive token indices), span_texts, num_spans",
    "tag_tokens": "tokens: 2-D string batch of pre-tokenized sentences ('' = padding) -> the same outputs",
}


def compile_tagger(
    model: keras.Model, *, learning_rate: float = 1e-3, clipnorm: float = 5.0, decay_steps: int | None = None,
    decay_rate: float = 0.05, ema: float = 0.0, epoch_steps: int | None = None, momentum: float = 0.0,
) -> keras.Model:
    """Adam (or, with `momentum` > 0, SGD with that momentum) with gradient clipping; CRF likelihood or
    padding-aware NLL; token accuracy.

    With `decay_steps` the learning rate decays as lr / (1 + decay_rate * step / decay_steps)
    (pass the steps of one epoch for the per-epoch schedule of Lample et al. and Ma & Hovy).
    With `ema` > 0 the optimizer keeps an exponential moving average of the weights (that
    momentum, Keras's `use_ema`) and writes it into the model every `epoch_steps` steps, so each
    epoch's dev score, checkpoint and export are of the averaged weights, and training goes on
    from them.
    """
    if decay_steps:
        learning_rate = keras.optimizers.schedules.InverseTimeDecay(learning_rate, decay_steps, decay_rate)
    if ema and not epoch_steps:
        raise ValueError(f"ema needs epoch_steps (how often the average replaces the weights). Received: ema={ema}")
    crf = crf_layer(model)
    averaging = {"use_ema": ema > 0, "ema_momentum": ema or 0.99,
                 "ema_overwrite_frequency": epoch_steps if ema else None}
    optimizer = (keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum, clipnorm=clipnorm, **averaging)
                 if momentum else keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm, **averaging))
    model.compile(
        optimizer=optimizer,
        loss=crf.loss if crf else MaskedSparseNLL(),
        metrics=[MaskedAccuracy()],
    )
    return model


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


def format_report(report: dict) -> str:
    """A per-type table in the shape of seqeval's and conlleval's reports."""
    lines = [f"{'type':<14}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}"]
    for name, row in report["entities"].items():
        lines.append(f"{name:<14}{row['precision']:>10.4f}{row['recall']:>10.4f}{row['f1-score']:>10.4f}{row['support']:>10}")
    lines.append(f"token accuracy (padding masked): {report['token_accuracy']:.4f} over {report['tokens']} tokens")
    lines.append(f"entity F1: {report['f1']:.4f} ({report['f1_scheme']})")
    return "\n".join(lines)


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


class NerTask(Task):
    """Taggers: early stopping on dev entity F1, the `Tagger` graph, seqeval reports."""

    name = TASK
    noun = "an NER tagger"
    monitor, mode = MONITOR, "max"
    signatures = SIGNATURES
    options = {"lr_decay": 0.0, "clipnorm": 5.0, "ema": 0.0, "momentum": 0.0, "freeze_embeddings": False}
    picture = "confusion_matrix.png"

    word_vectors = True
    refits = True
    ensembles = True  # members' emission scores and CRF parameters averaged in one export (`Tagger`)

    def read_data(self, args, config, *, with_dev=False):
        train, dev, info = read_ner_data(args.data, args.dev, scheme=args.data_scheme)
        if with_dev:
            train, info = train + dev, {**info, "train": f"{info['train']} + {info['dev']}"}
        data = prepare_ner_data(train, dev, model=args.name, scheme=args.tag_scheme, batch_size=args.batch_size,
                                seed=args.seed, min_count=args.min_count, max_vocab=args.max_vocab,
                                max_length=args.max_length, info=info, singleton_unk=args.singleton_unk,
                                word_dropout=args.word_dropout, **vector_options(args))
        return data, config, {}

    def sizes(self, data: NerData) -> dict:
        return data.sizes()

    def compile(self, model, *, learning_rate, data=None, epochs=None, lr_decay=0.0, clipnorm=5.0, ema=0.0,
                momentum=0.0, **options):
        """`lr_decay` > 0 divides the learning rate by (1 + lr_decay * epoch), stepwise; `ema` > 0 averages
        the weights; `momentum` > 0 trains with SGD instead of Adam (see `compile_tagger`)."""
        steps = sum(1 for _ in data.train_ds) if lr_decay or ema else None
        if ema and ema ** steps > 0.05:
            warnings.warn(f"ema={ema} averages over about {1 / (1 - ema):.0f} steps, and an epoch has {steps}: the "
                          f"average written at each epoch's end still leans on weights from before it "
                          f"({ema ** steps:.0%} of its weight); use a smaller momentum, e.g. "
                          f"{max(0.0, 1 - 3 / steps):.2f}")
        return compile_tagger(model, learning_rate=learning_rate, clipnorm=clipnorm, decay_steps=steps if lr_decay else None,
                              decay_rate=lr_decay, ema=ema, epoch_steps=steps, momentum=momentum)

    def callbacks(self, data, workdir, model=None, **options):
        return [DevF1(data, workdir)]

    def check_options(self, data, *, tuning=False, ema=0.0, momentum=0.0, **options):
        if not 0.0 <= ema < 1.0:
            raise ZooError(f"ema is the moving average's momentum, in [0, 1) (0: off). Received: ema={ema}")
        if not 0.0 <= momentum < 1.0:
            raise ZooError(f"momentum is SGD's, in [0, 1) (0: Adam). Received: momentum={momentum}")
        if tuning:
            check_no_vectors_for_search(data.embeddings)

    def training_card(self, models, runs, *, lr_decay=0.0, clipnorm=5.0, ema=0.0, momentum=0.0, freeze_embeddings=False,
                      **options):
        return {"lr_decay": lr_decay, "clipnorm": clipnorm, "ema": ema, "freeze_embeddings": freeze_embeddings,
                "optimizer": f"sgd (momentum {momentum})" if momentum else "adam",
                "parameters": sum(m.count_params() for m in models)}

    def serving_module(self, models, data, workdir, **options):
        return make_tagger(models, data, workdir, snapshot=True)

    def serving_signatures(self, tagger):
        return {"serving_default": tagger.serve_text, "tag_tokens": tagger.serve_tokens}

    def card(self, tagger):
        tags = sorted({t.decode("utf-8") for t in tagger.tag_names.numpy()}, key=lambda t: (t != "O", t[2:], t[:2]))
        return {"num_tags": len(tags), "tags": tags, "features": dataclasses.asdict(tagger.features.spec),
                "members": len(tagger.models)}

    def score(self, tagger, data, *, name, workdir, **options):
        predicted = tag_token_lists(tagger.serve_tokens, [s.tokens for s in data.dev])
        report = ner_report([s.tags for s in data.dev], predicted)
        metrics = {f"dev_{k}": v for k, v in headline(report).items()}
        return report, {"metrics": metrics, "tag_scheme": data.scheme, **data.sizes()}

    def example_inputs(self):
        return {"text": ["Sharon flew to Miami last Friday."]}

    def read_labelled(self, data_spec, card, *, data_scheme=None, **options):
        """`data_scheme`: the file's tag scheme when not its format's own (`zoo evaluate --data-scheme`)."""
        sentences = read_tagged(data_spec, scheme=data_scheme)
        unknown = sorted({t for s in sentences for t in s.tags} - set(card["tags"]))
        if unknown:
            raise DataError(data_spec, None, f"uses tags the model does not know: {unknown}; model tags: {card['tags']}")
        return sentences

    def score_export(self, loaded, card, sentences):
        predicted = tag_token_lists(loaded.signatures["tag_tokens"], [s.tokens for s in sentences])
        return ner_report([s.tags for s in sentences], predicted)

    format_report = staticmethod(format_report)

    def predict(self, export, inputs, **options):
        return predict_texts(export, inputs)

    def format_predictions(self, inputs, results, *, as_json=False):
        if as_json:
            return json.dumps([[{"token": t, "tag": g, "score": round(s, 4)} for t, g, s in r] for r in results],
                              indent=2)
        lines = []
        for text, result in zip(inputs, results):
            lines.append(text)
            lines += [f"  {token:<20}{tag:<10}{score:.3f}" for token, tag, score in result]
        return "\n".join(lines)


train_ner = functools.partial(train, TASK)


tune_ner = functools.partial(tune, TASK)
