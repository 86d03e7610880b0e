"""Judging exports by accuracy: the mAP each artefact loses on the evaluation split, and a budget.

A tolerance on random inputs proves an export computes the same function; it says nothing about
what a quantised model loses on real images. The export stage hands the exporters the evaluation
split's images and targets; each artefact's mAP is measured with its own predictor and compared
with PyTorch's, and a variant losing more than ``map_budget`` mAP points is refused (not written).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["AccuracyJudge", "VariantRefusedError"]

log = logging.getLogger(__name__)


class VariantRefusedError(Exception):
    """Raised inside an artefact's atomic write: the variant loses too much mAP and must not land."""

    def __init__(self, reason: str, result: dict[str, float]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.result = result


@dataclass
class AccuracyJudge:
    """The evaluation images and targets, the reference's mAP (measured once) and the budget."""

    images: Sequence[str]
    targets: np.ndarray  # (N, C) 0/1 over the classifier's label names
    budget: float = 1.0
    reference_map: float | None = None

    def measure(self, predict: Callable[[Sequence[str]], np.ndarray]) -> float:
        from tailorgen.evaluation.metrics import mean_average_precision

        return float(mean_average_precision(predict(self.images), self.targets))

    def judge(
        self, artefact: str, predict: Callable[[Sequence[str]], np.ndarray], reference: Callable
    ) -> dict[str, float]:
        """``{"map", "reference_map", "map_loss"}`` of ``artefact``; raises VariantRefusedError beyond budget."""
        if self.reference_map is None:
            self.reference_map = self.measure(reference)
        score = self.measure(predict)
        loss = self.reference_map - score
        result = {"map": score, "reference_map": self.reference_map, "map_loss": loss}
        if loss > self.budget:
            reason = (
                f"loses {loss:.2f} mAP on the evaluation split ({score:.2f} vs PyTorch "
                f"{self.reference_map:.2f}), more than the budget of {self.budget:g} ([export] map_budget)"
            )
            log.warning("export: %s refused: it %s", artefact, reason)
            raise VariantRefusedError(reason, result)
        return result
