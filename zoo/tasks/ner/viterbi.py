"""A CRF tagger's decoding for exported graphs: the Viterbi path and each chosen tag's marginal probability.

The same values as `zoo.layers.crf.viterbi_decode` and `crf_marginals` gathered at the path (tags
exactly; probabilities within 1e-4), with far fewer ops: a tagger's serving time at batch 1 goes
mostly to per-step overhead, not arithmetic. So everything that does not depend on the previous
step is computed for all steps at once before the loop, and one loop does all four recursions:

- Viterbi as max-marginals: the best score of a path ending in each tag (forward) and of the best
  continuation from each tag (backward); the best path's tag at each step is the argmax of their
  sum (the path is unique but for exact ties of float scores), so no back-pointers are kept and no
  second loop follows them.
- The forward and the backward algorithm in scaled probability space (the classic HMM scaling: each
  step's vector normalised to sum 1), whose products are proportional to the marginals.

Each backward recursion runs forward over each sentence reversed, so padding (at the end of both)
never enters a real step's values, and side by side with its forward one both are one product with a
block-diagonal matrix: in log space `max(u + [[T, -inf], [-inf, T']])`, in probability space a matrix
product. The loop takes `UNROLL` steps per iteration (fewer iterations, fewer control ops).
TensorFlow ops, as export code is.
"""

from __future__ import annotations

import tensorflow as tf


# Steps per loop iteration (benchmarks/README.md: at batch 1 each iteration's control ops cost about
# as much as its arithmetic).
UNROLL = 4


def _normalised(values, axis=-1):
    return values / tf.reduce_sum(values, axis, keepdims=True)


def _block_diagonal(matrix, off):
    """[[matrix, off], [off, matrix^T]] for a (tags, tags) `matrix` and a scalar `off`."""
    fill = tf.fill(tf.shape(matrix), off)
    return tf.concat([tf.concat([matrix, fill], 1), tf.concat([fill, tf.transpose(matrix)], 1)], 0)


def decode_with_marginals(emissions, mask, transitions, start, end) -> tuple[tf.Tensor, tf.Tensor]:
    """(best tag path, (batch, time) int32; p(tag_t = path_t | sentence), (batch, time)).

    Shapes as in `zoo.layers.crf`; at least two time steps. Tags and probabilities at padding are meaningless.
    """
    emissions = tf.convert_to_tensor(emissions, tf.float32)
    width = tf.shape(emissions)[1]
    # 1 + a multiple of UNROLL steps: after the first, the loop takes UNROLL at a time (extra steps are padding).
    extra = (UNROLL - (width - 1) % UNROLL) % UNROLL
    emissions = tf.pad(emissions, [[0, 0], [0, extra], [0, 0]])
    mask = tf.pad(tf.cast(mask, tf.bool), [[0, 0], [0, extra]])
    batch, steps = tf.shape(emissions)[0], tf.shape(emissions)[1]
    tags = emissions.shape[-1] or tf.shape(emissions)[2]  # static in a tagger's graph: fewer ops below
    groups = (steps - 1) // UNROLL
    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), 1)

    def reverse(values):  # each sentence reversed up to its length; padding stays at the end
        return tf.reverse_sequence(values, lengths, seq_axis=1, batch_axis=0)

    def by_group(forward, backward):  # (batch, time, tags) twice -> (groups, UNROLL, batch, 2 tags), steps 1..
        values = tf.transpose(tf.concat([forward, backward], -1)[:, 1:], [1, 0, 2])
        return tf.reshape(values, [groups, UNROLL, batch, 2 * tags])

    # Log space. Forward: u_t = max_i(u_{t-1}[i] + T[i, j]) + e_t[j], u_0 = start + e_0. Backward, step r
    # of the reversed sentence: v_r = max_j(v_{r-1}[j] + T[i, j]) + e'_r[i], v_0 = end + e'_0 (e' the
    # reversed emissions); the backward max-marginal at r is v_r - e'_r. Both: u_t = max(u_{t-1} (x) B) + f_t.
    reversed_emissions = reverse(emissions)
    log_factors = by_group(emissions, reversed_emissions)
    # Probability space, the same recursions with each step's emissions scaled to a maximum of 1.
    scaled = tf.exp(emissions - tf.reduce_max(emissions, -1, keepdims=True))
    reversed_scaled = reverse(scaled)
    factors = by_group(scaled, reversed_scaled)
    # Both block-diagonal matrices in one tensor: the loop carries each tensor it reads at some cost per iteration.
    matrices = tf.stack([_block_diagonal(transitions, float("-inf")),
                         _block_diagonal(tf.exp(transitions - tf.reduce_max(transitions)), 0.0)])
    # Each half of a (batch, 2 tags) vector to sum 1, as one product: `halves` sums within each half.
    halves = tf.cast(tf.range(2 * tags)[:, None] // tags == tf.range(2 * tags) // tags, tf.float32)

    delta0 = start + emissions[:, 0]
    end0 = tf.broadcast_to(end, tf.shape(delta0))
    alpha0 = _normalised(tf.exp(delta0 - tf.reduce_max(delta0, -1, keepdims=True)))
    gamma0 = _normalised(tf.exp(end0 - tf.reduce_max(end)))

    def body(i, scores, vectors, kept):
        # Steps 1 + i * UNROLL .. (i + 1) * UNROLL, written together at i: fewer iterations, fewer control ops.
        log_both, both = tf.unstack(matrices)
        bests, raws = [], []
        for log_factor, factor in zip(tf.unstack(log_factors[i], UNROLL), tf.unstack(factors[i], UNROLL)):
            best = tf.reduce_max(scores[:, :, None] + log_both, 1)
            raw = tf.matmul(vectors, both)
            raw = raw / tf.matmul(raw, halves)
            raw.set_shape(vectors.shape)
            scores, vectors = best + log_factor, raw * factor
            # Kept per step: the best scores before its emissions, the probabilities before its factors.
            bests.append(best)
            raws.append(raw)
        return i + 1, scores, vectors, kept.write(i, tf.concat([tf.stack(bests), tf.stack(raws)], -1))

    scores0 = tf.concat([delta0, end0 + reversed_emissions[:, 0]], -1)
    vectors0 = tf.concat([alpha0, gamma0 * reversed_scaled[:, 0]], -1)
    _, _, _, kept = tf.while_loop(lambda i, *_: i < groups, body,
                                  (0, scores0, vectors0, tf.TensorArray(tf.float32, groups)))
    first = tf.concat([start + tf.zeros_like(delta0), end0, alpha0, gamma0], -1)  # step 0's kept values
    kept = tf.concat([first[None], tf.reshape(kept.stack(), [steps - 1, batch, 4 * tags])], 0)
    kept = tf.transpose(kept, [1, 0, 2])  # (batch, time, 4 tags)
    path = tf.argmax((kept[:, :, :tags] + emissions) + reverse(kept[:, :, tags:2 * tags]), -1, output_type=tf.int32)
    alphas = kept[:, :, 2 * tags:3 * tags] * tf.pad(scaled[:, 1:], [[0, 0], [1, 0], [0, 0]], constant_values=1.0)
    betas = reverse(kept[:, :, 3 * tags:])
    marginals = tf.gather(_normalised(alphas * betas), path, batch_dims=2)
    return path[:, :width], marginals[:, :width]
