import keras
import numpy as np
import pytest
import tensorflow as tf

from pipelines.features import (
    NUM_SHAPES, SHAPES, FeatureSpec, TokenFeatures, build_char_vocabulary, token_chars, word_key_strings, word_shapes,
)
from pipelines.spans import entity_spans
from pipelines.vocab import build_vocabulary
from zoo.layers.char_bilstm import CharBiLSTM
from zoo.layers.char_cnn import CharCNN

SHAPE = {name: i for i, (name, _) in enumerate(SHAPES, start=2)}


def test_word_shapes():
    tokens = tf.constant(["1,000", "paris", "NATO", "Paris", "Q3", "iPhone", ".", "", "Zürich", "ÉCOLE"])
    expected = ["numeric", "lower", "upper", "title", "has_digit", "mixed_case", "punctuation", None, "title", "upper"]
    assert word_shapes(tokens).numpy().tolist() == [SHAPE.get(e, 1) for e in expected]
    assert NUM_SHAPES == len(SHAPES) + 2


def test_word_keys_normalize_digits_and_optionally_lowercase():
    assert word_key_strings(["Paris", "Q3"]) == ["Paris", "Q0"]
    assert word_key_strings(["Paris", "ÉCOLE"], lowercase=True) == ["paris", "école"]


def test_token_chars_are_cut_to_max_word_length():
    chars = token_chars(tf.ragged.constant([["abcdef", "é1"]]), 4)
    assert chars.to_list() == [[[b"a", b"b", b"c", b"d"], [b"\xc3\xa9", b"0"]]]


def test_char_vocabulary():
    vocab = build_char_vocabulary([["aab", "b1"]])
    assert vocab.tokens == ("<PAD>", "<UNK>", "a", "b", "0")  # a and b tie at 2: alphabetical


def test_feature_spec_follows_model_inputs():
    assert FeatureSpec.for_inputs(["token_ids"]) == FeatureSpec()
    spec = FeatureSpec.for_inputs(["token_ids", "char_ids", "shape_ids"])
    assert spec.chars and spec.shapes and spec.lowercase
    with pytest.raises(ValueError, match="image"):
        FeatureSpec.for_inputs(["image"])


def test_token_features_shapes_and_ids():
    words = build_vocabulary([["paris", "flew"]])
    chars = build_char_vocabulary([["Paris"]])
    features = TokenFeatures(FeatureSpec(chars=True, shapes=True, max_word_length=3), words.table(), chars.table())
    out = features(tf.ragged.constant([["Paris", "flew", "x"], ["?"]]))
    assert out["token_ids"].to_list() == [[words.index["paris"], words.index["flew"], 1], [1]]
    assert out["char_ids"].to_list()[0][0] == [chars.index["P"], chars.index["a"], chars.index["r"]]
    assert out["shape_ids"].to_list() == [[SHAPE["title"], SHAPE["lower"], SHAPE["lower"]], [SHAPE["punctuation"]]]
    with pytest.raises(ValueError, match="character lookup table"):
        TokenFeatures(FeatureSpec(chars=True), words.table())


@pytest.mark.parametrize("make, size, width", [
    (CharCNN, "filters", 3),
    (CharBiLSTM, "units", 6),  # two directions' final states
])
def test_character_encoders_ignore_character_padding(make, size, width):
    layer = make(10, char_dim=4, **{size: 3})
    short = np.array([[[2, 3, 4]]])
    padded = np.array([[[2, 3, 4, 0, 0, 0]]])
    np.testing.assert_allclose(layer(short), layer(padded), atol=1e-6)
    assert layer(np.zeros((2, 5, 7), "int32")).shape == (2, 5, width)
    with pytest.raises(ValueError, match=f"{size}=0"):
        make(10, **{size: 0})


def test_char_bilstm_reads_character_order():
    # Unlike a bag of characters, the BiLSTM tells a word from its reversal (and a padding word gives zeros).
    layer = CharBiLSTM(10, char_dim=4, units=3)
    out = keras.ops.convert_to_numpy(layer(np.array([[[2, 3, 4], [4, 3, 2], [0, 0, 0]]])))
    assert np.abs(out[0, 0] - out[0, 1]).max() > 1e-4
    np.testing.assert_array_equal(out[0, 2], np.zeros(6))


def test_entity_spans():
    tokens = tf.constant([["Sharon", "flew", "to", "New", "York", "last", "Friday", "."],
                          ["Bob", "Smith", "UN", "x", "", "", "", ""]])
    tags = tf.constant([["B-per", "O", "O", "B-geo", "I-geo", "O", "B-tim", "O"],
                        ["B-per", "B-per", "I-org", "O", "", "", "", ""]])
    out = {k: v.numpy().tolist() for k, v in entity_spans(tokens, tags).items()}
    assert out["span_types"] == [[b"per", b"geo", b"tim"], [b"per", b"per", b"org"]]
    assert out["span_starts"] == [[0, 3, 6], [0, 1, 2]]
    assert out["span_ends"] == [[0, 4, 6], [0, 1, 2]]
    assert out["span_texts"] == [[b"Sharon", b"New York", b"Friday"], [b"Bob", b"Smith", b"UN"]]
    assert out["num_spans"] == [3, 3]
    empty = entity_spans(tf.zeros([2, 0], tf.string), tf.zeros([2, 0], tf.string))
    assert empty["span_types"].shape == (2, 0) and empty["num_spans"].numpy().tolist() == [0, 0]
