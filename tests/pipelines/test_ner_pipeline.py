import numpy as np
import pytest
import tensorflow as tf

from pipelines.errors import DataError
from pipelines.ner import ner_batches, ner_dataset, ner_vocabularies, replace_with_unknown, unknown_rates
from pipelines.vocab import Vocabulary
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


def test_unknown_rates_singletons_others_and_words_not_in_training():
    vocab, _ = ner_vocabularies(SENTENCES)
    vocab = Vocabulary((*vocab.tokens, "paris"))  # as if added from pretrained vectors
    rates = dict(zip(vocab.tokens, unknown_rates(SENTENCES, vocab, singletons=0.5, others=0.1).tolist()))
    assert rates["<PAD>"] == 0 and rates["<UNK>"] == 0 and rates["paris"] == 0
    assert rates["Miami"] == pytest.approx(0.1)  # seen twice
    assert rates["Sharon"] == 0.5 and rates["won"] == 0.5 and rates["0000"] == 0.5
    with pytest.raises(ValueError, match=r"singletons must be a probability in \[0, 1\]. Received: singletons=1.5"):
        unknown_rates(SENTENCES, vocab, singletons=1.5)


def _replaced(rates, *, seed, passes=1):
    ids = tf.constant([[2, 3, 4, 5]] * 200, dtype=tf.int32)
    dataset = tf.data.Dataset.from_tensor_slices(({"token_ids": ids}, ids))
    dataset = replace_with_unknown(dataset, np.asarray(rates, np.float32), unknown_id=1, seed=seed)
    return [np.stack([x["token_ids"].numpy() for x, _ in dataset]) for _ in range(passes)]


def test_replace_with_unknown_follows_the_rates_is_seeded_and_redraws_each_epoch():
    rates = [0.0, 0.0, 0.0, 1.0, 0.5, 0.0]  # id 3 always, id 4 half the time, the others never
    first, second = _replaced(rates, seed=0, passes=2)
    assert (first[:, 0] == 2).all() and (first[:, 1] == 1).all() and (first[:, 3] == 5).all()
    assert 0.35 < (first[:, 2] == 1).mean() < 0.65 and set(first[:, 2].tolist()) == {1, 4}
    assert not np.array_equal(first, second)  # a new epoch draws again
    np.testing.assert_array_equal(first, _replaced(rates, seed=0)[0])
    assert not np.array_equal(first, _replaced(rates, seed=1)[0])


def test_training_pipeline_shows_singletons_as_unknown():
    vocab, tags = ner_vocabularies(SENTENCES)
    rates = unknown_rates(SENTENCES, vocab, singletons=1.0)
    kwargs = dict(batch_size=4, boundaries=[100], shuffle=False)
    (x, _), = ner_dataset(SENTENCES, vocab, tags, unknown=rates, **kwargs)
    (plain, _), = ner_dataset(SENTENCES, vocab, tags, **kwargs)
    expected = np.where(np.isin(plain, vocab.ids(["Miami"]) + [0]), plain, 1)
    np.testing.assert_array_equal(x, expected)
