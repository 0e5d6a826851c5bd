"""Language-model pipelines: char or word tokens, targets shifted by one, windows or padded sentences.

Two shapes of training data:
- `window_dataset`: fixed-length windows over one long text (char-rnn style). Inputs are
  `ids[s : s + window]`, targets `ids[s + 1 : s + window + 1]`.
- `sentence_dataset`: one example per sentence (line), `<BOS> w1 .. wn` -> `w1 .. wn <EOS>`,
  bucketed by length and padded per batch.

Padding is input id 0 (`<PAD>`) and target -1 (ignored by `MaskedSparseNLL` and `Perplexity`).
Tokens are split with the same TensorFlow ops the exported `score`/`generate` graphs run.
"""

from __future__ import annotations

import math
import os
from typing import Iterable, Sequence

import numpy as np
import tensorflow as tf

from pipelines.batching import bucket_by_length, quantile_boundaries
from pipelines.errors import DataError
from pipelines.readers import read_lines
from pipelines.text import tokenize
from pipelines.vocab import PAD, UNK, Vocabulary, build_vocabulary

BOS = "<BOS>"
EOS = "<EOS>"
TARGET_PAD_ID = -1
# The string that joins generated tokens back into text, per tokenization level.
LEVELS = {"char": "", "word": " "}


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise ValueError(f"Unknown tokenization level. Received: level={level!r}; allowed: {sorted(LEVELS)}")
    return level


def split_tokens(texts, level: str) -> tf.RaggedTensor:
    """In-graph tokenization of a 1-D string batch: Unicode characters, or words as `pipelines.text.tokenize`."""
    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    if check_level(level) == "char":
        return tf.strings.unicode_split(texts, "UTF-8")
    return tokenize(texts)


def text_tokens(texts: Sequence[str], level: str) -> list[list[str]]:
    """`split_tokens` for Python strings, through the very same ops."""
    if not texts:
        return []
    ragged = split_tokens(tf.constant(list(texts), dtype=tf.string, shape=[len(texts)]), level)
    return [[t.decode("utf-8") for t in row] for row in ragged.to_list()]


def read_text(path: str | os.PathLike) -> str:
    """A whole (optionally gzipped) UTF-8 text file, lines joined by `\\n` and ending in one."""
    return "\n".join(line for _, line in read_lines(path)) + "\n"


def lm_vocabulary(token_lists: Iterable[Iterable[str]], *, min_count: int = 1, max_size: int | None = None) -> Vocabulary:
    """`<PAD>`, `<UNK>`, `<BOS>`, `<EOS>`, then tokens by falling frequency (see `build_vocabulary`)."""
    specials = (PAD, UNK, BOS, EOS)
    if max_size is not None and max_size < len(specials) + 1:
        raise ValueError(f"max_size must leave room for {specials} and a token. Received: max_size={max_size}")
    plain = ((t for t in tokens if t not in specials) for tokens in token_lists)
    counted = build_vocabulary(plain, min_count=min_count, max_size=None if max_size is None else max_size - 2)
    return Vocabulary((*specials, *counted.tokens[2:]))


def encode(tokens: Sequence[str], vocab: Vocabulary) -> np.ndarray:
    """int32 ids of `tokens`; unknown tokens map to `<UNK>`."""
    return np.asarray(vocab.ids(tokens), dtype=np.int32)


def window_arrays(ids: np.ndarray, *, window: int, context: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets), each (num_windows, window), over one long id stream.

    Window k starts at `k * (window - context)`. Its first `context` targets were already
    predicted by window k - 1, so they are -1 there: every token but the first is a target
    exactly once, and (past the first window) with at least `context` tokens of history. Use
    `context=0` for training and `context > 0` to score a held-out text fairly.

    Example: ids [5, 6, 7, 8, 9], window 3, context 1 ->
        inputs  [[5, 6, 7], [7, 8, 0]]
        targets [[6, 7, 8], [-1, 9, -1]]
    """
    if window < 1 or not 0 <= context < window:
        raise ValueError(f"Need window >= 1 and 0 <= context < window. Received: window={window}, context={context}")
    ids = np.asarray(ids, dtype=np.int32)
    predictable = len(ids) - 1
    if predictable < 1:
        raise DataError(None, None, f"a text of {len(ids)} token(s) has nothing to predict; need at least 2")
    stride = window - context
    count = 1 + max(0, math.ceil((predictable - window) / stride))
    positions = np.arange(count)[:, None] * stride + np.arange(window)[None, :]
    valid = positions < predictable
    safe = np.where(valid, positions, 0)
    inputs = np.where(valid, ids[safe], 0).astype(np.int32)
    targets = np.where(valid, ids[safe + 1], TARGET_PAD_ID).astype(np.int32)
    targets[1:, :context] = TARGET_PAD_ID
    return inputs, targets


def window_dataset(
    ids: np.ndarray,
    *,
    window: int,
    batch_size: int = 64,
    context: int = 0,
    shuffle: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of `(inputs, targets)` windows (see `window_arrays`), int32 of shape (batch, window)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    inputs, targets = window_arrays(ids, window=window, context=context)
    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
    if shuffle:
        dataset = dataset.shuffle(len(inputs), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def sentence_arrays(ids: Sequence[int], vocab: Vocabulary) -> tuple[list[int], list[int]]:
    """`<BOS> w1 .. wn` -> `w1 .. wn <EOS>` for one sentence's ids."""
    return [vocab.index[BOS], *ids], [*ids, vocab.index[EOS]]


def sentence_dataset(
    id_lists: Sequence[Sequence[int]],
    vocab: Vocabulary,
    *,
    batch_size: int = 64,
    num_buckets: int = 8,
    shuffle: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches of `(inputs, targets)`, one sentence per row, bucketed by length and padded (0 / -1)."""
    if not id_lists:
        raise DataError(None, None, "no sentences to build a dataset from")
    pairs = [sentence_arrays(ids, vocab) for ids in id_lists]
    inputs = tf.ragged.constant([x for x, _ in pairs], dtype=tf.int32, ragged_rank=1)
    targets = tf.ragged.constant([y for _, y in pairs], dtype=tf.int32, ragged_rank=1)
    dataset = tf.data.Dataset.from_tensor_slices((inputs, targets))
    dataset = dataset.map(lambda x, y: (tf.ensure_shape(x, [None]), tf.ensure_shape(y, [None]))).cache()
    if shuffle:
        dataset = dataset.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)
    lengths = [len(x) for x, _ in pairs]
    dataset = bucket_by_length(
        dataset,
        length_fn=lambda x, _: tf.shape(x)[0],
        boundaries=quantile_boundaries(lengths, num_buckets),
        batch_size=batch_size,
        padding_values=(0, TARGET_PAD_ID),
        lengths=lengths,
    )
    return dataset.prefetch(tf.data.AUTOTUNE)
