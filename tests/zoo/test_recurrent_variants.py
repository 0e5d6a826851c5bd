"""Recurrent variants: cell types, the identity RNN, residual stacks, bidirectional refusal, clipping."""

import keras
import numpy as np
import pytest

import zoo
from zoo.models.blocks import recurrent_stack
from zoo.tasks.language_model import compile_language_model


def _stack_model(features=3, **kwargs):
    x = keras.Input(shape=(None, features))
    return keras.Model(x, recurrent_stack(x, **kwargs))


def test_simple_rnn_is_tanh_of_concatenated_weights_times_state_and_input():
    """h_t = tanh(W_h [h_{t-1}; x_t] + b), W_h = [W_hh, W_hx], on a 2-unit, 3-feature example."""
    model = _stack_model(units=2, cell="rnn", bidirectional=False)
    layer = model.get_layer("encoder_rnn_0")
    w_hx = np.array([[0.1, -0.2], [0.3, 0.0], [-0.1, 0.2]], np.float32)
    w_hh = np.array([[0.5, 0.1], [-0.3, 0.2]], np.float32)
    b = np.array([0.05, -0.05], np.float32)
    layer.set_weights([w_hx, w_hh, b])
    x = np.array([[[1.0, 0.0, 2.0], [0.5, -1.0, 0.0]]], np.float32)
    w_h = np.concatenate([w_hh, w_hx])  # rows: state, then input
    h = np.zeros(2, np.float32)
    expected = []
    for x_t in x[0]:
        h = np.tanh(np.concatenate([h, x_t]) @ w_h + b)
        expected.append(h)
    np.testing.assert_allclose(model(x).numpy()[0], expected, rtol=1e-5, atol=1e-6)


def test_identity_rnn_is_relu_with_identity_recurrent_weights():
    model = zoo.build("rnn_lm", vocab_size=12, cell="irnn", units=4, embedding_dim=3)
    layer = model.get_layer("decoder_irnn_0")
    assert layer.activation is keras.activations.relu
    np.testing.assert_array_equal(layer.cell.recurrent_kernel.numpy(), np.eye(4))
    # With a zero input kernel and bias the state is copied unchanged from step to step.
    stack = _stack_model(units=2, cell="irnn", bidirectional=False)
    kernel, recurrent, bias = stack.get_layer("encoder_irnn_0").get_weights()
    stack.get_layer("encoder_irnn_0").set_weights([np.eye(3, 2, dtype=np.float32), recurrent, bias])
    out = stack(np.array([[[1.0, 2.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]], np.float32)).numpy()
    np.testing.assert_allclose(out[0], [[1.0, 2.0]] * 3)


def test_residual_adds_each_layers_input_from_the_second_layer_on():
    for bidirectional, width in ((False, 4), (True, 8)):
        model = _stack_model(units=4, num_layers=3, cell="rnn", bidirectional=bidirectional, residual=True)
        names = [layer.name for layer in model.layers]
        assert [n for n in names if "residual" in n] == ["encoder_residual_1", "encoder_residual_2"]
        assert model.output.shape == (None, None, width)
    # A second layer that outputs zeros (all weights 0: tanh(0) = 0) leaves the first layer's output.
    x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)
    for residual in (True, False):
        model = _stack_model(units=4, num_layers=2, cell="rnn", bidirectional=False, residual=residual)
        second = model.get_layer("encoder_rnn_1")
        second.set_weights([np.zeros_like(w) for w in second.get_weights()])
        first = keras.Model(model.input, model.get_layer("encoder_rnn_0").output)(x).numpy()
        expected = first if residual else np.zeros_like(first)
        np.testing.assert_allclose(model(x).numpy(), expected, atol=1e-6)


def test_bilstm_ner_keeps_its_layers():
    model = zoo.build("bilstm_ner", vocab_size=50, num_tags=5)
    assert [layer.name for layer in model.layers] == [
        "token_ids", "token_embedding", "embedding_dropout", "encoder_bilstm_0", "encoder_dropout_0",
        "tag_log_probs_dense", "tag_log_probs",
    ]


@pytest.mark.parametrize("name, cell", [("gru_lm", "gru"), ("lstm_lm", "lstm"), ("rnn_lm", "rnn")])
def test_every_lm_takes_any_cell_and_layer_count(name, cell):
    model = zoo.build(name, preset="tiny", vocab_size=9, num_layers=2, residual=True)
    assert [layer.name for layer in model.layers if isinstance(layer, keras.layers.RNN)] == [
        f"decoder_{cell}_0", f"decoder_{cell}_1"]
    other = zoo.build(name, preset="tiny", vocab_size=9, cell="irnn")
    assert other.get_layer("decoder_irnn_0").activation is keras.activations.relu


def test_a_bidirectional_next_token_model_is_refused():
    with pytest.raises(ValueError, match="cannot be bidirectional.*read the very tokens.*Received: bidirectional=True"):
        zoo.build("gru_lm", vocab_size=9, bidirectional=True)
    assert _stack_model(units=2, cell="gru", bidirectional=True).output.shape == (None, None, 4)  # taggers may


def test_unknown_cell_names_the_value_and_the_choices():
    message = r"Received: cell='transformer'; allowed: \['gru', 'irnn', 'lstm', 'rnn'\]"
    with pytest.raises(ValueError, match=message):
        _stack_model(units=2, cell="transformer")
    with pytest.raises(ValueError, match=message):
        zoo.build("lstm_lm", vocab_size=9, cell="transformer")


def test_gradient_clipping_by_global_norm_or_by_value():
    model = zoo.build("gru_lm", preset="tiny", vocab_size=9)
    assert compile_language_model(model, clip_threshold=2.0).optimizer.global_clipnorm == 2.0
    optimizer = compile_language_model(model, clip="value", clip_threshold=0.5).optimizer
    assert optimizer.clipvalue == 0.5 and optimizer.global_clipnorm is None
    assert compile_language_model(model, clip=None).optimizer.clipvalue is None
    with pytest.raises(ValueError, match="clip='l1'"):
        compile_language_model(model, clip="l1")
    with pytest.raises(ValueError, match="clip_threshold=0"):
        compile_language_model(model, clip_threshold=0)
