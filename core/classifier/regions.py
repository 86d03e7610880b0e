"""Region features of a ModifiedResNet: its attention pool's value and output projections per token."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["region_features"]


def region_features(visual: Any, images: torch.Tensor) -> torch.Tensor:
    """(B, 1 + H*W, D) features: the mean token then every spatial token of the last stage.

    DualCoOp skips the pool's attention and applies only its ``v`` and ``c`` projections to each
    token, so every region lands in the joint image-text space and can be compared with a label.
    """
    x = visual.stem(images)
    x = visual.layer4(visual.layer3(visual.layer2(visual.layer1(x))))
    pool = visual.attnpool
    tokens = x.flatten(2).transpose(1, 2)  # (B, HW, C)
    tokens = torch.cat([tokens.mean(dim=1, keepdim=True), tokens], dim=1)
    tokens = tokens + pool.positional_embedding.to(tokens.dtype)
    return F.linear(
        F.linear(tokens, pool.v_proj.weight, pool.v_proj.bias), pool.c_proj.weight, pool.c_proj.bias
    )
