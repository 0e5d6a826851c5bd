"""`cnn_classifier`: blocks of convolutions with stride, padding and pooling, then a dense softmax head."""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

from zoo.models.conv_blocks import (
    POOLINGS,
    check_activation,
    check_choice,
    check_padding,
    conv_output_size,
    conv_stack,
    dense_head,
    image_input,
    per_block,
)
from zoo.registry import register_model

__all__ = ["cnn_classifier", "conv_output_size", "search_space"]


def search_space(hp) -> dict:
    """The keras-tuner search space; two "same"-padded blocks fit any input of at least 4x4."""
    base = hp.Choice("base_filters", [16, 32, 64])
    return {
        "filters": [base, 2 * base],
        "convs_per_block": hp.Int("convs_per_block", 1, 2),
        "kernel_size": hp.Choice("kernel_size", [3, 5]),
        "dense_units": [hp.Choice("dense_units", [64, 128, 256])],
        "head_dropout": hp.Float("head_dropout", 0.0, 0.5, step=0.25),
    }


# A preset's input_shape is what `zoo info` shows; training uses the data's size and channels.
PRESETS = {
    "tiny": {"input_shape": [8, 8, 1], "filters": [4], "convs_per_block": 1, "dense_units": [8], "head_dropout": 0.0},
    # LeCun et al. (1998) on 28x28 digits: P=2 keeps 28, 5x5 convs, average pooling, tanh, 120-84 head.
    "lenet5": {"input_shape": [28, 28, 1], "filters": [6, 16], "kernel_size": 5, "padding": [2, "valid"], "convs_per_block": 1,
               "activation": "tanh", "pooling": "average", "batch_norm": False, "dense_units": [120, 84],
               "head_dropout": 0.0},
    # The MNIST benchmark's net: 28 -> 26 -> 24 -> pool 12 -> 10 -> 8 -> pool 4, 3x3 "valid" convs.
    "mnist": {"input_shape": [28, 28, 1], "filters": [32, 64], "convs_per_block": 2, "padding": "valid", "dense_units": [128],
              "head_dropout": 0.3},
}


@register_model(
    "cnn_classifier",
    task="image",
    inputs=("images",),
    presets=PRESETS,
    search_space=search_space,
    example_sizes={"num_classes": 10},
)
def cnn_classifier(
    *,
    num_classes: int,
    input_shape: Sequence[int] = (32, 32, 3),
    filters: Sequence[int] = (32, 64, 128),
    convs_per_block: int = 2,
    kernel_size: int | Sequence[int] = 3,
    strides: int | Sequence[int] = 1,
    padding: str | int | Sequence[str | int] = "same",
    activation: str = "relu",
    pooling: str | None = "max",
    pool_size: int = 2,
    batch_norm: bool = True,
    dropout: float = 0.0,
    dense_units: Sequence[int] = (128,),
    head_dropout: float = 0.5,
) -> keras.Model:
    """Conv blocks (conv -> [BN] -> activation, x convs_per_block, then pooling) -> dense head -> softmax.

    Every window is checked with `conv_output_size` while the model is built: a stride, padding
    or pool size that leaves W = (N + 2P - F) / S + 1 fractional raises `ValueError` naming the layer.

    Args:
        num_classes: number of classes K.
        input_shape: (height, width, channels) of the float input `images`, pixels in [0, 1].
        filters: filters of each block's convolutions; one block per entry.
        convs_per_block: convolutions per block.
        kernel_size: F, one value for all blocks or one per block.
        strides: S of each block's first convolution (the others use 1); one value or one per block.
        padding: "valid" (P=0), "same" (output ceil(N/S)) or an integer P of zero pixels on each
            border (a `ZeroPadding2D` before a "valid" conv); one value or one per block.
        activation: a Keras activation name, e.g. "relu", "tanh", "gelu".
        pooling: "max", "average" or None; a pool_size x pool_size window with stride pool_size.
        pool_size: the pooling window and stride.
        batch_norm: batch normalisation after every conv and hidden dense layer.
        dropout: dropout after each block (0 disables it).
        dense_units: widths of the hidden dense layers of the head.
        head_dropout: dropout after each hidden dense layer.

    Returns:
        An uncompiled functional model mapping `images` (batch, H, W, C) to class probabilities
        (batch, num_classes).

    Example:
        >>> model = zoo.build("cnn_classifier", num_classes=10, preset="mnist")  # 28x28x1 digits
    """
    blocks = len(filters)
    if blocks < 1:
        raise ValueError(f"filters needs at least one block. Received: filters={filters!r}")
    kernel_sizes = per_block(kernel_size, blocks, argument="kernel_size")
    stride_list = per_block(strides, blocks, argument="strides")
    paddings = [check_padding(p) for p in per_block(padding, blocks, argument="padding")]
    check_choice("pooling", pooling, [*POOLINGS, None])
    check_activation(activation)
    if not 0.0 <= dropout < 1.0 or not 0.0 <= head_dropout < 1.0:
        raise ValueError(f"dropout rates must be in [0, 1). Received: dropout={dropout}, head_dropout={head_dropout}")

    # Inputs
    images = image_input(input_shape)
    # Body
    x = conv_stack(images, filters=filters, convs_per_block=convs_per_block, kernel_sizes=kernel_sizes,
                   strides=stride_list, paddings=paddings, activation=activation, pooling=pooling,
                   pool_size=pool_size, batch_norm=batch_norm, dropout=dropout)
    x = layers.Flatten(name="flatten")(x)
    # Head
    probabilities = dense_head(x, num_classes=num_classes, units=dense_units, batch_norm=batch_norm,
                               activation=activation, dropout=head_dropout)
    return keras.Model(images, probabilities, name="cnn_classifier")
