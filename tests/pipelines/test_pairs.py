"""Pair pipeline: duplicate groups, leak-free splits, text ids, and triplet batches (element_spec, one batch exactly)."""

import numpy as np
import pytest
import tensorflow as tf

from pipelines.errors import DataError
from pipelines.pairs import (
    TextIds,
    arrange_batches,
    duplicate_groups,
    encode_texts,
    labelled,
    pair_vocabulary,
    split_pairs,
    text_ids,
    triplet_dataset,
    triplet_rows,
)
from pipelines.readers.pair import Pair
from pipelines.vocab import Vocabulary

PAIRS = [
    Pair("How do I learn Python ?", "What is the best way to learn Python ?", label=1),
    Pair("What is the best way to learn Python ?", "How can I learn Python quickly ?", label=1),
    Pair("Is Java hard ?", "How difficult is Java ?", label=1),
    Pair("How do I learn Python ?", "Is Java hard ?", label=0),
    Pair("Why do cats purr ?", "What makes cats purr ?", label=1),
    Pair("Where is Paris ?", "Which country is Paris in ?", score=4.2),
    Pair("Where is Paris ?", "How old is Paris ?", score=2.0),
]


def test_duplicate_groups_are_transitive_and_ignore_non_duplicates():
    groups = duplicate_groups(PAIRS)
    python = {groups.find(t) for t in ("How do I learn Python ?", "How can I learn Python quickly ?",
                                       "What is the best way to learn Python ?")}
    assert len(python) == 1
    assert groups.find("Is Java hard ?") != groups.find("How do I learn Python ?")
    assert groups.find("Where is Paris ?") == groups.find("Which country is Paris in ?")  # score 4.2 >= 4
    assert groups.find("Where is Paris ?") != groups.find("How old is Paris ?")


def test_labelled_turns_scores_into_labels():
    assert [p.label for p in labelled(PAIRS)] == [1, 1, 1, 0, 1, 1, 0]


def test_split_keeps_every_text_on_one_side():
    pairs = [Pair(f"q{i}", f"q{i + 1}", label=i % 2) for i in range(0, 40, 2)] + [Pair("q0", "q99", label=0)]
    train, dev = split_pairs(pairs, dev_fraction=0.25, seed=0)
    assert len(train) + len(dev) == len(pairs) and 4 <= len(dev) <= 7
    train_texts = {t for p in train for t in p[:2]}
    assert not train_texts & {t for p in dev for t in p[:2]}
    assert split_pairs(pairs, dev_fraction=0.25, seed=0) == (train, dev)
    with pytest.raises(ValueError, match="dev_fraction=1.5"):
        split_pairs(pairs, dev_fraction=1.5)


def test_triplet_rows_pair_duplicates_and_make_non_duplicates_hard_negatives():
    rows = triplet_rows(PAIRS)
    texts = rows.texts
    as_text = [(texts[a], texts[b]) for a, b in zip(rows.a, rows.b)]
    assert as_text[:3] == [(p.text_a, p.text_b) for p in PAIRS[:3]]
    # The labelled non-duplicate becomes two identity rows that travel together.
    assert as_text[3:5] == [("How do I learn Python ?",) * 2, ("Is Java hard ?",) * 2]
    assert rows.units[3] == (3, 4)
    assert rows.group[0] == rows.group[1] == rows.group[3] != rows.group[2] == rows.group[4]
    assert len(rows.a) == 7 and rows.num_groups == 4  # python, java, cats, paris; the score-2 pair is unused
    assert len(triplet_rows(PAIRS, hard_negatives=False).a) == 5


def test_contradictory_non_duplicates_are_skipped():
    pairs = [Pair("a", "b", label=1), Pair("b", "c", label=1), Pair("a", "c", label=0), Pair("x", "y", label=1)]
    rows = triplet_rows(pairs)
    assert rows.skipped == 1 and len(rows.a) == 3


def test_batches_never_hold_a_group_twice_and_keep_units_together():
    pairs = [Pair(f"g{g} q{i} " + "w " * (g % 5), f"g{g} p{i}", label=1) for g in range(30) for i in range(3)]
    pairs += [Pair(f"g{g} q0 " + "w " * (g % 5), f"g{g + 1} q0 " + "w " * ((g + 1) % 5), label=0) for g in range(0, 30, 3)]
    rows = triplet_rows(pairs)
    lengths = np.array([len(rows.texts[a].split()) for a in rows.a])
    batches = arrange_batches(rows, lengths, batch_size=8, rng=np.random.default_rng(0))
    placed = np.concatenate(batches)
    assert len(placed) == len(set(placed.tolist())) and len(placed) >= len(rows.a) - 8
    for batch in batches:
        assert 2 <= len(batch) <= 8
        assert len(set(rows.group[batch].tolist())) == len(batch)
    where = {int(r): i for i, batch in enumerate(batches) for r in batch}
    for unit in rows.units:
        if len(unit) == 2 and unit[0] in where:
            assert where[unit[0]] == where[unit[1]]


def test_bad_batch_sizes_and_too_few_groups_are_clear_errors():
    rows = triplet_rows(PAIRS)
    with pytest.raises(DataError, match="batch_size=5 is larger than the 4 distinct duplicate groups"):
        arrange_batches(rows, np.ones(len(rows.a)), batch_size=5)
    with pytest.raises(ValueError, match="batch_size=1"):
        arrange_batches(rows, np.ones(len(rows.a)), batch_size=1)
    with pytest.raises(DataError, match="at least 2 groups .* got 1"):
        triplet_rows([Pair("a", "b", label=1), Pair("b", "a", label=1)])


def test_text_ids_lowercase_hash_unknown_words_and_append_bigrams_and_char_ngrams():
    vocab = Vocabulary(("<PAD>", "<UNK>", "how", "?"))
    table = vocab.table()
    plain = text_ids(tf.constant(["How ZEBRA ?", ""]), table, vocab_size=4, config=TextIds())
    assert plain.to_list() == [[2, 1, 3], []]
    hashed = text_ids(tf.constant(["how zebra ?", "zebra"]), table, vocab_size=4, config=TextIds(oov_buckets=10))
    zebra = hashed.to_list()[0][1]
    assert 4 <= zebra < 14 and hashed.to_list()[1] == [zebra]  # the same unknown word, the same bucket
    config = TextIds(oov_buckets=10, word_bigrams=5, char_ngrams=3, char_buckets=7)
    ids = text_ids(tf.constant(["how ?"]), table, vocab_size=4, config=config).to_list()[0]
    # "how", "?", then 1 bigram, then char trigrams of "<how>" (3) and "<?>" (1).
    assert ids[:2] == [2, 3] and 14 <= ids[2] < 19 and len(ids) == 7 and all(19 <= i < 26 for i in ids[3:])
    assert config.num_ids(4) == 26
    with pytest.raises(ValueError, match="char_ngrams=3, char_buckets=0"):
        TextIds(char_ngrams=3)


def test_text_ids_char_ngrams_of_several_sizes():
    vocab = Vocabulary(("<PAD>", "<UNK>", "how"))
    config = TextIds(char_ngrams=[3, 4], char_buckets=7)  # a card's JSON list comes back as a tuple
    assert config.char_ngrams == (3, 4) and config.num_ids(3) == 10
    ids = text_ids(tf.constant(["how"]), vocab.table(), vocab_size=3, config=config).to_list()[0]
    # "how", then the trigrams of "<how>" (3) and its 4-grams (2).
    assert ids[0] == 2 and len(ids) == 6 and all(3 <= i < 10 for i in ids[1:])
    trigrams = text_ids(tf.constant(["how"]), vocab.table(), vocab_size=3,
                        config=TextIds(char_ngrams=3, char_buckets=7)).to_list()[0]
    assert ids[:4] == trigrams  # the trigrams hash as they did alone, the 4-grams follow
    for bad in ([], [0, 3], [3, 2.5]):
        with pytest.raises(ValueError, match="char_ngrams must be"):
            TextIds(char_ngrams=bad, char_buckets=7)


def test_vocabulary_is_built_from_looked_up_tokens():
    vocab = pair_vocabulary(["How do I learn Python ?", "how DO i learn 2 things ?"])
    assert vocab.tokens[:2] == ("<PAD>", "<UNK>")
    assert {"how", "do", "i", "learn", "python", "?", "0"} <= set(vocab.tokens) and "How" not in vocab.tokens


def test_triplet_dataset_element_spec_and_one_batch_exactly():
    pairs = [Pair("a b c", "a b", label=1), Pair("d", "d e", label=1), Pair("f g", "h", label=0)]
    rows = triplet_rows(pairs)
    vocab = Vocabulary(("<PAD>", "<UNK>", "a", "b", "c", "d", "e", "f", "g", "h"))
    dataset = triplet_dataset(rows, encode_texts(rows.texts, vocab, TextIds()), batch_size=4, shuffle=False)
    assert dataset.element_spec == (
        {"token_ids_a": tf.TensorSpec([None, None], tf.int32), "token_ids_b": tf.TensorSpec([None, None], tf.int32)},
        tf.TensorSpec([None], tf.float32),
    )
    (features, labels), = list(dataset.as_numpy_iterator())
    # Units sorted by length (stable): "d"/"d e" (2), then the non-duplicate pair "f g" + "h" as identity
    # rows (2), then "a b c"/"a b" (3). Each side is padded to its own longest text.
    assert features["token_ids_a"].tolist() == [[5, 0, 0], [7, 8, 0], [9, 0, 0], [2, 3, 4]]
    assert features["token_ids_b"].tolist() == [[5, 6], [7, 8], [9, 0], [2, 3]]
    assert labels.tolist() == [0.0] * 4


def test_training_batches_change_from_epoch_to_epoch():
    pairs = [Pair(f"q{i}", f"p{i}", label=1) for i in range(12)]
    rows = triplet_rows(pairs)
    vocab = pair_vocabulary(rows.texts)
    dataset = triplet_dataset(rows, encode_texts(rows.texts, vocab, TextIds()), batch_size=4, seed=0)
    first = [b[0]["token_ids_a"].ravel().tolist() for b in dataset.as_numpy_iterator()]
    second = [b[0]["token_ids_a"].ravel().tolist() for b in dataset.as_numpy_iterator()]
    assert sorted(sum(first, [])) == sorted(sum(second, [])) and first != second


def _chain(count: int, prefix: str) -> list[Pair]:
    """`count` pairs linked into one component: p0-p1, p1-p2, ..."""
    return [Pair(f"{prefix}{i}", f"{prefix}{i + 1}", label=1) for i in range(count)]


def test_split_holds_out_the_fraction_even_beside_one_large_component():
    """52 linked pairs and 8 lone ones at 10%: round(60 * 0.1) = 6 lone pairs go to dev, not the 52."""
    pairs = _chain(52, "big") + [Pair(f"a{i}", f"b{i}", label=i % 2) for i in range(8)]
    for seed in range(5):
        train, dev = split_pairs(pairs, dev_fraction=0.1, seed=seed)
        assert len(dev) == 6 and len(train) == 54


@pytest.mark.parametrize("pairs, fraction", [
    (_chain(60, "q"), 0.1),  # one component: no text-disjoint dev at all
    (_chain(20, "x") + _chain(20, "y") + _chain(20, "z"), 0.1),  # groups of 20, dev wants 6 (+-1)
    ([Pair("a", "b", label=1), Pair("c", "d", label=0)], 0.1),  # round(0.2) = 0 pairs to hold out
])
def test_split_refuses_what_it_cannot_hold_out(pairs, fraction):
    with pytest.raises(DataError, match=r"cannot hold out 10% of \d+ pairs \(\d+\) for dev without a text on both "
                                        r"sides: .* the largest of \d+ pairs; give dev pairs of their own \(--dev\)"):
        split_pairs(pairs, dev_fraction=fraction)
