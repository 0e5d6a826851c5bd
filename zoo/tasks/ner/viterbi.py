"""A CRF tagger's decoding for exported graphs: the Viterbi path and each chosen tag's marginal probability.

The same values as `zoo.layers.crf.viterbi_decode` and `crf_marginals` gathered at the path (tags
exactly; probabilities within 1e-4), with far fewer ops: a tagger's serving time at batch 1
goes mostly to per-step overhead, not arithmetic. One `tf.while_loop` runs Viterbi, the forward
algorithm and, from the other end, the backward algorithm together; a second one follows the
back-pointers. The log-sums over the previous tag are matrix products in a shifted exponential
space (`log(exp(alpha - max) @ exp(transitions)) + max`). TensorFlow ops, as export code is.
"""

from __future__ import annotations

import tensorflow as tf


def decode_with_marginals(emissions, mask, transitions, start, end) -> tuple[tf.Tensor, tf.Tensor]:
    """(best tag path, (batch, time) int32; p(tag_t = path_t | sentence), (batch, time)).

    Shapes as in `zoo.layers.crf`; at least two time steps. Probabilities at padding are meaningless.
    """
    steps = tf.shape(emissions)[1]
    emissions = tf.transpose(emissions, [1, 0, 2])  # time-major
    keep = tf.transpose(tf.cast(mask, tf.bool))[:, :, None]
    exp_transitions = tf.exp(transitions)
    identity = tf.range(tf.shape(transitions)[0])
    delta0 = alpha0 = start + emissions[0]
    end_beta = tf.broadcast_to(end, tf.shape(delta0))

    def forward(t, delta, alpha, beta, pointers, alphas, betas):
        emission, real = emissions[t], keep[t]
        scores = delta[:, :, None] + transitions
        # At padding the path stays on its tag and the sums keep their values (as in zoo.layers.crf).
        pointers = pointers.write(t - 1, tf.where(real, tf.argmax(scores, 1, output_type=tf.int32), identity))
        delta = tf.where(real, tf.reduce_max(scores, 1) + emission, delta)
        shift = tf.reduce_max(alpha, 1, keepdims=True)
        alpha = tf.where(real, tf.math.log(tf.matmul(tf.exp(alpha - shift), exp_transitions)) + shift + emission, alpha)
        later = steps - t  # beta at later - 1, from step `later`
        after = emissions[later] + beta
        shift = tf.reduce_max(after, 1, keepdims=True)
        beta = tf.where(keep[later], tf.math.log(tf.matmul(tf.exp(after - shift), exp_transitions, transpose_b=True))
                        + shift, beta)
        return t + 1, delta, alpha, beta, pointers, alphas.write(t, alpha), betas.write(later - 1, beta)

    arrays = (tf.TensorArray(tf.int32, steps - 1), tf.TensorArray(tf.float32, steps).write(0, alpha0),
              tf.TensorArray(tf.float32, steps).write(steps - 1, end_beta))
    _, delta, _, _, pointers, alphas, betas = tf.while_loop(lambda t, *_: t < steps, forward,
                                                            (1, delta0, alpha0, end_beta, *arrays))
    last = tf.argmax(delta + end, 1, output_type=tf.int32)
    pointers = pointers.stack()

    def backward(t, tag, path):
        tag = tf.gather(pointers[t], tag, batch_dims=1)
        return t - 1, tag, path.write(t, tag)

    _, _, path = tf.while_loop(lambda t, *_: t >= 0, backward,
                               (steps - 2, last, tf.TensorArray(tf.int32, steps).write(steps - 1, last)))
    path = tf.transpose(path.stack())
    alphas, betas = tf.transpose(alphas.stack(), [1, 0, 2]), tf.transpose(betas.stack(), [1, 0, 2])
    log_z = tf.reduce_logsumexp(alphas[:, -1] + end, 1)
    return path, tf.exp(tf.gather(alphas + betas, path, batch_dims=2) - log_z[:, None])
