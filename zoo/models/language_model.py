"""Recurrent next-token language models: `gru_lm`, `lstm_lm` and `rnn_lm`.

The three are built by one function and differ only in their default cell; each accepts any
cell of `RECURRENT_CELLS` (`rnn_lm` with `cell="irnn"` is the identity RNN).
"""

from __future__ import annotations

import keras

from zoo.models.blocks import RECURRENT_CELLS, log_softmax_head, recurrent_stack, token_embedding
from zoo.registry import register_model

TASK = "language_model"
# Layer-name prefixes that the exported step-by-step decoder (zoo.tasks.language_model) looks up.
STACK_NAME = "decoder"
HEAD_NAME = "next_token_log_probs"


def search_space(hp) -> dict:
    """The keras-tuner search space: builder overrides drawn from `hp`."""
    return {
        "embedding_dim": hp.Choice("embedding_dim", [32, 64, 128]),
        "units": hp.Choice("units", [128, 256, 512]),
        "num_layers": hp.Int("num_layers", 1, 3),
        "dropout": hp.Float("dropout", 0.0, 0.5, step=0.1),
        "residual": hp.Boolean("residual"),
    }


PRESETS = {
    "tiny": {"embedding_dim": 8, "units": 8, "num_layers": 1, "dropout": 0.0},
    "small": {"embedding_dim": 32, "units": 128, "num_layers": 1, "dropout": 0.0},
    # benchmarks/char_lm_shakespeare.py: what fits 60 minutes on 2 CPU cores.
    "shakespeare": {"embedding_dim": 64, "units": 512, "num_layers": 2, "dropout": 0.2},
}


BUILDER_DOC = """{what} next-token language model: embedding -> stacked recurrent layers -> log-softmax.

The embedding masks `<PAD>` (id 0); a dense layer and log-softmax over the vocabulary follow the
`num_layers` recurrent layers, at every time step.

Args:
    vocab_size: vocabulary size, `<PAD>`=0, `<UNK>`, `<BOS>` and `<EOS>` included.
    cell: "gru", "lstm", "rnn" (tanh) or "irnn" (ReLU, identity-initialised recurrence); default {cell!r}.
    embedding_dim: token embedding size.
    units: units of each recurrent layer.
    num_layers: stacked recurrent layers.
    dropout: dropout after the embedding and after each recurrent layer.
    residual: skip connections around the second and later recurrent layers.
    bidirectional: must stay False; a next-token model may not read the future.

Returns:
    An uncompiled functional model mapping `token_ids` (batch, time) int32 to
    log-probabilities (batch, time, vocab_size) of the token at the next position.

Example:
    >>> model = zoo.build({name!r}, vocab_size=69, units=256)
"""


def _register(name: str, default_cell: str, what: str):
    """Registers one family member; the three differ only in their default cell."""

    def builder(
        *,
        vocab_size: int,
        cell: str = default_cell,
        embedding_dim: int = 64,
        units: int = 512,
        num_layers: int = 1,
        dropout: float = 0.0,
        residual: bool = False,
        bidirectional: bool = False,
    ) -> keras.Model:
        if bidirectional:
            raise ValueError(
                "A next-token language model cannot be bidirectional: the backward direction would read "
                "the very tokens the model is asked to predict, so training leaks the targets and the "
                "model cannot generate. Received: bidirectional=True. Use bidirectional layers in taggers "
                "and classifiers."
            )
        if cell not in RECURRENT_CELLS:
            raise ValueError(f"Unknown recurrent cell. Received: cell={cell!r}; allowed: {sorted(RECURRENT_CELLS)}")
        # Inputs
        token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
        # Body
        x = token_embedding(token_ids, vocab_size=vocab_size, embedding_dim=embedding_dim, dropout=dropout)
        x = recurrent_stack(x, units=units, num_layers=num_layers, cell=cell, bidirectional=False, dropout=dropout,
                            residual=residual, name=STACK_NAME)
        # Head
        log_probs = log_softmax_head(x, num_classes=vocab_size, name=HEAD_NAME)
        return keras.Model(token_ids, log_probs, name=name)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = BUILDER_DOC.format(what=what, cell=default_cell, name=name)
    return register_model(name, task=TASK, inputs=("token_ids",), presets=PRESETS, search_space=search_space,
                          example_sizes={"vocab_size": 69})(builder)


gru_lm = _register("gru_lm", "gru", "GRU")
lstm_lm = _register("lstm_lm", "lstm", "LSTM")
rnn_lm = _register("rnn_lm", "rnn", "Simple-RNN (or, with cell='irnn', identity-RNN)")
