"""A trained `gru_seq2seq` / `lstm_seq2seq` run one target token at a time, for greedy and beam search."""

from __future__ import annotations

import keras
from keras import ops

from zoo.models.seq2seq import ATTENTION, BRIDGE, DECODER, ENCODER_OUTPUTS, HEAD, MIX, MIX_INPUTS, TARGET_EMBEDDING


class Seq2SeqStep:
    """The encoder as a sub-model and the decoder as a step function, sharing the trained model's layers.

    `encode(source_ids)` -> `(context, states)`: `context = {"values": (batch, S, E), "mask": (batch, S)}`
    (what attention reads; fixed while decoding) and the decoder's initial recurrent states.
    `step(token_ids, states, context)` -> `(log_probs (N, vocab), states)`: the decoder's recurrent
    layer's `cell` on one token, attention over `context`, the output layer. This is the function
    `zoo.decoding.greedy_decode` and `zoo.decoding.beam_search` loop over.

    Args:
        model: a model built by `gru_seq2seq` or `lstm_seq2seq` (its layer names are looked up).
    """

    def __init__(self, model: keras.Model):
        self.model = model
        names = {layer.name for layer in model.layers}
        (source_ids,) = [x for x in model.inputs if x.name == "source_ids"]
        bridges = sorted(name for name in names if name.startswith(f"{BRIDGE}_"))
        self.encoder = keras.Model(source_ids, [model.get_layer(ENCODER_OUTPUTS).output,
                                                *(model.get_layer(name).output for name in bridges)],
                                   name="encoder")
        self.embedding = model.get_layer(TARGET_EMBEDDING)
        self.cell = model.get_layer(DECODER).cell
        self.attention = model.get_layer(ATTENTION) if ATTENTION in names else None
        self.mix = (model.get_layer(MIX_INPUTS), model.get_layer(MIX)) if self.attention is not None else None
        self.head = model.get_layer(f"{HEAD}_dense")

    def encode(self, source_ids):
        values, *states = self.encoder(source_ids, training=False)
        return {"values": values, "mask": ops.not_equal(source_ids, 0)}, list(states)

    def step(self, token_ids, states, context):
        # The embedding matrix itself: calling the layer would attach a padding mask the cell warns about.
        h, states = self.cell(ops.take(self.embedding.embeddings, token_ids, axis=0), list(states), training=False)
        if self.attention is not None:
            attended = self.attention([h[:, None, :], context["values"]], mask=[None, context["mask"]])[:, 0, :]
            concat, dense = self.mix
            h = dense(concat([h, attended]))
        return keras.activations.log_softmax(self.head(h)), list(states)
