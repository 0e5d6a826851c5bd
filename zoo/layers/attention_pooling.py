"""Attention pooling: a learned score per time step, softmax over the real steps, weighted sum."""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="zoo")
class AttentionPooling1D(layers.Layer):
    """(batch, time, features) -> (batch, features): `sum_t softmax_t(x_t . w + b) x_t` over real steps.

    The scores let a bag-of-words encoder weigh content words above function words (a learned
    IDF). Padded steps get no weight; a row without real steps gives zeros.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1],), initializer="zeros")
        self.bias = self.add_weight(name="bias", shape=(), initializer="zeros")

    def call(self, inputs, mask=None):
        scores = ops.tensordot(inputs, self.kernel, axes=[[2], [0]]) + self.bias
        if mask is None:
            mask = ops.ones_like(scores, dtype="bool")
        mask = ops.cast(mask, "bool")
        scores = ops.where(mask, scores, -1e9)
        weights = ops.softmax(scores, axis=-1) * ops.cast(mask, inputs.dtype)  # all-padding rows -> 0
        return ops.sum(inputs * ops.expand_dims(weights, -1), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
