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

    @property
    def num_ids(self) -> int:
        return self.text_ids.num_ids(len(self.vocab))


def read_siamese_data(data_specs: Sequence[str], dev_spec: str | None = None, *, extra_specs: Sequence[str] = (),
                      dev_fraction: float = 0.2, seed: int = 0) -> tuple[list[Pair], list[Pair], dict]:
    """Reads `FORMAT:PATH` specs into (train, labelled dev, info).

    Every pair of `data_specs` trains (duplicates as rows, labelled non-duplicates as hard
    negatives); only the duplicates of `extra_specs` join (label 1, or score >= 4). Without
    `dev_spec`, `dev_fraction` of the first data spec is held out with `split_pairs` (no text on
    both sides).
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
    info = {"train": list(data_specs), "extra_positives": list(extra_specs),
            "dev": dev_spec or f"{dev_fraction:.0%} of {data_specs[0]} held out (split_pairs, seed {seed})"}
    return train + [p._replace(label=1) for p in extra], dev, info


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
) -> SiameseData:
    """Vocabulary from the training texts, triplet batches for train (and dev, for val_loss), dev pair index."""
    info = dict(info or {})
    dev = labelled(dev)
    dev_index = PairIndex.of(dev)
    if len(set(dev_index.labels.tolist())) < 2:
        raise DataError(info.get("dev"), None, "expected dev pairs with both labels (duplicates and non-duplicates) "
                                               f"to calibrate the threshold, got {len(dev)} pairs all labelled "
                                               f"{dev_index.labels[0] if len(dev) else 'nothing'}")
    rows = triplet_rows(train, hard_negatives=hard_negatives, source=info.get("train", [None])[0])
    vocab = pair_vocabulary(rows.texts, text_ids, min_count=min_count, max_size=max_vocab)
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
        dev_index=dev_index, dev_ids=encode_texts(dev_index.texts, vocab, text_ids),
        info={**info, "train_pairs": len(train), "train_duplicates": positives, "train_rows": len(rows.a),
              "duplicate_groups": rows.num_groups, "skipped_contradictory_pairs": rows.skipped,
              "dev_pairs": len(dev), "dev_duplicates": int(dev_index.labels.sum()), "vocab_size": len(vocab),
              "num_ids": text_ids.num_ids(len(vocab)), "batch_size": batch_size, "hard_negatives": hard_negatives,
              "text_ids": dataclasses.asdict(text_ids)},
    )
