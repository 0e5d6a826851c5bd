"""Using Siamese encoders: unit vectors for texts, one-shot verification, nearest-duplicate search, a loaded export."""

from __future__ import annotations

import os
import warnings
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from zoo.tasks.loops import load_export
from zoo.tasks.siamese.data import TASK


def encode_ids(encoder: keras.Model, ids: tf.RaggedTensor, *, batch_size: int = 512, call=None) -> np.ndarray:
    """Unit vectors for ragged ids, batched by length so little time goes into padding.

    `call` is an already traced `encoder_function(encoder)`, to trace once for repeated use.
    """
    lengths = ids.row_lengths().numpy()
    order = np.argsort(lengths, kind="stable")
    vectors = np.zeros((len(lengths), encoder.output.shape[-1]), np.float32)
    call = call or encoder_function(encoder)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        width = max(int(lengths[chunk].max()), 1)
        vectors[chunk] = call(tf.gather(ids, chunk).to_tensor(shape=[len(chunk), width])).numpy()
    return vectors


def encoder_function(encoder: keras.Model):
    """The encoder in inference mode as one traced function for any (batch, time)."""
    return tf.function(lambda ids: encoder(ids, training=False), input_signature=[tf.TensorSpec([None, None], tf.int32)])


def embed_texts(embed: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str], *, batch_size: int = 512) -> np.ndarray:
    """`embed` (strings -> unit vectors, e.g. an export's `embed` signature) over many texts, by length."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vectors = None
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        out = np.asarray(embed([texts[i] for i in chunk]), np.float32)
        if vectors is None:
            vectors = np.zeros((len(texts), out.shape[-1]), np.float32)
        vectors[chunk] = out
    return np.zeros((0, 0), np.float32) if vectors is None else vectors


def warn_empty(texts: Sequence[str], name: str) -> None:
    """Warns about empty texts: they encode to the zero vector, similarity 0, never a duplicate."""
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        warnings.warn(f"{name}{empty[:5]}{'...' if len(empty) > 5 else ''} is empty: an empty text has similarity "
                      "0 to everything and is never a duplicate", stacklevel=3)


def verify(embed: Callable[[Sequence[str]], np.ndarray], text_a: Sequence[str] | str, text_b: Sequence[str] | str,
           tau: float) -> tuple[np.ndarray, np.ndarray]:
    """One-shot verification: cosine similarity of the encodings of `text_a[i]` and `text_b[i]`, and `>= tau`."""
    text_a = [text_a] if isinstance(text_a, str) else list(text_a)
    text_b = [text_b] if isinstance(text_b, str) else list(text_b)
    if len(text_a) != len(text_b):
        raise ValueError(f"text_a and text_b must have the same length. Received: {len(text_a)} and {len(text_b)}")
    warn_empty(text_a, "text_a")
    warn_empty(text_b, "text_b")
    vectors = embed_texts(embed, text_a + text_b)
    similarity = np.clip(np.sum(vectors[: len(text_a)] * vectors[len(text_a):], axis=-1), -1.0, 1.0)
    return similarity, similarity >= tau


class DuplicateIndex:
    """Nearest-duplicate search: a collection encoded once, then the top-k most similar for new texts.

    Example:
        >>> index = DuplicateIndex(export.embed, questions)
        >>> index.search(["How do I learn Python ?"], k=3)[0]   # [(position, similarity), ...]
    """

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray], texts: Sequence[str], *, batch_size: int = 512):
        self.embed = embed
        self.texts = list(texts)
        self.batch_size = batch_size
        self.vectors = tf.constant(embed_texts(embed, self.texts, batch_size=batch_size))

    def search(self, queries: Sequence[str], *, k: int = 5) -> list[list[tuple[int, float]]]:
        """For each query, up to `k` (position in `texts`, similarity) pairs, most similar first."""
        if k < 1:
            raise ValueError(f"k must be at least 1. Received: k={k}")
        k = min(k, len(self.texts))
        queries = list(queries)
        if not queries or not k:
            return [[] for _ in queries]
        vectors = tf.constant(embed_texts(self.embed, queries, batch_size=self.batch_size))
        results = []
        for start in range(0, len(queries), self.batch_size):
            top = tf.math.top_k(tf.matmul(vectors[start:start + self.batch_size], self.vectors, transpose_b=True), k=k)
            results += [list(zip(i.tolist(), s.tolist())) for i, s in zip(top.indices.numpy(), top.values.numpy())]
        return results


class SiameseExport:
    """A loaded export with its card: `verify` uses the calibrated τ unless told otherwise."""

    def __init__(self, export: str | os.PathLike):
        from zoo.serving import load

        self.path, self.card = load_export(TASK, export)
        self.loaded = load(self.path)
        self.tau = float(self.card["tau"])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = self.loaded.signatures["embed"](text=tf.constant(list(texts), tf.string, shape=[len(texts)]))
        return out["embedding"].numpy()

    def verify(self, text_a, text_b, tau: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        return verify(self.embed, text_a, text_b, self.tau if tau is None else tau)

    def index(self, texts: Sequence[str]) -> DuplicateIndex:
        return DuplicateIndex(self.embed, texts)
