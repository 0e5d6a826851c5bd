"""Max over the time steps that the Keras mask marks as real (Keras' own GlobalMaxPooling1D drops masks)."""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="zoo")
class MaskedGlobalMaxPooling1D(layers.Layer):
    """(batch, time, features) -> (batch, features): the largest value of each feature over real steps.

    Padded steps never win the max; a row without real steps gives zeros.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.max(inputs, axis=1)
        real = ops.expand_dims(ops.cast(mask, "bool"), -1)
        lowest = ops.full_like(inputs, float("-inf"))
        pooled = ops.max(ops.where(real, inputs, lowest), axis=1)
        return ops.where(ops.any(real, axis=1), pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
