"""L_TE against docs/method.md, step 5, computed by hand."""

from __future__ import annotations

import math

import torch
from tailorgen.finetune import lte_loss


def _by_hand(v: list[float], targets: list[bool], clip: float = 0.05, gamma: float = 4.0) -> float:
    total = 0.0
    for value, is_target in zip(v, targets, strict=True):
        if is_target:
            total -= math.log(value)
        else:
            total -= max(value - clip, 0) ** gamma * math.log(min(1 - value + clip, 1))
    return total


def test_matches_the_formula_and_averages_over_images() -> None:
    v = torch.tensor([[0.7, 0.2, 0.04, 0.6], [0.3, 0.9, 0.5, 0.01]])
    targets = torch.tensor([[True, False, False, True], [False, True, False, False]])
    expected = (
        _by_hand(v[0].tolist(), targets[0].tolist()) + _by_hand(v[1].tolist(), targets[1].tolist())
    ) / 2
    assert math.isclose(float(lte_loss(v.log(), targets)), expected, rel_tol=1e-5)


def test_non_targets_below_the_margin_cost_nothing() -> None:
    targets = torch.tensor([[True, False, False]])
    low = lte_loss(torch.tensor([[0.9, 0.05, 0.01]]).log(), targets)
    assert math.isclose(float(low), -math.log(0.9), rel_tol=1e-6)


def test_focusing_weight_is_detached() -> None:
    # d/dv of -w * log(1 - (v - clip)) with w held constant is w / (1 - v + clip)
    v = torch.tensor([[0.8, 0.6]], requires_grad=True)
    lte_loss(v.log(), torch.tensor([[True, False]])).backward()
    w = (0.6 - 0.05) ** 4
    assert math.isclose(float(v.grad[0, 1]), w / (1 - 0.6 + 0.05), rel_tol=1e-5)
    assert math.isclose(float(v.grad[0, 0]), -1 / 0.8, rel_tol=1e-5)


def test_finite_where_a_target_score_underflows() -> None:
    log_v = torch.tensor([[-200.0, math.log(0.99)]], requires_grad=True)
    loss = lte_loss(log_v, torch.tensor([[True, False]]))
    loss.backward()
    assert math.isfinite(loss.item())
    assert torch.isfinite(log_v.grad).all()
