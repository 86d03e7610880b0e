"""Reference fusion heads: the paper's ``global-branch`` and plain DualCoOp (``none``)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from tailorgen.registry import hookimpl
from tailorgen.registry.roles import FusionHead

__all__ = ["GlobalBranchHead", "NoFusionHead"]


class GlobalBranchOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    heads: int = Field(8, ge=1, description="attention heads (channel groups) per branch")
    reduction: int = Field(4, ge=1, description="channel reduction of the branch's first 1x1 convolution")
    init_scale: float = Field(
        0.0, description="initial per-channel scale of the branch output (0: no change)"
    )
    init_std: float = Field(
        0.0, ge=0, description="draw the initial scale from N(init_scale, init_std) (the reference: 1e-4)"
    )


class GlobalBranchHead(FusionHead):
    name: ClassVar[str] = "global-branch"
    description: ClassVar[str] = (
        "Global attention branch beside every bottleneck 3x3 conv (the paper's fusion module)."
    )
    Options: ClassVar[type[BaseModel]] = GlobalBranchOptions

    def attach(self, visual: Any) -> list[Any]:
        from tailorgen.classifier.global_branch import attach_global_branches

        opts = self.options
        return attach_global_branches(visual, opts.heads, opts.reduction, opts.init_scale, opts.init_std)  # type: ignore[attr-defined]


class NoFusionHead(FusionHead):
    name: ClassVar[str] = "none"
    description: ClassVar[str] = "No fusion module: plain DualCoOp (only the prompt contexts train)."

    def attach(self, visual: Any) -> list[Any]:
        return []


@hookimpl
def register_fusion_heads(register: Any) -> None:
    register(GlobalBranchHead)
    register(NoFusionHead)
