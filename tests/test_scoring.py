"""Grouping softmax and acceptance rules against hand-computed cases (docs/method.md, step 4)."""

from __future__ import annotations

import math

import pytest
import torch
from tailorgen.data.labels import LabelSet
from tailorgen.synthetic.scoring import (
    accept_loose,
    accept_strict,
    clip_logits,
    grouping_log_softmax,
    grouping_softmax,
)


def _u(*exp_values: float) -> torch.Tensor:
    """Logits whose exponentials are the given numbers (so expected v are simple fractions)."""
    return torch.tensor([[math.log(a) for a in exp_values]], dtype=torch.float64)


def _t(*flags: int) -> torch.Tensor:
    return torch.tensor([[bool(f) for f in flags]])


def test_grouping_softmax_two_targets_hand_computed() -> None:
    # exp(u) = 1, 2 | 3, 4: targets {0, 1}, non-target mass 3 + 4 = 7
    v = grouping_softmax(_u(1, 2, 3, 4), _t(1, 1, 0, 0))
    expected = [1 / 8, 2 / 9, (3 / 8 + 3 / 9) / 2, (4 / 8 + 4 / 9) / 2]
    torch.testing.assert_close(v[0], torch.tensor(expected, dtype=torch.float64))


def test_targets_do_not_compete_with_each_other() -> None:
    # raising one target's logit leaves the other target's v unchanged
    base = grouping_softmax(_u(1, 2, 3, 4), _t(1, 1, 0, 0))
    raised = grouping_softmax(_u(1, 200, 3, 4), _t(1, 1, 0, 0))
    torch.testing.assert_close(base[0, 0], raised[0, 0])
    assert raised[0, 1] > base[0, 1]


def test_grouping_softmax_single_target_is_plain_softmax() -> None:
    u = _u(6, 1, 1, 2)
    v = grouping_softmax(u, _t(1, 0, 0, 0))
    torch.testing.assert_close(v[0], torch.tensor([0.6, 0.1, 0.1, 0.2], dtype=torch.float64))
    torch.testing.assert_close(v, u.softmax(-1))


def test_grouping_softmax_edge_rows_batched() -> None:
    u = torch.cat([_u(1, 2, 3), _u(1, 2, 3), _u(5, 1, 4)])
    targets = torch.cat([_t(1, 1, 1), _t(0, 0, 0), _t(0, 1, 0)])
    v = grouping_softmax(u, targets)
    torch.testing.assert_close(v[0], torch.ones(3, dtype=torch.float64))  # nothing to compete with
    torch.testing.assert_close(v[1], torch.tensor([1 / 6, 2 / 6, 3 / 6], dtype=torch.float64))
    torch.testing.assert_close(v[2], torch.tensor([0.5, 0.1, 0.4], dtype=torch.float64))


def test_grouping_softmax_stable_and_differentiable_for_large_logits() -> None:
    u = torch.tensor([[1000.0, 0.0, -1000.0, 999.0], [30.0, 31.0, 29.0, 28.0]], requires_grad=True)
    targets = torch.tensor([[True, False, False, True], [False, False, False, False]])
    v = grouping_softmax(u, targets)
    assert torch.isfinite(v).all()
    torch.testing.assert_close(v[0, 0], torch.tensor(1.0))
    (v * torch.arange(4.0)).sum().backward()
    assert torch.isfinite(u.grad).all()
    u.grad = None
    log_v = grouping_log_softmax(u, targets)
    assert torch.isfinite(log_v).all()  # v of the -1000 logit underflows; its log does not
    torch.testing.assert_close(log_v.exp(), v.detach())
    log_v.sum().backward()
    assert torch.isfinite(u.grad).all()
    u64 = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    t = torch.tensor([[1, 0, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=torch.bool)
    assert torch.autograd.gradcheck(lambda x: grouping_softmax(x, t), (u64,))


def test_clip_logits_is_100_cosine() -> None:
    img = torch.tensor([[3.0, 4.0], [1.0, 0.0]])
    txt = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    expected = torch.tensor([[60.0, 80.0], [100.0, 0.0]])
    torch.testing.assert_close(clip_logits(img, txt), expected)
    torch.testing.assert_close(clip_logits(img, txt, scale=20.0), expected / 5)


def test_accept_strict_hand_computed() -> None:
    u = torch.cat([_u(6, 1, 1, 2), _u(8, 8, 1, 1), _u(8, 1, 1, 1), _u(4, 1, 3, 2)])
    targets = torch.cat([_t(1, 0, 0, 0), _t(1, 1, 0, 0), _t(1, 1, 0, 0), _t(1, 0, 0, 0)])
    v = grouping_softmax(u, targets)
    # v rows: [.6 .1 .1 .2] accept; [.8 .8 .1 .1] accept; [.8 1/3 ...] second target too weak;
    # [.4 ...] the top-1 label is the target but 0.4 <= 0.5
    assert accept_strict(v, targets).tolist() == [True, True, False, False]


def test_accept_strict_requires_top_labels_to_be_exactly_targets() -> None:
    v = torch.tensor([[0.9, 0.6, 0.7, 0.0], [0.9, 0.6, 0.6, 0.0], [0.9, 0.8, 0.1, 0.0]])
    targets = torch.tensor([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)
    # a non-target above a target; a tie at the boundary; no target at all
    assert accept_strict(v, targets).tolist() == [False, False, False]
    assert accept_strict(v, targets, threshold=0.95).tolist() == [False, False, False]


def test_accept_loose_top_k_extras_and_parents() -> None:
    names = ["cat", "dog", "car", "tree", "animal", "vehicle"]
    labels = LabelSet.model_validate(
        {
            "labels": [
                {"name": "cat", "parents": ["animal"]},
                {"name": "dog", "parents": ["animal"]},
                {"name": "car", "parents": ["vehicle"]},
                {"name": "tree", "parents": ["plant"]},
                {"name": "plant"},
                {"name": "animal"},
                {"name": "vehicle"},
            ]
        }
    )
    v = torch.tensor(
        [
            # ranks: cat 0, car 1 (extra, 0.3 > 0.1), tree 2 (0.05, not extra), dog 3
            [0.50, 0.01, 0.30, 0.05, 0.0, 0.0],
            # target dog ranks 3rd: outside the top-2 (rejected when top_k=2)
            [0.50, 0.02, 0.30, 0.10, 0.0, 0.0],
        ]
    )
    targets = torch.tensor([[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0]], dtype=torch.bool)
    verdict = accept_loose(v, targets, top_k=3, extra_threshold=0.1, parents=labels, names=names)
    assert verdict.accepted.tolist() == [True, False]
    assert verdict.labels == [["cat", "car", "animal", "vehicle"], ["dog", "cat", "car", "animal", "vehicle"]]
    assert verdict.positives.tolist() == [
        [True, False, True, False, True, True],
        [True, True, True, False, True, True],
    ]
    # the paper's default top-7 accepts both; a threshold of 0.4 drops the extra "car"
    wide = accept_loose(v, targets, extra_threshold=0.4, parents={"cat": ["animal"]}, names=names)
    assert wide.accepted.tolist() == [True, True]
    assert wide.labels == [["cat", "animal"], ["dog", "cat", "animal"]]
    assert accept_loose(v, targets, top_k=3).labels is None
    with pytest.raises(ValueError, match="names"):
        accept_loose(v, targets, names=names[:2])
