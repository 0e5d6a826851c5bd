"""Language-model pipelines: tokens, vocabulary, shifted windows over a long text, padded sentences."""

import gzip

import numpy as np
import pytest
import tensorflow as tf

from pipelines.errors import DataError
from pipelines.language_model import (
    lm_vocabulary,
    read_text,
    sentence_dataset,
    text_tokens,
    window_arrays,
    window_dataset,
)


def test_char_and_word_tokens_come_from_the_graph_ops():
    assert text_tokens(["Zoë a\nb"], "char") == [["Z", "o", "ë", " ", "a", "\n", "b"]]
    assert text_tokens(["Friday. Sharon's", ""], "word") == [["Friday", ".", "Sharon", "'s"], []]
    with pytest.raises(ValueError, match="level='byte'"):
        text_tokens(["a"], "byte")


def test_vocabulary_puts_specials_first_then_frequency():
    vocab = lm_vocabulary([list("abba c"), ["<BOS>"]])
    assert vocab.tokens == ("<PAD>", "<UNK>", "<BOS>", "<EOS>", "a", "b", " ", "c")
    assert lm_vocabulary([list("abba c")], max_size=6).tokens[4:] == ("a", "b")


def test_windows_shift_targets_by_one_and_context_is_not_scored_twice():
    """ids 5..9, window 3, context 1: window 2 starts at 2; its first target (8) was scored by window 1."""
    inputs, targets = window_arrays(np.array([5, 6, 7, 8, 9]), window=3, context=1)
    np.testing.assert_array_equal(inputs, [[5, 6, 7], [7, 8, 0]])
    np.testing.assert_array_equal(targets, [[6, 7, 8], [-1, 9, -1]])
    scored = targets[targets >= 0]
    np.testing.assert_array_equal(np.sort(scored), [6, 7, 8, 9])  # every token after the first, once

    inputs, targets = window_arrays(np.arange(10, 17), window=3)
    np.testing.assert_array_equal(inputs, [[10, 11, 12], [13, 14, 15]])
    np.testing.assert_array_equal(targets, [[11, 12, 13], [14, 15, 16]])
    with pytest.raises(DataError, match="nothing to predict"):
        window_arrays(np.array([4]), window=3)
    with pytest.raises(ValueError, match="context=3"):
        window_arrays(np.arange(9), window=3, context=3)


def test_window_dataset_spec_and_first_batch():
    dataset = window_dataset(np.arange(4, 15, dtype=np.int32), window=4, batch_size=2, shuffle=False)
    assert dataset.element_spec == (tf.TensorSpec((None, 4), tf.int32), tf.TensorSpec((None, 4), tf.int32))
    x, y = next(dataset.as_numpy_iterator())
    np.testing.assert_array_equal(x, [[4, 5, 6, 7], [8, 9, 10, 11]])
    np.testing.assert_array_equal(y, [[5, 6, 7, 8], [9, 10, 11, 12]])


def test_sentence_batches_start_with_bos_end_with_eos_and_pad():
    vocab = lm_vocabulary([["a", "b", "c"]])  # <BOS>=2, <EOS>=3, a=4, b=5, c=6
    dataset = sentence_dataset([[4, 5, 6], [5]], vocab, batch_size=2, num_buckets=1, shuffle=False)
    assert dataset.element_spec == (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.int32))
    x, y = next(dataset.as_numpy_iterator())
    np.testing.assert_array_equal(x, [[2, 4, 5, 6], [2, 5, 0, 0]])
    np.testing.assert_array_equal(y, [[4, 5, 6, 3], [5, 3, -1, -1]])


def test_read_text_keeps_newlines_and_reads_gzip(tmp_path):
    with gzip.open(tmp_path / "t.txt.gz", "wt", encoding="utf-8") as f:
        f.write("First Citizen:\nBefore we proceed\n")
    assert read_text(tmp_path / "t.txt.gz") == "First Citizen:\nBefore we proceed\n"
    with pytest.raises(DataError, match="file not found"):
        read_text(tmp_path / "missing.txt")
