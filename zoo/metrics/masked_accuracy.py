"""Token accuracy that ignores padding (labels < 0)."""

from __future__ import annotations

import keras
from keras import ops


def masked_accuracy_counts(y_true, y_pred):
    """(correct, total) over real tokens; `y_pred` holds scores over classes in its last axis."""
    y_true = ops.cast(y_true, "int32")
    mask = ops.greater_equal(y_true, 0)
    predicted = ops.cast(ops.argmax(y_pred, axis=-1), "int32")
    correct = ops.logical_and(mask, ops.equal(predicted, y_true))
    return ops.sum(ops.cast(correct, "float32")), ops.sum(ops.cast(mask, "float32"))


@keras.saving.register_keras_serializable(package="zoo")
class MaskedAccuracy(keras.metrics.Metric):
    """Fraction of real (non-padding) tokens whose argmax class equals the label."""

    def __init__(self, name: str = "masked_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        correct, total = masked_accuracy_counts(y_true, y_pred)
        self.correct.assign_add(correct)
        self.total.assign_add(total)

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)
