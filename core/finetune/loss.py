"""The text-encoder fine-tuning loss L_TE (docs/method.md, step 5): asymmetric, on grouping-softmax scores."""

from __future__ import annotations

import math

import torch

__all__ = ["lte_loss"]


def lte_loss(
    log_v: torch.Tensor,
    targets: torch.Tensor,
    *,
    clip: float = 0.05,
    gamma: float = 4.0,
    log_clamp: float | None = None,
) -> torch.Tensor:
    """Mean over images of ``- sum_Y log v_y - sum_N max(v_n - clip, 0)^gamma * log(min(1 - v_n + clip, 1))``.

    ``log_v`` (B, C) is the log of the grouping softmax (``tailorgen.synthetic.scoring.grouping_log_softmax``:
    finite where v underflows), ``targets`` (B, C) bool marks each image's label set. The focusing
    weight ``max(v_n - clip, 0)^gamma`` is detached, so a non-target is pushed down only through its
    log term; non-targets already below ``clip`` cost nothing (the asymmetric margin).
    ``log_clamp`` (the reference: 1e-8) takes ``log(max(v_y, log_clamp))``: a target scored below
    it costs a constant and gets no gradient; None keeps the exact log-space value.
    """
    if log_v.shape != targets.shape:
        raise ValueError(f"scores {tuple(log_v.shape)} and targets {tuple(targets.shape)} differ in shape")
    targets = targets.to(dtype=torch.bool, device=log_v.device)
    # min(1 - v + clip, 1) == 1 - max(v - clip, 0), which stays >= clip > 0 because v <= 1
    shifted = (log_v.exp() - clip).clamp_min(0)
    negative = -shifted.detach().pow(gamma) * torch.log1p(-shifted)
    positive = -log_v if log_clamp is None else -log_v.clamp_min(math.log(log_clamp))
    per_label = torch.where(targets, positive, negative)
    return per_label.sum(dim=1).mean()
