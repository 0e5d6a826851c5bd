"""The exported NER graph: raw or pre-tokenized sentences in; tokens, IOB2 tags, scores and entity spans out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import keras
import tensorflow as tf

from pipelines.features import FeatureSpec, TokenFeatures
from pipelines.spans import entity_spans
from pipelines.text import tokenize
from pipelines.vocab import Vocabulary, file_table
from zoo.export import generic_rnn_kernels
from zoo.layers.crf import CRF
from zoo.tasks.loops import export_module
from zoo.tasks.ner.data import NerData, TASK


def crf_layer(model: keras.Model) -> CRF | None:
    """The model's CRF head, if it has one."""
    return next((layer for layer in model.layers if isinstance(layer, CRF)), None)


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
        # At least two steps: a batch of empty strings still runs the model and returns 0 tokens, and
        # the CRF's scans over the steps after the first fail on none (a one-word request).
        width = tf.maximum(longest, 2)
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
    return export_module(TASK, tagger, card, base_dir=base_dir, name=name)


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
