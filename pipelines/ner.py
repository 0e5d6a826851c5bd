"""The NER pipeline: tagged sentences -> bucketed, padded (inputs, tag_ids) batches.

Inputs come from the same `pipelines.features` ops that the exported graph runs, so training
and serving agree. Padding is token id 0 (`<PAD>`) and tag id -1 (ignored by the
loss and the metrics).
"""

from __future__ import annotations

import collections
from typing import Iterator, Sequence

import numpy as np
import tensorflow as tf

from pipelines.batching import bucket_by_length, quantile_boundaries
from pipelines.errors import DataError
from pipelines.features import FeatureSpec, TokenFeatures, word_key_strings
from pipelines.vocab import PAD, UNK, Vocabulary, build_tag_vocabulary, build_vocabulary

TAG_PAD_ID = -1


def ner_vocabularies(
    sentences: Sequence, *, min_count: int = 1, max_size: int | None = None, lowercase: bool = False
) -> tuple[Vocabulary, Vocabulary]:
    """The word vocabulary (over the keys words are looked up by) and the tag vocabulary."""
    lengths = [len(s.tokens) for s in sentences]
    flat = word_key_strings([t for s in sentences for t in s.tokens], lowercase=lowercase)
    offsets = np.cumsum([0, *lengths])
    token_lists = (flat[a:b] for a, b in zip(offsets[:-1], offsets[1:]))
    vocab = build_vocabulary(token_lists, min_count=min_count, max_size=max_size)
    return vocab, build_tag_vocabulary(s.tags for s in sentences)


def unknown_rates(sentences: Sequence, vocab: Vocabulary, *, singletons: float = 0.0, others: float = 0.0,
                  lowercase: bool = False) -> np.ndarray:
    """Per word id, the probability that a training batch shows the word as `<UNK>` (see `ner_dataset`).

    Words whose key occurs once in `sentences` get `singletons` (Lample et al. 2016 use 0.5, so
    the `<UNK>` row learns what an unseen word looks like), all other words `others` (word
    dropout); `<PAD>`, `<UNK>` and vocabulary words absent from `sentences` (added from
    pretrained vectors) get 0.

    Returns:
        float32 (len(vocab),) rates.
    """
    for name, rate in (("singletons", singletons), ("others", others)):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1]. Received: {name}={rate}")
    counts = collections.Counter(word_key_strings([t for s in sentences for t in s.tokens], lowercase=lowercase))
    rates = np.zeros(len(vocab), dtype=np.float32)
    for i, token in enumerate(vocab.tokens):
        if token not in (PAD, UNK) and counts[token]:
            rates[i] = singletons if counts[token] == 1 else others
    return rates


def replace_with_unknown(dataset: tf.data.Dataset, rates: np.ndarray, *, unknown_id: int,
                         seed: int = 0) -> tf.data.Dataset:
    """Each example's `token_ids` with word id i replaced by `unknown_id` with probability `rates[i]`.

    New draws every epoch (a fresh pass re-randomizes), the same draws for the same `seed`.
    Only the word ids change: characters and shapes still show the word.
    """
    rates = tf.constant(rates, dtype=tf.float32)
    draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)

    def replace(example, draw_seed):
        inputs, tag_ids = example
        ids = inputs["token_ids"]
        hit = tf.random.stateless_uniform(tf.shape(ids), seed=draw_seed) < tf.gather(rates, ids)
        return {**inputs, "token_ids": tf.where(hit, tf.cast(unknown_id, ids.dtype), ids)}, tag_ids

    return tf.data.Dataset.zip(dataset, draws).map(replace)


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


def ragged_tokens(token_lists: Sequence[Sequence[str]]) -> tf.RaggedTensor:
    """A (sentences, None) ragged string tensor, built in one step from Python lists."""
    lengths = [len(tokens) for tokens in token_lists]
    flat = tf.constant([t for tokens in token_lists for t in tokens], dtype=tf.string, shape=[sum(lengths)])
    return tf.RaggedTensor.from_row_lengths(flat, tf.constant(lengths, tf.int64))


def ner_dataset(
    sentences: Sequence,
    vocab: Vocabulary,
    tags: Vocabulary,
    *,
    batch_size: int = 64,
    num_buckets: int = 16,
    boundaries: Sequence[int] | None = None,
    shuffle: bool = True,
    seed: int = 0,
    source: str | None = None,
    features: TokenFeatures | None = None,
    unknown: np.ndarray | None = None,
) -> tf.data.Dataset:
    """Batches of `(inputs, tag_ids)` padded to the batch's longest sentence.

    `inputs` is the int32 `token_ids` (batch, time) for word-only taggers, or a dict of
    `token_ids`, `char_ids` (batch, time, chars) and `shape_ids` when `features` asks for them.

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
        features: how tokens become inputs (default: word ids from `vocab`).
        unknown: per word id, the probability of showing it as `<UNK>` (training only; see
            `unknown_rates`, `replace_with_unknown`), drawn anew every epoch from `seed`.
    """
    if not sentences:
        raise DataError(source, None, "no sentences to build a dataset from")
    lengths = [len(s.tokens) for s in sentences]
    if boundaries is None:
        boundaries = quantile_boundaries(lengths, num_buckets)
    features = features or TokenFeatures(FeatureSpec(), vocab.table())
    inputs = features(ragged_tokens([s.tokens for s in sentences]))
    tag_ids = tf.ragged.constant(encode_tags(sentences, tags, source=source), dtype=tf.int32, ragged_rank=1)
    # Slices of ragged tensors come out ragged; padded_batch wants plain tensors.
    dataset = tf.data.Dataset.from_tensor_slices((inputs, tag_ids))
    dataset = dataset.map(lambda x, y: ({k: _dense(v) for k, v in x.items()}, _dense(y)))
    dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(len(sentences), seed=seed, reshuffle_each_iteration=True)
    if unknown is not None:
        dataset = replace_with_unknown(dataset, unknown, unknown_id=vocab.unknown_id, seed=seed)
    dataset = bucket_by_length(
        dataset,
        length_fn=lambda x, _: tf.shape(x["token_ids"])[0],
        boundaries=boundaries,
        batch_size=batch_size,
        padding_values=({k: 0 for k in inputs}, TAG_PAD_ID),
        lengths=lengths,
    )
    if list(inputs) == ["token_ids"]:
        dataset = dataset.map(lambda x, y: (x["token_ids"], y))
    return dataset.prefetch(tf.data.AUTOTUNE)


def _dense(values):
    return values.to_tensor() if isinstance(values, tf.RaggedTensor) else values


def ner_batches(sentences: Sequence, vocab: Vocabulary, tags: Vocabulary, **kwargs) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The same batches as `ner_dataset`, as NumPy arrays from a plain Python generator."""
    yield from ner_dataset(sentences, vocab, tags, **kwargs).as_numpy_iterator()
