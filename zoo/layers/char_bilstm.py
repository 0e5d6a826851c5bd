"""Character-level word features from a BiLSTM over each word's characters (Lample et al. 2016)."""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="zoo")
class CharBiLSTM(layers.Layer):
    """(batch, time, chars) character ids -> (batch, time, 2 * units) word features.

    Each word's characters are embedded and read by an LSTM in each direction; the word's feature
    is the two final states concatenated: the forward one has read the word to its end (its
    suffix weighs most), the backward one back to its start (its prefix). The alternative to
    `CharCNN`'s max over trigram filters, which sees no character order beyond its window.

    Character id 0 is padding and is masked: a word's feature does not depend on how far its
    characters were padded, and a word with no characters (a padding token) gets zeros.

    Args:
        vocab_size: character vocabulary size (`<PAD>`=0, `<UNK>`=1 included).
        char_dim: character embedding size.
        units: units of each LSTM direction; the word feature has twice as many.
    """

    def __init__(self, vocab_size: int, char_dim: int = 25, units: int = 25, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("vocab_size", vocab_size), ("char_dim", char_dim), ("units", units)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1. Received: {name}={value}")
        self.vocab_size = vocab_size
        self.char_dim = char_dim
        self.units = units
        self.embedding = layers.Embedding(vocab_size, char_dim, name="embedding")
        self.bilstm = layers.Bidirectional(layers.LSTM(units), name="bilstm")

    def build(self, input_shape):
        self.embedding.build(input_shape)
        self.bilstm.build((None, None, self.char_dim))

    def call(self, char_ids):
        shape = ops.shape(char_ids)
        flat = ops.reshape(char_ids, (-1, shape[2]))  # one row per word
        features = self.bilstm(self.embedding(flat), mask=ops.not_equal(flat, 0))
        return ops.reshape(features, (shape[0], shape[1], 2 * self.units))

    def compute_mask(self, char_ids, mask=None):
        # As CharCNN's: a word is padding when it has no characters.
        return ops.any(ops.not_equal(char_ids, 0), axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], 2 * self.units)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "char_dim": self.char_dim, "units": self.units}
