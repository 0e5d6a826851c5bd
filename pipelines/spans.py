"""Entity spans from IOB2 tag strings, as TensorFlow ops for exported graphs."""

from __future__ import annotations

from typing import Sequence

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
    return _spans(tokens, tf.equal(prefix, "B-"), tf.equal(prefix, "I-"), kind, kind)


def entity_spans_from_ids(tokens: tf.Tensor, tag_ids: tf.Tensor, tag_names: Sequence[str]) -> dict:
    """`entity_spans` of the IOB2 tags `tag_names[tag_ids]`, with integer ops where it takes strings.

    A tagger's graph holds tag ids: comparing them is cheaper than the string ops on the names.
    Padding may carry any id; the spans stop at the first "" token (not checked: the tokens are
    right-padded by construction).
    """
    kinds = sorted({name[2:] for name in tag_names if name[:2] in ("B-", "I-")})
    kind_ids = tf.constant([kinds.index(n[2:]) if n[:2] in ("B-", "I-") else len(kinds) for n in tag_names], tf.int32)
    real = tf.not_equal(tokens, "")
    begin = tf.gather(tf.constant([n.startswith("B-") for n in tag_names]), tag_ids) & real
    inside = tf.gather(tf.constant([n.startswith("I-") for n in tag_names]), tag_ids) & real
    kind = tf.gather(kind_ids, tag_ids)
    return _spans(tokens, begin, inside, kind, tf.gather(tf.constant(kinds + [""], tf.string), kind))


def _spans(tokens, b_tags, i_tags, kind, kind_names) -> dict:
    """The spans of `entity_spans` from booleans B-, I- and a comparable `kind` (its names in `kind_names`).

    Dense ops only (a scatter per output, one segment join for the texts): the ragged version
    of this ran several times as many ops, which a one-sentence request felt.
    """
    inside = b_tags | i_tags
    previous_inside = tf.pad(inside[:, :-1], [[0, 0], [1, 0]])
    previous_kind = tf.concat([kind[:, :1], kind[:, :-1]], 1)  # any value: it counts only after an inside tag
    begins = inside & (b_tags | ~previous_inside | tf.not_equal(previous_kind, kind))
    next_begins = tf.pad(begins[:, 1:], [[0, 0], [0, 1]], constant_values=True)
    next_inside = tf.pad(inside[:, 1:], [[0, 0], [0, 1]])
    ends = inside & (next_begins | ~next_inside)

    # Each inside token belongs to the span its row's latest begin opened: number them per row.
    span_index = tf.cumsum(tf.cast(begins, tf.int32), axis=1) - 1
    num_spans = tf.reduce_sum(tf.cast(begins, tf.int32), axis=1)
    shape = tf.stack([tf.shape(kind)[0], tf.reduce_max(tf.concat([num_spans, [0]], 0))])

    def scatter(at, values):
        """values[at] into (batch, max spans) slots; empty slots hold zeros ("" for strings)."""
        where = tf.where(at)
        slots = tf.stack([tf.cast(where[:, 0], tf.int32), tf.gather_nd(span_index, where)], axis=1)
        return tf.scatter_nd(slots, tf.gather_nd(values, where), shape)

    positions = tf.broadcast_to(tf.range(tf.shape(kind)[1], dtype=tf.int32), tf.shape(kind))
    token_at = tf.where(inside)
    rows = tf.cast(token_at[:, 0], tf.int32)
    texts = tf.strings.unsorted_segment_join(
        tf.gather_nd(tokens, token_at), rows * shape[1] + tf.gather_nd(span_index, token_at),
        num_segments=shape[0] * shape[1], separator=" ")
    return {
        "span_types": scatter(begins, kind_names),
        "span_starts": scatter(begins, positions + 1) - 1,  # -1 in empty slots
        "span_ends": scatter(ends, positions + 1) - 1,
        "span_texts": tf.reshape(texts, shape),
        "num_spans": num_spans,
    }
