"""Parallel 1-D convolutions of several widths, max-pooled over the real time steps (Kim 2014)."""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="zoo")
class MultiWidthConv1D(layers.Layer):
    """(batch, time, features) + mask -> (batch, len(kernel_sizes) * filters) max-pooled n-gram features.

    Each width k is a `Conv1D(filters, k, padding="same")` with ReLU; padded steps are zeroed
    before the convolutions (as "same" padding zeroes the ends) and never win the max, so a
    text's features do not depend on how far its batch was padded. A row without real steps
    gives zeros.

    Args:
        filters: filters per width.
        kernel_sizes: the widths, e.g. (3, 4, 5): tri-, four- and five-gram detectors.
        activation: of the convolutions.
    """

    def __init__(self, filters: int = 100, kernel_sizes: Sequence[int] = (3, 4, 5), activation: str = "relu",
                 **kwargs):
        super().__init__(**kwargs)
        if filters < 1 or not kernel_sizes or min(kernel_sizes) < 1:
            raise ValueError(f"filters and every kernel size must be >= 1, with at least one size. "
                             f"Received: filters={filters}, kernel_sizes={list(kernel_sizes)}")
        self.filters = filters
        self.kernel_sizes = [int(k) for k in kernel_sizes]
        self.activation = activation
        self.supports_masking = True
        self.convs = [layers.Conv1D(filters, k, padding="same", activation=activation, name=f"conv{k}")
                      for k in self.kernel_sizes]

    def build(self, input_shape):
        for conv in self.convs:
            conv.build(input_shape)

    def call(self, inputs, mask=None):
        if mask is None:
            real = ops.ones_like(inputs[..., :1], dtype="bool")
        else:
            real = ops.expand_dims(ops.cast(mask, "bool"), -1)
        inputs = ops.where(real, inputs, ops.zeros_like(inputs))
        features = ops.concatenate([conv(inputs) for conv in self.convs], axis=-1)
        pooled = ops.max(ops.where(real, features, ops.full_like(features, float("-inf"))), axis=1)
        return ops.where(ops.any(real, axis=1), pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.filters * len(self.kernel_sizes))

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_sizes": self.kernel_sizes,
                "activation": self.activation}
