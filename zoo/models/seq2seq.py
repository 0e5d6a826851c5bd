"""Recurrent encoder-decoder translators with attention: `gru_seq2seq` and `lstm_seq2seq`.

The encoder embeds the source (`<PAD>`=0 masked) and runs a stack of (bidirectional) recurrent layers;
the mean of its outputs over real tokens, through a dense tanh "bridge", starts the decoder. The decoder
reads the target shifted right (`<BOS> y1 .. yn`, teacher forcing) through one recurrent layer; with
attention, each decoder output attends over the encoder outputs and the two are mixed by a dense tanh
layer (Luong et al., 2015, global attention), with an additive (Bahdanau) or multiplicative (Luong
"general") score. `attention="none"` is the course-style baseline: the bridge is all the decoder sees.

Layers are named so that `zoo.models.seq2seq_step.Seq2SeqStep` can run the trained decoder one token at
a time (its recurrent layer's `cell`) for greedy and beam search.
"""

from __future__ import annotations

import keras
from keras import layers

from zoo.layers.masked_mean_pooling import MaskedGlobalAveragePooling1D
from zoo.layers.source_attention import SCORES, SourceAttention
from zoo.models.blocks import RECURRENT_CELLS, log_softmax_head, recurrent_stack
from zoo.registry import register_model

TASK = "seq2seq"
INPUTS = ("source_ids", "target_in")
ATTENTIONS = (*SCORES, "none")
# Layer names the step-by-step decoder looks up.
SOURCE_EMBEDDING, ENCODER_OUTPUTS, BRIDGE = "source_embedding", "encoder_outputs", "bridge"
TARGET_EMBEDDING, DECODER, ATTENTION, MIX, MIX_INPUTS, HEAD = (
    "target_embedding", "decoder_rnn", "attention", "attentional", "attention_concat", "next_token_log_probs")


def state_count(cell: str) -> int:
    """Recurrent states a cell carries: h and c for an LSTM, h for the others."""
    return 2 if cell == "lstm" else 1


def attention_decoder(target_in, encoder_outputs, *, target_vocab_size: int, cell: str, embedding_dim: int,
                      units: int, attention: str, attention_units: int, dropout: float = 0.0):
    """The decoder shared by translators and captioners: next-token log-probabilities (batch, T, vocab).

    `encoder_outputs` (batch, S, E), with a Keras mask where padded, are what attention reads; their mean
    over real positions, through a dense tanh bridge per recurrent state, starts the decoder. The decoder
    reads `target_in` (`<BOS> y1 .. yn`) through one recurrent layer; with attention, each of its outputs
    attends over the encoder outputs and a dense tanh layer mixes the two.
    """
    if cell not in RECURRENT_CELLS:
        raise ValueError(f"Unknown recurrent cell. Received: cell={cell!r}; allowed: {sorted(RECURRENT_CELLS)}")
    if attention not in ATTENTIONS:
        raise ValueError(f"Unknown attention. Received: attention={attention!r}; allowed: {ATTENTIONS}")
    values = layers.Identity(name=ENCODER_OUTPUTS)(encoder_outputs)
    summary = MaskedGlobalAveragePooling1D(name="encoder_summary")(values)
    states = [layers.Dense(units, activation="tanh", name=f"{BRIDGE}_{i}")(summary) for i in range(state_count(cell))]
    y = layers.Embedding(target_vocab_size, embedding_dim, mask_zero=True, name=TARGET_EMBEDDING)(target_in)
    if dropout:
        y = layers.Dropout(dropout, name="target_dropout")(y)
    y = RECURRENT_CELLS[cell](units, return_sequences=True, name=DECODER)(y, initial_state=states)
    if attention != "none":
        context = SourceAttention(score=attention, units=attention_units, name=ATTENTION)([y, values])
        y = layers.Concatenate(name=MIX_INPUTS)([y, context])
        y = layers.Dense(units, activation="tanh", name=MIX)(y)
    if dropout:
        y = layers.Dropout(dropout, name="output_dropout")(y)
    return log_softmax_head(y, num_classes=target_vocab_size, name=HEAD)


def search_space(hp) -> dict:
    """The keras-tuner search space: builder overrides drawn from `hp`."""
    return {
        "embedding_dim": hp.Choice("embedding_dim", [64, 128, 256]),
        "units": hp.Choice("units", [128, 256, 512]),
        "encoder_layers": hp.Int("encoder_layers", 1, 2),
        "attention": hp.Choice("attention", ["additive", "dot"]),
        "dropout": hp.Float("dropout", 0.0, 0.4, step=0.1),
    }


PRESETS = {
    "tiny": {"embedding_dim": 8, "units": 8, "attention_units": 8, "encoder_layers": 1, "dropout": 0.0},
    "small": {"embedding_dim": 64, "units": 128, "attention_units": 64, "encoder_layers": 1, "dropout": 0.1},
    # Multi30k en->de on CPU: one bidirectional layer of 256 per direction, as in Bahdanau et al. scaled down.
    "multi30k": {"embedding_dim": 256, "units": 256, "attention_units": 256, "encoder_layers": 1, "dropout": 0.2},
}


BUILDER_DOC = """{what} encoder-decoder with attention, trained with teacher forcing.

Args:
    source_vocab_size: source vocabulary size, `<PAD>`=0, `<UNK>`=1, `<BOS>`=2, `<EOS>`=3 included.
    target_vocab_size: target vocabulary size, with the same special ids.
    cell: "gru", "lstm", "rnn" or "irnn" for encoder and decoder; default {cell!r}.
    embedding_dim: size of the source and target token embeddings.
    units: units of each encoder layer (per direction), of the decoder and of the attentional layer.
    encoder_layers: stacked encoder layers.
    bidirectional: read the source in both directions.
    attention: "additive" (Bahdanau score), "dot" (Luong "general" score) or "none" (no attention).
    attention_units: hidden width of the additive score.
    dropout: after the embeddings, after each encoder layer and before the output layer.

Returns:
    An uncompiled functional model mapping `source_ids` (batch, S) and `target_in` (batch, T) int32 to
    log-probabilities (batch, T, target_vocab_size) of the next target token.

Example:
    >>> model = zoo.build({name!r}, source_vocab_size=8000, target_vocab_size=8000, attention="dot")
"""


def _register(name: str, default_cell: str, what: str):
    """Registers one family member; they differ only in their default cell."""

    def builder(
        *,
        source_vocab_size: int,
        target_vocab_size: int,
        cell: str = default_cell,
        embedding_dim: int = 128,
        units: int = 256,
        encoder_layers: int = 1,
        bidirectional: bool = True,
        attention: str = "additive",
        attention_units: int = 128,
        dropout: float = 0.0,
    ) -> keras.Model:
        # Inputs
        source_ids = keras.Input(shape=(None,), dtype="int32", name="source_ids")
        target_in = keras.Input(shape=(None,), dtype="int32", name="target_in")
        # Body: the encoder
        x = layers.Embedding(source_vocab_size, embedding_dim, mask_zero=True, name=SOURCE_EMBEDDING)(source_ids)
        if dropout:
            x = layers.Dropout(dropout, name="source_dropout")(x)
        x = recurrent_stack(x, units=units, num_layers=encoder_layers, cell=cell, bidirectional=bidirectional,
                            dropout=dropout, name="encoder")
        # Head: the decoder
        log_probs = attention_decoder(target_in, x, target_vocab_size=target_vocab_size, cell=cell,
                                      embedding_dim=embedding_dim, units=units, attention=attention,
                                      attention_units=attention_units, dropout=dropout)
        return keras.Model([source_ids, target_in], log_probs, name=name)

    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = BUILDER_DOC.format(what=what, cell=default_cell, name=name)
    return register_model(name, task=TASK, inputs=INPUTS, presets=PRESETS, search_space=search_space,
                          example_sizes={"source_vocab_size": 1000, "target_vocab_size": 1000})(builder)


gru_seq2seq = _register("gru_seq2seq", "gru", "GRU")
lstm_seq2seq = _register("lstm_seq2seq", "lstm", "LSTM")
