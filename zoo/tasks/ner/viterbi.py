"""A CRF tagger's decoding for exported graphs: the Viterbi path and each chosen tag's marginal probability.

The same values as `zoo.layers.crf.viterbi_decode` and `crf_marginals` gathered at the path (tags
exactly; probabilities within 1e-4), with far fewer ops: a tagger's serving time at batch 1 goes
mostly to per-step overhead, not arithmetic. So everything that does not depend on the previous
step is computed for all steps at once before the loop:

- Viterbi in log space, with each step's transition and emission scores folded into one (tag, tag)
  matrix; at padding that matrix is 0 on the diagonal and -inf elsewhere, so the path stays on its
  tag and no `where` runs inside the loop.
- The forward and the backward algorithm in scaled probability space (the classic HMM scaling: each
  step's vector normalised to sum 1), whose products are proportional to the marginals. The
  backward one runs forward over each sentence reversed, so padding (at the end of both) never
  enters a real step's sums; side by side, both are one product with a block-diagonal matrix.

One `tf.while_loop` runs the recursions, `UNROLL` steps per iteration (fewer iterations, fewer
control ops); a second one follows the back-pointers, as many steps at a time.
TensorFlow ops, as export code is.
"""

from __future__ import annotations

import tensorflow as tf


# Steps per loop iteration (benchmarks/README.md: at batch 1 each iteration's control ops cost about
# as much as its arithmetic).
UNROLL = 4


def _normalised(values, axis=-1):
    return values / tf.reduce_sum(values, axis, keepdims=True)


def decode_with_marginals(emissions, mask, transitions, start, end) -> tuple[tf.Tensor, tf.Tensor]:
    """(best tag path, (batch, time) int32; p(tag_t = path_t | sentence), (batch, time)).

    Shapes as in `zoo.layers.crf`; at least two time steps. Probabilities at padding are meaningless.
    """
    emissions = tf.convert_to_tensor(emissions, tf.float32)
    width = tf.shape(emissions)[1]
    # 1 + a multiple of UNROLL steps: after the first, the loops take UNROLL at a time (extra steps are padding).
    extra = (UNROLL - (width - 1) % UNROLL) % UNROLL
    emissions = tf.pad(emissions, [[0, 0], [0, extra], [0, 0]])
    mask = tf.pad(tf.cast(mask, tf.bool), [[0, 0], [0, extra]])
    batch, steps, tags = tf.shape(emissions)[0], tf.shape(emissions)[1], tf.shape(emissions)[2]
    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), 1)
    real = tf.transpose(mask)[:, :, None, None]  # (time, batch, 1, 1)
    # Viterbi step t's scores, (time, batch, previous tag, tag); row 0 is unused.
    log_steps = tf.where(real, transitions + tf.transpose(emissions, [1, 0, 2])[:, :, None, :],
                         tf.where(tf.range(tags)[:, None] == tf.range(tags), 0.0, float("-inf")))
    # Scaled probabilities. The backward recursion runs forward over each sentence reversed (padding,
    # at the end of both, never enters the real steps' sums), beside the forward one: their vectors
    # side by side times a block-diagonal [[T, 0], [0, T']] are both recursions in one matrix product.
    scaled = tf.exp(emissions - tf.reduce_max(emissions, -1, keepdims=True))
    reversed_scaled = tf.reverse_sequence(scaled, lengths, seq_axis=1, batch_axis=0)
    # Step t multiplies the forward vector after the product by scaled[t] and the backward one
    # before it by reversed_scaled[t - 1]: as a product's factor, the latter joins step t - 1.
    factors = tf.transpose(tf.concat([scaled, reversed_scaled], -1), [1, 0, 2])  # (time, batch, 2 tags)
    exp_transitions = tf.exp(transitions - tf.reduce_max(transitions))
    zeros = tf.zeros_like(exp_transitions)
    both = tf.concat([tf.concat([exp_transitions, zeros], 1), tf.concat([zeros, tf.transpose(exp_transitions)], 1)], 0)
    delta0 = start + emissions[:, 0]
    alpha0 = _normalised(tf.exp(delta0 - tf.reduce_max(delta0, -1, keepdims=True)))
    gamma0 = _normalised(tf.broadcast_to(tf.exp(end - tf.reduce_max(end)), tf.shape(delta0)))

    def halves_normalised(values):  # (batch, 2 tags), each half to sum 1
        return tf.reshape(_normalised(tf.reshape(values, [batch, 2, tags])), tf.shape(values))

    def step(t, delta, vectors):
        # vectors: [alpha_{t-1}, gamma_{t-1} times reversed_scaled[t - 1]] (gamma: the reversed recursion).
        scores = delta[:, :, None] + log_steps[t]
        raw = halves_normalised(tf.matmul(vectors, both))  # [alpha_t before its factor, gamma_t]
        raw.set_shape(vectors.shape)
        return tf.reduce_max(scores, 1), raw * factors[t], raw, tf.argmax(scores, 1, output_type=tf.int32)

    def forward(t, delta, vectors, pointers, raws):
        # Steps t .. t + UNROLL - 1, written together at (t - 1) / UNROLL: fewer iterations, fewer control ops.
        new_pointers, new_raws = [], []
        for k in range(UNROLL):
            delta, vectors, raw, pointer = step(t + k, delta, vectors)
            new_pointers.append(pointer)
            new_raws.append(raw)
        i = (t - 1) // UNROLL
        return t + UNROLL, delta, vectors, pointers.write(i, tf.stack(new_pointers)), raws.write(i, tf.stack(new_raws))

    groups = (steps - 1) // UNROLL
    # The forward vector's factor for step 0 is in alpha0; the backward one's is reversed_scaled[0].
    vectors0 = tf.concat([alpha0, gamma0 * reversed_scaled[:, 0]], -1)
    _, delta, _, pointers, raws = tf.while_loop(
        lambda t, *_: t < steps, forward,
        (1, delta0, vectors0, tf.TensorArray(tf.int32, groups), tf.TensorArray(tf.float32, groups)))

    def steps_of(array, first):  # (groups, UNROLL, batch, n) -> (time, batch, n), step 0 = first
        return tf.concat([first[None], tf.reshape(array.stack(), [steps - 1, batch, -1])], 0)

    pointers = steps_of(pointers, tf.zeros_like(delta0, tf.int32))
    last = tf.argmax(delta + end, 1, output_type=tf.int32)

    def backward(t, tag, path):
        # Tags at t, t - 1, ..., t - UNROLL + 1, from the pointers at t + 1 .. t - UNROLL + 2, written together.
        tags = []
        for k in range(UNROLL):
            tag = tf.gather(pointers[t + 1 - k], tag, batch_dims=1)
            tags.append(tag)
        return t - UNROLL, tag, path.write(t // UNROLL, tf.stack(tags[::-1]))

    # Tags at steps - 2 down to 0, UNROLL at a time.
    _, _, path = tf.while_loop(lambda t, *_: t >= 0, backward, (steps - 2, last, tf.TensorArray(tf.int32, groups)))
    path = tf.transpose(tf.concat([tf.reshape(path.stack(), [steps - 1, batch]), last[None]], 0))
    raws = tf.transpose(steps_of(raws, tf.concat([alpha0, gamma0], -1)), [1, 0, 2])  # (batch, time, 2 tags)
    alphas = raws[:, :, :tags] * tf.pad(scaled[:, 1:], [[0, 0], [1, 0], [0, 0]], constant_values=1.0)
    betas = tf.reverse_sequence(raws[:, :, tags:], lengths, seq_axis=1, batch_axis=0)
    marginals = tf.gather(_normalised(alphas * betas), path, batch_dims=2)
    return path[:, :width], marginals[:, :width]
