"""The triplet loss as an endpoint layer: it adds the loss to the model and passes its input through."""

from __future__ import annotations

from typing import Sequence

import keras
from keras import ops

from zoo.losses.triplet import check_negatives, triplet_loss


@keras.saving.register_keras_serializable(package="zoo")
class TripletLossLayer(keras.layers.Layer):
    """Adds `mean(triplet_loss(x[:, 0], x[:, 1]))` to the model's losses and returns `x` unchanged.

    For training a Siamese model without a compiled loss (`model.compile(optimizer)`); the same
    arguments as `zoo.losses.TripletLoss`.
    """

    def __init__(self, margin: float = 0.25, negatives: Sequence[str] = ("mean", "closest"), symmetric: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        if margin < 0:
            raise ValueError(f"margin must be >= 0. Received: margin={margin}")
        self.margin = float(margin)
        self.negatives = check_negatives(negatives)
        self.symmetric = bool(symmetric)

    def call(self, embeddings):
        self.add_loss(ops.mean(triplet_loss(embeddings[:, 0], embeddings[:, 1], margin=self.margin,
                                            negatives=self.negatives, symmetric=self.symmetric)))
        return embeddings

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "margin": self.margin, "negatives": list(self.negatives),
                "symmetric": self.symmetric}
