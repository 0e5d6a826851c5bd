"""Entity spans from IOB2 tag strings, as TensorFlow ops for exported graphs."""

from __future__ import annotations

import tensorflow as tf


def entity_spans(tokens: tf.Tensor, tags: tf.Tensor) -> dict:
    """Spans of each sentence from dense (batch, time) tokens and IOB2 tags ("" = padding).

    An entity starts at `B-X`, or at an `I-X` that does not continue an `X` (lenient, like
    conlleval), and runs while `I-X` follows. Returns dense (batch, max spans) tensors padded
    with ""/-1: `span_types`, `span_starts`, `span_ends` (inclusive token indices) and
    `span_texts` (the tokens joined by spaces), plus `num_spans` (batch,).
    """
    prefix = tf.strings.substr(tags, 0, 2)
    kind = tf.strings.regex_replace(tags, "^[BI]-", "")
    inside = tf.logical_or(tf.equal(prefix, "B-"), tf.equal(prefix, "I-"))
    previous_inside = tf.pad(inside[:, :-1], [[0, 0], [1, 0]])
    previous_kind = tf.pad(kind[:, :-1], [[0, 0], [1, 0]])
    begins = inside & (tf.equal(prefix, "B-") | ~previous_inside | tf.not_equal(previous_kind, kind))
    next_begins = tf.pad(begins[:, 1:], [[0, 0], [0, 1]], constant_values=True)
    next_inside = tf.pad(inside[:, 1:], [[0, 0], [0, 1]])
    ends = inside & (next_begins | ~next_inside)

    positions = tf.broadcast_to(tf.range(tf.shape(tags)[1], dtype=tf.int32), tf.shape(tags))
    starts = tf.ragged.boolean_mask(positions, begins)
    stops = tf.ragged.boolean_mask(positions, ends)
    types = tf.ragged.boolean_mask(kind, begins)

    # Token indices of every span, flattened over the batch, then joined per span.
    rows = tf.cast(starts.value_rowids(), tf.int32)
    covered = tf.ragged.range(starts.flat_values, stops.flat_values + 1)
    flat_index = covered + tf.expand_dims(rows * tf.shape(tags)[1], 1)
    texts = tf.strings.reduce_join(tf.gather(tf.reshape(tokens, [-1]), flat_index), axis=1, separator=" ")
    texts = tf.RaggedTensor.from_row_splits(texts, starts.row_splits)
    return {
        "span_types": types.to_tensor(""),
        "span_starts": starts.to_tensor(-1),
        "span_ends": stops.to_tensor(-1),
        "span_texts": texts.to_tensor(""),
        "num_spans": tf.cast(starts.row_lengths(), tf.int32),
    }
