"""The exported NER graph: raw or pre-tokenized sentences in; tokens, IOB2 tags, scores and entity spans out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Sequence

import keras
import tensorflow as tf

from pipelines.features import FeatureSpec, TokenFeatures
from pipelines.spans import entity_spans_from_ids
from pipelines.text import tokenize
from pipelines.vocab import Vocabulary, file_table
from zoo.block_lstm import block_lstm_kernels, snapshot_weights
from zoo.export import ensemble_mean, generic_rnn_kernels
from zoo.layers.crf import CRF
from zoo.tasks.loops import export_module
from zoo.tasks.ner.data import NerData, TASK
from zoo.tasks.ner.viterbi import decode_with_marginals


# Sentences per length bucket of a large request: 32 leaves about a quarter of a 256-sentence CoNLL
# batch as padding, against three quarters unbucketed (benchmarks/README.md, `ner_vs_spacy`).
BUCKET_ROWS = 32


def crf_layer(model: keras.Model) -> CRF | None:
    """The model's CRF head, if it has one."""
    return next((layer for layer in model.layers if isinstance(layer, CRF)), None)


def iob2_name(tag: str) -> str:
    """The IOB2 name of an IOB2 or IOBES tag (S- -> B-, E- -> I-)."""
    return {"S-": "B-", "E-": "I-"}.get(tag[:2], tag[:2]) + tag[2:] if tag != "O" else tag


class Tagger(tf.Module):
    """The exported NER graph: strings in; tokens, IOB2 tags, scores and entity spans out.

    A request is tagged in length buckets: sorted by length, `bucket_rows` sentences at a time, each
    bucket padded only to its own longest sentence (the BiLSTM's work grows with the padded width,
    and a request's lengths vary a lot).

    `model` may be several models that read the same features and tags (an ensemble's members,
    trained on the same data): their emission scores and CRF parameters are averaged, so one Viterbi
    pass decodes the CRF whose path score is the mean of theirs (a product of experts).

    `snapshot=True` (an export's tagger) reads the BiLSTM's fused kernels from a copy taken now
    (`zoo.block_lstm.snapshot_weights`), which spares each request a copy of them but no longer follows
    the model's training; a tagger used while the model trains (the dev-F1 callback's) keeps False.
    """

    def __init__(self, model: keras.Model | Sequence[keras.Model], features: FeatureSpec, tags: Vocabulary,
                 vocab_path: str, chars_path: str | None = None, *, bucket_rows: int = BUCKET_ROWS,
                 snapshot: bool = False):
        super().__init__(name="tagger")
        if bucket_rows < 1:
            raise ValueError(f"bucket_rows must be >= 1. Received: bucket_rows={bucket_rows}")
        self.models = [model] if isinstance(model, keras.Model) else list(model)
        if not self.models:
            raise ValueError("a Tagger needs at least one model")
        self.model = self.models[0]
        self.features = TokenFeatures(
            features, file_table(vocab_path, default_id=1), file_table(chars_path, default_id=1) if chars_path else None
        )
        self.iob2_tags = [iob2_name(t) for t in tags.tokens]
        self.tag_names = tf.constant(self.iob2_tags, dtype=tf.string)
        self.bucket_rows = bucket_rows
        self.lstm_kernels = [snapshot_weights(m) if snapshot else {} for m in self.models]  # one per model

    def _emissions(self, tokens: tf.RaggedTensor, width) -> tuple[tf.Tensor, tf.Tensor]:
        """The model's outputs, (batch, width, tags), and the mask of real tokens, for sentences no longer than `width`."""
        lengths = tokens.row_lengths()
        batch = tf.cast(tf.shape(lengths)[0], tf.int64)
        inputs = {}
        for key, values in self.features(tokens).items():
            shape = [batch, width] + ([-1] if values.ragged_rank == 2 else [])
            inputs[key] = values.to_tensor(default_value=0, shape=shape)
        inputs = inputs if len(inputs) > 1 else inputs["token_ids"]
        outputs = []
        for model, kernels in zip(self.models, self.lstm_kernels):
            # Right-padded batches: the BiLSTM runs as two BlockLSTMV2 ops (zoo.block_lstm), not a loop of small ones.
            with generic_rnn_kernels(model), block_lstm_kernels(model, kernels):
                outputs.append(model(inputs, training=False))
        return ensemble_mean(outputs), tf.sequence_mask(lengths, width)

    def _decode(self, tokens: tf.RaggedTensor, width) -> tuple[tf.Tensor, tf.Tensor]:
        """Tag ids and scores, (batch, width), of sentences no longer than `width` (>= 2)."""
        outputs, mask = self._emissions(tokens, width)
        crfs = [crf_layer(model) for model in self.models]
        if crfs[0] is not None:
            return decode_with_marginals(outputs, mask, *(ensemble_mean([getattr(crf, key) for crf in crfs])
                                                          for key in ("transitions", "start", "end")))
        return tf.cast(tf.argmax(outputs, axis=-1), tf.int32), tf.exp(tf.reduce_max(outputs, axis=-1))

    def _decode_in_buckets(self, tokens: tf.RaggedTensor, width, decode=None) -> tuple[tf.Tensor, tf.Tensor]:
        """`_decode` (or `decode`, the same contract: `benchmarks/ner_tagger_profile.py` times parts of
        it) of the whole batch, one length bucket of `bucket_rows` sentences at a time.

        The first bucket runs outside the loop, so a request of up to `bucket_rows` sentences runs
        no control flow around the model: inside a cond or a loop body, Grappler leaves the LSTM's
        loop unoptimised, which cost a one-sentence request about 15%.
        """
        order = tf.argsort(tokens.row_lengths(), stable=True)
        ordered = tf.gather(tokens, order)
        buckets = (tf.shape(order)[0] + self.bucket_rows - 1) // self.bucket_rows

        def bucket(i, ids, scores):
            rows = ordered[i * self.bucket_rows:(i + 1) * self.bucket_rows]
            bucket_ids, bucket_scores = (decode or self._decode)(rows, tf.maximum(tf.reduce_max(rows.row_lengths()), 2))
            # Every bucket padded to bucket_rows x width, so the arrays stack (TensorArray concat is not
            # among the ops `zoo.serving.check_serving_ops` allows).
            shape = tf.shape(bucket_ids, out_type=tf.int64)
            pad = [[0, self.bucket_rows - shape[0]], [0, width - shape[1]]]
            return i + 1, ids.write(i, tf.pad(bucket_ids, pad)), scores.write(i, tf.pad(bucket_scores, pad))

        arrays = (tf.TensorArray(tf.int32, size=tf.maximum(buckets, 1)),
                  tf.TensorArray(tf.float32, size=tf.maximum(buckets, 1)))
        _, ids, scores = tf.while_loop(lambda i, *_: i < buckets, bucket, bucket(0, *arrays))
        back = tf.argsort(order)  # the inverse permutation
        return tuple(tf.gather(tf.reshape(values.stack(), [-1, width]), back) for values in (ids, scores))

    def _tag(self, tokens: tf.RaggedTensor) -> dict:
        lengths = tokens.row_lengths()
        longest = tf.reduce_max(tf.concat([lengths, [0]], 0))
        # At least two steps: a batch of empty strings still runs the model and returns 0 tokens, and
        # the CRF's scans over the steps after the first fail on none (a one-word request).
        width = tf.maximum(longest, 2)
        tag_ids, scores = self._decode_in_buckets(tokens, width)
        mask = tf.sequence_mask(lengths, width)[:, :longest]
        tag_ids = tag_ids[:, :longest]
        tokens = tokens.to_tensor(default_value="")[:, :longest]
        return {
            "tokens": tokens,
            "tags": tf.where(mask, tf.gather(self.tag_names, tag_ids), ""),
            "scores": tf.where(mask, scores[:, :longest], 0.0),
            "lengths": lengths,
            **entity_spans_from_ids(tokens, tag_ids, self.iob2_tags),
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve_text(self, text):
        return self._tag(tokenize(text))

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="tokens")])
    def serve_tokens(self, tokens):
        return self._tag(tf.RaggedTensor.from_tensor(tokens, padding=""))


def make_tagger(model: keras.Model | Sequence[keras.Model], data: NerData, workdir: str | os.PathLike, *,
                snapshot: bool = False) -> Tagger:
    """A `Tagger` of one model or an ensemble's members, whose vocabulary files (written to `workdir`) become
    assets of the export; `snapshot`: see `Tagger`."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    data.vocab.save(workdir / "vocab.txt")
    data.tags.save(workdir / "tags.txt")
    if data.chars is not None:
        data.chars.save(workdir / "chars.txt")
    tagger = Tagger(model, data.features, data.tags, str(workdir / "vocab.txt"),
                    str(workdir / "chars.txt") if data.chars is not None else None, snapshot=snapshot)
    tagger.tags_file = tf.saved_model.Asset(str(workdir / "tags.txt"))
    return tagger


def tagger_from_run(run_dir: str | os.PathLike, card: dict) -> Tagger:
    """The `Tagger` of a finished `zoo train` run: its `best.weights.h5` and vocabulary files, the model
    and features its export's `card` names (a graph rebuilt by this version of the code)."""
    import zoo

    run_dir = Path(run_dir)
    model = zoo.build(card["model"], **card["config"])
    model.load_weights(run_dir / "best.weights.h5")
    chars = run_dir / "chars.txt"
    tagger = Tagger(model, FeatureSpec(**card["features"]), Vocabulary.load(run_dir / "tags.txt", unknown=None),
                    str(run_dir / "vocab.txt"), str(chars) if chars.exists() else None, snapshot=True)
    tagger.tags_file = tf.saved_model.Asset(str(run_dir / "tags.txt"))
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
