"""Image preprocessing for the classifier: the eval transform, from the saved config.

Two geometries, recorded as ``preprocess["resize"]`` in the classifier's config (and so in every
export's metadata): ``"whole"`` squashes the whole image to S x S as DualCoOp does (nothing at the
edges is lost; the default of new classifiers), ``"crop"`` resizes the short side and centre-crops
(CLIP's own eval transform). A config without the key predates the setting and was trained with
the crop, so it keeps the crop.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = [
    "DEFAULT_RESIZE",
    "LEGACY_RESIZE",
    "RESIZE_MODES",
    "ToRGB",
    "eval_transform",
    "geometry",
    "resize_mode",
]

RESIZE_MODES: tuple[str, ...] = ("whole", "crop")
ResizeMode = Literal["whole", "crop"]
#: what new classifiers use
DEFAULT_RESIZE: ResizeMode = "whole"
#: what a saved config without ``resize`` was trained with
LEGACY_RESIZE: ResizeMode = "crop"


class ToRGB:
    """PIL image -> RGB (a class, not a lambda, so data loader workers can pickle it)."""

    def __call__(self, image: Any) -> Any:
        return image.convert("RGB")


def resize_mode(preprocess: dict[str, Any]) -> str:
    """``preprocess["resize"]`` checked (a config without it keeps the crop it was trained with)."""
    from tailorgen.errors import TailorgenError

    mode = str(preprocess.get("resize", LEGACY_RESIZE))
    if mode not in RESIZE_MODES:
        raise TailorgenError(
            f"unknown classifier resize {mode!r} in its preprocess config",
            f"use one of {', '.join(RESIZE_MODES)}",
        )
    return mode


def geometry(preprocess: dict[str, Any], image_size: int) -> list[Any]:
    """The resize steps (PIL in, PIL out) shared by the eval and the train transform."""
    from torchvision import transforms as T

    mode = T.InterpolationMode(str(preprocess.get("interpolation", "bicubic")))
    if resize_mode(preprocess) == "whole":
        return [ToRGB(), T.Resize((image_size, image_size), interpolation=mode, antialias=True)]
    return [
        ToRGB(),
        T.Resize(image_size, interpolation=mode, antialias=True),
        T.CenterCrop(image_size),
    ]


def eval_transform(preprocess: dict[str, Any], image_size: int) -> Any:
    """Resize (antialiased; whole image or short side + centre crop), to tensor, CLIP-normalise."""
    from torchvision import transforms as T

    return T.Compose(
        [
            *geometry(preprocess, image_size),
            T.ToTensor(),
            T.Normalize(
                preprocess.get("mean", (0.48145466, 0.4578275, 0.40821073)),
                preprocess.get("std", (0.26862954, 0.26130258, 0.27577711)),
            ),
        ]
    )
