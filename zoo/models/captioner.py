"""`cnn_rnn_captioner`: a conv encoder's grid of feature vectors, read by the seq2seq attention decoder.

Show, attend and tell (Xu et al., 2015) in small: the image goes through the zoo's conv blocks; each cell
of the last feature map, projected to `units`, is one "source position" the decoder attends over, just
as a translator attends over source words. Decoding (greedy, beam search) is the translators'.
"""

from __future__ import annotations

import os
from typing import Sequence

import keras
from keras import layers

from zoo.models.conv_blocks import (
    POOLINGS,
    check_activation,
    check_choice,
    check_padding,
    conv_stack,
    image_input,
    per_block,
)
from zoo.models.seq2seq import attention_decoder
from zoo.registry import register_model

TASK = "captioning"
INPUTS = ("images", "target_in")


def search_space(hp) -> dict:
    """The keras-tuner search space: builder overrides drawn from `hp`."""
    return {
        "units": hp.Choice("units", [128, 256, 512]),
        "embedding_dim": hp.Choice("embedding_dim", [64, 128, 256]),
        "attention": hp.Choice("attention", ["additive", "dot"]),
        "dropout": hp.Float("dropout", 0.0, 0.4, step=0.1),
    }


PRESETS = {
    "tiny": {"input_shape": [8, 8, 3], "filters": [4], "convs_per_block": 1, "embedding_dim": 8, "units": 8,
             "attention_units": 8},
    # Flickr8k at 128x128: four blocks leave an 8x8 grid of 64 positions to attend over.
    "flickr8k": {"input_shape": [128, 128, 3], "filters": [32, 64, 128, 256], "convs_per_block": 2,
                 "embedding_dim": 128, "units": 256, "attention_units": 128, "dropout": 0.2},
}


@register_model("cnn_rnn_captioner", task=TASK, inputs=INPUTS, presets=PRESETS, search_space=search_space,
                example_sizes={"target_vocab_size": 1000})
def cnn_rnn_captioner(
    *,
    target_vocab_size: int,
    input_shape: Sequence[int] = (128, 128, 3),
    filters: Sequence[int] = (32, 64, 128),
    convs_per_block: int = 2,
    kernel_size: int | Sequence[int] = 3,
    padding: str | int | Sequence[str | int] = "same",
    activation: str = "relu",
    pooling: str | None = "max",
    batch_norm: bool = True,
    cell: str = "gru",
    embedding_dim: int = 128,
    units: int = 256,
    attention: str = "additive",
    attention_units: int = 128,
    dropout: float = 0.0,
    encoder_weights: str | None = None,
    freeze_encoder: bool = False,
) -> keras.Model:
    """Conv blocks -> grid of feature vectors -> recurrent decoder attending over the grid -> next-word log-probs.

    Args:
        target_vocab_size: caption vocabulary size, `<PAD>`=0, `<UNK>`=1, `<BOS>`=2, `<EOS>`=3 included.
        input_shape: (height, width, channels) of the float input `images`, pixels in [0, 1].
        filters: filters of each conv block; one block per entry, each halving the grid with 2x2 pooling.
        convs_per_block: convolutions per block.
        kernel_size: one value for all blocks or one per block.
        padding: "valid", "same" or P zero pixels; one value or one per block.
        activation: the convolutions' activation.
        pooling: "max", "average" or None after each block.
        batch_norm: batch normalisation after every convolution.
        cell, embedding_dim, units, attention, attention_units: the decoder's, as in `gru_seq2seq`.
        dropout: after the grid projection, the word embedding and before the output layer.
        encoder_weights: a saved Keras model (`.keras`) whose conv blocks (layers named `block*`, as
            `conv_stack` names them: a `cnn_classifier`'s, or `zoo.tasks.seq2seq.concepts`'
            encoder trained to name what the captions mention) initialise this encoder.
        freeze_encoder: keep those blocks fixed while the decoder trains (batch norm in inference mode).

    Returns:
        An uncompiled functional model mapping `images` (batch, H, W, C) and `target_in` (batch, T) int32 to
        log-probabilities (batch, T, target_vocab_size) of the next caption token.

    Example:
        >>> model = zoo.build("cnn_rnn_captioner", target_vocab_size=5000, preset="flickr8k")
    """
    if freeze_encoder and not encoder_weights:
        raise ValueError("freeze_encoder=True needs encoder_weights (a frozen random encoder learns nothing)")
    blocks = len(filters)
    if blocks < 1:
        raise ValueError(f"filters needs at least one block. Received: filters={filters!r}")
    check_choice("pooling", pooling, [*POOLINGS, None])
    check_activation(activation)
    # Inputs
    images = image_input(input_shape)
    target_in = keras.Input(shape=(None,), dtype="int32", name="target_in")
    # Body: the encoder, one feature vector per grid cell
    grid = caption_encoder(images, filters=filters, convs_per_block=convs_per_block, kernel_size=kernel_size,
                           padding=padding, activation=activation, pooling=pooling, batch_norm=batch_norm)
    cells = layers.Reshape((grid.shape[1] * grid.shape[2], grid.shape[3]), name="grid_cells")(grid)
    x = layers.Dense(units, activation="relu", name="grid_projection")(cells)
    if dropout:
        x = layers.Dropout(dropout, name="grid_dropout")(x)
    # Head: the decoder
    log_probs = attention_decoder(target_in, x, target_vocab_size=target_vocab_size, cell=cell,
                                  embedding_dim=embedding_dim, units=units, attention=attention,
                                  attention_units=attention_units, dropout=dropout)
    model = keras.Model([images, target_in], log_probs, name="cnn_rnn_captioner")
    if encoder_weights:
        load_encoder(model, encoder_weights, freeze=freeze_encoder)
    return model


def caption_encoder(images, *, filters: Sequence[int], convs_per_block: int = 2, kernel_size: int | Sequence[int] = 3,
                    padding: str | int | Sequence[str | int] = "same", activation: str = "relu",
                    pooling: str | None = "max", batch_norm: bool = True):
    """The captioner's conv blocks on `images` (the grid of feature maps), as `cnn_rnn_captioner` builds them."""
    blocks = len(filters)
    return conv_stack(images, filters=filters, convs_per_block=convs_per_block,
                      kernel_sizes=per_block(kernel_size, blocks, argument="kernel_size"), strides=[1] * blocks,
                      paddings=[check_padding(p) for p in per_block(padding, blocks, argument="padding")],
                      activation=activation, pooling=pooling, pool_size=2, batch_norm=batch_norm, dropout=0.0)


def load_encoder(model: keras.Model, path: str, *, freeze: bool = False) -> list[str]:
    """Copies the conv blocks (layers named `block*`) of the Keras model saved at `path` into `model`'s.

    Every block of `model` must be found with weights of the same shapes (a `ValueError` names the
    first that is not); returns the names of the layers copied.
    """
    if not str(path).endswith(".keras") or not os.path.isfile(path):
        raise ValueError(f"encoder_weights={path!r}: expected a saved Keras model file (.keras)")
    source = keras.models.load_model(path, compile=False)
    copied = []
    for layer in model.layers:
        if not layer.name.startswith("block") or not layer.weights:
            continue
        try:
            weights = source.get_layer(layer.name).get_weights()
        except ValueError:
            raise ValueError(f"{path}: has no layer {layer.name!r} for the encoder (its conv blocks must be "
                             f"built with the same filters and convs_per_block)") from None
        if [w.shape for w in weights] != [tuple(w.shape) for w in layer.weights]:
            raise ValueError(f"{path}: layer {layer.name!r} has weights of shapes {[w.shape for w in weights]}, "
                             f"the encoder needs {[tuple(w.shape) for w in layer.weights]}")
        layer.set_weights(weights)
        layer.trainable = not freeze
        copied.append(layer.name)
    return copied
