"""Image preprocessing for the classifier: the CLIP eval transform, from the saved config."""

from __future__ import annotations

from typing import Any

__all__ = ["ToRGB", "eval_transform"]


class ToRGB:
    """PIL image -> RGB (a class, not a lambda, so data loader workers can pickle it)."""

    def __call__(self, image: Any) -> Any:
        return image.convert("RGB")


def eval_transform(preprocess: dict[str, Any], image_size: int) -> Any:
    """Resize (antialiased) the short side, centre-crop, to tensor, normalise with CLIP mean/std."""
    from torchvision import transforms as T

    mode = T.InterpolationMode(str(preprocess.get("interpolation", "bicubic")))
    return T.Compose(
        [
            ToRGB(),
            T.Resize(image_size, interpolation=mode, antialias=True),
            T.CenterCrop(image_size),
            T.ToTensor(),
            T.Normalize(
                preprocess.get("mean", (0.48145466, 0.4578275, 0.40821073)),
                preprocess.get("std", (0.26862954, 0.26130258, 0.27577711)),
            ),
        ]
    )
