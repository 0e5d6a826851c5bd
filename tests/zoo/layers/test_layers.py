"""Every custom layer through the shared `check_layer`; a layer added without a case here fails the last test."""

import inspect

import keras
import numpy as np
import pytest

import zoo.layers.attention_pooling
import zoo.layers.char_bilstm
import zoo.layers.char_cnn
import zoo.layers.crf
import zoo.layers.masked_max_pooling
import zoo.layers.masked_mean_pooling
import zoo.layers.multi_width_conv
import zoo.layers.triplet_loss
from tests.helpers import check_layer
from zoo.layers.attention_pooling import AttentionPooling1D
from zoo.layers.char_bilstm import CharBiLSTM
from zoo.layers.char_cnn import CharCNN
from zoo.layers.crf import CRF
from zoo.layers.masked_max_pooling import MaskedGlobalMaxPooling1D
from zoo.layers.masked_mean_pooling import MaskedGlobalAveragePooling1D
from zoo.layers.multi_width_conv import MultiWidthConv1D
from zoo.layers.triplet_loss import TripletLossLayer

MODULES = [zoo.layers.attention_pooling, zoo.layers.char_bilstm, zoo.layers.char_cnn, zoo.layers.crf,
           zoo.layers.masked_max_pooling, zoo.layers.masked_mean_pooling, zoo.layers.multi_width_conv, zoo.layers.triplet_loss]
RNG = np.random.default_rng(0)
SEQUENCES = RNG.normal(size=(2, 5, 4)).astype("float32")


def unit_pairs():
    pairs = RNG.normal(size=(4, 2, 3)).astype("float32")
    return pairs / np.linalg.norm(pairs, axis=-1, keepdims=True)


CASES = {
    "AttentionPooling1D": lambda: (AttentionPooling1D(), SEQUENCES, (2, 4), {}),
    "MaskedGlobalMaxPooling1D": lambda: (MaskedGlobalMaxPooling1D(), SEQUENCES, (2, 4), {}),
    "MaskedGlobalAveragePooling1D": lambda: (MaskedGlobalAveragePooling1D(), SEQUENCES, (2, 4), {}),
    "MultiWidthConv1D": lambda: (MultiWidthConv1D(filters=3, kernel_sizes=(2, 3)), SEQUENCES, (2, 6), {}),
    "CharCNN": lambda: (CharCNN(vocab_size=10, char_dim=4, filters=3), RNG.integers(0, 10, (2, 5, 6)).astype("int32"),
                        (2, 5, 3), {}),
    "CharBiLSTM": lambda: (CharBiLSTM(vocab_size=10, char_dim=4, units=3),
                           RNG.integers(0, 10, (2, 5, 6)).astype("int32"), (2, 5, 6), {}),
    "TripletLossLayer": lambda: (TripletLossLayer(margin=0.5), unit_pairs(), (4, 2, 3), {}),
}


def crf_case():
    crf = CRF(num_tags=4)
    labels = RNG.integers(0, 4, (2, 5)).astype("int32")
    labels[1, 3:] = -1  # padding
    return crf, SEQUENCES, (2, 5, 4), {"loss": crf.loss, "labels": labels}


CASES["CRF"] = crf_case


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer(name, tmp_path):
    layer, inputs, shape, options = CASES[name]()
    check_layer(layer, inputs, expected_shape=shape, tmp_path=tmp_path, **options)


def test_every_custom_layer_has_a_case():
    layers = {name for module in MODULES for name, value in vars(module).items()
              if inspect.isclass(value) and issubclass(value, keras.layers.Layer) and value.__module__ == module.__name__}
    assert layers == set(CASES)


@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4])
def test_char_cnn_convolves_as_its_conv_layer(kernel_size):
    # CharCNN computes its Conv1D as one matrix product over windows (cheaper at serving sizes): the
    # same values as the layer's own convolution op, "same" padding split as TensorFlow splits it.
    layer = CharCNN(vocab_size=10, char_dim=4, filters=3, kernel_size=kernel_size)
    layer.build((None, None, 7))
    layer.conv.bias.assign(RNG.normal(size=3).astype("float32"))
    embedded = RNG.normal(size=(5, 7, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(layer.convolve(embedded)), np.asarray(layer.conv(embedded)), atol=1e-5)
