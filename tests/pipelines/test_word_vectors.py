"""Pretrained word vectors: GloVe and word2vec text files, coverage, vocabulary extension, errors."""

import gzip

import numpy as np
import pytest

from pipelines.errors import DataError
from pipelines.vocab import PAD, UNK, Vocabulary
from pipelines.word_vectors import embedding_matrix, extend_vocabulary, read_word_vectors

GLOVE = "the 0.1 0.2 0.3\ngood 1.0 1.0 1.0\nbad -1.0 -1.0 -1.0\n. . . 0.5 0.5 0.5\nmovie 0.0 2.0 0.0\n"


def test_reads_only_the_wanted_rows_and_the_first_words(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text(GLOVE, encoding="utf-8")
    vectors = read_word_vectors(path, ["good", "movie", "absent"], first=2)
    assert vectors.dim == 3 and vectors.rows == 5 and vectors.first_words == ("the", "good")
    assert set(vectors.vectors) == {"the", "good", "movie"}
    np.testing.assert_array_equal(vectors.vectors["movie"], [0.0, 2.0, 0.0])
    assert read_word_vectors(path, [". . ."]).vectors[". . ."].tolist() == [0.5, 0.5, 0.5]  # a word with spaces


def test_word2vec_header_gzip_and_lowercase_fallback(tmp_path):
    path = tmp_path / "vectors.vec.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("3 2\nGood 9 9\ngood 1 2\nfine 3 4\n")
    vectors = read_word_vectors(path, ["Good", "FINE", "fine"])
    assert vectors.dim == 2 and vectors.rows == 3
    assert vectors.vectors["Good"].tolist() == [9, 9]  # the exact cased row wins over the lowercased one
    assert vectors.vectors["FINE"].tolist() == [3, 4] and vectors.vectors["fine"].tolist() == [3, 4]


def test_embedding_matrix_rows_coverage_and_padding(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text(GLOVE, encoding="utf-8")
    vocab = Vocabulary((PAD, UNK, "good", "plot", "bad"))
    matrix, report = embedding_matrix(vocab, read_word_vectors(path, vocab.tokens), seed=0)
    assert matrix.shape == (5, 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[0], 0.0)  # <PAD>
    np.testing.assert_array_equal(matrix[2], [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(matrix[4], [-1.0, -1.0, -1.0])
    assert np.abs(matrix[3]).sum() > 0  # "plot" has no vector: a random row
    assert report["covered"] == 2 and report["coverage"] == 0.6667


def test_extend_vocabulary_keeps_ids_and_adds_new_words_in_order():
    vocab = Vocabulary((PAD, UNK, "good"))
    extended = extend_vocabulary(vocab, ["the", "good", UNK, "movie", "the"])
    assert extended.tokens == (PAD, UNK, "good", "the", "movie") and extended.unknown == UNK


@pytest.mark.parametrize("text, line, message", [
    ("the 0.1 0.2\ngood 1.0\n", 2, "expected a word and 2 numbers (as on the first row), got 1 values"),
    ("the 0.1 0.2\ngood 1.0 x\n", 2, "expected 2 numbers after 'good', got a value that is not a number"),
    ("lonely\n", 1, "expected a word followed by its vector's numbers"),
    ("3 2\n", None, "no vectors in the file"),
])
def test_bad_files_name_the_line(tmp_path, text, line, message):
    path = tmp_path / "bad.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match="not a number|numbers|no vectors") as error:
        read_word_vectors(path, ["good", "the"])
    assert error.value.line == line and message in error.value.message


@pytest.mark.parametrize("corpus, dim, message", [("6B", 64, "GloVe 6B has no 64-d vectors"),
                                                  ("840B", 100, "GloVe 840B has no 100-d vectors"),
                                                  ("99B", 300, "Unknown GloVe corpus")])
def test_download_glove_refuses_releases_that_do_not_exist_before_downloading(corpus, dim, message):
    from pipelines.word_vectors import download_glove

    with pytest.raises(ValueError, match=message):
        download_glove(corpus, dim)
