"""Training-time augmentation: the eval geometry plus RandAugment and Cutout (random erasing)."""

from __future__ import annotations

from typing import Any

from tailorgen.classifier.transforms import geometry

__all__ = ["train_transform"]


def train_transform(
    preprocess: dict[str, Any],
    image_size: int,
    *,
    randaugment: bool = True,
    cutout: float = 0.5,
    augment: str = "clean",
) -> Any:
    """The eval geometry (whole-image resize or crop, as the classifier says), RandAugment on the PIL image, normalise, then Cutout.

    ``augment = "clean"``: torchvision's RandAugment (if ``randaugment``), and Cutout as
    torchvision's ``RandomErasing`` with probability ``cutout`` (on a normalised tensor its zero
    fill is the dataset-mean colour). ``"reference"``: the authors' Cutout on every image, then
    their RandAugment (:mod:`tailorgen.classifier.reference_augment`); ``randaugment`` and
    ``cutout`` do not apply.
    """
    from torchvision import transforms as T

    steps: list[Any] = geometry(preprocess, image_size)
    if augment == "reference":
        from tailorgen.classifier.reference_augment import CutoutBox, ReferenceRandAugment

        return T.Compose(
            [
                *steps,
                CutoutBox(),
                ReferenceRandAugment(),
                T.ToTensor(),
                T.Normalize(preprocess["mean"], preprocess["std"]),
            ]
        )
    if randaugment:
        steps.append(T.RandAugment())
    steps += [T.ToTensor(), T.Normalize(preprocess["mean"], preprocess["std"])]
    if cutout > 0:
        steps.append(T.RandomErasing(p=cutout))
    return T.Compose(steps)
