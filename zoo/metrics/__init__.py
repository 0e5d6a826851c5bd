"""Metrics that understand padding."""

from zoo.metrics.masked_accuracy import MaskedAccuracy, masked_accuracy_counts

__all__ = ["MaskedAccuracy", "masked_accuracy_counts"]
