"""Attention of decoder states over encoder states: additive (Bahdanau) or multiplicative (Luong) scores."""

from __future__ import annotations

import keras
from keras import layers, ops

SCORES = ("additive", "dot")


@keras.saving.register_keras_serializable(package="zoo")
class SourceAttention(layers.Layer):
    """`[query (batch, T, Q), values (batch, S, V)]` -> context `(batch, T, V)`: softmax-weighted values.

    Scores of query q and value k:
        additive (Bahdanau et al., 2015): `v . tanh(W_q q + W_k k)`, with `units` the width of `v`;
        dot (Luong et al., 2015, "general"): `q . (W k)`, W mapping values to the query width.
    Padded values (mask False) get no weight; a row with no real value gives a zero context.
    Called like `keras.layers.Attention`: the Keras masks of query and values arrive as `mask`
    (only the values' is used), and `return_attention_scores=True` also returns the weights (batch, T, S).

    Args:
        score: "additive" or "dot".
        units: width of the additive score's hidden layer (unused by "dot").
    """

    def __init__(self, *, score: str = "additive", units: int = 128, **kwargs):
        super().__init__(**kwargs)
        if score not in SCORES:
            raise ValueError(f"Unknown attention score. Received: score={score!r}; allowed: {SCORES}")
        if units < 1:
            raise ValueError(f"units must be >= 1. Received: units={units}")
        self.score = score
        self.units = int(units)
        self.supports_masking = True

    def build(self, input_shape):
        query_shape, value_shape = input_shape
        if self.score == "additive":
            self.query_kernel = self.add_weight(name="query_kernel", shape=(query_shape[-1], self.units),
                                                initializer="glorot_uniform")
            self.value_kernel = self.add_weight(name="value_kernel", shape=(value_shape[-1], self.units),
                                                initializer="glorot_uniform")
            self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
            self.scale = self.add_weight(name="scale", shape=(self.units,), initializer="glorot_uniform")
        else:
            self.value_kernel = self.add_weight(name="value_kernel", shape=(value_shape[-1], query_shape[-1]),
                                                initializer="glorot_uniform")

    def keys(self, values):
        """The values projected for scoring, (batch, S, units) or (batch, S, Q); decoders compute them once."""
        return ops.matmul(values, self.value_kernel)

    def attend(self, query, keys, values, value_mask=None):
        """(context (batch, T, V), weights (batch, T, S)) of `query` over precomputed `keys` of `values`."""
        if self.score == "additive":
            q = ops.matmul(query, self.query_kernel)[:, :, None, :]
            scores = ops.tensordot(ops.tanh(q + keys[:, None, :, :] + self.bias), self.scale, axes=[[3], [0]])
        else:
            scores = ops.matmul(query, ops.transpose(keys, (0, 2, 1)))
        if value_mask is None:
            weights = ops.softmax(scores, axis=-1)
        else:
            value_mask = ops.cast(value_mask, "bool")[:, None, :]
            weights = ops.softmax(ops.where(value_mask, scores, -1e9), axis=-1)
            weights = weights * ops.cast(value_mask, weights.dtype)  # rows without values -> 0
        return ops.matmul(weights, values), weights

    def call(self, inputs, mask=None, return_attention_scores: bool = False):
        query, values = inputs
        context, weights = self.attend(query, self.keys(values), values, None if mask is None else mask[1])
        return (context, weights) if return_attention_scores else context

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[0]

    def compute_output_shape(self, input_shape):
        query_shape, value_shape = input_shape
        return (*query_shape[:-1], value_shape[-1])

    def get_config(self) -> dict:
        return {**super().get_config(), "score": self.score, "units": self.units}
