"""`bilstm_ner`: a bidirectional-LSTM named-entity tagger with a per-token log-softmax head."""

from __future__ import annotations

import keras

from zoo.models.blocks import log_softmax_head, recurrent_stack, token_embedding
from zoo.registry import register_model


def search_space(hp) -> dict:
    """The keras-tuner search space: builder overrides drawn from `hp`."""
    return {
        "embedding_dim": hp.Choice("embedding_dim", [50, 100, 200]),
        "lstm_units": hp.Choice("lstm_units", [64, 128, 256]),
        "num_layers": hp.Int("num_layers", 1, 2),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1),
    }


PRESETS = {
    "tiny": {"embedding_dim": 8, "lstm_units": 8, "num_layers": 1, "dropout": 0.0},
    "quickstart": {"embedding_dim": 32, "lstm_units": 32, "num_layers": 1, "dropout": 0.1},
}


@register_model(
    "bilstm_ner",
    task="ner",
    inputs=("token_ids",),
    presets=PRESETS,
    search_space=search_space,
    example_sizes={"vocab_size": 20000, "num_tags": 9},
)
def bilstm_ner(
    *,
    vocab_size: int,
    num_tags: int,
    embedding_dim: int = 100,
    lstm_units: int = 128,
    num_layers: int = 1,
    dropout: float = 0.25,
) -> keras.Model:
    """Embedding (masked) -> BiLSTM x num_layers -> dense -> log-softmax over the tags.

    Args:
        vocab_size: word vocabulary size, `<PAD>`=0 and `<UNK>`=1 included.
        num_tags: number of tags K (padding is not a tag; padded labels are -1).
        embedding_dim: word embedding size.
        lstm_units: units of each LSTM direction.
        num_layers: stacked bidirectional layers.
        dropout: dropout after the embedding and after each recurrent layer.

    Returns:
        An uncompiled functional model mapping `token_ids` (batch, time) int32 to
        log-probabilities (batch, time, num_tags).

    Example:
        >>> model = zoo.build("bilstm_ner", vocab_size=20000, num_tags=9)
    """
    # Inputs
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    # Body
    x = token_embedding(token_ids, vocab_size=vocab_size, embedding_dim=embedding_dim, dropout=dropout)
    x = recurrent_stack(x, units=lstm_units, num_layers=num_layers, cell="lstm", dropout=dropout)
    # Head
    log_probs = log_softmax_head(x, num_classes=num_tags, name="tag_log_probs")
    return keras.Model(token_ids, log_probs, name="bilstm_ner")
