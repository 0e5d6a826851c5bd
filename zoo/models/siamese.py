"""Siamese text encoders: one shared encoder maps each of two texts to a unit vector.

Both builders return a model with inputs `token_ids_a`, `token_ids_b` and one output, the two
encodings stacked as (batch, 2, dim), which `zoo.losses.TripletLoss` scores. The encoder itself
is the nested model `model.get_layer("encoder")` (ids -> unit vectors), used for indexing; the
cosine similarity of two texts is the dot product of their encodings. An empty text encodes to
the zero vector, similar to nothing.

`with_triplet_loss(model)` wraps either builder's model into a functional training model whose loss
is a `TripletLossLayer` (compile it with an optimizer only), the layer form of `TripletLoss`.
"""

from __future__ import annotations

from typing import Sequence

import keras

from zoo.layers.triplet_loss import TripletLossLayer
from zoo.models.blocks import recurrent_stack, sequence_pooling, siamese_pair, token_embedding, unit_projection
from zoo.registry import register_model

INPUTS = ("token_ids_a", "token_ids_b")


def lstm_search_space(hp) -> dict:
    """The keras-tuner search space of `siamese_lstm`."""
    return {
        "embedding_dim": hp.Choice("embedding_dim", [64, 128, 256]),
        "lstm_units": hp.Choice("lstm_units", [64, 128]),
        "output_dim": hp.Choice("output_dim", [64, 128, 256]),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1),
    }


def bow_search_space(hp) -> dict:
    """The keras-tuner search space of `siamese_bow`."""
    return {
        "embedding_dim": hp.Choice("embedding_dim", [64, 128, 256]),
        "output_dim": hp.Choice("output_dim", [64, 128, 256]),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1),
    }


@register_model(
    "siamese_lstm",
    task="siamese",
    inputs=INPUTS,
    presets={
        "tiny": {"embedding_dim": 8, "lstm_units": 8, "output_dim": 8},
        "course": {"embedding_dim": 128, "lstm_units": 128, "bidirectional": False, "pooling": ["mean"],
                   "output_dim": 128, "project": False},
    },
    search_space=lstm_search_space,
    example_sizes={"vocab_size": 20000},
)
def siamese_lstm(
    *,
    vocab_size: int,
    embedding_dim: int = 128,
    lstm_units: int = 128,
    num_layers: int = 1,
    bidirectional: bool = True,
    pooling: Sequence[str] = ("mean", "max"),
    output_dim: int = 128,
    project: bool = True,
    dropout: float = 0.0,
) -> keras.Model:
    """Shared encoder: embedding (masked) -> (Bi)LSTM x num_layers -> masked pooling -> dense -> L2.

    Args:
        vocab_size: embedding rows, `<PAD>`=0 and `<UNK>`=1 included (plus any hashed OOV buckets).
        embedding_dim: word embedding size.
        lstm_units: units of each LSTM direction.
        num_layers: stacked recurrent layers.
        bidirectional: BiLSTM (True) or a forward LSTM (False).
        pooling: any of "mean", "max", "attention" over the real time steps, concatenated.
        output_dim: size of the unit vectors when `project`.
        project: a bias-free dense layer before the L2 normalisation; without it the pooled
            features are normalised as they are (the course's model).
        dropout: dropout after the embedding and after each recurrent layer.

    Returns:
        An uncompiled model: (`token_ids_a`, `token_ids_b`) int32 (batch, time) -> (batch, 2, dim).

    Example:
        >>> model = zoo.build("siamese_lstm", vocab_size=20000)
        >>> vectors = model.get_layer("encoder")(token_ids)  # (batch, 128) unit vectors
    """
    # Inputs
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    # Body
    x = token_embedding(token_ids, vocab_size=vocab_size, embedding_dim=embedding_dim, dropout=dropout)
    x = recurrent_stack(x, units=lstm_units, num_layers=num_layers, cell="lstm", bidirectional=bidirectional,
                        dropout=dropout)
    x = sequence_pooling(x, pooling=pooling)
    # Head
    vectors = unit_projection(x, units=output_dim) if project else keras.layers.UnitNormalization(name="projection")(x)
    encoder = keras.Model(token_ids, vectors, name="encoder")
    return siamese_pair(encoder, input_names=INPUTS, name="siamese_lstm")


@register_model(
    "siamese_bow",
    task="siamese",
    inputs=INPUTS,
    presets={"tiny": {"embedding_dim": 8, "output_dim": 8, "dropout": 0.0}},
    search_space=bow_search_space,
    example_sizes={"vocab_size": 20000},
)
def siamese_bow(
    *,
    vocab_size: int,
    embedding_dim: int = 128,
    pooling: Sequence[str] = ("attention", "max"),
    output_dim: int = 128,
    dropout: float = 0.3,
) -> keras.Model:
    """Shared bag-of-ids encoder: embedding (masked) -> dropout -> masked pooling -> dense -> L2.

    The cheap alternative to `siamese_lstm`: word order is lost, but it trains in seconds per
    epoch, and hashed word bigrams and character n-grams (`pipelines.pairs.TextIds`) can join the
    bag as extra ids.

    Args:
        vocab_size: embedding rows: vocabulary plus OOV, bigram and n-gram buckets.
        embedding_dim: embedding size.
        pooling: any of "mean", "max", "attention" over the ids, concatenated.
        output_dim: size of the unit vectors.
        dropout: dropout on the embeddings.

    Returns:
        An uncompiled model: (`token_ids_a`, `token_ids_b`) int32 (batch, ids) -> (batch, 2, output_dim).

    Example:
        >>> model = zoo.build("siamese_bow", vocab_size=60000)
    """
    # Inputs
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    # Body
    x = token_embedding(token_ids, vocab_size=vocab_size, embedding_dim=embedding_dim, dropout=dropout)
    x = sequence_pooling(x, pooling=pooling)
    # Head
    encoder = keras.Model(token_ids, unit_projection(x, units=output_dim), name="encoder")
    return siamese_pair(encoder, input_names=INPUTS, name="siamese_bow")


def with_triplet_loss(model: keras.Model, *, margin: float = 0.25, negatives: Sequence[str] = ("mean", "closest"),
                      symmetric: bool = False) -> keras.Model:
    """A training model around a Siamese model whose loss is a `TripletLossLayer` on its stacked encodings.

    It shares the Siamese model's weights (and so its encoder's), and trains with
    `compile(optimizer=...)` alone: the layer adds the same loss, with the same mining functions,
    as compiling `model` with `zoo.losses.TripletLoss(margin, negatives, symmetric)`.

    Example:
        >>> siamese = zoo.build("siamese_lstm", vocab_size=1000)
        >>> trainer = with_triplet_loss(siamese, margin=0.25, negatives=("mean", "hardest"))
        >>> trainer.compile(optimizer="adam")
        >>> trainer.fit(triplet_batches, epochs=3)  # then index with siamese.get_layer("encoder")
    """
    inputs = {name: keras.Input(shape=(None,), dtype="int32", name=name) for name in INPUTS}
    loss = TripletLossLayer(margin=margin, negatives=negatives, symmetric=symmetric, name="triplet_loss")
    return keras.Model(inputs, loss(model(inputs)), name=f"{model.name}_triplet_trainer")
