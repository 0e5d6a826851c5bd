"""Serving-only kernels for a Keras `Bidirectional(LSTM)`: each direction as one fused `BlockLSTMV2` op.

Keras's generic LSTM kernel runs a `tf.while_loop` of about twenty ops per step and direction; at
batch 1 a tagger's time goes mostly to that per-step overhead. `BlockLSTMV2` (TensorFlow core, in
the stock ModelServer) runs a whole sequence in one op. Same trained weights, same outputs (within
float32 rounding): the op's V2 takes Keras's gate order (i, f, c, o; V1's was i, c, f, o); the backward
direction reads each sentence reversed up to its length (`tf.reverse_sequence`), as Keras's reversal
of a right-padded sequence does; masked steps output zeros, as `Bidirectional` forces
(`zero_output_for_mask`). Export code only: training keeps the Keras layers.
"""

from __future__ import annotations

import contextlib

import tensorflow as tf


def fusable(layer) -> bool:
    """Whether `layer` is a `Bidirectional(LSTM)` that `bidirectional_block_lstm` computes exactly."""
    import keras

    if not isinstance(layer, keras.layers.Bidirectional) or layer.merge_mode != "concat":
        return False
    for direction, backwards in ((layer.forward_layer, False), (layer.backward_layer, True)):
        if not isinstance(direction, keras.layers.LSTM) or direction.go_backwards != backwards:
            return False
        cell = direction.cell
        # float32 only: under a mixed-precision policy the layer computes in float16, its
        # variables are float32.
        if (direction.compute_dtype != "float32" or not direction.return_sequences
                or direction.stateful or not cell.use_bias
                or cell.activation is not keras.activations.tanh
                or cell.recurrent_activation is not keras.activations.sigmoid):
            return False
    return True


def _block_weights(cell) -> tuple[tf.Tensor, tf.Tensor]:
    """(w, b) of `BlockLSTMV2` from a Keras LSTM cell: w is [kernel; recurrent_kernel] (it multiplies [x, h])."""
    return tf.concat([cell.kernel, cell.recurrent_kernel], axis=0), tf.convert_to_tensor(cell.bias)


def _direction(cell, inputs: tf.Tensor, lengths: tf.Tensor, backwards: bool) -> tf.Tensor:
    """Hidden states, (time, batch, units), of one direction over time-major `inputs`."""
    if backwards:
        inputs = tf.reverse_sequence(inputs, lengths, seq_axis=0, batch_axis=1)
    w, b = _block_weights(cell)
    zeros = tf.zeros([tf.shape(inputs)[1], cell.units], inputs.dtype)
    no_peephole = tf.zeros([cell.units], inputs.dtype)
    outputs = tf.raw_ops.BlockLSTMV2(
        seq_len_max=tf.cast(tf.shape(inputs)[0], tf.int64), x=inputs, cs_prev=zeros, h_prev=zeros, w=w,
        wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=b, cell_clip=0.0, use_peephole=False)
    hidden = outputs[6]
    return tf.reverse_sequence(hidden, lengths, seq_axis=0, batch_axis=1) if backwards else hidden


def bidirectional_block_lstm(layer, sequences: tf.Tensor, mask: tf.Tensor | None) -> tf.Tensor:
    """`layer(sequences, mask=mask, training=False)` of a `fusable` layer, for right-padded masks.

    Args:
        layer: a `fusable` `Bidirectional(LSTM)`.
        sequences: (batch, time, features) inputs.
        mask: (batch, time) boolean, True on each sentence's first `length` steps; None for none.
    """
    sequences = tf.convert_to_tensor(sequences)
    batch, steps = tf.shape(sequences)[0], tf.shape(sequences)[1]
    if mask is None:
        mask = tf.ones([batch, steps], tf.bool)
    mask = tf.cast(mask, tf.bool)
    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    time_major = tf.transpose(sequences, [1, 0, 2])
    hidden = tf.concat([_direction(layer.forward_layer.cell, time_major, lengths, False),
                        _direction(layer.backward_layer.cell, time_major, lengths, True)], axis=-1)
    return tf.transpose(hidden, [1, 0, 2]) * tf.cast(mask, hidden.dtype)[:, :, None]


@contextlib.contextmanager
def block_lstm_kernels(model):
    """Traces a Keras model's `fusable` `Bidirectional(LSTM)` layers with `bidirectional_block_lstm`.

    For exported graphs whose masks are right padding (a tagger's); other calls of a layer, with
    an initial state, keep the layer's own `call`.
    """
    layers = [layer for layer in model._flatten_layers(include_self=False) if fusable(layer)]

    def fused_call(layer, original):
        def call(sequences, initial_state=None, mask=None, training=None):
            if initial_state is not None:
                return original(sequences, initial_state=initial_state, mask=mask, training=training)
            return bidirectional_block_lstm(layer, sequences, mask)
        return call

    for layer in layers:
        layer.call = fused_call(layer, layer.call)
    try:
        yield
    finally:
        for layer in layers:
            del layer.call
