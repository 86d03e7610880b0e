"""The paper's feature-fusion module: a global branch beside each bottleneck 3x3 convolution."""

from __future__ import annotations

from typing import Any

import torch
from tailorgen.errors import TailorgenError
from torch import nn

__all__ = ["BranchedConv2d", "GlobalBranch", "attach_global_branches"]


class GlobalBranch(nn.Module):
    """Multi-head global attention pooling whose result is spread back over the positions.

    With input X (C, H, W): L = ReLU(1x1 C->C/r), Z = [L ; mean_HW(L)], A = softmax_HW(1x1 Z->heads),
    B = sigmoid(1x1 Z->heads); head h pools its channel group v_h = sum_p A_h(p) X_h(:, p) and
    writes G_h(:, p) = B_h(p) v_h; a per-channel affine (initialised to ``init_scale``) scales G.
    """

    def __init__(
        self,
        channels: int,
        heads: int = 8,
        reduction: int = 4,
        init_scale: float = 0.0,
        init_std: float = 0.0,
    ) -> None:
        super().__init__()
        if channels % heads or channels < reduction:
            raise TailorgenError(
                f"global-branch: {channels} channels cannot be split into {heads} heads or reduced {reduction}x",
                "choose heads and reduction that divide every bottleneck width (defaults: 8 and 4)",
            )
        hidden = channels // reduction
        self.heads = heads
        self.reduce = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU())
        self.attend = nn.Conv2d(2 * hidden, heads, 1)
        self.gate = nn.Conv2d(2 * hidden, heads, 1)
        # Zero (or tiny) affine: at initialisation the branch adds ~nothing to the pretrained output.
        self.scale = nn.Parameter(torch.full((channels,), float(init_scale)))
        if init_std > 0:  # the reference: N(0, 1e-4), from torch's (seeded) global generator
            nn.init.normal_(self.scale, float(init_scale), init_std)
        self.shift = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        low = self.reduce(x)
        z = torch.cat([low, low.mean(dim=(2, 3), keepdim=True).expand_as(low)], dim=1)
        attention = self.attend(z).flatten(2).softmax(dim=-1)  # (B, heads, HW)
        gate = torch.sigmoid(self.gate(z)).flatten(2)  # (B, heads, HW)
        groups = x.flatten(2).view(batch, self.heads, channels // self.heads, height * width)
        pooled = torch.einsum("bhcp,bhp->bhc", groups, attention)
        spread = torch.einsum("bhc,bhp->bhcp", pooled, gate).reshape(batch, channels, height, width)
        return spread * self.scale.view(1, -1, 1, 1) + self.shift.view(1, -1, 1, 1)


class BranchedConv2d(nn.Conv2d):
    """A convolution plus a parallel branch on its input; keeps the convolution's parameter names."""

    branch: nn.Module

    @classmethod
    def wrap(cls, conv: nn.Conv2d, branch: nn.Module) -> BranchedConv2d:
        new = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            stride=conv.stride,
            padding=conv.padding,
            dilation=conv.dilation,
            groups=conv.groups,
            bias=conv.bias is not None,
        )
        new.load_state_dict(conv.state_dict())
        new.requires_grad_(conv.weight.requires_grad)
        new.to(conv.weight.device, conv.weight.dtype)
        new.branch = branch.to(conv.weight.device)
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) + self.branch(x)


def attach_global_branches(
    visual: Any, heads: int = 8, reduction: int = 4, init_scale: float = 0.0, init_std: float = 0.0
) -> list[nn.Parameter]:
    """Put a :class:`GlobalBranch` beside ``conv2`` of every ModifiedResNet bottleneck; return its parameters."""
    from open_clip.modified_resnet import Bottleneck

    params: list[nn.Parameter] = []
    for block in visual.modules():
        if isinstance(block, Bottleneck) and not isinstance(block.conv2, BranchedConv2d):
            branch = GlobalBranch(block.conv2.in_channels, heads, reduction, init_scale, init_std)
            block.conv2 = BranchedConv2d.wrap(block.conv2, branch)
            params.extend(branch.parameters())
    return params
