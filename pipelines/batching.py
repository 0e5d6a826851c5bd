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
    lengths: Sequence[int] | None = None,
) -> tf.data.Dataset:
    """Groups examples of similar length and pads each batch to its own longest example.

    `lengths`, the `length_fn` value of every example, gives the dataset its number of batches
    (`bucketed_batches`), which grouping hides from tf.data: Keras then shows real progress
    bars ("12/40") instead of "Unknown" steps in the first epoch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    dataset = dataset.bucket_by_sequence_length(
        element_length_func=length_fn,
        bucket_boundaries=list(boundaries),
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=padding_values,
        pad_to_bucket_boundary=False,
    )
    if lengths is None:
        return dataset
    return dataset.apply(tf.data.experimental.assert_cardinality(bucketed_batches(lengths, boundaries, batch_size)))


def bucketed_batches(lengths: Sequence[int], boundaries: Sequence[int], batch_size: int) -> int:
    """The number of batches `bucket_by_length` makes: each bucket's examples, batch_size at a time.

    A length goes to the bucket of the first boundary above it (tf.data's convention), e.g.
    lengths [1, 2, 2, 5, 9] with boundaries [3] and batch_size 2: buckets of 3 and 2 -> 2 + 1 = 3.
    """
    buckets = np.bincount(np.searchsorted(np.asarray(boundaries), np.asarray(lengths), side="right"),
                          minlength=len(boundaries) + 1)
    return int(sum(-(-int(count) // batch_size) for count in buckets))


def padding_fraction(lengths_per_batch: Sequence[Sequence[int]]) -> float:
    """Share of padded positions when each batch is padded to its longest example."""
    real = sum(sum(b) for b in lengths_per_batch)
    total = sum(len(b) * max(b) for b in lengths_per_batch if len(b))
    return 0.0 if total == 0 else 1.0 - real / total
