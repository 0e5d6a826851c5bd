"""`cnn_rnn_captioner`: the conv grid read by the seq2seq attention decoder, decoded by the same search."""

import io

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import zoo
from pipelines.vocab import Vocabulary
from pipelines.word_encoder import WordEncoder
from tests.helpers import bars
from zoo.decoding import beam_search, greedy_decode
from zoo.losses import MaskedSparseNLL
from zoo.models.seq2seq_step import Seq2SeqStep
from zoo.seq2seq_server import Seq2SeqServer
from zoo.serving import check_serving_ops

# One caption per kind of bar image: a bright row, a bright column, a bright diagonal.
CAPTIONS = {0: [4, 5], 1: [6, 7, 8], 2: [9]}


def test_flickr8k_preset_attends_over_an_8x8_grid():
    model = zoo.build("cnn_rnn_captioner", preset="flickr8k", target_vocab_size=50)
    assert [x.name for x in model.inputs] == ["images", "target_in"]
    assert model.get_layer("grid_cells").output.shape == (None, 64, 256)
    assert model.output.shape == (None, None, 50)


@pytest.fixture(scope="module")
def trained():
    """A tiny captioner trained on 24 bar images until it captions them (120 epochs of one batch)."""
    keras.utils.set_random_seed(0)
    images, labels = bars(24, seed=0)
    rows = [CAPTIONS[int(label)] for label in labels]
    width = max(map(len, rows)) + 1
    target_in = np.array([[2, *r] + [0] * (width - len(r) - 1) for r in rows], "int32")
    target_out = np.array([[*r, 3] + [-1] * (width - len(r) - 1) for r in rows], "int32")
    model = zoo.build("cnn_rnn_captioner", target_vocab_size=10, input_shape=[8, 8, 1], filters=[8],
                      convs_per_block=1, embedding_dim=8, units=16, attention_units=8)
    model.compile(keras.optimizers.Adam(0.02), loss=MaskedSparseNLL())
    pixels = (images[..., None] / 255.0).astype("float32")
    model.fit({"images": pixels, "target_in": target_in}, target_out, batch_size=24, epochs=120, verbose=0)
    return model, images, rows


def test_tiny_captioner_learns_captions_that_greedy_and_beam_search_reproduce(trained):
    model, images, rows = trained
    pixels = tf.constant((images[..., None] / 255.0).astype("float32"))
    step = Seq2SeqStep(model)
    context, states = step.encode(pixels)
    assert context["mask"].shape == (24, 4 * 4) and bool(tf.reduce_all(context["mask"]))

    @tf.function(input_signature=[tf.TensorSpec([None, 8, 8, 1], tf.float32)])
    def caption(images):
        context, states = step.encode(images)
        return beam_search(step.step, states, context, beam_width=2, max_length=6)

    for decoded in (greedy_decode(step.step, states, context, max_length=6), caption(pixels)):
        got = [row[:n] for row, n in zip(decoded.tokens.numpy().tolist(), decoded.lengths.numpy())]
        assert got == rows


def test_captioner_export_takes_image_bytes_and_returns_captions(trained, tmp_path):
    model, images, rows = trained
    words = Vocabulary(("<PAD>", "<UNK>", "<BOS>", "<EOS>", "row0", "row1", "col0", "col1", "col2", "diag"))
    server = Seq2SeqServer(model, target_encoder=WordEncoder(words), beam_width=2, max_length=6)
    tf.saved_model.save(server, str(tmp_path / "captioner"), signatures=server.signatures())
    check_serving_ops(tmp_path / "captioner")
    reloaded = tf.saved_model.load(str(tmp_path / "captioner"))
    encoded = []
    for image in images[:6]:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        encoded.append(buffer.getvalue())
    for name in ("serving_default", "greedy"):
        out = reloaded.signatures[name](image_bytes=tf.constant(encoded))
        expected = [" ".join(words.tokens[i] for i in row) for row in rows[:6]]
        assert [c.decode() for c in out["caption"].numpy()] == expected


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="pooling='min'"):
        zoo.build("cnn_rnn_captioner", target_vocab_size=10, pooling="min")
    with pytest.raises(ValueError, match="attention='global'"):
        zoo.build("cnn_rnn_captioner", preset="tiny", target_vocab_size=10, attention="global")
