"""Conv arithmetic W = (N + 2P - F) / S + 1 against the shapes Keras builds, and the two image models."""

import keras
import numpy as np
import pytest

import zoo
from zoo.cli import main
from zoo.models.cnn_classifier import conv_output_size


@pytest.mark.parametrize("n, f, p, s, w", [
    (32, 5, 0, 1, 28),   # 32x32x3 input, six 5x5 filters, stride 1, no padding: (32 - 5) / 1 + 1 = 28
    (32, 5, 2, 1, 32),   # padding 2 keeps the size: (32 + 4 - 5) / 1 + 1 = 32
    (7, 3, 0, 2, 3),     # (7 - 3) / 2 + 1 = 3
    (7, 3, 1, 2, 4),     # (7 + 2 - 3) / 2 + 1 = 4
    (227, 11, 0, 4, 55), # AlexNet's first layer: (227 - 11) / 4 + 1 = 55
    (5, 5, 0, 1, 1),     # the window covers the input once
])
def test_conv_output_size_worked_examples(n, f, p, s, w):
    assert conv_output_size(n, f, p, s) == w


@pytest.mark.parametrize("n, f, p, s, w", [(32, 5, 0, 1, 28), (32, 5, 2, 1, 32), (7, 3, 0, 2, 3), (7, 3, 1, 2, 4),
                                           (9, 3, 3, 3, 5), (10, 4, 1, 2, 5)])
def test_conv_output_size_matches_the_keras_model(n, f, p, s, w):
    model = zoo.build("cnn_classifier", num_classes=2, input_shape=(n, n, 3), filters=[6], convs_per_block=1,
                      kernel_size=f, strides=s, padding=p, pooling=None)
    assert model.get_layer("block1_1_conv").output.shape == (None, w, w, 6)
    assert ("block1_1_pad" in [layer.name for layer in model.layers]) == (p > 0)


def test_the_worked_examples_as_models():
    six_filters = zoo.build("cnn_classifier", num_classes=10, input_shape=(32, 32, 3), filters=[6], convs_per_block=1,
                            kernel_size=5, padding="valid", pooling=None, batch_norm=False)
    assert six_filters.get_layer("block1_1_conv").output.shape == (None, 28, 28, 6)
    assert six_filters.get_layer("block1_1_conv").count_params() == 5 * 5 * 3 * 6 + 6  # 456
    padded = zoo.build("cnn_classifier", num_classes=10, input_shape=(32, 32, 3), filters=[6], convs_per_block=1,
                       kernel_size=5, padding=2, pooling=None)
    assert padded.get_layer("block1_1_pad").output.shape == (None, 36, 36, 3)
    assert padded.get_layer("block1_1_conv").output.shape == (None, 32, 32, 6)


@pytest.mark.parametrize("n, f, p, s, message", [
    (32, 5, 0, 2, "(32 + 2*0 - 5) / 2 + 1 = 14.5 is not a whole number"),
    (4, 5, 0, 1, "a 5-wide window does not fit an input 4 wide with padding 0"),
    (8, 3, -1, 1, "p must be an integer >= 0. Received: p=-1"),
    (8, 3, 0, 0, "s must be an integer >= 1. Received: s=0"),
])
def test_conv_output_size_rejects_what_does_not_fit(n, f, p, s, message):
    with pytest.raises(ValueError) as info:
        conv_output_size(n, f, p, s, layer="conv_x")
    assert str(info.value).startswith("conv_x: ") and message in str(info.value)


def test_the_builder_names_the_layer_that_does_not_fit():
    with pytest.raises(ValueError, match=r"^block1_1_conv: W = .* = \(32 \+ 2\*0 - 5\) / 2 \+ 1 = 14.5"):
        zoo.build("cnn_classifier", num_classes=2, filters=[4], kernel_size=5, strides=2, padding="valid")
    # 28 -> 14 -> 7 with "same" convs and 2x2 pooling; a third pool would drop a row: (7 - 2) / 2 + 1 = 3.5
    with pytest.raises(ValueError, match=r"^block3_pool: .* = 3.5 is not a whole number"):
        zoo.build("cnn_classifier", num_classes=2, input_shape=(28, 28, 1), filters=[4, 4, 4])
    with pytest.raises(ValueError, match=r"^block2_1_conv: "):
        zoo.build("cnn_classifier", num_classes=2, input_shape=(9, 9, 1), filters=[4, 4], padding=[0, 1],
                  strides=[1, 2], kernel_size=[2, 2], pooling=None)


@pytest.mark.parametrize("config, message", [
    ({"padding": "full"}, "Received: padding='full'; allowed: 'valid', 'same' or a number of zero pixels P >= 0"),
    ({"padding": -1}, "Received: padding=-1"),
    ({"kernel_size": [3, 5]}, "kernel_size needs one entry per block (3). Received: kernel_size=[3, 5]"),
    ({"pooling": "min"}, "Received: pooling='min'; allowed: ['max', 'average', None]"),
    ({"activation": "wiggle"}, "Unknown activation. Received: activation='wiggle'"),
    ({"filters": []}, "filters needs at least one block"),
    ({"dropout": 1.0}, "dropout=1.0; expected a fraction from 0 (included) to 1 (excluded)"),
    ({"input_shape": [32, 32]}, "input_shape must be (height, width, channels)"),
])
def test_bad_arguments_are_named(config, message):
    with pytest.raises(ValueError) as info:
        zoo.build("cnn_classifier", num_classes=2, **config)
    assert message in str(info.value)


def test_layers_follow_the_config():
    model = zoo.build("cnn_classifier", num_classes=3, input_shape=(16, 16, 1), filters=[4, 8], convs_per_block=2,
                      pooling="average", batch_norm=False, dropout=0.25, dense_units=[16, 8], activation="tanh")
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Conv2D") == 4 and kinds.count("AveragePooling2D") == 2 and "BatchNormalization" not in kinds
    assert kinds.count("Dropout") == 2 + 2  # after each block and each hidden dense layer
    assert model.get_layer("block2_pool").output.shape == (None, 4, 4, 8)
    assert model.get_layer("dense1").output.shape == (None, 8)
    assert model.output.shape == (None, 3) and model.inputs[0].name == "images"
    probabilities = keras.ops.convert_to_numpy(model(np.random.default_rng(0).random((2, 16, 16, 1), np.float32)))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_lenet5_preset_has_the_classic_shapes_and_parameters():
    model = zoo.build("cnn_classifier", preset="lenet5", num_classes=10)
    shapes = {name: model.get_layer(name).output.shape[1:] for name in
              ["block1_1_conv", "block1_pool", "block2_1_conv", "block2_pool", "dense0", "dense1"]}
    assert shapes == {"block1_1_conv": (28, 28, 6), "block1_pool": (14, 14, 6), "block2_1_conv": (10, 10, 16),
                      "block2_pool": (5, 5, 16), "dense0": (120,), "dense1": (84,)}
    assert model.count_params() == 61_706  # LeCun et al. (1998), with a 10-way dense output


def test_mnist_preset_shapes():
    model = zoo.build("cnn_classifier", preset="mnist", num_classes=10)
    assert [model.get_layer(n).output.shape[1] for n in ["block1_1_act", "block1_2_act", "block1_pool",
                                                         "block2_1_act", "block2_2_act", "block2_pool"]] == [26, 24, 12, 10, 8, 4]


def test_residual_variant():
    model = zoo.build("cnn_resnet", num_classes=10, input_shape=(32, 32, 3), stage_filters=[8, 16, 32], blocks_per_stage=2)
    assert model.get_layer("stage1_block1_add").output.shape == (None, 32, 32, 8)
    assert model.get_layer("stage2_block1_add").output.shape == (None, 16, 16, 16)
    assert model.get_layer("stage3_block2_add").output.shape == (None, 8, 8, 32)
    names = {layer.name for layer in model.layers}
    assert "stage2_block1_shortcut_conv" in names and "stage2_block2_shortcut_conv" not in names
    assert zoo.build("cnn_resnet", preset="resnet20", num_classes=10).count_params() == 274_042  # 0.27M in the paper


def test_search_spaces_build():
    import keras_tuner as kt

    for name, expected in [("cnn_classifier", {"base_filters": 16, "convs_per_block": 1}),
                           ("cnn_resnet", {"base_filters": 16, "blocks_per_stage": 1})]:
        hp = kt.HyperParameters()
        config = zoo.get_spec(name).search_space(hp)
        assert set(config) <= set(zoo.get_spec(name).defaults)
        assert {k: hp.get(k) for k in expected} == expected
        zoo.build(name, num_classes=10, input_shape=(28, 28, 1), **config)


def test_zoo_info_prints_the_shape_after_every_layer(capsys):
    assert main(["info", "cnn_classifier"]) == 0
    out = capsys.readouterr().out
    for line in ["block1_1_conv", "(None, 32, 32, 32)", "block1_pool", "(None, 16, 16, 32)", "block3_pool",
                 "(None, 4, 4, 128)", "flatten", "(None, 2048)", "probabilities", "(None, 10)"]:
        assert line in out
    assert main(["info", "cnn_classifier", "--preset", "lenet5"]) == 0
    out = capsys.readouterr().out  # 28 -> P=2 -> 32 -> 5x5 conv 28 -> pool 14 -> 10 -> pool 5
    for line in ["block1_1_pad", "(None, 32, 32, 1)", "(None, 28, 28, 6)", "(None, 10, 10, 16)", "(None, 5, 5, 16)"]:
        assert line in out
