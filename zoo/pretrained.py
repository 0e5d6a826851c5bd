"""Pretrained word vectors into a built model's `token_embedding` layer (every text model of the zoo has one)."""

from __future__ import annotations

import keras
import numpy as np

from zoo.errors import ZooError

EMBEDDING_LAYER = "token_embedding"


def find_token_embedding(model: keras.Model) -> keras.layers.Embedding:
    """The layer named `token_embedding`, searched in nested models too (a Siamese model's encoder)."""
    for layer in model.layers:
        if layer.name == EMBEDDING_LAYER:
            return layer
        if isinstance(layer, keras.Model):
            try:
                return find_token_embedding(layer)
            except ZooError:
                continue
    raise ZooError(f"model {model.name!r} has no {EMBEDDING_LAYER!r} layer to take pretrained word vectors")


def set_token_embedding(model: keras.Model, matrix: np.ndarray, *, trainable: bool = True) -> keras.layers.Embedding:
    """Copies `matrix` (vocabulary size, dim) into the model's token embedding; `trainable=False` freezes it.

    Freeze before compiling: Keras collects the trainable weights when the model is compiled.
    """
    layer = find_token_embedding(model)
    (current,) = layer.get_weights()
    if current.shape != matrix.shape:
        raise ZooError(f"pretrained vectors of shape {matrix.shape} do not fit {model.name!r}'s token embedding "
                       f"{current.shape} (vocabulary size, embedding_dim): build it with embedding_dim={matrix.shape[1]}")
    layer.set_weights([matrix.astype(current.dtype)])
    layer.trainable = trainable
    return layer
