"""Zero-shot-honest model selection: no unseen-label annotation of a real image chooses anything.

A zero-shot user has real images annotated with the seen labels only, and synthetic images whose
labels come from the generator. So the score that picks the epoch is the mean of the seen labels'
mAP on the real validation split and the unseen labels' mAP on a held-out part of the synthetic
images (never trained on).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["hold_out", "mean_scorer"]

logger = logging.getLogger(__name__)


def hold_out(data: Any, fraction: float, seed: int) -> tuple[Any, Any]:
    """(kept, held out): ``data`` (a LabeledImages) split by a seeded permutation; both keep one image."""
    from tailorgen.data.labeled_images import LabeledImages

    count = len(data)
    held = min(max(1, round(fraction * count)), count - 1) if count > 1 else 0
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed)).tolist()

    def part(indices: list[int]) -> LabeledImages:
        indices = sorted(indices)  # the data set's own order: shuffling is the loader's job
        return LabeledImages(
            [data.paths[i] for i in indices],
            data.targets[indices],
            data.label_names,
            transform=data.transform,
        )

    return part(order[held:]), part(order[:held])


def mean_scorer(
    scorers: dict[str, Callable[[Any], float] | None],
) -> Callable[[Any], float] | None:
    """model -> the mean of the named scorers that exist (None when none does); logs each part."""
    present = {name: scorer for name, scorer in scorers.items() if scorer is not None}
    if not present:
        return None

    def score(model: Any) -> float:
        parts = {name: scorer(model) for name, scorer in present.items()}
        logger.info("selection: %s", ", ".join(f"{name} {value:.2f}" for name, value in parts.items()))
        return sum(parts.values()) / len(parts)

    return score
