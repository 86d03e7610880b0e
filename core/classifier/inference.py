"""Batched, no-grad scoring of a labelled image set (validation during training, evaluation)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["map_scorer", "predict"]

logger = logging.getLogger(__name__)


@torch.no_grad()
def predict(
    model: Any, dataset: Any, label_names: list[str], *, batch_size: int = 64, num_workers: int = 0
) -> torch.Tensor:
    """(N, C) probabilities of ``label_names`` for every image of ``dataset`` (its eval transform is set)."""
    from tailorgen.runtime.progress import progress

    was_training = model.training
    model.eval()
    dataset.transform = model.transform()
    device = next(model.parameters()).device
    text = model.text_features_for(label_names)
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, num_workers=num_workers)
    out = []
    for images, _ in progress(loader, desc="scoring", unit="batch", leave=False):
        out.append(model.logits(images.to(device), text).softmax(dim=1)[:, 1].float().cpu())
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, len(label_names))


#: warn when more than this fraction of validation probabilities is exactly 0 or 1
SATURATED_WARNING = 0.5


def map_scorer(
    data: Any, label_names: list[str], *, batch_size: int = 64, metric: str = "map"
) -> Callable[[Any], float] | None:
    """A function model -> mAP (x100; ``metric = "f1@3"``: pooled F1 of each image's top 3) over
    ``label_names`` on the images of ``data`` that carry one.

    None when no image carries any of the labels (nothing to rank).
    """
    from tailorgen.data.labeled_images import LabeledImages
    from tailorgen.evaluation.metrics import mean_average_precision, top_k_prf

    keep = (data.targets.sum(dim=1) > 0).nonzero().flatten().tolist()
    if not keep:
        return None
    subset = LabeledImages([data.paths[i] for i in keep], data.targets[keep], label_names)

    warned = []

    def score(model: Any) -> float:
        scores = predict(model, subset, label_names, batch_size=batch_size)
        saturated = float(((scores == 0) | (scores == 1)).float().mean())
        if saturated > SATURATED_WARNING and not warned:
            warned.append(True)
            logger.warning(
                f"[train] {100 * saturated:.0f}% of validation probabilities are exactly 0 or 1 "
                "(they tie in the ranking and stop learning): lower train.aggregation_scale"
            )
        if metric == "f1@3":
            return float(top_k_prf(scores.numpy(), subset.targets.numpy(), 3)[2])
        return float(mean_average_precision(scores.numpy(), subset.targets.numpy()))

    return score
