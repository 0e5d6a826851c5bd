"""Sub-graphs shared by model families: embedding stacks, recurrent stacks, heads."""

from __future__ import annotations

import keras
from keras import layers

from zoo.layers.attention_pooling import AttentionPooling1D
from zoo.layers.masked_max_pooling import MaskedGlobalMaxPooling1D
from zoo.layers.masked_mean_pooling import MaskedGlobalAveragePooling1D


def identity_rnn(units: int, **kwargs) -> layers.SimpleRNN:
    """IRNN (Le et al., 2015): a simple RNN with ReLU and recurrent weights initialised to the identity.

    At initialisation the hidden state is copied from step to step, so gradients neither vanish
    nor explode through the recurrence until training moves the weights.
    """
    return layers.SimpleRNN(units, activation="relu", recurrent_initializer=keras.initializers.Identity(), **kwargs)


# A simple RNN computes h_t = tanh(W_h [h_{t-1}; x_t] + b) with W_h = [W_hh, W_hx]; Keras keeps the
# two blocks as `recurrent_kernel` and `kernel`.
RECURRENT_CELLS = {"lstm": layers.LSTM, "gru": layers.GRU, "rnn": layers.SimpleRNN, "irnn": identity_rnn}


def token_embedding(token_ids, *, vocab_size: int, embedding_dim: int, dropout: float = 0.0):
    """Embeds token ids with id 0 (`<PAD>`) masked, so recurrent layers skip padding."""
    x = layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="token_embedding")(token_ids)
    if dropout:
        x = layers.Dropout(dropout, name="embedding_dropout")(x)
    return x


def recurrent_stack(
    x,
    *,
    units: int,
    num_layers: int = 1,
    cell: str = "lstm",
    bidirectional: bool = True,
    dropout: float = 0.0,
    residual: bool = False,
    variational: bool = False,
    name: str = "encoder",
):
    """`num_layers` recurrent layers returning sequences, each optionally bidirectional.

    Args:
        x: (batch, time, features) input, with a Keras mask if padded.
        units: units per layer (per direction when bidirectional).
        num_layers: stacked layers.
        cell: a key of `RECURRENT_CELLS`: "lstm", "gru", "rnn" (tanh) or "irnn" (identity RNN).
        bidirectional: wrap each layer in `Bidirectional` (taggers and classifiers only).
        dropout: dropout after each recurrent layer.
        variational: drop the same units at every time step of a sequence (`SpatialDropout1D`;
            Gal & Ghahramani's variational dropout between layers) instead of anew at each step.
        residual: add each layer's input to its output from the second layer on, where the widths
            match (the first layer's input is the embedding, whose width differs in general).
        name: prefix of the layer names, `{name}_{cell}_{i}` and so on.
    """
    if cell not in RECURRENT_CELLS:
        raise ValueError(f"Unknown recurrent cell. Received: cell={cell!r}; allowed: {sorted(RECURRENT_CELLS)}")
    if num_layers < 1:
        raise ValueError(f"num_layers must be at least 1. Received: num_layers={num_layers}")
    for i in range(num_layers):
        layer = RECURRENT_CELLS[cell](units, return_sequences=True, name=f"{name}_{cell}_{i}")
        if bidirectional:
            layer = layers.Bidirectional(layer, name=f"{name}_bi{cell}_{i}")
        y = layer(x)
        if dropout:
            y = (layers.SpatialDropout1D if variational else layers.Dropout)(dropout, name=f"{name}_dropout_{i}")(y)
        x = layers.Add(name=f"{name}_residual_{i}")([x, y]) if residual and i > 0 else y
    return x


def log_softmax_head(x, *, num_classes: int, name: str = "log_probs"):
    """Dense scores over `num_classes` normalised with log-softmax (per time step for sequences)."""
    logits = layers.Dense(num_classes, name=f"{name}_dense")(x)
    return layers.Activation(keras.activations.log_softmax, name=name)(logits)


POOLINGS = ("mean", "max", "attention")


def sequence_pooling(x, *, pooling=("mean", "max"), name: str = "pool"):
    """Masked poolings over time, concatenated: "mean", "max" and/or "attention"; empty texts give zeros."""
    pooling = (pooling,) if isinstance(pooling, str) else tuple(pooling)
    if not pooling or any(p not in POOLINGS for p in pooling):
        raise ValueError(f"Unknown pooling. Received: pooling={list(pooling)}; allowed: any of {list(POOLINGS)}")
    kinds = {"mean": MaskedGlobalAveragePooling1D, "max": MaskedGlobalMaxPooling1D, "attention": AttentionPooling1D}
    pooled = [kinds[p](name=f"{name}_{p}")(x) for p in pooling]
    return pooled[0] if len(pooled) == 1 else layers.Concatenate(name=name)(pooled)


def unit_projection(x, *, units: int, name: str = "projection"):
    """Dense without bias, then L2 normalisation: unit vectors whose dot product is the cosine.

    Without a bias an all-zero input (an empty text) stays the zero vector instead of becoming an
    arbitrary unit vector, so it is similar to nothing.
    """
    x = layers.Dense(units, use_bias=False, name=f"{name}_dense")(x)
    return layers.UnitNormalization(name=name)(x)


def siamese_pair(encoder: keras.Model, *, input_names=("token_ids_a", "token_ids_b"), name: str = "siamese"):
    """Applies one encoder (one set of weights) to two id inputs; output (batch, 2, dim), stacked."""
    inputs = [keras.Input(shape=(None,), dtype="int32", name=n) for n in input_names]
    dim = encoder.output.shape[-1]
    stacked = [layers.Reshape((1, dim), name=f"{n}_vector")(encoder(x)) for n, x in zip(input_names, inputs)]
    embeddings = layers.Concatenate(axis=1, name="embeddings")(stacked)
    return keras.Model(inputs, embeddings, name=name)
