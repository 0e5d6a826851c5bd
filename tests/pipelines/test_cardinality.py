"""Every pipeline's dataset knows its number of batches, so Keras shows "n/N" progress, not "Unknown"."""

import numpy as np
import pytest
import tensorflow as tf

from pipelines.batching import bucketed_batches
from pipelines.images import image_dataset
from pipelines.language_model import lm_vocabulary, sentence_dataset, window_dataset
from pipelines.ner import ner_dataset, ner_vocabularies
from pipelines.readers import TaggedSentence
from pipelines.readers.image_set import ImageSet
from pipelines.sentiment import LabelledTexts, sentiment_dataset, sentiment_vocabulary


def test_bucketed_batches_counts_each_bucket_batch_by_batch():
    """Lengths [1, 2, 2, 5, 9], boundary 3: buckets {1, 2, 2} and {5, 9}; batches of 2: 2 + 1 = 3."""
    assert bucketed_batches([1, 2, 2, 5, 9], [3], 2) == 3
    assert bucketed_batches([3, 3, 3], [3], 2) == 2  # a length equal to a boundary goes above it
    assert bucketed_batches([4, 1], [], 5) == 1


def _known_and_true(dataset: tf.data.Dataset) -> int:
    count = int(dataset.cardinality())
    assert count >= 1, "cardinality unknown or infinite"
    assert count == sum(1 for _ in dataset)
    return count


LENGTHS = [1, 2, 2, 3, 5, 7, 7, 8, 11, 13, 1, 4]


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_ner_dataset(shuffle, batch_size):
    sentences = [TaggedSentence(tuple(f"w{i}" for i in range(n)), ("O",) * n) for n in LENGTHS]
    vocab, tags = ner_vocabularies(sentences)
    _known_and_true(ner_dataset(sentences, vocab, tags, batch_size=batch_size, num_buckets=4, shuffle=shuffle))


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_sentiment_dataset(batch_size):
    texts = tuple(" ".join(["good"] * n) for n in LENGTHS)
    data = LabelledTexts(texts, tuple(i % 2 for i in range(len(texts))))
    dataset = sentiment_dataset(data, sentiment_vocabulary(texts), batch_size=batch_size, num_buckets=3)
    _known_and_true(dataset)


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_language_model_datasets(batch_size):
    vocab = lm_vocabulary([["a", "b", "c"]])
    id_lists = [[4 + i % 3 for i in range(n)] for n in LENGTHS]
    _known_and_true(sentence_dataset(id_lists, vocab, batch_size=batch_size, num_buckets=3))
    _known_and_true(window_dataset(np.arange(4, 40, dtype=np.int32), window=4, batch_size=batch_size))


@pytest.mark.parametrize("training", [False, True])
def test_image_dataset(training):
    data = ImageSet(labels=np.arange(7, dtype=np.int32) % 2, class_names=("a", "b"), channels=1,
                    images=np.zeros((7, 4, 4, 1), np.uint8), source="mem")
    assert _known_and_true(image_dataset(data, batch_size=3, training=training, crop_padding=1)) == 3
