"""Confidence intervals and ROC summaries shared by the privacy evaluators."""

from typing import Dict, Optional, Sequence

import numpy as np
from scipy.stats import binomtest, bootstrap
from sklearn.metrics import roc_auc_score, roc_curve

CONFIDENCE = 0.95


def proportion(k: int, n: int) -> Dict[str, Optional[float]]:
    """A rate k/n with its Wilson 95% interval (None when n is 0)."""
    if n == 0:
        return {"value": None, "ci": None, "k": 0, "n": 0}
    low, high = binomtest(k, n).proportion_ci(CONFIDENCE, method="wilson")
    return {"value": k / n, "ci": [float(low), float(high)], "k": int(k), "n": int(n)}


def mean_ci(values: Sequence[float], seed: int = 0, n_resamples: int = 1000) -> Dict[str, Optional[float]]:
    """A mean over notes with a percentile-bootstrap 95% interval over notes."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return {"value": None, "ci": None, "n": 0}
    if data.size == 1 or np.all(data == data[0]):
        return {"value": float(data.mean()), "ci": [float(data.mean())] * 2, "n": int(data.size)}
    result = bootstrap(
        (data,),
        np.mean,
        confidence_level=CONFIDENCE,
        n_resamples=n_resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return {
        "value": float(data.mean()),
        "ci": [float(interval.low), float(interval.high)],
        "n": int(data.size),
    }


def tpr_at_fpr(labels: np.ndarray, scores: np.ndarray, fpr_target: float) -> float:
    """The highest true-positive rate whose false-positive rate is at most `fpr_target`."""
    fpr, tpr, _ = roc_curve(labels, scores)
    return float(tpr[fpr <= fpr_target].max())


def attack_summary(
    member_scores: Sequence[float],
    nonmember_scores: Sequence[float],
    fpr_targets: Sequence[float] = (0.001, 0.01),
    n_resamples: int = 200,
    seed: int = 0,
) -> Dict:
    """AUC and TPR at low FPR of a membership score (higher = "member"), with bootstrap 95% intervals.

    Members and non-members are resampled separately. With fewer than 1/fpr
    non-members, TPR at that FPR is the TPR at zero false positives: the
    `n_nonmembers` field says how fine the FPR grid is.
    """
    members = np.asarray(member_scores, dtype=float)
    others = np.asarray(nonmember_scores, dtype=float)
    if members.size == 0 or others.size == 0:
        raise ValueError("A membership attack needs at least one member and one non-member")

    def measures(m: np.ndarray, o: np.ndarray) -> Dict[str, float]:
        labels = np.r_[np.ones(m.size), np.zeros(o.size)]
        scores = np.r_[m, o]
        out = {"auc": float(roc_auc_score(labels, scores))}
        for target in fpr_targets:
            out[f"tpr_at_{target:g}_fpr"] = tpr_at_fpr(labels, scores, target)
        return out

    point = measures(members, others)
    rng = np.random.default_rng(seed)
    draws = [
        measures(rng.choice(members, members.size), rng.choice(others, others.size))
        for _ in range(n_resamples)
    ]
    result: Dict = {}
    for key, value in point.items():
        samples = [d[key] for d in draws]
        result[key] = {
            "value": value,
            "ci": [float(np.percentile(samples, 2.5)), float(np.percentile(samples, 97.5))],
        }
    labels = np.r_[np.ones(members.size), np.zeros(others.size)]
    fpr, tpr, _ = roc_curve(labels, np.r_[members, others])
    result["roc"] = {"fpr": fpr.tolist(), "tpr": tpr.tolist()}
    result["n_members"], result["n_nonmembers"] = int(members.size), int(others.size)
    return result
