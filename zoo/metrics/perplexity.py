"""Perplexity over padded sequences: exp of the mean NLL of real tokens (labels < 0 are padding)."""

from __future__ import annotations

import keras
from keras import ops

from zoo.losses.masked_nll import masked_token_nll


@keras.saving.register_keras_serializable(package="zoo")
class Perplexity(keras.metrics.Metric):
    """exp(total NLL / real tokens), accumulated over batches, so it matches the per-token loss.

    The average is over tokens, not over batches of different padding, so the value for a
    whole dataset does not depend on how it was batched.
    """

    def __init__(self, name: str = "perplexity", **kwargs):
        super().__init__(name=name, **kwargs)
        self.nll = self.add_variable(shape=(), initializer="zeros", name="nll")
        self.tokens = self.add_variable(shape=(), initializer="zeros", name="tokens")

    def update_state(self, y_true, y_pred, sample_weight=None):
        nll, mask = masked_token_nll(y_true, y_pred)
        self.nll.assign_add(ops.sum(nll))
        self.tokens.assign_add(ops.sum(ops.cast(mask, "float32")))

    def result(self):
        return ops.exp(ops.divide_no_nan(self.nll, self.tokens))

    def reset_state(self):
        self.nll.assign(0.0)
        self.tokens.assign(0.0)
