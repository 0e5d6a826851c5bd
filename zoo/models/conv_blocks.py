"""Convolution arithmetic and the conv sub-graphs shared by the image classifiers.

Every spatial layer goes through `conv_output_size`, W = (N + 2P - F) / S + 1, so a stride or
padding that does not fit the image is refused when the model is built, naming the layer,
instead of silently dropping border pixels.
"""

from __future__ import annotations

import math
from typing import Sequence

import keras
from keras import layers

PADDINGS = ("valid", "same")
POOLINGS = {"max": layers.MaxPooling2D, "average": layers.AveragePooling2D}


def conv_output_size(n: int, f: int, p: int, s: int, *, layer: str = "layer") -> int:
    """The output width W = (N + 2P - F) / S + 1 of a convolution or pooling window.

    Args:
        n: input width N (or height).
        f: filter (window) width F.
        p: zero pixels P added on each border.
        s: stride S.
        layer: the layer's name, quoted in the error.

    Returns:
        W, a whole number >= 1.

    Raises:
        ValueError: when W is not a whole number (the window would skip border pixels) or is < 1.

    Example (a 32x32 input and 5x5 filters):
        >>> conv_output_size(32, 5, 0, 1)  # (32 + 0 - 5) / 1 + 1
        28
        >>> conv_output_size(32, 5, 2, 1)  # (32 + 4 - 5) / 1 + 1
        32
    """
    for argument, value, least in (("n", n, 1), ("f", f, 1), ("p", p, 0), ("s", s, 1)):
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ValueError(f"{layer}: {argument} must be an integer >= {least}. Received: {argument}={value!r}")
    span = n + 2 * p - f
    if span < 0:
        raise ValueError(
            f"{layer}: a {f}-wide window does not fit an input {n} wide with padding {p}: "
            f"(N + 2P - F) = ({n} + 2*{p} - {f}) = {span} < 0"
        )
    if span % s:
        raise ValueError(
            f"{layer}: W = (N + 2P - F) / S + 1 = ({n} + 2*{p} - {f}) / {s} + 1 = {span / s + 1:g} is not a whole "
            f"number, so the window would skip border pixels; change the stride, the padding or the input size"
        )
    return span // s + 1


def spatial_output_size(n: int, f: int, padding: str | int, s: int, *, layer: str) -> int:
    """Like `conv_output_size` for a Keras-style `padding`: "valid" (P=0), "same" or an integer P.

    "same" follows Keras, ceil(N / S): TensorFlow pads as much as needed, so every size fits.
    """
    if padding == "same":
        return math.ceil(n / s)
    if padding == "valid":
        return conv_output_size(n, f, 0, s, layer=layer)
    return conv_output_size(n, f, padding, s, layer=layer)


def check_padding(padding, *, argument: str = "padding") -> str | int:
    """`padding` if it is "valid", "same" or an integer >= 0; otherwise a `ValueError`."""
    if padding in PADDINGS or (isinstance(padding, int) and not isinstance(padding, bool) and padding >= 0):
        return padding
    raise ValueError(f"Received: {argument}={padding!r}; allowed: 'valid', 'same' or a number of zero pixels P >= 0")


def per_block(value, count: int, *, argument: str) -> list:
    """One value per block: a scalar is repeated, a list must have `count` entries."""
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(f"{argument} needs one entry per block ({count}). Received: {argument}={list(value)!r}")
        return list(value)
    return [value] * count


def conv_bn_act(
    x,
    *,
    filters: int,
    kernel_size: int,
    strides: int = 1,
    padding: str | int = "same",
    batch_norm: bool = True,
    activation: str | None = "relu",
    name: str,
):
    """[zero padding ->] conv -> [batch norm ->] activation; an integer `padding` is P zero pixels per border.

    The conv has no bias when batch norm follows, since the norm's offset replaces it.
    """
    padding = check_padding(padding)
    if isinstance(padding, int):
        if padding:
            x = layers.ZeroPadding2D(padding, name=f"{name}_pad")(x)
        padding = "valid"
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=not batch_norm,
                      name=f"{name}_conv")(x)
    if batch_norm:
        x = layers.BatchNormalization(name=f"{name}_bn")(x)
    if activation:
        x = layers.Activation(activation, name=f"{name}_act")(x)
    return x


def conv_stack(
    images,
    *,
    filters: Sequence[int],
    convs_per_block: int,
    kernel_sizes: Sequence[int],
    strides: Sequence[int],
    paddings: Sequence[str | int],
    activation: str,
    pooling: str | None,
    pool_size: int,
    batch_norm: bool,
    dropout: float,
):
    """Blocks of `convs_per_block` x `conv_bn_act`, then pooling and dropout, one block per entry of `filters`.

    Block b's first conv has stride `strides[b]`, the others 1. Every window is checked against the
    input's size with `conv_output_size` (via `spatial_output_size`), naming the layer that does not fit.
    """
    height, width = images.shape[1], images.shape[2]
    x = images
    for b in range(len(filters)):
        for i in range(convs_per_block):
            name = f"block{b + 1}_{i + 1}"
            stride = strides[b] if i == 0 else 1
            height = spatial_output_size(height, kernel_sizes[b], paddings[b], stride, layer=f"{name}_conv")
            width = spatial_output_size(width, kernel_sizes[b], paddings[b], stride, layer=f"{name}_conv")
            x = conv_bn_act(x, filters=filters[b], kernel_size=kernel_sizes[b], strides=stride, padding=paddings[b],
                            batch_norm=batch_norm, activation=activation, name=name)
        if pooling:
            name = f"block{b + 1}_pool"
            height = conv_output_size(height, pool_size, 0, pool_size, layer=name)
            width = conv_output_size(width, pool_size, 0, pool_size, layer=name)
            x = POOLINGS[pooling](pool_size, name=name)(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"block{b + 1}_dropout")(x)
    return x


def dense_head(
    x,
    *,
    num_classes: int,
    units: Sequence[int] = (),
    batch_norm: bool = False,
    activation: str = "relu",
    dropout: float = 0.0,
):
    """[dense -> [batch norm ->] activation -> dropout] per entry of `units`, then softmax probabilities."""
    for i, width in enumerate(units):
        x = layers.Dense(width, use_bias=not batch_norm, name=f"dense{i}")(x)
        if batch_norm:
            x = layers.BatchNormalization(name=f"dense{i}_bn")(x)
        x = layers.Activation(activation, name=f"dense{i}_act")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dense{i}_dropout")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    # Float32 softmax, so the probabilities stay exact under a mixed-precision policy.
    return layers.Activation("softmax", dtype="float32", name="probabilities")(logits)


def image_input(input_shape: Sequence[int]):
    """The named float input `images` (pixels in [0, 1]); its name becomes the serving signature's."""
    if len(input_shape) != 3 or not all(isinstance(d, int) and d > 0 for d in input_shape):
        raise ValueError(f"input_shape must be (height, width, channels) of positive integers. "
                         f"Received: input_shape={input_shape!r}")
    return keras.Input(shape=tuple(input_shape), dtype="float32", name="images")


def check_choice(argument: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"Received: {argument}={value!r}; allowed: {list(allowed)}")


def check_activation(activation: str) -> None:
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ValueError(f"Unknown activation. Received: activation={activation!r}; e.g. 'relu', 'tanh', 'gelu'") from None
