"""The exported Siamese graph: raw strings in, similarity and the duplicate verdict (at τ) or unit vectors out."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Sequence

import keras
import tensorflow as tf

from pipelines.pairs import TextIds, text_ids
from pipelines.vocab import Vocabulary, file_table
from zoo.export import generic_rnn_kernels
from zoo.metrics.threshold import COURSE_TAU
from zoo.tasks.loops import export_module
from zoo.tasks.siamese.data import TASK


class SiameseServer(tf.Module):
    """The exported graph: strings in, similarity / is_duplicate or unit vectors out.

    With several models (an ensemble of independently trained encoders), a text's embedding is
    the concatenation of their unit vectors divided by sqrt(count): a unit vector again, whose dot
    products are the mean of the members' cosine similarities.
    """

    def __init__(self, models: keras.Model | Sequence[keras.Model], vocab_path: str, *, vocab_size: int,
                 text_ids: TextIds, tau: float):
        super().__init__(name="siamese")
        models = [models] if isinstance(models, keras.Model) else list(models)
        self.encoders = [model.get_layer("encoder") for model in models]
        self.vocab = file_table(vocab_path, default_id=1)
        self.vocab_size = vocab_size
        self.text_ids_config = text_ids
        self.tau = tf.Variable(float(tau), trainable=False, name="tau", dtype=tf.float32)

    @property
    def embedding_dim(self) -> int:
        return sum(int(encoder.output.shape[-1]) for encoder in self.encoders)

    def _embed(self, texts):
        ids = text_ids(texts, self.vocab, vocab_size=self.vocab_size, config=self.text_ids_config)
        width = tf.maximum(tf.reduce_max(tf.concat([ids.row_lengths(), [0]], 0)), 1)
        # At least one step: a batch of empty strings still runs the encoder and gets zero vectors.
        dense = ids.to_tensor(default_value=0, shape=tf.stack([tf.cast(tf.size(texts), tf.int64), width]))
        vectors = []
        for encoder in self.encoders:
            with generic_rnn_kernels(encoder):
                vectors.append(encoder(dense, training=False))
        if len(vectors) == 1:
            return vectors[0]
        return tf.concat(vectors, axis=-1) / math.sqrt(len(vectors))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text_a"),
                                  tf.TensorSpec([None], tf.string, name="text_b")])
    def serve_pairs(self, text_a, text_b):
        same = tf.debugging.assert_equal(tf.size(text_a), tf.size(text_b),
                                         message="text_a and text_b must hold the same number of texts")
        with tf.control_dependencies([same]):
            vectors = self._embed(tf.concat([text_a, text_b], 0))
        size = tf.size(text_a)
        similarity = tf.clip_by_value(tf.reduce_sum(vectors[:size] * vectors[size:], axis=-1), -1.0, 1.0)
        return {"similarity": similarity, "is_duplicate": similarity >= self.tau}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve_embed(self, text):
        return {"embedding": self._embed(text)}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.serve_embed(text=tf.constant(list(texts), tf.string, shape=[len(texts)]))["embedding"].numpy()


def make_server(models: keras.Model | Sequence[keras.Model], vocab: Vocabulary, text_ids: TextIds,
                workdir: str | os.PathLike, *, tau: float = COURSE_TAU) -> SiameseServer:
    """A `SiameseServer` whose vocabulary file (written to `workdir`) becomes an asset of the export."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    vocab.save(workdir / "vocab.txt")
    return SiameseServer(models, str(workdir / "vocab.txt"), vocab_size=len(vocab), text_ids=text_ids, tau=tau)


def export_siamese(server: SiameseServer, *, base_dir: str | os.PathLike, name: str, card: dict) -> Path:
    """Exports the server as the next version of `base_dir/name`; the card records τ and the text-id config."""
    return export_module(TASK, server, card, base_dir=base_dir, name=name)
