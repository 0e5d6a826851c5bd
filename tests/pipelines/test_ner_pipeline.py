import numpy as np
import pytest
import tensorflow as tf

from pipelines.errors import DataError
from pipelines.ner import ner_batches, ner_dataset, ner_vocabularies
from pipelines.readers import TaggedSentence

SENTENCES = [
    TaggedSentence(("Sharon", "flew", "to", "Miami", "in", "2019", "."), ("B-per", "O", "O", "B-geo", "O", "B-tim", "O")),
    TaggedSentence(("Hi",), ("O",)),
    TaggedSentence(("Miami", "won"), ("B-org", "O")),
]


def test_vocabularies_are_built_over_normalized_tokens():
    vocab, tags = ner_vocabularies(SENTENCES)
    assert "0000" in vocab.tokens and "2019" not in vocab.tokens
    assert vocab.tokens[:3] == ("<PAD>", "<UNK>", "Miami")
    assert tags.tokens == ("O", "B-geo", "B-org", "B-per", "B-tim")


def test_element_spec_and_one_batch_exactly():
    vocab, tags = ner_vocabularies(SENTENCES)
    ds = ner_dataset(SENTENCES, vocab, tags, batch_size=2, boundaries=[3], shuffle=False)
    assert ds.element_spec == (
        tf.TensorSpec((None, None), tf.int32),
        tf.TensorSpec((None, None), tf.int32),
    )
    batches = [(x.numpy().tolist(), y.numpy().tolist()) for x, y in ds]
    v, t = vocab.index, tags.index
    # lengths 1 and 2 share the bucket below 3 and pad to 2; the 7-token sentence is alone.
    assert batches[0] == (
        [[v["Hi"], 0], [v["Miami"], v["won"]]],
        [[t["O"], -1], [t["B-org"], t["O"]]],
    )
    assert batches[1][0] == [[v["Sharon"], v["flew"], v["to"], v["Miami"], v["in"], v["0000"], v["."]]]
    assert len(batches) == 2


def test_batches_pad_to_their_longest_and_keep_every_token(synthetic_sentences):
    vocab, tags = ner_vocabularies(synthetic_sentences)
    lengths = []
    for x, y in ner_batches(synthetic_sentences, vocab, tags, batch_size=16, num_buckets=4, seed=1):
        real = (y >= 0).sum(axis=1)
        assert x.shape[1] == real.max()  # padded to the batch's longest sentence
        assert ((x != 0) == (y >= 0)).all()  # <PAD> exactly where the label is padding
        lengths.extend(real.tolist())
    assert sorted(lengths) == sorted(len(s.tokens) for s in synthetic_sentences)


def test_shuffling_is_seeded(synthetic_sentences):
    vocab, tags = ner_vocabularies(synthetic_sentences)
    first = [x.tolist() for x, _ in ner_batches(synthetic_sentences, vocab, tags, batch_size=64, seed=3)]
    again = [x.tolist() for x, _ in ner_batches(synthetic_sentences, vocab, tags, batch_size=64, seed=3)]
    other = [x.tolist() for x, _ in ner_batches(synthetic_sentences, vocab, tags, batch_size=64, seed=4)]
    assert first == again and first != other


@pytest.mark.parametrize("batch_size", [64, 128, 256, 512])
def test_any_batch_size(synthetic_sentences, batch_size):
    vocab, tags = ner_vocabularies(synthetic_sentences)
    sizes = [len(x) for x, _ in ner_batches(synthetic_sentences, vocab, tags, batch_size=batch_size)]
    assert max(sizes) <= batch_size and sum(sizes) == len(synthetic_sentences)


def test_unknown_tag_and_empty_data_are_data_errors():
    vocab, tags = ner_vocabularies(SENTENCES[:2])
    with pytest.raises(DataError, match="dev.tsv: sentence 3 has tag 'B-org'"):
        ner_dataset(SENTENCES, vocab, tags, source="dev.tsv")
    with pytest.raises(DataError, match="no sentences"):
        ner_dataset([], vocab, tags)
    with pytest.raises(ValueError, match="batch_size=0"):
        ner_dataset(SENTENCES[:2], vocab, tags, batch_size=0)
