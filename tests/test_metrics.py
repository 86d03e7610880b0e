"""mAP and F1@K against hand-computed cases, scikit-learn, and a plain loop reference with ties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score
from tailorgen.errors import TailorgenError
from tailorgen.evaluation.metrics import average_precision, mean_average_precision, ranking_metrics, top_k_prf
from tailorgen.evaluation.ranking import ordered_keys


def _reference_ap(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The protocol written plainly: stable descending sort per label, precision at each positive."""
    out = []
    for j in range(scores.shape[1]):
        hits = targets[np.argsort(-scores[:, j], kind="stable"), j]
        precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        out.append(precision[hits].mean() if hits.any() else 0.0)
    return np.array(out)


def _reference_top_k(scores: np.ndarray, targets: np.ndarray, k: int) -> tuple[float, float, float]:
    tp = sum(int(targets[i, np.argsort(-scores[i], kind="stable")[:k]].sum()) for i in range(len(scores)))
    p, r = tp / (len(scores) * min(k, scores.shape[1])), tp / targets.sum()
    return 100 * p, 100 * r, (200 * p * r / (p + r) if tp else 0.0)


def test_ap_hand_computed() -> None:
    scores = np.array([[0.9, 0.1], [0.8, 0.2], [0.7, 0.3], [0.6, 0.4]])
    targets = np.array([[1, 0], [0, 0], [1, 0], [0, 0]], dtype=bool)
    # label 0: positives at ranks 1 and 3 -> (1/1 + 2/3) / 2; label 1 has no positive -> 0
    assert average_precision(scores, targets) == pytest.approx([(1 + 2 / 3) / 2, 0.0])
    assert mean_average_precision(scores, targets) == pytest.approx(100 * (1 + 2 / 3) / 4)


def test_ap_ties_follow_sort_order() -> None:
    # all tied: the stable order is image 0, 1, 2; positives at ranks 2 and 3
    scores = np.full((3, 1), 0.5)
    targets = np.array([[0], [1], [1]], dtype=bool)
    assert average_precision(scores, targets)[0] == pytest.approx((1 / 2 + 2 / 3) / 2)
    # the same tie with the positive first counts it at rank 1
    assert average_precision(scores, targets[::-1])[0] == pytest.approx((1 + 1) / 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ap_matches_sklearn_on_distinct_scores(dtype: type) -> None:
    rng = np.random.default_rng(0)
    n, c = 700, 45
    scores = (rng.permuted(np.tile(np.arange(n), (c, 1)), axis=1).T - n / 2).astype(
        dtype
    ) / n  # negatives too
    targets = rng.random((n, c)) < 0.05
    targets[:, 3] = False  # a label without positives
    expected = [
        average_precision_score(targets[:, j], scores[:, j]) if targets[:, j].any() else 0.0 for j in range(c)
    ]
    np.testing.assert_allclose(average_precision(scores, targets), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("density", [0.003, 0.1, 0.7])
def test_ap_matches_reference_with_ties_and_zeros(density: float) -> None:
    rng = np.random.default_rng(1)
    n, c = 2500, 70  # more than one block of labels; many scores share a cell
    scores = rng.standard_normal((n, c)).astype(np.float32) ** 3
    scores[:, :20] = rng.integers(0, 4, (n, 20))  # heavy ties
    scores[::7, 30] = -0.0
    scores[::5, 30] = 0.0
    targets = rng.random((n, c)) < density
    np.testing.assert_allclose(average_precision(scores, targets), _reference_ap(scores, targets), atol=1e-12)


def test_ap_extreme_values() -> None:
    scores = np.array([[np.inf, -np.inf], [1e38, 3.0], [-np.inf, np.inf], [0.0, -0.0]], dtype=np.float32)
    targets = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=bool)
    np.testing.assert_allclose(average_precision(scores, targets), _reference_ap(scores, targets))


def test_ordered_keys_sort_like_floats() -> None:
    values = np.array([-np.inf, -3.5, -1e-30, -0.0, 0.0, 1e-30, 2.0, np.inf], dtype=np.float64)
    keys = ordered_keys(values)
    assert np.all(np.diff(keys.astype(object)) >= 0)
    assert keys[3] == keys[4]  # -0.0 == +0.0


def test_f1_at_k_hand_computed() -> None:
    scores = np.array([[0.9, 0.8, 0.1, 0.3], [0.2, 0.9, 0.8, 0.7]])
    targets = np.array([[1, 0, 0, 1], [0, 0, 1, 0]], dtype=bool)
    # top-3: image 0 -> {0, 1, 3}: 2 TP; image 1 -> {1, 2, 3}: 1 TP. P = 3/6, R = 3/3
    p, r, f1 = top_k_prf(scores, targets, 3)
    assert (p, r) == pytest.approx((50.0, 100.0))
    assert f1 == pytest.approx(2 * 50 * 100 / 150)
    # top-1: image 0 -> {0}: TP; image 1 -> {1}: FP. P = 1/2, R = 1/3
    assert top_k_prf(scores, targets, 1) == pytest.approx(
        (50.0, 100 / 3, 2 * 0.5 * (1 / 3) / (0.5 + 1 / 3) * 100)
    )


def test_f1_ties_go_to_the_lower_label_index() -> None:
    scores = np.array([[0.5, 0.5, 0.5, 0.1]])
    assert top_k_prf(scores, np.array([[0, 0, 1, 0]], dtype=bool), 2)[0] == 0.0  # labels 0, 1 chosen
    assert top_k_prf(scores, np.array([[0, 1, 0, 0]], dtype=bool), 2)[0] == 50.0


def test_f1_matches_reference_and_k_above_label_count() -> None:
    rng = np.random.default_rng(2)
    for trial in range(20):
        n, c = int(rng.integers(1, 80)), int(rng.integers(1, 9))
        scores = rng.integers(0, 3, (n, c)).astype(float) if trial % 2 else rng.random((n, c))
        targets = rng.random((n, c)) < 0.3
        targets[0, 0] = True
        for k in (1, 3, 5):
            assert top_k_prf(scores, targets, k) == pytest.approx(_reference_top_k(scores, targets, k))


def test_ranking_metrics_keys_counts_and_torch_input() -> None:
    rng = np.random.default_rng(3)
    scores, targets = rng.random((30, 6)), rng.random((30, 6)) < 0.3
    out = ranking_metrics(torch.from_numpy(scores), torch.from_numpy(targets).float())
    assert set(out) == {"mAP", "F1@3", "P@3", "R@3", "F1@5", "P@5", "R@5", "images", "labels", "positives"}
    assert (out["images"], out["labels"], out["positives"]) == (30, 6, int(targets.sum()))
    assert out["mAP"] == pytest.approx(100 * _reference_ap(scores, targets).mean())


def test_bad_inputs_are_clear_errors() -> None:
    with pytest.raises(TailorgenError, match="same shape"):
        ranking_metrics(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(TailorgenError, match="NaN"):
        ranking_metrics(np.array([[np.nan, 1.0]]), np.array([[1, 0]]))
    with pytest.raises(TailorgenError, match="at least 1"):
        top_k_prf(np.zeros((2, 2)), np.ones((2, 2)), 0)


def test_targets_count_as_positive_when_above_zero() -> None:
    rng = np.random.default_rng(4)
    scores, positive = rng.random((25, 5)), rng.random((25, 5)) < 0.3
    minus_one = np.where(positive, 1, -1)  # the -1/1 convention of some label files
    assert ranking_metrics(scores, minus_one) == ranking_metrics(scores, positive)


def test_edge_shapes_and_infinities() -> None:
    scores = np.array([[-np.inf], [np.inf], [0.0], [-0.0], [3.0]])
    targets = np.array([[1], [0], [1], [1], [0]], dtype=bool)
    # order: inf, 3, 0.0, -0.0 (equal to 0.0, later image), -inf -> positives at ranks 3, 4, 5
    assert average_precision(scores, targets)[0] == pytest.approx((1 / 3 + 2 / 4 + 3 / 5) / 3)
    assert ranking_metrics(np.full((4, 2), np.inf), np.eye(4, 2, dtype=bool))["mAP"] == pytest.approx(
        100 * _reference_ap(np.full((4, 2), np.inf), np.eye(4, 2, dtype=bool)).mean()
    )
    empty = ranking_metrics(np.zeros((0, 3)), np.zeros((0, 3), dtype=bool))
    assert (empty["mAP"], empty["F1@3"], empty["images"], empty["labels"]) == (0.0, 0.0, 0, 3)
    assert average_precision(np.array([[0.2]]), np.array([[True]]))[0] == 1.0
