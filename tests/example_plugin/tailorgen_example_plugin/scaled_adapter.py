"""Fusion head ``scaled-adapter``: a residual 1x1 convolution on the image tower's last stage."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from tailorgen.registry.roles import FusionHead

__all__ = ["ScaledAdapter", "ScaledAdapterOptions"]


class ScaledAdapterOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    init_scale: float = Field(0.0, description="Initial per-channel scale (0: the tower is unchanged).")


class ScaledAdapter(FusionHead):
    name: ClassVar[str] = "scaled-adapter"
    description: ClassVar[str] = "Residual 1x1 conv on the last ResNet stage, scaled from zero (an example)."
    Options: ClassVar[type[BaseModel]] = ScaledAdapterOptions
    options: ScaledAdapterOptions

    def attach(self, visual: Any) -> list[Any]:
        import torch
        from torch import nn

        channels = visual.layer4[-1].bn3.num_features  # open_clip ModifiedResNet
        conv = nn.Conv2d(channels, channels, 1)
        scale = nn.Parameter(torch.full((channels, 1, 1), float(self.options.init_scale)))
        # New submodules only: the tower's pretrained parameter names stay as they were.
        visual.add_module("example_adapter", nn.ModuleDict({"conv": conv}))
        visual.register_parameter("example_adapter_scale", scale)
        visual.layer4.register_forward_hook(lambda _module, _inputs, out: out + scale * conv(out))
        return [*conv.parameters(), scale]
