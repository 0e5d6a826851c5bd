"""`zoo.block_lstm`: a Bidirectional(LSTM) as two BlockLSTMV2 ops computes what the Keras layer does (issue 15)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.block_lstm import bidirectional_block_lstm, block_lstm_kernels, fusable, snapshot_weights
from zoo.export import generic_rnn_kernels


def bilstm_model(**lstm_options) -> tuple[keras.Model, keras.layers.Bidirectional]:
    inputs = keras.Input((None, 6))
    layer = keras.layers.Bidirectional(keras.layers.LSTM(5, return_sequences=True, **lstm_options), name="bilstm")
    model = keras.Model(inputs, keras.layers.Dense(3, name="head")(layer(keras.layers.Masking(name="mask")(inputs))))
    rng = np.random.default_rng(0)
    # Trained-looking weights: the initial ones leave the forget-gate bias at 1 and the rest near zero.
    for variable in layer.weights:
        variable.assign(rng.normal(size=variable.shape).astype("float32") * 0.5)
    return model, layer


def padded_batch(lengths, width=9, features=6):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(len(lengths), width, features)).astype("float32") + 0.1  # no all-zero real step
    mask = np.arange(width)[None, :] < np.array(lengths)[:, None]
    return np.where(mask[:, :, None], x, 0.0).astype("float32"), mask


@pytest.mark.parametrize("lengths", [[9], [1], [9, 3, 1, 6, 9, 2], [4, 4]])
def test_same_outputs_as_the_keras_layer_on_padded_batches(lengths):
    model, layer = bilstm_model()
    x, mask = padded_batch(lengths)
    with generic_rnn_kernels(model):
        expected = layer(x, mask=tf.constant(mask), training=False).numpy()
    received = tf.function(lambda x, m: bidirectional_block_lstm(layer, x, m))(x, mask).numpy()
    np.testing.assert_allclose(received, expected, rtol=0, atol=1e-5)
    assert np.all(received[~mask] == 0.0), "padding outputs zeros, as Bidirectional's zero_output_for_mask"


def test_block_lstm_kernels_swap_the_layer_in_a_model_call_and_back():
    model, layer = bilstm_model()
    x, _ = padded_batch([9, 3, 1, 6])
    with generic_rnn_kernels(model):
        expected = model(x, training=False).numpy()
    call = tf.function(lambda x: model(x, training=False))
    with generic_rnn_kernels(model), block_lstm_kernels(model):
        graph = call.get_concrete_function(tf.TensorSpec([None, None, 6])).graph
        received = call(x).numpy()
    assert "BlockLSTMV2" in {op.type for op in graph.get_operations()} | {
        node.op for f in graph.as_graph_def().library.function for node in f.node_def}
    np.testing.assert_allclose(received, expected, rtol=0, atol=1e-5)
    assert "call" not in vars(layer), "the layer's own call is back"


@pytest.mark.parametrize("options", [{"activation": "relu"}, {"recurrent_activation": "hard_sigmoid"},
                                     {"use_bias": False}, {"dtype": "mixed_float16"}])
def test_other_lstms_are_not_fused(options):
    assert fusable(bilstm_model()[1])
    assert not fusable(bilstm_model(**options)[1])


def test_a_snapshot_computes_the_same_and_stays_as_it_was_taken():
    model, layer = bilstm_model()
    x, mask = padded_batch([9, 3, 1, 6])
    snapshot = snapshot_weights(model)
    assert sorted(snapshot) == ["bilstm_backward", "bilstm_forward"]
    call = tf.function(lambda x, m, snap: bidirectional_block_lstm(layer, x, m, snap))
    live = tf.function(lambda x, m: bidirectional_block_lstm(layer, x, m))
    np.testing.assert_allclose(call(x, mask, snapshot).numpy(), live(x, mask).numpy(), rtol=0, atol=1e-6)
    # The kernel the graph reads is a copy: later training of the layer does not reach it.
    before = call(x, mask, snapshot).numpy()
    layer.forward_layer.cell.kernel.assign(layer.forward_layer.cell.kernel * 2.0)
    np.testing.assert_array_equal(call(x, mask, snapshot).numpy(), before)
    assert np.abs(live(x, mask).numpy() - before).max() > 1e-3
