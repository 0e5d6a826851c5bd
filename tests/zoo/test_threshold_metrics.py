"""Threshold metrics: scikit-learn's ROC AUC agrees with the rank (Mann-Whitney) formula it replaced."""

import numpy as np
import pytest

from pipelines.errors import DataError
from zoo.metrics.threshold import roc_auc


def rank_auc(scores, labels) -> float:
    """The hand-written AUC zoo used before: (sum of positive ranks - P(P+1)/2) / (P N), ties at their mean rank."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, int)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    return float((ranks[labels == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def test_roc_auc_matches_the_rank_formula_with_and_without_ties():
    """Scores 0.9, 0.8 (duplicates) and 0.8, 0.1 (not): pairs (pos, neg) won 3, tied 1, lost 0 -> 3.5 / 4."""
    assert roc_auc([0.9, 0.8, 0.8, 0.1], [1, 1, 0, 0]) == pytest.approx(0.875)
    rng = np.random.default_rng(0)
    for _ in range(20):
        labels = rng.integers(0, 2, 50)
        labels[:2] = [0, 1]
        scores = np.round(rng.random(50), 1)  # rounding makes many ties
        assert roc_auc(scores, labels) == pytest.approx(rank_auc(scores, labels), abs=1e-12)


def test_roc_auc_needs_both_labels():
    with pytest.raises(DataError, match="got 2 duplicates and 0 non-duplicates"):
        roc_auc([0.1, 0.2], [1, 1])
