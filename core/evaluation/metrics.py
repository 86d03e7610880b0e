"""Multi-label ranking metrics of the ZS-MLC literature: mAP and pooled precision/recall/F1 at top-K.

Everything is vectorised over images and labels (numpy; torch for top-k). Ties rank as in a stable
descending sort: among equal scores the lower image index (AP) or label index (top-K) comes first.

- AP of a label = mean over its positives of the precision at the positive's rank; a label with no
  positive contributes 0 to the mean; mAP is the mean over labels x 100.
- Top-K: per image the K highest-scoring labels; TP/FP pooled over images;
  P = TP / (TP + FP), R = TP / #positives, F1 = 2PR / (P + R), all x 100.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tailorgen.errors import TailorgenError
from tailorgen.evaluation.ranking import positive_ranks

__all__ = [
    "as_matrices",
    "average_precision",
    "mean_average_precision",
    "positive_ranks",
    "ranking_metrics",
    "top_k_prf",
    "top_k_prfs",
]


def as_matrices(scores: Any, targets: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(scores float, targets bool)`` as 2-D numpy arrays of one shape (torch tensors accepted).

    A target counts as positive when it is > 0.
    """
    s, t = (np.asarray(x.detach().cpu() if hasattr(x, "detach") else x) for x in (scores, targets))
    if s.ndim != 2 or s.shape != t.shape:
        raise TailorgenError(
            f"scores {s.shape} and labels {t.shape} must be matrices of the same shape (images x labels)"
        )
    if not np.issubdtype(s.dtype, np.floating):
        s = s.astype(np.float64)
    elif s.dtype.itemsize < 4:
        s = s.astype(np.float32)
    if s.size and np.isnan(s.max()):  # max propagates NaN: one pass, no temporary
        raise TailorgenError("scores contain NaN", "fix the model's outputs (a NaN cannot be ranked)")
    return s, (t if t.dtype == bool else t > 0)  # 0/1, -1/1 and probabilities-as-labels all work


def average_precision(scores: Any, targets: Any) -> np.ndarray:
    """Per-label non-interpolated AP in [0, 1] (shape (labels,)); 0 for a label without positives."""
    s, t = as_matrices(scores, targets)
    c = s.shape[1]
    label, rank = positive_ranks(s, t)
    # order positives by (label, rank): the k-th positive of a label then has precision k / rank
    order = np.lexsort((rank, label))
    label, rank = label[order], rank[order]
    counts = np.bincount(label, minlength=c)
    first = np.cumsum(counts) - counts
    k = np.arange(len(label)) - first[label] + 1
    sums = np.bincount(label, weights=k / rank, minlength=c)
    return np.divide(sums, counts, out=np.zeros(c), where=counts > 0)


def mean_average_precision(scores: Any, targets: Any) -> float:
    """mAP x 100 over all labels (columns)."""
    ap = average_precision(scores, targets)
    return float(ap.mean() * 100) if ap.size else 0.0


def top_k_prf(scores: Any, targets: Any, k: int) -> tuple[float, float, float]:
    """Pooled (precision, recall, F1) x 100 of each image's top-``k`` labels."""
    return top_k_prfs(scores, targets, (k,))[k]


def top_k_prfs(scores: Any, targets: Any, ks: tuple[int, ...]) -> dict[int, tuple[float, float, float]]:
    """:func:`top_k_prf` for several K at once (one top-k pass serves them all)."""
    import torch  # its top-k is several times faster than numpy's partition

    s, t = as_matrices(scores, targets)
    n, c = s.shape
    if any(k < 1 for k in ks):
        raise TailorgenError(f"K must be at least 1, got {min(ks)}")
    if n == 0 or c == 0:
        return dict.fromkeys(ks, (0.0, 0.0, 0.0))
    depth = min(max(ks) + 1, c)  # one more than K shows whether the K-th score is tied
    top = torch.topk(torch.from_numpy(s if s.flags.writeable else s.copy()), depth, dim=1).values.numpy()
    image, label = np.divmod(np.flatnonzero(t), c)
    value = s[image, label]
    out = {}
    for k in ks:
        kk = min(k, c)
        kth = top[:, kk - 1]
        tp = int(np.count_nonzero(value >= kth[image]))  # exact unless more than kk scores reach kth
        if kk < c and (tied := np.flatnonzero(top[:, kk] == kth)).size:
            in_tied = np.isin(image, tied)
            exact = _top_k_mask(s[tied], kth[tied, None], kk) & t[tied]
            tp += int(np.count_nonzero(exact)) - int(np.count_nonzero(value[in_tied] >= kth[image[in_tied]]))
        precision = tp / (n * kk)
        recall = tp / len(value) if len(value) else 0.0
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        out[k] = (precision * 100, recall * 100, f1 * 100)
    return out


def _top_k_mask(s: np.ndarray, kth: np.ndarray, k: int) -> np.ndarray:
    """Each row's top-``k`` entries given its k-th largest score; ties go to the lower label index."""
    above, tied = s > kth, s == kth
    return above | (tied & (np.cumsum(tied, axis=1) <= k - above.sum(axis=1, keepdims=True)))


def ranking_metrics(scores: Any, targets: Any, ks: tuple[int, ...] = (3, 5)) -> dict[str, float | int]:
    """``mAP``, ``F1@K``, ``P@K``, ``R@K`` for each K, plus the image/label/positive counts."""
    s, t = as_matrices(scores, targets)
    out: dict[str, float | int] = {"mAP": mean_average_precision(s, t)}
    for k, (p, r, f1) in top_k_prfs(s, t, ks).items():
        out.update({f"F1@{k}": f1, f"P@{k}": p, f"R@{k}": r})
    out.update({"images": s.shape[0], "labels": s.shape[1], "positives": int(t.sum())})
    return out
