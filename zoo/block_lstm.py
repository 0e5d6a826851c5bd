"""Serving-only kernels for a Keras `Bidirectional(LSTM)`: each direction as one fused `BlockLSTMV2` op.

Keras's generic LSTM kernel runs a `tf.while_loop` of about twenty ops per step and direction; at
batch 1 a tagger's time goes mostly to that per-step overhead. `BlockLSTMV2` (TensorFlow core, in
the stock ModelServer) runs a whole sequence in one op. Same trained weights, same outputs (within
float32 rounding): the op's V2 takes Keras's gate order (i, f, c, o; V1's was i, c, f, o); the backward
direction reads each sentence reversed up to its length (`tf.reverse_sequence`), as Keras's reversal
of a right-padded sequence does; masked steps output zeros, as `Bidirectional` forces
(`zero_output_for_mask`). Export code only: training keeps the Keras layers.

The op multiplies `[x, h]` by one matrix, `[kernel; recurrent_kernel]`. Read from the layer, that
matrix is concatenated on every call (a copy of the whole kernel, about 0.1 ms of a one-sentence
request); `snapshot_weights` keeps it in variables instead, for graphs that are exported once the
training is over.
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


def _block_kernel(cell) -> tf.Tensor:
    """`BlockLSTMV2`'s w from a Keras LSTM cell: [kernel; recurrent_kernel] (it multiplies [x, h])."""
    return tf.concat([cell.kernel, cell.recurrent_kernel], axis=0)


def _directions(layer) -> dict:
    """{key: cell} of a `fusable` layer's two directions; the keys name `snapshot_weights`' variables."""
    return {f"{layer.name}_forward": layer.forward_layer.cell, f"{layer.name}_backward": layer.backward_layer.cell}


def snapshot_weights(model) -> dict[str, tf.Variable]:
    """Each `fusable` layer's `BlockLSTMV2` kernels as they are now, as variables, for `block_lstm_kernels`.

    A graph that reads them no longer follows the layers' own weights: take the snapshot once the
    training is over (an exported graph), never for a graph that runs while a model trains.
    """
    return {key: tf.Variable(_block_kernel(cell), trainable=False, name=key)
            for layer in model._flatten_layers(include_self=False) if fusable(layer)
            for key, cell in _directions(layer).items()}


def _direction(cell, inputs: tf.Tensor, lengths: tf.Tensor, backwards: bool, w=None) -> tf.Tensor:
    """Hidden states, (time, batch, units), of one direction over time-major `inputs`; `w`: the
    cell's `BlockLSTMV2` kernel when a snapshot of it is at hand."""
    if backwards:
        inputs = tf.reverse_sequence(inputs, lengths, seq_axis=0, batch_axis=1)
    w = _block_kernel(cell) if w is None else w
    b = tf.convert_to_tensor(cell.bias)
    zeros = tf.zeros([tf.shape(inputs)[1], cell.units], inputs.dtype)
    no_peephole = tf.zeros([cell.units], inputs.dtype)
    outputs = tf.raw_ops.BlockLSTMV2(
        seq_len_max=tf.cast(tf.shape(inputs)[0], tf.int64), x=inputs, cs_prev=zeros, h_prev=zeros, w=w,
        wci=no_peephole, wcf=no_peephole, wco=no_peephole, b=b, cell_clip=0.0, use_peephole=False)
    hidden = outputs[6]
    return tf.reverse_sequence(hidden, lengths, seq_axis=0, batch_axis=1) if backwards else hidden


def bidirectional_block_lstm(layer, sequences: tf.Tensor, mask: tf.Tensor | None, snapshot=None) -> tf.Tensor:
    """`layer(sequences, mask=mask, training=False)` of a `fusable` layer, for right-padded masks.

    Args:
        layer: a `fusable` `Bidirectional(LSTM)`.
        sequences: (batch, time, features) inputs.
        mask: (batch, time) boolean, True on each sentence's first `length` steps; None for none.
        snapshot: `snapshot_weights` of the layer's model, or None to read the layer's weights.
    """
    sequences = tf.convert_to_tensor(sequences)
    batch, steps = tf.shape(sequences)[0], tf.shape(sequences)[1]
    if mask is None:
        mask = tf.ones([batch, steps], tf.bool)
    mask = tf.cast(mask, tf.bool)
    lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
    time_major = tf.transpose(sequences, [1, 0, 2])
    hidden = tf.concat([_direction(cell, time_major, lengths, key.endswith("_backward"), (snapshot or {}).get(key))
                        for key, cell in _directions(layer).items()], axis=-1)
    return tf.transpose(hidden, [1, 0, 2]) * tf.cast(mask, hidden.dtype)[:, :, None]


@contextlib.contextmanager
def block_lstm_kernels(model, snapshot: dict | None = None):
    """Traces a Keras model's `fusable` `Bidirectional(LSTM)` layers with `bidirectional_block_lstm`.

    For exported graphs whose masks are right padding (a tagger's); other calls of a layer, with
    an initial state, keep the layer's own `call`. `snapshot`: the model's `snapshot_weights`, or
    None to read the layers' weights on every call.
    """
    layers = [layer for layer in model._flatten_layers(include_self=False) if fusable(layer)]

    def fused_call(layer, original):
        def call(sequences, initial_state=None, mask=None, training=None):
            if initial_state is not None:
                return original(sequences, initial_state=initial_state, mask=mask, training=training)
            return bidirectional_block_lstm(layer, sequences, mask, snapshot)
        return call

    for layer in layers:
        layer.call = fused_call(layer, layer.call)
    try:
        yield
    finally:
        for layer in layers:
            del layer.call
