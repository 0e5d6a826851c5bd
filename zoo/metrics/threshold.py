"""Metrics of a similarity threshold: ROC AUC, the metrics at a threshold τ, and calibrating τ on labelled pairs."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from pipelines.errors import DataError

OBJECTIVES = ("accuracy", "f1")
COURSE_TAU = 0.7  # the fixed threshold of the deeplearning.ai course's Siamese network


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Area under the ROC curve (scikit-learn's): the chance that a random duplicate outscores a random
    non-duplicate, ties counting 1/2."""
    from sklearn.metrics import roc_auc_score

    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=int)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if not positives or not negatives:
        raise DataError(None, None, f"expected both duplicates and non-duplicates to score, got {positives} "
                                    f"duplicates and {negatives} non-duplicates")
    return float(roc_auc_score(labels, scores))


def _rates(tp, fp, positives: int, total: int) -> dict:
    tn = (total - positives) - fp
    fn = positives - tp
    return {
        "accuracy": (tp + tn) / total,
        "precision": np.divide(tp, tp + fp, out=np.zeros_like(tp, dtype=float), where=(tp + fp) > 0),
        "recall": tp / max(positives, 1),
        "f1": np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp, dtype=float), where=(2 * tp + fp + fn) > 0),
    }


def threshold_metrics(scores: Sequence[float], labels: Sequence[int], tau: float) -> dict:
    """Accuracy, precision, recall and F1 of `score >= tau` as the duplicate prediction."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=int)
    predicted = scores >= tau
    tp = np.array(float(np.sum(predicted & (labels == 1))))
    fp = np.array(float(np.sum(predicted & (labels == 0))))
    return {k: float(v) for k, v in _rates(tp, fp, int(labels.sum()), len(labels)).items()}


def calibrate_threshold(scores: Sequence[float], labels: Sequence[int], *, objective: str = "accuracy") -> dict:
    """The τ that maximises `objective` ("accuracy" or "f1") for `score >= τ`, with its metrics and ROC AUC.

    Every cut between two distinct scores is tried; τ is the midpoint of the cut, so it sits
    between the two groups of scores rather than on one of them.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"Unknown objective. Received: objective={objective!r}; allowed: {list(OBJECTIVES)}")
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels, dtype=int)
    auc = roc_auc(scores, labels)
    order = np.argsort(-scores, kind="stable")
    ranked, truth = scores[order], labels[order]
    last_of_tie = np.r_[ranked[1:] != ranked[:-1], True]
    tp, fp = np.cumsum(truth)[last_of_tie].astype(float), np.cumsum(1 - truth)[last_of_tie].astype(float)
    cuts = ranked[last_of_tie]
    below = np.r_[cuts[1:], cuts[-1] - 1e-3]
    # First candidate: nothing is a duplicate.
    tp, fp = np.r_[0.0, tp], np.r_[0.0, fp]
    taus = np.r_[cuts[0] + 1e-3, (cuts + below) / 2]
    rates = _rates(tp, fp, int(labels.sum()), len(labels))
    best = int(np.argmax(rates[objective]))
    return {"tau": float(taus[best]), "objective": objective, "roc_auc": auc,
            **{k: float(v[best]) for k, v in rates.items()},
            "pairs": int(len(labels)), "duplicates": int(labels.sum())}


def similarity_report(scores: Sequence[float], labels: Sequence[int], *, tau: float | None = None,
                      objective: str = "accuracy") -> dict:
    """Calibration on these pairs plus the metrics at `tau` (e.g. the card's) and at the course's τ = 0.7."""
    report = {"calibrated": calibrate_threshold(scores, labels, objective=objective),
              "at_course_tau": {"tau": COURSE_TAU, **threshold_metrics(scores, labels, COURSE_TAU)}}
    report["roc_auc"] = report["calibrated"]["roc_auc"]
    if tau is not None:
        report["at_tau"] = {"tau": float(tau), **threshold_metrics(scores, labels, tau)}
    return report
