"""The exported tagger's faster graph tags exactly as the graph it replaced (issue 15)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from pipelines.spans import entity_spans
from pipelines.text import tokenize
from zoo.export import generic_rnn_kernels
from zoo.layers.crf import crf_marginals, viterbi_decode
from zoo.tasks.ner import make_tagger, prepare_ner_data
from zoo.tasks.ner.serving import crf_layer

EDGE_CASES = ["Sharon", "", "Sharon flew to New York last Friday.", "U.N. official Ekeus heads for Baghdad .",
              "Peter Blackburn", "  ", "BRUSSELS 1996-08-22", "José met Zürich's mayor, didn't he?"]


def reference_tag(tagger, text) -> dict:
    """The graph before issue 15: one padded batch, Viterbi and forward-backward as four scans, string spans."""
    tokens = tokenize(text)
    lengths = tokens.row_lengths()
    longest = tf.reduce_max(tf.concat([lengths, [0]], 0))
    width = tf.maximum(longest, 2)
    batch = tf.cast(tf.shape(lengths)[0], tf.int64)
    inputs = {key: values.to_tensor(default_value=0, shape=[batch, width] + ([-1] if values.ragged_rank == 2 else []))
              for key, values in tagger.features(tokens).items()}
    mask = tf.sequence_mask(lengths, width)
    crf = crf_layer(tagger.model)
    with generic_rnn_kernels(tagger.model):
        outputs = tagger.model(inputs, training=False)
    tag_ids = viterbi_decode(outputs, mask, crf.transitions, crf.start, crf.end)[0]
    scores = tf.gather(crf_marginals(outputs, mask, crf.transitions, crf.start, crf.end), tag_ids, batch_dims=2)
    tags = tf.where(mask, tf.gather(tagger.tag_names, tag_ids), "")[:, :longest]
    tokens = tokens.to_tensor(default_value="")[:, :longest]
    return {"tokens": tokens, "tags": tags, "scores": tf.where(mask, scores, 0.0)[:, :longest], "lengths": lengths,
            **entity_spans(tokens, tags)}


@pytest.fixture(scope="module", params=[False, True], ids=["live_weights", "snapshot"])
def tagger(synthetic_sentences, tmp_path_factory, request):
    data = prepare_ner_data(synthetic_sentences[:200], synthetic_sentences[200:240], model="bilstm_crf_ner",
                            scheme="iobes")
    keras.utils.set_random_seed(0)  # the same untrained weights whatever ran before (the cases below need entities)
    model = zoo.build("bilstm_crf_ner", preset="tiny", **data.sizes())
    crf = crf_layer(model)
    # Untrained emissions are near zero: larger transitions give paths with many entities of every kind.
    crf.transitions.assign(crf.transitions * 20.0)
    # snapshot: the export's tagger, whose BiLSTM reads a copy of its fused kernels (zoo.block_lstm).
    return make_tagger(model, data, tmp_path_factory.mktemp("tagger"), snapshot=request.param)


@pytest.mark.parametrize("batch", ["one", "edge_cases", "many"])
def test_tags_spans_and_scores_as_before(tagger, synthetic_sentences, batch):
    sentences = {"one": ["Sharon flew to Miami last Friday ."],
                 "edge_cases": EDGE_CASES,
                 "many": [" ".join(s.tokens) for s in synthetic_sentences[240:320]] + EDGE_CASES}[batch]
    text = tf.constant(sentences)
    reference = tf.function(lambda t: reference_tag(tagger, t), input_signature=[tf.TensorSpec([None], tf.string)])
    expected = reference(text)
    received = tagger.serve_text(text)
    assert set(received) == set(expected)
    for key, value in expected.items():
        if key == "scores":
            # Sums over the previous tag as matrix products in exp space: float32 rounding differs.
            np.testing.assert_allclose(received[key].numpy(), value.numpy(), rtol=0, atol=1e-4)
        else:
            np.testing.assert_array_equal(received[key].numpy(), value.numpy(), err_msg=key)
    assert int(tf.reduce_sum(expected["num_spans"])) > 0, "no entity to compare"
    # And, independently of both graphs, the spans are seqeval's entities of the tags.
    from seqeval.metrics.sequence_labeling import get_entities

    for row, length in enumerate(received["lengths"].numpy()):
        tags = received["tags"].numpy()[row, :length].astype(str).tolist()
        count = int(received["num_spans"][row])
        spans = zip(received["span_types"].numpy()[row, :count].astype(str), received["span_starts"].numpy()[row],
                    received["span_ends"].numpy()[row])
        assert [(kind, int(a), int(b)) for kind, a, b in spans] == get_entities(tags)


def test_decode_with_marginals_matches_the_crf_functions():
    from zoo.tasks.ner.viterbi import decode_with_marginals

    rng = np.random.default_rng(0)
    emissions = rng.normal(size=(7, 9, 5)).astype("float32") * 3
    transitions, start, end = (rng.normal(size=shape).astype("float32") for shape in [(5, 5), (5,), (5,)])
    mask = tf.sequence_mask([9, 1, 3, 5, 2, 9, 4], 9)  # a one-token sentence among them
    path, probabilities = decode_with_marginals(emissions, mask, transitions, start, end)
    expected_path = viterbi_decode(emissions, mask, transitions, start, end)[0].numpy()
    marginals = crf_marginals(emissions, mask, transitions, start, end).numpy()
    real = mask.numpy()
    np.testing.assert_array_equal(path.numpy()[real], expected_path[real])
    expected = np.take_along_axis(marginals, expected_path[..., None], -1)[..., 0]
    np.testing.assert_allclose(probabilities.numpy()[real], expected[real], rtol=0, atol=1e-4)
