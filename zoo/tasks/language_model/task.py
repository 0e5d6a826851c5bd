"""The language-model task: compiling with gradient clipping, validation loss, export with a sample, the hooks."""

from __future__ import annotations

import functools
import json
import os
import random
from pathlib import Path
from typing import Sequence

import keras
import numpy as np
import tensorflow as tf

from pipelines.errors import DataError
from zoo.errors import ZooError
from zoo.losses import MaskedSparseNLL
from zoo.metrics.perplexity import Perplexity
from zoo.models.language_model import TASK
from zoo.tasks.base import Task
from zoo.tasks.loops import export_module, load_export, train, tune
from zoo.training import quiet_dataset_warnings
from zoo.tasks.language_model.data import (
    DATA_OPTIONS,
    LanguageModelData,
    nonempty_lines,
    prepare_lm_data,
    read_corpus,
    read_lm_data,
)
from zoo.tasks.language_model.serving import LanguageModelGraph, sample_text


MONITOR = "val_loss"
CLIPPING = ("norm", "value")
TRAINING_OPTIONS = {"clip": "norm", "clip_threshold": 5.0, "top_k": 0}
SIGNATURES = {
    "serving_default": "the same as `generate`",
    "generate": "prompt: string or 1-D string batch, steps: int32, temperature: float32 (0 = greedy) -> text (the "
    "continuation only), token_ids (int32, -1 after an <EOS>), lengths; samples among the card's `top_k` most "
    "likely tokens (0 = all)",
    "generate_seeded": "prompt, steps, temperature, top_k: int32 (0 = all), seed: int32 -> the same outputs, "
    "reproducible for a given seed",
    "score": "texts: 1-D string batch -> log_likelihood (natural log, summed over predicted tokens), num_tokens, "
    "perplexity (exp of minus the mean log-likelihood per token); sentence models predict each text from <BOS> "
    "through <EOS>, window models predict every token after the first",
}


def compile_language_model(
    model: keras.Model,
    *,
    learning_rate=1e-3,
    clip: str | None = "norm",
    clip_threshold: float = 5.0,
) -> keras.Model:
    """Adam with gradient clipping, the per-token NLL averaged over time steps and batch, and perplexity.

    Args:
        model: a model whose output is (batch, time, vocab) log-probabilities.
        learning_rate: a float or a `keras.optimizers.schedules.LearningRateSchedule`.
        clip: "norm" rescales the gradients when their global norm (all variables together)
            exceeds `clip_threshold`; "value" clips each gradient element to +-`clip_threshold`;
            None does not clip.
        clip_threshold: the norm or value bound.
    """
    check_clipping(clip, clip_threshold)
    clipping = {"norm": {"global_clipnorm": clip_threshold}, "value": {"clipvalue": clip_threshold}}.get(clip, {})
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate, **clipping),
        loss=MaskedSparseNLL(),
        metrics=[Perplexity()],
    )
    return model


def check_clipping(clip: str | None, clip_threshold: float) -> None:
    """Raises `ValueError` for a `clip` that is not "norm", "value" or None, or a bound that is not > 0."""
    if clip is not None and clip not in CLIPPING:
        raise ValueError(f"Unknown gradient clipping. Received: clip={clip!r}; allowed: {[*CLIPPING, None]}")
    if clip is not None and not clip_threshold > 0:
        raise ValueError(f"clip_threshold must be > 0. Received: clip_threshold={clip_threshold}")


def export_language_model(graph: LanguageModelGraph, *, base_dir: str | os.PathLike, name: str, card: dict) -> Path:
    """Exports the graph as the next version of `base_dir/name`; only TF Serving's ops are allowed."""
    return export_module(TASK, graph, card, base_dir=base_dir, name=name)


def split_options(config: dict) -> tuple[dict, dict, dict]:
    """(model config, data options, training options) from one `--set` dict."""
    config = dict(config)
    data = {k: config.pop(k, v) for k, v in DATA_OPTIONS.items()}
    training = {k: config.pop(k, v) for k, v in TRAINING_OPTIONS.items()}
    return config, data, training


def check_finite(model: keras.Model, *, clip: str | None, clip_threshold: float) -> None:
    """Raises `ZooError` when a weight is NaN or infinite: training diverged and there is nothing to export."""
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        raise ZooError(f"training diverged (NaN loss) before any good epoch; nothing exported. Lower the learning "
                       f"rate or clip gradients (clip={clip!r}, clip_threshold={clip_threshold}).")


def validation_metrics(model: keras.Model, data: LanguageModelData) -> dict:
    """Nats per token and perplexity on the validation text."""
    with quiet_dataset_warnings():
        val_loss, _ = model.evaluate(data.dev_ds, verbose=0)
    return {"val_loss": round(float(val_loss), 4), "val_perplexity": round(float(np.exp(val_loss)), 3)}


def export_trained(model: keras.Model, data: LanguageModelData, *, name: str, export_dir: str | os.PathLike,
                   config: dict, training: dict, top_k: int = 0, seed: int = 0,
                   metrics: dict | None = None, extra_card: dict | None = None) -> tuple[Path, dict]:
    """Scores a trained model on validation, samples from it and exports it; returns (export path, report).

    `metrics`, when given, are recorded instead of the validation scores (for a model that was
    trained on its validation text too); `extra_card` adds model-card entries (e.g. `tuning`).
    """
    metrics = validation_metrics(model, data) if metrics is None else metrics
    graph = LanguageModelGraph(model, data.vocab, level=data.level, mode=data.mode, top_k=top_k)
    sample = sample_text(graph, top_k=top_k, seed=seed)
    card = {"model": name, "metrics": metrics, "data": data.info, "config": config, "training": training,
            **(extra_card or {})}
    return export_language_model(graph, base_dir=export_dir, name=name, card=card), {**metrics, "sample": sample}


def generate_texts(export, prompts: Sequence[str], *, steps: int = 200, temperature: float = 0.8, top_k: int = 0,
                   seed: int | None = None) -> list[str]:
    """Continuations of `prompts` through the export's `generate_seeded` (a random seed when None)."""
    from zoo.serving import load

    loaded = load(load_export(TASK, export)[0])
    seed = random.randrange(2**31) if seed is None else seed
    out = loaded.signatures["generate_seeded"](
        prompt=tf.constant(list(prompts), dtype=tf.string), steps=tf.constant(steps, tf.int32),
        temperature=tf.constant(temperature, tf.float32), top_k=tf.constant(top_k, tf.int32),
        seed=tf.constant(seed, tf.int32))
    return [t.decode("utf-8") for t in out["text"].numpy()]


def format_report(report: dict) -> str:
    unit = "character" if report["level"] == "char" else "word"
    return (f"{report['nats_per_token']:.4f} nats per {unit}, perplexity {report['perplexity']:.3f} "
            f"over {report['tokens']} predicted {unit}s in {report['texts']} texts")


class LanguageModelTask(Task):
    """Language models: validation loss, gradient clipping, an export that scores and generates."""

    name = TASK
    noun = "a language model"
    monitor, mode = MONITOR, "min"
    signatures = SIGNATURES
    options = dict(TRAINING_OPTIONS)
    set_options = (*DATA_OPTIONS, *TRAINING_OPTIONS)

    def read_data(self, args, config):
        """`--set` also carries the data options (level, mode, window) and training options (clip, ...)."""
        config, data_options, training = split_options(config)
        train, val, info = read_lm_data(args.data, args.dev)
        data = prepare_lm_data(train, val, batch_size=args.batch_size, min_count=args.min_count,
                               max_vocab=args.max_vocab, seed=args.seed, info=info, **data_options)
        return data, config, training

    def sizes(self, data: LanguageModelData) -> dict:
        return {"vocab_size": len(data.vocab)}

    def compile(self, model, *, learning_rate, data=None, epochs=None, clip="norm", clip_threshold=5.0, **options):
        """`learning_rate` is a float or a `keras.optimizers.schedules.LearningRateSchedule`."""
        return compile_language_model(model, learning_rate=learning_rate, clip=clip, clip_threshold=clip_threshold)

    def check_options(self, data, *, tuning=False, clip="norm", clip_threshold=5.0, **options):
        try:
            check_clipping(clip, clip_threshold)
        except ValueError as error:  # a bad option from the command line: one line, no traceback
            raise ZooError(str(error)) from None

    def callbacks(self, data, workdir, model=None, **options):
        return [] if model is not None else [keras.callbacks.TerminateOnNaN()]

    def check_trained(self, model, *, clip="norm", clip_threshold=5.0, **options):
        check_finite(model, clip=clip, clip_threshold=clip_threshold)

    def training_card(self, models, runs, *, clip="norm", clip_threshold=5.0, **options):
        return {"clip": clip, "clip_threshold": clip_threshold}

    def tuning_card(self, result, *, seed=0, clip="norm", clip_threshold=5.0, **options):
        return {"training": {"learning_rate": result.hyperparameters["learning_rate"], "clip": clip,
                             "clip_threshold": clip_threshold, "seed": seed}}

    def serving_module(self, models, data, workdir, *, top_k=0, **options):
        return LanguageModelGraph(models[0], data.vocab, level=data.level, mode=data.mode, top_k=top_k)

    def serving_signatures(self, graph):
        return {"serving_default": graph.generate, "generate": graph.generate,
                "generate_seeded": graph.generate_seeded, "score": graph.score}

    def traced_models(self, graph):
        return [graph.model]  # `score` runs the full layers, whose cuDNN kernels cannot be served on CPU

    def card(self, graph):
        return {"level": graph.level, "mode": "sentences" if graph.sentences else "windows", "top_k": graph.top_k,
                "vocab_size": int(graph.token_strings.shape[0])}

    def score(self, graph, data, *, name, workdir, seed=0, top_k=0, **options):
        metrics = validation_metrics(graph.model, data)
        return {**metrics, "sample": sample_text(graph, top_k=top_k, seed=seed)}, {"metrics": metrics}

    def example_inputs(self):
        return {"prompt": ["The "], "steps": 20, "temperature": 0.0}

    def read_labelled(self, data_spec, card, *, chunk_lines=20, **options):
        """Sentence models score each non-empty line; window models score chunks of `chunk_lines` lines,
        each chunk's first token serving as context only."""
        text = read_corpus(data_spec)
        if card["mode"] == "sentences":
            return data_spec, nonempty_lines(text)
        lines = text.split("\n")
        return data_spec, ["\n".join(lines[i:i + chunk_lines]) + "\n" for i in range(0, len(lines), chunk_lines)]

    def score_export(self, loaded, card, data):
        data_spec, texts = data
        total, tokens = 0.0, 0
        for start in range(0, len(texts), 64):
            out = loaded.signatures["score"](texts=tf.constant(texts[start:start + 64], dtype=tf.string))
            total += float(out["log_likelihood"].numpy().sum())
            tokens += int(out["num_tokens"].numpy().sum())
        if tokens == 0:
            raise DataError(data_spec, None, "no tokens to score")
        return {"nats_per_token": total / -tokens, "perplexity": float(np.exp(-total / tokens)), "tokens": tokens,
                "texts": len(texts), "level": card["level"]}

    format_report = staticmethod(format_report)

    def format_result(self, report):
        return (f"validation: {report['val_loss']:.4f} nats per token, perplexity {report['val_perplexity']:.3f}\n"
                f"sample: {report['sample']!r}")

    def predict(self, export, inputs, *, steps=200, temperature=0.8, top_k=0, seed=None, **options):
        texts = generate_texts(export, inputs, steps=steps, temperature=temperature, top_k=top_k, seed=seed)
        return [{"prompt": p, "continuation": t} for p, t in zip(inputs, texts)]

    def format_predictions(self, inputs, results, *, as_json=False):
        if as_json:
            return json.dumps(results, indent=2)
        return "\n".join(r["prompt"] + r["continuation"] for r in results)


train_language_model = functools.partial(train, TASK)


tune_language_model = functools.partial(tune, TASK)
