"""The NER pipeline: tagged sentences -> bucketed, padded (token_ids, tag_ids) batches.

Token ids come from the same `normalize` + table lookup that the exported graph runs, so
training and serving agree. Padding is token id 0 (`<PAD>`) and tag id -1 (ignored by the
loss and the metrics).
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import tensorflow as tf

from pipelines.batching import bucket_by_length, quantile_boundaries
from pipelines.errors import DataError
from pipelines.text import normalize, normalize_strings
from pipelines.vocab import Vocabulary, build_tag_vocabulary, build_vocabulary

TAG_PAD_ID = -1


def ner_vocabularies(
    sentences: Sequence, *, min_count: int = 1, max_size: int | None = None
) -> tuple[Vocabulary, Vocabulary]:
    """The word vocabulary (over normalised tokens, as they are looked up) and the tag vocabulary."""
    lengths = [len(s.tokens) for s in sentences]
    flat = normalize_strings([t for s in sentences for t in s.tokens])
    offsets = np.cumsum([0, *lengths])
    token_lists = (flat[a:b] for a, b in zip(offsets[:-1], offsets[1:]))
    vocab = build_vocabulary(token_lists, min_count=min_count, max_size=max_size)
    return vocab, build_tag_vocabulary(s.tags for s in sentences)


def encode_tags(sentences: Sequence, tags: Vocabulary, *, source: str | None = None) -> list[list[int]]:
    """Tag ids per sentence; a tag missing from the training tag set is a `DataError`."""
    index = tags.index
    encoded = []
    for i, sentence in enumerate(sentences):
        try:
            encoded.append([index[tag] for tag in sentence.tags])
        except KeyError as error:
            raise DataError(
                source, None,
                f"sentence {i + 1} has tag {error.args[0]!r}, which the training data never uses; "
                f"known tags: {list(tags.tokens)}",
            ) from None
    return encoded


def encode_tokens(token_lists: Sequence[Sequence[str]], table) -> tf.RaggedTensor:
    """Ragged int32 token ids for lists of tokens, through `normalize` and the lookup table."""
    lengths = [len(tokens) for tokens in token_lists]
    flat = tf.constant([t for tokens in token_lists for t in tokens], dtype=tf.string, shape=[sum(lengths)])
    ragged = tf.RaggedTensor.from_row_lengths(flat, tf.constant(lengths, tf.int64))
    return tf.cast(table.lookup(normalize(ragged)), tf.int32)


def ner_dataset(
    sentences: Sequence,
    vocab: Vocabulary,
    tags: Vocabulary,
    *,
    batch_size: int = 64,
    num_buckets: int = 8,
    boundaries: Sequence[int] | None = None,
    shuffle: bool = True,
    seed: int = 0,
    source: str | None = None,
) -> tf.data.Dataset:
    """Batches of `(token_ids, tag_ids)`, both int32 of shape (batch, longest in batch).

    Args:
        sentences: records with `.tokens` and `.tags` (e.g. `TaggedSentence`).
        vocab: the word vocabulary (`<PAD>`=0, `<UNK>`=1).
        tags: the closed tag vocabulary.
        batch_size: examples per batch (64, 128, 256, ...).
        num_buckets: length buckets; boundaries come from the data's length quantiles.
        boundaries: explicit bucket boundaries, overriding `num_buckets`.
        shuffle: reshuffle examples every epoch (training); off for evaluation.
        seed: shuffling seed.
        source: where the sentences came from, for error messages.
    """
    if not sentences:
        raise DataError(source, None, "no sentences to build a dataset from")
    lengths = [len(s.tokens) for s in sentences]
    if boundaries is None:
        boundaries = quantile_boundaries(lengths, num_buckets)
    token_ids = encode_tokens([s.tokens for s in sentences], vocab.table())
    tag_ids = tf.ragged.constant(encode_tags(sentences, tags, source=source), dtype=tf.int32, ragged_rank=1)
    # Slices of a ragged tensor come out as rank-0-ragged specs; padded_batch wants plain tensors.
    dataset = tf.data.Dataset.from_tensor_slices((token_ids, tag_ids))
    dataset = dataset.map(lambda ids, tag_ids: (tf.ensure_shape(ids, [None]), tf.ensure_shape(tag_ids, [None])))
    dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(len(sentences), seed=seed, reshuffle_each_iteration=True)
    dataset = bucket_by_length(
        dataset,
        length_fn=lambda ids, _: tf.shape(ids)[0],
        boundaries=boundaries,
        batch_size=batch_size,
        padding_values=(0, TAG_PAD_ID),
    )
    return dataset.prefetch(tf.data.AUTOTUNE)


def ner_batches(sentences: Sequence, vocab: Vocabulary, tags: Vocabulary, **kwargs) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The same batches as `ner_dataset`, as NumPy arrays from a plain Python generator."""
    yield from ner_dataset(sentences, vocab, tags, **kwargs).as_numpy_iterator()
