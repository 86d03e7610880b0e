"""Training-time augmentation: the eval geometry plus RandAugment and Cutout (random erasing)."""

from __future__ import annotations

from typing import Any

from tailorgen.classifier.transforms import geometry

__all__ = ["train_transform"]


def train_transform(
    preprocess: dict[str, Any], image_size: int, *, randaugment: bool = True, cutout: float = 0.5
) -> Any:
    """The eval geometry (whole-image resize or crop, as the classifier says), RandAugment on the PIL image, normalise, then Cutout.

    Cutout is torchvision's ``RandomErasing`` with probability ``cutout``; on a normalised tensor its
    zero fill is the dataset-mean colour.
    """
    from torchvision import transforms as T

    steps: list[Any] = geometry(preprocess, image_size)
    if randaugment:
        steps.append(T.RandAugment())
    steps += [T.ToTensor(), T.Normalize(preprocess["mean"], preprocess["std"])]
    if cutout > 0:
        steps.append(T.RandomErasing(p=cutout))
    return T.Compose(steps)
