"""Negative log-likelihood of sparse labels over padded sequences; padded labels are -1."""

from __future__ import annotations

import keras
from keras import ops
from keras.src import backend as keras_backend  # set_keras_mask has no public alias yet


def masked_token_nll(y_true, log_probs, label_smoothing: float = 0.0):
    """Per-token NLL `-log p(y_t)`; positions with `y_true < 0` (padding) give 0.

    With label smoothing e the target is `1 - e` on the label and `e / classes` on every class,
    so the loss is `(1 - e) * -log p(y_t) + e * mean_k(-log p(k))` (Szegedy et al., 2016).

    Args:
        y_true: (batch, time) int labels, -1 at padding.
        log_probs: (batch, time, classes) log-probabilities.
        label_smoothing: e in [0, 1).

    Returns:
        (nll, mask): (batch, time) float losses and the boolean mask of real tokens.
    """
    y_true = ops.cast(y_true, "int32")
    mask = ops.greater_equal(y_true, 0)
    safe = ops.where(mask, y_true, 0)
    picked = -ops.squeeze(ops.take_along_axis(log_probs, ops.expand_dims(safe, -1), axis=-1), -1)
    if label_smoothing:
        picked = (1.0 - label_smoothing) * picked - label_smoothing * ops.mean(log_probs, axis=-1)
    nll = ops.where(mask, picked, ops.zeros_like(log_probs[..., 0]))
    return nll, mask


@keras.saving.register_keras_serializable(package="zoo")
class MaskedSparseNLL(keras.losses.Loss):
    """Mean NLL over real tokens: the same value however far a batch is padded.

    Args:
        label_smoothing: e in [0, 1); see `masked_token_nll`.
    """

    def __init__(self, label_smoothing: float = 0.0, name: str = "masked_sparse_nll", **kwargs):
        super().__init__(name=name, **kwargs)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1). Received: label_smoothing={label_smoothing}")
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        nll, mask = masked_token_nll(y_true, y_pred, self.label_smoothing)
        # Attaching the mask makes Keras' mean reduction divide by the number of real tokens,
        # whether or not the model's output carries a Keras mask of its own.
        keras_backend.set_keras_mask(nll, mask)
        return nll

    def get_config(self) -> dict:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}
