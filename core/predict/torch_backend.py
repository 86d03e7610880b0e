"""PyTorch backend: the trained classifier itself (the reference every export is validated against)."""

from __future__ import annotations

from typing import Any

import numpy as np
from tailorgen.exporters.metadata import ModelMetadata
from tailorgen.predict.base import Predictor

__all__ = ["TorchPredictor"]


class TorchPredictor(Predictor):
    backend = "torch"

    def __init__(self, classifier: Any, device: str = "cpu") -> None:
        super().__init__(ModelMetadata.from_classifier(classifier))
        self.device = device
        self.classifier = classifier.to(device).eval()

    @classmethod
    def from_pretrained(cls, source: str, device: str = "cpu") -> TorchPredictor:
        """A saved classifier directory or a Hub repo id."""
        from tailorgen.classifier import Classifier

        return cls(Classifier.from_pretrained(source), device)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            batch = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).to(self.device)
            return self.classifier(batch).float().cpu().numpy()
