"""Character-level word features: embed each word's characters, convolve, max-pool over them."""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="zoo")
class CharCNN(layers.Layer):
    """(batch, time, chars) character ids -> (batch, time, filters) word features (Ma & Hovy 2016).

    Character id 0 is padding: it embeds to zeros and never wins the max, so a word's feature
    does not depend on how far its characters were padded.

    Args:
        vocab_size: character vocabulary size (`<PAD>`=0, `<UNK>`=1 included).
        char_dim: character embedding size.
        filters: convolution filters, the size of the word feature.
        kernel_size: characters each filter sees.
    """

    def __init__(self, vocab_size: int, char_dim: int = 30, filters: int = 50, kernel_size: int = 3, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("vocab_size", vocab_size), ("char_dim", char_dim), ("filters", filters), ("kernel_size", kernel_size)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1. Received: {name}={value}")
        self.vocab_size = vocab_size
        self.char_dim = char_dim
        self.filters = filters
        self.kernel_size = kernel_size
        self.embedding = layers.Embedding(vocab_size, char_dim, name="embedding")
        self.conv = layers.Conv1D(filters, kernel_size, padding="same", activation="tanh", name="conv")

    def build(self, input_shape):
        self.embedding.build(input_shape)
        self.conv.build((None, None, self.char_dim))

    def call(self, char_ids):
        shape = ops.shape(char_ids)
        flat = ops.reshape(char_ids, (-1, shape[2]))  # one row per word
        real = ops.expand_dims(ops.cast(ops.not_equal(flat, 0), self.compute_dtype), -1)
        features = self.convolve(self.embedding(flat) * real)
        # Padding positions cannot win the max: push them below tanh's range.
        features = ops.max(features * real + (real - 1.0) * 2.0, axis=1)
        features = ops.maximum(features, -1.0)  # a word with no characters gets -1s, not -2s
        return ops.reshape(features, (shape[0], shape[1], self.filters))

    def convolve(self, embedded):
        """`self.conv(embedded)` as one matrix product over each character's window of `kernel_size`.

        The same arithmetic as the convolution op (float32 rounding aside), from the same weights: at
        a tagger's serving sizes (one sentence, a few hundred characters) oneDNN's convolution spends
        more time setting itself up for each new shape than computing (benchmarks/README.md).
        """
        size, left = self.kernel_size, (self.kernel_size - 1) // 2  # "same" padding, as TensorFlow splits it
        padded = ops.pad(embedded, [[0, 0], [left, size - 1 - left], [0, 0]])
        length = ops.shape(embedded)[1]
        windows = ops.concatenate([padded[:, i:i + length] for i in range(size)], axis=-1)
        kernel = ops.reshape(self.conv.kernel, (size * self.char_dim, self.filters))
        return self.conv.activation(ops.matmul(windows, kernel) + self.conv.bias)

    def compute_mask(self, char_ids, mask=None):
        # A word is padding when it has no characters: concatenated with masked word embeddings, an
        # unmasked feature would unmask every step (Concatenate's mask is the OR of its inputs' masks).
        return ops.any(ops.not_equal(char_ids, 0), axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], self.filters)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "char_dim": self.char_dim,
                "filters": self.filters, "kernel_size": self.kernel_size}
