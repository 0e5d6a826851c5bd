"""Sequence-to-sequence pipelines: text encoders chosen by level, and teacher-forcing batches bucketed by length.

A training example is `({"source_ids": s, "target_in": <BOS> y1 .. yn}, y1 .. yn <EOS>)`: the decoder
reads the reference shifted right by one (teacher forcing) and predicts it. Batches are padded to their
longest row, with id 0 (`<PAD>`) in the inputs and -1 in the targets, which `MaskedSparseNLL` and
`Perplexity` ignore.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import tensorflow as tf

from pipelines.batching import bucket_by_length, quantile_boundaries
from pipelines.errors import DataError
from pipelines.language_model import TARGET_PAD_ID
from pipelines.readers.parallel_pair import ParallelPair
from pipelines.subwords import BOS_ID, EOS_ID, PAD_ID, SentencePieceEncoder, train_sentencepiece
from pipelines.word_encoder import WordEncoder

LEVELS = ("subword", "word")
# The file suffix each encoder is saved under, which `load_text_encoder` reads back by.
SUFFIXES = {"subword": ".model", "word": ".vocab"}


def fit_text_encoder(texts: Sequence[str], *, level: str = "subword", vocab_size: int = 8000,
                     model_type: str = "unigram", lowercase: bool = False):
    """A `SentencePieceEncoder` (level "subword") or `WordEncoder` (level "word") fitted on `texts`.

    `model_type` applies to subwords only, `lowercase` to words only (SentencePiece keeps case).
    """
    if level not in LEVELS:
        raise ValueError(f"Unknown tokenization level. Received: level={level!r}; allowed: {LEVELS}")
    if level == "word":
        return WordEncoder.fit(texts, vocab_size=vocab_size, lowercase=lowercase)
    return SentencePieceEncoder(train_sentencepiece(texts, vocab_size=vocab_size, model_type=model_type))


def load_text_encoder(path: str | os.PathLike, *, lowercase: bool = False):
    """The encoder saved at `path` by its `save`: a SentencePiece `.model` file or a word `.vocab` file."""
    if os.fspath(path).endswith(SUFFIXES["subword"]):
        return SentencePieceEncoder.load(path)
    if os.fspath(path).endswith(SUFFIXES["word"]):
        return WordEncoder.load(path, lowercase=lowercase)
    raise ValueError(f"Unknown encoder file. Received: path={os.fspath(path)!r}; allowed suffixes: "
                     f"{sorted(SUFFIXES.values())}")


def teacher_forcing(target_ids: tf.RaggedTensor) -> tuple[tf.RaggedTensor, tf.RaggedTensor]:
    """(`<BOS> y1 .. yn`, `y1 .. yn <EOS>`) rows from `y1 .. yn` rows."""
    rows = target_ids.nrows()
    bos = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tf.constant(BOS_ID, target_ids.dtype)))
    eos = tf.RaggedTensor.from_tensor(tf.fill([rows, 1], tf.constant(EOS_ID, target_ids.dtype)))
    return tf.concat([bos, target_ids], axis=1), tf.concat([target_ids, eos], axis=1)


def encode_pairs(pairs: Sequence[ParallelPair], *, source_encoder, target_encoder,
                 max_length: int | None = None) -> tuple[tf.RaggedTensor, tf.RaggedTensor, int]:
    """(source ids, target ids, number dropped): both sides tokenized in the graph, pairs with a side longer
    than `max_length` tokens dropped (truncating a reference would teach the decoder to stop mid-sentence)."""
    if not pairs:
        raise DataError(None, None, "expected sentence pairs, got none")
    sources = source_encoder.tokenize(tf.constant([p.source for p in pairs], dtype=tf.string))
    targets = target_encoder.tokenize(tf.constant([p.target for p in pairs], dtype=tf.string))
    if max_length is None:
        return sources, targets, 0
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1 or None. Received: max_length={max_length}")
    keep = tf.where((sources.row_lengths() <= max_length) & (targets.row_lengths() <= max_length))[:, 0]
    dropped = len(pairs) - int(tf.size(keep))
    if dropped == len(pairs):
        raise DataError(None, None, f"every pair has a side longer than max_length={max_length} tokens")
    return tf.gather(sources, keep), tf.gather(targets, keep), dropped


def seq2seq_dataset(source_ids: tf.RaggedTensor, target_ids: tf.RaggedTensor, *, batch_size: int = 64,
                    num_buckets: int = 8, shuffle: bool = True, seed: int = 0) -> tf.data.Dataset:
    """Teacher-forcing batches `({"source_ids", "target_in"}, target_out)`, int32, bucketed by length.

    Rows are grouped by their longer side (boundaries at its quantiles, see `quantile_boundaries`) and
    each batch is padded to its own longest source and target.
    """
    target_in, target_out = teacher_forcing(tf.cast(target_ids, tf.int32))
    source_ids = tf.cast(source_ids, tf.int32)
    lengths = np.maximum(source_ids.row_lengths().numpy(), target_in.row_lengths().numpy())
    dataset = tf.data.Dataset.from_tensor_slices((source_ids, target_in, target_out))
    if shuffle:
        dataset = dataset.shuffle(len(lengths), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(lambda s, t_in, t_out: ({"source_ids": s, "target_in": t_in}, t_out))
    return bucket_by_length(
        dataset,
        length_fn=lambda inputs, _: tf.maximum(tf.shape(inputs["source_ids"])[0], tf.shape(inputs["target_in"])[0]),
        boundaries=quantile_boundaries(lengths, num_buckets),
        batch_size=batch_size,
        padding_values=({"source_ids": PAD_ID, "target_in": PAD_ID}, TARGET_PAD_ID),
    ).prefetch(tf.data.AUTOTUNE)
