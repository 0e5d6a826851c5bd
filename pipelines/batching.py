"""Length bucketing: boundaries from the data's length quantiles, batches padded to their longest."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import tensorflow as tf


def quantile_boundaries(lengths: Sequence[int], num_buckets: int) -> list[int]:
    """Bucket boundaries at the length quantiles, so buckets hold about equal numbers of examples.

    A boundary b puts lengths < b in the bucket below it (tf.data's convention). Duplicate
    quantiles collapse, so short-tailed data may get fewer buckets than asked for.
    """
    if num_buckets < 1:
        raise ValueError(f"num_buckets must be >= 1. Received: num_buckets={num_buckets}")
    lengths = np.asarray(lengths)
    if lengths.size == 0:
        raise ValueError("Cannot derive bucket boundaries from no examples.")
    qs = np.quantile(lengths, np.linspace(0, 1, num_buckets + 1)[1:-1], method="higher")
    return sorted({int(q) + 1 for q in qs if int(q) + 1 <= lengths.max()})


def bucket_by_length(
    dataset: tf.data.Dataset,
    *,
    length_fn,
    boundaries: Sequence[int],
    batch_size: int,
    padding_values,
) -> tf.data.Dataset:
    """Groups examples of similar length and pads each batch to its own longest example."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    return dataset.bucket_by_sequence_length(
        element_length_func=length_fn,
        bucket_boundaries=list(boundaries),
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=padding_values,
        pad_to_bucket_boundary=False,
    )


def padding_fraction(lengths_per_batch: Sequence[Sequence[int]]) -> float:
    """Share of padded positions when each batch is padded to its longest example."""
    real = sum(sum(b) for b in lengths_per_batch)
    total = sum(len(b) * max(b) for b in lengths_per_batch if len(b))
    return 0.0 if total == 0 else 1.0 - real / total
