"""The classifier's eval transform in PIL and numpy: what the ONNX backend feeds, without torch.

The same steps as ``tailorgen.classifier.transforms.eval_transform`` (torchvision on PIL images):
RGB, PIL's antialiased resize (the whole image to S x S, or the short side to S then a centre crop),
``/ 255``, ``(x - mean) / std``, channels first, all in float32. Deploying an ONNX model then needs
onnxruntime, numpy and Pillow, and no torch (importing it alone takes seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from tailorgen.errors import TailorgenError

__all__ = ["RESIZE_MODES", "preprocess_images", "resize_image"]

#: the classifier's geometries (kept equal to tailorgen.classifier.transforms.RESIZE_MODES, which
#: needs torch to import); a preprocess config without "resize" predates it and used the crop
RESIZE_MODES: tuple[str, ...] = ("whole", "crop")
_LEGACY_RESIZE = "crop"


def _resampling(name: str) -> Any:
    from PIL import Image

    try:
        return Image.Resampling[name.replace("-", "_").upper()]
    except KeyError:
        raise TailorgenError(
            f"unknown interpolation {name!r} in the model's preprocess metadata",
            "use one of bicubic, bilinear, nearest, lanczos, box, hamming",
        ) from None


def resize_image(image: Any, preprocess: dict[str, Any], image_size: int) -> Any:
    """PIL image -> RGB PIL image of ``image_size`` x ``image_size``, as torchvision resizes it."""
    mode = str(preprocess.get("resize", _LEGACY_RESIZE))
    if mode not in RESIZE_MODES:
        raise TailorgenError(
            f"unknown classifier resize {mode!r} in its preprocess config",
            f"use one of {', '.join(RESIZE_MODES)}",
        )
    resample = _resampling(str(preprocess.get("interpolation", "bicubic")))
    image = image.convert("RGB")
    width, height = image.size
    if mode == "whole":
        size = (image_size, image_size)
    else:  # short side to image_size, long side truncated (torchvision's rule), then centre crop
        short, long = sorted((width, height))
        scaled = int(image_size * long / short)
        size = (image_size, scaled) if width <= height else (scaled, image_size)
    if size != image.size:
        image = image.resize(size, resample)
    if mode == "crop":
        left = round((size[0] - image_size) / 2.0)
        top = round((size[1] - image_size) / 2.0)
        image = image.crop((left, top, left + image_size, top + image_size))
    return image


def preprocess_images(images: Sequence[Any], preprocess: dict[str, Any], image_size: int) -> np.ndarray:
    """PIL images -> (B, 3, S, S) float32, normalised with the model's mean and std."""
    mean = np.asarray(preprocess.get("mean", (0.48145466, 0.4578275, 0.40821073)), np.float32)[:, None, None]
    std = np.asarray(preprocess.get("std", (0.26862954, 0.26130258, 0.27577711)), np.float32)[:, None, None]
    batch = np.empty((len(images), 3, image_size, image_size), dtype=np.float32)
    for i, image in enumerate(images):
        pixels = np.asarray(resize_image(image, preprocess, image_size), dtype=np.float32) / np.float32(255)
        batch[i] = (pixels.transpose(2, 0, 1) - mean) / std
    return batch
