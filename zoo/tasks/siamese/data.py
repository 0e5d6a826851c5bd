"""Siamese data: labelled pairs read from specs, the vocabulary, triplet batches and the dev pair index."""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import tensorflow as tf

from pipelines.errors import DataError
from pipelines.pairs import (
    TextIds,
    TripletRows,
    encode_texts,
    is_positive,
    labelled,
    pair_vocabulary,
    read_pairs,
    split_pairs,
    triplet_dataset,
    triplet_rows,
)
from pipelines.readers.pair import Pair
from pipelines.vocab import Vocabulary

TASK = "siamese"


def default_text_ids(name: str) -> TextIds:
    """Lower-cased words with digits kept and hashed OOV buckets; word bigrams and character trigrams
    too for bag-of-ids encoders (the settings of `benchmarks/siamese_quora.py`)."""
    if name == "siamese_bow":
        return TextIds(digits_to_zero=False, oov_buckets=2000, word_bigrams=20000, char_ngrams=3, char_buckets=20000)
    return TextIds(digits_to_zero=False, oov_buckets=2000)


@dataclasses.dataclass(frozen=True)
class PairIndex:
    """Labelled pairs over a table of distinct texts, so each text is encoded once."""

    texts: list[str]
    a: np.ndarray
    b: np.ndarray
    labels: np.ndarray

    @classmethod
    def of(cls, pairs: Sequence[Pair]) -> "PairIndex":
        index: dict[str, int] = {}
        a = [index.setdefault(p.text_a, len(index)) for p in pairs]
        b = [index.setdefault(p.text_b, len(index)) for p in pairs]
        return cls(list(index), np.array(a, np.int64), np.array(b, np.int64), np.array([p.label for p in pairs], int))

    def similarities(self, vectors: np.ndarray) -> np.ndarray:
        """Cosine similarity of each pair from the unit vectors of `texts`."""
        return np.clip(np.sum(vectors[self.a] * vectors[self.b], axis=-1), -1.0, 1.0)


@dataclasses.dataclass
class SiameseData:
    """What a Siamese model trains from: pairs, vocabulary, text-id config and tf.data pipelines."""

    train: list[Pair]
    dev: list[Pair]
    vocab: Vocabulary
    text_ids: TextIds
    rows: TripletRows
    train_ds: tf.data.Dataset
    dev_ds: tf.data.Dataset | None
    dev_index: PairIndex
    dev_ids: tf.RaggedTensor
    info: dict
    embeddings: np.ndarray | None = None  # pretrained rows for every id (vocabulary and buckets), or None

    @property
    def num_ids(self) -> int:
        return self.text_ids.num_ids(len(self.vocab))


def read_siamese_data(data_specs: Sequence[str], dev_spec: str | None = None, *, extra_specs: Sequence[str] = (),
                      dev_fraction: float = 0.2, seed: int = 0) -> tuple[list[Pair], list[Pair], dict]:
    """Reads `FORMAT:PATH` specs into (train, labelled dev, info).

    Every pair of `data_specs` trains (duplicates as rows, labelled non-duplicates as hard
    negatives); only the duplicates of `extra_specs` join (label 1, or score >= 4). Without
    `dev_spec`, `dev_fraction` of the first data spec is held out with `split_pairs` (no text on
    both sides), and `info["dev"]` (also a line of `info["notes"]`) tells how many pairs that was.
    """
    if not data_specs:
        raise DataError(None, None, "expected at least one training data spec, got none")
    first = read_pairs(data_specs[0])
    if dev_spec:
        train, dev = first, labelled(read_pairs(dev_spec))
    else:
        train, dev = split_pairs(first, dev_fraction=dev_fraction, seed=seed)
        dev = labelled(dev)
    for spec in data_specs[1:]:
        train += read_pairs(spec)
    extra = [p for spec in extra_specs for p in read_pairs(spec) if is_positive(p)]
    info = {"train": list(data_specs), "extra_positives": list(extra_specs), "dev": dev_spec}
    if not dev_spec:  # the real counts: split_pairs keeps whole groups of linked pairs, so dev is near the fraction
        info["dev"] = (f"{len(dev)} of {len(first)} pairs of {data_specs[0]} held out ({len(dev) / len(first):.1%}; "
                       f"split_pairs, seed {seed}, no text on both sides)")
        info["notes"] = [f"dev: {info['dev']}"]
    return train + [p._replace(label=1) for p in extra], dev, info


def id_vectors(vocab: Vocabulary, text_ids: TextIds, path: str, *, first: int = 0,
               seed: int = 0) -> tuple[Vocabulary, np.ndarray, dict]:
    """The vocabulary extended with a vectors file's first words, and embedding rows for all of
    `text_ids`' ids: `[vocabulary | OOV buckets | word-bigram buckets | char-n-gram buckets]`."""
    from zoo.pretrained import vocabulary_with_vectors

    vocab, matrix, report = vocabulary_with_vectors(vocab, path, first=first, seed=seed)
    buckets = text_ids.num_ids(len(vocab)) - len(vocab)
    scale = float(np.std(matrix[2:])) if len(matrix) > 2 else 0.1
    rows = np.random.default_rng(seed + 1).normal(0.0, scale, (buckets, matrix.shape[1])).astype(np.float32)
    return vocab, np.concatenate([matrix, rows]), {**report, "bucket_rows": buckets}


def prepare_siamese_data(
    train: Sequence[Pair],
    dev: Sequence[Pair],
    *,
    text_ids: TextIds = TextIds(),
    batch_size: int = 64,
    seed: int = 0,
    min_count: int = 1,
    max_vocab: int | None = None,
    hard_negatives: bool = True,
    info: dict | None = None,
    word_vectors: str | None = None,
    vectors_vocab: int = 0,
) -> SiameseData:
    """Vocabulary from the training texts, triplet batches for train (and dev, for val_loss), dev pair index.

    With `word_vectors` (a GloVe / word2vec text file or an installed name such as glove-6b-50d),
    the vocabulary also takes the file's first `vectors_vocab` words, and `embeddings` holds a row
    for every id: the pretrained vector of each vocabulary word that has one, random rows (at the
    vectors' scale) for the other words and the OOV, bigram and n-gram buckets.
    """
    info = dict(info or {})
    dev = labelled(dev)
    dev_index = PairIndex.of(dev)
    if len(set(dev_index.labels.tolist())) < 2:
        raise DataError(info.get("dev"), None, "expected dev pairs with both labels (duplicates and non-duplicates) "
                                               f"to calibrate the threshold, got {len(dev)} pairs all labelled "
                                               f"{dev_index.labels[0] if len(dev) else 'nothing'}")
    rows = triplet_rows(train, hard_negatives=hard_negatives, source=info.get("train", [None])[0])
    vocab = pair_vocabulary(rows.texts, text_ids, min_count=min_count, max_size=max_vocab)
    embeddings = None
    if word_vectors:
        vocab, embeddings, info["word_vectors"] = id_vectors(vocab, text_ids, word_vectors, first=vectors_vocab,
                                                             seed=seed)
    train_ds = triplet_dataset(rows, encode_texts(rows.texts, vocab, text_ids), batch_size=batch_size, seed=seed)
    dev_ds = None
    try:
        dev_rows = triplet_rows(dev, hard_negatives=hard_negatives)
        dev_ds = triplet_dataset(dev_rows, encode_texts(dev_rows.texts, vocab, text_ids),
                                 batch_size=min(batch_size, dev_rows.num_groups), shuffle=False)
    except DataError:
        pass  # too few dev duplicates for a triplet batch: no val_loss, dev AUC still guides training
    positives = sum(is_positive(p) for p in train)
    return SiameseData(
        train=list(train), dev=dev, vocab=vocab, text_ids=text_ids, rows=rows, train_ds=train_ds, dev_ds=dev_ds,
        dev_index=dev_index, dev_ids=encode_texts(dev_index.texts, vocab, text_ids), embeddings=embeddings,
        info={**info, "train_pairs": len(train), "train_duplicates": positives, "train_rows": len(rows.a),
              "duplicate_groups": rows.num_groups, "skipped_contradictory_pairs": rows.skipped,
              "dev_pairs": len(dev), "dev_duplicates": int(dev_index.labels.sum()), "vocab_size": len(vocab),
              "num_ids": text_ids.num_ids(len(vocab)), "batch_size": batch_size, "hard_negatives": hard_negatives,
              "text_ids": dataclasses.asdict(text_ids)},
    )
