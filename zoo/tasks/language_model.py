"""Language modelling: compile, data from a text file, train, export with `score` and `generate`, evaluate.

The exported graph tokenizes with the training pipeline's ops (`pipelines.language_model`),
scores texts with the full model, and generates with a step-by-step decoder rebuilt from the
trained layers' cells: the recurrent state is carried from step to step inside a `tf.while_loop`,
so generating n tokens costs n cell steps, not n full passes.
"""

from __future__ import annotations

import dataclasses
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
from pipelines.ngram import split_text
from pipelines.language_model import (
    BOS,
    EOS,
    LEVELS,
    check_level,
    encode,
    lm_vocabulary,
    read_text,
    sentence_dataset,
    split_tokens,
    text_tokens,
    window_dataset,
)
from pipelines.readers.spec import parse_spec
from pipelines.vocab import PAD, UNK, Vocabulary
from zoo.errors import ZooError
from zoo.losses import MaskedSparseNLL, masked_token_nll
from zoo.metrics.perplexity import Perplexity
from zoo.models.language_model import HEAD_NAME, STACK_NAME, TASK
from zoo.registry import build, get_spec
from zoo.tasks.base import Task, export_module, load_export, train, tune
from zoo.training import quiet_dataset_warnings

MONITOR = "val_loss"
MODES = ("windows", "sentences")
CLIPPING = ("norm", "value")
# Keys of `zoo train ... --set KEY=VALUE` that shape the data or the training, not the model.
DATA_OPTIONS = {"level": "char", "mode": "windows", "window": 100}
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


# ----------------------------------------------------------------------------- data


@dataclasses.dataclass
class LanguageModelData:
    """What a language model trains from: the vocabulary, how text was cut, and tf.data pipelines."""

    vocab: Vocabulary
    level: str
    mode: str
    window: int
    train_ds: tf.data.Dataset
    dev_ds: tf.data.Dataset
    info: dict


def read_corpus(spec: str) -> str:
    """The text named by a `text:PATH` data spec (plain or gzipped UTF-8)."""
    return read_text(parse_spec(spec, ("text",), noun="a language-model data spec", format_noun=None)[2])


def split_corpus(text: str, *, held_out: float = 0.1) -> tuple[str, str]:
    """The first `1 - held_out` of the characters and the rest (the usual char-LM split)."""
    if not 0 < held_out < 1:
        raise ValueError(f"held_out must be in (0, 1). Received: held_out={held_out}")
    train, val = split_text(text, 1 - held_out)
    if min(len(train), len(val)) < 2:
        raise DataError(None, None, f"a text of {len(text)} characters is too short to hold out {held_out:.0%}")
    return train, val


def read_lm_data(train_spec: str, dev_spec: str | None = None, *, held_out: float = 0.1) -> tuple[str, str, dict]:
    """(train text, validation text, info) from `text:PATH` specs; without a dev file the last
    `held_out` of the training text's characters are held out."""
    text = read_corpus(train_spec)
    if dev_spec:
        return text, read_corpus(dev_spec), {"train": train_spec, "dev": dev_spec}
    train, val = split_corpus(text, held_out=held_out)
    return train, val, {"train": train_spec, "dev": f"last {held_out:.0%} of the characters of train"}


def _sentences(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


def prepare_lm_data(
    train_text: str,
    val_text: str,
    *,
    level: str = "char",
    mode: str = "windows",
    window: int = 100,
    batch_size: int = 64,
    min_count: int = 1,
    max_vocab: int | None = None,
    seed: int = 0,
    info: dict | None = None,
) -> LanguageModelData:
    """A vocabulary from the training text and pipelines for both texts.

    `mode="windows"` cuts each text into windows of `window` tokens (validation windows overlap
    by half a window that is context only, so every token is scored with history);
    `mode="sentences"` makes one padded example per non-empty line.
    """
    check_level(level)
    if mode not in MODES:
        raise ValueError(f"Unknown language-model data mode. Received: mode={mode!r}; allowed: {list(MODES)}")
    if mode == "windows":
        train_tokens, val_tokens = text_tokens([train_text, val_text], level)
        vocab = lm_vocabulary([train_tokens], min_count=min_count, max_size=max_vocab)
        train_ds = window_dataset(encode(train_tokens, vocab), window=window, batch_size=batch_size, seed=seed)
        dev_ds = window_dataset(encode(val_tokens, vocab), window=window, batch_size=batch_size,
                                context=window // 2, shuffle=False)
        counts = {"train_tokens": len(train_tokens), "val_tokens": len(val_tokens)}
    else:
        train_lines, val_lines = _sentences(train_text), _sentences(val_text)
        train_tokens, val_tokens = text_tokens(train_lines, level), text_tokens(val_lines, level)
        vocab = lm_vocabulary(train_tokens, min_count=min_count, max_size=max_vocab)
        train_ds = sentence_dataset([encode(t, vocab) for t in train_tokens], vocab, batch_size=batch_size, seed=seed)
        dev_ds = sentence_dataset([encode(t, vocab) for t in val_tokens], vocab, batch_size=batch_size, shuffle=False)
        counts = {"train_sentences": len(train_lines), "val_sentences": len(val_lines)}
    return LanguageModelData(
        vocab=vocab, level=level, mode=mode, window=window, train_ds=train_ds, dev_ds=dev_ds,
        info={**(info or {}), **counts, "level": level, "mode": mode, "window": window, "vocab_size": len(vocab),
              "batch_size": batch_size},
    )


# ----------------------------------------------------------------------------- serving graph


class LanguageModelGraph(tf.Module):
    """The exported graph: `score` texts with the full model, `generate` step by step from the cells."""

    def __init__(self, model: keras.Model, vocab: Vocabulary, *, level: str, mode: str, top_k: int = 0):
        super().__init__(name="language_model")
        self.model = model
        self.level = check_level(level)
        self.sentences = mode == "sentences"
        self.top_k = int(top_k)
        self.table = vocab.table()
        self.token_strings = tf.constant(vocab.tokens, dtype=tf.string)
        self.bos_id, self.eos_id = vocab.index[BOS], vocab.index[EOS]
        never = {PAD, UNK, BOS} | (set() if self.sentences else {EOS})  # EOS ends sentences; windows never see it
        self.banned = tf.constant([t in never for t in vocab.tokens])
        self.rnn_names = [layer.name for layer in model.layers if isinstance(layer, keras.layers.RNN)]
        self.residual = [f"{STACK_NAME}_residual_{i}" in {layer.name for layer in model.layers}
                         for i in range(len(self.rnn_names))]

    # -- pieces

    def _ids(self, texts) -> tf.RaggedTensor:
        tokens = split_tokens(texts, self.level)
        return tf.cast(self.table.lookup(tokens), tf.int32)

    def _step(self, token_ids, states):
        """One decoding step: the next-token log-probabilities after `token_ids` (batch,), and new states."""
        x = tf.gather(self.model.get_layer("token_embedding").embeddings, token_ids)
        new_states = []
        for name, residual, state in zip(self.rnn_names, self.residual, states):
            y, state = self.model.get_layer(name).cell(x, state, training=False)
            new_states.append(list(state))
            x = x + y if residual else y
        logits = self.model.get_layer(f"{HEAD_NAME}_dense")(x)
        return tf.nn.log_softmax(logits), new_states

    def _initial_states(self, batch):
        return [list(self.model.get_layer(name).cell.get_initial_state(batch)) for name in self.rnn_names]

    def _sample(self, log_probs, temperature, top_k, seed, step):
        """Greedy when `temperature <= 0`, else a draw from softmax(log_probs / T) over the `top_k` best."""
        log_probs = tf.where(self.banned[None, :], -np.inf, log_probs)
        greedy = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        vocab_size = tf.shape(log_probs)[1]
        k = tf.where(tf.logical_and(top_k > 0, top_k < vocab_size), top_k, vocab_size)
        kth_best = tf.math.top_k(log_probs, k).values[:, -1:]
        logits = tf.where(log_probs < kth_best, -np.inf, log_probs) / tf.maximum(temperature, 1e-6)
        if seed is None:
            drawn = tf.random.categorical(logits, 1, dtype=tf.int32)[:, 0]
        else:
            drawn = tf.random.stateless_categorical(logits, 1, seed=tf.stack([seed, step]), dtype=tf.int32)[:, 0]
        return tf.where(temperature > 0, drawn, greedy)

    def _generate(self, prompt, steps, temperature, top_k, seed=None) -> dict:
        prompt = tf.reshape(prompt, [-1])
        steps = tf.maximum(steps, 0)
        ids = self._ids(prompt)
        # Sentence models start from <BOS>; window models only when there is no prompt at all.
        starts = tf.logical_or(self.sentences, tf.equal(ids.row_lengths(), 0))
        bos = tf.RaggedTensor.from_row_lengths(
            tf.fill([tf.reduce_sum(tf.cast(starts, tf.int32))], self.bos_id), tf.cast(starts, tf.int64))
        ids = tf.concat([bos, ids], axis=1)
        lengths = tf.cast(ids.row_lengths(), tf.int32)
        batch = tf.shape(prompt)[0]
        width = tf.reduce_max(lengths) + steps
        tokens = ids.to_tensor(default_value=0, shape=tf.stack([batch, width]))
        states = self._initial_states(batch)
        for t in tf.range(width - 1):
            log_probs, states = self._step(tokens[:, t], states)
            chosen = tf.where(t + 1 < lengths, tokens[:, t + 1], self._sample(log_probs, temperature, top_k, seed, t))
            tokens = tf.where(tf.equal(tf.range(width), t + 1)[None, :], chosen[:, None], tokens)
        generated = tf.gather(tokens, lengths[:, None] + tf.range(steps)[None, :], batch_dims=1)
        before_eos = tf.equal(tf.cumsum(tf.cast(tf.equal(generated, self.eos_id), tf.int32), axis=1), 0)
        out_lengths = tf.reduce_sum(tf.cast(before_eos, tf.int32), axis=1)
        kept = tf.RaggedTensor.from_tensor(generated, lengths=out_lengths)
        text = tf.strings.reduce_join(tf.gather(self.token_strings, kept), axis=1, separator=LEVELS[self.level])
        return {"text": text, "token_ids": tf.where(before_eos, generated, -1), "lengths": out_lengths}

    # -- signatures

    @tf.function(input_signature=[tf.TensorSpec(None, tf.string, name="prompt"),
                                  tf.TensorSpec([], tf.int32, name="steps"),
                                  tf.TensorSpec([], tf.float32, name="temperature")])
    def generate(self, prompt, steps, temperature):
        return self._generate(prompt, steps, temperature, tf.constant(self.top_k))

    @tf.function(input_signature=[tf.TensorSpec(None, tf.string, name="prompt"),
                                  tf.TensorSpec([], tf.int32, name="steps"),
                                  tf.TensorSpec([], tf.float32, name="temperature"),
                                  tf.TensorSpec([], tf.int32, name="top_k"),
                                  tf.TensorSpec([], tf.int32, name="seed")])
    def generate_seeded(self, prompt, steps, temperature, top_k, seed):
        return self._generate(prompt, steps, temperature, top_k, seed)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
    def score(self, texts):
        ids = self._ids(texts)
        if self.sentences:
            batch = tf.shape(texts)[0]
            ids = tf.concat([tf.fill([batch, 1], self.bos_id), ids, tf.fill([batch, 1], self.eos_id)], axis=1)
        inputs, targets = ids[:, :-1], ids[:, 1:]
        shape = tf.stack([tf.cast(tf.shape(texts)[0], tf.int64), tf.maximum(tf.reduce_max(targets.row_lengths()), 1)])
        log_probs = self.model(inputs.to_tensor(default_value=0, shape=shape), training=False)
        nll, mask = masked_token_nll(targets.to_tensor(default_value=-1, shape=shape), log_probs)
        log_likelihood = -tf.reduce_sum(nll, axis=1)
        num_tokens = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        perplexity = tf.exp(-log_likelihood / tf.cast(tf.maximum(num_tokens, 1), tf.float32))
        return {"log_likelihood": log_likelihood, "num_tokens": num_tokens, "perplexity": perplexity}


def export_language_model(graph: LanguageModelGraph, *, base_dir: str | os.PathLike, name: str, card: dict) -> Path:
    """Exports the graph as the next version of `base_dir/name`; only TF Serving's ops are allowed."""
    return export_module(TASK, graph, card, base_dir=base_dir, name=name)


# ----------------------------------------------------------------------------- training


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


def sample_text(graph: LanguageModelGraph, *, top_k: int = 0, seed: int = 0) -> str:
    """200 tokens generated from nothing at temperature 0.8, for the report."""
    return graph.generate_seeded(tf.constant([""]), 200, 0.8, top_k, seed)["text"].numpy()[0].decode("utf-8")


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


# ----------------------------------------------------------------------------- using an export


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


# ----------------------------------------------------------------------------- the task


class LanguageModelTask(Task):
    """Language models: validation loss, gradient clipping, an export that scores and generates."""

    name = TASK
    noun = "a language model"
    monitor, mode = MONITOR, "min"
    signatures = SIGNATURES
    options = dict(TRAINING_OPTIONS)

    def read_data(self, args, config):
        """`--set` also carries the data options (level, mode, window) and training options (clip, ...)."""
        config, data_options, training = split_options(config)
        train, val, info = read_lm_data(args.data, args.dev)
        data = prepare_lm_data(train, val, batch_size=args.batch_size, min_count=args.min_count,
                               max_vocab=args.max_vocab, seed=args.seed, info=info, **data_options)
        return data, config, training

    def sizes(self, data: LanguageModelData) -> dict:
        return {"vocab_size": len(data.vocab)}

    def build(self, name, data, *, preset, config, **options):
        try:
            model = build(name, preset=preset, **self.sizes(data), **config)
        except ValueError as error:  # a bad option from the command line: one line, no traceback
            raise ZooError(str(error)) from None
        return model, get_spec(name).config(preset, **config, **self.sizes(data))

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
            return data_spec, _sentences(text)
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

    def format_report(self, report):
        return format_report(report)

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
