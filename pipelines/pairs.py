"""Sentence-pair pipelines: reading pair files, duplicate groups, splits, text ids and triplet batches.

A triplet-loss batch is two aligned tensors of token ids: row i of `token_ids_a` and row i of
`token_ids_b` are duplicates, and no two rows of a batch come from the same duplicate group
(questions that are duplicates of one another, transitively), so every other row of the batch is
a true negative. Labelled non-duplicates are used as hard negatives: each of their two texts
enters as a row paired with itself (a text is a duplicate of itself) and both rows go into the
same batch, so each is the other's in-batch negative.

Text becomes ids through `text_ids`, the same TensorFlow ops the exported graph runs.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import tensorflow as tf

from pipelines.errors import DataError
from pipelines.readers.mrpc import read_mrpc
from pipelines.readers.pair import Pair
from pipelines.readers.quora_tsv import read_quora_tsv
from pipelines.readers.sick import read_sick
from pipelines.readers.spec import parse_spec
from pipelines.readers.stsb import read_stsb
from pipelines.text import lowercase, normalize, tokenize
from pipelines.vocab import UNK, Vocabulary, build_vocabulary

PAIR_FORMATS: dict[str, Callable[..., list[Pair]]] = {
    "quora": read_quora_tsv,
    "mrpc": read_mrpc,
    "sick": read_sick,
    "stsb": read_stsb,
}
# Graded pairs at or above this score count as duplicates (SICK relatedness 1-5, STS-B 0-5).
MIN_SCORE = 4.0


def read_pairs(spec: str) -> list[Pair]:
    """Reads `"FORMAT:PATH"` with FORMAT a key of `PAIR_FORMATS`, e.g. `"quora:dev.tsv.gz"`."""
    name, _, path = parse_spec(spec, PAIR_FORMATS, noun="a pair-data spec", format_noun="a pair format")
    return PAIR_FORMATS[name](path)


def is_positive(pair: Pair, min_score: float = MIN_SCORE) -> bool:
    """A duplicate: label 1, or (for graded pairs without a label) a score of at least `min_score`."""
    if pair.label is not None:
        return pair.label == 1
    return pair.score is not None and pair.score >= min_score


def labelled(pairs: Iterable[Pair], min_score: float = MIN_SCORE) -> list[Pair]:
    """The pairs with a binary label, graded ones labelled by `min_score`: for calibration and evaluation."""
    return [p if p.label is not None else p._replace(label=int(is_positive(p, min_score))) for p in pairs]


# ----------------------------------------------------------------------------- duplicate groups


class UnionFind:
    """Disjoint sets over hashable items, with path halving."""

    def __init__(self):
        self.parent: dict = {}

    def find(self, item):
        parent = self.parent.setdefault(item, item)
        while parent != item:
            grandparent = self.parent[parent]
            self.parent[item] = grandparent
            item, parent = grandparent, self.parent[grandparent]
        return item

    def union(self, a, b) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[root_b] = root_a


def duplicate_groups(pairs: Iterable[Pair], min_score: float = MIN_SCORE) -> UnionFind:
    """Texts joined by duplicate pairs, transitively: `find(text)` names a text's group."""
    groups = UnionFind()
    for pair in pairs:
        groups.find(pair.text_a), groups.find(pair.text_b)
        if is_positive(pair, min_score):
            groups.union(pair.text_a, pair.text_b)
    return groups


def split_pairs(pairs: Sequence[Pair], *, dev_fraction: float = 0.2, seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """A train / dev split in which no text is on both sides, with dev holding `dev_fraction` of the pairs.

    Pairs that share a text (through any pair, duplicate or not, transitively) form a component;
    components are shuffled with `seed` and each joins dev while it fits, so one large component
    cannot swell dev far beyond the fraction (60 pairs at 10%: 6 in dev, not 52). Dev may miss
    `round(len(pairs) * dev_fraction)` pairs by 10% of that (at least 1 pair).

    Raises:
        DataError: the components are too large (or the pairs too few) to hold out `dev_fraction`.
    """
    if not 0 < dev_fraction < 1:
        raise ValueError(f"dev_fraction must be between 0 and 1. Received: dev_fraction={dev_fraction}")
    linked = UnionFind()
    for pair in pairs:
        linked.union(pair.text_a, pair.text_b)
    components: dict = {}
    for i, pair in enumerate(pairs):
        components.setdefault(linked.find(pair.text_a), []).append(i)
    order = list(components.values())
    np.random.default_rng(seed).shuffle(order)
    target = round(len(pairs) * dev_fraction)
    slack = max(1, round(target * 0.1))
    dev: set[int] = set()
    for members in order:
        if len(dev) >= target:
            break
        if len(dev) + len(members) <= target + slack:
            dev.update(members)
    if not dev or abs(len(dev) - target) > slack or len(dev) == len(pairs):
        largest = max(len(members) for members in order) if order else 0
        raise DataError(None, None, f"cannot hold out {dev_fraction:.0%} of {len(pairs)} pairs ({target}) for dev "
                                    f"without a text on both sides: pairs sharing texts form {len(order)} groups, "
                                    f"the largest of {largest} pairs; give dev pairs of their own (--dev)")
    return [p for i, p in enumerate(pairs) if i not in dev], [p for i, p in enumerate(pairs) if i in dev]


# ----------------------------------------------------------------------------- text -> ids


@dataclasses.dataclass(frozen=True)
class TextIds:
    """How a text becomes ids, identically in training and in the exported graph.

    Ids are laid out as `[vocabulary | OOV buckets | word-bigram buckets | char-n-gram buckets]`.
    Bigrams and character n-grams are appended after a text's word ids, so they suit bag-of-ids
    encoders (mean/max pooling), not recurrent ones.

    Attributes:
        lowercase: lower-case tokens before the lookup.
        digits_to_zero: `pipelines.text.normalize` tokens (digits -> 0); off keeps "2016" and "2017" apart.
        oov_buckets: unknown words hash into this many ids of their own instead of `<UNK>`, so two
            texts sharing a rare word still share an id.
        word_bigrams: buckets for hashed word bigrams (0: none).
        char_ngrams: n of hashed character n-grams of each word, marked `<word>` (0: none), or
            several n as a tuple (`(3, 4)`: trigrams and 4-grams, fastText-style).
        char_buckets: buckets for the character n-grams.
    """

    lowercase: bool = True
    digits_to_zero: bool = True
    oov_buckets: int = 0
    word_bigrams: int = 0
    char_ngrams: int | tuple[int, ...] = 0
    char_buckets: int = 0

    def __post_init__(self):
        if not isinstance(self.char_ngrams, int):  # several n: a tuple, also when a card's JSON list comes back
            object.__setattr__(self, "char_ngrams", tuple(self.char_ngrams))
            if not self.char_ngrams or any(not isinstance(n, int) or n < 1 for n in self.char_ngrams):
                raise ValueError(f"char_ngrams must be n >= 0 or a tuple of n >= 1. Received: "
                                 f"char_ngrams={self.char_ngrams}")
        for name in ("oov_buckets", "word_bigrams", "char_ngrams", "char_buckets"):
            if isinstance(getattr(self, name), int) and getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0. Received: {name}={getattr(self, name)}")
        if bool(self.char_ngrams) != bool(self.char_buckets):
            raise ValueError("char_ngrams and char_buckets go together. "
                             f"Received: char_ngrams={self.char_ngrams}, char_buckets={self.char_buckets}")

    def num_ids(self, vocab_size: int) -> int:
        """The embedding rows a model needs for a vocabulary of `vocab_size`."""
        return vocab_size + self.oov_buckets + self.word_bigrams + self.char_buckets


def text_tokens(texts, *, lower: bool = True, digits_to_zero: bool = True) -> tf.RaggedTensor:
    """Tokens as they are looked up: tokenized, optionally lower-cased and normalised (digits -> 0)."""
    tokens = tokenize(texts)
    tokens = lowercase(tokens) if lower else tokens
    return normalize(tokens) if digits_to_zero else tokens


def _hashed(strings: tf.RaggedTensor, buckets: int, offset: int) -> tf.RaggedTensor:
    return strings.with_flat_values(tf.strings.to_hash_bucket_fast(strings.flat_values, buckets) + offset)


def text_ids(texts, table, *, vocab_size: int, config: TextIds) -> tf.RaggedTensor:
    """(batch, None) int32 ids of raw texts; `table` maps tokens to ids with `<UNK>` = 1."""
    tokens = text_tokens(texts, lower=config.lowercase, digits_to_zero=config.digits_to_zero)
    ids = table.lookup(tokens)
    offset = vocab_size
    if config.oov_buckets:
        hashed = _hashed(tokens, config.oov_buckets, offset)
        ids = ids.with_flat_values(tf.where(ids.flat_values == 1, hashed.flat_values, ids.flat_values))
        offset += config.oov_buckets
    parts = [ids]
    if config.word_bigrams:
        parts.append(_hashed(tf.strings.ngrams(tokens, 2, separator=" "), config.word_bigrams, offset))
        offset += config.word_bigrams
    if config.char_ngrams:
        marked = tokens.with_flat_values(tf.strings.join(["<", tokens.flat_values, ">"]))
        chars = tf.strings.unicode_split(marked, "UTF-8", errors="replace")
        grams = tf.strings.ngrams(chars, config.char_ngrams, separator="")  # one n or a tuple of them
        parts.append(_hashed(grams.merge_dims(1, 2), config.char_buckets, offset))
    return tf.cast(tf.concat(parts, axis=1), tf.int32)


def pair_vocabulary(texts: Sequence[str], config: TextIds = TextIds(), *, min_count: int = 1,
                    max_size: int | None = None, batch_size: int = 4096) -> Vocabulary:
    """`<PAD>`, `<UNK>`, then the tokens of `texts` as `text_ids` looks them up."""
    def token_lists():
        for start in range(0, len(texts), batch_size):
            batch = tf.constant(list(texts[start:start + batch_size]), tf.string)
            for row in text_tokens(batch, lower=config.lowercase, digits_to_zero=config.digits_to_zero).to_list():
                yield [t.decode("utf-8") for t in row]

    vocab = build_vocabulary(token_lists(), min_count=min_count, max_size=max_size)
    assert vocab.tokens.index(UNK) == 1
    return vocab


def encode_texts(texts: Sequence[str], vocab: Vocabulary, config: TextIds, *, batch_size: int = 4096) -> tf.RaggedTensor:
    """`text_ids` of many texts, in slices so memory stays flat."""
    table = vocab.table()
    parts = [text_ids(tf.constant(list(texts[start:start + batch_size]), tf.string), table,
                      vocab_size=len(vocab), config=config)
             for start in range(0, len(texts), batch_size)]
    if not parts:
        return tf.RaggedTensor.from_row_lengths(tf.zeros([0], tf.int32), tf.zeros([0], tf.int64))
    return tf.concat(parts, axis=0)


# ----------------------------------------------------------------------------- triplet rows and batches


@dataclasses.dataclass(frozen=True)
class TripletRows:
    """Training rows over a table of distinct texts.

    Attributes:
        texts: the distinct texts; rows refer to them by index.
        a, b: per row, the index of the anchor text and of its duplicate.
        group: per row, its duplicate group (rows of one group never share a batch).
        units: lists of rows that go into one batch together (a non-duplicate pair's two rows).
        skipped: labelled non-duplicates left out because their texts are duplicates transitively.
    """

    texts: list[str]
    a: np.ndarray
    b: np.ndarray
    group: np.ndarray
    units: list[tuple[int, ...]]
    skipped: int = 0

    @property
    def num_groups(self) -> int:
        return len(np.unique(self.group))


def triplet_rows(pairs: Sequence[Pair], *, hard_negatives: bool = True, min_score: float = MIN_SCORE,
                 source: str | None = None) -> TripletRows:
    """Rows for the triplet loss: one per duplicate pair, plus two per labelled non-duplicate pair.

    Raises:
        DataError: fewer than two duplicate groups, so no batch could hold a negative.
    """
    groups = duplicate_groups(pairs, min_score)
    index: dict[str, int] = {}
    a, b, group, units = [], [], [], []
    group_ids: dict = {}
    skipped = 0

    def add_row(text_a: str, text_b: str) -> int:
        a.append(index.setdefault(text_a, len(index)))
        b.append(index.setdefault(text_b, len(index)))
        group.append(group_ids.setdefault(groups.find(text_a), len(group_ids)))
        return len(a) - 1

    for pair in pairs:
        if is_positive(pair, min_score):
            units.append((add_row(pair.text_a, pair.text_b),))
        elif hard_negatives and pair.label == 0:
            if groups.find(pair.text_a) == groups.find(pair.text_b):
                skipped += 1  # labelled non-duplicate, yet duplicates through other pairs
                continue
            units.append((add_row(pair.text_a, pair.text_a), add_row(pair.text_b, pair.text_b)))
    rows = TripletRows(list(index), np.array(a, np.int64), np.array(b, np.int64), np.array(group, np.int64),
                       units, skipped)
    if len(group_ids) < 2:
        raise DataError(source, None, f"expected duplicate pairs from at least 2 groups for the triplet loss "
                                      f"(every negative comes from another group), got {len(group_ids)}")
    return rows


def arrange_batches(rows: TripletRows, lengths: np.ndarray, *, batch_size: int, rng: np.random.Generator | None = None,
                    window: int = 16) -> list[np.ndarray]:
    """Row indices per batch: no group twice in a batch, units kept together, similar lengths together.

    Units are shuffled (when `rng` is given), sorted by length within windows of `window` batches
    (length bucketing), then placed greedily into the first open batch with room and no group in
    common. Batches are emitted when full; the last, partial ones if they hold at least 2 rows.
    The batch order is shuffled again so lengths vary from step to step.
    """
    check_batch_size(rows, batch_size)
    units = list(rows.units)
    if rng is not None:
        units = [units[i] for i in rng.permutation(len(units))]
    unit_length = [max(lengths[r] for r in unit) for unit in units]
    span = window * batch_size
    ordered = []
    for start in range(0, len(units), span):
        chunk = list(range(start, min(start + span, len(units))))
        ordered += sorted(chunk, key=lambda u: unit_length[u])
    batches, open_batches = [], []  # open: (rows, groups)
    for u in ordered:
        unit = units[u]
        unit_groups = {rows.group[r] for r in unit}
        fits = (i for i, (r, g) in enumerate(open_batches) if len(r) + len(unit) <= batch_size and not unit_groups & g)
        i = next(fits, None)
        if i is None:
            i = len(open_batches)
            open_batches.append(([], set()))
        batch_rows, batch_groups = open_batches[i]
        batch_rows.extend(unit)
        batch_groups.update(unit_groups)
        if len(batch_rows) == batch_size:
            del open_batches[i]
            batches.append(np.array(batch_rows, np.int64))
    batches += [np.array(r, np.int64) for r, _ in open_batches if len(r) >= 2]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def check_batch_size(rows: TripletRows, batch_size: int) -> None:
    """A batch needs at least 2 rows and at most one row per duplicate group."""
    if batch_size < 2:
        raise ValueError(f"batch_size must be at least 2 (a row's negatives are the other rows). "
                         f"Received: batch_size={batch_size}")
    if batch_size > rows.num_groups:
        raise DataError(None, None, f"batch_size={batch_size} is larger than the {rows.num_groups} distinct duplicate "
                                    f"groups in the data, and a batch holds at most one row per group; "
                                    f"use batch_size <= {rows.num_groups}")


def triplet_dataset(
    rows: TripletRows,
    ids: tf.RaggedTensor,
    *,
    batch_size: int = 64,
    shuffle: bool = True,
    seed: int = 0,
) -> tf.data.Dataset:
    """Batches `({"token_ids_a", "token_ids_b"}, dummy labels)` for the triplet loss.

    Args:
        rows: from `triplet_rows`.
        ids: `encode_texts(rows.texts, ...)`, one row of ids per distinct text.
        batch_size: rows per batch (at most the number of duplicate groups); the last batches of
            an epoch may be smaller.
        shuffle: a new arrangement every epoch (training); off gives the same batches every time.
        seed: the arrangement's seed; epoch e of a run uses `seed + e`.

    Each side is padded with 0 to its own longest text in the batch. The labels are zeros: the
    triplet loss takes its positives from the diagonal and ignores them.
    """
    check_batch_size(rows, batch_size)
    lengths = ids.row_lengths().numpy()
    row_lengths = np.maximum(lengths[rows.a], lengths[rows.b])
    epoch = iter(range(seed, 2**31))

    def generate() -> Iterator[np.ndarray]:
        rng = np.random.default_rng(next(epoch)) if shuffle else None
        yield from arrange_batches(rows, row_lengths, batch_size=batch_size, rng=rng)

    a, b = tf.constant(rows.a), tf.constant(rows.b)

    def gather(batch):
        return ({"token_ids_a": tf.gather(ids, tf.gather(a, batch)).to_tensor(),
                 "token_ids_b": tf.gather(ids, tf.gather(b, batch)).to_tensor()},
                tf.zeros(tf.shape(batch), tf.float32))

    dataset = tf.data.Dataset.from_generator(generate, output_signature=tf.TensorSpec([None], tf.int64))
    return dataset.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
