"""Seq2seq building blocks: source attention, label-smoothed masked NLL, the gru/lstm encoder-decoders."""

import keras
import numpy as np
import pytest

import zoo
from zoo.layers.source_attention import SourceAttention
from zoo.losses import MaskedSparseNLL, masked_token_nll


def test_dot_attention_weights_by_hand():
    """W = I (dot score q . k). Query [1, 0]; values k1 = [2, 0], k2 = [0, 1], k3 = [5, 5] (padding).

    Scores 2 and 0 (k3 masked) -> weights e^2 / (e^2 + 1) = 0.880797 and 0.119203;
    context = 0.880797 * [2, 0] + 0.119203 * [0, 1] = [1.761594, 0.119203].
    """
    layer = SourceAttention(score="dot")
    query = np.array([[[1.0, 0.0]]], "float32")
    values = np.array([[[2.0, 0.0], [0.0, 1.0], [5.0, 5.0]]], "float32")
    layer.build([query.shape, values.shape])
    layer.value_kernel.assign(np.eye(2, dtype="float32"))
    mask = np.array([[True, True, False]])
    context, weights = layer([query, values], mask=[None, mask], return_attention_scores=True)
    np.testing.assert_allclose(weights, [[[0.880797, 0.119203, 0.0]]], atol=1e-6)
    np.testing.assert_allclose(context, [[[1.761594, 0.119203]]], atol=1e-6)


def test_additive_attention_by_hand_and_rows_without_values_give_zeros():
    """units 1, W_q = [[1], [0]], W_k = [[1], [1]], b = 0, v = [1]: score(q, k) = tanh(q_0 + k_0 + k_1).

    q = [0, 0]; k1 = [1, 0] -> tanh 1 = 0.761594; k2 = [0, 0] -> 0.
    weights = softmax(0.761594, 0) = [0.681700, 0.318300]; context = [0.681700, 0].
    """
    layer = SourceAttention(score="additive", units=1)
    query = np.zeros((2, 1, 2), "float32")
    values = np.array([[[1.0, 0.0], [0.0, 0.0]]] * 2, "float32")
    layer.build([query.shape, values.shape])
    layer.query_kernel.assign([[1.0], [0.0]])
    layer.value_kernel.assign([[1.0], [1.0]])
    layer.scale.assign([1.0])
    context = layer([query, values], mask=[None, np.array([[True, True], [False, False]])])
    np.testing.assert_allclose(context, [[[0.681700, 0.0]], [[0.0, 0.0]]], atol=1e-6)


def test_attention_rejects_unknown_scores_and_round_trips_its_config():
    with pytest.raises(ValueError, match="score='cosine'"):
        SourceAttention(score="cosine")
    layer = SourceAttention(score="dot", units=4, name="att")
    assert SourceAttention.from_config(layer.get_config()).get_config() == layer.get_config()


def test_label_smoothing_by_hand():
    """3 classes, p = [0.5, 0.25, 0.25], label 0, e = 0.3:
    (1 - 0.3) * -log 0.5 + 0.3 * -(log 0.5 + 2 log 0.25) / 3 = 0.485203 + 0.3 * 1.155245 = 0.831777.
    Padding (label -1) still costs 0."""
    log_probs = np.log(np.array([[[0.5, 0.25, 0.25], [0.2, 0.3, 0.5]]], "float32"))
    labels = np.array([[0, -1]])
    nll, _ = masked_token_nll(labels, log_probs, 0.3)
    np.testing.assert_allclose(nll, [[0.831777, 0.0]], atol=1e-5)
    assert float(MaskedSparseNLL(label_smoothing=0.3)(labels, log_probs)) == pytest.approx(0.831777, abs=1e-5)
    loss = keras.losses.deserialize(keras.losses.serialize(MaskedSparseNLL(label_smoothing=0.1)))
    assert loss.label_smoothing == 0.1
    with pytest.raises(ValueError, match="label_smoothing=1.0"):
        MaskedSparseNLL(label_smoothing=1.0)


def pad(rows, width, value):
    return np.array([row + [value] * (width - len(row)) for row in rows], "int32")


@pytest.mark.parametrize("name, attention", [("gru_seq2seq", "additive"), ("lstm_seq2seq", "dot"),
                                             ("gru_seq2seq", "none")])
def test_loss_is_the_same_padded_to_10_or_100(name, attention):
    """Padding is ignored everywhere: encoder (masked, also bidirectionally), attention, bridge, loss."""
    model = zoo.build(name, preset="tiny", source_vocab_size=12, target_vocab_size=9, attention=attention)
    model.compile("adam", loss=MaskedSparseNLL(label_smoothing=0.1))
    sources, targets = [[4, 5, 6], [7, 8], [9]], [[4, 5], [6, 7, 8, 4], [5]]
    losses, outputs = [], []
    for width in (10, 100):
        inputs = {"source_ids": pad(sources, width, 0), "target_in": pad([[2, *t] for t in targets], width, 0)}
        losses.append(model.evaluate(inputs, pad([[*t, 3] for t in targets], width, -1), verbose=0))
        outputs.append(keras.ops.convert_to_numpy(model(inputs))[:, :5])
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-5)


def test_shapes_and_bad_options():
    model = zoo.build("lstm_seq2seq", preset="tiny", source_vocab_size=12, target_vocab_size=9)
    assert [x.name for x in model.inputs] == ["source_ids", "target_in"]
    out = model({"source_ids": np.ones((2, 7), "int32"), "target_in": np.ones((2, 3), "int32")})
    assert out.shape == (2, 3, 9)
    np.testing.assert_allclose(np.exp(keras.ops.convert_to_numpy(out)).sum(-1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="attention='luong'"):
        zoo.build("gru_seq2seq", source_vocab_size=12, target_vocab_size=9, attention="luong")
    with pytest.raises(ValueError, match="cell='tcn'"):
        zoo.build("gru_seq2seq", source_vocab_size=12, target_vocab_size=9, cell="tcn")


def test_search_space_is_declared_beside_the_builder():
    import keras_tuner as kt

    hp = kt.HyperParameters()
    spec = zoo.get_spec("gru_seq2seq")
    assert set(spec.search_space(hp)) <= set(spec.defaults)
    assert hp.get("attention") == "additive" and hp.get("units") == 128
