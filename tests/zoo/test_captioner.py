"""`cnn_rnn_captioner`: the conv grid read by the seq2seq attention decoder, decoded by the same search."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from tests.helpers import bars
from zoo.decoding import beam_search, greedy_decode
from zoo.losses import MaskedSparseNLL
from zoo.models.seq2seq_step import Seq2SeqStep

# One caption per kind of bar image: a bright row, a bright column, a bright diagonal.
CAPTIONS = {0: [4, 5], 1: [6, 7, 8], 2: [9]}


def test_flickr8k_preset_attends_over_an_8x8_grid():
    model = zoo.build("cnn_rnn_captioner", preset="flickr8k", target_vocab_size=50)
    assert [x.name for x in model.inputs] == ["images", "target_in"]
    assert model.get_layer("grid_cells").output.shape == (None, 64, 256)
    assert model.output.shape == (None, None, 50)


def test_tiny_captioner_learns_captions_that_greedy_and_beam_search_reproduce():
    images, labels = bars(24, seed=0)
    pixels = (images[..., None] / 255.0).astype("float32")
    rows = [CAPTIONS[int(label)] for label in labels]
    width = max(map(len, rows)) + 1
    target_in = np.array([[2, *r] + [0] * (width - len(r) - 1) for r in rows], "int32")
    target_out = np.array([[*r, 3] + [-1] * (width - len(r) - 1) for r in rows], "int32")
    model = zoo.build("cnn_rnn_captioner", target_vocab_size=10, input_shape=[8, 8, 1], filters=[8],
                      convs_per_block=1, embedding_dim=8, units=16, attention_units=8)
    model.compile(keras.optimizers.Adam(0.02), loss=MaskedSparseNLL())
    model.fit({"images": pixels, "target_in": target_in}, target_out, batch_size=24, epochs=120, verbose=0)
    step = Seq2SeqStep(model)
    context, states = step.encode(tf.constant(pixels))
    assert context["mask"].shape == (24, 4 * 4) and bool(tf.reduce_all(context["mask"]))

    @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 1], tf.float32)])
    def caption(images):
        context, states = step.encode(images)
        return beam_search(step.step, states, context, beam_width=2, max_length=6)

    for decoded in (greedy_decode(step.step, states, context, max_length=6), caption(tf.constant(pixels))):
        got = [row[:n] for row, n in zip(decoded.tokens.numpy().tolist(), decoded.lengths.numpy())]
        assert got == rows


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="pooling='min'"):
        zoo.build("cnn_rnn_captioner", target_vocab_size=10, pooling="min")
    with pytest.raises(ValueError, match="attention='global'"):
        zoo.build("cnn_rnn_captioner", preset="tiny", target_vocab_size=10, attention="global")
