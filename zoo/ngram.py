"""The traditional language model: n-gram counts, add-k or interpolated Kneser-Ney, in back-off form.

Each sentence is padded with N-1 start markers `<s>` and one end marker `</s>`, and its
probability is the product of P(w_t | w_{t-N+1} .. w_{t-1}) over its tokens and the end marker.
Tokens outside the vocabulary (seen fewer than `min_count` times in training) are `<UNK>`.

Both smoothings compile to the same back-off tables as an ARPA file: for every seen n-gram
its probability p*, for every seen context h a back-off weight b(h), and

    P(w | h) = p*(h, w)                  if (h, w) was seen
             = b(h) * P(w | h[1:])       otherwise (b = 1 for an unseen h),

with every vocabulary token seen at order 1, so the recursion always ends. Counting, smoothing
and scoring are vectorised NumPy: n-grams are rows of token ids packed into sortable keys.

Example:
    >>> lm = NgramLM(3, level="word", smoothing="kneser_ney").fit(["a b c", "a b"])
    >>> lm.perplexity(["a b c"])
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os
from typing import Sequence

import numpy as np

from pipelines.errors import DataError
from pipelines.ngram import check_level, token_lists

BOS, EOS, UNK = "<s>", "</s>", "<UNK>"
BOS_ID, EOS_ID, UNK_ID = 0, 1, 2
SMOOTHINGS = ("add_k", "kneser_ney")
DEFAULT_DISCOUNT = 0.75  # when counts-of-counts cannot estimate one (no n-gram seen once or twice)


# ----------------------------------------------------------------------------- smoothing (pure functions)


def add_k_weights(counts: np.ndarray, context_index: np.ndarray, num_contexts: int, *, k: float, vocab_size: int):
    """Add-k at one order: P(w|h) = (c(h,w) + k) / (c(h) + kV) = alpha(h,w) + gamma(h) / V.

    Returns (alpha per n-gram, gamma per context) with alpha = c / (c(h) + kV), gamma = kV / (c(h) + kV).
    """
    totals = np.bincount(context_index, weights=counts, minlength=num_contexts)
    denominators = totals + k * vocab_size
    return counts / denominators[context_index], k * vocab_size / denominators


def kneser_ney_weights(counts: np.ndarray, context_index: np.ndarray, num_contexts: int, *, discount: float):
    """Interpolated absolute discounting at one order (Kneser-Ney when `counts` are continuation counts).

    P(w|h) = max(c(h,w) - D, 0) / c(h) + D * T(h) / c(h) * P_lower(w|h[1:]), with T(h) the number
    of distinct w after h. Returns (alpha per n-gram, gamma per context): the two terms before P_lower.
    """
    totals = np.bincount(context_index, weights=counts, minlength=num_contexts)
    types = np.bincount(context_index, minlength=num_contexts)
    return np.maximum(counts - discount, 0.0) / totals[context_index], discount * types / totals


def estimate_discount(counts: np.ndarray) -> float:
    """D = n1 / (n1 + 2 n2) from the numbers of n-grams seen once and twice (Ney et al., 1994)."""
    n1, n2 = int(np.sum(counts == 1)), int(np.sum(counts == 2))
    return n1 / (n1 + 2 * n2) if n1 and n2 else DEFAULT_DISCOUNT


# ----------------------------------------------------------------------------- n-gram rows as keys


def row_keys(rows: np.ndarray, bits: int) -> np.ndarray:
    """Each row of ids (each < 2**bits) as one sortable key: an int64 when the row fits in 63 bits, else bytes.

    Either way keys sort in the lexicographic order of the rows; integers sort several times faster.
    """
    width = rows.shape[1]
    if width * bits <= 63:
        keys = np.zeros(len(rows), dtype=np.int64)
        for j in range(width):
            keys = (keys << bits) | rows[:, j]
        return keys
    return np.ascontiguousarray(rows, dtype=">u4").view(f"V{4 * width}").ravel()


def key_rows(keys: np.ndarray, width: int, bits: int) -> np.ndarray:
    """The inverse of `row_keys`: (len(keys), width) int64 ids."""
    if width * bits <= 63:
        shifts = bits * np.arange(width - 1, -1, -1, dtype=np.int64)
        return (keys[:, None] >> shifts) & ((1 << bits) - 1)
    return np.frombuffer(keys.tobytes(), dtype=">u4").reshape(-1, width).astype(np.int64)


def unique_rows(rows: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted keys of the distinct rows, their counts, each row's index among them)."""
    keys, inverse, counts = np.unique(row_keys(rows, bits), return_inverse=True, return_counts=True)
    return keys, counts, inverse.ravel()


def find(sorted_keys: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions, found) of `keys` in `sorted_keys`."""
    if not len(sorted_keys):
        return np.zeros(len(keys), np.int64), np.zeros(len(keys), bool)
    positions = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return positions, sorted_keys[positions] == keys


@dataclasses.dataclass
class OrderTable:
    """The n-grams of one order: sorted keys, raw counts, log p*; and their contexts' log back-off weights."""

    order: int
    keys: np.ndarray
    counts: np.ndarray
    log_probs: np.ndarray
    context_keys: np.ndarray
    context_log_backoffs: np.ndarray


# ----------------------------------------------------------------------------- the model


class NgramLM:
    """An N-gram language model over words or characters.

    Args:
        order: N, the n-gram length (1 = unigrams).
        level: "word" (whitespace-separated tokens) or "char" (Unicode characters).
        smoothing: "kneser_ney" (interpolated, one discount per order) or "add_k".
        k: the pseudo-count of add-k (1 = Laplace).
        discount: Kneser-Ney's D for every order; by default each order's D = n1 / (n1 + 2 n2).
        min_count: training tokens seen fewer times become `<UNK>`.
    """

    def __init__(self, order: int = 3, *, level: str = "word", smoothing: str = "kneser_ney", k: float = 1.0,
                 discount: float | None = None, min_count: int = 1):
        if not isinstance(order, int) or order < 1:
            raise ValueError(f"order must be an integer >= 1. Received: order={order!r}")
        check_level(level)
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"Unknown smoothing. Received: smoothing={smoothing!r}; allowed: {list(SMOOTHINGS)}")
        if not k > 0:
            raise ValueError(f"k must be > 0. Received: k={k}")
        if discount is not None and not 0 < discount < 1:
            raise ValueError(f"discount must be in (0, 1). Received: discount={discount}")
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1. Received: min_count={min_count}")
        self.order = order
        self.level = level
        self.smoothing = smoothing
        self.k = k
        self.discount = discount
        self.min_count = min_count
        self.vocab: tuple[str, ...] = ()
        self.tables: list[OrderTable] = []
        self.discounts: list[float] = []
        self.bits = 0  # bits per id in n-gram keys
        self.ngram_counts: list[tuple[np.ndarray, np.ndarray]] = []  # per order: sorted keys, raw counts
        self.info: dict = {}

    def get_config(self) -> dict:
        return {"order": self.order, "level": self.level, "smoothing": self.smoothing, "k": self.k,
                "discount": self.discount, "min_count": self.min_count}

    # -- counting

    def fit(self, texts: Sequence[str], *, source: str | os.PathLike | None = None) -> "NgramLM":
        """Counts 1- to N-grams of `texts` (one sentence each) and builds the back-off tables.

        Raises:
            DataError: no texts, or fewer tokens than N (`source` names the corpus in the message).
        """
        if not len(texts):
            raise DataError(source, None, "the corpus is empty: no sentences to count")
        flat, lengths = token_lists(texts, self.level)
        if len(flat) < self.order:
            raise DataError(source, None, f"the corpus has {len(flat)} {self.level} token(s), fewer than the "
                                          f"order N={self.order}; use more text or a smaller N")
        counts = collections.Counter(flat)
        markers = {marker.encode() for marker in (BOS, EOS, UNK)}  # their literal text is an unknown word
        # Most frequent first, ties by the token's bytes, so the same corpus always gives the same ids.
        kept = sorted((t for t, c in counts.items() if c >= self.min_count and t not in markers),
                      key=lambda t: (-counts[t], t))
        self.vocab = (BOS, EOS, UNK, *(token.decode("utf-8") for token in kept))
        index = {token: i for i, token in enumerate(kept, UNK_ID + 1)}
        ids = np.fromiter((index.get(token, UNK_ID) for token in flat), dtype=np.int64, count=len(flat))
        self.bits = max(len(self.vocab) - 1, 1).bit_length()
        windows = self._windows(ids, np.asarray(lengths, dtype=np.int64))
        distinct = self._build(windows)
        self.info = {"sentences": len(texts), "tokens": len(flat), "types": len(counts),
                     "vocab_size": len(self.vocab), "unknown_tokens": int(np.sum(ids == UNK_ID)),
                     "distinct_ngrams": distinct, "discounts": self.discounts}
        return self

    def _windows(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """(predictions, N) token ids: for every token and end marker, it and the N-1 tokens before it."""
        n = self.order
        padded_lengths = lengths + n  # N-1 start markers, the tokens, the end marker
        starts = np.cumsum(padded_lengths) - padded_lengths
        sequence = np.full(int(padded_lengths.sum()), BOS_ID, dtype=np.int64)
        sequence[np.repeat(starts + n - 1 - (np.cumsum(lengths) - lengths), lengths) + np.arange(len(ids))] = ids
        sequence[starts + n - 1 + lengths] = EOS_ID
        position = np.arange(len(sequence)) - np.repeat(starts, padded_lengths)
        predicted = np.flatnonzero(position >= n - 1)
        return np.stack([sequence[predicted - (n - 1 - j)] for j in range(n)], axis=1)

    def _build(self, windows: np.ndarray) -> dict[int, int]:
        """Fills `tables` (and `discounts`) from the windows; returns the number of distinct n-grams per order."""
        n, vocab_size = self.order, len(self.vocab) - 1  # <s> is never predicted
        seen = [unique_rows(windows[:, n - k:], self.bits)[:2] for k in range(1, n + 1)]
        self.ngram_counts = seen
        self.tables, self.discounts = [], []
        for k in range(1, n + 1):
            keys, counts = seen[k - 1]
            if self.smoothing == "add_k" and k < n:
                keys, counts = keys[:0], counts[:0]  # add-k backs off to the uniform distribution only
            rows, counts = key_rows(keys, k, self.bits), counts.astype(np.float64)
            if k == 1:
                context_keys, context_index = keys[:0], np.zeros(len(keys), dtype=np.int64)
            else:
                context_keys, _, context_index = unique_rows(rows[:, :-1], self.bits)
            num_contexts = len(context_keys) if k > 1 else 1  # order 1 has one context, the empty one
            if self.smoothing == "add_k":
                alpha, gamma = add_k_weights(counts, context_index, num_contexts, k=self.k, vocab_size=vocab_size)
            else:
                adjusted = counts if k == n else self._continuation_counts(rows, counts, seen[k][0], k, self.bits)
                discount = self.discount if self.discount is not None else estimate_discount(adjusted)
                alpha, gamma = kneser_ney_weights(adjusted, context_index, num_contexts, discount=discount)
                self.discounts.append(discount)
            if k == 1:  # every vocabulary token gets a unigram, so back-off always ends there
                keys, counts, alpha = self._all_unigrams(keys, counts, alpha, vocab_size, self.bits)
                probs = alpha + gamma[0] / vocab_size
            else:
                probs = alpha + gamma[context_index] * np.exp(self.window_log_probs(rows[:, 1:]))
            self.tables.append(OrderTable(k, keys, counts, np.log(probs), context_keys,
                                          np.log(gamma) if k > 1 else np.zeros(0)))
        return {k: len(keys) for k, (keys, _) in enumerate(seen, 1)}

    @staticmethod
    def _continuation_counts(rows: np.ndarray, counts: np.ndarray, higher_keys: np.ndarray, k: int,
                             bits: int) -> np.ndarray:
        """N1+(. g): distinct tokens seen before g; n-grams that start with <s> keep their raw counts."""
        suffixes, extensions, _ = unique_rows(key_rows(higher_keys, k + 1, bits)[:, 1:], bits)
        positions, found = find(suffixes, row_keys(rows, bits))
        continuation = np.where(found, extensions[positions], 0).astype(np.float64)
        return np.where(rows[:, 0] == BOS_ID, counts, continuation)

    @staticmethod
    def _all_unigrams(keys, counts, alpha, vocab_size, bits):
        """Order 1 over the whole vocabulary (ids 1..V): unseen tokens such as <UNK> get count and alpha 0."""
        all_keys = row_keys(np.arange(1, vocab_size + 1)[:, None], bits)
        positions, found = find(keys, all_keys)
        all_counts, all_alpha = np.zeros(vocab_size), np.zeros(vocab_size)
        all_counts[found], all_alpha[found] = counts[positions[found]], alpha[positions[found]]
        return all_keys, all_counts, all_alpha

    def count(self, ngram: Sequence[str]) -> int:
        """Times `ngram` (1 to N tokens; "<s>" and "</s>" are the markers) ended a prediction in training."""
        self._check_fitted()
        if not 1 <= len(ngram) <= self.order:
            raise ValueError(f"Expected 1 to {self.order} tokens. Received: ngram={list(ngram)!r}")
        markers = {BOS: BOS_ID, EOS: EOS_ID}
        ids = np.array([markers.get(t, i) for t, i in zip(ngram, self.ids(list(ngram)))], dtype=np.int64)
        keys, counts = self.ngram_counts[len(ngram) - 1]
        position, found = find(keys, row_keys(ids[None, :], self.bits))
        return int(counts[position[0]]) if found[0] else 0

    # -- scoring

    def ids(self, tokens: Sequence[str]) -> np.ndarray:
        """Token ids; unknown tokens, and the literal text of the markers, are `<UNK>`."""
        index = {token: i for i, token in enumerate(self.vocab) if i >= UNK_ID}
        return np.array([index.get(t, UNK_ID) for t in tokens], dtype=np.int64)

    def window_log_probs(self, windows: np.ndarray) -> np.ndarray:
        """Natural-log P(last id | the ids before it) of each row, by longest match and back-off."""
        n = windows.shape[1]  # N, or less while the tables are being built
        log_probs = np.zeros(len(windows))
        matched = np.zeros(len(windows), dtype=np.int64)
        for k in range(n, 0, -1):
            table = self.tables[k - 1]
            positions, found = find(table.keys, row_keys(windows[:, n - k:], self.bits))
            new = found & (matched == 0)
            log_probs[new] = table.log_probs[positions[new]]
            matched[new] = k
        for k in range(2, n + 1):
            table = self.tables[k - 1]
            if len(table.context_keys):
                positions, found = find(table.context_keys, row_keys(windows[:, n - k:n - 1], self.bits))
                log_probs += np.where(found & (matched < k), table.context_log_backoffs[positions], 0.0)
        return log_probs

    def score(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(natural-log probability, number of predictions = tokens + 1) of each text as a sentence."""
        self._check_fitted()
        if not len(texts):
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        flat, lengths = token_lists(texts, self.level)
        lengths = np.asarray(lengths, dtype=np.int64)
        windows = self._windows(self.ids([t.decode("utf-8") for t in flat]), lengths)
        sentence = np.repeat(np.arange(len(texts)), lengths + 1)
        return np.bincount(sentence, weights=self.window_log_probs(windows), minlength=len(texts)), lengths + 1

    def logprob(self, text: str) -> float:
        """Natural-log probability of one sentence, end marker included."""
        return float(self.score([text])[0][0])

    def prob(self, token: str, context: Sequence[str] = ()) -> float:
        """P(token | context): `token` may be "</s>"; the context is padded with <s> on the left (or cut) to N-1."""
        history = np.concatenate([np.full(self.order, BOS_ID), self.ids(list(context))])[len(context) + 1:]
        target = np.array([EOS_ID]) if token == EOS else self.ids([token])
        return float(np.exp(self.window_log_probs(np.concatenate([history, target])[None, :])[0]))

    def perplexity(self, texts: Sequence[str]) -> float:
        """exp(-total log probability / predictions) over `texts`, end markers included."""
        return math.exp(self.cross_entropy(texts))

    def cross_entropy(self, texts: Sequence[str]) -> float:
        """Nats per prediction (token or end marker) over `texts`."""
        log_probs, counts = self.score(texts)
        return float(-log_probs.sum() / max(counts.sum(), 1))

    def distribution(self, context_ids: Sequence[int]) -> np.ndarray:
        """P(w | context) for w = 0..len(vocab)-1 (<s> gets 0); `context_ids` holds the N-1 previous ids."""
        if len(context_ids) < self.order - 1:
            raise ValueError(f"Expected at least N-1 = {self.order - 1} context ids. Received: {list(context_ids)!r}")
        context = np.asarray(context_ids, dtype=np.int64)[len(context_ids) - (self.order - 1):]
        candidates = np.arange(1, len(self.vocab))
        windows = np.concatenate([np.repeat(context[None, :], len(candidates), 0), candidates[:, None]], axis=1)
        return np.concatenate([[0.0], np.exp(self.window_log_probs(windows))])

    def sample(self, *, max_tokens: int = 100, seed: int = 0, prefix: Sequence[str] = ()) -> str:
        """A sentence drawn token by token until </s> or `max_tokens`; <UNK> is never drawn.

        `prefix` tokens (characters or words) condition the start and are part of the result.
        """
        self._check_fitted()
        rng = np.random.default_rng(seed)
        history = [BOS_ID] * (self.order - 1) + list(self.ids(list(prefix)))
        drawn: list[int] = []
        while len(drawn) < max_tokens:
            probs = self.distribution(history)
            probs[UNK_ID] = 0.0
            token = int(rng.choice(len(probs), p=probs / probs.sum()))
            if token == EOS_ID:
                break
            drawn.append(token)
            history.append(token)
        separator = "" if self.level == "char" else " "
        return separator.join([*prefix, *(self.vocab[i] for i in drawn)])

    def export(self, base_dir: str | os.PathLike, name: str, *, card: dict | None = None):
        """Exports a SavedModel whose `serving_default` scores sentences (see `zoo.tasks.ngram`)."""
        from zoo.tasks.ngram import export_ngram

        return export_ngram(self, base_dir=base_dir, name=name, card=card or {})

    def _check_fitted(self) -> None:
        if not self.tables:
            raise RuntimeError("This NgramLM has not been fitted; call fit(texts) first.")

