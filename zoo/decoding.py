"""Greedy and beam-search decoding as `tf.while_loop` graphs over a step function: no Python loop at serve time.

A step function `step(token_ids (N,), states, context) -> (log_probs (N, vocab), states)` scores the next
token of N hypotheses; `states` is a list of (N, ...) tensors that follows each hypothesis and `context`
a nest of (N, ...) tensors that stays fixed (the encoder outputs and their mask). Decoding starts from
`<BOS>` and a row ends at `<EOS>` or after `max_length` tokens. Results are padded with 0 (`<PAD>`) and
never contain `<EOS>`; a score is the sum of the log-probabilities of a row's tokens, its `<EOS>` included.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import tensorflow as tf

BOS_ID, EOS_ID, PAD_ID = 2, 3, 0
_NEG = -1e9  # the log-probability of what may not happen (not -inf: -inf - -inf is NaN)


class Decoded(NamedTuple):
    """tokens (batch, max_length) int32 padded with 0; lengths (batch,) int32 without `<EOS>`; scores (batch,)."""

    tokens: tf.Tensor
    lengths: tf.Tensor
    scores: tf.Tensor


def length_penalty(length, alpha: float):
    """GNMT's length penalty ((5 + length) / 6) ** alpha (Wu et al., 2016); 1 for alpha = 0."""
    return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, alpha)


def _never_pad_or_bos(log_probs, bos_id):
    """`<PAD>` and `<BOS>` are never outputs: training targets hold neither, but an untrained model may pick them."""
    vocab = tf.range(tf.shape(log_probs)[-1])
    return log_probs + tf.where((vocab == PAD_ID) | (vocab == bos_id), _NEG, 0.0)


def _without_eos(tokens, eos_id):
    tokens = tf.where(tokens == eos_id, tf.zeros_like(tokens), tokens)
    return tokens, tf.reduce_sum(tf.cast(tokens != PAD_ID, tf.int32), axis=-1)


def greedy_decode(step: Callable, states, context, *, max_length, bos_id: int = BOS_ID,
                  eos_id: int = EOS_ID) -> Decoded:
    """The most probable next token at every step, for each row of the batch.

    Args:
        step: the step function (see the module docstring).
        states: the initial states, a list of (batch, ...) tensors.
        context: the fixed inputs of `step`, a nest of (batch, ...) tensors.
        max_length: the most tokens a row gets, `<EOS>` included (a scalar, may be a tensor).
    """
    batch = tf.shape(tf.nest.flatten(states)[0])[0]
    max_length = tf.cast(max_length, tf.int32)
    tokens = tf.zeros([batch, max_length], tf.int32)
    last = tf.fill([batch], tf.constant(bos_id, tf.int32))
    done = tf.zeros([batch], tf.bool)
    scores = tf.zeros([batch], tf.float32)

    def body(t, tokens, last, done, scores, states):
        log_probs, new_states = step(last, states, context)
        log_probs = _never_pad_or_bos(log_probs, bos_id)
        best = tf.cast(tf.argmax(log_probs, axis=-1, output_type=tf.int64), tf.int32)
        best = tf.where(done, PAD_ID, best)
        scores += tf.where(done, 0.0, tf.gather(log_probs, best, batch_dims=1))
        tokens += best[:, None] * tf.one_hot(t, max_length, dtype=tf.int32)[None, :]
        return t + 1, tokens, best, done | (best == eos_id), scores, new_states

    _, tokens, _, _, scores, _ = tf.while_loop(
        lambda t, tokens, last, done, scores, states: (t < max_length) & ~tf.reduce_all(done),
        body, (tf.constant(0), tokens, last, done, scores, list(states)))
    tokens, lengths = _without_eos(tokens, eos_id)
    return Decoded(tokens, lengths, scores)


def beam_search(step: Callable, states, context, *, beam_width: int, max_length, alpha: float = 0.6,
                bos_id: int = BOS_ID, eos_id: int = EOS_ID) -> Decoded:
    """The best of `beam_width` hypotheses kept per row, ranked by log-probability / GNMT length penalty.

    Each step extends every live hypothesis by every token and keeps the `beam_width` best candidates
    of the row, ranked by `score / length_penalty(length, alpha)`. Within one step the live candidates
    all have the same length, so the penalty only matters between finished and live ones. A finished
    hypothesis is frozen: its only continuation is `<PAD>` at log-probability 0, so it keeps its score and
    length and competes for a slot until the end. The encoder context is repeated once per beam and never
    reordered (all beams of a row share it); the recurrent states follow their hypotheses.

    Args:
        step, states, context, max_length: as for `greedy_decode`.
        beam_width: hypotheses kept per row (1 gives `greedy_decode`'s result).
        alpha: the length-penalty exponent (0: plain log-probabilities, which favour short outputs).

    Returns:
        The best hypothesis of each row, its score the sum of its log-probabilities (unpenalised).
    """
    if beam_width < 1:
        raise ValueError(f"beam_width must be >= 1. Received: beam_width={beam_width}")
    k = beam_width
    batch = tf.shape(tf.nest.flatten(states)[0])[0]
    max_length = tf.cast(max_length, tf.int32)
    repeat = lambda x: tf.repeat(x, k, axis=0)  # noqa: E731 -- row b's beams are rows b*k .. b*k + k-1
    states, context = tf.nest.map_structure(repeat, list(states)), tf.nest.map_structure(repeat, context)
    tokens = tf.zeros([batch, k, max_length], tf.int32)
    last = tf.fill([batch * k], tf.constant(bos_id, tf.int32))
    # Only beam 0 is live at first, so the first step does not pick the same token k times.
    scores = tf.tile(tf.concat([[0.0], tf.fill([k - 1], _NEG)], axis=0)[None, :], [batch, 1])
    lengths = tf.zeros([batch, k], tf.int32)
    done = tf.zeros([batch, k], tf.bool)

    def body(t, tokens, last, scores, lengths, done, states):
        log_probs, new_states = step(last, states, context)
        vocab = tf.shape(log_probs)[-1]
        log_probs = tf.reshape(_never_pad_or_bos(log_probs, bos_id), [batch, k, vocab])
        frozen = tf.where(tf.range(vocab) == PAD_ID, 0.0, _NEG)
        log_probs = tf.where(done[:, :, None], frozen[None, None, :], log_probs)
        candidates = scores[:, :, None] + log_probs
        grown = tf.where(done, lengths, lengths + 1)[:, :, None]
        ranking = candidates / length_penalty(grown, alpha)
        _, picked = tf.math.top_k(tf.reshape(ranking, [batch, k * vocab]), k=k)
        parent, token = picked // vocab, picked % vocab
        scores = tf.gather(tf.reshape(candidates, [batch, k * vocab]), picked, batch_dims=1)
        lengths = tf.gather(tf.reshape(tf.broadcast_to(grown, [batch, k, vocab]), [batch, k * vocab]), picked,
                            batch_dims=1)
        done = tf.gather(done, parent, batch_dims=1) | (token == eos_id)
        tokens = tf.gather(tokens, parent, batch_dims=1) + token[:, :, None] * tf.one_hot(t, max_length,
                                                                                            dtype=tf.int32)
        rows = tf.reshape(parent + tf.range(batch)[:, None] * k, [-1])
        new_states = [tf.gather(s, rows) for s in new_states]
        return t + 1, tokens, tf.reshape(token, [-1]), scores, lengths, done, new_states

    _, tokens, _, scores, lengths, _, _ = tf.while_loop(
        lambda t, tokens, last, scores, lengths, done, states: (t < max_length) & ~tf.reduce_all(done),
        body, (tf.constant(0), tokens, last, scores, lengths, done, states))
    best = tf.argmax(scores / length_penalty(lengths, alpha), axis=-1, output_type=tf.int32)
    tokens, lengths = _without_eos(tf.gather(tokens, best, batch_dims=1), eos_id)
    return Decoded(tokens, lengths, tf.gather(scores, best, batch_dims=1))
