"""`cnn_resnet`: a small residual conv net (He et al., 2016, the CIFAR variant) with a softmax head."""

from __future__ import annotations

from typing import Sequence

import keras
from keras import layers

from zoo.models.conv_blocks import check_activation, conv_bn_act, dense_head, image_input, spatial_output_size
from zoo.registry import register_model


def search_space(hp) -> dict:
    """The keras-tuner search space: width, depth and head dropout."""
    base = hp.Choice("base_filters", [16, 32])
    return {
        "stage_filters": [base, 2 * base, 4 * base],
        "blocks_per_stage": hp.Int("blocks_per_stage", 1, 3),
        "dropout": hp.Float("dropout", 0.0, 0.4, step=0.2),
    }


PRESETS = {
    "tiny": {"input_shape": [8, 8, 3], "stage_filters": [4, 8], "blocks_per_stage": 1},
    # ResNet-20 of the paper: 3 stages of 3 blocks, 16/32/64 filters (0.27M parameters).
    "resnet20": {"stage_filters": [16, 32, 64], "blocks_per_stage": 3},
}


@register_model(
    "cnn_resnet",
    task="image",
    inputs=("images",),
    presets=PRESETS,
    search_space=search_space,
    example_sizes={"num_classes": 10},
)
def cnn_resnet(
    *,
    num_classes: int,
    input_shape: Sequence[int] = (32, 32, 3),
    stage_filters: Sequence[int] = (16, 32, 64),
    blocks_per_stage: int = 1,
    activation: str = "relu",
    dropout: float = 0.0,
) -> keras.Model:
    """3x3 stem -> stages of residual blocks (each stage after the first halves H and W) -> global average -> softmax.

    A residual block is conv-BN-act, conv-BN, plus the input (through a strided 1x1 conv + BN when
    the shape changes), then the activation.

    Args:
        num_classes: number of classes K.
        input_shape: (height, width, channels) of the float input `images`, pixels in [0, 1].
        stage_filters: filters of each stage; one stage per entry.
        blocks_per_stage: residual blocks per stage.
        activation: a Keras activation name.
        dropout: dropout before the softmax layer.

    Returns:
        An uncompiled functional model mapping `images` (batch, H, W, C) to probabilities (batch, num_classes).

    Example:
        >>> model = zoo.build("cnn_resnet", num_classes=10, preset="resnet20")
    """
    if not stage_filters or blocks_per_stage < 1:
        raise ValueError(f"Need at least one stage of one block. Received: stage_filters={stage_filters!r}, "
                         f"blocks_per_stage={blocks_per_stage}")
    check_activation(activation)
    # Inputs
    images = image_input(input_shape)
    # Body
    x = conv_bn_act(images, filters=stage_filters[0], kernel_size=3, activation=activation, name="stem")
    height, width = input_shape[0], input_shape[1]
    for s, filters in enumerate(stage_filters):
        for b in range(blocks_per_stage):
            stride = 2 if s > 0 and b == 0 else 1
            name = f"stage{s + 1}_block{b + 1}"
            height = spatial_output_size(height, 3, "same", stride, layer=name)
            width = spatial_output_size(width, 3, "same", stride, layer=name)
            x = residual_block(x, filters=filters, strides=stride, activation=activation, name=name)
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    if dropout:
        x = layers.Dropout(dropout, name="head_dropout")(x)
    # Head
    probabilities = dense_head(x, num_classes=num_classes)
    return keras.Model(images, probabilities, name="cnn_resnet")


def residual_block(x, *, filters: int, strides: int = 1, activation: str = "relu", name: str):
    """Two 3x3 conv-BN layers plus a shortcut; the shortcut is projected when the shape changes."""
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = conv_bn_act(x, filters=filters, kernel_size=1, strides=strides, activation=None,
                               name=f"{name}_shortcut")
    y = conv_bn_act(x, filters=filters, kernel_size=3, strides=strides, activation=activation, name=f"{name}_a")
    y = conv_bn_act(y, filters=filters, kernel_size=3, activation=None, name=f"{name}_b")
    y = layers.Add(name=f"{name}_add")([y, shortcut])
    return layers.Activation(activation, name=f"{name}_out")(y)
