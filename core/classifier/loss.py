"""DualCoOp's softmax asymmetric loss over (negative, positive) logit pairs."""

from __future__ import annotations

import torch

__all__ = ["softmax_asymmetric_loss"]


def softmax_asymmetric_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    gamma_neg: float = 2.0,
    gamma_pos: float = 1.0,
    clip: float = 0.05,
    weight: float = 0.01,
    eps: float = 1e-8,
) -> torch.Tensor:
    """Sum over images and labels of the asymmetric focal loss on ``softmax([l-, l+])``, times ``weight``.

    ``logits`` is (B, 2, C) with index 0 negative and 1 positive; ``targets`` (B, C) in {0, 1}.
    The negative probability is shifted up by ``clip`` (capped at 1) so easy negatives drop out,
    and the focusing weights ``(1 - p_t) ** gamma`` are constants (no gradient), as in ASL.
    """
    probs = logits.float().softmax(dim=1)
    p_pos, p_neg = probs[:, 1], probs[:, 0]
    y = targets.to(p_pos.dtype)
    if clip > 0:
        p_neg = (p_neg + clip).clamp(max=1)
    loss = y * p_pos.clamp(min=eps).log() + (1 - y) * p_neg.clamp(min=eps).log()
    with torch.no_grad():
        p_t = p_pos * y + p_neg * (1 - y)
        gamma = gamma_pos * y + gamma_neg * (1 - y)
        focus = (1 - p_t).pow(gamma)
    return -weight * (loss * focus).sum()
