"""A linear-chain CRF: pure `keras.ops` functions plus a thin layer that owns the transition weights.

Shapes: emissions (batch, time, K) unary scores, tags (batch, time) ints, mask (batch, time)
booleans with real tokens first (padding only at the end). Parameters: `transitions[i, j]` scores
tag i followed by tag j, `start[j]` a sentence starting with j, `end[i]` one ending with i.
"""

from __future__ import annotations

import keras
from keras import ops


def _time_major(x):
    return ops.moveaxis(x, 1, 0)


def _later_steps(emissions, mask):
    """Steps 1.. as one time-major tensor: emissions with the mask as a last channel.

    One tensor rather than a pair because keras.ops.scan on TensorFlow fails to check the
    lengths of several inputs whose time dimension is unknown.
    """
    packed = ops.concatenate([emissions, ops.expand_dims(ops.cast(mask, emissions.dtype), -1)], axis=-1)
    return _time_major(packed[:, 1:])


def _unpack(step):
    return step[..., :-1], step[..., -1] > 0.5


def crf_sequence_score(emissions, tags, mask, transitions, start, end):
    """Unnormalised score of the given tag paths, (batch,)."""
    mask = ops.cast(mask, emissions.dtype)
    tags = ops.where(mask > 0, ops.cast(tags, "int32"), 0)
    unary = ops.squeeze(ops.take_along_axis(emissions, ops.expand_dims(tags, -1), axis=-1), -1)
    score = ops.sum(unary * mask, axis=1)
    pair = ops.take(ops.reshape(transitions, [-1]), tags[:, :-1] * ops.shape(transitions)[0] + tags[:, 1:])
    score = score + ops.sum(pair * mask[:, 1:], axis=1)
    lengths = ops.cast(ops.sum(mask, axis=1), "int32")
    last = ops.squeeze(ops.take_along_axis(tags, ops.expand_dims(ops.maximum(lengths - 1, 0), -1), axis=1), -1)
    return score + ops.take(start, tags[:, 0]) + ops.take(end, last)


def crf_forward(emissions, mask, transitions, start):
    """Forward log-scores alpha (batch, time, K); padded steps repeat the last real step's values."""
    mask = ops.cast(mask, "bool")

    def step(alpha, inputs):
        emission, keep = _unpack(inputs)
        scores = ops.logsumexp(ops.expand_dims(alpha, 2) + transitions, axis=1) + emission
        alpha = ops.where(ops.expand_dims(keep, -1), scores, alpha)
        return alpha, alpha

    alpha0 = start + emissions[:, 0]
    _, alphas = ops.scan(step, alpha0, _later_steps(emissions, mask))
    return ops.concatenate([ops.expand_dims(alpha0, 1), _time_major(alphas)], axis=1)


def crf_log_norm(emissions, mask, transitions, start, end):
    """log Z, the log-sum over all tag paths of each sentence, (batch,)."""
    alphas = crf_forward(emissions, mask, transitions, start)
    return ops.logsumexp(alphas[:, -1] + end, axis=-1)


def crf_log_likelihood(emissions, tags, mask, transitions, start, end):
    """log p(tags | emissions) for each sentence, (batch,)."""
    return crf_sequence_score(emissions, tags, mask, transitions, start, end) - crf_log_norm(
        emissions, mask, transitions, start, end
    )


def crf_marginals(emissions, mask, transitions, start, end):
    """p(tag_t = k | sentence) by forward-backward, (batch, time, K); rows at padding are meaningless."""
    mask = ops.cast(mask, "bool")
    alphas = crf_forward(emissions, mask, transitions, start)
    log_z = ops.logsumexp(alphas[:, -1] + end, axis=-1)

    def step(beta, inputs):
        emission, keep = _unpack(inputs)  # of step t+1, giving beta at step t
        scores = ops.logsumexp(transitions + ops.expand_dims(emission + beta, 1), axis=2)
        beta = ops.where(ops.expand_dims(keep, -1), scores, beta)
        return beta, beta

    end_beta = ops.broadcast_to(end, ops.shape(emissions[:, 0]))
    _, betas = ops.scan(step, end_beta, _later_steps(emissions, mask), reverse=True)
    betas = ops.concatenate([_time_major(betas), ops.expand_dims(end_beta, 1)], axis=1)
    return ops.exp(alphas + betas - log_z[:, None, None])


def viterbi_decode(emissions, mask, transitions, start, end):
    """The best tag path of each sentence, (batch, time) int32, and its score, (batch,)."""
    mask = ops.cast(mask, "bool")
    num_tags = ops.shape(transitions)[0]
    identity = ops.arange(num_tags, dtype="int32")

    def forward(carry, inputs):
        delta, _ = carry
        emission, keep = _unpack(inputs)
        scores = ops.expand_dims(delta, 2) + transitions
        best = ops.max(scores, axis=1) + emission
        pointers = ops.cast(ops.argmax(scores, axis=1), "int32")
        keep = ops.expand_dims(keep, -1)
        # At padding the path stays on its tag: identity back-pointers, unchanged scores.
        carry = ops.where(keep, best, delta), ops.where(keep, pointers, identity)
        return carry, carry  # keras.ops.scan wants outputs shaped like the carry

    delta0 = start + emissions[:, 0]
    init = (delta0, ops.broadcast_to(identity, ops.shape(delta0)))
    (delta, _), (_, pointers) = ops.scan(forward, init, _later_steps(emissions, mask))
    final = delta + end
    last = ops.cast(ops.argmax(final, axis=-1), "int32")

    def backward(tag, step_pointers):
        previous = ops.squeeze(ops.take_along_axis(step_pointers, ops.expand_dims(tag, -1), axis=1), -1)
        return previous, previous

    _, earlier = ops.scan(backward, last, pointers, reverse=True)
    path = ops.concatenate([_time_major(earlier), ops.expand_dims(last, 1)], axis=1)
    return path, ops.max(final, axis=-1)


@keras.saving.register_keras_serializable(package="zoo")
class CRF(keras.layers.Layer):
    """Linear-chain CRF head: passes emissions through and owns transition, start and end scores.

    Use `crf.loss` as the model's loss (mean negative log-likelihood per sentence; labels -1 at
    padding) and `crf.decode` for Viterbi paths. The output carries no Keras mask: the loss
    reads padding from the labels.

    Args:
        num_tags: number of tags K.
    """

    def __init__(self, num_tags: int, **kwargs):
        super().__init__(**kwargs)
        if num_tags < 1:
            raise ValueError(f"num_tags must be >= 1. Received: num_tags={num_tags}")
        self.num_tags = num_tags

    def build(self, input_shape):
        if input_shape[-1] != self.num_tags:
            raise ValueError(f"CRF expects {self.num_tags} emission scores per token. Received: input_shape={input_shape}")
        self.transitions = self.add_weight(shape=(self.num_tags, self.num_tags), initializer="glorot_uniform", name="transitions")
        self.start = self.add_weight(shape=(self.num_tags,), initializer="zeros", name="start")
        self.end = self.add_weight(shape=(self.num_tags,), initializer="zeros", name="end")

    def call(self, emissions):
        # A new tensor: the input one may carry a Keras mask that would reach the loss.
        return ops.copy(emissions)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return input_shape

    def loss(self, y_true, y_pred):
        """Mean over sentences of -log p(gold path); `y_pred` are the emissions, `y_true` -1 at padding."""
        mask = ops.greater_equal(y_true, 0)
        return -crf_log_likelihood(y_pred, y_true, mask, self.transitions, self.start, self.end)

    def decode(self, emissions, mask):
        return viterbi_decode(emissions, mask, self.transitions, self.start, self.end)[0]

    def marginals(self, emissions, mask):
        return crf_marginals(emissions, mask, self.transitions, self.start, self.end)

    def get_config(self):
        return {**super().get_config(), "num_tags": self.num_tags}
