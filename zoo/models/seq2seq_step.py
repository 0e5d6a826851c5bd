"""A trained `gru_seq2seq`, `lstm_seq2seq` or `cnn_rnn_captioner` run one target token at a time, for greedy and beam search."""

from __future__ import annotations

import keras
from keras import ops

from zoo.models.seq2seq import ATTENTION, BRIDGE, DECODER, ENCODER_OUTPUTS, HEAD, MIX, MIX_INPUTS, TARGET_EMBEDDING


class Seq2SeqStep:
    """The encoder as a sub-model and the decoder as a step function, sharing the trained model's layers.

    `encode(source)` -> `(context, states)`: `context = {"values": (batch, S, E), "mask": (batch, S)}`
    and, with attention, the values' projection `"keys"` (what attention reads; fixed while decoding),
    and the decoder's initial recurrent states. `source` is
    the model's other input: `source_ids` (padding, id 0, masked) or `images` (every grid cell real).
    `step(token_ids, states, context)` -> `(log_probs (N, vocab), states)`: the decoder's recurrent
    layer's `cell` on one token, attention over `context`, the output layer. This is the function
    `zoo.decoding.greedy_decode` and `zoo.decoding.beam_search` loop over.

    Args:
        model: a model built by `gru_seq2seq`, `lstm_seq2seq` or `cnn_rnn_captioner` (its layer names are
            looked up).
    """

    def __init__(self, model: keras.Model):
        self.model = model
        names = {layer.name for layer in model.layers}
        (source,) = [x for x in model.inputs if x.name != "target_in"]
        self.masked = "int" in str(source.dtype)
        bridges = sorted(name for name in names if name.startswith(f"{BRIDGE}_"))
        self.encoder = keras.Model(source, [model.get_layer(ENCODER_OUTPUTS).output,
                                                *(model.get_layer(name).output for name in bridges)],
                                   name="encoder")
        self.embedding = model.get_layer(TARGET_EMBEDDING)
        self.cell = model.get_layer(DECODER).cell
        self.attention = model.get_layer(ATTENTION) if ATTENTION in names else None
        self.mix = (model.get_layer(MIX_INPUTS), model.get_layer(MIX)) if self.attention is not None else None
        self.head = model.get_layer(f"{HEAD}_dense")

    def encode(self, source):
        values, *states = self.encoder(source, training=False)
        mask = ops.not_equal(source, 0) if self.masked else ops.ones(ops.shape(values)[:2], dtype="bool")
        context = {"values": values, "mask": mask}
        if self.attention is not None:  # projected once here rather than at every step
            context["keys"] = self.attention.keys(values)
        return context, list(states)

    def step(self, token_ids, states, context):
        # The embedding matrix itself: calling the layer would attach a padding mask the cell warns about.
        h, states = self.cell(ops.take(self.embedding.embeddings, token_ids, axis=0), list(states), training=False)
        if self.attention is not None:
            attended, _ = self.attention.attend(h[:, None, :], context["keys"], context["values"], context["mask"])
            attended = attended[:, 0, :]
            concat, dense = self.mix
            h = dense(concat([h, attended]))
        return keras.activations.log_softmax(self.head(h)), list(states)
