"""The classifier's eval transform in PIL and numpy alone (no torch): what a Space's app runs.

It reproduces :func:`tailorgen.classifier.transforms.eval_transform` on PIL images (the same PIL
resize torchvision calls, the same size and crop rounding), so a Space needs only onnxruntime. This
file is copied verbatim into every Space: it imports nothing from tailorgen.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["preprocess"]

_FILTERS = {"nearest": 0, "bilinear": 2, "bicubic": 3, "lanczos": 1, "box": 4, "hamming": 5}
_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _geometry(image: Any, settings: dict[str, Any]) -> Any:
    size = int(settings["image_size"])
    method = _FILTERS[str(settings.get("interpolation", "bicubic"))]
    if settings.get("resize", "crop") == "whole":
        return image.resize((size, size), method)
    width, height = image.size
    short, long = min(width, height), max(width, height)
    new_long = int(size * long / short)
    image = image.resize((size, new_long) if width <= height else (new_long, size), method)
    width, height = image.size
    top, left = round((height - size) / 2.0), round((width - size) / 2.0)
    return image.crop((left, top, left + size, top + size))


def preprocess(images: list[Any], settings: dict[str, Any]) -> np.ndarray:
    """PIL images -> the (B, 3, S, S) float32 batch the ONNX model takes; ``settings`` is the model's
    ``tailorgen.preprocess`` metadata (image_size, interpolation, resize, mean, std)."""
    mean = np.asarray(settings.get("mean", _CLIP_MEAN), np.float32)[:, None, None]
    std = np.asarray(settings.get("std", _CLIP_STD), np.float32)[:, None, None]
    batch = [
        np.asarray(_geometry(image.convert("RGB"), settings), np.float32).transpose(2, 0, 1) / 255.0
        for image in images
    ]
    return ((np.stack(batch) - mean) / std).astype(np.float32)
