import numpy as np
import pytest
import tensorflow as tf

from pipelines.batching import padding_fraction, quantile_boundaries
from pipelines.errors import DataError
from pipelines.features import word_key_strings
from pipelines.text import normalize, tokenize
from pipelines.vocab import PAD, UNK, Vocabulary, build_tag_vocabulary, build_vocabulary, file_table


def as_lists(ragged):
    return [[t.decode("utf-8") for t in row] for row in ragged.to_list()]


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("Sharon flew to Miami last Friday.", ["Sharon", "flew", "to", "Miami", "last", "Friday", "."]),
        ("(Reuters) Sharon's plan, he said.", ["(", "Reuters", ")", "Sharon", "'s", "plan", ",", "he", "said", "."]),
        ("José didn't visit Zürich!", ["José", "did", "n't", "visit", "Zürich", "!"]),
        ("well-known  3.5  U.S.", ["well-known", "3.5", "U.S", "."]),
        ("", []),
        ("go\u00a0to\u2009Paris\u3000now", ["go", "to", "Paris", "now"]),
        # Every Unicode White_Space character splits, multi-byte ones whole (tf-text's tokenizer left b"go\xc2").
        ("go\u0085to\vParis \t\r\n now.\u2028", ["go", "to", "Paris", "now", "."]),
        ("  \u00a0 ", []),
    ],
)
def test_tokenize(text, tokens):
    assert as_lists(tokenize(tf.constant([text]))) == [tokens]


def test_normalize_maps_digits_and_keeps_case_dense_and_ragged():
    assert normalize(tf.constant(["Q3", "1999", "Paris"])).numpy().tolist() == [b"Q0", b"0000", b"Paris"]
    ragged = tf.ragged.constant([["a1"], ["B22", "c"]])
    assert as_lists(normalize(ragged)) == [["a0"], ["B00", "c"]]
    assert word_key_strings(["x9", "ü"]) == ["x0", "ü"]
    assert word_key_strings([]) == []


def test_vocabulary_specials_frequency_order_cutoff_and_cap():
    vocab = build_vocabulary([["b", "a", "b", "c"], ["a", "b", "d"]], min_count=2)
    assert vocab.tokens == (PAD, UNK, "b", "a")
    assert vocab.ids(["a", "zzz"]) == [3, 1]
    capped = build_vocabulary([["b", "a", "b", "c"], ["a", "b", "d"]], max_size=3)
    assert capped.tokens == (PAD, UNK, "b")
    with pytest.raises(ValueError, match="min_count=0"):
        build_vocabulary([], min_count=0)


def test_vocabulary_ties_are_alphabetical_so_ids_are_reproducible():
    assert build_vocabulary([["z", "y", "x"]]).tokens == (PAD, UNK, "x", "y", "z")


def test_vocabulary_save_load_and_tables_agree(tmp_path):
    vocab = build_vocabulary([["Miami", "flew", "José"]])
    vocab.save(tmp_path / "vocab.txt")
    assert Vocabulary.load(tmp_path / "vocab.txt") == vocab
    keys = tf.constant(["José", "Miami", "unseen"])
    expected = [vocab.index["José"], vocab.index["Miami"], 1]
    assert vocab.table().lookup(keys).numpy().tolist() == expected
    assert file_table(tmp_path / "vocab.txt", default_id=1).lookup(keys).numpy().tolist() == expected


def test_empty_vocabulary_file_is_a_data_error(tmp_path):
    (tmp_path / "v.txt").write_text("")
    with pytest.raises(DataError, match="v.txt: vocabulary file is empty"):
        Vocabulary.load(tmp_path / "v.txt")


def test_tag_vocabulary_is_closed_and_ordered():
    tags = build_tag_vocabulary([["B-per", "O", "I-per"], ["B-geo", "O"]])
    assert tags.tokens == ("O", "B-geo", "B-per", "I-per")
    assert tags.unknown_id == -1


def test_quantile_boundaries():
    lengths = list(range(1, 101))  # 1..100
    assert quantile_boundaries(lengths, 4) == [27, 52, 77]
    assert quantile_boundaries([5] * 10, 4) == []  # one length: one bucket
    with pytest.raises(ValueError, match="num_buckets=0"):
        quantile_boundaries(lengths, 0)


def test_padding_fraction():
    # batches [3, 1] -> 2 of 6 padded; [2, 2] -> none: 2 / 10
    assert padding_fraction([[3, 1], [2, 2]]) == pytest.approx(0.2)
    assert np.isclose(padding_fraction([]), 0.0)


def test_file_tables_of_the_same_file_name_do_not_share_a_vocabulary(tmp_path, monkeypatch):
    """Two vocabularies written to `run/vocab.txt` under different folders, in one process: each table
    reads its own file (TensorFlow shares non-anonymous tables by file name)."""
    from pipelines.vocab import file_table

    for folder, words in (("a", ["<PAD>", "<UNK>", "x"]), ("b", ["<PAD>", "<UNK>", "x", "y", "z"])):
        (tmp_path / folder / "run").mkdir(parents=True)
        (tmp_path / folder / "run" / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path / "a")
    first = file_table("run/vocab.txt", default_id=1)
    monkeypatch.chdir(tmp_path / "b")
    second = file_table("run/vocab.txt", default_id=1)
    assert int(first.size()) == 3 and int(second.size()) == 5
    assert int(second.lookup(tf.constant("z"))) == 4
