"""Sub-graphs shared by model families: embedding stacks, recurrent stacks, heads."""

from __future__ import annotations

import keras
from keras import layers

RECURRENT_CELLS = {"lstm": layers.LSTM, "gru": layers.GRU, "rnn": layers.SimpleRNN}


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
    name: str = "encoder",
):
    """`num_layers` recurrent layers returning sequences, each optionally bidirectional."""
    if cell not in RECURRENT_CELLS:
        raise ValueError(f"Unknown recurrent cell. Received: cell={cell!r}; allowed: {sorted(RECURRENT_CELLS)}")
    if num_layers < 1:
        raise ValueError(f"num_layers must be at least 1. Received: num_layers={num_layers}")
    for i in range(num_layers):
        layer = RECURRENT_CELLS[cell](units, return_sequences=True, name=f"{name}_{cell}_{i}")
        if bidirectional:
            layer = layers.Bidirectional(layer, name=f"{name}_bi{cell}_{i}")
        x = layer(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"{name}_dropout_{i}")(x)
    return x


def log_softmax_head(x, *, num_classes: int, name: str = "log_probs"):
    """Dense scores over `num_classes` normalised with log-softmax (per time step for sequences)."""
    logits = layers.Dense(num_classes, name=f"{name}_dense")(x)
    return layers.Activation(keras.activations.log_softmax, name=name)(logits)
