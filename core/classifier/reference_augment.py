"""The reference code's training augmentation, drawn from torch's RNG so a seed fixes it.

The authors' classifier (after DualCoOp/ASL) resizes to S x S (bilinear), draws a Cutout box on
every image (``CutoutPIL``: sides half the image's, a uniformly random centre, clipped at the
edges, one random colour), then applies the pip ``randaugment`` package's ``RandAugment``: two
operations, each drawn uniformly from 15 with a magnitude index uniform in 1..9 and applied with
probability 0.5. That package no longer imports with NumPy >= 1.24 (it uses ``np.int``), so this
module draws the same operations with the same magnitudes (:data:`MAGNITUDES`) and the same PIL
calls. Images reach these transforms as S x S RGB PIL images.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

__all__ = ["MAGNITUDES", "OPERATIONS", "CutoutBox", "ReferenceRandAugment"]

#: the package's operation list, in its order
OPERATIONS: tuple[str, ...] = (
    "Invert", "Cutout", "Sharpness", "AutoContrast", "Posterize",
    "ShearX", "TranslateX", "TranslateY", "ShearY", "Rotate",
    "Equalize", "Contrast", "Color", "Solarize", "Brightness",
)  # fmt: skip
GRAY = (128, 128, 128)


def _linear(start: float, stop: float) -> tuple[float, ...]:
    return tuple(start + (stop - start) * i / 9 for i in range(10))


#: value of each operation's magnitude index 0..9 (the package's ``np.linspace`` tables)
MAGNITUDES: dict[str, tuple[float, ...]] = {
    "ShearX": _linear(0, 0.3),
    "ShearY": _linear(0, 0.3),
    "TranslateX": _linear(0, 150 / 331),
    "TranslateY": _linear(0, 150 / 331),
    "Rotate": _linear(0, 30),
    "Color": _linear(0, 0.9),
    "Posterize": tuple(float(round(v)) for v in _linear(8, 4)),
    "Solarize": _linear(256, 0),
    "Contrast": _linear(0, 0.9),
    "Sharpness": _linear(0, 0.9),
    "Brightness": _linear(0, 0.9),
    "AutoContrast": (0.0,) * 10,
    "Equalize": (0.0,) * 10,
    "Invert": (0.0,) * 10,
    "Cutout": tuple(float(round(v)) for v in _linear(0, 20)),
}


def _randint(high: int) -> int:
    return int(torch.randint(high, ()).item())


def _sign() -> int:
    return 1 if _randint(2) else -1


def _fill_box(
    image: Image.Image, box: tuple[int, int, int, int], colour: tuple[int, int, int]
) -> Image.Image:
    """``box`` = (left, top, right, bottom), both ends included (PIL's rectangle)."""
    ImageDraw.Draw(image).rectangle(box, fill=colour)
    return image


class CutoutBox:
    """Cutout on every image: a box of ``factor`` x the image's sides, random centre, random colour."""

    def __init__(self, factor: float = 0.5) -> None:
        self.factor = factor

    def __call__(self, image: Image.Image) -> Image.Image:
        width, height = image.size
        half_w, half_h = int(self.factor * width + 0.5) // 2, int(self.factor * height + 0.5) // 2
        cx, cy = _randint(width), _randint(height)
        colour = (_randint(256), _randint(256), _randint(256))
        box = (
            max(cx - half_w, 0),
            max(cy - half_h, 0),
            min(cx + half_w, width),
            min(cy + half_h, height),
        )
        return _fill_box(image, box, colour)


def _small_cutout(image: Image.Image, size: float) -> Image.Image:
    """The package's own Cutout op: a ``size`` box (half-open), the fixed colour (125, 122, 113)."""
    image = image.copy()
    width, height = image.size
    half = int(size) // 2
    cx, cy = _randint(width), _randint(height)
    box = (max(cx - half, 0), max(cy - half, 0), min(cx + half, width) - 1, min(cy + half, height) - 1)
    return _fill_box(image, box, (125, 122, 113))


def _affine(image: Image.Image, matrix: tuple[float, ...], resample: Any) -> Image.Image:
    return image.transform(image.size, Image.Transform.AFFINE, matrix, resample, fillcolor=GRAY)


def _enhance(kind: Any) -> Callable[[Image.Image, float], Image.Image]:
    return lambda image, v: kind(image).enhance(1 + v * _sign())


_APPLY: dict[str, Callable[[Image.Image, float], Image.Image]] = {
    "ShearX": lambda im, v: _affine(im, (1, v * _sign(), 0, 0, 1, 0), Image.Resampling.BICUBIC),
    "ShearY": lambda im, v: _affine(im, (1, 0, 0, v * _sign(), 1, 0), Image.Resampling.BICUBIC),
    "TranslateX": lambda im, v: _affine(
        im, (1, 0, v * im.size[0] * _sign(), 0, 1, 0), Image.Resampling.NEAREST
    ),
    "TranslateY": lambda im, v: _affine(
        im, (1, 0, 0, 0, 1, v * im.size[1] * _sign()), Image.Resampling.NEAREST
    ),
    "Rotate": lambda im, v: im.rotate(v, fillcolor=GRAY),  # one direction only, as the package
    "Color": _enhance(ImageEnhance.Color),
    "Contrast": _enhance(ImageEnhance.Contrast),
    "Sharpness": _enhance(ImageEnhance.Sharpness),
    "Brightness": _enhance(ImageEnhance.Brightness),
    "Posterize": lambda im, v: ImageOps.posterize(im, int(v)),
    "Solarize": ImageOps.solarize,
    "AutoContrast": lambda im, v: ImageOps.autocontrast(im),
    "Equalize": lambda im, v: ImageOps.equalize(im),
    "Invert": lambda im, v: ImageOps.invert(im),
    "Cutout": _small_cutout,
}


class ReferenceRandAugment:
    """Two operations, each uniform over :data:`OPERATIONS` x magnitude 1..9, each applied with p 0.5."""

    def draw(self) -> list[tuple[str, int, bool]]:
        """The two (operation, magnitude index, applied) choices of one image."""
        slots = []
        for _ in range(2):
            op = OPERATIONS[_randint(len(OPERATIONS))]
            magnitude = 1 + _randint(9)
            slots.append((op, magnitude, bool(torch.rand(()).item() < 0.5)))
        return slots

    def __call__(self, image: Image.Image) -> Image.Image:
        for op, magnitude, applied in self.draw():
            if applied:
                image = _APPLY[op](image, MAGNITUDES[op][magnitude])
        return image
