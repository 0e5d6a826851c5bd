"""Mean over the time steps that the Keras mask marks as real, zeros for a row with none."""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="zoo")
class MaskedGlobalAveragePooling1D(layers.Layer):
    """(batch, time, features) -> (batch, features): the mean of each feature over real steps.

    Keras' `GlobalAveragePooling1D` divides by the number of real steps, which is 0/0 (NaN) for an
    empty text; here such a row gives zeros.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1)
        real = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        return ops.sum(inputs * real, axis=1) / ops.maximum(ops.sum(real, axis=1), 1.0)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
