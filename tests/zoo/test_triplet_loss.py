"""Triplet loss: hand-computed golden values, mining strategies, masking, the class and the layer."""

import keras
import numpy as np
import pytest

from zoo.layers.triplet_loss import TripletLossLayer
from zoo.losses import TripletLoss, triplet_loss
from zoo.losses.triplet import NEGATIVES, collapsed_loss, triplet_costs

# The worked example: S = v1 . v2^T for a batch of 4 duplicate pairs.
S = np.array([
    [0.9, -0.8, -0.3, -0.5],
    [-0.8, 0.5, -0.1, -0.2],
    [-0.3, -0.1, 0.7, -0.8],
    [-0.5, -0.2, -0.8, 1.0],
], dtype="float32")


def costs(similarity, **kwargs):
    return keras.ops.convert_to_numpy(triplet_costs(keras.ops.convert_to_tensor(similarity), **kwargs))


def negative(name, similarity=S):
    size = len(similarity)
    mask = ~np.eye(size, dtype=bool)
    value, valid = NEGATIVES[name](keras.ops.convert_to_tensor(similarity),
                                   keras.ops.convert_to_tensor(np.diag(similarity)), keras.ops.convert_to_tensor(mask))
    return keras.ops.convert_to_numpy(value), keras.ops.convert_to_numpy(valid)


def test_mean_and_closest_negatives_of_the_worked_example():
    """mean_neg: row 0 (-0.8 - 0.3 - 0.5) / 3 = -0.5333; row 1 (-0.8 - 0.1 - 0.2) / 3 = -0.3667;
    row 2 (-0.3 - 0.1 - 0.8) / 3 = -0.4; row 3 (-0.5 - 0.2 - 0.8) / 3 = -0.5.
    closest_neg (largest off-diagonal entry below the diagonal one): -0.3, -0.1, -0.1, -0.2."""
    mean, mean_valid = negative("mean")
    closest, closest_valid = negative("closest")
    np.testing.assert_allclose(mean, [-0.5333, -0.3667, -0.4, -0.5], atol=1e-4)
    np.testing.assert_allclose(closest, [-0.3, -0.1, -0.1, -0.2], atol=1e-6)
    assert mean_valid.all() and closest_valid.all()


def test_costs_of_the_worked_example_with_margin_0_25():
    """Cost1 = max(-S_ii + mean_neg + 0.25, 0): row 0 -0.9 - 0.5333 + 0.25 = -1.1833 -> 0;
    row 1 -0.5 - 0.3667 + 0.25 = -0.6167 -> 0; row 2 -0.7 - 0.4 + 0.25 = -0.85 -> 0; row 3 -1.25 -> 0.
    Cost2 = max(-S_ii + closest_neg + 0.25, 0): -0.95, -0.35, -0.55, -0.95 -> all 0. Loss 0."""
    np.testing.assert_allclose(costs(S, margin=0.25), np.zeros((4, 2)), atol=1e-6)


def test_costs_of_the_worked_example_with_margin_1():
    """Cost1: row 0 -0.9 - 0.5333 + 1 = -0.4333 -> 0; row 1 -0.5 - 0.3667 + 1 = 0.1333;
    row 2 -0.7 - 0.4 + 1 = -0.1 -> 0; row 3 -1.0 - 0.5 + 1 = -0.5 -> 0.
    Cost2: row 0 -0.9 - 0.3 + 1 = -0.2 -> 0; row 1 -0.5 - 0.1 + 1 = 0.4; row 2 -0.7 - 0.1 + 1 = 0.2;
    row 3 -1.0 - 0.2 + 1 = -0.2 -> 0.
    Loss = mean over rows of Cost1 + Cost2 = (0 + 0.5333 + 0.2 + 0) / 4 = 0.18333."""
    expected = np.array([[0, 0], [0.1333, 0.4], [0, 0.2], [0, 0]])
    np.testing.assert_allclose(costs(S, margin=1.0), expected, atol=1e-4)
    assert costs(S, margin=1.0).sum(-1).mean() == pytest.approx(0.18333, abs=1e-4)


def test_a_negative_that_beats_the_positive():
    """Row 0: positive 0.2, negatives 0.6 and -0.4. Row 1: positive 0.9, negatives 0.1 and 0.3.
    mean:      row 0 (0.6 - 0.4) / 2 = 0.1 -> max(-0.2 + 0.1 + 0.25, 0) = 0.15; row 1 0.2 -> max(-0.45, 0) = 0.
    closest:   row 0 -0.4 (0.6 is above the positive) -> max(-0.2 - 0.4 + 0.25, 0) = 0; row 1 0.3 -> 0.
    hardest:   row 0 0.6 -> -0.2 + 0.6 + 0.25 = 0.65; row 1 0.3 -> max(-0.35, 0) = 0.
    semi_hard: as closest where one exists: row 0 -0.4 -> 0; row 1 0.3 -> 0.
    easy:      row 0 -0.4 -> 0; row 1 0.1 -> 0."""
    similarity = np.array([[0.2, 0.6, -0.4], [0.1, 0.9, 0.3], [0.0, 0.0, 0.5]], dtype="float32")
    names = ["mean", "closest", "hardest", "semi_hard", "easy"]
    got = costs(similarity, margin=0.25, negatives=names)
    np.testing.assert_allclose(got[0], [0.15, 0.0, 0.65, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(got[1], [0.0, 0.0, 0.0, 0.0, 0.0], atol=1e-6)
    assert negative("hardest", similarity)[0][0] == pytest.approx(0.6)
    assert negative("easy", similarity)[0][1] == pytest.approx(0.1)


def test_rows_without_a_closest_negative_contribute_nothing_and_semi_hard_falls_back_to_the_easiest():
    """Row 0: positive -0.5, negatives 0.1 and 0.2, none below. closest: nothing (cost 0, invalid);
    semi_hard: the easiest, 0.1 -> -(-0.5) + 0.1 + 0.25 = 0.85; hardest 0.2 -> 0.95."""
    similarity = np.array([[-0.5, 0.1, 0.2], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], dtype="float32")
    closest, valid = negative("closest", similarity)
    assert not valid[0] and valid[1]
    np.testing.assert_allclose(costs(similarity, negatives=["closest", "semi_hard", "hardest"])[0], [0.0, 0.85, 0.95],
                               atol=1e-6)


def test_triplet_loss_from_a_hand_written_4x2_embedding():
    """a = [[1, 0], [0, 1], [-1, 0], [0, -1]]; b = a rotated by 45 degrees (cos 45 = 0.7071):
    b0 = [0.7071, 0.7071], b1 = [-0.7071, 0.7071], b2 = [-0.7071, -0.7071], b3 = [0.7071, -0.7071].
    S[i, i] = 0.7071; row 0 negatives: a0.b1 = -0.7071, a0.b2 = -0.7071, a0.b3 = 0.7071 (a tie with
    the positive, so not below it). mean_neg = -0.2357 -> cost1 = max(-0.7071 - 0.2357 + 0.25, 0) = 0;
    closest_neg = -0.7071 -> cost2 = 0. With margin 1: cost1 = 0.0572, cost2 = max(-1.4142 + 1, 0) = 0.
    Every row is a rotation of row 0, so the loss is 0.0572 for margin 1."""
    a = np.array([[1, 0], [0, 1], [-1, 0], [0, -1]], dtype="float32")
    rotation = np.array([[1, 1], [-1, 1]], dtype="float32") / np.sqrt(2)
    b = a @ rotation
    per_row = keras.ops.convert_to_numpy(triplet_loss(a, b, margin=1.0))
    np.testing.assert_allclose(per_row, [0.0572] * 4, atol=1e-4)
    assert keras.ops.convert_to_numpy(triplet_loss(a, b, margin=0.25)).sum() == pytest.approx(0.0, abs=1e-6)


def test_symmetric_form_scores_columns_too():
    """a = I (3x3), b = [[1, 0, 0], [0.6, 0.8, 0], [0, 0, 1]], so S = a b^T = [[1, 0.6, 0], [0, 0.8, 0], [0, 0, 1]].
    Margin 1, rows: row 0 mean (0.6 + 0) / 2 = 0.3 -> -1 + 0.3 + 1 = 0.3, closest 0.6 -> 0.6: 0.9;
    row 1 mean 0 -> 0.2, closest 0 -> 0.2: 0.4; row 2: 0.
    Columns (rows of S^T = [[1, 0, 0], [0.6, 0.8, 0], [0, 0, 1]]): 0; mean 0.3 -> 0.5, closest 0.6 -> 0.8: 1.3; 0.
    Symmetric: the mean of the two, [0.45, 0.85, 0]."""
    a = np.eye(3, dtype="float32")
    b = np.array([[1, 0, 0], [0.6, 0.8, 0], [0, 0, 1]], dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(triplet_loss(a, b, margin=1.0)), [0.9, 0.4, 0], atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(triplet_loss(a, b, margin=1.0, symmetric=True)),
                               [0.45, 0.85, 0], atol=1e-6)


def test_zero_vectors_are_no_negatives_and_never_give_nan():
    a = np.array([[1, 0], [0, 1], [0, 0]], dtype="float32")  # row 2: an empty text
    b = np.array([[1, 0], [0, 1], [0, 0]], dtype="float32")
    per_row = keras.ops.convert_to_numpy(triplet_loss(a, b, margin=0.25, negatives=["mean", "closest", "hardest"]))
    assert np.isfinite(per_row).all()
    # Rows 0 and 1 see one negative each (similarity 0, not the zero column): max(-1 + 0 + 0.25, 0) = 0.
    np.testing.assert_allclose(per_row, [0.0, 0.0, 0.0], atol=1e-6)
    single = keras.ops.convert_to_numpy(triplet_loss(a[:1], b[:1]))  # a batch of one: no negatives at all
    np.testing.assert_allclose(single, [0.0])


def test_collapsed_embeddings_give_the_margin():
    """All vectors equal: S = 1 everywhere. mean: -1 + 1 + 0.25 = 0.25; closest: none below -> 0."""
    assert collapsed_loss(margin=0.25) == pytest.approx(0.25)
    assert collapsed_loss(margin=0.3, negatives=["mean", "hardest"]) == pytest.approx(0.6)
    same = np.tile([[0.6, 0.8]], (4, 1)).astype("float32")
    assert keras.ops.convert_to_numpy(triplet_loss(same, same)).mean() == pytest.approx(0.25, abs=1e-6)
    assert TripletLoss(margin=0.5).collapsed_value == pytest.approx(0.5)


def test_loss_class_wraps_the_function_and_round_trips():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(5, 2, 3)).astype("float32")
    vectors /= np.linalg.norm(vectors, axis=-1, keepdims=True)
    loss = TripletLoss(margin=0.4, negatives=("mean", "hardest"), symmetric=True)
    expected = keras.ops.convert_to_numpy(triplet_loss(vectors[:, 0], vectors[:, 1], margin=0.4,
                                                       negatives=("mean", "hardest"), symmetric=True)).mean()
    assert float(loss(np.zeros(5), vectors)) == pytest.approx(expected, rel=1e-5)
    config = loss.get_config()
    assert config["margin"] == 0.4 and config["negatives"] == ["mean", "hardest"] and config["symmetric"] is True
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert isinstance(restored, TripletLoss) and restored.negatives == ("mean", "hardest")


def test_layer_adds_the_same_loss_and_passes_its_input_through():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(4, 2, 3)).astype("float32")
    vectors /= np.linalg.norm(vectors, axis=-1, keepdims=True)
    inputs = keras.Input((2, 3))
    layer = TripletLossLayer(margin=0.5, name="triplet")
    model = keras.Model(inputs, layer(inputs))
    out = model(vectors)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), vectors)
    expected = keras.ops.convert_to_numpy(triplet_loss(vectors[:, 0], vectors[:, 1], margin=0.5)).mean()
    assert float(model.losses[0]) == pytest.approx(expected, rel=1e-5)
    clone = TripletLossLayer.from_config(layer.get_config())
    assert clone.margin == 0.5 and clone.negatives == ("mean", "closest")


@pytest.mark.parametrize("kwargs, message", [
    ({"margin": -0.1}, "margin=-0.1"),
    ({"negatives": ["mean", "furthest"]}, "allowed: ['closest', 'easy', 'hardest', 'mean', 'semi_hard']"),
    ({"negatives": []}, "negatives=[]"),
])
def test_bad_arguments_name_the_value_and_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError) as info:
        TripletLoss(**kwargs)
    assert message in str(info.value)


def test_a_siamese_model_trains_end_to_end_with_the_loss_layer_as_with_the_loss_class():
    """`with_triplet_loss` (the layer adds the loss) and compiling with `TripletLoss` follow the same path."""
    import zoo
    from pipelines.pairs import TextIds, encode_texts, pair_vocabulary, triplet_dataset, triplet_rows
    from tests.helpers import TOPICS, paraphrases
    from zoo.models.siamese import with_triplet_loss
    from zoo.training import quiet_dataset_warnings

    rows = triplet_rows(paraphrases(TOPICS[:8]))
    vocab = pair_vocabulary(rows.texts, TextIds())
    batches = triplet_dataset(rows, encode_texts(rows.texts, vocab, TextIds()), batch_size=8, shuffle=False)
    loss = {"margin": 0.4, "negatives": ("mean", "hardest")}
    runs = []
    for use_layer in (False, True):
        keras.utils.set_random_seed(0)
        siamese = zoo.build("siamese_bow", preset="tiny", vocab_size=TextIds().num_ids(len(vocab)))
        if use_layer:
            model = with_triplet_loss(siamese, **loss)
            model.compile(optimizer=keras.optimizers.SGD(0.5))
        else:
            model = siamese
            model.compile(optimizer=keras.optimizers.SGD(0.5), loss=TripletLoss(**loss))
        with quiet_dataset_warnings():  # the batches' count is unknown to Keras
            history = model.fit(batches, epochs=3, verbose=0, shuffle=False).history["loss"]
        runs.append((history, [w.copy() for w in siamese.get_weights()]))
    (class_losses, class_weights), (layer_losses, layer_weights) = runs
    assert class_losses[-1] < class_losses[0]  # it learns
    np.testing.assert_allclose(layer_losses, class_losses, rtol=1e-4)
    for a, b in zip(layer_weights, class_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
