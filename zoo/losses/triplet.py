"""Triplet loss over in-batch negatives, with negative-mining strategies chosen by name.

For a batch of unit vectors `a` (anchors) and `b` (their duplicates, row-aligned), the similarity
matrix is `S = a @ b.T`: the positive of row i is `S[i, i]` and every other entry of row i is a
negative. Each strategy picks one negative value per row, and the row's cost for it is
`max(-S[i, i] + negative + margin, 0)`. The loss is the sum of the chosen strategies' costs,
averaged over rows.

Strategies (pure functions `(S, positives, negative_mask) -> (negative, valid)`):
    mean:      the mean of row i's negatives.
    closest:   the largest negative smaller than the positive (closest from below); rows with
               none contribute nothing.
    hardest:   the largest negative, whatever its value.
    semi_hard: `closest`, or the smallest negative when there is none (TF-Addons' rule).
    easy:      the smallest negative.

The default, `("mean", "closest")` with margin 0.25, is the loss of the deeplearning.ai course's
Siamese network for Quora question pairs.
"""

from __future__ import annotations

from typing import Callable, Sequence

import keras
from keras import ops

_NONE = -3.0  # below any cosine similarity: the value of a masked-out max


def masked_max(values, mask):
    """Row-wise max over `mask`; rows with no entry get 0 and `valid` False."""
    valid = ops.any(mask, axis=-1)
    best = ops.max(ops.where(mask, values, _NONE), axis=-1)
    return ops.where(valid, best, 0.0), valid


def masked_min(values, mask):
    """Row-wise min over `mask`; rows with no entry get 0 and `valid` False."""
    best, valid = masked_max(-values, mask)
    return -best, valid


def mean_negative(similarity, positives, mask):
    count = ops.sum(ops.cast(mask, similarity.dtype), axis=-1)
    total = ops.sum(ops.where(mask, similarity, 0.0), axis=-1)
    return total / ops.maximum(count, 1.0), count > 0


def closest_negative(similarity, positives, mask):
    return masked_max(similarity, mask & (similarity < positives[:, None]))


def hardest_negative(similarity, positives, mask):
    return masked_max(similarity, mask)


def easy_negative(similarity, positives, mask):
    return masked_min(similarity, mask)


def semi_hard_negative(similarity, positives, mask):
    closest, has_closest = closest_negative(similarity, positives, mask)
    easiest, valid = easy_negative(similarity, positives, mask)
    return ops.where(has_closest, closest, easiest), valid


NEGATIVES: dict[str, Callable] = {
    "mean": mean_negative,
    "closest": closest_negative,
    "hardest": hardest_negative,
    "semi_hard": semi_hard_negative,
    "easy": easy_negative,
}


def check_negatives(negatives: Sequence[str]) -> tuple[str, ...]:
    """The strategy names as a tuple; an unknown or missing one raises `ValueError`."""
    if isinstance(negatives, str):
        negatives = (negatives,)
    negatives = tuple(negatives)
    unknown = [n for n in negatives if n not in NEGATIVES]
    if unknown or not negatives:
        raise ValueError(f"Unknown or no negative strategies. Received: negatives={list(negatives)}; "
                         f"allowed: {sorted(NEGATIVES)}")
    return negatives


def triplet_costs(similarity, *, margin: float = 0.25, negatives: Sequence[str] = ("mean", "closest"),
                  negative_mask=None):
    """Per-row, per-strategy costs `max(-S[i, i] + negative_i + margin, 0)`, shape (batch, strategies).

    Args:
        similarity: (batch, batch) similarities, positives on the diagonal.
        margin: the margin alpha.
        negatives: strategy names, keys of `NEGATIVES`.
        negative_mask: optional (batch, batch) booleans, False where an entry is no negative
            (the diagonal never is).
    """
    negatives = check_negatives(negatives)
    size = ops.shape(similarity)[0]
    mask = ops.logical_not(ops.eye(size, dtype="bool"))
    if negative_mask is not None:
        mask = mask & ops.cast(negative_mask, "bool")
    positives = ops.diagonal(similarity)
    costs = []
    for name in negatives:
        negative, valid = NEGATIVES[name](similarity, positives, mask)
        costs.append(ops.where(valid, ops.relu(negative - positives + margin), 0.0))
    return ops.stack(costs, axis=-1)


def triplet_loss(embeddings_a, embeddings_b, *, margin: float = 0.25, negatives: Sequence[str] = ("mean", "closest"),
                 symmetric: bool = False):
    """Per-row triplet loss of row-aligned unit vectors, shape (batch,); average it for the batch loss.

    A zero vector (the encoding of an empty text) is nobody's negative, and a row whose anchor or
    positive is zero costs nothing, so padding rows never produce a NaN or a spurious cost.
    With `symmetric`, columns are scored too (anchor b, positives on the same diagonal) and each
    row's cost is the mean of its row and column terms.
    """
    similarity = ops.matmul(embeddings_a, ops.transpose(embeddings_b))
    present_a = ops.sum(ops.square(embeddings_a), axis=-1) > 0
    present_b = ops.sum(ops.square(embeddings_b), axis=-1) > 0
    rows = ops.sum(triplet_costs(similarity, margin=margin, negatives=negatives,
                                 negative_mask=ops.broadcast_to(present_b[None, :], ops.shape(similarity))), axis=-1)
    if symmetric:
        columns = ops.sum(triplet_costs(ops.transpose(similarity), margin=margin, negatives=negatives,
                                        negative_mask=ops.broadcast_to(present_a[None, :], ops.shape(similarity))),
                          axis=-1)
        rows = (rows + columns) / 2
    return ops.where(present_a & present_b, rows, 0.0)


def collapsed_loss(*, margin: float = 0.25, negatives: Sequence[str] = ("mean", "closest"),
                   symmetric: bool = False) -> float:
    """The loss when every input maps to the same vector (S is all ones): e.g. `margin` for mean + closest."""
    same = ops.ones((2, 2))
    costs = triplet_costs(same, margin=margin, negatives=negatives)
    return float(ops.convert_to_numpy(ops.mean(ops.sum(costs, axis=-1))))


@keras.saving.register_keras_serializable(package="zoo")
class TripletLoss(keras.losses.Loss):
    """`triplet_loss` on a Siamese model's output, stacked embeddings of shape (batch, 2, dim).

    `y_true` is ignored: positives are the diagonal, and the pipeline keeps duplicates out of
    each other's batches.

    Args:
        margin: alpha, >= 0 (default 0.25).
        negatives: names of mining strategies (default mean + closest).
        symmetric: also score columns.

    Example:
        >>> model.compile("adam", loss=TripletLoss(margin=0.25, negatives=("mean", "closest")))
    """

    def __init__(self, margin: float = 0.25, negatives: Sequence[str] = ("mean", "closest"), symmetric: bool = False,
                 name: str = "triplet_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        if margin < 0:
            raise ValueError(f"margin must be >= 0. Received: margin={margin}")
        self.margin = float(margin)
        self.negatives = check_negatives(negatives)
        self.symmetric = bool(symmetric)

    def call(self, y_true, y_pred):
        return triplet_loss(y_pred[:, 0], y_pred[:, 1], margin=self.margin, negatives=self.negatives,
                            symmetric=self.symmetric)

    @property
    def collapsed_value(self) -> float:
        """What the loss is stuck at when the embeddings have collapsed to one point."""
        return collapsed_loss(margin=self.margin, negatives=self.negatives, symmetric=self.symmetric)

    def get_config(self) -> dict:
        return {**super().get_config(), "margin": self.margin, "negatives": list(self.negatives),
                "symmetric": self.symmetric}
