"""Sentiment classifiers (many-to-one): a bag-of-embeddings network, an n-gram CNN and a bidirectional RNN.

All map `token_ids` (batch, time) int32, `<PAD>`=0 masked, to class probabilities
(batch, num_classes) through the same dense softmax head.
"""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

from zoo.layers.masked_max_pooling import MaskedGlobalMaxPooling1D
from zoo.layers.multi_width_conv import MultiWidthConv1D
from zoo.models.blocks import RECURRENT_CELLS, recurrent_stack, token_embedding
from zoo.models.conv_blocks import check_activation, check_choice, dense_head
from zoo.registry import register_model

POOLINGS = ("max", "mean", "max_mean")
EXAMPLE_SIZES = {"vocab_size": 10000, "num_classes": 2}


def dnn_search_space(hp) -> dict:
    """The keras-tuner search space of `sentiment_dnn`."""
    return {
        "embedding_dim": hp.Choice("embedding_dim", [32, 64, 128]),
        "hidden_units": [hp.Choice("hidden_units", [16, 64, 128])],
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.25),
    }


def birnn_search_space(hp) -> dict:
    """The keras-tuner search space of `sentiment_birnn`."""
    return {
        "embedding_dim": hp.Choice("embedding_dim", [64, 128]),
        "units": hp.Choice("units", [32, 64, 128]),
        "cell": hp.Choice("cell", ["gru", "lstm"]),
        "pooling": hp.Choice("pooling", list(POOLINGS)),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.25),
    }


def cnn_search_space(hp) -> dict:
    """The keras-tuner search space of `sentiment_cnn`."""
    return {
        "embedding_dim": hp.Choice("embedding_dim", [64, 128, 300]),
        "filters": hp.Choice("filters", [50, 100, 200]),
        "dropout": hp.Float("dropout", 0.25, 0.5, step=0.25),
    }


DNN_PRESETS = {
    "tiny": {"embedding_dim": 4, "hidden_units": [4], "dropout": 0.0},
}
CNN_PRESETS = {
    "tiny": {"embedding_dim": 4, "filters": 4, "kernel_sizes": [2, 3], "dropout": 0.0},
}
BIRNN_PRESETS = {
    "tiny": {"embedding_dim": 4, "units": 4, "hidden_units": [], "dropout": 0.0},
}


@register_model(
    "sentiment_dnn",
    task="sentiment",
    inputs=("token_ids",),
    presets=DNN_PRESETS,
    search_space=dnn_search_space,
    example_sizes=EXAMPLE_SIZES,
)
def sentiment_dnn(
    *,
    vocab_size: int,
    num_classes: int,
    embedding_dim: int = 64,
    hidden_units: Sequence[int] = (64,),
    activation: str = "relu",
    dropout: float = 0.0,
) -> keras.Model:
    """Embedding -> masked mean over tokens -> dense layers -> softmax, the course network.

    Layer i computes a^[i] = g(W^[i] a^[i-1] + b^[i]) with a^[0] the mean embedding of the
    text's real tokens, g = `activation`, and softmax on top.

    Args:
        vocab_size: token vocabulary size, `<PAD>`=0 and `<UNK>`=1 included.
        num_classes: output classes (2: negative, positive).
        embedding_dim: token embedding size.
        hidden_units: width of each hidden dense layer, input side first (`[]` for none).
        activation: g of the hidden layers.
        dropout: dropout after the embedding and after each hidden layer.

    Returns:
        An uncompiled functional model: `token_ids` (batch, time) int32 -> probabilities (batch, num_classes).

    Example:
        >>> model = zoo.build("sentiment_dnn", vocab_size=10000, num_classes=2, hidden_units=[64, 32])
    """
    check_activation(activation)
    # Inputs
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    # Body
    x = token_embedding(token_ids, vocab_size=vocab_size, embedding_dim=embedding_dim, dropout=dropout)
    x = layers.GlobalAveragePooling1D(name="masked_mean")(x)
    # Head
    probabilities = dense_head(x, num_classes=num_classes, units=list(hidden_units), activation=activation,
                               dropout=dropout)
    return keras.Model(token_ids, probabilities, name="sentiment_dnn")


@register_model(
    "sentiment_cnn",
    task="sentiment",
    inputs=("token_ids",),
    presets=CNN_PRESETS,
    search_space=cnn_search_space,
    example_sizes=EXAMPLE_SIZES,
)
def sentiment_cnn(
    *,
    vocab_size: int,
    num_classes: int,
    embedding_dim: int = 300,
    filters: int = 100,
    kernel_sizes: Sequence[int] = (3, 4, 5),
    dropout: float = 0.5,
) -> keras.Model:
    """Embedding -> convolutions of several widths -> max over real tokens -> dropout -> softmax (Kim 2014).

    Each width is an n-gram detector; max-pooling over time keeps each detector's strongest
    match anywhere in the text, so the network sees local word order ("not good") that a bag
    of embeddings loses, at a fraction of a recurrent network's cost.

    Args:
        vocab_size: token vocabulary size, `<PAD>`=0 and `<UNK>`=1 included.
        num_classes: output classes.
        embedding_dim: token embedding size.
        filters: convolution filters per width.
        kernel_sizes: convolution widths in tokens.
        dropout: dropout on the pooled features.

    Returns:
        An uncompiled functional model: `token_ids` (batch, time) int32 -> probabilities (batch, num_classes).

    Example:
        >>> model = zoo.build("sentiment_cnn", vocab_size=10000, num_classes=2, kernel_sizes=[2, 3, 4])
    """
    # Inputs
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    # Body
    x = token_embedding(token_ids, vocab_size=vocab_size, embedding_dim=embedding_dim)
    x = MultiWidthConv1D(filters, kernel_sizes, name="ngram_convolutions")(x)
    if dropout:
        x = layers.Dropout(dropout, name="pooled_dropout")(x)
    # Head
    probabilities = dense_head(x, num_classes=num_classes)
    return keras.Model(token_ids, probabilities, name="sentiment_cnn")


@register_model(
    "sentiment_birnn",
    task="sentiment",
    inputs=("token_ids",),
    presets=BIRNN_PRESETS,
    search_space=birnn_search_space,
    example_sizes=EXAMPLE_SIZES,
)
def sentiment_birnn(
    *,
    vocab_size: int,
    num_classes: int,
    embedding_dim: int = 128,
    units: int = 64,
    num_layers: int = 1,
    cell: str = "gru",
    pooling: str = "max_mean",
    hidden_units: Sequence[int] = (64,),
    dropout: float = 0.25,
) -> keras.Model:
    """Embedding -> bidirectional GRU/LSTM x num_layers -> pooling over real tokens -> dense -> softmax.

    Args:
        vocab_size: token vocabulary size, `<PAD>`=0 and `<UNK>`=1 included.
        num_classes: output classes.
        embedding_dim: token embedding size.
        units: units of each recurrent direction.
        num_layers: stacked bidirectional layers.
        cell: "gru" or "lstm" (any key of `zoo.models.blocks.RECURRENT_CELLS`).
        pooling: "max", "mean" or "max_mean" (both, concatenated) over the real time steps.
        hidden_units: widths of the dense ReLU layers before the softmax (`[]` for none).
        dropout: dropout after the embedding, each recurrent layer and each dense layer.

    Returns:
        An uncompiled functional model: `token_ids` (batch, time) int32 -> probabilities (batch, num_classes).

    Example:
        >>> model = zoo.build("sentiment_birnn", vocab_size=10000, num_classes=2, cell="lstm")
    """
    check_choice("cell", cell, sorted(RECURRENT_CELLS))
    check_choice("pooling", pooling, POOLINGS)
    # Inputs
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    # Body
    x = token_embedding(token_ids, vocab_size=vocab_size, embedding_dim=embedding_dim, dropout=dropout)
    x = recurrent_stack(x, units=units, num_layers=num_layers, cell=cell, bidirectional=True, dropout=dropout)
    pooled = []
    if pooling in ("max", "max_mean"):
        pooled.append(MaskedGlobalMaxPooling1D(name="masked_max")(x))
    if pooling in ("mean", "max_mean"):
        pooled.append(layers.GlobalAveragePooling1D(name="masked_mean")(x))
    x = pooled[0] if len(pooled) == 1 else layers.Concatenate(name="pooled")(pooled)
    # Head
    probabilities = dense_head(x, num_classes=num_classes, units=list(hidden_units), dropout=dropout)
    return keras.Model(token_ids, probabilities, name="sentiment_birnn")
