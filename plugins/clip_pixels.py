"""CLIP preprocessing of image tensors, differentiable: what open_clip's eval transform does to PIL images."""

from __future__ import annotations

from typing import Any

__all__ = ["clip_preprocess_tensors"]


def clip_preprocess_tensors(images: Any, model: Any) -> Any:
    """Images (B, 3, H, W) in [0, 1] -> normalised CLIP input: shortest side resized with antialiasing
    (the model's interpolation, bicubic for CLIP), center crop, CLIP mean/std. Gradients flow through.
    """
    import open_clip
    import torch
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms.v2 import functional as F

    cfg = open_clip.get_model_preprocess_cfg(model)
    size = cfg["size"] if isinstance(cfg["size"], (tuple, list)) else (cfg["size"], cfg["size"])
    mode = InterpolationMode(cfg.get("interpolation", "bicubic"))
    x = F.resize(images, [min(size)], interpolation=mode, antialias=True)
    x = F.center_crop(x, list(size))
    # bicubic overshoots slightly; PIL clamps to [0, 255], so clamp too
    x = x.clamp(0, 1)
    mean = torch.tensor(cfg["mean"], dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(cfg["std"], dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return (x - mean) / std
