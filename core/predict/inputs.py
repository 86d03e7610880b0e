"""What a predictor accepts: a path, a PIL image, a NumPy array, a torch tensor, or a list of them.

Everything becomes an RGB PIL image, the one thing every backend's preprocessing takes. Torch is
never imported here (the ONNX path runs without it): a tensor is recognised only when the caller
already imported torch. Arrays are (H, W), (H, W, C) or, for tensors, (C, H, W) with C in 1, 3, 4;
a 4-d array or tensor is a batch. uint8 values are pixels 0-255; float values must lie in [0, 1]
(what ``torchvision.transforms.ToTensor`` gives) and are rounded to 8-bit pixels.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from tailorgen.errors import TailorgenError
from tailorgen.predict.images import load_image

__all__ = ["as_images"]

_CHANNELS = (1, 3, 4)
_FIX = "pass a path, a PIL image, an (H, W[, C]) uint8 or [0, 1] float array, a (C, H, W) tensor, or a list of them"


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _is_pil(value: Any) -> bool:
    image_module = sys.modules.get("PIL.Image")
    return image_module is not None and isinstance(value, image_module.Image)


def _channels_last(array: np.ndarray, channels_first: bool) -> np.ndarray:
    """(H, W) or (H, W, C) whatever layout ``array`` came in."""
    if array.ndim == 2:
        return array
    first, last = array.shape[0] in _CHANNELS, array.shape[-1] in _CHANNELS
    if first and (channels_first or not last):
        return np.moveaxis(array, 0, -1)
    if last:
        return array
    raise TailorgenError(f"cannot tell the colour channels of an image of shape {tuple(array.shape)}", _FIX)


def _to_uint8(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number) or array.size == 0:
        raise TailorgenError(
            f"cannot read an image from an array of dtype {array.dtype} and shape {array.shape}", _FIX
        )
    if np.issubdtype(array.dtype, np.integer):
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise TailorgenError(f"integer pixels must lie in 0-255, got {low}..{high}", _FIX)
        return array.astype(np.uint8)
    low, high = float(np.nanmin(array)), float(np.nanmax(array))
    if not np.isfinite(array).all() or low < 0 or high > 1:
        raise TailorgenError(
            f"float pixels must lie in [0, 1], got {low:g}..{high:g}",
            "pass uint8 pixels 0-255 or divide by 255; un-normalise a normalised tensor first",
        )
    return np.round(array * 255).astype(np.uint8)


def _from_array(array: np.ndarray, channels_first: bool) -> Any:
    from PIL import Image

    pixels = _to_uint8(_channels_last(array, channels_first))
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    return Image.fromarray(np.ascontiguousarray(pixels)).convert("RGB")  # L, RGB or RGBA by shape


def _one(item: Any) -> list[Any]:
    """The images one input holds (a 4-d array or tensor holds several)."""
    if isinstance(item, str | Path):
        return [load_image(item)]
    if _is_pil(item):
        return [item.convert("RGB")]
    channels_first = _is_tensor(item)
    if channels_first:
        item = (
            item.detach().cpu().float().numpy() if item.is_floating_point() else item.detach().cpu().numpy()
        )
    if isinstance(item, np.ndarray):
        if item.ndim == 4:
            return [_from_array(image, channels_first) for image in item]
        if item.ndim in (2, 3):
            return [_from_array(item, channels_first)]
        raise TailorgenError(f"an image array has 2, 3 or 4 (batch) dimensions, got shape {item.shape}", _FIX)
    raise TailorgenError(f"cannot read an image from a {type(item).__name__}", _FIX)


def as_images(inputs: Any) -> tuple[list[Any], bool]:
    """(RGB PIL images, whether ``inputs`` was one image rather than a list or a batch)."""
    if isinstance(inputs, list | tuple):
        return [image for item in inputs for image in _one(item)], False
    images = _one(inputs)
    batched = (isinstance(inputs, np.ndarray) or _is_tensor(inputs)) and inputs.ndim == 4
    return images, not batched
